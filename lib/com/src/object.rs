//! Objects implemented in Rust: the reference-counted box behind interface
//! pointers, and the generic `IUnknown` methods every class shares.
//!
//! Layout of an object with N interfaces (`#[repr(C)]`, what C callers see):
//!
//! ```text
//! slot 0: vtable pointer of interface 0  <- interface pointer 0 (identity)
//! slot 1: vtable pointer of interface 1  <- interface pointer 1
//! ...
//! reference count (u32)
//! the implementation's own state
//! ```
//!
//! A method thunk reached through slot `S` finds the object by stepping back
//! `S` pointers; nothing is stored per interface besides its vtable pointer.

use alloc::boxed::Box;
use core::ffi::c_void;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering, fence};

use crate::{ComPtr, Gate, Guid, IUnknown, IUnknownVtbl, Interface, Result, Status};

/// A Rust type that implements one or more interfaces.
///
/// # Safety
/// `vtables()` returns, for each slot, a vtable whose thunks expect to be
/// called with a pointer to that slot of a `ComObject<Self>`, and `IIDS[k]`
/// names the interface of slot `k`; `HELD` is empty or has an entry per
/// slot, null or a vtable of the same kind. Use the `#[class]` macro.
pub unsafe trait Class: Sized + Send + Sync + 'static {
    /// One vtable pointer per implemented interface.
    type Vtables: VtableSlots;
    /// The interface identifier of each slot, in order.
    const IIDS: &'static [Guid];
    /// The initial vtable pointers of a new object.
    fn vtables() -> Self::Vtables;
    /// For classes declared `mutable`: per slot, the *held* vtable a
    /// mutator points the slot at to hold new calls back (its methods wait
    /// until the gate opens, then issue the call again through the vtable
    /// the object has then), or null for a slot it leaves alone
    /// (`IMutable`'s). Empty for other classes.
    const HELD: &'static [*const c_void] = &[];
    /// For classes declared `mutable(State)`: the published layout of
    /// their state (`PublishedState::ID`); nil for every other class.
    const STATE_LAYOUT: Guid = Guid::from_u128(0);
    /// The object's mutation gate, for classes declared `mutable`; method
    /// thunks count themselves into it around every call.
    #[inline(always)]
    fn gate(&self) -> Option<&Gate> {
        None
    }
    /// For classes declared `query(function)`: what `QueryInterface`
    /// answers for an IID none of its slots has (`function(self, iid)`:
    /// another object standing for it, such as a proxy); `None` (the
    /// default) is `NO_INTERFACE`.
    #[inline(always)]
    fn query_other(&self, _iid: &Guid) -> Option<ComPtr<IUnknown>> {
        None
    }
}

/// A fixed array of vtable pointers (implemented for every array length).
pub trait VtableSlots: Send + Sync + 'static {
    /// The pointers, in slot order.
    fn as_slice(&self) -> &[AtomicPtr<c_void>];
}

impl<const N: usize> VtableSlots for [AtomicPtr<c_void>; N] {
    fn as_slice(&self) -> &[AtomicPtr<c_void>] {
        self
    }
}

/// `T` implements interface `I` in vtable slot `SLOT`.
///
/// # Safety
/// Slot `SLOT` of `T`'s object holds a vtable of `I`.
pub unsafe trait HasInterface<I: Interface>: Class {
    /// The slot of `I` in the object.
    const SLOT: usize;
}

/// The vtable of interface `Self` for class `T` installed in slot `SLOT`.
///
/// # Safety
/// `VTBL` is a vtable of `Self` whose thunks treat their object pointer as
/// slot `SLOT` of a `ComObject<T>`.
pub unsafe trait Implement<T: Class, const SLOT: usize>: Interface {
    /// The vtable, with `'static` lifetime.
    const VTBL: &'static Self::Vtbl;
    /// The held vtable (see [`Class::HELD`]): the same `IUnknown` methods,
    /// and methods that wait for the gate and issue the call again. For
    /// interfaces whose calls never pass the gate, `VTBL` itself.
    const HELD: &'static Self::Vtbl;
}

/// Objects created by this copy of the object model and not yet destroyed.
///
/// Every component links its own copy of `com`, so this counts the objects
/// of one module: a module whose count is zero has nothing left that could
/// call back into its code, and can be unloaded.
static LIVE_OBJECTS: AtomicUsize = AtomicUsize::new(0);

/// How many objects of this module are alive.
pub fn live_objects() -> usize {
    LIVE_OBJECTS.load(Ordering::Acquire)
}

/// This module takes over an object another module made (a mutation gave
/// it this module's vtables): its destruction will be counted here.
pub fn adopt() {
    LIVE_OBJECTS.fetch_add(1, Ordering::Relaxed);
}

/// This module stops counting an object it made, which another module
/// adopts. Only [`crate::Gate::disown_object`] calls it, for
/// `IMutable::disown`.
pub(crate) fn disown() {
    LIVE_OBJECTS.fetch_sub(1, Ordering::Release);
}

/// Keeps this module loaded while it lives, counted as one of its live
/// objects. A call issued again after a mutation holds one: it runs in the
/// code of a module the mutation may just have made idle.
#[must_use = "the module may unload as soon as this is dropped"]
pub struct KeepLoaded(());

impl KeepLoaded {
    /// Counts one more live object for the module this code is linked in.
    pub fn this_module() -> KeepLoaded {
        adopt();
        KeepLoaded(())
    }
}

impl Drop for KeepLoaded {
    fn drop(&mut self) {
        LIVE_OBJECTS.fetch_sub(1, Ordering::Release);
    }
}

/// The heap box behind every object implemented in Rust.
#[repr(C)]
pub struct ComObject<T: Class> {
    vtables: T::Vtables,
    references: AtomicU32,
    value: T,
}

impl<T: Class> ComObject<T> {
    /// Where the implementation's state starts, from the object's start.
    pub(crate) const VALUE_OFFSET: usize = core::mem::offset_of!(ComObject<T>, value);

    /// Boxes `value` as a new object and returns its interface `I`; aborts,
    /// as `Box::new` does, when the heap cannot hold it.
    pub fn create<I: Interface>(value: T) -> ComPtr<I>
    where
        T: HasInterface<I>,
    {
        Self::publish(Box::new(ComObject::new(value)))
    }

    /// [`ComObject::create`], but `OUT_OF_MEMORY` where `create` aborts: for
    /// code that must never abort, and for the minimal kernels, which then
    /// carry no allocation-failure handler (it formats its message, and
    /// would bring `core::fmt` in).
    pub fn try_create<I: Interface>(value: T) -> Result<ComPtr<I>>
    where
        T: HasInterface<I>,
    {
        Ok(Self::publish(crate::try_box(ComObject::new(value))?))
    }

    /// A new object's state: one reference, which its creator holds.
    fn new(value: T) -> ComObject<T> {
        ComObject {
            vtables: T::vtables(),
            references: AtomicU32::new(1),
            value,
        }
    }

    /// Counts the boxed `object` as live and returns its interface `I`,
    /// which holds its one reference.
    fn publish<I: Interface>(object: Box<ComObject<T>>) -> ComPtr<I>
    where
        T: HasInterface<I>,
    {
        LIVE_OBJECTS.fetch_add(1, Ordering::Relaxed);
        let base = Box::into_raw(object).cast::<*mut c_void>();
        // SAFETY: slot `SLOT` lies inside the object's vtable array, and it
        // holds a vtable of `I` by the `HasInterface` contract; the single
        // reference created above moves into the `ComPtr`.
        unsafe {
            let slot = base.add(<T as HasInterface<I>>::SLOT);
            ComPtr::from_raw(slot.cast::<I>()).unwrap_unchecked()
        }
    }

    /// An object not on the heap, for code that has none (a U-mode server
    /// in `lib/app`): it lives where its owner keeps it, which must
    /// outlive every use of [`ComObject::interface`]. It starts with one
    /// reference, its owner's, which is never given out: nobody may
    /// release it to zero (that would free it as a box).
    pub fn unboxed(value: T) -> ComObject<T> {
        ComObject::new(value)
    }

    /// The object as its interface `I`, borrowed.
    pub fn interface<I: Interface>(&self) -> &I
    where
        T: HasInterface<I>,
    {
        // SAFETY: slot `SLOT` lies inside the object's vtable array and
        // holds a vtable of `I` by the `HasInterface` contract; the
        // reference lives no longer than the object.
        unsafe { &*self.slot(<T as HasInterface<I>>::SLOT).cast::<I>() }
    }

    /// The object whose slot `SLOT` is `this`.
    ///
    /// # Safety
    /// `this` is slot `SLOT` of a live `ComObject<T>`.
    pub unsafe fn from_slot<'a, const SLOT: usize>(this: *mut c_void) -> &'a ComObject<T> {
        // SAFETY: stepping back `SLOT` pointers from slot `SLOT` reaches the
        // start of the `#[repr(C)]` object, whose first field is the array.
        unsafe { &*this.cast::<*mut c_void>().sub(SLOT).cast::<ComObject<T>>() }
    }

    /// The implementation's state.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// Pointer to slot `index`, if the object has that many interfaces.
    fn slot(&self, index: usize) -> *mut c_void {
        let base = (&raw const self.vtables).cast::<*mut c_void>().cast_mut();
        // SAFETY: callers pass an index below `T::IIDS.len()`, the array length.
        unsafe { base.add(index).cast() }
    }

    fn add_ref(&self) -> u32 {
        self.references.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// # Safety
    /// The caller gives up a reference it owns; `self` may be freed.
    unsafe fn release(&self) -> u32 {
        let remaining = self.references.fetch_sub(1, Ordering::Release) - 1;
        if remaining == 0 {
            // Make every other thread's use of the object happen before the drop.
            fence(Ordering::Acquire);
            // SAFETY: the last reference is gone; the object came from
            // `Box::into_raw` in `create`.
            drop(unsafe { Box::from_raw((self as *const Self).cast_mut()) });
            if LIVE_OBJECTS.fetch_sub(1, Ordering::Release) == 1 {
                // The module's last object is gone: the module may go.
                crate::unshared::notify(core::ptr::null());
            }
        } else if remaining <= crate::unshared::NAMESPACE_REFERENCES {
            // Perhaps only the namespace holds it now: its module may go.
            crate::unshared::notify((self as *const Self).cast());
        }
        remaining
    }
}

/// The `IUnknown` thunks of class `T` seen through slot `SLOT`.
impl IUnknownVtbl {
    /// The base slots for any vtable of `T` installed in slot `SLOT`.
    pub const fn new<T: Class, const SLOT: usize>() -> IUnknownVtbl {
        IUnknownVtbl {
            query_interface: query_interface_thunk::<T, SLOT>,
            add_ref: add_ref_thunk::<T, SLOT>,
            release: release_thunk::<T, SLOT>,
        }
    }
}

unsafe extern "C" fn query_interface_thunk<T: Class, const SLOT: usize>(
    this: *mut c_void,
    iid: *const Guid,
    out: *mut *mut c_void,
) -> Status {
    // SAFETY: vtables of `T` in slot `SLOT` are only called with that slot.
    let object = unsafe { ComObject::<T>::from_slot::<SLOT>(this) };
    // SAFETY: slot 0 starts the object's `T::IIDS.len()` slots; the rest is
    // forwarded from the caller, by the ABI.
    let status = unsafe { query_interface(object.slot(0), T::IIDS, &object.references, iid, out) };
    if status != Status::NO_INTERFACE {
        return status;
    }
    // SAFETY: `query_interface` read `iid` (non-null, readable by the ABI)
    // and wrote `out` (non-null, writable) before answering `NO_INTERFACE`.
    unsafe {
        match object.value().query_other(&*iid) {
            Some(other) => {
                out.write(other.into_raw().cast());
                Status::OK
            }
            None => status,
        }
    }
}

/// `QueryInterface` of an object whose vtable slots start at `slots`, one
/// per interface of `iids`, counted by `references`: one copy for every
/// class, which only its thunk's first lines tell apart.
///
/// # Safety
/// `slots` points at `iids.len()` slots of a live object; `iid` is null or
/// readable, `out` null or writable, by the ABI.
unsafe fn query_interface(
    slots: *mut c_void,
    iids: &[Guid],
    references: &AtomicU32,
    iid: *const Guid,
    out: *mut *mut c_void,
) -> Status {
    if out.is_null() {
        return Status::NULL_POINTER;
    }
    // SAFETY: a non-null `iid` is readable for the call, by the ABI.
    let Some(iid) = (unsafe { iid.as_ref() }) else {
        return Status::NULL_POINTER;
    };
    let index = if *iid == IUnknown::IID {
        Some(0)
    } else {
        iids.iter().position(|candidate| candidate == iid)
    };
    let (status, result) = match index {
        Some(index) => {
            references.fetch_add(1, Ordering::Relaxed);
            // SAFETY: `index` is below `iids.len()`, the number of slots
            // (0 included: every class implements an interface).
            (
                Status::OK,
                unsafe { slots.cast::<*mut c_void>().add(index) }.cast(),
            )
        }
        None => (Status::NO_INTERFACE, core::ptr::null_mut()),
    };
    // SAFETY: `out` is non-null and writable, by the ABI.
    unsafe { out.write(result) };
    status
}

unsafe extern "C" fn add_ref_thunk<T: Class, const SLOT: usize>(this: *mut c_void) -> u32 {
    // SAFETY: vtables of `T` in slot `SLOT` are only called with that slot.
    unsafe { ComObject::<T>::from_slot::<SLOT>(this) }.add_ref()
}

unsafe extern "C" fn release_thunk<T: Class, const SLOT: usize>(this: *mut c_void) -> u32 {
    // SAFETY: as above; the caller gives up a reference it owns.
    unsafe { ComObject::<T>::from_slot::<SLOT>(this).release() }
}
