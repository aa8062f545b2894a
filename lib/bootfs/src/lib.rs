//! The boot file system: a RomFS image served as namespace objects, mounted at /boot.
//!
//! A directory of the image is an `INamespace` (registered as an extension,
//! so the root namespace hands it every name below its mount point); a file
//! is an `IFile` reading straight from the image, which lives as long as the
//! kernel, and an `IMemoryFile`, so the loader reads images in place. Everything is read-only: registering, unregistering and writing
//! fail with `ACCESS_DENIED`.
//!
//! Depends on `romfs` (the format), `namespace` (name rules), `com` and
//! `interfaces`; the kernel mounts it at boot and the loader reads component
//! images from it.

#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]

use com::{ComObject, ComPtr, IUnknown, Result, Status, class, copy_text};
use interfaces::namespace::flags;
use interfaces::{IFile, IFileImpl, IMemoryFile, IMemoryFileImpl, INamespace, INamespaceImpl};
use romfs::{Dir, Node, RomFs};

/// A directory of a RomFS image, seen as a namespace.
#[class(INamespace)]
pub struct RomDirectory {
    directory: Dir<'static>,
}

impl RomDirectory {
    /// The root directory of `image`, after validating its header.
    pub fn mount(image: &'static [u8]) -> core::result::Result<ComPtr<INamespace>, romfs::Error> {
        let root = RomFs::parse(image)?.root();
        Ok(ComObject::create(RomDirectory { directory: root }))
    }

    /// The node at `path` below this directory (`/` is the directory itself).
    fn lookup(&self, path: &str) -> Result<Node<'static>> {
        let path = namespace::validate_name(path)?;
        let mut segments = path.split('/').filter(|segment| !segment.is_empty());
        let Some(first) = segments.next() else {
            return Err(Status::NOT_FOUND);
        };
        let mut node = self.directory.child(first).map_err(status_of)?;
        for segment in segments {
            let directory = node.as_dir().ok_or(Status::NOT_FOUND)?;
            node = directory.child(segment).map_err(status_of)?;
        }
        Ok(node)
    }

    /// The directory at `path` (`/` is this one).
    fn directory_at(&self, path: &str) -> Result<Dir<'static>> {
        if namespace::validate_name(path)? == "/" {
            return Ok(self.directory);
        }
        self.lookup(path)?.as_dir().ok_or(Status::NOT_FOUND)
    }
}

/// The status a RomFS error reads as to a namespace client.
fn status_of(error: romfs::Error) -> Status {
    match error {
        romfs::Error::NotFound => Status::NOT_FOUND,
        romfs::Error::InvalidName(_) => Status::INVALID_NAME,
        _ => Status::BAD_IMAGE,
    }
}

/// The first entry of `directory` whose name sorts after `previous`.
fn entry_after(
    directory: Dir<'static>,
    previous: Option<&str>,
    buffer: &mut [u8],
) -> Result<usize> {
    for entry in directory.entries() {
        let name = entry.map_err(status_of)?.name();
        if previous.is_none_or(|previous| name > previous) {
            return copy_text(name, buffer);
        }
    }
    Err(Status::NO_MORE_ENTRIES)
}

impl INamespaceImpl for RomDirectory {
    fn register(&self, _name: &str, _object: &IUnknown, _flags: u32) -> Result<()> {
        Err(Status::ACCESS_DENIED)
    }

    fn unregister(&self, _name: &str) -> Result<()> {
        Err(Status::ACCESS_DENIED)
    }

    fn bind(&self, name: &str, _flags: u32) -> Result<ComPtr<IUnknown>> {
        let node = self.lookup(name)?;
        Ok(match node.as_dir() {
            Some(directory) => {
                ComObject::create::<INamespace>(RomDirectory { directory }).to_unknown()
            }
            None => ComObject::create::<IFile>(RomFile { data: node.data() }).to_unknown(),
        })
    }

    fn find_first(&self, directory: &str, buffer: &mut [u8]) -> Result<usize> {
        entry_after(self.directory_at(directory)?, None, buffer)
    }

    fn find_next(&self, directory: &str, previous: &str, buffer: &mut [u8]) -> Result<usize> {
        entry_after(self.directory_at(directory)?, Some(previous), buffer)
    }

    fn capabilities(&self, name: &str) -> Result<u32> {
        if namespace::validate_name(name)? == "/" {
            return Ok(flags::READ | flags::DIRECTORY);
        }
        Ok(match self.lookup(name)?.is_dir() {
            true => flags::READ | flags::DIRECTORY,
            false => flags::READ,
        })
    }
}

/// A file of a RomFS image.
#[class(IFile, IMemoryFile)]
pub struct RomFile {
    data: &'static [u8],
}

impl IFileImpl for RomFile {
    fn read_at(&self, offset: u64, buffer: &mut [u8]) -> Result<usize> {
        // Reading at or past the end reads nothing, as `pread` does.
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let rest = self.data.get(start..).unwrap_or_default();
        let count = rest.len().min(buffer.len());
        // `count` is at most the length of both slices.
        buffer[..count].copy_from_slice(&rest[..count]);
        Ok(count)
    }

    fn write_at(&self, _offset: u64, _data: &[u8]) -> Result<usize> {
        Err(Status::ACCESS_DENIED)
    }

    fn size(&self) -> Result<u64> {
        Ok(self.data.len() as u64)
    }

    fn set_size(&self, _size: u64) -> Result<()> {
        Err(Status::ACCESS_DENIED)
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }
}

impl IMemoryFileImpl for RomFile {
    fn address(&self) -> Result<u64> {
        Ok(self.data.as_ptr().addr() as u64)
    }
}
