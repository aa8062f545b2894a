//! What the object model (`com`) needs from the kernel: sleeping while a
//! word holds a value and waking its sleepers (for mutation gates and word
//! locks), and hearing that a module may have become unused.
//!
//! `com` calls these by name from every module (the kernel links them
//! directly; components import them through `kernel.def`), so they exist in
//! every configuration: without threads nobody else can change a word, and
//! a wait returns at once.

use core::sync::atomic::AtomicU32;

/// Sleeps while `*word` holds `expected`, at most `timeout_us` microseconds
/// (`u64::MAX`: no limit). Returns 0 on timeout, 1 otherwise.
///
/// # Safety
/// `word` is valid for reads for the duration of the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tessera_wait_word(
    word: *const u32,
    expected: u32,
    timeout_us: u64,
) -> u32 {
    if word.is_null() || !word.is_aligned() {
        return 1;
    }
    // SAFETY: the caller keeps the word alive for the call; it is aligned and
    // non-null, and every module accesses it atomically only.
    let word = unsafe { AtomicU32::from_ptr(word.cast_mut()) };
    u32::from(wait(word, expected, timeout_us))
}

/// Wakes every thread sleeping on `word`; returns how many.
#[unsafe(no_mangle)]
pub extern "C" fn tessera_wake_word(word: *const u32) -> u32 {
    wake(word.addr())
}

/// `Release` left the object at `object` with at most two references (the
/// most the namespace holds on one object), or, with null, destroyed the
/// calling module's last object: the module may be unused now, and goes
/// before the next bind returns (see `modules`).
#[unsafe(no_mangle)]
pub extern "C" fn tessera_object_unshared(object: *const core::ffi::c_void) {
    #[cfg(feature = "loader")]
    crate::modules::note_unshared(object.addr());
    #[cfg(not(feature = "loader"))]
    let _ = object;
}

#[cfg(feature = "threads")]
fn wait(word: &AtomicU32, expected: u32, timeout_us: u64) -> bool {
    let deadline = match timeout_us {
        u64::MAX => u64::MAX,
        timeout => crate::threads::now().saturating_add(ticks_from_us(timeout)),
    };
    crate::threads::wait_word(word, expected, deadline)
}

#[cfg(feature = "threads")]
fn wake(key: usize) -> u32 {
    u32::try_from(crate::threads::wake_all(key)).unwrap_or(u32::MAX)
}

#[cfg(not(feature = "threads"))]
fn wait(_word: &AtomicU32, _expected: u32, _timeout_us: u64) -> bool {
    true
}

#[cfg(not(feature = "threads"))]
fn wake(_key: usize) -> u32 {
    0
}

/// Microseconds in ticks of `time`, rounded up so a short wait still waits
/// (saturating). Whole seconds and the rest apart, in `u64`: a `u128`
/// division would link 1.5 KB of `compiler_builtins` into every kernel.
#[cfg(feature = "threads")]
fn ticks_from_us(microseconds: u64) -> u64 {
    const MICROSECONDS_PER_SECOND: u64 = 1_000_000;
    let per_second = crate::threads::ticks_per_second();
    let seconds = microseconds / MICROSECONDS_PER_SECOND;
    let rest = microseconds % MICROSECONDS_PER_SECOND;
    rest.checked_mul(per_second)
        .map(|ticks| ticks.div_ceil(MICROSECONDS_PER_SECOND))
        .and_then(|ticks| seconds.checked_mul(per_second)?.checked_add(ticks))
        .unwrap_or(u64::MAX)
}
