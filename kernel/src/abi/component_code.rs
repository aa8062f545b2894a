//! Entering component code: turning an address in loaded code into a
//! function to call — a module's constructor (`tessera_entry`) and its
//! `tessera_can_unload`, and a thread's start (`IProcess::create_thread`).

#[cfg(feature = "loader")]
use core::ffi::c_void;

#[cfg(feature = "loader")]
use com::{ComPtr, IUnknown, Result, Status};

#[cfg(feature = "loader")]
use crate::machine::heap::HeapBlock;

/// The function at `address`, to start a thread with: `IProcess` promises
/// an `extern "C" fn(u64)`. None unless `address` lies in code the system
/// loaded (the kernel's, or a module's).
#[cfg(feature = "loader")]
pub fn thread_start(address: usize) -> Option<extern "C" fn(u64)> {
    if !loaded_code(address) {
        return None;
    }
    // SAFETY: the address lies in loaded code, and the interface's contract
    // is that it is an `extern "C" fn(u64)`.
    Some(unsafe { core::mem::transmute::<usize, extern "C" fn(u64)>(address) })
}

/// True when `address` lies in code the system loaded: the kernel's, or a
/// module's.
#[cfg(feature = "loader")]
fn loaded_code(address: usize) -> bool {
    if super::module_hooks().is_some_and(|hooks| (hooks.holds)(address)) {
        return true;
    }
    crate::machine::kernel_text_holds(address)
}

/// Calls the constructor (`tessera_entry`) at `entry` bytes into the module
/// placed in `block`; returns the object it made. `BAD_IMAGE` for an
/// offset outside the block.
///
/// The block holds an image the loader validated and placed: the munger
/// found `tessera_entry` at that offset in its code.
#[cfg(feature = "loader")]
pub fn run_constructor(block: &HeapBlock, entry: u32) -> Result<ComPtr<IUnknown>> {
    let address = code_address(block, entry).ok_or(Status::BAD_IMAGE)?;
    // SAFETY: the image's validation put the entry inside the module's code,
    // where the munger found `tessera_entry`, whose signature is this one.
    let entry: unsafe extern "C" fn(*mut *mut c_void) -> Status =
        unsafe { core::mem::transmute(address) };
    let mut object = core::ptr::null_mut();
    // SAFETY: the entry point writes at most one pointer to `object`.
    unsafe { entry(&mut object) }.check()?;
    // SAFETY: on success the entry point stored an owned `IUnknown` reference.
    unsafe { ComPtr::from_raw(object.cast::<IUnknown>()) }.ok_or(Status::NULL_POINTER)
}

/// The module's `tessera_can_unload`, `offset` bytes into the module placed
/// in `block` (see [`run_constructor`]); none for an offset outside it.
#[cfg(feature = "loader")]
pub fn can_unload_function(block: &HeapBlock, offset: u32) -> Option<extern "C" fn() -> u32> {
    let address = code_address(block, offset)?;
    // SAFETY: the image's validation put the offset inside its code, where
    // the munger found `tessera_can_unload`: `fn() -> u32`.
    Some(unsafe { core::mem::transmute::<usize, extern "C" fn() -> u32>(address) })
}

/// The address `offset` bytes into `block`, if it lies inside.
#[cfg(feature = "loader")]
fn code_address(block: &HeapBlock, offset: u32) -> Option<usize> {
    let offset = usize::try_from(offset).ok()?;
    (offset < block.size()).then(|| block.address() + offset)
}
