//! What the kernel exports to components (`kernel.def`): memory, the
//! namespace, stopping, and what mutation needs of the scheduler. Components reach these through import
//! relocations the loader binds; the build script generates the table from
//! `kernel.def` and checks each function here against the signature there.

use core::ffi::c_void;
use core::ptr::{self, NonNull};

use interfaces::power::exit_code;

use crate::machine::power;

/// One kernel export: its ordinal and where it is.
pub struct KernelExport {
    /// Its ordinal in the table.
    pub ordinal: u32,
    /// Its address (a function, so the address is taken at run time).
    pub address: fn() -> usize,
}

/// One export table of the kernel.
pub struct KernelTable {
    /// The table's UUID, which importers name.
    pub uuid: com::Guid,
    /// Its exports.
    pub exports: &'static [KernelExport],
}

include!(concat!(env!("OUT_DIR"), "/export_tables.rs"));

/// Allocates `size` bytes aligned to `align` from the kernel heap; null when
/// out of memory.
pub extern "C" fn tessera_alloc(size: usize, align: usize) -> *mut u8 {
    crate::machine::heap::shared()
        .alloc(size, align)
        .map_or(ptr::null_mut(), NonNull::as_ptr)
}

/// Frees a block `tessera_alloc` returned; other pointers are ignored.
///
/// # Safety
/// `block` is a block of the kernel heap or a pointer whose header was not
/// forged (see `heap::Heap::free`).
pub unsafe extern "C" fn tessera_free(block: *mut u8) {
    // SAFETY: forwarded from the caller.
    unsafe { crate::machine::heap::free_for_component(block) };
}

/// The current namespace with a reference for the caller, or null.
pub extern "C" fn tessera_current_namespace() -> *mut c_void {
    namespace::current().map_or(ptr::null_mut(), |namespace| namespace.into_raw().cast())
}

pub use super::object_model::{tessera_object_unshared, tessera_wait_word, tessera_wake_word};

/// `time` in microseconds since reset.
pub extern "C" fn tessera_now_us() -> u64 {
    crate::threads::now_us()
}

/// Returns once every other thread that was ready to run at the call has
/// run since: after a mutation, no thread still holds a vtable pointer it
/// loaded before (see `threads::grace_period`).
pub extern "C" fn tessera_grace_period() {
    crate::threads::grace_period();
}

/// Gives the processor to the next ready thread, if any: every component's
/// lock waiters call it (`component::enter` installs it as their wait hook).
pub extern "C" fn tessera_yield() {
    crate::threads::yield_now();
}

/// Stops the system after a component panicked, printing what and where.
///
/// # Safety
/// `message` and `file` are valid for `length` and `file_length` bytes.
pub unsafe extern "C" fn tessera_abort(
    message: *const u8,
    length: usize,
    file: *const u8,
    file_length: usize,
    line: u32,
) -> ! {
    // SAFETY: the caller passes valid byte ranges.
    let (message, file) = unsafe { (bytes(message, length), bytes(file, file_length)) };
    let text = |bytes| core::str::from_utf8(bytes).unwrap_or("(not UTF-8)");
    kprintln!(
        "\npanic in a component at {}:{line}: {}",
        text(file),
        text(message)
    );
    power::off(exit_code::PANIC);
}

/// The bytes at `start`, or none for a null pointer.
///
/// # Safety
/// A non-null `start` is valid for `length` bytes for `'a`.
unsafe fn bytes<'a>(start: *const u8, length: usize) -> &'a [u8] {
    if start.is_null() {
        return &[];
    }
    // SAFETY: forwarded from the caller.
    unsafe { core::slice::from_raw_parts(start, length) }
}
