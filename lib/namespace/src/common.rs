//! What both namespaces do alike: the rights an entry is registered
//! with, the extension that owns a name, and the next child in a listing.

use com::ComPtr;
use interfaces::INamespace;
use interfaces::namespace::flags;

use crate::path;

/// Registration flags with read and write access when none were asked for.
pub fn default_rights(requested: u32) -> u32 {
    let rights = requested & (flags::READ | flags::WRITE);
    let kept = requested & (flags::EXTENSION | flags::KEEP);
    kept | if rights == 0 {
        flags::READ | flags::WRITE
    } else {
        rights
    }
}

/// The deepest extension namespace above `name` — `extension_at` gives
/// the extension registered at a name, if any — and where its part of the
/// path starts.
pub fn extension_above(
    name: &str,
    extension_at: impl Fn(&str) -> Option<ComPtr<INamespace>>,
) -> Option<(ComPtr<INamespace>, usize)> {
    path::ancestors(name).find_map(|(parent, _)| Some((extension_at(parent)?, parent.len())))
}

/// Among the children of `directory` that the registered `names` imply,
/// the first in byte order after `after` (with `None`, the first of all);
/// and whether there is any child at all.
pub fn next_child<'a>(
    names: impl Iterator<Item = &'a str>,
    directory: &str,
    after: Option<&str>,
) -> (bool, Option<&'a str>) {
    let mut any = false;
    let mut next: Option<&str> = None;
    for child in names.filter_map(|name| path::child_below(name, directory)) {
        any = true;
        if after.is_none_or(|after| child > after) && next.is_none_or(|next| child < next) {
            next = Some(child);
        }
    }
    (any, next)
}
