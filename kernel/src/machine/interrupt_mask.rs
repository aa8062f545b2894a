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
// the kernel starts no other), so accesses can only overlap by re-entry
// (an interrupt arriving inside `with`), and `borrowed` refuses re-entry.
unsafe impl<T: Send> Sync for Exclusive<T> {}

impl<T> Exclusive<T> {
    /// Wraps `value`.
    pub const fn new(value: T) -> Exclusive<T> {
        Exclusive {
            value: core::cell::UnsafeCell::new(value),
            borrowed: core::cell::Cell::new(false),
        }
    }

    /// Runs `f` on the value; `None` if it is already borrowed (re-entry:
    /// callers disable interrupts so it does not happen, and it is refused
    /// rather than risked if it does).
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        if self.borrowed.replace(true) {
            return None;
        }
        // SAFETY: on the only hart, no other borrow is live (checked just
        // above), so this one is exclusive.
        let result = f(unsafe { &mut *self.value.get() });
        self.borrowed.set(false);
        Some(result)
    }
}
