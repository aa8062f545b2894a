//! Tessera's component image format: the layout the munger writes and the loader reads, and the `.def` module description.
//!
//! A component image holds one module: its code and data packed back to back
//! (`content`, then `memory_size - content_size` zeroed bytes), the
//! relocations the loader applies, the symbols it imports — by module name,
//! export-table UUID and ordinal — and its export tables, each named by a
//! UUID so several versions of a module's ABI can live side by side. The
//! byte layout is specified in `docs/image-format.md`.
//!
//! - [`Image::parse`] validates every field against its bounds before
//!   anything uses it, in work linear in the image's size; a truncated or
//!   hostile image is an [`ImageError`].
//! - [`signature_section`] finds the signature section that ends every
//!   image (format version 3), after reading only the magic and the
//!   version; checking the signature is the `signing` crate's.
//! - [`ImageBuilder`] writes an image (used by the munger and by tests),
//!   with an empty signature section for a signer to fill.
//! - [`def`] parses the `.def` files that declare a module's exports and imports
//!   (and, typed, the signatures of the kernel's exports).
//!
//! Depends on `com` (for `Guid`); the munger, the loader and xtask use it.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod def;
mod error;
pub mod format;
mod reader;
pub mod riscv;
mod signature;
mod writer;

pub use error::{ImageError, RangeError};
pub use format::{
    HEADER_SIZE, MAGIC, MAX_ALIGN, MAX_EXPORT_TABLES, MAX_MEMORY_SIZE, NO_FUNCTION, PAGE_SIZE,
    RelocationKind, VERSION,
};
pub use reader::{Export, ExportTable, Image, ImportModule, ImportSymbol, Relocation};
pub use signature::{
    SignatureSection, format_version, set_key_id, set_signature, signature_section,
};
pub use writer::{ExportTableSpec, ImageBuilder, ImportModuleSpec};

#[cfg(test)]
mod tests;
