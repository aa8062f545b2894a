//! The numbers that define the on-disk format, shared by reader and packer.
//!
//! `docs/romfs.md` describes the same layout in prose; keep the two in step.
//! All multi-byte fields are little-endian. Field order within the header and
//! within an entry is the order in which `reader` reads and `builder` writes
//! them.

/// The eight bytes every romfs image starts with.
pub const MAGIC: [u8; 8] = *b"TSRROMFS";

/// The format version this crate reads and writes. A reader accepts exactly
/// this version: any change to the layout gets a new number.
pub const VERSION: u32 = 1;

/// Alignment, relative to the start of the image, of every file's data.
/// An image placed at an address aligned this much can hand out its files
/// in place as 8-byte aligned buffers.
pub const DATA_ALIGN: usize = 8;

/// Longest name of a file or directory, in bytes of UTF-8. The name table
/// stores each name's length in one byte.
pub const MAX_NAME_LEN: usize = 255;

/// Size of the header: magic (8) and eight `u32` fields.
pub(crate) const HEADER_SIZE: usize = 40;

/// Size of one entry: name offset (4), kind (1), reserved (3), two `u32` words.
pub(crate) const ENTRY_SIZE: usize = 16;

/// Entry kind byte of a regular file.
pub(crate) const KIND_FILE: u8 = 1;

/// Entry kind byte of a directory.
pub(crate) const KIND_DIR: u8 = 2;

/// Index of the root directory in the entry table.
pub(crate) const ROOT_INDEX: u32 = 0;
