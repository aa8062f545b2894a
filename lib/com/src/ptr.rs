//! `ComPtr<I>`: an owned reference to an interface of an object.

use core::fmt;
use core::marker::PhantomData;
use core::ops::Deref;
use core::ptr::NonNull;

use crate::{IUnknown, Interface, Result};

/// An owned reference to interface `I` of an object.
///
/// Cloning adds a reference, dropping releases it, and the methods of `I` are
/// reached through `Deref`. Objects behind interfaces are thread-safe by
/// contract, so a `ComPtr` may be sent and shared between threads.
pub struct ComPtr<I: Interface> {
    ptr: NonNull<I>,
    owns: PhantomData<I>,
}

// SAFETY: every object behind an interface is `Send + Sync` (the `#[class]`
// macro requires it of implementations; C components promise it by the ABI).
unsafe impl<I: Interface> Send for ComPtr<I> {}
// SAFETY: as above.
unsafe impl<I: Interface> Sync for ComPtr<I> {}

impl<I: Interface> ComPtr<I> {
    /// Takes ownership of one reference held in a raw interface pointer.
    /// Returns `None` for null.
    ///
    /// # Safety
    /// A non-null `ptr` must point to a live object implementing `I`, and the
    /// caller hands over one reference it owns.
    pub unsafe fn from_raw(ptr: *mut I) -> Option<ComPtr<I>> {
        NonNull::new(ptr).map(|ptr| ComPtr {
            ptr,
            owns: PhantomData,
        })
    }

    /// Gives up ownership of the reference without releasing it.
    pub fn into_raw(self) -> *mut I {
        let ptr = self.ptr.as_ptr();
        core::mem::forget(self);
        ptr
    }

    /// A new owned reference to the object behind a borrowed interface.
    pub fn from_ref(interface: &I) -> ComPtr<I> {
        interface.as_unknown().add_ref();
        ComPtr {
            ptr: NonNull::from(interface),
            owns: PhantomData,
        }
    }

    /// Asks the object for another of its interfaces.
    pub fn query<J: Interface>(&self) -> Result<ComPtr<J>> {
        self.as_unknown().query::<J>()
    }

    /// The object as a borrowed `IUnknown`, to pass where any object goes.
    pub fn as_unknown(&self) -> &IUnknown {
        (**self).as_unknown()
    }

    /// This same pointer as an owned `IUnknown`. It is the object's identity
    /// only for its first interface; `query::<IUnknown>()` always gives that.
    pub fn to_unknown(&self) -> ComPtr<IUnknown> {
        ComPtr::from_ref(self.as_unknown())
    }

    /// The object's reference count at this moment (this pointer's
    /// reference included). Only a hint while other threads hold the object;
    /// exact when the caller knows nobody else can take a reference.
    pub fn reference_count(&self) -> u32 {
        self.as_unknown().reference_count()
    }

    /// True when both point to the same interface of the same object.
    pub fn ptr_eq(&self, other: &ComPtr<I>) -> bool {
        self.ptr == other.ptr
    }
}

impl<I: Interface> Deref for ComPtr<I> {
    type Target = I;

    fn deref(&self) -> &I {
        // SAFETY: we own a reference, so the object is live for our lifetime.
        unsafe { self.ptr.as_ref() }
    }
}

impl<I: Interface> Clone for ComPtr<I> {
    fn clone(&self) -> Self {
        ComPtr::from_ref(self)
    }
}

impl<I: Interface> Drop for ComPtr<I> {
    fn drop(&mut self) {
        // SAFETY: we own exactly one reference and give it up here.
        unsafe { self.as_unknown().release() };
    }
}

impl<I: Interface> fmt::Debug for ComPtr<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{:p}", I::SIGNATURE.name, self.ptr)
    }
}
