//! Reading an image where it lies: validation, lookups and directory iteration.
//!
//! [`RomFs::parse`] checks the header and then every entry, so a parsed
//! image is known to be a well-formed tree. The accessors still go through
//! the same checked decoding (slices via `get`, checked arithmetic): they
//! can return an error but can never panic or read out of bounds.

use core::cmp::Ordering;
use core::fmt;
use core::iter::FusedIterator;
use core::ops::Range;

use crate::error::{Error, Region};
use crate::format::{
    DATA_ALIGN, ENTRY_SIZE, HEADER_SIZE, KIND_DIR, KIND_FILE, MAGIC, ROOT_INDEX, VERSION,
};
use crate::name::{path_segments, validate_name};

/// Reads little-endian fields one after another, in the order the layout
/// tables of `docs/romfs.md` list them.
struct Fields<'b> {
    rest: &'b [u8],
}

impl<'b> Fields<'b> {
    fn new(bytes: &'b [u8]) -> Self {
        Self { rest: bytes }
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.rest.split_first_chunk::<N>()?;
        self.rest = rest;
        Some(*head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.array().map(|[byte]| byte)
    }

    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }
}

/// The header fields that follow the magic and the version.
struct Header {
    total_size: u32,
    table_offset: u32,
    entry_count: u32,
    names_offset: u32,
    names_size: u32,
    data_offset: u32,
    data_size: u32,
}

impl Header {
    /// Reads the header, refusing a wrong magic or version before anything else.
    fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let truncated = Error::Truncated { len: bytes.len() };
        let mut fields = Fields::new(bytes.get(..HEADER_SIZE).ok_or(truncated)?);
        if fields.array() != Some(MAGIC) {
            return Err(Error::BadMagic);
        }
        let version = fields.u32().ok_or(truncated)?;
        if version != VERSION {
            return Err(Error::UnsupportedVersion { found: version });
        }
        let mut next = || fields.u32().ok_or(truncated);
        // Struct fields are evaluated in the order written: the on-disk order.
        Ok(Self {
            total_size: next()?,
            table_offset: next()?,
            entry_count: next()?,
            names_offset: next()?,
            names_size: next()?,
            data_offset: next()?,
            data_size: next()?,
        })
    }
}

/// The byte range `start..end` of the image that a region occupies.
#[derive(Clone, Copy, Debug)]
struct Span {
    start: usize,
    end: usize,
}

impl Span {
    /// Locates `len` bytes at `offset`, which must not start before `floor`
    /// (the end of the previous region) nor end after `limit` (the image size).
    fn locate(
        region: Region,
        offset: u32,
        len: Option<usize>,
        floor: usize,
        limit: usize,
    ) -> Result<Self, Error> {
        let out_of_bounds = Error::RegionOutOfBounds { region };
        let start = usize::try_from(offset).map_err(|_| out_of_bounds)?;
        let end = len
            .and_then(|len| start.checked_add(len))
            .ok_or(out_of_bounds)?;
        if start < floor || end > limit {
            return Err(out_of_bounds);
        }
        Ok(Self { start, end })
    }

    /// The byte range `offset..offset + len`, if it lies wholly inside this span.
    fn range(self, offset: usize, len: usize) -> Option<Range<usize>> {
        let end = offset.checked_add(len)?;
        (offset >= self.start && end <= self.end).then_some(offset..end)
    }
}

/// Where the header says the regions are, once checked against each other.
struct Layout {
    total: usize,
    table: Span,
    names: Span,
    data: Span,
}

impl Layout {
    /// The regions must come in order (header, entries, names, data), must
    /// not overlap, and must end within the declared total size, which in
    /// turn must fit the buffer.
    fn check(header: &Header, available: usize) -> Result<Self, Error> {
        let total = usize::try_from(header.total_size)
            .ok()
            .filter(|total| (HEADER_SIZE..=available).contains(total))
            .ok_or(Error::TotalSizeInvalid {
                declared: header.total_size,
                available,
            })?;
        let table_len = usize::try_from(header.entry_count)
            .ok()
            .and_then(|count| count.checked_mul(ENTRY_SIZE));
        let table = Span::locate(
            Region::EntryTable,
            header.table_offset,
            table_len,
            HEADER_SIZE,
            total,
        )?;
        let names_len = usize::try_from(header.names_size).ok();
        let names = Span::locate(
            Region::Names,
            header.names_offset,
            names_len,
            table.end,
            total,
        )?;
        let data_len = usize::try_from(header.data_size).ok();
        let data = Span::locate(Region::Data, header.data_offset, data_len, names.end, total)?;
        Ok(Self {
            total,
            table,
            names,
            data,
        })
    }
}

/// One entry of the table exactly as stored, before its fields are checked.
struct RawEntry {
    name_offset: u32,
    kind: u8,
    reserved: [u8; 3],
    /// A file's data offset, or a directory's first child index.
    offset_or_first_child: u32,
    /// A file's data length, or a directory's child count.
    len_or_child_count: u32,
}

impl RawEntry {
    fn decode(bytes: &[u8]) -> Option<Self> {
        let mut fields = Fields::new(bytes);
        Some(Self {
            name_offset: fields.u32()?,
            kind: fields.u8()?,
            reserved: fields.array()?,
            offset_or_first_child: fields.u32()?,
            len_or_child_count: fields.u32()?,
        })
    }
}

/// A directory's children: the entries `first..end` of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Children {
    first: u32,
    end: u32,
}

impl Children {
    fn count(self) -> u32 {
        self.end.saturating_sub(self.first)
    }
}

/// What an entry is, with what the kind needs: a file's bytes or a
/// directory's child range.
#[derive(Clone, Copy, Debug)]
enum Body<'a> {
    File(&'a [u8]),
    Dir(Children),
}

/// A parsed, validated romfs image, borrowed from the bytes it was parsed from.
///
/// Cheap to copy: it is a slice and a few offsets.
#[derive(Clone, Copy)]
pub struct RomFs<'a> {
    /// Exactly the declared total size; bytes after it are not part of the image.
    image: &'a [u8],
    entry_count: u32,
    table: Span,
    names: Span,
    data: Span,
    root_children: Children,
}

impl<'a> RomFs<'a> {
    /// Parses and validates the image at the start of `bytes`.
    ///
    /// Checks the header (magic, version, sizes, region placement) and then
    /// every entry: names in bounds, valid UTF-8 and legal; kinds known;
    /// file data in bounds and 8-byte aligned; directory child ranges in
    /// bounds, after their directory, contiguous in breadth-first order and
    /// sorted by name. Bytes past the declared total size are ignored, so
    /// the image may be followed by padding.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let header = Header::decode(bytes)?;
        let layout = Layout::check(&header, bytes.len())?;
        if header.entry_count == 0 {
            return Err(Error::NoRoot);
        }
        let image = bytes.get(..layout.total).ok_or(Error::TotalSizeInvalid {
            declared: header.total_size,
            available: bytes.len(),
        })?;
        let mut fs = Self {
            image,
            entry_count: header.entry_count,
            table: layout.table,
            names: layout.names,
            data: layout.data,
            root_children: Children { first: 0, end: 0 },
        };
        fs.root_children = match fs.node(ROOT_INDEX)?.body {
            Body::Dir(children) => children,
            Body::File(_) => return Err(Error::BadRoot),
        };
        fs.check_tree()?;
        Ok(fs)
    }

    /// The root directory.
    pub fn root(&self) -> Dir<'a> {
        Dir {
            fs: *self,
            name: "",
            children: self.root_children,
        }
    }

    /// Finds the file or directory at `path`: segments separated by `/`,
    /// with an optional leading `/`; `""` and `"/"` are the root. Empty
    /// segments, `.` and `..` are refused.
    pub fn lookup(&self, path: &str) -> Result<Node<'a>, Error> {
        let mut node = self.root_node();
        for segment in path_segments(path) {
            let dir = node.as_dir().ok_or(Error::NotADirectory)?;
            node = dir.child(segment)?;
        }
        Ok(node)
    }

    /// Number of entries in the image, the root included.
    pub fn entry_count(&self) -> u32 {
        self.entry_count
    }

    /// The image's bytes, exactly as long as its header declares.
    pub fn image(&self) -> &'a [u8] {
        self.image
    }

    fn root_node(&self) -> Node<'a> {
        Node {
            fs: *self,
            name: "",
            body: Body::Dir(self.root_children),
        }
    }

    /// Decodes and checks entry `index` on its own (not its place in the tree).
    fn node(&self, index: u32) -> Result<Node<'a>, Error> {
        let raw = self.raw_entry(index)?;
        if raw.reserved != [0; 3] {
            return Err(Error::ReservedNotZero { entry: index });
        }
        let name = self.entry_name(index, raw.name_offset)?;
        let body = match raw.kind {
            KIND_FILE => Body::File(self.file_data(
                index,
                raw.offset_or_first_child,
                raw.len_or_child_count,
            )?),
            KIND_DIR => Body::Dir(self.children(
                index,
                raw.offset_or_first_child,
                raw.len_or_child_count,
            )?),
            kind => return Err(Error::UnknownKind { entry: index, kind }),
        };
        Ok(Node {
            fs: *self,
            name,
            body,
        })
    }

    fn raw_entry(&self, index: u32) -> Result<RawEntry, Error> {
        let out_of_bounds = Error::EntryOutOfBounds { entry: index };
        if index >= self.entry_count {
            return Err(out_of_bounds);
        }
        let offset = usize::try_from(index)
            .ok()
            .and_then(|index| index.checked_mul(ENTRY_SIZE))
            .and_then(|relative| relative.checked_add(self.table.start))
            .ok_or(out_of_bounds)?;
        self.table
            .range(offset, ENTRY_SIZE)
            .and_then(|range| self.image.get(range))
            .and_then(RawEntry::decode)
            .ok_or(out_of_bounds)
    }

    /// The bytes of entry `index`'s name, undecoded (for comparisons).
    fn name_bytes(&self, index: u32) -> Result<&'a [u8], Error> {
        let raw = self.raw_entry(index)?;
        self.stored_name(index, raw.name_offset)
    }

    /// The bytes stored at `offset` of the name table: one length byte,
    /// then that many bytes.
    fn stored_name(&self, index: u32, offset: u32) -> Result<&'a [u8], Error> {
        let out_of_bounds = Error::NameOutOfBounds { entry: index };
        let offset = usize::try_from(offset).map_err(|_| out_of_bounds)?;
        let len = self
            .names
            .range(offset, 1)
            .and_then(|range| self.image.get(range))
            .and_then(|len| len.first().copied())
            .ok_or(out_of_bounds)?;
        offset
            .checked_add(1)
            .and_then(|start| self.names.range(start, usize::from(len)))
            .and_then(|range| self.image.get(range))
            .ok_or(out_of_bounds)
    }

    /// The name stored at `offset` of the name table, as UTF-8. The root's
    /// name is empty; every other name must follow the naming rules.
    fn entry_name(&self, index: u32, offset: u32) -> Result<&'a str, Error> {
        let bytes = self.stored_name(index, offset)?;
        let name = core::str::from_utf8(bytes).map_err(|_| Error::NameNotUtf8 { entry: index })?;
        if index == ROOT_INDEX {
            return if name.is_empty() {
                Ok(name)
            } else {
                Err(Error::BadRoot)
            };
        }
        validate_name(name).map_err(|reason| Error::BadEntryName {
            entry: index,
            reason,
        })?;
        Ok(name)
    }

    fn file_data(&self, index: u32, offset: u32, len: u32) -> Result<&'a [u8], Error> {
        let out_of_bounds = Error::DataOutOfBounds { entry: index };
        let offset = usize::try_from(offset).map_err(|_| out_of_bounds)?;
        let len = usize::try_from(len).map_err(|_| out_of_bounds)?;
        let data = self
            .data
            .range(offset, len)
            .and_then(|range| self.image.get(range))
            .ok_or(out_of_bounds)?;
        // Offsets count from the start of the image, which the kernel places
        // 8-byte aligned: then aligned offsets give aligned files in memory.
        if offset % DATA_ALIGN != 0 {
            return Err(Error::DataMisaligned { entry: index });
        }
        Ok(data)
    }

    /// A directory's child range must lie in the table and after the directory
    /// itself: every step down the tree then moves to a higher index, so no
    /// walk can cycle.
    fn children(&self, index: u32, first: u32, count: u32) -> Result<Children, Error> {
        if first <= index {
            return Err(Error::ChildRangeNotAfterParent { entry: index });
        }
        let end = first
            .checked_add(count)
            .filter(|end| *end <= self.entry_count)
            .ok_or(Error::ChildRangeOutOfBounds { entry: index })?;
        Ok(Children { first, end })
    }

    /// Checks that the entries form one tree in breadth-first order: walking
    /// the table once, each directory's children must be exactly the next
    /// entries that no earlier directory has claimed. With children always
    /// after their parent, every entry but the root then has exactly one
    /// parent, and every entry is reachable from the root.
    fn check_tree(&self) -> Result<(), Error> {
        let mut first_unclaimed = ROOT_INDEX + 1;
        for index in ROOT_INDEX..self.entry_count {
            if index != ROOT_INDEX && index >= first_unclaimed {
                return Err(Error::Unreachable { entry: index });
            }
            if let Body::Dir(children) = self.node(index)?.body {
                if children.first != first_unclaimed {
                    return Err(Error::ChildRangeNotContiguous { entry: index });
                }
                first_unclaimed = children.end;
                self.check_sorted(index, children)?;
            }
        }
        Ok(())
    }

    /// Lookups search children by bisection, which needs them sorted;
    /// strictly ascending also means no two children share a name.
    fn check_sorted(&self, dir: u32, children: Children) -> Result<(), Error> {
        let mut previous: Option<&str> = None;
        for index in children.first..children.end {
            let name = self.node(index)?.name;
            if previous.is_some_and(|previous| previous >= name) {
                return Err(Error::ChildrenUnsorted { entry: dir });
            }
            previous = Some(name);
        }
        Ok(())
    }
}

impl fmt::Debug for RomFs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RomFs")
            .field("size", &self.image.len())
            .field("entry_count", &self.entry_count)
            .finish_non_exhaustive()
    }
}

/// Whether a node is a file or a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A regular file: a name and bytes.
    File,
    /// A directory: a name and children.
    Directory,
}

/// A file or directory of a [`RomFs`].
#[derive(Clone, Copy)]
pub struct Node<'a> {
    fs: RomFs<'a>,
    name: &'a str,
    body: Body<'a>,
}

impl<'a> Node<'a> {
    /// The node's own name (not its path); empty for the root.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// Whether this is a file or a directory.
    pub fn kind(&self) -> NodeKind {
        match self.body {
            Body::File(_) => NodeKind::File,
            Body::Dir(_) => NodeKind::Directory,
        }
    }

    /// Whether this is a regular file.
    pub fn is_file(&self) -> bool {
        self.kind() == NodeKind::File
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.kind() == NodeKind::Directory
    }

    /// A file's contents, borrowed from the image (8-byte aligned relative to
    /// its start). A directory has no contents: its data is empty.
    pub fn data(&self) -> &'a [u8] {
        match self.body {
            Body::File(data) => data,
            Body::Dir(_) => &[],
        }
    }

    /// This node as a directory, or `None` for a file.
    pub fn as_dir(&self) -> Option<Dir<'a>> {
        match self.body {
            Body::Dir(children) => Some(Dir {
                fs: self.fs,
                name: self.name,
                children,
            }),
            Body::File(_) => None,
        }
    }
}

impl fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("name", &self.name)
            .field("kind", &self.kind())
            .field("len", &self.data().len())
            .finish()
    }
}

/// A directory of a [`RomFs`].
#[derive(Clone, Copy)]
pub struct Dir<'a> {
    fs: RomFs<'a>,
    name: &'a str,
    children: Children,
}

impl<'a> Dir<'a> {
    /// The directory's own name; empty for the root.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// Number of files and directories directly inside.
    pub fn child_count(&self) -> u32 {
        self.children.count()
    }

    /// Whether the directory has no children.
    pub fn is_empty(&self) -> bool {
        self.child_count() == 0
    }

    /// The children, in ascending byte order of their names.
    pub fn entries(&self) -> Entries<'a> {
        Entries {
            fs: self.fs,
            next: self.children.first,
            end: self.children.end,
        }
    }

    /// The child called `name` (a single segment, no `/`), found by bisection.
    pub fn child(&self, name: &str) -> Result<Node<'a>, Error> {
        validate_name(name).map_err(Error::InvalidName)?;
        let (mut low, mut high) = (self.children.first, self.children.end);
        while low < high {
            // `low < high`, so neither the difference nor the sum can overflow.
            let middle = low + (high - low) / 2;
            // Comparing the stored bytes orders names as `str` does; only
            // the match is decoded and checked in full.
            match self.fs.name_bytes(middle)?.cmp(name.as_bytes()) {
                Ordering::Less => low = middle + 1,
                Ordering::Greater => high = middle,
                Ordering::Equal => return self.fs.node(middle),
            }
        }
        Err(Error::NotFound)
    }
}

impl fmt::Debug for Dir<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dir")
            .field("name", &self.name)
            .field("child_count", &self.child_count())
            .finish()
    }
}

/// Iterator over a directory's children, in name order; see [`Dir::entries`].
///
/// Yields a `Result` per child so that no access can panic; on an image that
/// [`RomFs::parse`] accepted, every item is `Ok`.
#[derive(Debug, Clone)]
pub struct Entries<'a> {
    fs: RomFs<'a>,
    next: u32,
    end: u32,
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<Node<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        let index = self.next;
        self.next = index.saturating_add(1);
        Some(self.fs.node(index))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let remaining = usize::try_from(self.end.saturating_sub(self.next)).ok();
        (remaining.unwrap_or(0), remaining)
    }
}

impl FusedIterator for Entries<'_> {}
