//! Telling the kernel that a module may have become unused: an object has
//! so few references left that the namespace may hold all of them, or the
//! module's last object is gone. The kernel then unloads what nothing uses
//! at its next safe point (`tessera_object_unshared`). Only a flag is
//! raised, so this is safe inside the module's own code.

use core::ffi::c_void;

/// The most references the namespace holds on one object: one per name,
/// and a live upgrade gives the adopted object a second name.
pub const NAMESPACE_REFERENCES: u32 = 2;

/// `object` (its identity) has at most [`NAMESPACE_REFERENCES`] left, or,
/// when null, this module's last object is gone.
#[cfg(target_os = "none")]
#[cold]
pub fn notify(object: *const c_void) {
    // The kernel uses the address only as a key.
    crate::kernel::tessera_object_unshared(object);
}

/// On the host there are no modules to unload.
#[cfg(not(target_os = "none"))]
pub fn notify(_object: *const c_void) {}
