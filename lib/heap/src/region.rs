//! The allocator over one region of memory.

use core::alloc::Layout;
use core::ptr::{self, NonNull};

use com::{Result, Status};
use interfaces::HeapStatus;

use crate::block::{self, HEADER_SIZE, Placement};

/// The engine: `linked_list_allocator` in the full kernel, this crate's
/// smaller free list in the minimal kernels (see `Cargo.toml`).
#[cfg(feature = "linked-list-engine")]
type Engine = linked_list_allocator::Heap;
#[cfg(not(feature = "linked-list-engine"))]
type Engine = crate::free_list::FreeList;

/// Small blocks are kept for reuse in classes of this many bytes of
/// engine memory (header included) ...
const CLASS_STEP: usize = 16;
/// ... up to this many classes: blocks of at most 256 bytes. Without the
/// `size-classes` feature there are none: nothing is kept, and the keeping
/// code compiles away.
const CLASSES: usize = if cfg!(feature = "size-classes") {
    16
} else {
    0
};
/// At most this many freed blocks are kept per class.
const CLASS_DEPTH: u8 = 8;

/// A heap over one region, owned by one user at a time.
///
/// Freeing a small block (at most 256 bytes, default alignment) keeps it
/// on a list of its size class, and allocating one of that class takes it
/// back from there: a few instructions instead of a walk of the engine's
/// free list. Kept blocks count as free in [`Heap::status`]; when the
/// engine has no room, they are given back to it first.
pub struct Heap {
    engine: Engine,
    max_used: usize,
    /// Per class, the first kept block (its address; 0: none). Each kept
    /// block's first word holds the next one's.
    kept: [usize; CLASSES],
    /// How many blocks each class keeps.
    kept_count: [u8; CLASSES],
    /// Engine bytes held by kept blocks.
    kept_bytes: usize,
}

impl Heap {
    /// A heap with no memory; every allocation fails until [`Heap::init`].
    pub const fn empty() -> Heap {
        Heap {
            engine: Engine::empty(),
            max_used: 0,
            kept: [0; CLASSES],
            kept_count: [0; CLASSES],
            kept_bytes: 0,
        }
    }

    /// Gives the heap the `size` bytes at `start`.
    ///
    /// # Safety
    /// The region is valid for reads and writes, is used by nothing else for
    /// as long as the heap lives, and the heap was empty.
    pub unsafe fn init(&mut self, start: *mut u8, size: usize) {
        // SAFETY: the caller hands the region over exclusively.
        unsafe { self.engine.init(start, size) };
    }

    /// Allocates `size` bytes aligned to `align` (0 = [`crate::DEFAULT_ALIGN`]).
    pub fn alloc(&mut self, size: usize, align: usize) -> Result<NonNull<u8>> {
        let placement = Placement::new(size, align)?;
        let block = match self.take_kept(placement) {
            Some(block) => block,
            None => {
                let raw = self.engine_alloc(placement)?;
                // SAFETY: the engine returned `layout.size()` bytes, which
                // cover the offset (header included) and the block.
                unsafe { raw.add(placement.offset) }
            }
        };
        self.write_header(block, size, align);
        self.max_used = self.max_used.max(self.used());
        Ok(block)
    }

    /// Engine memory for `placement`; with none free, the kept blocks go
    /// back to the engine and it is asked again.
    fn engine_alloc(&mut self, placement: Placement) -> Result<NonNull<u8>> {
        if let Ok(raw) = self.engine.allocate_first_fit(placement.layout) {
            return Ok(raw);
        }
        self.release_kept();
        self.engine
            .allocate_first_fit(placement.layout)
            .map_err(|()| Status::OUT_OF_MEMORY)
    }

    /// A kept block of `placement`'s class, if there is one.
    fn take_kept(&mut self, placement: Placement) -> Option<NonNull<u8>> {
        let class = class_of(placement)?;
        let block = NonNull::new(self.kept[class] as *mut u8)?;
        // SAFETY: kept blocks are blocks of this heap that nobody uses; the
        // first word of each holds the next one's address.
        self.kept[class] = unsafe { block.cast::<usize>().read() };
        self.kept_count[class] -= 1;
        self.kept_bytes -= placement.layout.size();
        Some(block)
    }

    /// Keeps the freed `block` of `placement` for reuse; false when its
    /// class is full or it has none.
    fn keep(&mut self, block: NonNull<u8>, placement: Placement) -> bool {
        let Some(class) = class_of(placement) else {
            return false;
        };
        if self.kept_count[class] >= CLASS_DEPTH {
            return false;
        }
        // SAFETY: the block is freed, at least 16 bytes and 16-aligned: its
        // first word is ours to link it with.
        unsafe { block.cast::<usize>().write(self.kept[class]) };
        self.kept[class] = block.as_ptr() as usize;
        self.kept_count[class] += 1;
        self.kept_bytes += placement.layout.size();
        true
    }

    /// Gives every kept block back to the engine.
    #[cfg_attr(
        not(feature = "size-classes"),
        allow(
            clippy::reversed_empty_ranges,
            reason = "no classes: nothing to give back"
        )
    )]
    fn release_kept(&mut self) {
        for class in 0..CLASSES {
            let placement = Placement::of_class(class);
            while let Some(block) = self.take_kept(placement) {
                // SAFETY: a kept block is an allocation of its class's
                // layout that nobody uses.
                unsafe {
                    self.engine
                        .deallocate(block.sub(placement.offset), placement.layout)
                };
            }
        }
    }

    /// Bytes in use: the engine's, less what kept blocks hold.
    fn used(&self) -> usize {
        self.engine.used() - self.kept_bytes
    }

    /// Writes the header of `block`, a block of the engine's of `size`
    /// bytes aligned to `align`.
    fn write_header(&mut self, block: NonNull<u8>, size: usize, align: usize) {
        let words = block::encode(
            self.engine.bottom() as usize,
            block.as_ptr() as usize,
            size,
            align,
        );
        // SAFETY: every block the engine hands out has 16 bytes of header
        // room below it, inside the allocation, and is aligned to at least
        // 16.
        unsafe { header(block).write(words) };
    }

    /// Frees `block`.
    ///
    /// # Safety
    /// The 16 bytes below `block`, if `block` lies inside the heap, were not
    /// forged to look like a live block's header: a stray or stale pointer
    /// is refused, a deliberately forged header is not detected.
    pub unsafe fn free(&mut self, block: *mut u8) -> Result<()> {
        let (block, placement, _) = self.live_block(block)?;
        self.release(block, placement);
        Ok(())
    }

    /// Frees `block`, which [`Heap::live_block`] found live and placed as
    /// `placement`.
    fn release(&mut self, block: NonNull<u8>, placement: Placement) {
        // Clearing the tag first is what refuses a second free of the block.
        // SAFETY: `live_block` checked the header lies inside the heap.
        unsafe { header(block).write([0, 0]) };
        if !self.keep(block, placement) {
            // SAFETY: the block and its placement come from a live header,
            // so this is the allocation `alloc` made with this layout.
            unsafe {
                self.engine
                    .deallocate(block.sub(placement.offset), placement.layout)
            };
        }
    }

    /// Resizes `block` to `size` bytes aligned to `align`, in place when it
    /// shrinks (with the `shrink-in-place` feature), else moving it. On failure the old block is untouched.
    ///
    /// # Safety
    /// As for [`Heap::free`].
    pub unsafe fn realloc(
        &mut self,
        block: *mut u8,
        size: usize,
        align: usize,
    ) -> Result<NonNull<u8>> {
        if block.is_null() {
            return self.alloc(size, align);
        }
        let (live, old, old_size) = self.live_block(block)?;
        let new = Placement::new(size, align)?;
        if cfg!(feature = "shrink-in-place")
            && new.offset == old.offset
            && new.layout.align() == old.layout.align()
            && new.layout.size() <= old.layout.size()
        {
            self.shrink_in_place(live, old, new, size, align);
            return Ok(live);
        }
        let moved = self.alloc(size, align)?;
        // SAFETY: both blocks are live and distinct, and each holds at least
        // the bytes copied.
        unsafe { ptr::copy_nonoverlapping(block, moved.as_ptr(), old_size.min(size)) };
        // The old block, found live above, goes without a second check.
        self.release(live, old);
        Ok(moved)
    }

    /// Makes the live `block`, placed as `old`, a block of `size` bytes
    /// aligned to `align`, placed as `new` at the same offset in no more
    /// engine memory: the engine takes the rest back as a block of its own.
    /// No search for room and no copy — a vector giving back the room it
    /// doubled to (the namespace's names, after an unload) pays only the
    /// engine's insertion of the tail.
    fn shrink_in_place(
        &mut self,
        block: NonNull<u8>,
        old: Placement,
        new: Placement,
        size: usize,
        align: usize,
    ) {
        self.write_header(block, size, align);
        let tail = old.layout.size() - new.layout.size();
        if tail == 0 {
            return;
        }
        // Engine sizes are multiples of 16 (`Placement`), so the tail is
        // 16-aligned and at least 16 bytes: a block the engine can hold.
        let Ok(layout) = Layout::from_size_align(tail, crate::DEFAULT_ALIGN) else {
            return;
        };
        // SAFETY: the tail is the end of the engine allocation `old.layout`
        // made for `block`, which nothing uses from now on.
        unsafe {
            let end = block.sub(old.offset).add(new.layout.size());
            self.engine.deallocate(end, layout);
        }
    }

    /// The size `block` was allocated with.
    pub fn size_of(&self, block: *mut u8) -> Result<usize> {
        let (_, _, size) = self.live_block(block)?;
        Ok(size)
    }

    /// True when `block` is a live block of this heap.
    pub fn validate(&self, block: *mut u8) -> bool {
        self.live_block(block).is_ok()
    }

    /// The heap's figures. All memory is committed: nothing is paged.
    pub fn status(&self) -> HeapStatus {
        let reserved = self.engine.size() as u64;
        HeapStatus {
            reserved,
            committed: reserved,
            used: self.used() as u64,
            max_used: self.max_used as u64,
        }
    }

    /// True when `address` lies inside the heap's region.
    pub fn contains(&self, address: *const u8) -> bool {
        let start = self.engine.bottom() as usize;
        (start..start + self.engine.size()).contains(&(address as usize))
    }

    /// The block at `block`, its placement and its size, after checking it
    /// is live.
    fn live_block(&self, block: *mut u8) -> Result<(NonNull<u8>, Placement, usize)> {
        let address = block as usize;
        let bottom = self.engine.bottom() as usize;
        let top = bottom + self.engine.size();
        // Blocks are 16-aligned and have a header below them in the region.
        if !address.is_multiple_of(16) || address < bottom + HEADER_SIZE || address >= top {
            return Err(Status::INVALID_ARGUMENT);
        }
        let block = NonNull::new(block).ok_or(Status::INVALID_ARGUMENT)?;
        // SAFETY: the header lies inside the heap's region (checked above),
        // which the heap owns; it is read whatever it holds, then checked.
        let words = unsafe { header(block).read() };
        let (size, align) =
            block::decode(bottom, address, words).ok_or(Status::INVALID_ARGUMENT)?;
        let placement = Placement::new(size, align).map_err(|_| Status::INVALID_ARGUMENT)?;
        // A header whose block would not fit in the region is not ours.
        if address - placement.offset < bottom || top - address < size {
            return Err(Status::INVALID_ARGUMENT);
        }
        Ok((block, placement, size))
    }
}

/// The size class of blocks placed as `placement`, if small enough to keep.
#[cfg_attr(
    not(feature = "size-classes"),
    allow(
        clippy::absurd_extreme_comparisons,
        reason = "no classes: nothing is kept"
    )
)]
fn class_of(placement: Placement) -> Option<usize> {
    let size = placement.layout.size();
    let class = (size / CLASS_STEP).checked_sub(2)?;
    let fits = placement.offset == HEADER_SIZE
        && placement.layout.align() == crate::DEFAULT_ALIGN
        && size.is_multiple_of(CLASS_STEP);
    (fits && class < CLASSES).then_some(class)
}

/// The header words below `block`.
///
/// # Safety
/// `block` is at least `HEADER_SIZE` bytes above the start of the heap's region.
unsafe fn header(block: NonNull<u8>) -> NonNull<[u64; 2]> {
    // SAFETY: the caller keeps the subtraction inside the region.
    unsafe { block.sub(HEADER_SIZE) }.cast()
}
