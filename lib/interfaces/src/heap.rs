//! `IHeap`: memory allocation by pointer, as components see it.

use com::{Record, Result, interface};

/// Figures of a heap, in bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Record)]
pub struct HeapStatus {
    /// Address space set aside for the heap.
    pub reserved: u64,
    /// Memory backing the heap now.
    pub committed: u64,
    /// Bytes in live blocks, with their bookkeeping.
    pub used: u64,
    /// The highest `used` has been.
    pub max_used: u64,
}

#[interface("4f7b66f1-bf00-4049-a9bb-c5cfa0586050")]
/// A heap: blocks are freed, sized and validated by pointer alone.
pub trait IHeap {
    /// Allocates `size` bytes aligned to `align` (a power of two; 0 = default).
    fn alloc(&self, size: usize, align: usize) -> Result<*mut u8>;
    /// Resizes `block`, moving it if needed; the contents are kept.
    fn realloc(&self, block: *mut u8, size: usize, align: usize) -> Result<*mut u8>;
    /// Frees `block`; fails with `INVALID_ARGUMENT` for a pointer this heap
    /// did not hand out or already freed.
    fn free(&self, block: *mut u8) -> Result<()>;
    /// The size `block` was allocated with.
    fn size(&self, block: *mut u8) -> Result<usize>;
    /// True when `block` is a live block of this heap.
    fn validate(&self, block: *mut u8) -> Result<bool>;
    /// The heap's figures.
    fn status(&self) -> Result<HeapStatus>;
}
