//! The `virtio-drivers` `Hal` every virtio driver component shares — DMA memory, the addresses the device sees, the register window — and a transport that sleeps on the device's interrupt; used by `components/virtio-blk`, `components/virtio-9p` and `components/virtio-net`.
//!
//! - **DMA memory** comes from the kernel heap (the component's global
//!   allocator), page-aligned: the heap lies in one range of physical RAM,
//!   so a block is physically contiguous.
//! - **Device addresses**: the system runs with `satp` = Bare, so the
//!   address the device uses for a byte is the address the driver uses.
//!   [`device_address`] is the one place that says so: once a
//!   virtual-memory component is loaded and drivers run in mapped memory,
//!   it is where the translation goes.
//! - **Buffers a caller passes** (`Hal::share`) are used in place: the
//!   device reads and writes them directly, with no bounce copy.
//! - **The register window** is the one the kernel listed for the device
//!   under `/sys/devices` ([`open`]).
//! - **Waiting**: [`AnsweredTransport`] rings the device's doorbell and
//!   sleeps until the device interrupts, so the crate's request calls
//!   never spin; [`block`] makes the block driver's non-blocking requests,
//!   which lend the device the caller's buffers until they complete;
//!   [`net`] keeps a network card's receive queue full and its sent
//!   frames in flight over a [`PostedTransport`], whose doorbell returns
//!   at once, and the driver sleeps on the interrupt between frames.
//!
//! Depends on `com`, `interfaces`, `net-frames` (a frame's checksum
//! summed as it is copied out) and `virtio-drivers`.

#![no_std]

extern crate alloc;

pub mod block;
#[cfg(any(test, feature = "fake-device"))]
pub mod fake_device;
pub mod net;
pub mod ring;
mod transport;

use core::alloc::Layout;
use core::ptr::NonNull;

use com::{ComPtr, Result, Status};
use interfaces::{DeviceInfo, IDevice, IInterruptSource, IInterrupts, INamespace};
use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
use virtio_drivers::{BufferDirection, Hal, PAGE_SIZE, PhysAddr};

pub use transport::{AnsweredTransport, InterruptTransport, PostedTransport};

/// The `Hal` of Tessera's virtio drivers.
pub struct TesseraHal;

/// The address the device uses for the byte at `address` in the driver's
/// memory. With `satp` = Bare (until a virtual-memory component is loaded,
/// and always for drivers, which live in the physical address space) the
/// two are the same.
pub fn device_address(address: usize) -> PhysAddr {
    address as PhysAddr
}

/// The layout of `pages` DMA pages, if it fits the address space.
fn dma_layout(pages: usize) -> Option<Layout> {
    Layout::from_size_align(pages.checked_mul(PAGE_SIZE)?, PAGE_SIZE).ok()
}

// SAFETY: DMA blocks are fresh, zeroed, page-aligned heap blocks that no one
// else uses until `dma_dealloc`; the addresses given to the device are
// those of the very bytes the driver uses (`device_address`), and a shared
// buffer is the caller's own memory, used in place.
unsafe impl Hal for TesseraHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let block = dma_layout(pages)
            .filter(|layout| layout.size() > 0)
            // SAFETY: the layout has a non-zero size.
            .and_then(|layout| NonNull::new(unsafe { alloc::alloc::alloc_zeroed(layout) }));
        match block {
            Some(block) => (device_address(block.as_ptr() as usize), block),
            // The crate takes device address 0 as failure.
            None => (0, NonNull::dangling()),
        }
    }

    unsafe fn dma_dealloc(_address: PhysAddr, block: NonNull<u8>, pages: usize) -> i32 {
        let Some(layout) = dma_layout(pages) else {
            return -1;
        };
        // SAFETY: the crate gives back a block `dma_alloc` returned for
        // `pages` pages, once.
        unsafe { alloc::alloc::dealloc(block.as_ptr(), layout) };
        0
    }

    unsafe fn mmio_phys_to_virt(address: PhysAddr, _size: usize) -> NonNull<u8> {
        // Device registers are used where they are (no translation, as for
        // memory); the crate only asks for windows the kernel listed.
        usize::try_from(address)
            .ok()
            .and_then(|address| NonNull::new(core::ptr::with_exposed_provenance_mut(address)))
            .unwrap_or(NonNull::dangling())
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        device_address(buffer.cast::<u8>().as_ptr() as usize)
    }

    unsafe fn unshare(_address: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {
        // Shared in place: nothing to copy back.
    }
}

/// Opens the device `name` under `/sys/devices` of `namespace`
/// (`virtio-blk0`), which must be a virtio device of kind `kind`
/// (`interfaces::device::virtio`; `NOT_SUPPORTED` for another): attaches
/// its interrupt and returns its virtio-mmio transport — an
/// [`AnsweredTransport`] or a [`PostedTransport`], as the caller names it
/// — with the interrupt source, which the driver holds while it drives
/// the device.
pub fn open<const ANSWERED: bool>(
    namespace: &INamespace,
    name: &str,
    kind: u32,
) -> Result<(InterruptTransport<ANSWERED>, ComPtr<IInterruptSource>)> {
    let path = alloc::format!("{}/{name}", interfaces::device::DIRECTORY);
    let device = namespace.bind(&path, 0)?.query::<IDevice>()?.info()?;
    if device.virtio_id != kind {
        return Err(Status::NOT_SUPPORTED);
    }
    let interrupt = namespace
        .bind("/sys/interrupts", 0)?
        .query::<IInterrupts>()?
        .attach(device.interrupt)?;
    let transport = mmio_transport(&device)?;
    Ok((
        InterruptTransport::new(transport, interrupt.clone()),
        interrupt,
    ))
}

/// The virtio-mmio transport over `device`'s register window, which the
/// kernel listed.
fn mmio_transport(device: &DeviceInfo) -> Result<MmioTransport<'static>> {
    let size = usize::try_from(device.size).map_err(|_| Status::OUT_OF_RANGE)?;
    let header = NonNull::new(core::ptr::with_exposed_provenance_mut::<VirtIOHeader>(
        usize::try_from(device.base).map_err(|_| Status::OUT_OF_RANGE)?,
    ))
    .ok_or(Status::NULL_POINTER)?;
    if !header.is_aligned() {
        return Err(Status::INVALID_ARGUMENT);
    }
    // SAFETY: the kernel listed `base..base + size` from the device tree as
    // a virtio-mmio register window (checked non-null and aligned above);
    // device registers stay in place for as long as the system runs, and
    // the driver that attached the device's interrupt is its only user.
    unsafe { MmioTransport::new(header, size) }.map_err(|_| Status::NOT_SUPPORTED)
}

/// The status for an error of the crate.
pub fn status(error: virtio_drivers::Error) -> Status {
    use virtio_drivers::Error;
    match error {
        Error::DmaError => Status::OUT_OF_MEMORY,
        Error::InvalidParam => Status::INVALID_ARGUMENT,
        Error::Unsupported => Status::NOT_SUPPORTED,
        Error::QueueFull | Error::AlreadyUsed => Status::RETRY,
        _ => Status::FAILED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dma_blocks_are_zeroed_page_aligned_and_seen_in_place() {
        let (address, block) = TesseraHal::dma_alloc(2, BufferDirection::Both);
        assert_ne!(address, 0);
        assert_eq!(address % PAGE_SIZE as PhysAddr, 0);
        assert_eq!(address, block.as_ptr() as PhysAddr);
        // SAFETY: the block is two fresh pages.
        let bytes = unsafe { core::slice::from_raw_parts(block.as_ptr(), 2 * PAGE_SIZE) };
        assert!(bytes.iter().all(|&byte| byte == 0));
        // SAFETY: the block came from `dma_alloc` for two pages.
        assert_eq!(unsafe { TesseraHal::dma_dealloc(address, block, 2) }, 0);
    }

    #[test]
    fn an_impossible_dma_size_fails_with_address_0() {
        assert_eq!(TesseraHal::dma_alloc(0, BufferDirection::Both).0, 0);
        assert_eq!(
            TesseraHal::dma_alloc(usize::MAX, BufferDirection::Both).0,
            0
        );
    }

    #[test]
    fn a_shared_buffer_is_used_in_place() {
        let mut buffer = [0u8; 512];
        let pointer = NonNull::from(&mut buffer[..]);
        // SAFETY: the buffer lives across the calls.
        let address = unsafe { TesseraHal::share(pointer, BufferDirection::DeviceToDriver) };
        assert_eq!(address, buffer.as_ptr() as PhysAddr);
    }
}
