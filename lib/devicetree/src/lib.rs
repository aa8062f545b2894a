//! A small reader of the flattened device tree the firmware hands the kernel: one bounds-checked walk over its nodes.
//!
//! Just large enough for the kernel's questions (RAM, timebase, the
//! harts' ISA, devices by `compatible`): one walk over the structure
//! block, in document order, showing each node with its properties.
//! Every read is bounds-checked: a malformed blob is refused or its walk
//! ends early, never a crash. (The `fdt` crate answers the same questions
//! at four times the code, which the minimal kernels count.) Depends on
//! nothing; the kernel's machine layer uses it.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

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

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::cast_possible_truncation,
        reason = "tests, on blobs of a few hundred bytes"
    )]

    use super::*;

    /// Builds blobs the way a firmware lays them out.
    #[derive(Default)]
    struct Blob {
        structure: Vec<u8>,
        strings: Vec<u8>,
    }

    impl Blob {
        fn token(&mut self, token: u32) -> &mut Self {
            self.structure.extend_from_slice(&token.to_be_bytes());
            self
        }

        fn begin(&mut self, name: &str) -> &mut Self {
            self.token(BEGIN_NODE);
            self.structure.extend_from_slice(name.as_bytes());
            self.structure.push(0);
            self.pad()
        }

        fn end(&mut self) -> &mut Self {
            self.token(END_NODE)
        }

        fn property(&mut self, name: &str, value: &[u8]) -> &mut Self {
            let offset = self.strings.len() as u32;
            self.strings.extend_from_slice(name.as_bytes());
            self.strings.push(0);
            self.token(PROPERTY).token(value.len() as u32).token(offset);
            self.structure.extend_from_slice(value);
            self.pad()
        }

        fn cells(&mut self, name: &str, cells: &[u32]) -> &mut Self {
            let value: Vec<u8> = cells.iter().flat_map(|cell| cell.to_be_bytes()).collect();
            self.property(name, &value)
        }

        fn pad(&mut self) -> &mut Self {
            while !self.structure.len().is_multiple_of(4) {
                self.structure.push(0);
            }
            self
        }

        /// The blob: a 40-byte header, the structure block, the strings.
        fn build(&mut self) -> Vec<u8> {
            self.token(9);
            let structure_at = 40u32;
            let strings_at = structure_at + self.structure.len() as u32;
            let total = strings_at + self.strings.len() as u32;
            let mut blob = Vec::new();
            for word in [
                MAGIC,
                total,
                structure_at,
                strings_at,
                0,
                17,
                16,
                0,
                self.strings.len() as u32,
                self.structure.len() as u32,
            ] {
                blob.extend_from_slice(&word.to_be_bytes());
            }
            blob.extend_from_slice(&self.structure);
            blob.extend_from_slice(&self.strings);
            blob
        }
    }

    /// A board like QEMU's `virt`, in small.
    fn board() -> Vec<u8> {
        let mut blob = Blob::default();
        blob.begin("")
            .cells("#address-cells", &[2])
            .cells("#size-cells", &[2])
            .begin("memory@80000000")
            .cells("reg", &[0, 0x8000_0000, 0, 0x0800_0000])
            .end()
            .begin("cpus")
            .cells("timebase-frequency", &[10_000_000])
            .begin("cpu@0")
            .property("riscv,isa", b"rv64imafdc_sstc\0")
            .end()
            .end()
            .begin("soc")
            .cells("#address-cells", &[1])
            .cells("#size-cells", &[1])
            .begin("serial@10000000")
            .property("compatible", b"ns16550a\0other\0")
            .cells("reg", &[0x1000_0000, 0x100])
            .cells("interrupts", &[10])
            .end()
            .end()
            .end();
        blob.build()
    }

    /// `(depth, name)` of every node the walk shows.
    fn walked(blob: &[u8]) -> Vec<(usize, String)> {
        let mut nodes = Vec::new();
        DeviceTree::parse(blob).unwrap().walk(|node| {
            nodes.push((node.depth, String::from_utf8_lossy(node.name).into_owned()));
        });
        nodes
    }

    #[test]
    fn the_walk_shows_every_node_in_document_order() {
        let nodes = walked(&board());
        let expected = [
            (0, ""),
            (1, "memory@80000000"),
            (1, "cpus"),
            (2, "cpu@0"),
            (1, "soc"),
            (2, "serial@10000000"),
        ];
        let expected: Vec<(usize, String)> = expected
            .iter()
            .map(|&(depth, name)| (depth, name.into()))
            .collect();
        assert_eq!(nodes, expected);
    }

    #[test]
    fn properties_read_with_their_parents_cells() {
        let blob = board();
        let tree = DeviceTree::parse(&blob).unwrap();
        assert_eq!(tree.total_size(), blob.len());
        let mut seen = 0;
        tree.walk(|node| {
            if node.is("memory") {
                assert_eq!(node.region(), Some((0x8000_0000, 0x0800_0000)));
                seen += 1;
            } else if node.is("cpus") {
                assert_eq!(node.number("timebase-frequency"), Some(10_000_000));
                assert_eq!(node.property("missing"), None);
                seen += 1;
            } else if node.is("cpu") {
                assert_eq!(node.text("riscv,isa"), Some("rv64imafdc_sstc"));
                seen += 1;
            } else if node.is("serial") {
                let compatible: Vec<&[u8]> = node.compatible().collect();
                assert_eq!(compatible, [&b"ns16550a"[..], b"other"]);
                assert_eq!(node.region(), Some((0x1000_0000, 0x100)));
                assert_eq!(word(node.property("interrupts").unwrap(), 0), Some(10));
                seen += 1;
            }
        });
        assert_eq!(seen, 4);
    }

    #[test]
    fn a_blob_without_the_magic_or_cut_short_is_refused() {
        let mut blob = board();
        assert!(DeviceTree::parse(&blob[..blob.len() - 1]).is_none());
        assert!(DeviceTree::parse(&blob[..3]).is_none());
        blob[0] ^= 1;
        assert!(blob_size(&blob).is_none());
        assert!(DeviceTree::parse(&blob).is_none());
    }

    #[test]
    fn a_property_running_past_the_block_ends_the_walk_cleanly() {
        let mut blob = Blob::default();
        blob.begin("").begin("a").end();
        // A property that claims more bytes than the block holds.
        blob.token(PROPERTY).token(0xffff).token(0);
        let blob = blob.begin("b").end().end().build();
        let nodes = walked(&blob);
        assert_eq!(nodes.first(), Some(&(0, String::new())));
        assert!(nodes.len() <= 2, "{nodes:?}");
    }

    #[test]
    fn nesting_deeper_than_the_limit_ends_the_walk() {
        let mut blob = Blob::default();
        for _ in 0..MAX_DEPTH + 4 {
            blob.begin("n");
        }
        for _ in 0..MAX_DEPTH + 4 {
            blob.end();
        }
        let nodes = walked(&blob.build());
        assert_eq!(nodes.len(), MAX_DEPTH + 1);
    }

    #[test]
    fn a_string_property_without_its_terminator_is_no_text() {
        let mut blob = Blob::default();
        blob.begin("").property("model", b"virt").end();
        let blob = blob.build();
        DeviceTree::parse(&blob)
            .unwrap()
            .walk(|node| assert_eq!(node.text("model"), None));
    }
}
