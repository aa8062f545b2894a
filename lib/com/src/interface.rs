//! The root interface `IUnknown` and the traits every interface implements.
//!
//! `IUnknown` is the one interface written by hand: it is the base that the
//! `#[interface]` macro builds every other vtable on.

use core::ffi::c_void;
use core::sync::atomic::{AtomicPtr, Ordering};

use crate::{ComPtr, Guid, InterfaceSignature, Result, Status};

/// A binary interface: a `#[repr(C)]` struct holding one vtable pointer.
///
/// # Safety
/// Implementors are `#[repr(C)]` structs whose only field is an
/// `AtomicPtr<Self::Vtbl>`, and `Self::Vtbl` starts with an [`IUnknownVtbl`].
/// The `#[interface]` macro generates conforming implementations.
pub unsafe trait Interface: Sized + 'static {
    /// The table of function pointers behind the interface.
    type Vtbl: 'static;
    /// The interface identifier.
    const IID: Guid;
    /// Names, argument kinds and return kinds of the methods, for IPC and tools.
    const SIGNATURE: &'static InterfaceSignature;

    /// Every interface is also an `IUnknown`.
    fn as_unknown(&self) -> &IUnknown {
        // SAFETY: by the trait contract `Self` has the layout of `IUnknown`
        // with a longer vtable, whose prefix is an `IUnknownVtbl`.
        unsafe { &*(self as *const Self).cast::<IUnknown>() }
    }

    /// The object pointer as it crosses the ABI.
    fn as_raw(&self) -> *mut c_void {
        (self as *const Self).cast_mut().cast()
    }
}

/// The most methods (after `IUnknown`'s three) a method table made at run
/// time serves: a proxy's (`crate::proxy`, `lib/app`), a moved object's
/// (`crate::moved`) and an interposer's clone (`crate::interposition`).
pub const MOST_METHODS: usize = 12;

/// What a method looks like in the machine: the object pointer and seven
/// more argument registers, a status back. Every method of the ABI fits
/// (no argument is a float, none is passed on the stack).
pub type Method =
    unsafe extern "C" fn(*mut c_void, usize, usize, usize, usize, usize, usize, usize) -> Status;

/// A method table of any interface of up to [`MOST_METHODS`] methods, as
/// the ABI lays one out: `IUnknown`'s three, then one entry per method.
#[repr(C)]
pub struct MethodTable {
    /// `QueryInterface`, `AddRef`, `Release`.
    pub base: IUnknownVtbl,
    /// The interface's methods, by index.
    pub methods: [Method; MOST_METHODS],
}

/// The first three slots of every vtable.
#[repr(C)]
pub struct IUnknownVtbl {
    /// Stores a new reference to the `iid` interface of the object in `*out`.
    pub query_interface:
        unsafe extern "C" fn(this: *mut c_void, iid: *const Guid, out: *mut *mut c_void) -> Status,
    /// Adds a reference; returns the new count (for diagnostics only).
    pub add_ref: unsafe extern "C" fn(this: *mut c_void) -> u32,
    /// Drops a reference; returns the new count (for diagnostics only).
    pub release: unsafe extern "C" fn(this: *mut c_void) -> u32,
}

/// The interface every object implements: identity, reference counting and
/// discovery of its other interfaces.
#[repr(C)]
#[derive(Debug)]
pub struct IUnknown {
    vtbl: AtomicPtr<IUnknownVtbl>,
}

/// Signature of `IUnknown` itself: it has no methods beyond the base three.
static IUNKNOWN_SIGNATURE: InterfaceSignature = InterfaceSignature {
    name: "IUnknown",
    iid: IUnknown::IID,
    methods: &[],
};

// SAFETY: `IUnknown` is `#[repr(C)]` around one `AtomicPtr<IUnknownVtbl>`.
unsafe impl Interface for IUnknown {
    type Vtbl = IUnknownVtbl;
    const IID: Guid = Guid::from_u128(0x00000000_0000_0000_c000_000000000046);
    const SIGNATURE: &'static InterfaceSignature = &IUNKNOWN_SIGNATURE;
}

impl IUnknown {
    fn vtbl(&self) -> &IUnknownVtbl {
        // SAFETY: a live object's vtable pointer always points to a valid,
        // immutable vtable that outlives the object.
        unsafe { &*self.vtbl.load(Ordering::Relaxed) }
    }

    /// Asks the object for another of its interfaces.
    pub fn query<I: Interface>(&self) -> Result<ComPtr<I>> {
        let interface = self.query_iid(&I::IID)?;
        // SAFETY: the pointer is the object's `I`, and its reference moves.
        unsafe { ComPtr::from_raw(interface.into_raw().cast()) }.ok_or(Status::NULL_POINTER)
    }

    /// Asks the object for the interface `iid` names, for callers that know
    /// it only at run time; the pointer is that interface's, seen as its
    /// `IUnknown` part.
    pub fn query_iid(&self, iid: &Guid) -> Result<ComPtr<IUnknown>> {
        let mut out = core::ptr::null_mut();
        // SAFETY: `self` is a live object and `out` a valid place for the result.
        let status = unsafe { (self.vtbl().query_interface)(self.as_raw(), iid, &mut out) };
        status.check()?;
        // SAFETY: on success QueryInterface stored an owned reference.
        unsafe { ComPtr::from_raw(out.cast()) }.ok_or(Status::NULL_POINTER)
    }

    /// The object's reference count at this moment (the reference `self`
    /// borrows from included). Only a hint while other threads hold the
    /// object; exact when they cannot run.
    pub fn reference_count(&self) -> u32 {
        self.add_ref();
        // SAFETY: the reference added just above is the one given up.
        unsafe { self.release() }
    }

    /// Adds a reference to the object. Pair with [`IUnknown::release`].
    pub(crate) fn add_ref(&self) -> u32 {
        // SAFETY: `self` is a live object.
        unsafe { (self.vtbl().add_ref)(self.as_raw()) }
    }

    /// Drops a reference to the object.
    ///
    /// # Safety
    /// The caller owns the reference it gives up and must not use it again.
    pub(crate) unsafe fn release(&self) -> u32 {
        // SAFETY: the caller owns a reference, so the object is live.
        unsafe { (self.vtbl().release)(self.as_raw()) }
    }
}
