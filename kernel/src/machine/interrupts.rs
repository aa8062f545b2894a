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

/// Data reached only with interrupts disabled, on the one hart the kernel
/// runs on: that alone makes access exclusive, so no lock instruction is
/// spent on it (the scheduler's hottest path uses this).
pub struct Exclusive<T> {
    value: core::cell::UnsafeCell<T>,
    /// Set while a borrow is live, to refuse re-entry instead of aliasing.
    borrowed: core::cell::Cell<bool>,
}

// SAFETY: the kernel runs on one hart (OpenSBI starts only the boot hart and
// the kernel starts no other), and `with` runs only with interrupts
// disabled, so no two accesses overlap; `borrowed` refuses re-entry.
unsafe impl<T: Send> Sync for Exclusive<T> {}

impl<T> Exclusive<T> {
    /// Wraps `value`.
    pub const fn new(value: T) -> Exclusive<T> {
        Exclusive {
            value: core::cell::UnsafeCell::new(value),
            borrowed: core::cell::Cell::new(false),
        }
    }

    /// Runs `f` on the value; `None` if interrupts are enabled or the value
    /// is already borrowed (a caller's bug, refused rather than risked).
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        if enabled() || self.borrowed.replace(true) {
            return None;
        }
        // SAFETY: interrupts are disabled on the only hart and no other
        // borrow is live (checked just above), so this one is exclusive.
        let result = f(unsafe { &mut *self.value.get() });
        self.borrowed.set(false);
        Some(result)
    }
}

/// True when interrupts are enabled.
fn enabled() -> bool {
    let status: usize;
    // SAFETY: reading `sstatus` has no side effect.
    unsafe { core::arch::asm!("csrr {}, sstatus", out(reg) status, options(nomem, nostack)) };
    status & SIE != 0
}
