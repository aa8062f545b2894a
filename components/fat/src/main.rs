//! The FAT file system component: mounts a block device's FAT volume (FAT12/16/32, long names, read and write) into the namespace.
//!
//! Its object is an `IFileSystem`: `mount(device, flags)` mounts the
//! volume on an `IBlockDevice` and returns the root directory, which the
//! caller registers as a namespace extension (the shell's `mount`, at
//! `/disk`). Below it, binding a path gives a directory — an `INamespace`
//! over the directory, an `IDirectory` to create and remove in it, and
//! the volume's `IVolume` — or a file, an `IFile`.
//!
//! Objects name their file or directory by path; the volume itself
//! (`fat-volume`, over the `lamfat` crate) has one owner, a kernel lock,
//! and every operation opens what it works on. The volume listens at
//! `/sys/shutdown`, so a power-off unmounts it: its changes reach the
//! disk and it is marked clean. `unmount` does the same at once; after
//! it every object of the volume fails with `NOT_FOUND`, and releasing
//! the last of them lets the component and the block driver unload.
//!
//! Depends on `com`, `component`, `interfaces`, `fat-volume` and
//! `file-tree` (the directory and file objects, shared with virtio-9p).

#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

mod objects;

use com::{ComObject, ComPtr, IUnknown, Result, class};
use interfaces::{IFileSystem, IFileSystemImpl, INamespace};

/// The file system driver.
#[class(IFileSystem)]
struct Fat;

impl IFileSystemImpl for Fat {
    fn mount(&self, device: &IUnknown, flags: u32) -> Result<ComPtr<INamespace>> {
        objects::mount(device, flags)
    }
}

fn construct() -> Result<ComPtr<IUnknown>> {
    Ok(ComObject::create::<IFileSystem>(Fat).to_unknown())
}

component::component!(construct);
