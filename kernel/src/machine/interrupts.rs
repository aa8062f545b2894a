//! Turning interrupts on and off on this hart, and waiting for one.

/// `sstatus.SIE`: interrupts are taken in S-mode.
const SIE: usize = 1 << 1;
/// `sie.STIE`: the timer interrupt is enabled.
const TIMER: usize = 1 << 5;

/// Disables interrupts; returns whether they were enabled.
pub fn disable() -> bool {
    let previous: usize;
    // SAFETY: clearing SIE only defers interrupts.
    unsafe {
        core::arch::asm!("csrrc {}, sstatus, {}", out(reg) previous, in(reg) SIE, options(nostack))
    };
    previous & SIE != 0
}

/// Enables interrupts if `enabled` (a value `disable` returned).
pub fn restore(enabled: bool) {
    if enabled {
        enable();
    }
}

/// Enables interrupts.
pub fn enable() {
    // SAFETY: the trap vector is installed before anything enables interrupts.
    unsafe { core::arch::asm!("csrs sstatus, {}", in(reg) SIE, options(nostack)) };
}

/// Runs `f` with interrupts disabled.
pub fn without<T>(f: impl FnOnce() -> T) -> T {
    let enabled = disable();
    let result = f();
    restore(enabled);
    result
}

/// Lets the timer interrupt through (`sie.STIE`).
pub fn enable_timer() {
    // SAFETY: enabling one interrupt source; its handler is installed.
    unsafe { core::arch::asm!("csrs sie, {}", in(reg) TIMER, options(nostack)) };
}

/// Sleeps until an interrupt is pending.
pub fn wait() {
    // SAFETY: `wfi` only pauses the hart until an interrupt is pending.
    unsafe { core::arch::asm!("wfi", options(nomem, nostack)) };
}
