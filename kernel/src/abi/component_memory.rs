//! Memory and objects the kernel holds by address: a file's bytes kept in
//! memory (`IMemoryFile`), and a module's registered object, held without
//! a reference of the kernel's own.

use core::ptr::NonNull;

use com::{ComPtr, IUnknown, Result, Status};
use interfaces::IMemoryFile;

/// A file's bytes where the file keeps them in memory (the boot RomFS
/// does), alive as long as this holds the file.
pub struct InPlaceFile {
    /// Held for its promise: its bytes stay put while it lives.
    #[allow(dead_code, reason = "held, never read: the bytes live while it does")]
    file: ComPtr<IMemoryFile>,
    address: NonNull<u8>,
    size: usize,
}

impl InPlaceFile {
    /// The first `size` bytes of `file`, which the caller found to be at
    /// least that long; `BAD_IMAGE` when its address is null or the range
    /// wraps around.
    pub fn new(file: ComPtr<IMemoryFile>, size: usize) -> Result<InPlaceFile> {
        let address = usize::try_from(file.address()?).map_err(|_| Status::BAD_IMAGE)?;
        address.checked_add(size).ok_or(Status::BAD_IMAGE)?;
        let address = NonNull::new(address as *mut u8).ok_or(Status::BAD_IMAGE)?;
        Ok(InPlaceFile {
            file,
            address,
            size,
        })
    }

    /// Its bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: an `IMemoryFile` keeps its bytes at `address`, in the
        // kernel's memory and unchanged, while it lives, and `self` holds it
        // for as long as the slice is borrowed.
        unsafe { core::slice::from_raw_parts(self.address.as_ptr(), self.size) }
    }
}

/// A module's object as the namespace holds it while the module is
/// registered: by address, without a reference of ours (a reference of ours
/// would keep the module from ever becoming unused).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct UncountedObject(NonNull<IUnknown>);

// SAFETY: it is an address; the object is reached only through
// `UncountedObject::counted`, whose contract covers every thread.
unsafe impl Send for UncountedObject {}

impl UncountedObject {
    /// `object`, to be held while the namespace holds it.
    pub fn of(object: &ComPtr<IUnknown>) -> UncountedObject {
        UncountedObject(NonNull::from(object.as_unknown()))
    }

    /// Its address.
    pub fn address(self) -> usize {
        self.0.as_ptr().addr()
    }

    /// The reference count, read through the namespace's reference
    /// without taking one of its own (that would cost two calls more);
    /// see [`UncountedObject::counted`] for why the object is alive.
    pub fn reference_count(self) -> u32 {
        // SAFETY: the namespace holds a reference while the module is
        // registered, so the object is alive (see `counted`).
        unsafe { self.0.as_ref() }.reference_count()
    }

    /// A reference of its own. The module list keeps an `UncountedObject`
    /// only while the module is registered — the namespace then holds the
    /// object — and drops it when it unregisters the module.
    pub fn counted(self) -> ComPtr<IUnknown> {
        // SAFETY: the namespace holds a reference while the module is
        // registered, so the object is alive (see above).
        ComPtr::from_ref(unsafe { self.0.as_ref() })
    }
}
