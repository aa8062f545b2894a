//! Why an image was refused.

use core::fmt;

/// A reason an image cannot be loaded. Each names the part that is wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageError {
    /// Shorter than a header.
    Truncated,
    /// The first eight bytes are not `TSRIMAGE`.
    BadMagic,
    /// A version this reader does not know.
    UnsupportedVersion(u16),
    /// A header field is out of range (names the field).
    BadHeader(&'static str),
    /// A table or the content lies (partly) outside the file.
    OutOfBounds(&'static str),
    /// A string is outside the string table, empty or not UTF-8.
    BadString(&'static str, u32),
    /// Relocation `index` is invalid: unknown kind, outside the content, or
    /// naming a symbol or partner that does not exist.
    BadRelocation(u32),
    /// Import module `index` names symbols past the symbol table.
    BadImportModule(u32),
    /// Export table `index` names exports past the export list.
    BadExportTable(u32),
    /// Export `index` points outside the module's memory.
    BadExport(u32),
    /// Two export tables share a UUID.
    DuplicateTable(u32),
    /// One table exports the same ordinal twice.
    DuplicateOrdinal(u32),
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::Truncated => write!(f, "truncated image (shorter than its header)"),
            ImageError::BadMagic => write!(f, "not a Tessera image (bad magic)"),
            ImageError::UnsupportedVersion(version) => {
                write!(f, "unsupported image version {version}")
            }
            ImageError::BadHeader(field) => write!(f, "bad header field '{field}'"),
            ImageError::OutOfBounds(what) => {
                write!(f, "truncated or corrupt image: {what} lies past its end")
            }
            ImageError::BadString(what, index) => write!(f, "bad string in {what} {index}"),
            ImageError::BadRelocation(index) => write!(
                f,
                "relocation {index} is invalid or points outside the module"
            ),
            ImageError::BadImportModule(index) => {
                write!(f, "import module {index} names missing symbols")
            }
            ImageError::BadExportTable(index) => {
                write!(f, "export table {index} names missing exports")
            }
            ImageError::BadExport(index) => write!(f, "export {index} points outside the module"),
            ImageError::DuplicateTable(index) => write!(f, "export table {index} repeats a UUID"),
            ImageError::DuplicateOrdinal(index) => {
                write!(f, "export {index} repeats an ordinal of its table")
            }
        }
    }
}

impl core::error::Error for ImageError {}
