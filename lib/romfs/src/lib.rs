//! Tessera's boot image file system: a small, versioned, read-only file system format that is embedded in the kernel image and mounted at `/boot`.
//!
//! Depends on nothing but `core` (the reader, [`RomFs`], needs no allocator)
//! and `alloc` (the packer, [`Builder`]). Used by the kernel's `/boot` file
//! system objects, which read the image in place, and by `xtask`, which packs
//! the boot image at build time.
//!
//! The on-disk layout is specified in `docs/romfs.md`. In short: a 40-byte
//! header, a table of fixed-size entries in breadth-first order (entry 0 is
//! the root directory; a directory's children are a contiguous, name-sorted
//! range of later entries), a table of length-prefixed names, and the file
//! data, each file 8-byte aligned so that component images can be used where
//! they lie.
//!
//! [`RomFs::parse`] validates the whole image once, so a corrupt or hostile
//! image is rejected with an [`Error`] up front; every later access checks
//! its bounds again and never panics.
//!
//! ```
//! let mut builder = romfs::Builder::new();
//! builder.add_file("bin/shell", b"\x7fELF...")?;
//! builder.add_file("motd", b"hello")?;
//! let image = builder.build();
//!
//! let fs = romfs::RomFs::parse(&image)?;
//! assert_eq!(fs.lookup("/motd")?.data(), b"hello");
//! let names: Vec<&str> = fs
//!     .root()
//!     .entries()
//!     .map(|node| node.map(|node| node.name()))
//!     .collect::<Result<_, _>>()?;
//! assert_eq!(names, ["bin", "motd"]);
//! # Ok::<(), romfs::Error>(())
//! ```

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod builder;
mod error;
mod format;
mod name;
mod reader;

pub use builder::Builder;
pub use error::{Error, Region};
pub use format::{DATA_ALIGN, MAGIC, MAX_NAME_LEN, VERSION};
pub use name::NameError;
pub use reader::{Dir, Entries, Node, NodeKind, RomFs};

#[cfg(test)]
mod tests;
