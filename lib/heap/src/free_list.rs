//! The heap's engine in the minimal kernels: a first-fit list of free
//! holes in address order, merged with their neighbours when a block is
//! freed.
//!
//! It does what the full kernel's engine (`linked_list_allocator`) does
//! for [`crate::Heap`], in a fraction of its code: every request the heap
//! makes is a multiple of 16 bytes aligned to at least 16, so every hole
//! is too, and a hole of 16 bytes (its size and the next hole's address)
//! is never too small to record.

use core::alloc::Layout;
use core::ptr::NonNull;

/// The size and alignment of the smallest hole, and the unit of every
/// size and address the list handles.
const UNIT: usize = 16;

/// A free-list engine over one region.
pub struct FreeList {
    /// The region's first byte, as given.
    bottom: *mut u8,
    /// The region's size, as given.
    size: usize,
    /// Bytes in allocated blocks.
    used: usize,
    /// The first hole's address, 0 for none. A hole's first word holds its
    /// size, its second the next hole's address (0 after the last).
    first: usize,
}

// SAFETY: the list owns its region; whoever holds the `FreeList` (behind
// the heap's lock) is the only one using the pointers in it.
unsafe impl Send for FreeList {}

impl FreeList {
    /// An engine with no memory.
    pub const fn empty() -> FreeList {
        FreeList {
            bottom: core::ptr::null_mut(),
            size: 0,
            used: 0,
            first: 0,
        }
    }

    /// Makes the `size` bytes at `bottom` one free hole (less what aligning
    /// its ends to 16 bytes takes).
    ///
    /// # Safety
    /// The region is valid for reads and writes and used by nothing else
    /// for as long as the list lives.
    pub unsafe fn init(&mut self, bottom: *mut u8, size: usize) {
        self.bottom = bottom;
        self.size = size;
        let start = (bottom as usize).next_multiple_of(UNIT);
        let end = (bottom as usize).saturating_add(size) & !(UNIT - 1);
        if end > start {
            // SAFETY: the hole lies inside the region the caller gave us.
            unsafe { self.write_hole(start, end - start, 0) };
            self.first = start;
        }
    }

    /// The region's first byte.
    pub fn bottom(&self) -> *mut u8 {
        self.bottom
    }

    /// The region's size.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Bytes in allocated blocks.
    pub fn used(&self) -> usize {
        self.used
    }

    /// The first hole that holds `layout` (its size a multiple of 16, its
    /// alignment at least 16), split around the block it gives.
    pub fn allocate_first_fit(&mut self, layout: Layout) -> Result<NonNull<u8>, ()> {
        let (size, align) = (layout.size(), layout.align());
        if size == 0 || !size.is_multiple_of(UNIT) || align < UNIT {
            return Err(());
        }
        // `previous` is the hole before `hole`; 0 is the list's head.
        let mut previous = 0;
        let mut hole = self.first;
        while hole != 0 {
            // SAFETY: every address on the list is a hole this list wrote.
            let (hole_size, next) = unsafe { self.read_hole(hole) };
            let start = hole.next_multiple_of(align);
            let before = start - hole;
            if before.saturating_add(size) <= hole_size {
                let after = hole_size - before - size;
                let rest = if after == 0 {
                    next
                } else {
                    // SAFETY: the tail lies inside the hole taken apart.
                    unsafe { self.write_hole(start + size, after, next) };
                    start + size
                };
                if before == 0 {
                    // SAFETY: `previous` is 0 or a hole on the list.
                    unsafe { self.link(previous, rest) };
                } else {
                    // SAFETY: the hole keeps its first `before` bytes.
                    unsafe { self.write_hole(hole, before, rest) };
                }
                self.used += size;
                return NonNull::new(self.bottom.with_addr(start)).ok_or(());
            }
            previous = hole;
            hole = next;
        }
        Err(())
    }

    /// Gives back `block`, allocated with `layout`, merging it with the
    /// holes right before and after it.
    ///
    /// # Safety
    /// `block` came from [`FreeList::allocate_first_fit`] with `layout`,
    /// and was not given back since.
    pub unsafe fn deallocate(&mut self, block: NonNull<u8>, layout: Layout) {
        let (start, size) = (block.as_ptr() as usize, layout.size());
        self.used -= size;
        let mut previous = 0;
        let mut next = self.first;
        while next != 0 && next < start {
            previous = next;
            // SAFETY: every address on the list is a hole this list wrote.
            next = unsafe { self.read_hole(next) }.1;
        }
        let (mut start, mut size) = (start, size);
        let mut after = next;
        if next == start + size {
            // SAFETY: `next` is a hole on the list.
            let (next_size, next_next) = unsafe { self.read_hole(next) };
            size += next_size;
            after = next_next;
        }
        if previous != 0 {
            // SAFETY: `previous` is a hole on the list.
            let previous_size = unsafe { self.read_hole(previous) }.0;
            if previous + previous_size == start {
                start = previous;
                size += previous_size;
            }
        }
        // SAFETY: the merged hole covers the freed block and holes of this
        // list; the block is ours again, by the caller's promise.
        unsafe { self.write_hole(start, size, after) };
        if start != previous {
            // SAFETY: `previous` is 0 or a hole on the list.
            unsafe { self.link(previous, start) };
        }
    }

    /// Points the list's head (`previous` 0) or hole `previous` at `hole`.
    ///
    /// # Safety
    /// `previous` is 0 or a hole on the list.
    unsafe fn link(&mut self, previous: usize, hole: usize) {
        if previous == 0 {
            self.first = hole;
        } else {
            // SAFETY: forwarded from the caller.
            unsafe { self.words(previous).add(1).write(hole) };
        }
    }

    /// The size and next address of the hole at `hole`.
    ///
    /// # Safety
    /// `hole` is a hole this list wrote.
    unsafe fn read_hole(&self, hole: usize) -> (usize, usize) {
        let words = self.words(hole);
        // SAFETY: a hole's first two words are its size and next address.
        unsafe { (words.read(), words.add(1).read()) }
    }

    /// Records a hole of `size` bytes at `hole`, followed by `next`.
    ///
    /// # Safety
    /// The 16 bytes at `hole` lie in the region and belong to no block.
    unsafe fn write_hole(&mut self, hole: usize, size: usize, next: usize) {
        let words = self.words(hole);
        // SAFETY: forwarded from the caller; `hole` is 16-aligned.
        unsafe {
            words.write(size);
            words.add(1).write(next);
        }
    }

    /// The words at address `hole`, with the region's provenance.
    fn words(&self, hole: usize) -> *mut usize {
        self.bottom.with_addr(hole).cast()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::vec::Vec;

    /// A list over a 16-aligned region of `bytes` bytes.
    fn list(region: &mut Vec<u128>, bytes: usize) -> FreeList {
        region.resize(bytes / UNIT, 0);
        let mut list = FreeList::empty();
        // SAFETY: the vector's memory is ours for the test.
        unsafe { list.init(region.as_mut_ptr().cast(), bytes) };
        list
    }

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap_or(Layout::new::<u128>())
    }

    fn holes(list: &FreeList) -> Vec<(usize, usize)> {
        let mut found = Vec::new();
        let mut hole = list.first;
        while hole != 0 {
            // SAFETY: the list's own holes.
            let (size, next) = unsafe { list.read_hole(hole) };
            found.push((hole - list.bottom as usize, size));
            hole = next;
        }
        found
    }

    #[test]
    fn blocks_are_first_fit_and_merge_back_into_one_hole() {
        let mut region = Vec::new();
        let mut list = list(&mut region, 1024);
        assert_eq!((list.size(), list.used()), (1024, 0));
        let a = list.allocate_first_fit(layout(64, 16)).expect("room");
        let b = list.allocate_first_fit(layout(32, 16)).expect("room");
        let c = list.allocate_first_fit(layout(128, 16)).expect("room");
        assert_eq!(list.used(), 224);
        assert_eq!(holes(&list), [(224, 800)]);
        // SAFETY: each block is given back once, with its layout.
        unsafe {
            list.deallocate(b, layout(32, 16));
            assert_eq!(holes(&list), [(64, 32), (224, 800)]);
            let again = list.allocate_first_fit(layout(32, 16)).expect("room");
            assert_eq!(again, b, "the first hole that fits");
            list.deallocate(again, layout(32, 16));
            list.deallocate(a, layout(64, 16));
            assert_eq!(holes(&list), [(0, 96), (224, 800)]);
            list.deallocate(c, layout(128, 16));
        }
        assert_eq!(holes(&list), [(0, 1024)]);
        assert_eq!(list.used(), 0);
    }

    #[test]
    fn alignment_leaves_the_bytes_before_a_block_free() {
        let mut region = Vec::new();
        let mut list = list(&mut region, 4096);
        let bottom = list.bottom() as usize;
        let first = list.allocate_first_fit(layout(16, 16)).expect("room");
        let aligned = list.allocate_first_fit(layout(256, 256)).expect("room");
        assert!((aligned.as_ptr() as usize).is_multiple_of(256));
        let gap = aligned.as_ptr() as usize - bottom;
        assert_eq!(holes(&list).first(), Some(&(16, gap - 16)));
        // SAFETY: each block is given back once, with its layout.
        unsafe {
            list.deallocate(aligned, layout(256, 256));
            list.deallocate(first, layout(16, 16));
        }
        assert_eq!(holes(&list), [(0, 4096)]);
    }

    #[test]
    fn a_request_that_fits_nowhere_fails_and_changes_nothing() {
        let mut region = Vec::new();
        let mut list = list(&mut region, 256);
        assert!(list.allocate_first_fit(layout(512, 16)).is_err());
        assert!(
            list.allocate_first_fit(layout(24, 16)).is_err(),
            "not a unit multiple"
        );
        assert_eq!((holes(&list), list.used()), (Vec::from([(0, 256)]), 0));
        let all = list.allocate_first_fit(layout(256, 16)).expect("room");
        assert!(holes(&list).is_empty());
        assert!(list.allocate_first_fit(layout(16, 16)).is_err());
        // SAFETY: given back once, with its layout.
        unsafe { list.deallocate(all, layout(256, 16)) };
        assert_eq!(holes(&list), [(0, 256)]);
    }
}
