//! A split virtqueue (virtio 1.x, 2.7) in which each descriptor lends the
//! device one buffer of its own, for good: a network card's receive queue,
//! whose buffers go back to the device frame after frame, and its transmit
//! queue, whose buffers take frame after frame.
//!
//! `virtio-drivers`' `VirtQueue` is general — chains of the caller's
//! buffers, made and unmade on every request — and that generality cost
//! some 250 instructions a frame (docs/network.md, "Figures"). Here a
//! descriptor never changes but for its length, so lending a buffer back
//! is one entry in the available ring, and taking one is one entry of the
//! used ring: a few dozen instructions.
//!
//! Which buffers the driver holds is in the types: [`Ring::take`] gives a
//! [`Held`] buffer (one the device has finished with), the only way to
//! read or write a buffer's bytes, and [`Ring::lend`] takes it back.

use alloc::vec::Vec;
use core::ptr::NonNull;
use core::sync::atomic::{Ordering, fence};

use com::{Result, Status};
use virtio_drivers::transport::Transport;
use virtio_drivers::{BufferDirection, Hal, PAGE_SIZE, PhysAddr};

use crate::TesseraHal;

/// A descriptor, as the device reads it.
#[repr(C)]
pub(crate) struct Descriptor {
    pub(crate) address: u64,
    pub(crate) length: u32,
    pub(crate) flags: u16,
    next: u16,
}

/// A descriptor's flag: the device writes the buffer (else reads it).
pub(crate) const DEVICE_WRITES: u16 = 2;
/// The used ring's flag that asks for no doorbell (likewise).
pub(crate) const NO_NOTIFY: u16 = 1;

/// The available ring (the driver's area).
#[repr(C)]
pub(crate) struct Available<const SIZE: usize> {
    flags: u16,
    pub(crate) index: u16,
    pub(crate) ring: [u16; SIZE],
    pub(crate) used_event: u16,
}

/// An entry of the used ring: which buffer, and how many bytes the device
/// wrote into it.
#[repr(C)]
pub(crate) struct UsedEntry {
    pub(crate) id: u32,
    pub(crate) length: u32,
}

/// The used ring (the device's area).
#[repr(C)]
pub(crate) struct Used<const SIZE: usize> {
    pub(crate) flags: u16,
    pub(crate) index: u16,
    pub(crate) ring: [UsedEntry; SIZE],
    pub(crate) avail_event: u16,
}

/// A block of DMA memory, freed when dropped.
struct Block {
    address: PhysAddr,
    memory: NonNull<u8>,
    pages: usize,
}

impl Block {
    fn new(bytes: usize) -> Result<Block> {
        let pages = bytes.div_ceil(PAGE_SIZE);
        let (address, memory) = TesseraHal::dma_alloc(pages, BufferDirection::Both);
        if address == 0 {
            return Err(Status::OUT_OF_MEMORY);
        }
        Ok(Block {
            address,
            memory,
            pages,
        })
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        // SAFETY: the block came from `dma_alloc` with these pages, once,
        // and the device has let go of it (the ring's owner unsets the
        // queue, or resets the device, before the ring drops).
        unsafe { TesseraHal::dma_dealloc(self.address, self.memory, self.pages) };
    }
}

/// A buffer of a [`Ring`] that the device is not using: taken back from it
/// (with the length it wrote), or not lent yet.
pub struct Held {
    id: u16,
    length: u32,
}

/// How the buffers of a ring lie, one after another.
#[derive(Clone, Copy)]
pub struct Buffers {
    /// The bytes of each buffer.
    pub stride: usize,
    /// Where in each buffer the part lent to the device starts.
    pub lent_at: usize,
}

/// A virtqueue of `SIZE` descriptors, each lending one buffer for good.
pub struct Ring<const SIZE: usize> {
    queue: u16,
    /// The descriptor table, then the available ring, then (on the next
    /// page, as the legacy interface wants) the used ring.
    rings: Block,
    used_at: usize,
    buffers: Block,
    layout: Buffers,
    /// The length of each buffer's part lent.
    lent_length: u32,
    /// The device writes the buffers: their descriptors' lengths stay
    /// the whole part lent.
    device_writes: bool,
    /// The next index of the available ring to fill, and of the used ring
    /// to read.
    next_available: u16,
    next_used: u16,
    /// Which buffers the device has.
    lent: [bool; SIZE],
    event_index: bool,
}

// SAFETY: the ring's memory is its own (two DMA blocks nothing else
// points at but the device), and every access goes through `&self` or
// `&mut self`, so moving it to another thread or sharing it behind a lock
// races with nothing.
unsafe impl<const SIZE: usize> Send for Ring<SIZE> {}
// SAFETY: as above; `&self` methods only read.
unsafe impl<const SIZE: usize> Sync for Ring<SIZE> {}

impl<const SIZE: usize> Ring<SIZE> {
    /// Sets up queue `queue` of the device behind `transport` (before its
    /// initialisation finishes) with `SIZE` buffers laid out as `layout`,
    /// which the device writes when `device_writes` (else reads); with
    /// `event_index`, as negotiated. Returns the ring and all its buffers,
    /// none lent yet.
    pub fn new<T: Transport>(
        transport: &mut T,
        queue: u16,
        layout: Buffers,
        device_writes: bool,
        event_index: bool,
    ) -> Result<(Ring<SIZE>, Vec<Held>)> {
        let size = u16::try_from(SIZE).map_err(|_| Status::INVALID_ARGUMENT)?;
        if !SIZE.is_power_of_two()
            || transport.queue_used(queue)
            || transport.max_queue_size(queue) < u32::from(size)
            || layout.lent_at >= layout.stride
        {
            return Err(Status::INVALID_ARGUMENT);
        }
        let driver_area = size_of::<Descriptor>() * SIZE;
        let used_at = (driver_area + size_of::<Available<SIZE>>()).next_multiple_of(PAGE_SIZE);
        let rings = Block::new(used_at + size_of::<Used<SIZE>>())?;
        let buffers = Block::new(layout.stride * SIZE)?;
        let ring = Ring {
            queue,
            rings,
            used_at,
            buffers,
            layout,
            lent_length: u32::try_from(layout.stride - layout.lent_at)
                .map_err(|_| Status::INVALID_ARGUMENT)?,
            device_writes,
            next_available: 0,
            next_used: 0,
            lent: [false; SIZE],
            event_index,
        };
        let flags = if device_writes { DEVICE_WRITES } else { 0 };
        for id in 0..SIZE {
            let at = id * layout.stride + layout.lent_at;
            let descriptor = Descriptor {
                address: ring.buffers.address + at as u64,
                length: ring.lent_length,
                flags,
                next: 0,
            };
            // SAFETY: descriptor `id` lies in the ring's block, which the
            // device does not read before the queue is set below.
            unsafe { ring.descriptor(id).write_volatile(descriptor) };
        }
        let base = ring.rings.address;
        transport.queue_set(
            queue,
            u32::from(size),
            base,
            base + driver_area as u64,
            base + used_at as u64,
        );
        let held = (0..size).map(|id| Held { id, length: 0 }).collect();
        Ok((ring, held))
    }

    fn descriptor(&self, id: usize) -> *mut Descriptor {
        self.rings
            .memory
            .as_ptr()
            .cast::<Descriptor>()
            .wrapping_add(id % SIZE)
    }

    fn available(&self) -> *mut Available<SIZE> {
        let driver_area = size_of::<Descriptor>() * SIZE;
        self.rings.memory.as_ptr().wrapping_add(driver_area).cast()
    }

    fn used(&self) -> *mut Used<SIZE> {
        self.rings.memory.as_ptr().wrapping_add(self.used_at).cast()
    }

    /// Whether the device has given a buffer back.
    pub fn has_used(&self) -> bool {
        // SAFETY: the used ring's index lies in the ring's block; the
        // device writes it, so it is read as it is now (volatile).
        let index = unsafe { (&raw const (*self.used()).index).read_volatile() };
        index != self.next_used
    }

    /// The next buffer the device has given back, with the bytes it wrote
    /// (for a buffer it reads, what it was lent), or `None`. `FAILED` when
    /// the device names a buffer it was not lent.
    pub fn take(&mut self) -> Result<Option<Held>> {
        if !self.has_used() {
            return Ok(None);
        }
        // The entry is read only after its index was (the device wrote
        // the entry first).
        fence(Ordering::Acquire);
        let slot = usize::from(self.next_used) % SIZE;
        // SAFETY: entry `slot` of the used ring lies in the ring's block,
        // and the device wrote it before the index that says so.
        let entry = unsafe { (&raw const (*self.used()).ring[slot]).read_volatile() };
        self.next_used = self.next_used.wrapping_add(1);
        if self.event_index {
            // Interrupt again once the device gives the next one back.
            // SAFETY: the field lies in the ring's block; the device
            // reads it.
            unsafe { (&raw mut (*self.available()).used_event).write_volatile(self.next_used) };
        }
        let id = usize::try_from(entry.id).unwrap_or(usize::MAX);
        let Some(lent) = self.lent.get_mut(id).filter(|lent| **lent) else {
            return Err(Status::FAILED);
        };
        *lent = false;
        Ok(Some(Held {
            id: u16::try_from(id).map_err(|_| Status::FAILED)?,
            length: entry.length.min(self.lent_length),
        }))
    }

    /// The bytes of a held buffer the device wrote (for a buffer it
    /// reads, those it was lent).
    pub fn bytes(&self, held: &Held) -> &[u8] {
        let at = usize::from(held.id) * self.layout.stride + self.layout.lent_at;
        // SAFETY: buffer `held.id` lies in the buffers' block, `length` is
        // at most its part lent, and the device does not touch it while
        // it is held (a `Held` exists only between `take` and `lend`).
        unsafe {
            core::slice::from_raw_parts(
                self.buffers.memory.as_ptr().wrapping_add(at),
                held.length as usize,
            )
        }
    }

    /// The whole part lent of a held buffer, to write.
    pub fn bytes_mut(&mut self, held: &mut Held) -> &mut [u8] {
        let at = usize::from(held.id) * self.layout.stride + self.layout.lent_at;
        // SAFETY: as in `bytes`; `&mut Held` and `&mut self` make this the
        // only reference to the buffer.
        unsafe {
            core::slice::from_raw_parts_mut(
                self.buffers.memory.as_ptr().wrapping_add(at),
                self.lent_length as usize,
            )
        }
    }

    /// Lends a held buffer to the device again — for a ring the device
    /// reads, its first `length` bytes; a ring it writes gets the whole
    /// part lent whatever `length` says — and rings the doorbell if the
    /// device asks for it.
    pub fn lend<T: Transport>(&mut self, transport: &mut T, held: Held, length: usize) {
        let id = usize::from(held.id);
        if !self.device_writes {
            let length = u32::try_from(length)
                .unwrap_or(u32::MAX)
                .min(self.lent_length);
            // SAFETY: descriptor `id` lies in the ring's block; the device
            // reads it only once the index below says so.
            unsafe { (&raw mut (*self.descriptor(id)).length).write_volatile(length) };
        }
        let slot = usize::from(self.next_available) % SIZE;
        // SAFETY: slot `slot` lies in the ring's block; the device reads
        // it only once the index below says so.
        unsafe { (&raw mut (*self.available()).ring[slot]).write_volatile(held.id) };
        if let Some(lent) = self.lent.get_mut(id) {
            *lent = true;
        }
        let before = self.next_available;
        self.next_available = before.wrapping_add(1);
        // The entry before its index; the index before the doorbell's
        // check (a full fence: the device's suppression is read after).
        fence(Ordering::SeqCst);
        // SAFETY: the index lies in the ring's block; the device reads it.
        unsafe { (&raw mut (*self.available()).index).write_volatile(self.next_available) };
        fence(Ordering::SeqCst);
        if self.wants_doorbell(before) {
            transport.notify(self.queue);
        }
    }

    /// Whether the device asked to hear of buffers lent after index
    /// `before` (virtio 2.7.10: its event index, else its flag).
    fn wants_doorbell(&self, before: u16) -> bool {
        let used = self.used();
        if self.event_index {
            // SAFETY: the field lies in the ring's block; the device
            // writes it.
            let event = unsafe { (&raw const (*used).avail_event).read_volatile() };
            let now = self.next_available;
            now.wrapping_sub(event).wrapping_sub(1) < now.wrapping_sub(before)
        } else {
            // SAFETY: as above.
            let flags = unsafe { (&raw const (*used).flags).read_volatile() };
            flags & NO_NOTIFY == 0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_device::FakeDevice;

    type Device = FakeDevice<SIZE>;

    const SIZE: usize = 4;
    /// `SIZE` as the rings' indices count.
    const SIZE_16: u16 = 4;
    const LAYOUT: Buffers = Buffers {
        stride: 64,
        lent_at: 6,
    };

    fn lent_ring(event_index: bool) -> (Device, Ring<SIZE>) {
        let mut device = Device::default();
        let (mut ring, held) =
            Ring::<SIZE>::new(&mut device, 0, LAYOUT, true, event_index).expect("a ring");
        assert_eq!(held.len(), SIZE);
        for buffer in held {
            ring.lend(&mut device, buffer, usize::MAX);
        }
        (device, ring)
    }

    #[test]
    fn each_descriptor_lends_its_own_buffer_and_the_device_gets_them_all() {
        let (device, _ring) = lent_ring(false);
        let (first, _, _) = device.descriptor(0);
        for id in 0..SIZE_16 {
            let (address, length, flags) = device.descriptor(usize::from(id));
            let offset = usize::from(id) * LAYOUT.stride;
            assert_eq!(address, first + offset as u64);
            assert_eq!(length as usize, LAYOUT.stride - LAYOUT.lent_at);
            assert_eq!(flags, DEVICE_WRITES);
            assert_eq!(device.available_entry(usize::from(id)), id);
        }
        assert_eq!(first % 8, LAYOUT.lent_at as u64);
        assert_eq!(device.available_index(), SIZE_16);
    }

    #[test]
    fn a_buffer_given_back_is_read_with_its_length_then_lent_again() {
        let (mut device, mut ring) = lent_ring(false);
        assert!(ring.take().expect("no error").is_none());
        device.give_back(2, b"a frame");
        let held = ring.take().expect("no error").expect("a buffer");
        assert_eq!(ring.bytes(&held), b"a frame");
        assert!(!ring.has_used());
        ring.lend(&mut device, held, usize::MAX);
        assert_eq!(device.available_entry(SIZE), 2);
        assert_eq!(device.available_index(), SIZE_16 + 1);
    }

    #[test]
    fn the_device_cannot_name_a_buffer_it_does_not_have_or_overrun_one() {
        let (mut device, mut ring) = lent_ring(false);
        device.give_back(1, b"once");
        let held = ring.take().expect("no error").expect("a buffer");
        // The same buffer again while the driver holds it, then one that
        // does not exist: neither becomes a second way to its bytes.
        device.give_back_entry(1, 4);
        device.give_back_entry(9, 4);
        assert_eq!(ring.take().err(), Some(Status::FAILED));
        assert_eq!(ring.take().err(), Some(Status::FAILED));
        ring.lend(&mut device, held, usize::MAX);
        // A length past the buffer is cut to the part lent.
        device.give_back_entry(1, u32::MAX);
        let held = ring.take().expect("no error").expect("a buffer");
        assert_eq!(ring.bytes(&held).len(), LAYOUT.stride - LAYOUT.lent_at);
    }

    #[test]
    fn the_doorbell_rings_only_when_the_device_asks() {
        let (mut device, mut ring) = lent_ring(false);
        assert_eq!(device.doorbells, SIZE);
        device.set_no_notify(true);
        device.give_back(0, b"x");
        let held = ring.take().expect("no error").expect("a buffer");
        ring.lend(&mut device, held, usize::MAX);
        assert_eq!(device.doorbells, SIZE);
        // With the event index: only the buffer lent at the index the
        // device named rings it.
        let (mut device, mut ring) = lent_ring(true);
        let rung = device.doorbells;
        device.set_avail_event(SIZE_16 + 1);
        for lent_at in [SIZE, SIZE + 1] {
            device.give_back(0, b"x");
            let held = ring.take().expect("no error").expect("a buffer");
            ring.lend(&mut device, held, usize::MAX);
            let expected = rung + usize::from(lent_at == SIZE + 1);
            assert_eq!(device.doorbells, expected, "lent at {lent_at}");
        }
        // And taking a buffer asks the device to interrupt for the next.
        assert_eq!(device.used_event(), 2);
    }
}
