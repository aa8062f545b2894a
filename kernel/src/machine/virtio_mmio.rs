//! A virtio-mmio slot's header, only as far as the kernel needs it to list
//! the device for a driver: which device sits in the slot.

/// The header's first word in every slot: "virt", little-endian.
const MAGIC: u32 = 0x7472_6976;
/// Offsets of the magic word and of the device id.
const MAGIC_OFFSET: usize = 0x000;
const DEVICE_ID_OFFSET: usize = 0x008;
/// The smallest window that holds those words.
const HEADER_END: usize = 0x00c;

/// The device id of the slot whose `size`-byte register window starts at
/// `base` (0: the slot is empty); `None` when the window is too small or
/// its first word is not the virtio magic.
pub fn device_id(base: usize, size: usize) -> Option<u32> {
    if size < HEADER_END || !base.is_multiple_of(4) {
        return None;
    }
    let read = |offset: usize| {
        // SAFETY: the device tree names `base..base + size` as a
        // virtio-mmio register window (checked large enough and aligned
        // above); reading its magic and device id words has no effect on
        // the device.
        unsafe { ((base + offset) as *const u32).read_volatile() }
    };
    (read(MAGIC_OFFSET) == MAGIC).then(|| read(DEVICE_ID_OFFSET))
}
