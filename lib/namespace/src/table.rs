//! The namespace's entries: a vector ordered for fast exact lookup.
//!
//! A bind of a registered name is the namespace's hottest path. Measured on
//! the target, comparing names byte by byte from the front cost more than
//! the rest of a bind together: names share long prefixes (`/sys/...`).
//! So entries are ordered by length, then by their bytes read from the
//! end: two names of one directory usually differ in length, or else near
//! their ends. A small index of where each length starts (no heap memory)
//! narrows a lookup to the names of its own length, usually one or two,
//! so a hit costs about one whole-name comparison however many names are
//! registered. Listings, which need names in order, are rare; they scan
//! the table.
//!
//! The table also indexes the directories its names imply: whether a name
//! nobody registered is a directory (and so not something to load) is one
//! binary search.

use alloc::collections::TryReserveError;
use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Ordering;

/// Entries ordered by [`compare`] of their names, and the directories
/// their names imply.
pub struct Table<E> {
    entries: Vec<(String, E)>,
    /// `starts[n]`: how many entries have names shorter than `n` bytes —
    /// where names of `n` bytes begin, for `n` up to [`INDEXED`].
    starts: [u32; INDEXED + 1],
    /// Every proper ancestor of an entry's name but `/`, in byte order,
    /// with how many entries lie below it: whether a name is a directory
    /// is one binary search, not a scan of every entry.
    directories: Vec<(String, usize)>,
}

impl<E> Table<E> {
    /// An empty table.
    pub const fn new() -> Table<E> {
        Table {
            entries: Vec::new(),
            starts: [0; INDEXED + 1],
            directories: Vec::new(),
        }
    }

    /// True when some entry lies below `name` (for `/`: any entry at all).
    pub fn has_children(&self, name: &str) -> bool {
        match name {
            "/" => !self.entries.is_empty(),
            _ => self.directory(name).is_ok(),
        }
    }

    fn directory(&self, name: &str) -> Result<usize, usize> {
        self.directories
            .binary_search_by(|(directory, _)| directory.as_str().cmp(name))
    }

    /// Counts one more entry below each ancestor of `name`. Every block
    /// it needs is taken first, so running out of memory changes nothing.
    fn add_directories(&mut self, name: &str) -> Result<(), TryReserveError> {
        if at_root(name) {
            return Ok(());
        }
        let mut new = Vec::new();
        for (ancestor, _) in crate::path::ancestors(name) {
            if self.directory(ancestor).is_err() {
                new.try_reserve(1)?;
                new.push(copy(ancestor)?);
            }
        }
        self.directories.try_reserve(new.len())?;
        let mut new = new.into_iter();
        for (ancestor, _) in crate::path::ancestors(name) {
            match self.directory(ancestor) {
                Ok(index) => self.directories[index].1 += 1,
                Err(index) => {
                    let directory = new.next().unwrap_or_default();
                    self.directories.insert(index, (directory, 1));
                }
            }
        }
        Ok(())
    }

    /// Counts one entry less below each ancestor of `name`.
    fn remove_directories(&mut self, name: &str) {
        if at_root(name) {
            return;
        }
        for (ancestor, _) in crate::path::ancestors(name) {
            if let Ok(index) = self.directory(ancestor) {
                self.directories[index].1 -= 1;
                if self.directories[index].1 == 0 {
                    self.directories.remove(index);
                }
            }
        }
        shrink(&mut self.directories);
    }

    /// The entry named `name`.
    pub fn get(&self, name: &str) -> Option<&E> {
        let index = self.find(name).ok()?;
        self.entries.get(index).map(|(_, entry)| entry)
    }

    /// True when `name` has an entry.
    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// Sets the entry of `name`; returns the one it replaced. Out of
    /// memory for a new entry leaves the table as it was.
    pub fn insert(&mut self, name: &str, entry: E) -> Result<Option<E>, TryReserveError> {
        match self.find(name) {
            Ok(index) => Ok(self
                .entries
                .get_mut(index)
                .map(|(_, old)| core::mem::replace(old, entry))),
            Err(index) => {
                let key = copy(name)?;
                self.entries.try_reserve(1)?;
                self.add_directories(name)?;
                self.entries.insert(index, (key, entry));
                self.count_length(name.len(), true);
                Ok(None)
            }
        }
    }

    /// Removes the entry of `name`, if any.
    pub fn remove(&mut self, name: &str) -> Option<E> {
        let index = self.find(name).ok()?;
        let (name, entry) = self.entries.remove(index);
        self.count_length(name.len(), false);
        shrink(&mut self.entries);
        self.remove_directories(&name);
        Some(entry)
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &E)> {
        self.entries
            .iter()
            .map(|(name, entry)| (name.as_str(), entry))
    }

    /// Moves where the names longer than `length` begin: one more entry
    /// of that length (`added`) or one less.
    fn count_length(&mut self, length: usize, added: bool) {
        // One wrapping addition per start, of one or of minus one, over
        // just the starts that move: every insert and remove (each demand
        // load and unload) runs this.
        let step = if added { 1 } else { u32::MAX };
        if let Some(later) = self.starts.get_mut(length + 1..) {
            for start in later {
                *start = start.wrapping_add(step);
            }
        }
    }

    /// The entries `name` can be among: those of its length, or every
    /// name past the index.
    fn candidates(&self, name: &str) -> (usize, usize) {
        let start = |length: usize| self.starts.get(length).map_or(0, |&start| start as usize);
        match name.len() {
            length if length < INDEXED => (start(length), start(length + 1)),
            _ => (start(INDEXED), self.entries.len()),
        }
    }

    /// Where `name` is (`Ok`) or would go (`Err`). Stops at the first
    /// match, so the one full comparison of a hit is done once.
    fn find(&self, name: &str) -> Result<usize, usize> {
        let (mut low, mut high) = self.candidates(name);
        while low < high {
            let middle = low + (high - low) / 2;
            let Some((key, _)) = self.entries.get(middle) else {
                break;
            };
            match compare(key.as_bytes(), name.as_bytes()) {
                Ordering::Less => low = middle + 1,
                Ordering::Greater => high = middle,
                Ordering::Equal => return Ok(middle),
            }
        }
        Err(low)
    }
}

/// Name lengths below this have their start in the index; longer names
/// (rare) are searched among all the long ones.
const INDEXED: usize = 32;

/// True for a name directly below `/`, which implies no directory.
fn at_root(name: &str) -> bool {
    name.rfind('/').is_none_or(|slash| slash == 0)
}

/// `text` in a string of its own, or the error when the heap is full.
fn copy(text: &str) -> Result<String, TryReserveError> {
    let mut copy = String::new();
    copy.try_reserve_exact(text.len())?;
    copy.push_str(text);
    Ok(copy)
}

/// Gives memory back the way a vector took it (doubling from 4, or none
/// when empty), so removing what was added returns the heap to where it was.
fn shrink<T>(list: &mut Vec<T>) {
    if list.is_empty() {
        *list = Vec::new();
        return;
    }
    let fitting = list.len().next_power_of_two().max(4);
    if list.capacity() > fitting {
        list.shrink_to(fitting);
    }
}

/// The table's order: shorter names first, then by bytes from the end.
fn compare(a: &[u8], b: &[u8]) -> Ordering {
    if a.len() != b.len() {
        return a.len().cmp(&b.len());
    }
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x != y {
            return x.cmp(y);
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_find_exactly_what_was_inserted() {
        let mut table = Table::new();
        let names: Vec<String> = (0..200)
            .map(|i| alloc::format!("/dir{}/name{i}", i % 7))
            .collect();
        for (i, name) in names.iter().enumerate() {
            assert!(table.insert(name, i).expect("room").is_none());
        }
        for (i, name) in names.iter().enumerate() {
            assert_eq!(table.get(name), Some(&i), "{name}");
        }
        assert_eq!(table.get("/dir0/name"), None);
        let long = "/a/name/longer/than/the/index/covers";
        assert!(long.len() > INDEXED);
        assert!(table.insert(long, 1000).expect("room").is_none());
        assert_eq!(table.get(long), Some(&1000));
        assert_eq!(table.get(&names[199]), Some(&199));
        assert_eq!(table.insert(&names[3], 999).expect("room"), Some(3));
        assert_eq!(table.iter().count(), 201);
        assert_eq!(table.remove(&names[5]), Some(5));
        assert_eq!(table.get(&names[5]), None);
        assert_eq!(table.get(&names[6]), Some(&6));
        assert_eq!(table.remove(long), Some(1000));
        for (i, name) in names.iter().enumerate().filter(|&(i, _)| i != 5) {
            let expected = if i == 3 { 999 } else { i };
            assert_eq!(table.get(name), Some(&expected), "{name}");
        }
    }

    #[test]
    fn the_length_index_follows_every_insert_and_remove() {
        let mut table = Table::new();
        let names = ["/b", "/a", "/ccc", "/dd", "/e", "/ffff"];
        for name in names {
            table.insert(name, ()).expect("room");
        }
        // Lengths 2, 3, 4, 5: 2 names, then 1, 1, 1.
        assert_eq!(table.starts[..7], [0, 0, 0, 3, 4, 5, 6]);
        for name in names {
            assert!(table.contains_key(name), "{name}");
            table.remove(name);
            assert!(!table.contains_key(name), "{name}");
        }
        assert_eq!(table.starts, [0; INDEXED + 1]);
    }

    #[test]
    fn directories_follow_their_entries() {
        let mut table = Table::new();
        assert!(!table.has_children("/"));
        table.insert("/a/b/c", ()).expect("room");
        table.insert("/a/d", ()).expect("room");
        assert!(table.has_children("/") && table.has_children("/a") && table.has_children("/a/b"));
        assert!(
            !table.has_children("/a/b/c")
                && !table.has_children("/a/d")
                && !table.has_children("/b")
        );
        table.remove("/a/b/c");
        assert!(!table.has_children("/a/b") && table.has_children("/a"));
        table.remove("/a/d");
        assert!(!table.has_children("/a") && !table.has_children("/"));
        assert_eq!(table.directories.capacity(), 0);
    }

    #[test]
    fn order_is_total_and_consistent() {
        let names: [&[u8]; 6] = [b"", b"/a", b"/b", b"/ab", b"/ba", b"/sys/heap"];
        for a in names {
            assert_eq!(compare(a, a), Ordering::Equal);
            for b in names {
                assert_eq!(compare(a, b), compare(b, a).reverse());
            }
        }
    }

    #[test]
    fn removing_what_was_added_gives_the_memory_back() {
        let mut table = Table::new();
        for name in ["/d", "/b", "/a", "/c"] {
            table.insert(name, ()).expect("room");
        }
        let capacity = table.entries.capacity();
        table.insert("/e", ()).expect("room");
        assert!(table.entries.capacity() > capacity);
        assert_eq!(table.remove("/e"), Some(()));
        assert_eq!(table.entries.capacity(), capacity);
        assert!(table.contains_key("/c") && !table.contains_key("/e"));
    }
}
