//! A heap behind a spin lock: the kernel's global allocator and `IHeap` backing.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{self, NonNull};

use com::Result;
use interfaces::HeapStatus;
use sync::Mutex;

use crate::Heap;

/// A [`Heap`] shared by every thread; usable as `#[global_allocator]`.
pub struct SharedHeap {
    heap: Mutex<Heap>,
}

impl SharedHeap {
    /// A shared heap with no memory yet.
    pub const fn empty() -> SharedHeap {
        SharedHeap {
            heap: Mutex::new(Heap::empty()),
        }
    }

    /// Gives the heap the `size` bytes at `start`.
    ///
    /// # Safety
    /// As for [`Heap::init`].
    pub unsafe fn init(&self, start: *mut u8, size: usize) {
        // SAFETY: forwarded from the caller.
        unsafe { self.heap.lock().init(start, size) };
    }

    /// See [`Heap::alloc`].
    pub fn alloc(&self, size: usize, align: usize) -> Result<NonNull<u8>> {
        self.heap.lock().alloc(size, align)
    }

    /// See [`Heap::free`].
    ///
    /// # Safety
    /// As for [`Heap::free`].
    pub unsafe fn free(&self, block: *mut u8) -> Result<()> {
        // SAFETY: forwarded from the caller.
        unsafe { self.heap.lock().free(block) }
    }

    /// See [`Heap::realloc`].
    ///
    /// # Safety
    /// As for [`Heap::free`].
    pub unsafe fn realloc(&self, block: *mut u8, size: usize, align: usize) -> Result<NonNull<u8>> {
        // SAFETY: forwarded from the caller.
        unsafe { self.heap.lock().realloc(block, size, align) }
    }

    /// See [`Heap::size_of`].
    pub fn size_of(&self, block: *mut u8) -> Result<usize> {
        self.heap.lock().size_of(block)
    }

    /// See [`Heap::validate`].
    pub fn validate(&self, block: *mut u8) -> bool {
        self.heap.lock().validate(block)
    }

    /// See [`Heap::status`].
    pub fn status(&self) -> HeapStatus {
        self.heap.lock().status()
    }
}

// SAFETY: blocks come from `Heap::alloc`, which honours size and alignment
// and never hands out one byte twice; `dealloc` gets back only pointers
// `alloc` returned, whose headers Rust code cannot have forged.
unsafe impl GlobalAlloc for SharedHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        SharedHeap::alloc(self, layout.size(), layout.align())
            .map_or(ptr::null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, block: *mut u8, _layout: Layout) {
        // SAFETY: `block` came from `alloc` above (GlobalAlloc's contract).
        // It is live, so freeing cannot fail; there is no one to report to.
        let _ = unsafe { self.free(block) };
    }

    /// In place when the block shrinks (see [`Heap::realloc`]).
    #[cfg(feature = "shrink-in-place")]
    unsafe fn realloc(&self, block: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        // SAFETY: `block` came from `alloc` above (GlobalAlloc's contract).
        unsafe { SharedHeap::realloc(self, block, size, layout.align()) }
            .map_or(ptr::null_mut(), NonNull::as_ptr)
    }
}
