//! The runtime every Tessera component links: heap, panic handler, entry point and the kernel's exports.
//!
//! A component is a `#![no_std]`, `#![no_main]` binary crate. It names its
//! constructor with [`component!`], which defines the two functions the
//! loader looks for:
//!
//! - `tessera_entry(out)`: runs the constructor and hands its object out;
//! - `tessera_can_unload()`: true once none of the module's objects is
//!   alive (the object model counts them per module).
//!
//! Memory comes from the kernel heap and a panic stops the system with a
//! message, both through functions the kernel exports (declared once in
//! `kernel/kernel.def`, called through the generated `com::kernel`): calls
//! to them become import relocations that the loader binds.
//!
//! Functions offered to other modules by name are defined with
//! [`export!`], and other modules' functions declared with [`import!`]
//! (both from `com`, re-exported here).
//!
//! A driver reaches its device through [`Registers`] (from `com`), which
//! it is given by whoever found the device: making one is an unsafe step
//! that only the kernel's machine layer takes.
//!
//! [`threads`] starts threads and locks through the kernel's services.
//!
//! Depends on `com`, `interfaces` and `sync`; every crate under
//! `components/` uses it.

#![no_std]

extern crate alloc;

use core::ffi::c_void;

// Every component's `memcpy`, `memmove` and `memset`: eight words a step.
use block_copy as _;

mod text;
pub mod threads;

#[doc(hidden)]
pub use com;

pub use com::{Registers, export, import};
pub use text::Text;

use com::{ComPtr, IUnknown, Result, Status};
use interfaces::INamespace;

use com::kernel;

/// The time since reset, in microseconds.
pub fn now_us() -> u64 {
    kernel::tessera_now_us()
}

/// Returns once every other thread that was ready to run at the call has
/// had the processor since: a thread preempted just after loading a method
/// table that has since been replaced has entered it by then.
pub fn grace_period() {
    kernel::tessera_grace_period();
}

/// The namespace the component finds other objects in.
pub fn namespace() -> Result<ComPtr<INamespace>> {
    // SAFETY: the kernel returns null or an `INamespace` pointer carrying a
    // reference for us, which the `ComPtr` now owns.
    unsafe { ComPtr::from_raw(kernel::tessera_current_namespace().cast()) }.ok_or(Status::NOT_FOUND)
}

/// Gives the processor to the next ready thread, if any.
pub fn yield_now() {
    kernel::tessera_yield();
}

/// The body of `tessera_entry`: makes the module's lock waiters yield
/// (its `sync::Mutex`es; see `lib/sync`), runs `constructor` and stores
/// its object.
///
/// Each module links its own `sync`, so the kernel's wait hook is not
/// this module's: without this, a waiter here would spin until its time
/// slice ends — for ever under a policy with none (`sched-null`), where
/// an interrupt may still have switched the holder out (docs/scheduling.md).
///
/// # Safety
/// `out` is null or valid for writing one pointer (the loader passes its
/// own local variable).
pub unsafe fn enter(
    out: *mut *mut c_void,
    constructor: fn() -> Result<ComPtr<IUnknown>>,
) -> Status {
    if out.is_null() {
        return Status::NULL_POINTER;
    }
    sync::set_wait_hook(yield_now);
    match constructor() {
        Ok(object) => {
            // SAFETY: `out` is non-null and writable (the caller's contract);
            // the reference moves to the loader.
            unsafe { out.write(object.into_raw().cast()) };
            Status::OK
        }
        Err(status) => status,
    }
}

/// The body of `tessera_can_unload`: 1 when none of the module's objects is alive.
pub fn can_unload() -> u32 {
    u32::from(com::live_objects() == 0)
}

/// Defines a component's entry point and unload check around `constructor`,
/// a `fn() -> com::Result<ComPtr<IUnknown>>`.
#[macro_export]
macro_rules! component {
    ($constructor:path) => {
        /// The module's entry point, called once by the loader.
        #[allow(unsafe_code, reason = "the loader finds it by name")]
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn tessera_entry(
            out: *mut *mut core::ffi::c_void,
        ) -> $crate::com::Status {
            // SAFETY: the loader calls the entry point with a writable `out`.
            unsafe { $crate::enter(out, $constructor) }
        }

        /// Whether the loader may unload the module now.
        #[allow(unsafe_code, reason = "the loader finds it by name")]
        #[unsafe(no_mangle)]
        pub extern "C" fn tessera_can_unload() -> u32 {
            $crate::can_unload()
        }
    };
}

/// The kernel heap, as this module's global allocator.
#[cfg(target_os = "none")]
mod heap {
    use core::alloc::{GlobalAlloc, Layout};

    struct KernelHeap;

    // SAFETY: the kernel heap honours size and alignment and hands out each
    // byte once; blocks go back only through `dealloc`.
    unsafe impl GlobalAlloc for KernelHeap {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            super::kernel::tessera_alloc(layout.size(), layout.align())
        }

        unsafe fn dealloc(&self, block: *mut u8, _layout: Layout) {
            // SAFETY: `block` came from `alloc` above.
            unsafe { super::kernel::tessera_free(block) }
        }
    }

    #[global_allocator]
    static HEAP: KernelHeap = KernelHeap;
}

/// A panic in a component stops the system, naming the panic and where.
///
/// Nothing is formatted here: formatting machinery would triple the size
/// of a small component, and the kernel prints the parts.
#[cfg(target_os = "none")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let message = info.message().as_str().unwrap_or("a component panicked");
    let (file, line) = info
        .location()
        .map_or(("?", 0), |location| (location.file(), location.line()));
    // SAFETY: both strings are valid for their lengths.
    unsafe {
        kernel::tessera_abort(
            message.as_ptr(),
            message.len(),
            file.as_ptr(),
            file.len(),
            line,
        )
    }
}
