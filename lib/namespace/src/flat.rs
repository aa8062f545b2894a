//! The namespace of a system without demand loading: a list of entries,
//! searched one by one.
//!
//! The minimal kernels register a handful of names and never load one, so
//! the ordered table, its indexes and the bookkeeping of loads
//! ([`crate::Namespace`]) would be most of their namespace's code and buy
//! nothing. This keeps the same `INamespace` contract — validation,
//! replacement, extensions, listings in byte order, capabilities — over an
//! unordered vector.

use alloc::string::String;
use alloc::vec::Vec;

use com::{ComPtr, IUnknown, Result, Status, class, copy_text, try_push};
use interfaces::namespace::flags;
use interfaces::{INamespace, INamespaceImpl};

use crate::common::{default_rights, extension_above, next_child};
use crate::path::{self, rest};

struct Entry {
    name: String,
    object: ComPtr<IUnknown>,
    flags: u32,
    /// Set when the object extends the tree below its name.
    extension: Option<ComPtr<INamespace>>,
}

/// A namespace without demand loading: binding a name nobody registered
/// fails with `NOT_FOUND`.
#[class(INamespace)]
pub struct FlatNamespace {
    entries: sync::Mutex<Vec<Entry>>,
}

impl FlatNamespace {
    /// An empty namespace.
    pub const fn new() -> FlatNamespace {
        FlatNamespace {
            entries: sync::Mutex::new(Vec::new()),
        }
    }
}

impl Default for FlatNamespace {
    fn default() -> FlatNamespace {
        FlatNamespace::new()
    }
}

/// The entry named `name`.
fn find<'a>(entries: &'a [Entry], name: &str) -> Option<&'a Entry> {
    entries.iter().find(|entry| entry.name == name)
}

/// The deepest extension namespace above `name`, and where its part of
/// the path starts.
fn extension_of(entries: &[Entry], name: &str) -> Option<(ComPtr<INamespace>, usize)> {
    extension_above(name, |parent| find(entries, parent)?.extension.clone())
}

/// `text` in a string of its own, or `OUT_OF_MEMORY`.
fn copy(text: &str) -> Result<String> {
    let mut copy = String::new();
    copy.try_reserve_exact(text.len())
        .map_err(|_| Status::OUT_OF_MEMORY)?;
    copy.push_str(text);
    Ok(copy)
}

impl FlatNamespace {
    /// The child of `directory` after `after` (with `None`, its first),
    /// copied into `buffer`; or the extension that owns the directory
    /// lists it.
    fn list(&self, directory: &str, after: Option<&str>, buffer: &mut [u8]) -> Result<usize> {
        let directory = path::validate(directory)?;
        let entries = self.entries.lock();
        let owner = match find(&entries, directory) {
            Some(Entry {
                extension: Some(extension),
                ..
            }) => Some((extension.clone(), directory.len())),
            _ => extension_of(&entries, directory),
        };
        if let Some((extension, at)) = owner {
            drop(entries);
            return match after {
                None => extension.find_first(rest(directory, at), buffer),
                Some(previous) => extension.find_next(rest(directory, at), previous, buffer),
            };
        }
        let names = entries.iter().map(|entry| entry.name.as_str());
        let (any, next) = next_child(names, directory, after);
        if !any && directory != "/" && find(&entries, directory).is_none() {
            return Err(Status::NOT_FOUND);
        }
        copy_text(next.ok_or(Status::NO_MORE_ENTRIES)?, buffer)
    }
}

impl INamespaceImpl for FlatNamespace {
    fn register(&self, name: &str, object: &IUnknown, flags: u32) -> Result<()> {
        let name = path::validate(name)?;
        if name == "/" {
            return Err(Status::INVALID_NAME);
        }
        let extension = match flags & flags::EXTENSION {
            0 => None,
            _ => Some(object.query::<INamespace>()?),
        };
        let mut entries = self.entries.lock();
        if let Some((owner, at)) = extension_of(&entries, name) {
            drop(entries);
            return owner.register(rest(name, at), object, flags);
        }
        let entry = Entry {
            name: copy(name)?,
            object: ComPtr::from_ref(object),
            flags: default_rights(flags),
            extension,
        };
        let replaced = match entries.iter_mut().find(|entry| entry.name == name) {
            Some(_) if flags & flags::FAIL_IF_EXISTS != 0 => return Err(Status::ALREADY_EXISTS),
            Some(existing) => Some(core::mem::replace(existing, entry)),
            None => {
                try_push(&mut entries, entry)?;
                None
            }
        };
        drop(entries);
        // The replaced object is released here, outside the lock.
        drop(replaced);
        Ok(())
    }

    fn unregister(&self, name: &str) -> Result<()> {
        let name = path::validate(name)?;
        let mut entries = self.entries.lock();
        if let Some(index) = entries.iter().position(|entry| entry.name == name) {
            let removed = entries.swap_remove(index);
            drop(entries);
            drop(removed);
            return Ok(());
        }
        let (owner, at) = extension_of(&entries, name).ok_or(Status::NOT_FOUND)?;
        drop(entries);
        owner.unregister(rest(name, at))
    }

    fn bind(&self, name: &str, flags: u32) -> Result<ComPtr<IUnknown>> {
        let name = path::validate(name)?;
        let entries = self.entries.lock();
        if let Some(entry) = find(&entries, name) {
            return Ok(entry.object.clone());
        }
        let (owner, at) = extension_of(&entries, name).ok_or(Status::NOT_FOUND)?;
        drop(entries);
        owner.bind(rest(name, at), flags)
    }

    fn find_first(&self, directory: &str, buffer: &mut [u8]) -> Result<usize> {
        self.list(directory, None, buffer)
    }

    fn find_next(&self, directory: &str, previous: &str, buffer: &mut [u8]) -> Result<usize> {
        self.list(directory, Some(previous), buffer)
    }

    fn capabilities(&self, name: &str) -> Result<u32> {
        let name = path::validate(name)?;
        let entries = self.entries.lock();
        let has_children = entries
            .iter()
            .any(|entry| path::child_below(&entry.name, name).is_some());
        let directory = if has_children || name == "/" {
            flags::DIRECTORY
        } else {
            0
        };
        match find(&entries, name) {
            Some(entry) => {
                let extension = match entry.extension {
                    Some(_) => flags::DIRECTORY,
                    None => 0,
                };
                Ok(entry.flags | directory | extension)
            }
            None if directory != 0 => Ok(flags::READ | directory),
            None => {
                let (owner, at) = extension_of(&entries, name).ok_or(Status::NOT_FOUND)?;
                drop(entries);
                owner.capabilities(rest(name, at))
            }
        }
    }
}
