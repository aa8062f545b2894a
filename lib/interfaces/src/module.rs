//! `IModule` and `ILoader`: loaded components as the system sees them.

use com::{ComPtr, Guid, IUnknown, Result, interface};

#[interface("f24986ba-a3cd-44f8-891a-e40340c9c463")]
/// A loaded module: where it lives, what it exports, who holds it.
pub trait IModule {
    /// Writes the module's name into `buffer`; returns its length.
    fn name(&self, buffer: &mut [u8]) -> Result<usize>;
    /// Writes where the image was loaded from (`/boot/hello`).
    fn location(&self, buffer: &mut [u8]) -> Result<usize>;
    /// Writes the arguments the module was loaded with (often empty).
    fn arguments(&self, buffer: &mut [u8]) -> Result<usize>;
    /// The address the module was placed at.
    fn base_address(&self) -> Result<u64>;
    /// The bytes the module occupies.
    fn size(&self) -> Result<u64>;
    /// The address of the module's entry point.
    fn entry_point(&self) -> Result<u64>;
    /// References to the module's object, the namespace's included.
    fn references(&self) -> Result<u32>;
    /// The object the module's entry point made.
    fn object(&self) -> Result<ComPtr<IUnknown>>;
    /// The address of export `name` of export table `table` (the nil UUID:
    /// any table). `NOT_SUPPORTED` when the module has no such table,
    /// `NOT_FOUND` when the table has no such export.
    fn export_by_name(&self, table: &Guid, name: &str) -> Result<u64>;
    /// The address of export `ordinal` of export table `table` (the nil
    /// UUID: any table, in order).
    fn export_by_ordinal(&self, table: &Guid, ordinal: u32) -> Result<u64>;
}

/// Flags of `ILoader::load_image`.
pub mod load_flags {
    /// Keep calls to other modules going through import slots (a stub per
    /// import) instead of short-cutting them into direct calls.
    pub const INDIRECT_CALLS: u32 = 0x1;
}

#[interface("3a1dcd82-309f-4ced-a5b0-77263eabfc66")]
/// The loader, for loads that do not go through a cached name.
pub trait ILoader {
    /// Loads the image at `path` as a new, separately relocated instance;
    /// it is unloaded when the returned module and its object are released.
    /// `flags` are [`load_flags`].
    fn load_image(&self, path: &str, arguments: &str, flags: u32) -> Result<ComPtr<IModule>>;
}
