//! The host's tree as a `file_tree::Tree`: each operation takes the one
//! client, which the tree's objects share until the volume is unmounted.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use com::{ComPtr, IUnknown, Result, Status};
use component::threads::Lock;
use file_tree::{Kind, Tree};

use crate::client::Client;

/// The client every object of the tree shares; `None` once unmounted.
struct HostTree(Lock<Option<Client>>);

impl HostTree {
    fn with<T>(&self, operation: impl FnOnce(&mut Client) -> Result<T>) -> Result<T> {
        let mut client = self.0.lock();
        operation(client.as_mut().ok_or(Status::NOT_FOUND)?)
    }

    /// Runs `operation` on the directory holding `path` and its last name
    /// (9P makes and removes names in a directory).
    fn in_parent<T>(
        &self,
        path: &str,
        operation: impl FnOnce(&mut Client, &str, &str) -> Result<T>,
    ) -> Result<T> {
        let (parent, last) = path.rsplit_once('/').ok_or(Status::INVALID_NAME)?;
        self.with(|client| operation(client, parent, last))
    }
}

/// The root directory of the tree `client` is attached to.
pub fn root(client: Client) -> Result<ComPtr<IUnknown>> {
    let tree = Arc::new(HostTree(Lock::new(Some(client))?));
    Ok(file_tree::root(tree).to_unknown())
}

impl Tree for HostTree {
    fn kind(&self, path: &str) -> Result<Kind> {
        self.with(|client| client.kind(path))
    }

    fn list(&self, path: &str) -> Result<Vec<String>> {
        self.with(|client| client.list(path))
    }

    fn read(&self, path: &str, offset: u64, buffer: &mut [u8]) -> Result<usize> {
        self.with(|client| client.read(path, offset, buffer))
    }

    fn write(&self, path: &str, offset: u64, data: &[u8]) -> Result<usize> {
        self.with(|client| client.write(path, offset, data))
    }

    fn set_size(&self, path: &str, size: u64) -> Result<()> {
        self.with(|client| client.set_size(path, size))
    }

    fn flush(&self, path: &str) -> Result<()> {
        self.with(|client| client.flush(path))
    }

    fn create_file(&self, path: &str) -> Result<()> {
        self.in_parent(path, Client::create_file)
    }

    fn create_directory(&self, path: &str) -> Result<()> {
        self.in_parent(path, Client::create_directory)
    }

    fn remove(&self, path: &str) -> Result<()> {
        self.in_parent(path, Client::remove)
    }

    /// The host writes each request through: nothing waits here.
    fn sync(&self) -> Result<()> {
        self.with(|_| Ok(()))
    }

    fn unmount(&self) -> Result<()> {
        let mut client = self.0.lock();
        client.as_mut().ok_or(Status::NOT_FOUND)?.detach();
        *client = None;
        Ok(())
    }

    fn read_only(&self) -> bool {
        false
    }
}
