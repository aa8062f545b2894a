//! A reader of the flattened device tree OpenSBI hands the kernel, just
//! large enough for the platform's questions: one walk over the structure
//! block, in document order, showing each node with its properties.
//!
//! Every read is bounds-checked: a malformed blob is refused or its walk
//! ends early, never a crash. (The `fdt` crate answers the same questions
//! at four times the code, which the minimal kernels count.)

/// The first word of every blob.
const MAGIC: u32 = 0xd00d_feed;
/// Structure-block tokens.
const BEGIN_NODE: u32 = 1;
const END_NODE: u32 = 2;
const PROPERTY: u32 = 3;
const NOP: u32 = 4;
/// Nodes nested deeper than this end the walk (QEMU's tree has 4 levels).
const MAX_DEPTH: usize = 16;
/// `#address-cells` and `#size-cells` where a node does not say.
const DEFAULT_CELLS: Cells = Cells {
    address: 2,
    size: 1,
};

/// The bytes of the header that say what the blob is and its size.
pub const HEADER_START: usize = 8;

/// The size of the blob that starts with `header`, if it is a device tree.
pub fn blob_size(header: &[u8]) -> Option<usize> {
    (word(header, 0)? == MAGIC).then_some(word(header, 4)? as usize)
}

/// A device tree blob in memory.
pub struct DeviceTree<'a> {
    /// The whole blob (`totalsize` bytes).
    blob: &'a [u8],
    /// The structure block.
    structure: &'a [u8],
    /// The strings block (property names).
    strings: &'a [u8],
}

/// How many 32-bit cells an address and a size take in `reg`.
#[derive(Clone, Copy)]
struct Cells {
    address: u32,
    size: u32,
}

/// One node, as the walk shows it.
pub struct Node<'a> {
    /// Its name, unit address included (`memory@80000000`).
    pub name: &'a [u8],
    /// 0 for the root, 1 for its children, ...
    pub depth: usize,
    /// The cells of its parent, which say how its `reg` reads.
    cells: Cells,
    /// Its properties: the tokens between its name and its first child.
    properties: &'a [u8],
    /// The blob's strings block.
    strings: &'a [u8],
}

impl<'a> DeviceTree<'a> {
    /// The tree in `blob`, if its header is sound.
    pub fn parse(blob: &'a [u8]) -> Option<DeviceTree<'a>> {
        let blob = blob.get(..blob_size(blob)?)?;
        let block = |offset: usize, size: usize| {
            let start = word(blob, offset)? as usize;
            blob.get(start..start.checked_add(word(blob, size)? as usize)?)
        };
        Some(DeviceTree {
            blob,
            structure: block(8, 36)?,
            strings: block(12, 32)?,
        })
    }

    /// The blob's size in bytes.
    pub fn total_size(&self) -> usize {
        self.blob.len()
    }

    /// Shows every node to `visit`, parents before their children.
    pub fn walk(&self, mut visit: impl FnMut(&Node<'a>)) {
        let mut cells = [DEFAULT_CELLS; MAX_DEPTH + 1];
        let mut depth = 0;
        let mut at = 0;
        while let Some(token) = word(self.structure, at) {
            at += 4;
            match token {
                BEGIN_NODE => {
                    let Some(node) = cells
                        .get(depth)
                        .and_then(|&parent| self.node_at(at, depth, parent))
                    else {
                        return;
                    };
                    at = aligned(at + node.name.len() + 1) + node.properties.len();
                    visit(&node);
                    depth += 1;
                    let Some(own) = cells.get_mut(depth) else {
                        return;
                    };
                    *own = node.child_cells();
                }
                END_NODE if depth > 0 => depth -= 1,
                NOP => {}
                _ => return,
            }
        }
    }

    /// The node whose name starts at `at` in the structure block.
    fn node_at(&self, at: usize, depth: usize, cells: Cells) -> Option<Node<'a>> {
        let rest = self.structure.get(at..)?;
        let name = rest.get(..rest.iter().position(|&byte| byte == 0)?)?;
        let start = aligned(at + name.len() + 1);
        let mut end = start;
        while let Some(token) = word(self.structure, end) {
            match token {
                NOP => end += 4,
                PROPERTY => end += 12 + aligned(word(self.structure, end + 4)? as usize),
                _ => break,
            }
        }
        Some(Node {
            name,
            depth,
            cells,
            properties: self.structure.get(start..end)?,
            strings: self.strings,
        })
    }
}

impl<'a> Node<'a> {
    /// True when the node's name, without its unit address, is `name`.
    pub fn is(&self, name: &str) -> bool {
        self.name.split(|&byte| byte == b'@').next() == Some(name.as_bytes())
    }

    /// The value of property `name`.
    pub fn property(&self, name: &str) -> Option<&'a [u8]> {
        let mut at = 0;
        while let Some(token) = word(self.properties, at) {
            if token == NOP {
                at += 4;
                continue;
            }
            let length = word(self.properties, at + 4)? as usize;
            let name_at = word(self.properties, at + 8)? as usize;
            let value = self.properties.get(at + 12..at + 12 + length)?;
            let key = self.strings.get(name_at..)?;
            if key.strip_prefix(name.as_bytes()).and_then(<[u8]>::first) == Some(&0) {
                return Some(value);
            }
            at += 12 + aligned(length);
        }
        None
    }

    /// Property `name` as text (its first string).
    pub fn text(&self, name: &str) -> Option<&'a str> {
        let value = self.property(name)?;
        let end = value.iter().position(|&byte| byte == 0)?;
        core::str::from_utf8(value.get(..end)?).ok()
    }

    /// Property `name` as a number of one or two cells.
    pub fn number(&self, name: &str) -> Option<u64> {
        let value = self.property(name)?;
        cells(value, 0, u32::try_from(value.len() / 4).ok()?)
    }

    /// The strings of `compatible`.
    pub fn compatible(&self) -> impl Iterator<Item = &'a [u8]> {
        let list = self.property("compatible").unwrap_or_default();
        list.split(|&byte| byte == 0)
            .filter(|name| !name.is_empty())
    }

    /// The first region of `reg`: its address and size.
    pub fn region(&self) -> Option<(u64, u64)> {
        let reg = self.property("reg")?;
        let Cells { address, size } = self.cells;
        Some((cells(reg, 0, address)?, cells(reg, address, size)?))
    }

    /// The cells its children's `reg` use.
    fn child_cells(&self) -> Cells {
        let own = |name| {
            self.number(name)
                .and_then(|cells| u32::try_from(cells).ok())
        };
        Cells {
            address: own("#address-cells").unwrap_or(DEFAULT_CELLS.address),
            size: own("#size-cells").unwrap_or(DEFAULT_CELLS.size),
        }
    }
}

/// The big-endian word at byte `at` of `bytes`.
pub fn word(bytes: &[u8], at: usize) -> Option<u32> {
    let word = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(word.try_into().ok()?))
}

/// The number in `count` (0 to 2) cells from cell `first` of `value`.
fn cells(value: &[u8], first: u32, count: u32) -> Option<u64> {
    if count > 2 {
        return None;
    }
    (first..first + count).try_fold(0u64, |number, cell| {
        Some(number << 32 | u64::from(word(value, cell as usize * 4)?))
    })
}

/// `offset` rounded up to the structure block's 4-byte alignment.
fn aligned(offset: usize) -> usize {
    offset.next_multiple_of(4)
}
