//! A device played by a test or a fuzz target: a transport that records
//! where the driver put a queue and each doorbell, and the device's side
//! of a [`Ring`](crate::ring::Ring) — reading its descriptors and
//! available ring, giving buffers back through its used ring, whatever
//! entries the player makes up. Host tests and the `ring` fuzz target use
//! it (the feature `fake-device`).

use virtio_drivers::PhysAddr;
use virtio_drivers::transport::{DeviceStatus, DeviceType, InterruptStatus, Transport};
use zerocopy::{FromBytes, Immutable, IntoBytes};

use crate::ring::{Available, Descriptor, Used, UsedEntry};

/// One queue of a device, of `SIZE` entries, as the driver set it.
#[derive(Debug, Default)]
pub struct FakeDevice<const SIZE: usize> {
    descriptors: PhysAddr,
    driver_area: PhysAddr,
    device_area: PhysAddr,
    /// How many times the driver rang the doorbell.
    pub doorbells: usize,
}

impl<const SIZE: usize> Transport for FakeDevice<SIZE> {
    fn device_type(&self) -> DeviceType {
        DeviceType::Network
    }
    fn read_device_features(&mut self) -> u64 {
        0
    }
    fn write_driver_features(&mut self, _: u64) {}
    fn max_queue_size(&mut self, _: u16) -> u32 {
        u32::try_from(SIZE).unwrap_or(u32::MAX)
    }
    fn notify(&mut self, _: u16) {
        self.doorbells += 1;
    }
    fn get_status(&self) -> DeviceStatus {
        DeviceStatus::empty()
    }
    fn set_status(&mut self, _: DeviceStatus) {}
    fn set_guest_page_size(&mut self, _: u32) {}
    fn requires_legacy_layout(&self) -> bool {
        true
    }
    fn queue_set(
        &mut self,
        _: u16,
        _: u32,
        descriptors: PhysAddr,
        driver_area: PhysAddr,
        device_area: PhysAddr,
    ) {
        self.descriptors = descriptors;
        self.driver_area = driver_area;
        self.device_area = device_area;
    }
    fn queue_unset(&mut self, _: u16) {}
    fn queue_used(&mut self, _: u16) -> bool {
        false
    }
    fn ack_interrupt(&mut self) -> InterruptStatus {
        InterruptStatus::empty()
    }
    fn read_config_generation(&self) -> u32 {
        0
    }
    fn read_config_space<T: FromBytes + IntoBytes>(&self, _: usize) -> virtio_drivers::Result<T> {
        Err(virtio_drivers::Error::Unsupported)
    }
    fn write_config_space<T: IntoBytes + Immutable>(
        &mut self,
        _: usize,
        _: T,
    ) -> virtio_drivers::Result<()> {
        Err(virtio_drivers::Error::Unsupported)
    }
}

// SAFETY (for every block below): the addresses are those the ring gave
// `queue_set`, with the system's device addresses the driver's own
// (`device_address`), and the ring's memory lives as long as the ring,
// which the player keeps alive while it plays; the player is the one
// device, so nothing else writes the used ring.
impl<const SIZE: usize> FakeDevice<SIZE> {
    /// Descriptor `id`: the buffer's address, its length lent, its flags.
    pub fn descriptor(&self, id: usize) -> (u64, u32, u16) {
        let table = self.descriptors as *const Descriptor;
        // SAFETY: see above; `id % SIZE` is in the table.
        let descriptor = unsafe { table.add(id % SIZE).read_volatile() };
        (descriptor.address, descriptor.length, descriptor.flags)
    }

    fn available(&self) -> *const Available<SIZE> {
        self.driver_area as *const Available<SIZE>
    }

    fn used(&mut self) -> *mut Used<SIZE> {
        self.device_area as *mut Used<SIZE>
    }

    /// The available ring's index.
    pub fn available_index(&self) -> u16 {
        // SAFETY: see above.
        unsafe { (&raw const (*self.available()).index).read_volatile() }
    }

    /// The available ring's entry `slot`.
    pub fn available_entry(&self, slot: usize) -> u16 {
        // SAFETY: see above; `slot % SIZE` is in the ring.
        unsafe { (&raw const (*self.available()).ring[slot % SIZE]).read_volatile() }
    }

    /// Where the driver asked to be interrupted (the event index).
    pub fn used_event(&self) -> u16 {
        // SAFETY: see above.
        unsafe { (&raw const (*self.available()).used_event).read_volatile() }
    }

    /// Asks for no doorbell (without the event index), or for one.
    pub fn set_no_notify(&mut self, no_notify: bool) {
        let flags = if no_notify { crate::ring::NO_NOTIFY } else { 0 };
        // SAFETY: see above.
        unsafe { (&raw mut (*self.used()).flags).write_volatile(flags) };
    }

    /// Asks for the doorbell when the available ring reaches `index` + 1.
    pub fn set_avail_event(&mut self, index: u16) {
        // SAFETY: see above.
        unsafe { (&raw mut (*self.used()).avail_event).write_volatile(index) };
    }

    /// Writes `bytes` into buffer `id` (as far as it is lent) and gives it
    /// back with their length.
    pub fn give_back(&mut self, id: u32, bytes: &[u8]) {
        let (address, length, _) = self.descriptor(id as usize);
        let count = bytes.len().min(length as usize);
        // SAFETY: see above; at most the buffer's part lent.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), address as *mut u8, count) };
        self.give_back_entry(id, u32::try_from(bytes.len()).unwrap_or(u32::MAX));
    }

    /// Puts the entry (`id`, `length`) — whatever they are — in the used
    /// ring.
    pub fn give_back_entry(&mut self, id: u32, length: u32) {
        let used = self.used();
        // SAFETY: see above.
        unsafe {
            let index = (&raw const (*used).index).read_volatile();
            let slot = usize::from(index) % SIZE;
            (&raw mut (*used).ring[slot]).write_volatile(UsedEntry { id, length });
            (&raw mut (*used).index).write_volatile(index.wrapping_add(1));
        }
    }
}
