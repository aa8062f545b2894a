//! Everything that can go wrong reading, looking up or packing an image.

use core::fmt;

use crate::format::{HEADER_SIZE, VERSION};
use crate::name::NameError;

/// One of the three regions the header locates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// The table of fixed-size entries.
    EntryTable,
    /// The table of length-prefixed names.
    Names,
    /// The file data.
    Data,
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::EntryTable => "entry table",
            Self::Names => "name table",
            Self::Data => "data area",
        })
    }
}

/// An error from parsing an image, looking a path up in it, or packing one.
///
/// Entry numbers are indices into the image's entry table (0 is the root).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The buffer is shorter than the header.
    Truncated {
        /// Length of the buffer in bytes.
        len: usize,
    },
    /// The image does not start with [`MAGIC`](crate::MAGIC).
    BadMagic,
    /// The image has a format version this reader does not know.
    UnsupportedVersion {
        /// The version found in the header.
        found: u32,
    },
    /// The header's total size is smaller than the header or larger than the buffer.
    TotalSizeInvalid {
        /// The total size the header declares.
        declared: u32,
        /// The length of the buffer.
        available: usize,
    },
    /// A region lies outside the image or overlaps the one before it.
    RegionOutOfBounds {
        /// The offending region.
        region: Region,
    },
    /// The entry table is empty, so there is no root directory.
    NoRoot,
    /// Entry 0 is not a directory with an empty name.
    BadRoot,
    /// An entry index lies outside the entry table.
    EntryOutOfBounds {
        /// The index.
        entry: u32,
    },
    /// An entry's name lies outside the name table.
    NameOutOfBounds {
        /// The entry.
        entry: u32,
    },
    /// An entry's name is not valid UTF-8.
    NameNotUtf8 {
        /// The entry.
        entry: u32,
    },
    /// An entry's name breaks the naming rules.
    BadEntryName {
        /// The entry.
        entry: u32,
        /// The rule it breaks.
        reason: NameError,
    },
    /// An entry's kind byte is neither file nor directory.
    UnknownKind {
        /// The entry.
        entry: u32,
        /// The kind byte found.
        kind: u8,
    },
    /// An entry's reserved bytes are not zero.
    ReservedNotZero {
        /// The entry.
        entry: u32,
    },
    /// A file's data lies outside the data area.
    DataOutOfBounds {
        /// The entry.
        entry: u32,
    },
    /// A file's data does not start on an 8-byte boundary of the image.
    DataMisaligned {
        /// The entry.
        entry: u32,
    },
    /// A directory's child range runs past the end of the entry table.
    ChildRangeOutOfBounds {
        /// The directory entry.
        entry: u32,
    },
    /// A directory's children do not all come after it, which could form a cycle.
    ChildRangeNotAfterParent {
        /// The directory entry.
        entry: u32,
    },
    /// A directory's children do not directly follow the previous directory's,
    /// so some entry would have two parents or none.
    ChildRangeNotContiguous {
        /// The directory entry.
        entry: u32,
    },
    /// An entry belongs to no directory.
    Unreachable {
        /// The entry.
        entry: u32,
    },
    /// A directory's children are not in strictly ascending byte order of
    /// their names (which also rules out duplicates).
    ChildrenUnsorted {
        /// The directory entry.
        entry: u32,
    },
    /// No file or directory has this path.
    NotFound,
    /// A path goes through a file as if it were a directory.
    NotADirectory,
    /// A path has a segment that breaks the naming rules.
    InvalidName(NameError),
    /// The packer already has something at this path.
    AlreadyExists,
    /// The packed image would not fit the format's 32-bit offsets.
    ImageTooLarge,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("romfs: ")?;
        match self {
            Self::Truncated { len } => {
                write!(
                    f,
                    "image is {len} bytes, shorter than its {HEADER_SIZE}-byte header"
                )
            }
            Self::BadMagic => f.write_str("bad magic, not a romfs image"),
            Self::UnsupportedVersion { found } => write!(
                f,
                "format version {found} is not supported (this reader knows version {VERSION})"
            ),
            Self::TotalSizeInvalid {
                declared,
                available,
            } => write!(
                f,
                "header declares a total size of {declared} bytes, \
                 which does not fit a {available}-byte buffer"
            ),
            Self::RegionOutOfBounds { region } => write!(f, "{region} out of bounds"),
            Self::NoRoot => f.write_str("entry table is empty, there is no root directory"),
            Self::BadRoot => f.write_str("entry 0 is not a directory with an empty name"),
            Self::EntryOutOfBounds { entry } => write!(f, "entry {entry} out of bounds"),
            Self::NameOutOfBounds { entry } => write!(f, "entry {entry} name out of bounds"),
            Self::NameNotUtf8 { entry } => write!(f, "entry {entry} name is not valid UTF-8"),
            Self::BadEntryName { entry, reason } => {
                write!(f, "entry {entry} has an invalid name: {reason}")
            }
            Self::UnknownKind { entry, kind } => {
                write!(f, "entry {entry} has unknown kind {kind}")
            }
            Self::ReservedNotZero { entry } => {
                write!(f, "entry {entry} reserved bytes are not zero")
            }
            Self::DataOutOfBounds { entry } => write!(f, "entry {entry} data out of bounds"),
            Self::DataMisaligned { entry } => {
                write!(f, "entry {entry} data is not 8-byte aligned")
            }
            Self::ChildRangeOutOfBounds { entry } => {
                write!(f, "entry {entry} child range out of bounds")
            }
            Self::ChildRangeNotAfterParent { entry } => write!(
                f,
                "entry {entry} child range does not come after the directory (possible cycle)"
            ),
            Self::ChildRangeNotContiguous { entry } => write!(
                f,
                "entry {entry} child range does not follow the previous directory's children"
            ),
            Self::Unreachable { entry } => write!(f, "entry {entry} belongs to no directory"),
            Self::ChildrenUnsorted { entry } => write!(
                f,
                "entry {entry} children are not in strictly ascending name order"
            ),
            Self::NotFound => f.write_str("no such file or directory"),
            Self::NotADirectory => f.write_str("a path component is a file, not a directory"),
            Self::InvalidName(reason) => write!(f, "invalid path: {reason}"),
            Self::AlreadyExists => f.write_str("path already exists"),
            Self::ImageTooLarge => f.write_str("image would exceed the format's 4 GiB limit"),
        }
    }
}

impl core::error::Error for Error {}
