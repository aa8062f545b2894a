//! `/sys/devices`: the virtio-mmio devices of the device tree, one
//! `IDevice` each, for driver components to find (they cannot read the
//! tree themselves).
//!
//! QEMU lists every slot, used or not: a slot whose header gives device
//! id 0 is empty and is left out. The rest are named by kind and counted
//! per kind (`virtio-blk0`, `virtio-blk1`, `virtio-net0`, ...), from the
//! highest slot down — QEMU gives the first `-device` of its command line
//! the highest slot, so `virtio-blk0` is the first disk given.

use alloc::format;

use com::{ComObject, Result, class};
use interfaces::device::{self, DeviceInfo, virtio};
use interfaces::{IDevice, IDeviceImpl};

use super::Root;
use crate::machine::platform::{VirtioSlot, VirtioSlots};
use crate::machine::virtio_mmio;

/// A device as the kernel found it.
#[class(IDevice)]
struct Device(DeviceInfo);

impl IDeviceImpl for Device {
    fn info(&self) -> Result<DeviceInfo> {
        Ok(self.0)
    }
}

/// Registers every used slot of `slots` under `/sys/devices`.
pub fn register_virtio_devices(root: &Root, slots: &VirtioSlots) -> Result<()> {
    let mut used: alloc::vec::Vec<(VirtioSlot, u32)> = slots
        .iter()
        .flatten()
        .filter_map(|slot| {
            let id = virtio_mmio::device_id(slot.base, slot.size)?;
            (id != 0).then_some((*slot, id))
        })
        .collect();
    used.sort_unstable_by_key(|(slot, _)| core::cmp::Reverse(slot.base));
    for (position, &(slot, id)) in used.iter().enumerate() {
        let kind = virtio::kind(id);
        let index = used[..position]
            .iter()
            .filter(|(_, earlier)| virtio::kind(*earlier) == kind)
            .count();
        let object = ComObject::create::<IDevice>(Device(DeviceInfo {
            base: slot.base as u64,
            size: slot.size as u64,
            interrupt: slot.interrupt,
            virtio_id: id,
        }));
        let name = format!("{}/{kind}{index}", device::DIRECTORY);
        root.register(&name, object.as_unknown(), 0)?;
    }
    Ok(())
}
