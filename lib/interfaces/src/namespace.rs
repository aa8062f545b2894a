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
