//! The process's heap, in its own space: a first-fit allocator
//! (`linked_list_allocator`) over pages the IPC maps on request. The heap
//! starts empty; an allocation that does not fit asks for more with the
//! `HEAP_GROW` `ecall`, whose pages always follow the heap's end, so the
//! heap grows in place. A process that never allocates maps nothing.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;

use interfaces::ipc::ecall as service;
use linked_list_allocator::Heap;
use sync::Mutex;

/// The least the heap grows by: each growth is a mapping in the space,
/// so growing by little at a time would make many.
const LEAST_GROWTH: usize = 64 * 1024;
const PAGE: usize = 4096;

/// The global allocator of every application.
pub struct ProcessHeap(Mutex<Heap>);

impl ProcessHeap {
    const fn new() -> ProcessHeap {
        ProcessHeap(Mutex::new(Heap::empty()))
    }
}

/// Asks the IPC for `size` more bytes (a multiple of a page) at the
/// heap's end; their address.
fn grow(size: usize) -> Option<*mut u8> {
    let (a0, start) = crate::ecall(service::HEAP_GROW, 0, [size as u64, 0, 0, 0, 0, 0, 0, 0]);
    crate::status_of(a0).check().ok()?;
    Some(core::ptr::with_exposed_provenance_mut(crate::address(
        start,
    )))
}

/// Gives `heap` at least `layout`'s worth of new room; false when the IPC
/// refuses.
fn add_room(heap: &mut Heap, layout: Layout) -> bool {
    // Room for the block at any alignment, and the allocator's own words.
    let Some(size) = layout
        .size()
        .checked_add(layout.align() + 64)
        .map(|size| size.max(LEAST_GROWTH).next_multiple_of(PAGE))
    else {
        return false;
    };
    let Some(start) = grow(size) else {
        return false;
    };
    if heap.size() == 0 {
        // SAFETY: the IPC just mapped `size` bytes at `start`, read +
        // write, for this heap alone.
        unsafe { heap.init(start, size) };
        return true;
    }
    // The IPC maps each growth at the heap's end; anything else would be
    // a heap the allocator cannot extend.
    if start != heap.top() {
        return false;
    }
    // SAFETY: the `size` bytes after the heap's top were just mapped read
    // + write for this heap alone.
    unsafe { heap.extend(size) };
    true
}

// SAFETY: blocks come from `linked_list_allocator` over pages mapped for
// this heap alone, and go back to it with the layout they were made with.
unsafe impl GlobalAlloc for ProcessHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let mut heap = self.0.lock();
        if let Ok(block) = heap.allocate_first_fit(layout) {
            return block.as_ptr();
        }
        if !add_room(&mut heap, layout) {
            return core::ptr::null_mut();
        }
        heap.allocate_first_fit(layout)
            .map_or(core::ptr::null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        if let Some(block) = NonNull::new(block) {
            // SAFETY: `block` came from `alloc` with `layout`, as the
            // caller promises.
            unsafe { self.0.lock().deallocate(block, layout) };
        }
    }
}

#[global_allocator]
static HEAP: ProcessHeap = ProcessHeap::new();
