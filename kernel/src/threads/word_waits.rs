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

/// Microseconds in ticks of `time`, rounded up so a short wait still waits.
fn ticks_from_us(microseconds: u64) -> u64 {
    let ticks = u128::from(microseconds) * u128::from(super::ticks_per_second());
    u64::try_from(ticks.div_ceil(1_000_000)).unwrap_or(u64::MAX)
}
