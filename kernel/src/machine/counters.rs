//! The hart's performance counters.

/// Instructions retired by this hart since reset (exact under QEMU's
/// `-icount shift=0`, which is how the figures are measured).
pub fn instructions() -> u64 {
    let count: u64;
    // SAFETY: reading `instret` has no side effect; OpenSBI lets S-mode
    // read it (mcounteren).
    unsafe { core::arch::asm!("rdinstret {}", out(reg) count, options(nomem, nostack)) };
    count
}
