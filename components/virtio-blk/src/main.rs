//! The virtio block device driver: the first disk the kernel lists (`/sys/devices/virtio-blk0`) as an `IBlockDevice`, over `virtio-drivers`.
//!
//! Binding `/virtio-blk` loads it: the constructor finds the device the
//! kernel listed, attaches its interrupt, and brings the device up over
//! the legacy or the modern virtio-mmio transport (whichever the device
//! offers). Its object is the disk.
//!
//! One request is in flight at a time, under a kernel lock. A request is
//! submitted with the crate's non-blocking call, the calling thread
//! sleeps on the device's interrupt until the device has used it, and the
//! crate completes it: the device reads and writes the caller's buffer
//! directly (no copy), and nothing spins. Requests larger than
//! [`MAX_REQUEST_BLOCKS`] go as several.
//!
//! Releasing the last reference unloads the driver: the device is reset,
//! its queue's memory freed and its interrupt given back.
//!
//! Depends on `com`, `component`, `interfaces`, `virtio-drivers` and
//! `virtio-hal` (the shared `Hal`).

#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

use com::{ComObject, ComPtr, IUnknown, Result, Status, class};
use component::threads::Lock;
use interfaces::device::virtio;
use interfaces::{IBlockDevice, IBlockDeviceImpl, IInterruptSource};
use virtio_drivers::device::blk::SECTOR_SIZE;
use virtio_hal::block::BlockDevice as Device;

/// The device this driver drives, under `/sys/devices`.
const DEVICE: &str = "virtio-blk0";
/// The most blocks one request carries (64 KiB); longer transfers are split.
const MAX_REQUEST_BLOCKS: usize = 128;

/// The disk.
#[class(IBlockDevice)]
struct Disk {
    device: Lock<Device>,
    /// The device's interrupt (the transport holds it too).
    interrupt: ComPtr<IInterruptSource>,
    block_count: u64,
    read_only: bool,
}

impl Disk {
    /// The first block as the crate takes it, once `first` and `length`
    /// are checked against the disk.
    fn check(&self, first: u64, length: usize) -> Result<usize> {
        if length == 0 || !length.is_multiple_of(SECTOR_SIZE) {
            return Err(Status::INVALID_ARGUMENT);
        }
        let blocks = u64::try_from(length / SECTOR_SIZE).map_err(|_| Status::OUT_OF_RANGE)?;
        let end = first.checked_add(blocks).ok_or(Status::OUT_OF_RANGE)?;
        if end > self.block_count {
            return Err(Status::OUT_OF_RANGE);
        }
        usize::try_from(first).map_err(|_| Status::OUT_OF_RANGE)
    }
}

impl IBlockDeviceImpl for Disk {
    fn block_size(&self) -> Result<u32> {
        u32::try_from(SECTOR_SIZE).map_err(|_| Status::OUT_OF_RANGE)
    }

    fn block_count(&self) -> Result<u64> {
        Ok(self.block_count)
    }

    fn read_only(&self) -> Result<bool> {
        Ok(self.read_only)
    }

    fn read_blocks(&self, first: u64, buffer: &mut [u8]) -> Result<()> {
        let mut block = self.check(first, buffer.len())?;
        let mut device = self.device.lock();
        for chunk in buffer.chunks_mut(MAX_REQUEST_BLOCKS * SECTOR_SIZE) {
            virtio_hal::block::read(&mut device, &self.interrupt, block, chunk)?;
            block += MAX_REQUEST_BLOCKS;
        }
        Ok(())
    }

    fn write_blocks(&self, first: u64, data: &[u8]) -> Result<()> {
        if self.read_only {
            return Err(Status::ACCESS_DENIED);
        }
        let mut block = self.check(first, data.len())?;
        let mut device = self.device.lock();
        for chunk in data.chunks(MAX_REQUEST_BLOCKS * SECTOR_SIZE) {
            virtio_hal::block::write(&mut device, &self.interrupt, block, chunk)?;
            block += MAX_REQUEST_BLOCKS;
        }
        Ok(())
    }

    /// The crate's flush waits through the transport's doorbell, which
    /// sleeps until the device answers.
    fn flush(&self) -> Result<()> {
        self.device.lock().flush().map_err(virtio_hal::status)
    }
}

fn construct() -> Result<ComPtr<IUnknown>> {
    let namespace = component::namespace()?;
    let (transport, interrupt) = virtio_hal::open(&namespace, DEVICE, virtio::BLOCK)?;
    let device = Device::new(transport).map_err(virtio_hal::status)?;
    let disk = Disk {
        block_count: device.capacity(),
        read_only: device.readonly(),
        device: Lock::new(device)?,
        interrupt,
    };
    Ok(ComObject::create::<IBlockDevice>(disk).to_unknown())
}

component::component!(construct);
