//! `IHeap` objects: the boot heap as a service, and nested heaps.

use alloc::boxed::Box;
use core::ptr::NonNull;

use com::{ComObject, ComPtr, Result, Status, class};
use interfaces::{HeapStatus, IHeap, IHeapImpl};

use crate::SharedHeap;

/// An `IHeap` object over a shared heap.
#[class(IHeap)]
pub struct HeapObject {
    backing: Backing,
}

/// Where a heap object's memory comes from.
enum Backing {
    /// A heap that lives as long as the system (the boot heap).
    Static(&'static SharedHeap),
    /// A heap carved out of one block of another heap.
    Nested(Box<Nested>),
}

/// A heap over one block of a parent heap; the block goes back to the parent
/// when the heap object is destroyed, with everything still allocated in it.
struct Nested {
    heap: SharedHeap,
    parent: ComPtr<IHeap>,
    /// The block's address (kept as an integer: the block is owned, not shared).
    block: usize,
}

impl HeapObject {
    /// Serves `heap` as an `IHeap` object (`OUT_OF_MEMORY` if no heap has
    /// room for the object).
    pub fn serve(heap: &'static SharedHeap) -> Result<ComPtr<IHeap>> {
        ComObject::try_create(HeapObject {
            backing: Backing::Static(heap),
        })
    }

    /// A new heap of `size` bytes taken from `parent`; destroying it gives
    /// the whole block back at once.
    pub fn nested(parent: &ComPtr<IHeap>, size: usize) -> Result<ComPtr<IHeap>> {
        let block = parent.alloc(size, 0)?;
        if block.is_null() {
            return Err(Status::OUT_OF_MEMORY);
        }
        let heap = SharedHeap::empty();
        // SAFETY: `parent` handed out `size` bytes at `block`; they belong to
        // this heap alone until `Nested::drop` returns them.
        unsafe { heap.init(block, size) };
        let nested = Nested {
            heap,
            parent: parent.clone(),
            block: block as usize,
        };
        Ok(ComObject::create(HeapObject {
            backing: Backing::Nested(Box::new(nested)),
        }))
    }

    fn heap(&self) -> &SharedHeap {
        match &self.backing {
            Backing::Static(heap) => heap,
            Backing::Nested(nested) => &nested.heap,
        }
    }
}

impl Drop for Nested {
    fn drop(&mut self) {
        // The parent gave this block out, so it takes it back; a failure
        // here would mean the parent is corrupt, and nobody is left to tell.
        let _ = self.parent.free(self.block as *mut u8);
    }
}

#[allow(
    clippy::not_unsafe_ptr_arg_deref,
    reason = "IHeap takes blocks by pointer; each is validated before use"
)]
impl IHeapImpl for HeapObject {
    fn alloc(&self, size: usize, align: usize) -> Result<*mut u8> {
        self.heap().alloc(size, align).map(NonNull::as_ptr)
    }

    fn realloc(&self, block: *mut u8, size: usize, align: usize) -> Result<*mut u8> {
        // SAFETY: components share the kernel's address space and are trusted
        // not to forge block headers; stray and stale pointers are refused.
        unsafe { self.heap().realloc(block, size, align) }.map(NonNull::as_ptr)
    }

    fn free(&self, block: *mut u8) -> Result<()> {
        // SAFETY: as for `realloc`.
        unsafe { self.heap().free(block) }
    }

    fn size(&self, block: *mut u8) -> Result<usize> {
        self.heap().size_of(block)
    }

    fn validate(&self, block: *mut u8) -> Result<bool> {
        Ok(self.heap().validate(block))
    }

    fn status(&self) -> Result<HeapStatus> {
        Ok(self.heap().status())
    }
}
