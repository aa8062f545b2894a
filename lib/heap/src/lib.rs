//! Tessera's heap: one allocator for the kernel heap over free RAM and for nested heaps, served as `IHeap`.
//!
//! The engine is a first-fit free list: `linked_list_allocator` (the
//! `linked-list-engine` feature, which the full kernel uses), or this
//! crate's smaller one, `free_list`, in the minimal kernels. What this
//! crate adds is what `IHeap` promises and the engine does not: a block is
//! freed, sized and validated by its pointer alone. Each block carries a
//! 16-byte header just below the pointer it hands out:
//!
//! ```text
//! raw start (aligned to max(16, align))
//! | padding up to max(16, align) - 16 bytes
//! | header: word 0 = size | log2(align) << 56, word 1 = pointer ^ LIVE_TAG
//! | block (the pointer handed out) ... size bytes
//! ```
//!
//! The tag ties the header to its own address, so a stray pointer, a pointer
//! into the middle of a block or a block freed twice is refused with
//! `INVALID_ARGUMENT` instead of corrupting the free list.
//!
//! - [`Heap`] is the allocator over one region (single owner, `&mut self`).
//! - [`SharedHeap`] wraps it in a spin lock and is the kernel's `#[global_allocator]`.
//! - [`HeapObject`] serves a shared heap, or a nested heap carved out of a
//!   block of another `IHeap`, as an `IHeap` object.
//!
//! Depends on `com`, `interfaces`, `sync` and (with its feature)
//! `linked_list_allocator`; the
//! kernel creates the boot heap with it and registers it at `/sys/heap`.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

mod block;
#[cfg(any(test, not(feature = "linked-list-engine")))]
mod free_list;
mod object;
mod region;
mod shared;

pub use object::HeapObject;
pub use region::Heap;
pub use shared::SharedHeap;

/// The alignment of a block when the caller asks for none (`align == 0`).
pub const DEFAULT_ALIGN: usize = 16;
/// The largest alignment a block can ask for.
pub const MAX_ALIGN: usize = 1 << 20;
