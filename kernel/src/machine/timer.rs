//! The hart's timer: the `time` counter and a one-shot deadline, written
//! straight to `stimecmp` when the hart has the Sstc extension (one
//! instruction) and set through the firmware otherwise (an `ecall`, a few
//! hundred instructions).

use core::sync::atomic::{AtomicBool, Ordering};

/// True when `stimecmp` is writable from S-mode.
static SSTC: AtomicBool = AtomicBool::new(false);

/// Records whether the hart has Sstc (from the device tree's ISA string).
pub fn set_sstc(present: bool) {
    SSTC.store(present, Ordering::Relaxed);
}

/// Ticks of the `time` counter since reset (the device tree gives its frequency).
pub fn now() -> u64 {
    let ticks: u64;
    // SAFETY: reading `time` has no side effect; OpenSBI lets S-mode read it.
    unsafe { core::arch::asm!("rdtime {}", out(reg) ticks, options(nomem, nostack)) };
    ticks
}

/// Raises the timer interrupt once `time` reaches `deadline` (and clears
/// a pending one); `u64::MAX` means never.
pub fn set_deadline(deadline: u64) {
    if SSTC.load(Ordering::Relaxed) {
        // SAFETY: with Sstc, `stimecmp` belongs to S-mode; writing it only
        // moves the timer interrupt.
        unsafe { core::arch::asm!("csrw stimecmp, {}", in(reg) deadline, options(nomem, nostack)) };
    } else {
        super::sbi::set_timer(deadline);
    }
}
