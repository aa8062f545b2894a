//! The host's tree as objects: directories (namespaces) and files.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use com::{ComObject, ComPtr, IUnknown, Result, Status, class};
use component::threads::Lock;
use interfaces::namespace::flags;
use interfaces::{
    IDirectory, IDirectoryImpl, IFile, IFileImpl, INamespace, INamespaceImpl, IVolume, IVolumeImpl,
};

use crate::client::{Client, Kind};

/// The client every object of the tree shares; `None` once unmounted.
struct Shared(Lock<Option<Client>>);

impl Shared {
    fn with<T>(&self, operation: impl FnOnce(&mut Client) -> Result<T>) -> Result<T> {
        let mut client = self.0.lock();
        operation(client.as_mut().ok_or(Status::NOT_FOUND)?)
    }
}

/// The root directory of the tree `client` is attached to.
pub fn root(client: Client) -> Result<ComPtr<IUnknown>> {
    let shared = Arc::new(Shared(Lock::new(Some(client))?));
    Ok(ComObject::create::<INamespace>(Directory {
        shared,
        path: String::new(),
    })
    .to_unknown())
}

/// `path` with `name` (`/a.txt` or `a.txt`) below it; names with empty,
/// `.` or `..` segments are refused.
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

/// A directory of the host's tree (the root's path is `""`).
#[class(INamespace, IDirectory, IVolume)]
struct Directory {
    shared: Arc<Shared>,
    path: String,
}

impl Directory {
    fn names(&self, name: &str) -> Result<Vec<String>> {
        let path = join(&self.path, name)?;
        let mut names = self.shared.with(|client| client.list(&path))?;
        names.sort_unstable();
        Ok(names)
    }

    /// The directory holding `name` (below this one) and its last name.
    fn parent_of(&self, name: &str) -> Result<(String, String)> {
        let path = join(&self.path, name)?;
        let (parent, last) = path.rsplit_once('/').ok_or(Status::INVALID_NAME)?;
        Ok((parent.into(), last.into()))
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
    fn register(&self, _name: &str, _object: &IUnknown, _flags: u32) -> Result<()> {
        Err(Status::NOT_SUPPORTED)
    }

    fn unregister(&self, _name: &str) -> Result<()> {
        Err(Status::NOT_SUPPORTED)
    }

    fn bind(&self, name: &str, _flags: u32) -> Result<ComPtr<IUnknown>> {
        let path = join(&self.path, name)?;
        let shared = self.shared.clone();
        Ok(match self.shared.with(|client| client.kind(&path))? {
            Kind::Directory => {
                ComObject::create::<INamespace>(Directory { shared, path }).to_unknown()
            }
            Kind::File(_) => ComObject::create::<IFile>(File { shared, path }).to_unknown(),
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
        Ok(match self.shared.with(|client| client.kind(&path))? {
            Kind::Directory => flags::READ | flags::WRITE | flags::DIRECTORY,
            Kind::File(_) => flags::READ | flags::WRITE,
        })
    }
}

impl IDirectoryImpl for Directory {
    fn create_file(&self, name: &str) -> Result<()> {
        let (parent, last) = self.parent_of(name)?;
        self.shared
            .with(|client| client.create_file(&parent, &last))
    }

    fn create_directory(&self, name: &str) -> Result<()> {
        let (parent, last) = self.parent_of(name)?;
        self.shared
            .with(|client| client.create_directory(&parent, &last))
    }

    fn remove(&self, name: &str) -> Result<()> {
        let (parent, last) = self.parent_of(name)?;
        self.shared.with(|client| client.remove(&parent, &last))
    }
}

impl IVolumeImpl for Directory {
    /// The host writes each request through: nothing waits here.
    fn sync(&self) -> Result<()> {
        self.shared.with(|_| Ok(()))
    }

    fn unmount(&self) -> Result<()> {
        let mut client = self.shared.0.lock();
        client.as_mut().ok_or(Status::NOT_FOUND)?.detach();
        *client = None;
        Ok(())
    }

    fn read_only(&self) -> Result<bool> {
        Ok(false)
    }
}

/// A file of the host's tree.
#[class(IFile)]
struct File {
    shared: Arc<Shared>,
    path: String,
}

impl IFileImpl for File {
    fn read_at(&self, offset: u64, buffer: &mut [u8]) -> Result<usize> {
        self.shared
            .with(|client| client.read(&self.path, offset, buffer))
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> Result<usize> {
        self.shared
            .with(|client| client.write(&self.path, offset, data))
    }

    fn size(&self) -> Result<u64> {
        match self.shared.with(|client| client.kind(&self.path))? {
            Kind::File(size) => Ok(size),
            Kind::Directory => Err(Status::NOT_FOUND),
        }
    }

    fn set_size(&self, size: u64) -> Result<()> {
        self.shared.with(|client| client.set_size(&self.path, size))
    }

    fn flush(&self) -> Result<()> {
        self.shared.with(|client| client.flush(&self.path))
    }
}
