//! A file system's tree as namespace objects — directories (`INamespace`, `IDirectory`, `IVolume`) and files (`IFile`) — over any [`Tree`] walked by path; the fat and virtio-9p components serve their volumes with it.
//!
//! A file system component says how to list, read and change its store by
//! path ([`Tree`]); this crate makes the objects the namespace binds: each
//! directory and file is a path into the one tree they share, so an object
//! stays valid across changes and fails with `NOT_FOUND` once its volume
//! is unmounted. Paths start at the volume's root: `""` is the root,
//! `/docs/a.txt` a file. Depends on `com` and `interfaces`.

#![no_std]
#![deny(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use com::{ComObject, ComPtr, IUnknown, Result, Status, class};
use interfaces::namespace::flags;
use interfaces::{
    IDirectory, IDirectoryImpl, IFile, IFileImpl, INamespace, INamespaceImpl, IVolume, IVolumeImpl,
};

/// What a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A directory.
    Directory,
    /// A file of this many bytes.
    File(u64),
}

/// A file system's store, by paths from its root (`""`, `/docs/a.txt`).
/// Every method fails with `NOT_FOUND` once the volume is unmounted.
pub trait Tree: Send + Sync {
    /// What `path` names.
    fn kind(&self, path: &str) -> Result<Kind>;
    /// The names in the directory `path`, in any order.
    fn list(&self, path: &str) -> Result<Vec<String>>;
    /// Reads the file `path` from `offset` into `buffer`.
    fn read(&self, path: &str, offset: u64, buffer: &mut [u8]) -> Result<usize>;
    /// Writes `data` into the file `path` at `offset`.
    fn write(&self, path: &str, offset: u64, data: &[u8]) -> Result<usize>;
    /// Makes the file `path` `size` bytes long.
    fn set_size(&self, path: &str, size: u64) -> Result<()>;
    /// Returns once what was written to the file `path` is on the medium.
    fn flush(&self, path: &str) -> Result<()>;
    /// Makes an empty file at `path`.
    fn create_file(&self, path: &str) -> Result<()>;
    /// Makes an empty directory at `path`.
    fn create_directory(&self, path: &str) -> Result<()>;
    /// Removes the file or empty directory `path`.
    fn remove(&self, path: &str) -> Result<()>;
    /// Writes every change back to the medium.
    fn sync(&self) -> Result<()>;
    /// Writes every change back and detaches the store.
    fn unmount(&self) -> Result<()>;
    /// True when nothing may be written.
    fn read_only(&self) -> bool;
}

/// The root directory of `tree`.
pub fn root(tree: Arc<dyn Tree>) -> ComPtr<INamespace> {
    ComObject::create::<INamespace>(Directory {
        tree,
        path: String::new(),
    })
}

/// `path`, a directory's path from the root (`""`, `/docs`), with `name`
/// (`/a.txt`, or `a.txt`) below it; names with empty, `.` or `..`
/// segments are refused.
fn join(path: &str, name: &str) -> Result<String> {
    let name = name.trim_start_matches('/');
    if name.is_empty() {
        return Ok(path.into());
    }
    if name
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..")
    {
        return Err(Status::INVALID_NAME);
    }
    Ok(format!("{path}/{name}"))
}

/// A directory of the tree (the root's path is `""`).
#[class(INamespace, IDirectory, IVolume)]
struct Directory {
    tree: Arc<dyn Tree>,
    path: String,
}

impl Directory {
    /// The names in the directory `name` below this one, in order.
    fn names(&self, name: &str) -> Result<Vec<String>> {
        let mut names = self.tree.list(&join(&self.path, name)?)?;
        names.sort_unstable();
        Ok(names)
    }
}

/// Copies the first of `names` after `previous` into `buffer`.
fn name_after(names: &[String], previous: Option<&str>, buffer: &mut [u8]) -> Result<usize> {
    let name = names
        .iter()
        .find(|name| previous.is_none_or(|previous| name.as_str() > previous))
        .ok_or(Status::NO_MORE_ENTRIES)?;
    com::copy_text(name, buffer)
}

impl INamespaceImpl for Directory {
    /// Files are made with `IDirectory::create_file`, not registered.
    fn register(&self, _name: &str, _object: &IUnknown, _flags: u32) -> Result<()> {
        Err(Status::NOT_SUPPORTED)
    }

    fn unregister(&self, _name: &str) -> Result<()> {
        Err(Status::NOT_SUPPORTED)
    }

    fn bind(&self, name: &str, _flags: u32) -> Result<ComPtr<IUnknown>> {
        let path = join(&self.path, name)?;
        let tree = self.tree.clone();
        Ok(match self.tree.kind(&path)? {
            Kind::Directory => {
                ComObject::create::<INamespace>(Directory { tree, path }).to_unknown()
            }
            Kind::File(_) => ComObject::create::<IFile>(File { tree, path }).to_unknown(),
        })
    }

    fn find_first(&self, directory: &str, buffer: &mut [u8]) -> Result<usize> {
        name_after(&self.names(directory)?, None, buffer)
    }

    fn find_next(&self, directory: &str, previous: &str, buffer: &mut [u8]) -> Result<usize> {
        name_after(&self.names(directory)?, Some(previous), buffer)
    }

    fn capabilities(&self, name: &str) -> Result<u32> {
        let path = join(&self.path, name)?;
        let write = if self.tree.read_only() {
            0
        } else {
            flags::WRITE
        };
        Ok(match self.tree.kind(&path)? {
            Kind::Directory => flags::READ | write | flags::DIRECTORY,
            Kind::File(_) => flags::READ | write,
        })
    }
}

impl IDirectoryImpl for Directory {
    fn create_file(&self, name: &str) -> Result<()> {
        self.tree.create_file(&join(&self.path, name)?)
    }

    fn create_directory(&self, name: &str) -> Result<()> {
        self.tree.create_directory(&join(&self.path, name)?)
    }

    fn remove(&self, name: &str) -> Result<()> {
        self.tree.remove(&join(&self.path, name)?)
    }
}

impl IVolumeImpl for Directory {
    fn sync(&self) -> Result<()> {
        self.tree.sync()
    }

    fn unmount(&self) -> Result<()> {
        self.tree.unmount()
    }

    fn read_only(&self) -> Result<bool> {
        Ok(self.tree.read_only())
    }
}

/// A file of the tree.
#[class(IFile)]
struct File {
    tree: Arc<dyn Tree>,
    path: String,
}

impl IFileImpl for File {
    fn read_at(&self, offset: u64, buffer: &mut [u8]) -> Result<usize> {
        self.tree.read(&self.path, offset, buffer)
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> Result<usize> {
        self.tree.write(&self.path, offset, data)
    }

    fn size(&self) -> Result<u64> {
        match self.tree.kind(&self.path)? {
            Kind::File(size) => Ok(size),
            Kind::Directory => Err(Status::NOT_FOUND),
        }
    }

    fn set_size(&self, size: u64) -> Result<()> {
        self.tree.set_size(&self.path, size)
    }

    fn flush(&self) -> Result<()> {
        self.tree.flush(&self.path)
    }
}
