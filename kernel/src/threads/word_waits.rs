//! Word waits: sleeping while a word holds a value and waking its sleepers
//! — what the object model's mutation gates and word locks block on
//! (`com` reaches them through `tessera_wait_word` and `tessera_wake_word`,
//! exported by `crate::abi`).

use core::sync::atomic::AtomicU32;

/// Sleeps while `word` holds `expected`, at most `timeout_us` microseconds
/// (`u64::MAX`: no limit). False when the wait timed out.
pub fn wait(word: &AtomicU32, expected: u32, timeout_us: u64) -> bool {
    let deadline = match timeout_us {
        u64::MAX => u64::MAX,
        timeout => super::now().saturating_add(ticks_from_us(timeout)),
    };
    super::wait_word(word, expected, deadline)
}

/// Wakes every thread sleeping on the word at `key`; returns how many.
pub fn wake(key: usize) -> u32 {
    u32::try_from(super::wake_all(key)).unwrap_or(u32::MAX)
}

/// Microseconds in ticks of `time`, rounded up so a short wait still waits
/// (saturating). Whole seconds and the rest apart, in `u64`: a `u128`
/// division would link 1.5 KB of `compiler_builtins` into every kernel.
fn ticks_from_us(microseconds: u64) -> u64 {
    const MICROSECONDS_PER_SECOND: u64 = 1_000_000;
    let per_second = super::ticks_per_second();
    let seconds = microseconds / MICROSECONDS_PER_SECOND;
    let rest = microseconds % MICROSECONDS_PER_SECOND;
    rest.checked_mul(per_second)
        .map(|ticks| ticks.div_ceil(MICROSECONDS_PER_SECOND))
        .and_then(|ticks| seconds.checked_mul(per_second)?.checked_add(ticks))
        .unwrap_or(u64::MAX)
}
