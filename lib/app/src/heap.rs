//! The process's heap, in its own space: a first-fit allocator
//! (`linked_list_allocator`) over pages the IPC maps on request. The heap
//! starts empty; an allocation that does not fit asks for more with the
//! `HEAP_GROW` `ecall`, whose pages always follow the heap's end, so the
//! heap grows in place. A process that never allocates maps nothing.
//!
//! Threads of other processes run here too, in calls into the process's
//! objects, and any of them may be preempted while it holds the heap: its
//! lock is a `com::WordLock`, whose waiters sleep on the lock's word (the
//! IPC's `WAIT`) instead of spinning against a holder that has lost the
//! processor.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ptr::NonNull;

use com::WordLock;
use interfaces::ipc::ecall as service;
use linked_list_allocator::Heap;

/// The least the heap grows by: each growth is a mapping in the space,
/// so growing by little at a time would make many.
const LEAST_GROWTH: usize = 64 * 1024;
const PAGE: usize = 4096;

/// The global allocator of every application: the heap, under its lock.
pub struct ProcessHeap {
    lock: WordLock,
    heap: UnsafeCell<Heap>,
}

// SAFETY: the heap is reached only under the lock (`ProcessHeap::with`).
unsafe impl Sync for ProcessHeap {}

impl ProcessHeap {
    const fn new() -> ProcessHeap {
        ProcessHeap {
            lock: WordLock::new(),
            heap: UnsafeCell::new(Heap::empty()),
        }
    }

    /// Runs `work` on the heap, holding its lock.
    fn with<R>(&self, work: impl FnOnce(&mut Heap) -> R) -> R {
        let _held = self.lock.lock();
        // SAFETY: the lock is held, so this is the only reference to the
        // heap until it is released, after `work`.
        work(unsafe { &mut *self.heap.get() })
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
        self.with(|heap| {
            if let Ok(block) = heap.allocate_first_fit(layout) {
                return block.as_ptr();
            }
            if !add_room(heap, layout) {
                return core::ptr::null_mut();
            }
            heap.allocate_first_fit(layout)
                .map_or(core::ptr::null_mut(), NonNull::as_ptr)
        })
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        if let Some(block) = NonNull::new(block) {
            // SAFETY: `block` came from `alloc` with `layout`, as the
            // caller promises.
            self.with(|heap| unsafe { heap.deallocate(block, layout) });
        }
    }
}

#[global_allocator]
static HEAP: ProcessHeap = ProcessHeap::new();
