//! A process's namespace: the names its parent granted it, as an
//! `INamespace` in the kernel's space that the process imports by binding
//! `/` (`app::namespace()`; docs/ipc.md, "The namespace seen from a
//! process").
//!
//! Every method answers for the process alone. `bind` reaches granted
//! names only; `find_first` and `find_next` list the grants, a directory
//! for each path prefix; `register` puts an object the process holds —
//! an object of the kernel's space, or another process's — under a name
//! it may register, never over one (`FAIL_IF_EXISTS` whatever the flags
//! say), on its account; `unregister` takes away only what the process
//! registered, through the view or with `REGISTER`. Whatever is on its
//! account goes when it ends.
//!
//! An object of the process's own is registered with `REGISTER`
//! (`app::register::<I>`), which says the interface it serves: through
//! the view it would come as an `IUnknown`, which names none, so the
//! view refuses it (`NOT_SUPPORTED`).

use alloc::string::String;
use alloc::sync::{Arc, Weak};

use com::{ComPtr, IUnknown, Result, Status, class};
use interfaces::namespace::flags;
use interfaces::{INamespace, INamespaceImpl};

use crate::process::Process;

/// The namespace a process sees.
#[class(INamespace)]
pub struct View {
    /// Whose view it is: the process's imports hold the view, so it may
    /// not hold the process.
    process: Weak<Process>,
}

impl View {
    /// The view of `process`.
    pub fn of(process: &Arc<Process>) -> View {
        View {
            process: Arc::downgrade(process),
        }
    }

    /// Its process, while it lives; `STALE_HANDLE` after.
    fn process(&self) -> Result<Arc<Process>> {
        self.process.upgrade().ok_or(Status::STALE_HANDLE)
    }

    /// The first entry directly under `directory` among the process's
    /// grants that sorts after `previous` (`None`: the first of all).
    /// Nothing is allocated: the grants are walked for each entry.
    fn entry_after(&self, directory: &str, previous: Option<&str>) -> Result<Option<String>> {
        let process = self.process()?;
        let directory = directory.trim_end_matches('/');
        let next = process
            .grants()
            .iter()
            .filter_map(|granted| child_of(granted, directory))
            .filter(|entry| previous.is_none_or(|previous| *entry > previous))
            .min();
        let Some(next) = next else {
            return Ok(None);
        };
        let mut entry = String::new();
        entry
            .try_reserve_exact(next.len())
            .map_err(|_| Status::OUT_OF_MEMORY)?;
        entry.push_str(next);
        Ok(Some(entry))
    }
}

/// The entry directly under `directory` (no trailing `/`; empty for the
/// root) that `granted` lies in, if it lies below it.
fn child_of<'g>(granted: &'g str, directory: &str) -> Option<&'g str> {
    let rest = granted.strip_prefix(directory)?.strip_prefix('/')?;
    rest.split('/').next().filter(|entry| !entry.is_empty())
}

impl INamespaceImpl for View {
    fn register(&self, name: &str, object: &IUnknown, _flags: u32) -> Result<()> {
        let process = self.process()?;
        if !process.may_register(name) {
            return Err(Status::ACCESS_DENIED);
        }
        let own = crate::kernel_calls::endpoint_of(object)
            .is_some_and(|(server, _)| Arc::ptr_eq(&server, &process));
        if own {
            return Err(Status::NOT_SUPPORTED);
        }
        let mut names = process.names.lock();
        names.try_reserve(1).map_err(|_| Status::OUT_OF_MEMORY)?;
        component::namespace()?.register(name, object, flags::FAIL_IF_EXISTS)?;
        names.push(String::from(name));
        Ok(())
    }

    fn unregister(&self, name: &str) -> Result<()> {
        let process = self.process()?;
        if crate::serve::unname_endpoint(&process, name)? {
            return Ok(());
        }
        let mut names = process.names.lock();
        let at = names
            .iter()
            .position(|registered| registered == name)
            .ok_or(Status::ACCESS_DENIED)?;
        component::namespace()?.unregister(name)?;
        names.swap_remove(at);
        Ok(())
    }

    fn bind(&self, name: &str, flags: u32) -> Result<ComPtr<IUnknown>> {
        if !self.process()?.may_bind(name) {
            return Err(Status::ACCESS_DENIED);
        }
        component::namespace()?.bind(name, flags)
    }

    fn find_first(&self, directory: &str, buffer: &mut [u8]) -> Result<usize> {
        copy_entry(self.entry_after(directory, None)?, buffer)
    }

    fn find_next(&self, directory: &str, previous: &str, buffer: &mut [u8]) -> Result<usize> {
        copy_entry(self.entry_after(directory, Some(previous))?, buffer)
    }

    fn capabilities(&self, name: &str) -> Result<u32> {
        let process = self.process()?;
        if process.may_bind(name) {
            return component::namespace()?.capabilities(name);
        }
        if name == "/" || self.entry_after(name, None)?.is_some() {
            return Ok(flags::READ | flags::DIRECTORY);
        }
        Err(Status::NOT_FOUND)
    }
}

/// Writes `entry` into `buffer`: its length; `NO_MORE_ENTRIES` for none,
/// `BUFFER_TOO_SMALL` when it does not fit.
fn copy_entry(entry: Option<String>, buffer: &mut [u8]) -> Result<usize> {
    let entry = entry.ok_or(Status::NO_MORE_ENTRIES)?;
    buffer
        .get_mut(..entry.len())
        .ok_or(Status::BUFFER_TOO_SMALL)?
        .copy_from_slice(entry.as_bytes());
    Ok(entry.len())
}
