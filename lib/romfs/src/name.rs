//! The rules for names and paths, shared by the reader (names found in an
//! image, paths looked up) and the packer (paths added).

use core::fmt;

use crate::format::MAX_NAME_LEN;

/// Why a name (one path segment) is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    /// The name is empty, e.g. the middle segment of `a//b`.
    Empty,
    /// The name is `.` or `..`; the file system has no relative links.
    DotOrDotDot,
    /// The name is longer than [`MAX_NAME_LEN`](crate::MAX_NAME_LEN) bytes.
    TooLong {
        /// Length of the rejected name in bytes.
        len: usize,
    },
    /// The name contains `/`, which only ever separates segments.
    ContainsSlash,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty name"),
            Self::DotOrDotDot => f.write_str("\".\" and \"..\" are not allowed as names"),
            Self::TooLong { len } => {
                write!(f, "name is {len} bytes, over the {MAX_NAME_LEN}-byte limit")
            }
            Self::ContainsSlash => f.write_str("name contains '/'"),
        }
    }
}

/// Checks one name of a file or directory (not the root, which has none).
pub(crate) fn validate_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        Err(NameError::Empty)
    } else if name == "." || name == ".." {
        Err(NameError::DotOrDotDot)
    } else if name.len() > MAX_NAME_LEN {
        Err(NameError::TooLong { len: name.len() })
    } else if name.contains('/') {
        Err(NameError::ContainsSlash)
    } else {
        Ok(())
    }
}

/// The segments of `path`, unchecked: one leading `/` is optional, and `""`
/// or `"/"` (the root) has no segments at all. Callers validate each segment,
/// so `a//b` or a trailing `/` shows up as an empty segment and is refused.
pub(crate) fn path_segments(path: &str) -> impl Iterator<Item = &str> {
    let relative = path.strip_prefix('/').unwrap_or(path);
    // `"".split('/')` yields one empty segment; the root must yield none.
    (!relative.is_empty())
        .then(|| relative.split('/'))
        .into_iter()
        .flatten()
}
