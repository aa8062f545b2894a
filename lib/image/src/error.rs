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
    /// An image of a format version before signatures (1 or 2).
    Unsigned(u16),
    /// The signature section at the image's end is missing or cut short.
    NoSignatureSection,
    /// A header field is out of range (names the field).
    BadHeader(&'static str),
    /// A table or the content lies (partly) outside the file.
    OutOfBounds(&'static str),
    /// Two parts of the file (the header, the content, a table, the
    /// strings) share bytes.
    Overlap(&'static str, &'static str),
    /// A string is outside the string table, empty or not UTF-8.
    BadString(&'static str, u32),
    /// This string takes the strings' total length past the string table's
    /// size: strings reuse each other's bytes.
    ReusedString(&'static str, u32),
    /// Relocation `index` is invalid: unknown kind, outside the content, or
    /// naming a symbol or partner that does not exist.
    BadRelocation(u32),
    /// The import modules do not share out the import symbols.
    ImportModules(RangeError),
    /// The export tables do not share out the exports.
    ExportTables(RangeError),
    /// Export `index` points outside the module's memory.
    BadExport(u32),
    /// Two export tables share a UUID.
    DuplicateTable(u32),
    /// One table exports the same ordinal twice.
    DuplicateOrdinal(u32),
    /// Export `index` has a lower ordinal than the export before it in its
    /// table.
    UnsortedOrdinal(u32),
}

/// How groups — import modules, export tables — fail to share out their
/// items — import symbols, exports — one range after another, in order,
/// each item in exactly one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeError {
    /// Group `index`'s range runs past the last item.
    PastEnd(u32),
    /// Item `index` belongs to no group.
    Unclaimed(u32),
    /// Item `item` belongs to group `group` and to an earlier group.
    Shared {
        /// The item claimed twice.
        item: u32,
        /// The later of the groups that claim it.
        group: u32,
    },
    /// Group `index` does not start where the group before it ends.
    OutOfOrder(u32),
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::Truncated => write!(f, "truncated image (shorter than its header)"),
            ImageError::BadMagic => write!(f, "not a Tessera image (bad magic)"),
            ImageError::UnsupportedVersion(version) => {
                write!(f, "unsupported image version {version}")
            }
            ImageError::Unsigned(version) => write!(f, "unsigned image, format v{version}"),
            ImageError::NoSignatureSection => {
                write!(f, "the signature section is missing or truncated")
            }
            ImageError::BadHeader(field) => write!(f, "bad header field '{field}'"),
            ImageError::OutOfBounds(what) => {
                write!(f, "truncated or corrupt image: {what} lies past its end")
            }
            ImageError::Overlap(first, second) => write!(f, "{first} and {second} overlap"),
            ImageError::BadString(what, index) => write!(f, "bad string in {what} {index}"),
            ImageError::ReusedString(what, index) => write!(
                f,
                "the string of {what} {index} reuses bytes of another string"
            ),
            ImageError::BadRelocation(index) => write!(
                f,
                "relocation {index} is invalid or points outside the module"
            ),
            ImageError::ImportModules(error) => error.describe(f, "import module", "import symbol"),
            ImageError::ExportTables(error) => error.describe(f, "export table", "export"),
            ImageError::BadExport(index) => write!(f, "export {index} points outside the module"),
            ImageError::DuplicateTable(index) => write!(f, "export table {index} repeats a UUID"),
            ImageError::DuplicateOrdinal(index) => {
                write!(f, "export {index} repeats an ordinal of its table")
            }
            ImageError::UnsortedOrdinal(index) => write!(
                f,
                "export {index} has a lower ordinal than the export before it"
            ),
        }
    }
}

impl RangeError {
    /// Writes the error with the nouns for its groups and items.
    fn describe(self, f: &mut fmt::Formatter<'_>, group: &str, item: &str) -> fmt::Result {
        match self {
            RangeError::PastEnd(index) => {
                write!(f, "{group} {index} claims {item}s past the last one")
            }
            RangeError::Unclaimed(index) => write!(f, "{item} {index} belongs to no {group}"),
            RangeError::Shared {
                item: index,
                group: claimant,
            } => write!(
                f,
                "{item} {index} belongs to {group} {claimant} and to an earlier {group}"
            ),
            RangeError::OutOfOrder(index) => write!(
                f,
                "{group} {index} does not start where the {group} before it ends"
            ),
        }
    }
}

impl core::error::Error for ImageError {}
