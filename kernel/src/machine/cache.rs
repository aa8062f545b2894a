//! Keeping instruction fetch coherent with code the kernel writes.

/// Makes instructions written to memory visible to instruction fetch on
/// this hart; the loader calls it before running code it placed.
pub fn sync_instructions() {
    // SAFETY: `fence.i` only orders instruction fetch after earlier stores.
    unsafe { core::arch::asm!("fence.i", options(nostack)) };
}
