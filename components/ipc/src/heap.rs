//! A process's heap: zero-fill mappings in its own space, one after the
//! other from [`HEAP_BASE`], each added by a `HEAP_GROW` `ecall` of the
//! process's allocator (`lib/app`). The space holds them, so they go with
//! it when the process is freed; a process that never allocates has none.

use com::{Result, Status};
use interfaces::IVmFactory;
use interfaces::vm::{MANAGER_PATH, protection};

use crate::process::Process;

/// Where a process's heap starts (12 GiB: above the image at 4 GiB and
/// the stack below 8 GiB).
pub const HEAP_BASE: u64 = 0x3_0000_0000;
/// The most bytes of address space a heap may span (its pages are made on
/// first touch, from the frame pool, which runs out well before).
pub const MOST_HEAP: u64 = 256 << 20;
const PAGE: u64 = 4096;

/// Adds `size` bytes (a non-zero multiple of a page) to `process`'s heap;
/// their address, the heap's end before.
pub fn grow(process: &Process, size: u64) -> Result<u64> {
    if size == 0 || !size.is_multiple_of(PAGE) {
        return Err(Status::INVALID_ARGUMENT);
    }
    let mut end = process.heap_end.lock();
    let start = *end;
    let new_end = start
        .checked_add(size)
        .filter(|&new_end| new_end <= HEAP_BASE + MOST_HEAP)
        .ok_or(Status::OUT_OF_MEMORY)?;
    let factory = component::namespace()?
        .bind(MANAGER_PATH, 0)?
        .query::<IVmFactory>()?;
    let mapping = factory.create_zero_mapping(size)?;
    process.space()?.map(
        start,
        mapping.as_unknown(),
        0,
        size,
        protection::READ | protection::WRITE,
    )?;
    *end = new_end;
    Ok(start)
}
