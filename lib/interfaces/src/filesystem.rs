//! File systems in the namespace: `IFileSystem` mounts a device,
//! `IVolume` is what was mounted, `IDirectory` changes a directory.
//!
//! A mounted volume is an `INamespace` registered as an extension (at
//! `/disk`, say): binding a path below it gives a directory — again an
//! `INamespace`, and an `IDirectory` — or a file (`IFile`).

use com::{ComPtr, IUnknown, Result, interface};

use crate::INamespace;

/// Flags of [`IFileSystem::mount`].
pub mod mount_flags {
    /// Mount read-only: nothing is written to the device.
    pub const READ_ONLY: u32 = 0x1;
}

#[interface("fff20c1c-392b-4ae0-ab0c-2692ecffbeff")]
/// A file system driver (the FAT component's object).
pub trait IFileSystem {
    /// Mounts the volume on `device` (an `IBlockDevice`); returns its root
    /// directory, which is also its `IVolume`. `BAD_IMAGE` if the device
    /// holds no such file system.
    fn mount(&self, device: &IUnknown, flags: u32) -> Result<ComPtr<INamespace>>;
}

#[interface("33570b6e-fcea-4f9d-a943-d6aa23951a26")]
/// A mounted volume.
pub trait IVolume {
    /// Writes everything changed to the device and flushes it.
    fn sync(&self) -> Result<()>;
    /// Writes everything back, marks the volume clean and lets the device
    /// go; every object of the volume fails afterwards.
    fn unmount(&self) -> Result<()>;
    /// True when mounted read-only.
    fn read_only(&self) -> Result<bool>;
}

#[interface("75e23d0b-b296-4e04-ab39-24baae0c9ba4")]
/// A directory of a mounted volume; names are relative to it (`a.txt`,
/// `sub/a.txt`).
pub trait IDirectory {
    /// Creates an empty file; `ALREADY_EXISTS` if the name is taken.
    fn create_file(&self, name: &str) -> Result<()>;
    /// Creates a directory; `ALREADY_EXISTS` if the name is taken.
    fn create_directory(&self, name: &str) -> Result<()>;
    /// Removes a file or an empty directory (`NOT_EMPTY` otherwise).
    fn remove(&self, name: &str) -> Result<()>;
}
