//! Sv39 page tables as plain logic over a store of table frames, for the virtual-memory manager (`components/vmm`).
//!
//! Three levels of 512 eight-byte entries translate a 39-bit virtual
//! address: bits 38..30 index the root table, 29..21 the middle one, 20..12
//! the leaf table, and the low 12 bits are the offset in the 4 KiB page.
//! An entry is a leaf when any of R, W, X is set; a root entry may be a
//! leaf for a whole gibibyte (a gigapage), which is how every space maps
//! the kernel. The tables live in frames the caller owns ([`TableFrames`]);
//! this crate only reads and writes entries, so it tests on the host.

#![no_std]

/// Bytes in a page (and a frame).
pub const PAGE_SIZE: u64 = 4096;
/// Entries in a table.
pub const ENTRIES: usize = 512;
/// Bytes a root entry covers (a gigapage).
pub const GIGAPAGE: u64 = 1 << 30;
/// The end of Sv39's lower half: virtual addresses from 0 up to here.
pub const LOWER_HALF_END: u64 = 1 << 38;

/// One table: 512 entries.
pub type Table = [u64; ENTRIES];

/// The bits of an entry.
pub mod flags {
    /// Valid.
    pub const V: u64 = 1 << 0;
    /// Readable.
    pub const R: u64 = 1 << 1;
    /// Writable.
    pub const W: u64 = 1 << 2;
    /// Executable.
    pub const X: u64 = 1 << 3;
    /// Reachable from U-mode (and then not from S-mode without `SUM`).
    pub const U: u64 = 1 << 4;
    /// Global: in every address space.
    pub const G: u64 = 1 << 5;
    /// Accessed.
    pub const A: u64 = 1 << 6;
    /// Dirty.
    pub const D: u64 = 1 << 7;
    /// Every flag bit.
    pub const ALL: u64 = 0xff;
}

/// Where the frame number sits in an entry.
const PPN_SHIFT: u32 = 10;
/// The frame number's bits, in place.
const PPN_MASK: u64 = ((1 << 44) - 1) << PPN_SHIFT;

/// The frames tables live in, named by physical page number.
pub trait TableFrames {
    /// The table in frame `ppn`; none when the frame is not one of the
    /// store's (an entry that points outside it is never followed).
    fn table(&mut self, ppn: u64) -> Option<&mut Table>;
    /// A new table, all entries zero; none when no frame is left.
    fn allocate_table(&mut self) -> Option<u64>;
    /// Gives back the frame of a table no entry points to any more.
    fn free_table(&mut self, ppn: u64);
}

/// Why a page could not be mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// No frame was left for a table on the way.
    OutOfFrames,
    /// The address is not in the lower half, not page-aligned, or lies
    /// under a gigapage or a table the store does not hold.
    BadAddress,
}

/// An entry pointing at frame `ppn` with `bits` (from [`flags`]).
pub const fn entry(ppn: u64, bits: u64) -> u64 {
    ((ppn << PPN_SHIFT) & PPN_MASK) | (bits & flags::ALL)
}

/// The frame number an entry points at.
pub const fn entry_ppn(entry: u64) -> u64 {
    (entry & PPN_MASK) >> PPN_SHIFT
}

/// True for a valid leaf (R, W or X set).
pub const fn is_leaf(entry: u64) -> bool {
    entry & flags::V != 0 && entry & (flags::R | flags::W | flags::X) != 0
}

/// The index into the table of `level` (2: root, 0: leaf table) for `address`.
pub const fn index(address: u64, level: u32) -> usize {
    ((address >> (12 + 9 * level)) & 0x1ff) as usize
}

/// True when `address` is page-aligned and in the lower half.
pub const fn is_page_in_lower_half(address: u64) -> bool {
    address.is_multiple_of(PAGE_SIZE) && address < LOWER_HALF_END
}

/// The leaf table for `address` under `root`, made on the way when
/// `create`; none when absent (and not made).
fn leaf_table<F: TableFrames>(
    frames: &mut F,
    root: u64,
    address: u64,
    create: bool,
) -> Result<Option<u64>, MapError> {
    let mut table = root;
    for level in [2, 1] {
        let slot = index(address, level);
        let current = frames.table(table).ok_or(MapError::BadAddress)?[slot];
        if is_leaf(current) {
            return Err(MapError::BadAddress);
        }
        table = if current & flags::V != 0 {
            entry_ppn(current)
        } else if create {
            let new = frames.allocate_table().ok_or(MapError::OutOfFrames)?;
            frames.table(table).ok_or(MapError::BadAddress)?[slot] = entry(new, flags::V);
            new
        } else {
            return Ok(None);
        };
    }
    Ok(Some(table))
}

/// Maps the page at `address` to frame `ppn` with `bits` (V is added),
/// making the tables on the way; replaces what was there.
pub fn map<F: TableFrames>(
    frames: &mut F,
    root: u64,
    address: u64,
    ppn: u64,
    bits: u64,
) -> Result<(), MapError> {
    if !is_page_in_lower_half(address) {
        return Err(MapError::BadAddress);
    }
    let leaf = leaf_table(frames, root, address, true)?.ok_or(MapError::BadAddress)?;
    frames.table(leaf).ok_or(MapError::BadAddress)?[index(address, 0)] =
        entry(ppn, bits | flags::V);
    Ok(())
}

/// The leaf entry for the page at `address` (a 4 KiB page's, or the
/// gigapage's that covers it); none when nothing maps it.
pub fn lookup<F: TableFrames>(frames: &mut F, root: u64, address: u64) -> Option<u64> {
    if address >= LOWER_HALF_END {
        return None;
    }
    let top = *frames.table(root)?.get(index(address, 2))?;
    if is_leaf(top) {
        return Some(top);
    }
    let leaf = leaf_table(frames, root, address, false).ok()??;
    let found = frames.table(leaf)?[index(address, 0)];
    is_leaf(found).then_some(found)
}

/// Removes the mapping of the page at `address`; the entry it had.
pub fn unmap<F: TableFrames>(frames: &mut F, root: u64, address: u64) -> Option<u64> {
    if !is_page_in_lower_half(address) {
        return None;
    }
    let leaf = leaf_table(frames, root, address, false).ok()??;
    let slot = &mut frames.table(leaf)?[index(address, 0)];
    let old = core::mem::take(slot);
    is_leaf(old).then_some(old)
}

/// Maps the gibibyte at `address` (aligned) to the same physical
/// addresses with `bits`, as one root entry (how every space maps the
/// kernel's RAM and devices).
pub fn map_identity_gigapage<F: TableFrames>(
    frames: &mut F,
    root: u64,
    address: u64,
    bits: u64,
) -> Result<(), MapError> {
    if !address.is_multiple_of(GIGAPAGE) || address >= LOWER_HALF_END {
        return Err(MapError::BadAddress);
    }
    let table = frames.table(root).ok_or(MapError::BadAddress)?;
    table[index(address, 2)] = entry(address / PAGE_SIZE, bits | flags::V);
    Ok(())
}

/// Frees every table under the root entries that cover `[start, end)`
/// (whole gibibytes, aligned) and clears those entries; leaves are not
/// followed (their frames are the caller's to free first). Gigapages in
/// the range are cleared too.
pub fn free_tables<F: TableFrames>(frames: &mut F, root: u64, start: u64, end: u64) {
    let first = index(start, 2);
    let last = index(end.min(LOWER_HALF_END) - 1, 2);
    for slot in first..=last {
        let Some(top) = frames
            .table(root)
            .and_then(|table| table.get_mut(slot).map(core::mem::take))
        else {
            return;
        };
        if top & flags::V == 0 || is_leaf(top) {
            continue;
        }
        let middle = entry_ppn(top);
        for child in 0..ENTRIES {
            let Some(next) = frames.table(middle).map(|table| table[child]) else {
                break;
            };
            if next & flags::V != 0 && !is_leaf(next) {
                frames.free_table(entry_ppn(next));
            }
        }
        frames.free_table(middle);
    }
}

/// Frees the tables under `[start, end)` that map nothing any more (after
/// pages there were unmapped), so an emptied range holds no frames.
pub fn prune<F: TableFrames>(frames: &mut F, root: u64, start: u64, end: u64) {
    let end = end.min(LOWER_HALF_END);
    if start >= end {
        return;
    }
    for top_slot in index(start, 2)..=index(end - 1, 2) {
        // Read through `get`: a bound check that can fail brings a panic
        // path into every component using this.
        let Some(top) = frames
            .table(root)
            .and_then(|table| table.get(top_slot).copied())
        else {
            return;
        };
        if top & flags::V == 0 || is_leaf(top) {
            continue;
        }
        let middle = entry_ppn(top);
        let mut middle_empty = true;
        for slot in 0..ENTRIES {
            let Some(next) = frames.table(middle).map(|table| table[slot]) else {
                return;
            };
            if next & flags::V == 0 {
                continue;
            }
            let leaf = entry_ppn(next);
            let leaf_empty = is_leaf(next)
                || frames
                    .table(leaf)
                    .is_some_and(|table| table.iter().all(|&entry| entry & flags::V == 0));
            if leaf_empty && !is_leaf(next) {
                frames.free_table(leaf);
                if let Some(table) = frames.table(middle) {
                    table[slot] = 0;
                }
            } else {
                middle_empty = false;
            }
        }
        if middle_empty {
            frames.free_table(middle);
            if let Some(entry) = frames.table(root).and_then(|table| table.get_mut(top_slot)) {
                *entry = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::boxed::Box;
    use std::vec::Vec;

    use super::*;

    /// Tables in boxes, named by a fake frame number from 100 up.
    #[derive(Default)]
    struct Boxes {
        tables: Vec<Option<Box<Table>>>,
        limit: usize,
    }

    impl Boxes {
        fn with_limit(limit: usize) -> Boxes {
            Boxes {
                tables: Vec::new(),
                limit,
            }
        }
        fn live(&self) -> usize {
            self.tables.iter().filter(|table| table.is_some()).count()
        }
    }

    impl TableFrames for Boxes {
        fn table(&mut self, ppn: u64) -> Option<&mut Table> {
            self.tables
                .get_mut(usize::try_from(ppn.checked_sub(100)?).ok()?)?
                .as_deref_mut()
        }
        fn allocate_table(&mut self) -> Option<u64> {
            if self.live() >= self.limit {
                return None;
            }
            self.tables.push(Some(Box::new([0; ENTRIES])));
            Some(100 + self.tables.len() as u64 - 1)
        }
        fn free_table(&mut self, ppn: u64) {
            let slot = &mut self.tables[usize::try_from(ppn - 100).expect("a frame of the store")];
            assert!(slot.take().is_some(), "a table freed twice");
        }
    }

    fn store_with_root(limit: usize) -> (Boxes, u64) {
        let mut frames = Boxes::with_limit(limit);
        let root = frames.allocate_table().expect("room for the root");
        (frames, root)
    }

    const USER: u64 = 4 * GIGAPAGE;

    #[test]
    fn a_mapped_page_is_found_with_its_flags_and_removed() {
        let (mut frames, root) = store_with_root(16);
        let bits = flags::R | flags::W | flags::U;
        map(&mut frames, root, USER + 0x3000, 77, bits).expect("room to map");
        let found = lookup(&mut frames, root, USER + 0x3000).expect("mapped");
        assert_eq!(entry_ppn(found), 77);
        assert_eq!(found & flags::ALL, bits | flags::V);
        assert_eq!(lookup(&mut frames, root, USER + 0x4000), None);
        assert_eq!(lookup(&mut frames, root, USER + 0x2000), None);
        assert_eq!(unmap(&mut frames, root, USER + 0x3000), Some(found));
        assert_eq!(lookup(&mut frames, root, USER + 0x3000), None);
        assert_eq!(unmap(&mut frames, root, USER + 0x3000), None);
    }

    #[test]
    fn neighbouring_pages_share_tables_and_distant_ones_do_not() {
        let (mut frames, root) = store_with_root(16);
        map(&mut frames, root, USER, 1, flags::R).expect("room to map");
        map(&mut frames, root, USER + PAGE_SIZE, 2, flags::R).expect("room to map");
        assert_eq!(frames.live(), 3, "root, one middle, one leaf table");
        map(&mut frames, root, USER + GIGAPAGE, 3, flags::R).expect("room to map");
        assert_eq!(frames.live(), 5);
    }

    #[test]
    fn running_out_of_table_frames_is_an_error_not_a_half_mapping() {
        let (mut frames, root) = store_with_root(2);
        assert_eq!(
            map(&mut frames, root, USER, 1, flags::R),
            Err(MapError::OutOfFrames)
        );
        assert_eq!(lookup(&mut frames, root, USER), None);
    }

    #[test]
    fn bad_addresses_are_refused() {
        let (mut frames, root) = store_with_root(8);
        for address in [USER + 1, LOWER_HALF_END, !0xfff_u64] {
            assert_eq!(
                map(&mut frames, root, address, 1, flags::R),
                Err(MapError::BadAddress)
            );
        }
        map_identity_gigapage(
            &mut frames,
            root,
            2 * GIGAPAGE,
            flags::R | flags::W | flags::G,
        )
        .expect("room to map");
        assert_eq!(
            map(&mut frames, root, 2 * GIGAPAGE + PAGE_SIZE, 1, flags::R),
            Err(MapError::BadAddress),
            "a page under a gigapage"
        );
    }

    #[test]
    fn a_gigapage_maps_its_range_to_itself() {
        let (mut frames, root) = store_with_root(8);
        map_identity_gigapage(&mut frames, root, 2 * GIGAPAGE, flags::R | flags::W)
            .expect("room to map");
        let found = lookup(&mut frames, root, 2 * GIGAPAGE + 0x1234_5000).expect("mapped");
        assert_eq!(entry_ppn(found), 2 * GIGAPAGE / PAGE_SIZE);
        assert_eq!(
            map_identity_gigapage(&mut frames, root, GIGAPAGE + PAGE_SIZE, flags::R),
            Err(MapError::BadAddress)
        );
    }

    #[test]
    fn pruning_frees_only_tables_that_map_nothing() {
        let (mut frames, root) = store_with_root(32);
        for page in 0..600 {
            map(&mut frames, root, USER + page * PAGE_SIZE, page, flags::R).expect("room to map");
        }
        assert_eq!(frames.live(), 1 + 1 + 2);
        for page in 0..512 {
            unmap(&mut frames, root, USER + page * PAGE_SIZE);
        }
        prune(&mut frames, root, USER, USER + 600 * PAGE_SIZE);
        assert_eq!(frames.live(), 1 + 1 + 1, "the emptied leaf table went");
        assert!(lookup(&mut frames, root, USER + 599 * PAGE_SIZE).is_some());
        for page in 512..600 {
            unmap(&mut frames, root, USER + page * PAGE_SIZE);
        }
        prune(&mut frames, root, USER, USER + 600 * PAGE_SIZE);
        assert_eq!(frames.live(), 1, "only the root is left");
        map(&mut frames, root, USER, 1, flags::R).expect("room to map");
        assert_eq!(lookup(&mut frames, root, USER).map(entry_ppn), Some(1));
    }

    #[test]
    fn freeing_a_range_returns_every_table_under_it_and_keeps_the_rest() {
        let (mut frames, root) = store_with_root(32);
        map_identity_gigapage(&mut frames, root, 2 * GIGAPAGE, flags::R).expect("room to map");
        for page in 0..1000 {
            map(&mut frames, root, USER + page * PAGE_SIZE, page, flags::R).expect("room to map");
        }
        map(&mut frames, root, USER + 3 * GIGAPAGE, 5, flags::R).expect("room to map");
        assert_eq!(frames.live(), 1 + 1 + 2 + 2);
        free_tables(&mut frames, root, USER, LOWER_HALF_END);
        assert_eq!(frames.live(), 1, "only the root is left");
        assert_eq!(lookup(&mut frames, root, USER), None);
        assert!(lookup(&mut frames, root, 2 * GIGAPAGE).is_some());
    }
}
