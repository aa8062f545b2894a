//! The allocator over one region of memory.

use core::ptr::{self, NonNull};

use com::{Result, Status};
use interfaces::HeapStatus;

use crate::block::{self, HEADER_SIZE, Placement};

/// A heap over one region, owned by one user at a time.
pub struct Heap {
    engine: linked_list_allocator::Heap,
    max_used: usize,
}

impl Heap {
    /// A heap with no memory; every allocation fails until [`Heap::init`].
    pub const fn empty() -> Heap {
        Heap {
            engine: linked_list_allocator::Heap::empty(),
            max_used: 0,
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
        let raw = self
            .engine
            .allocate_first_fit(placement.layout)
            .map_err(|()| Status::OUT_OF_MEMORY)?;
        // SAFETY: the engine returned `layout.size()` bytes, which cover the
        // offset (header included) and the block.
        let block = unsafe { raw.add(placement.offset) };
        let words = block::encode(
            self.engine.bottom() as usize,
            block.as_ptr() as usize,
            size,
            align,
        );
        // SAFETY: the header lies inside the allocation just obtained, 16
        // bytes below a block aligned to at least 16.
        unsafe { header(block).write(words) };
        self.max_used = self.max_used.max(self.engine.used());
        Ok(block)
    }

    /// Frees `block`.
    ///
    /// # Safety
    /// The 16 bytes below `block`, if `block` lies inside the heap, were not
    /// forged to look like a live block's header: a stray or stale pointer
    /// is refused, a deliberately forged header is not detected.
    pub unsafe fn free(&mut self, block: *mut u8) -> Result<()> {
        let (block, placement) = self.live_block(block)?;
        // Clearing the tag first is what refuses a second free of the block.
        // SAFETY: `live_block` checked the header lies inside the heap.
        unsafe { header(block).write([0, 0]) };
        // SAFETY: the block and its placement come from a live header, so
        // this is the allocation `alloc` made with this layout.
        unsafe {
            self.engine
                .deallocate(block.sub(placement.offset), placement.layout)
        };
        Ok(())
    }

    /// Resizes `block` to `size` bytes aligned to `align`, moving it when
    /// needed. On failure the old block is untouched.
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
        let old_size = self.size_of(block)?;
        let new = self.alloc(size, align)?;
        // SAFETY: both blocks are live and distinct, and each holds at least
        // the bytes copied.
        unsafe { ptr::copy_nonoverlapping(block, new.as_ptr(), old_size.min(size)) };
        // SAFETY: `block` was validated above and the caller vouches for its header.
        unsafe { self.free(block) }?;
        Ok(new)
    }

    /// The size `block` was allocated with.
    pub fn size_of(&self, block: *mut u8) -> Result<usize> {
        let (_, placement) = self.live_block(block)?;
        Ok(placement.layout.size() - placement.offset)
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
            used: self.engine.used() as u64,
            max_used: self.max_used as u64,
        }
    }

    /// True when `address` lies inside the heap's region.
    pub fn contains(&self, address: *const u8) -> bool {
        let start = self.engine.bottom() as usize;
        (start..start + self.engine.size()).contains(&(address as usize))
    }

    /// The block at `block` and its placement, after checking it is live.
    fn live_block(&self, block: *mut u8) -> Result<(NonNull<u8>, Placement)> {
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
        Ok((block, placement))
    }
}

/// The header words below `block`.
///
/// # Safety
/// `block` is at least `HEADER_SIZE` bytes above the start of the heap's region.
unsafe fn header(block: NonNull<u8>) -> NonNull<[u64; 2]> {
    // SAFETY: the caller keeps the subtraction inside the region.
    unsafe { block.sub(HEADER_SIZE) }.cast()
}
