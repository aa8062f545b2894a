//! The kernel heap: the global allocator over the free RAM, and owned blocks
//! of it for code the kernel places (modules).
//!
//! The heap's raw operations are `unsafe` (a block must be freed once, and
//! only what it hands out); this module wraps them in [`HeapBlock`], which
//! frees its block when dropped, so the rest of the kernel never frees by
//! hand.

use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, Ordering};

use heap::SharedHeap;

use super::platform::Platform;

/// The kernel heap; [`take_free_ram`] gives it the free RAM.
#[global_allocator]
static HEAP: SharedHeap = SharedHeap::empty();

/// The heap as the kernel's objects see it (`/sys/heap`, `tessera_alloc`).
pub fn shared() -> &'static SharedHeap {
    &HEAP
}

/// No RAM is left for the heap: the kernel image ends at `kernel_end`, and
/// the usable RAM at `ram_end`.
pub struct NoFreeRam {
    /// The first byte after the kernel image.
    pub kernel_end: usize,
    /// The end of the RAM the heap could have.
    pub ram_end: usize,
}

/// The RAM a kernel with the loader sets aside, below the heap's end, as
/// the frame pool of a virtual-memory manager (`mmu::frame_pool`): 8 MiB,
/// 2,048 frames.
#[cfg(feature = "loader")]
const FRAME_POOL_BYTES: usize = 8 << 20;

/// Hands the RAM between the kernel image and the device tree (or the end
/// of RAM) to the heap, less the frame pool at its top (with the loader,
/// when the RAM is at least four times the pool). Called once, at boot; a
/// second call does nothing.
pub fn take_free_ram(platform: &Platform) -> Result<(), NoFreeRam> {
    static TAKEN: AtomicBool = AtomicBool::new(false);
    let (_, kernel_end) = super::kernel_extent();
    let tree = &platform.device_tree;
    let ram_end = if (kernel_end..platform.ram.end).contains(&tree.start) {
        tree.start
    } else {
        platform.ram.end
    };
    if ram_end <= kernel_end {
        return Err(NoFreeRam {
            kernel_end,
            ram_end,
        });
    }
    if TAKEN.swap(true, Ordering::AcqRel) {
        return Ok(());
    }
    #[cfg(feature = "loader")]
    let ram_end = set_frame_pool_aside(kernel_end, ram_end);
    // SAFETY: `[kernel_end, ram_end)` is RAM (inside the device tree's
    // memory region) that neither the kernel image, its stack, the frame
    // pool nor the device tree occupies, and `TAKEN` lets the heap be given
    // memory only once.
    unsafe { HEAP.init(kernel_end as *mut u8, ram_end - kernel_end) };
    Ok(())
}

/// Takes the frame pool from the top of `[kernel_end, ram_end)`, page
/// aligned, when that leaves the heap at least three times as much;
/// returns the heap's new end.
#[cfg(feature = "loader")]
fn set_frame_pool_aside(kernel_end: usize, ram_end: usize) -> usize {
    let page = super::mmu::PAGE_SIZE;
    let pool_end = ram_end & !(page - 1);
    let pool_start = pool_end.saturating_sub(FRAME_POOL_BYTES);
    if pool_start < kernel_end || pool_start - kernel_end < 3 * FRAME_POOL_BYTES {
        return ram_end;
    }
    super::mmu::set_frame_pool(pool_start..pool_end);
    pool_start
}

/// Frees a block a component got from `tessera_alloc`; pointers the heap
/// did not hand out are refused (ignored).
///
/// # Safety
/// `block` is a block of the kernel heap or a pointer whose header was not
/// forged (see `heap::Heap::free`), and nothing uses a freed block again.
pub unsafe fn free_for_component(block: *mut u8) {
    // SAFETY: forwarded from the caller; stray pointers are refused.
    let _ = unsafe { HEAP.free(block) };
}

/// A block of the kernel heap, owned: dropping it frees it.
pub struct HeapBlock {
    start: NonNull<u8>,
    size: usize,
}

// SAFETY: the block is owned memory like a `Box<[u8]>`: only the holder of
// the `HeapBlock` reaches its bytes, from whichever thread holds it.
unsafe impl Send for HeapBlock {}

impl HeapBlock {
    /// `size` bytes aligned to `align`, or none when the heap is out of
    /// memory.
    pub fn allocate(size: usize, align: usize) -> Option<HeapBlock> {
        let start = HEAP.alloc(size, align).ok()?;
        Some(HeapBlock { start, size })
    }

    /// The address of its first byte.
    pub fn address(&self) -> usize {
        self.start.as_ptr() as usize
    }

    /// How many bytes it has.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Its bytes.
    pub fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: the heap handed out `size` bytes at `start`, which only
        // this block reaches while it lives, and `&mut self` is unique.
        unsafe { core::slice::from_raw_parts_mut(self.start.as_ptr(), self.size) }
    }
}

impl Drop for HeapBlock {
    fn drop(&mut self) {
        // SAFETY: the block came from this heap and is freed only here,
        // once. Code placed in it no longer runs: a module's block is dropped
        // only after the module reported no live objects.
        let _ = unsafe { HEAP.free(self.start.as_ptr()) };
    }
}
