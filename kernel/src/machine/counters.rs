//! The hart's performance counters.

/// Instructions retired by this hart since reset (exact under QEMU's
/// `-icount shift=0`, which is how the figures are measured). The reading
/// stays where it is written among the loads and stores around it (no
/// `nomem`): a reading between two loads of a count is taken between them.
pub fn instructions() -> u64 {
    let count: u64;
    // SAFETY: reading `instret` has no side effect; OpenSBI lets S-mode
    // read it (mcounteren).
    unsafe { core::arch::asm!("rdinstret {}", out(reg) count, options(nostack)) };
    count
}
