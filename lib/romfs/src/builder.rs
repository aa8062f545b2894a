//! Packing a tree of files into an image (used at build time by `xtask`).

use alloc::borrow::ToOwned;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::error::Error;
use crate::format::{DATA_ALIGN, ENTRY_SIZE, HEADER_SIZE, KIND_DIR, KIND_FILE, MAGIC, VERSION};
use crate::name::{NameError, path_segments, validate_name};

/// A directory's children by name. `BTreeMap` keeps them in byte order of
/// their names, the order the format requires, so the image is deterministic.
type DirMap = BTreeMap<String, Tree>;

/// A node of the tree being packed.
#[derive(Debug)]
enum Tree {
    File(Vec<u8>),
    Dir(DirMap),
}

/// What an `add_*` call wants to place at the end of its path.
#[derive(Clone, Copy)]
enum Leaf {
    File { len: usize },
    Dir,
}

/// Collects files and directories, then packs them into a romfs image.
///
/// The image is a pure function of the tree: the order of `add_*` calls
/// does not matter. A failed call leaves the builder unchanged.
#[derive(Debug)]
pub struct Builder {
    root: DirMap,
    /// An upper bound on the size of the image `build` would produce now.
    size_bound: u64,
    /// The largest image allowed; every offset must fit the format's `u32`s.
    size_limit: u64,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// An empty tree: just the root directory.
    pub fn new() -> Self {
        Self::with_size_limit(u64::from(u32::MAX))
    }

    /// A builder that refuses to grow past `size_limit` bytes, so tests can
    /// reach the limit without gigabytes of data.
    pub(crate) fn with_size_limit(size_limit: u64) -> Self {
        Self {
            root: DirMap::new(),
            // The data area's start is aligned: up to `DATA_ALIGN - 1` bytes of padding.
            size_bound: widen(HEADER_SIZE + DATA_ALIGN - 1).saturating_add(entry_cost("")),
            size_limit,
        }
    }

    /// Adds a file with a copy of `data` at `path` (`a/b/c` or `/a/b/c`),
    /// creating the directories leading to it.
    ///
    /// Fails on an empty path or segment, `.` or `..`, a name over 255
    /// bytes, a path that already exists, a path through a file, or an
    /// image that would outgrow the format's 32-bit offsets.
    pub fn add_file(&mut self, path: &str, data: &[u8]) -> Result<(), Error> {
        let segments = checked_segments(path)?;
        self.reserve(&segments, Leaf::File { len: data.len() })?;
        attach(&mut self.root, &segments, Tree::File(data.to_vec()))
    }

    /// Adds a directory at `path` and the directories leading to it, like
    /// `mkdir -p`: a directory already there is not an error, a file is.
    pub fn add_dir(&mut self, path: &str) -> Result<(), Error> {
        let segments = checked_segments(path)?;
        self.reserve(&segments, Leaf::Dir)?;
        attach(&mut self.root, &segments, Tree::Dir(DirMap::new()))
    }

    /// Packs the tree into an image that [`RomFs::parse`](crate::RomFs::parse) accepts.
    pub fn build(self) -> Vec<u8> {
        let entries = breadth_first(&self.root);
        let layout = ImageLayout::plan(&entries);
        let mut image = Vec::with_capacity(layout.total);
        layout.write_header(&mut image);
        layout.write_entry_table(&mut image);
        write_names(&mut image, &entries);
        pad_to(&mut image, layout.data_offset);
        layout.write_data(&mut image, &entries);
        pad_to(&mut image, layout.total);
        image
    }

    /// The current upper bound on the image size, for tests of that bound.
    #[cfg(test)]
    pub(crate) fn size_bound(&self) -> u64 {
        self.size_bound
    }

    /// Checks that `leaf` can go at `segments` and that the image still fits
    /// afterwards, then counts its bytes against the size limit. Runs before
    /// any change to the tree, so failures leave the builder as it was.
    fn reserve(&mut self, segments: &[&str], leaf: Leaf) -> Result<(), Error> {
        let cost = added_cost(&self.root, segments, leaf)?;
        self.size_bound = self
            .size_bound
            .checked_add(cost)
            .filter(|bound| *bound <= self.size_limit)
            .ok_or(Error::ImageTooLarge)?;
        Ok(())
    }
}

/// The segments of `path`, each a legal name; there must be at least one.
fn checked_segments(path: &str) -> Result<Vec<&str>, Error> {
    let segments: Vec<&str> = path_segments(path).collect();
    if segments.is_empty() {
        return Err(Error::InvalidName(NameError::Empty));
    }
    for segment in &segments {
        validate_name(segment).map_err(Error::InvalidName)?;
    }
    Ok(segments)
}

/// Walks `segments` without changing anything: returns how many image
/// bytes (at most) placing `leaf` there adds, or why it cannot go there.
fn added_cost(root: &DirMap, segments: &[&str], leaf: Leaf) -> Result<u64, Error> {
    let mut dir = root;
    for (depth, name) in segments.iter().enumerate() {
        let is_last = depth + 1 == segments.len();
        match (dir.get(*name), is_last) {
            (None, _) => {
                let missing = segments.get(depth..).unwrap_or_default();
                return cost_of_new(missing, leaf);
            }
            (Some(Tree::Dir(children)), false) => dir = children,
            (Some(Tree::File(_)), false) => return Err(Error::NotADirectory),
            (Some(Tree::Dir(_)), true) if matches!(leaf, Leaf::Dir) => return Ok(0),
            (Some(_), true) => return Err(Error::AlreadyExists),
        }
    }
    // Only reached for an empty path, which `checked_segments` refuses.
    Err(Error::InvalidName(NameError::Empty))
}

/// Bytes that new entries named `missing` add: directories for all but the
/// last, which is `leaf`. Saturates, so an absurd size fails the limit check.
fn cost_of_new(missing: &[&str], leaf: Leaf) -> Result<u64, Error> {
    let data_cost = match leaf {
        // Each file may be preceded by up to `DATA_ALIGN - 1` bytes of padding.
        // The first file needs none, which pays for the padding after the last.
        Leaf::File { len } => widen(len).saturating_add(widen(DATA_ALIGN - 1)),
        Leaf::Dir => 0,
    };
    missing
        .iter()
        .map(|name| entry_cost(name))
        .try_fold(data_cost, u64::checked_add)
        .ok_or(Error::ImageTooLarge)
}

/// Bytes one entry takes outside the data area: its table slot and its
/// stored name.
fn entry_cost(name: &str) -> u64 {
    widen(ENTRY_SIZE.saturating_add(stored_name_len(name)))
}

/// Places `tree` at `segments`, creating missing directories. `reserve` has
/// already checked the path, so the error arms are not reached in practice;
/// they keep this function total without panicking.
fn attach(dir: &mut DirMap, segments: &[&str], tree: Tree) -> Result<(), Error> {
    match segments {
        [] => Err(Error::InvalidName(NameError::Empty)),
        [name] => match dir.get(*name) {
            None => {
                dir.insert((*name).to_owned(), tree);
                Ok(())
            }
            Some(Tree::Dir(_)) if matches!(tree, Tree::Dir(_)) => Ok(()),
            Some(_) => Err(Error::AlreadyExists),
        },
        [name, rest @ ..] => {
            let child = dir
                .entry((*name).to_owned())
                .or_insert_with(|| Tree::Dir(DirMap::new()));
            match child {
                Tree::Dir(children) => attach(children, rest, tree),
                Tree::File(_) => Err(Error::NotADirectory),
            }
        }
    }
}

/// An entry of the image in the making: a name and either data or children.
#[derive(Clone, Copy)]
struct FlatEntry<'t> {
    name: &'t str,
    node: FlatNode<'t>,
}

#[derive(Clone, Copy)]
enum FlatNode<'t> {
    File(&'t [u8]),
    Dir(&'t DirMap),
}

impl<'t> FlatEntry<'t> {
    fn new(name: &'t str, tree: &'t Tree) -> Self {
        let node = match tree {
            Tree::File(data) => FlatNode::File(data),
            Tree::Dir(children) => FlatNode::Dir(children),
        };
        Self { name, node }
    }
}

/// The tree in breadth-first order, root first: this makes every
/// directory's children a contiguous range after it, as the format requires.
fn breadth_first(root: &DirMap) -> Vec<FlatEntry<'_>> {
    let mut order = vec![FlatEntry {
        name: "",
        node: FlatNode::Dir(root),
    }];
    let mut cursor = 0;
    while let Some(entry) = order.get(cursor).copied() {
        if let FlatNode::Dir(children) = entry.node {
            order.extend(
                children
                    .iter()
                    .map(|(name, tree)| FlatEntry::new(name, tree)),
            );
        }
        cursor += 1;
    }
    order
}

/// Where one entry's name and contents go, as written in its table slot.
struct Placement {
    name_offset: usize,
    kind: u8,
    /// A file's data offset, or a directory's first child index.
    offset_or_first_child: usize,
    /// A file's data length, or a directory's child count.
    len_or_child_count: usize,
}

/// Where everything goes, decided once so that the header, the entry table
/// and the bytes written after them cannot disagree.
///
/// `Builder::reserve` keeps the image within `u32::MAX` bytes, so none of
/// the sums here comes near overflowing; they saturate only so that this
/// code has no panic path at all.
struct ImageLayout {
    placements: Vec<Placement>,
    names_offset: usize,
    names_size: usize,
    data_offset: usize,
    total: usize,
}

impl ImageLayout {
    /// Regions follow each other without gaps, except for alignment padding
    /// before the data area and before each file. Names and data are laid
    /// out in entry order.
    fn plan(entries: &[FlatEntry<'_>]) -> Self {
        let names_offset = HEADER_SIZE.saturating_add(entries.len().saturating_mul(ENTRY_SIZE));
        let names_size = entries.iter().fold(0, |size: usize, entry| {
            size.saturating_add(stored_name_len(entry.name))
        });
        let data_offset = align_up(names_offset.saturating_add(names_size));
        let mut name_offset = names_offset;
        let mut data_end = data_offset;
        // Breadth-first order: the root's children start at entry 1, and each
        // directory's children follow those of the directory before it.
        let mut next_child: usize = 1;
        let placements = entries
            .iter()
            .map(|entry| {
                let placement = match entry.node {
                    FlatNode::File(data) => {
                        let offset = align_up(data_end);
                        data_end = offset.saturating_add(data.len());
                        Placement {
                            name_offset,
                            kind: KIND_FILE,
                            offset_or_first_child: offset,
                            len_or_child_count: data.len(),
                        }
                    }
                    FlatNode::Dir(children) => {
                        let first = next_child;
                        next_child = next_child.saturating_add(children.len());
                        Placement {
                            name_offset,
                            kind: KIND_DIR,
                            offset_or_first_child: first,
                            len_or_child_count: children.len(),
                        }
                    }
                };
                name_offset = name_offset.saturating_add(stored_name_len(entry.name));
                placement
            })
            .collect();
        Self {
            placements,
            names_offset,
            names_size,
            data_offset,
            total: align_up(data_end),
        }
    }

    fn write_header(&self, image: &mut Vec<u8>) {
        image.extend_from_slice(&MAGIC);
        put_u32(image, VERSION);
        put_u32(image, fit_u32(self.total));
        put_u32(image, fit_u32(HEADER_SIZE));
        put_u32(image, fit_u32(self.placements.len()));
        put_u32(image, fit_u32(self.names_offset));
        put_u32(image, fit_u32(self.names_size));
        put_u32(image, fit_u32(self.data_offset));
        put_u32(image, fit_u32(self.total.saturating_sub(self.data_offset)));
    }

    fn write_entry_table(&self, image: &mut Vec<u8>) {
        for placement in &self.placements {
            put_u32(image, fit_u32(placement.name_offset));
            image.push(placement.kind);
            image.extend_from_slice(&[0; 3]);
            put_u32(image, fit_u32(placement.offset_or_first_child));
            put_u32(image, fit_u32(placement.len_or_child_count));
        }
    }

    fn write_data(&self, image: &mut Vec<u8>, entries: &[FlatEntry<'_>]) {
        for (entry, placement) in entries.iter().zip(&self.placements) {
            if let FlatNode::File(data) = entry.node {
                pad_to(image, placement.offset_or_first_child);
                image.extend_from_slice(data);
            }
        }
    }
}

/// Bytes a name takes in the name table: its length byte and its UTF-8.
fn stored_name_len(name: &str) -> usize {
    name.len().saturating_add(1)
}

fn write_names(image: &mut Vec<u8>, entries: &[FlatEntry<'_>]) {
    for entry in entries {
        // Names were validated to at most 255 bytes when they were added.
        image.push(u8::try_from(entry.name.len()).unwrap_or(u8::MAX));
        image.extend_from_slice(entry.name.as_bytes());
    }
}

/// `value` rounded up to the next multiple of [`DATA_ALIGN`] (saturating).
fn align_up(value: usize) -> usize {
    value.saturating_add(DATA_ALIGN - 1) & !(DATA_ALIGN - 1)
}

/// Zero-fills `image` up to `len` bytes.
fn pad_to(image: &mut Vec<u8>, len: usize) {
    image.resize(len.max(image.len()), 0);
}

fn put_u32(image: &mut Vec<u8>, value: u32) {
    image.extend_from_slice(&value.to_le_bytes());
}

/// `value` as an on-disk `u32`. `Builder::reserve` keeps the whole image
/// within `u32::MAX` bytes, so every offset, size and count fits; saturating
/// instead of panicking keeps this total all the same.
fn fit_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// Sizes are counted in `u64` so that the size bound itself cannot overflow.
fn widen(value: usize) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}
