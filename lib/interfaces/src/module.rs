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
    /// How many loads have produced a module since boot.
    fn loads_started(&self) -> Result<u64>;
    /// Unloads now every module nothing uses any more (what the next bind
    /// would do anyway), so that what is loaded is what is in use.
    fn collect_idle(&self) -> Result<()>;
    /// The instructions phase `phase` (one of [`load_phases`]) of the last
    /// load that finished took: where a load's time goes.
    fn last_load_cost(&self, phase: u32) -> Result<u64>;
}

/// The phases of a load, in order, as `ILoader::last_load_cost` numbers them.
pub mod load_phases {
    /// Reading the image file into memory.
    pub const READ: u32 = 0;
    /// Validating the image.
    pub const PARSE: u32 = 1;
    /// Copying the module's name and export tables into its record.
    pub const RECORDS: u32 = 2;
    /// Binding the modules it imports from and finding each symbol.
    pub const RESOLVE_IMPORTS: u32 = 3;
    /// Taking the module's block from the heap.
    pub const ALLOCATE: u32 = 4;
    /// Copying the content, applying the relocations, syncing the caches.
    pub const PLACE_AND_RELOCATE: u32 = 5;
    /// Running the entry point, which constructs the module's object.
    pub const CONSTRUCTOR: u32 = 6;
    /// Adding the module to the module list.
    pub const REGISTER: u32 = 7;
    /// How many phases there are.
    pub const COUNT: u32 = 8;
}
