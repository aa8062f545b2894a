//! What the object model (`com`) needs from the kernel: sleeping while a
//! word holds a value and waking its sleepers (for mutation gates and word
//! locks), and hearing that a module may have become unused.
//!
//! `com` calls these by name from every module (the kernel links them
//! directly; components import them through `kernel.def`), so they exist in
//! every configuration: without threads nobody else can change a word, and
//! a wait returns at once. The waiting itself is `threads::word_waits`.

use core::sync::atomic::AtomicU32;
#[cfg(feature = "loader")]
use core::sync::atomic::{AtomicU64, Ordering};

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
    #[cfg(feature = "threads")]
    return u32::from(crate::threads::word_waits::wait(word, expected, timeout_us));
    #[cfg(not(feature = "threads"))]
    {
        let _ = (word, expected, timeout_us);
        1
    }
}

/// Wakes every thread sleeping on `word`; returns how many.
#[unsafe(no_mangle)]
pub extern "C" fn tessera_wake_word(word: *const u32) -> u32 {
    #[cfg(feature = "threads")]
    return crate::threads::word_waits::wake(word.addr());
    #[cfg(not(feature = "threads"))]
    {
        let _ = word;
        0
    }
}

/// `Release` left the object at `object` with at most two references (the
/// most the namespace holds on one object), or, with null, destroyed the
/// calling module's last object: the module may be unused now, and goes
/// before the next bind returns (see `modules`, whose hook this calls).
#[unsafe(no_mangle)]
pub extern "C" fn tessera_object_unshared(object: *const core::ffi::c_void) {
    #[cfg(feature = "loader")]
    if may_be_a_module(object.addr())
        && let Some(hooks) = super::module_hooks()
    {
        (hooks.note_unshared)();
    }
    #[cfg(not(feature = "loader"))]
    let _ = object;
}

/// A Bloom filter of the modules' registered objects, which the module
/// list keeps: bit [`filter_bit`] of each. A release that leaves an object
/// whose bit is clear shared by nobody cannot have made a module unused,
/// so `tessera_object_unshared` ends there, without calling the module
/// list.
#[cfg(feature = "loader")]
static REGISTERED_FILTER: AtomicU64 = AtomicU64::new(0);

/// True when the object at `address` (0: a module's last object died) may
/// belong to a registered module.
#[cfg(feature = "loader")]
fn may_be_a_module(address: usize) -> bool {
    address == 0 || REGISTERED_FILTER.load(Ordering::Relaxed) & filter_bit(address) != 0
}

/// The filter bit of the object at `address` (objects are 16-byte aligned).
#[cfg(feature = "loader")]
fn filter_bit(address: usize) -> u64 {
    1 << ((address >> 4) % 64)
}

/// Sets the filter to the registered objects at `addresses`.
#[cfg(feature = "loader")]
pub fn set_registered_objects(addresses: impl Iterator<Item = usize>) {
    let bits = addresses.fold(0, |bits, address| bits | filter_bit(address));
    REGISTERED_FILTER.store(bits, Ordering::Relaxed);
}

/// Adds the object at `address` to the filter.
#[cfg(feature = "loader")]
pub fn add_registered_object(address: usize) {
    REGISTERED_FILTER.fetch_or(filter_bit(address), Ordering::Relaxed);
}
