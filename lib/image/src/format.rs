//! The byte layout: constants, record sizes and field offsets.
//!
//! Every integer is little-endian. Strings are `(offset, length)` pairs into
//! the string table and hold UTF-8.

/// The first eight bytes of every image.
pub const MAGIC: [u8; 8] = *b"TSRIMAGE";
/// The format version this crate reads and writes (3: a signature section
/// ends the image; 2 added where code and read-only data end).
pub const VERSION: u16 = 3;
/// The last version without a signature section: images up to it are
/// refused as unsigned.
pub const LAST_UNSIGNED_VERSION: u16 = 2;
/// Bytes in the header.
pub const HEADER_SIZE: u16 = 104;
/// `entry`/`can_unload` value meaning "the module has no such function".
pub const NO_FUNCTION: u32 = u32::MAX;
/// The largest module a loader accepts (content + zeroed memory).
pub const MAX_MEMORY_SIZE: u32 = 64 << 20;
/// The largest alignment a module may ask for.
pub const MAX_ALIGN: u32 = 4096;
/// Bytes in a page: a paged image's sections start on multiples of it.
pub const PAGE_SIZE: u32 = 4096;

/// Header flag bits.
pub mod flags {
    /// The image is laid out page by page: its code, its read-only data
    /// and its data each start on a page (`text size` and `read-only end`
    /// are multiples of [`PAGE_SIZE`](super::PAGE_SIZE), the alignment is
    /// a page), so a virtual-memory manager can map each page with its
    /// section's permissions — code never writable, data never executable.
    pub const PAGED: u32 = 1;
    /// Every flag this crate knows; a reader refuses the others.
    pub const KNOWN: u32 = PAGED;
}
/// The most export tables an image may carry (versions of one ABI side by
/// side; the bound keeps the check that their UUIDs differ cheap).
pub const MAX_EXPORT_TABLES: u32 = 64;

/// Bytes per relocation record.
pub const RELOCATION_SIZE: usize = 16;
/// Bytes per import-module record.
pub const IMPORT_MODULE_SIZE: usize = 32;
/// Bytes per import-symbol record.
pub const IMPORT_SYMBOL_SIZE: usize = 12;
/// Bytes per export-table record.
pub const EXPORT_TABLE_SIZE: usize = 24;
/// Bytes per export record.
pub const EXPORT_SIZE: usize = 16;

/// The signature section: the last [`signature::SIZE`] bytes of an image.
/// The signature covers every byte before it, its own magic and key id
/// included.
pub mod signature {
    /// The section's first eight bytes.
    pub const MAGIC: [u8; 8] = *b"TSRSIGN1";
    /// Bytes in the section.
    pub const SIZE: usize = 80;
    /// Offset in the section of the signer's key id.
    pub const KEY_ID: usize = 8;
    /// Bytes in a key id.
    pub const KEY_ID_SIZE: usize = 8;
    /// Offset in the section of the Ed25519 signature.
    pub const SIGNATURE: usize = 16;
    /// Bytes in an Ed25519 signature.
    pub const SIGNATURE_SIZE: usize = 64;
}

/// Header field offsets.
pub mod header {
    /// `u16` format version.
    pub const VERSION: usize = 8;
    /// `u16` header size.
    pub const HEADER_SIZE: usize = 10;
    /// `u32` flags (`flags::*`; any other bit is refused).
    pub const FLAGS: usize = 12;
    /// String: the module's name.
    pub const NAME: usize = 16;
    /// `u32` file offset of the content.
    pub const CONTENT_OFFSET: usize = 24;
    /// `u32` bytes of content.
    pub const CONTENT_SIZE: usize = 28;
    /// `u32` bytes of memory the module occupies (content + zeroed tail).
    pub const MEMORY_SIZE: usize = 32;
    /// `u32` alignment of the module's base address.
    pub const ALIGN: usize = 36;
    /// `u32` offset of the entry point in memory.
    pub const ENTRY: usize = 40;
    /// `u32` offset of the "can unload now" function, or `NO_FUNCTION`.
    pub const CAN_UNLOAD: usize = 44;
    /// Table: relocations (`u32` file offset, `u32` count).
    pub const RELOCATIONS: usize = 48;
    /// Table: import modules.
    pub const IMPORT_MODULES: usize = 56;
    /// Table: import symbols.
    pub const IMPORT_SYMBOLS: usize = 64;
    /// Table: export tables.
    pub const EXPORT_TABLES: usize = 72;
    /// Table: exports.
    pub const EXPORTS: usize = 80;
    /// The string table (`u32` file offset, `u32` size in bytes).
    pub const STRINGS: usize = 88;
    /// `u32` bytes of code at the start of the content (executable, never
    /// written).
    pub const TEXT_SIZE: usize = 96;
    /// `u32` offset where read-only data ends and writable data begins.
    pub const READ_ONLY_END: usize = 100;
}

/// What a relocation does to the bytes at its offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum RelocationKind {
    /// A 64-bit address relative to the module's base: add the base.
    Rebase64 = 1,
    /// A 64-bit slot: store the import's address plus the addend.
    Abs64Import = 2,
    /// An `auipc` + `jalr` pair calling an import: point it at the import.
    CallImport = 3,
    /// An `auipc` forming the high part of an import's PC-relative address.
    PcrelHi20Import = 4,
    /// The I-type instruction completing a `PcrelHi20Import` (`index` names it).
    PcrelLo12IImport = 5,
    /// The S-type instruction completing a `PcrelHi20Import` (`index` names it).
    PcrelLo12SImport = 6,
}

impl RelocationKind {
    /// The kind with code `code`, if any.
    pub fn from_code(code: u8) -> Option<RelocationKind> {
        Some(match code {
            1 => RelocationKind::Rebase64,
            2 => RelocationKind::Abs64Import,
            3 => RelocationKind::CallImport,
            4 => RelocationKind::PcrelHi20Import,
            5 => RelocationKind::PcrelLo12IImport,
            6 => RelocationKind::PcrelLo12SImport,
            _ => return None,
        })
    }

    /// Bytes of content the relocation rewrites.
    pub fn width(self) -> u32 {
        match self {
            RelocationKind::Rebase64 | RelocationKind::Abs64Import | RelocationKind::CallImport => {
                8
            }
            _ => 4,
        }
    }

    /// True when `index` names an import symbol.
    pub fn imports(self) -> bool {
        matches!(
            self,
            RelocationKind::Abs64Import
                | RelocationKind::CallImport
                | RelocationKind::PcrelHi20Import
        )
    }

    /// True when `index` names the `PcrelHi20Import` this one completes.
    pub fn completes_high_part(self) -> bool {
        matches!(
            self,
            RelocationKind::PcrelLo12IImport | RelocationKind::PcrelLo12SImport
        )
    }
}
