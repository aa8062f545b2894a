//! Sleeping and waking on a 32-bit word shared between modules: the
//! kernel's wait queues on the target (its exports `tessera_wait_word` and
//! `tessera_wake_word`, declared in [`crate::kernel`]), spinning on the host. The
//! mutation gate and the word lock sleep here.

use core::sync::atomic::AtomicU32;

/// No timeout.
pub const FOREVER: u64 = u64::MAX;

/// Sleeps while `word` holds `expected`, at most `timeout_us`.
#[cfg(target_os = "none")]
pub fn wait(word: &AtomicU32, expected: u32, timeout_us: u64) {
    // SAFETY: the kernel only reads the word, which outlives the call.
    unsafe { crate::kernel::tessera_wait_word(word.as_ptr(), expected, timeout_us) };
}

/// Wakes every thread sleeping on `word`.
#[cfg(target_os = "none")]
pub fn wake(word: &AtomicU32) {
    // The kernel uses the address only as a key.
    crate::kernel::tessera_wake_word(word.as_ptr());
}

/// On the host there is no scheduler to sleep in: give way and return.
#[cfg(not(target_os = "none"))]
pub fn wait(_word: &AtomicU32, _expected: u32, _timeout_us: u64) {
    core::hint::spin_loop();
}

/// On the host nobody sleeps, so there is nobody to wake.
#[cfg(not(target_os = "none"))]
pub fn wake(_word: &AtomicU32) {}
