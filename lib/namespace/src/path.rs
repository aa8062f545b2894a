//! Validation and splitting of namespace paths.

use com::{Result, Status};
use interfaces::namespace::{MAX_NAME_LEN, MAX_SEGMENT_LEN};

/// Checks that `name` is an absolute path: `/` alone, or `/`-separated
/// segments that are non-empty, not `.` or `..`, and within the length limits.
pub fn validate(name: &str) -> Result<&str> {
    if name == "/" {
        return Ok(name);
    }
    let bytes = name.as_bytes();
    if bytes.first() != Some(&b'/') || bytes.len() > MAX_NAME_LEN {
        return Err(Status::INVALID_NAME);
    }
    // One pass over the bytes (every bind of a name not registered runs
    // this), without indexing that could panic.
    let mut segments = bytes
        .get(1..)
        .unwrap_or_default()
        .split(|&byte| byte == b'/');
    if segments.all(valid_segment) {
        Ok(name)
    } else {
        Err(Status::INVALID_NAME)
    }
}

fn valid_segment(segment: &[u8]) -> bool {
    !segment.is_empty() && segment != b"." && segment != b".." && segment.len() <= MAX_SEGMENT_LEN
}

/// Splits a validated path at each `/` above it, deepest first:
/// `/a/b/c` gives (`/a/b`, `/c`) then (`/a`, `/b/c`).
pub fn ancestors(name: &str) -> impl Iterator<Item = (&str, &str)> {
    // `/` is one byte in UTF-8 and never inside another character's bytes.
    let slashes = name.bytes().enumerate().skip(1).rev();
    slashes
        .filter(|&(_, byte)| byte == b'/')
        .filter_map(move |(index, _)| name.split_at_checked(index))
}

/// The name of the child of `directory` that `name` lies in or is (`sys`
/// for `/sys/heap` in `/`), if `name` lies below `directory`.
pub fn child_below<'a>(name: &'a str, directory: &str) -> Option<&'a str> {
    let below = match directory {
        "/" => name.strip_prefix('/')?,
        _ => name.strip_prefix(directory)?.strip_prefix('/')?,
    };
    let end = below
        .bytes()
        .position(|byte| byte == b'/')
        .unwrap_or(below.len());
    below.get(..end)
}

/// The part of `name` an extension mounted at `name[..at]` sees.
pub fn rest(name: &str, at: usize) -> &str {
    name.get(at..)
        .filter(|rest| !rest.is_empty())
        .unwrap_or("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    #[test]
    fn accepts_absolute_paths() {
        for name in ["/", "/a", "/dev/console", "/a.b/c-d/e_f"] {
            assert_eq!(validate(name), Ok(name), "{name}");
        }
    }

    #[test]
    fn rejects_malformed_paths() {
        let long_segment = std::format!("/{}", "x".repeat(MAX_SEGMENT_LEN + 1));
        let long_name = "/abcdefgh".repeat(MAX_NAME_LEN / 9 + 1);
        for name in [
            "",
            "a",
            "a/b",
            "//a",
            "/a/",
            "/a//b",
            "/.",
            "/a/..",
            "/../a",
            &long_segment,
            &long_name,
        ] {
            assert_eq!(validate(name), Err(Status::INVALID_NAME), "{name:?}");
        }
    }

    #[test]
    fn ancestors_are_listed_deepest_first() {
        let pairs: Vec<_> = ancestors("/a/b/c").collect();
        assert_eq!(pairs, [("/a/b", "/c"), ("/a", "/b/c")]);
        assert_eq!(ancestors("/a").count(), 0);
    }

    #[test]
    fn children_are_named_by_their_first_segment_below() {
        assert_eq!(child_below("/sys/heap", "/"), Some("sys"));
        assert_eq!(child_below("/sys/heap", "/sys"), Some("heap"));
        assert_eq!(child_below("/sys/a/b", "/sys"), Some("a"));
        assert_eq!(child_below("/sys-log", "/sys"), None);
        assert_eq!(child_below("/sys", "/sys"), None);
        assert_eq!(child_below("/dev/x", "/sys"), None);
    }
}
