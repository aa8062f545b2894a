//! `INamespace`: the tree of names through which every object is found.

use com::{ComPtr, IUnknown, Result, interface};

/// Flags of `register`, `bind` and `capabilities`.
pub mod flags {
    /// The caller may read (bind) the entry.
    pub const READ: u32 = 0x1;
    /// The caller may replace or unregister the entry.
    pub const WRITE: u32 = 0x2;
    /// `register`: fail with `ALREADY_EXISTS` instead of replacing an entry.
    pub const FAIL_IF_EXISTS: u32 = 0x20;
    /// The entry is itself an `INamespace` that owns every name below it.
    pub const EXTENSION: u32 = 0x800;
    /// `capabilities`: the name is a directory (it has entries below it).
    pub const DIRECTORY: u32 = 0x1000;
    /// `register`: keep a demand-loaded component cached after its last
    /// outside reference is released.
    pub const KEEP: u32 = 0x2000;
}

/// Longest accepted name, in bytes.
pub const MAX_NAME_LEN: usize = 1024;
/// Longest accepted path segment, in bytes.
pub const MAX_SEGMENT_LEN: usize = 255;

#[interface("67e07512-6945-466c-97a2-e021dc9de1d3")]
/// A hierarchical namespace: paths like `/dev/console` name objects.
///
/// Names are absolute within the namespace they are given to; a namespace
/// registered with [`flags::EXTENSION`] receives the rest of the path below
/// its mount point, again starting with `/`.
pub trait INamespace {
    /// Makes `object` reachable under `name`.
    fn register(&self, name: &str, object: &IUnknown, flags: u32) -> Result<()>;
    /// Removes the entry `name`.
    fn unregister(&self, name: &str) -> Result<()>;
    /// Returns the object named `name`, loading its component on demand.
    fn bind(&self, name: &str, flags: u32) -> Result<ComPtr<IUnknown>>;
    /// Writes the first entry name of `directory` into `buffer`; returns its length.
    fn find_first(&self, directory: &str, buffer: &mut [u8]) -> Result<usize>;
    /// Writes the entry of `directory` after `previous`; returns its length.
    /// Fails with `NO_MORE_ENTRIES` after the last one.
    fn find_next(&self, directory: &str, previous: &str, buffer: &mut [u8]) -> Result<usize>;
    /// Returns the flags of `name` (`READ`, `WRITE`, `EXTENSION`, `DIRECTORY`).
    fn capabilities(&self, name: &str) -> Result<u32>;
}

/// Calls `visit` with the name of each entry directly under `directory`
/// (`find_first`, then `find_next` until `NO_MORE_ENTRIES`), in the
/// namespace's order; stops at the first error, `visit`'s included. The
/// one loop over a listing that every client would otherwise write.
pub fn for_each_name(
    namespace: &INamespace,
    directory: &str,
    mut visit: impl FnMut(&str) -> Result<()>,
) -> Result<()> {
    // `find_next` writes the next name while it reads the one before:
    // two buffers, used in turn.
    let mut buffers = [[0u8; MAX_SEGMENT_LEN], [0u8; MAX_SEGMENT_LEN]];
    let [current, previous] = &mut buffers;
    let mut next = namespace.find_first(directory, current);
    loop {
        let length = match next {
            Ok(length) => length,
            Err(com::Status::NO_MORE_ENTRIES) => return Ok(()),
            Err(status) => return Err(status),
        };
        let name = current
            .get(..length)
            .and_then(|bytes| core::str::from_utf8(bytes).ok())
            .ok_or(com::Status::BAD_STRING)?;
        visit(name)?;
        core::mem::swap(current, previous);
        let name = core::str::from_utf8(previous.get(..length).unwrap_or_default())
            .map_err(|_| com::Status::BAD_STRING)?;
        next = namespace.find_next(directory, name, current);
    }
}
