//! `IMutable`: what a mutable object tells a mutator about itself.
//!
//! `#[class(IFoo, mutable)]` adds this interface to the class, so a mutator
//! in another module finds the object's gate and memory through
//! `QueryInterface`, knowing nothing of its Rust type.

use core::ffi::c_void;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicPtr, Ordering};

use crate::{
    Class, ComObject, ComPtr, IUnknown, Interface, Record, Result, Status, VtableSlots, adopt,
    interface,
};

/// Where a mutable object lies and how it is laid out. Addresses are in the
/// object's own address space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Record)]
#[repr(C)]
pub struct ObjectLayout {
    /// The object's first byte: its vtable slot 0.
    pub base: u64,
    /// The object's size in bytes, slots and reference count included.
    pub size: u64,
    /// Its gate ([`crate::Gate`]).
    pub gate: u64,
    /// Its state: the implementation's value, after the reference count.
    pub state: u64,
    /// How many vtable slots it has (`IMutable`'s own is the last).
    pub slots: u32,
    /// Padding; zero.
    pub reserved: u32,
    /// Its class's held vtables, one pointer per slot ([`Class::HELD`]).
    pub held: u64,
}

impl ObjectLayout {
    /// The layout of the object whose state is `value`. Only addresses are
    /// computed, so a `value` outside any object yields a meaningless
    /// layout, never undefined behaviour; the method thunks only ever pass
    /// the state of a live object.
    pub fn of<T: Class>(value: &T) -> ObjectLayout {
        // Exposed: mutators turn these addresses back into pointers.
        let value_address = (value as *const T).expose_provenance();
        let gate =
            T::gate(value).map_or(0, |gate| (gate as *const crate::Gate).expose_provenance());
        ObjectLayout {
            base: value_address.wrapping_sub(ComObject::<T>::VALUE_OFFSET) as u64,
            size: size_of::<ComObject<T>>() as u64,
            gate: gate as u64,
            state: value_address as u64,
            slots: u32::try_from(T::IIDS.len()).unwrap_or(0),
            reserved: 0,
            held: T::HELD.as_ptr().expose_provenance() as u64,
        }
    }

    /// The object's state as a pointer to an `S`: how the object's class
    /// lays its state out (a layout its module publishes for transition
    /// functions) is the caller's to know.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "the address came from a pointer of this address space"
    )]
    pub fn state_pointer<S>(&self) -> *mut S {
        core::ptr::with_exposed_provenance_mut(self.state as usize)
    }

    /// The address of vtable slot `index`, if the object has that slot.
    pub fn slot(&self, index: u32) -> Option<*mut c_void> {
        if index >= self.slots {
            return None;
        }
        let offset = usize::try_from(index).ok()? * size_of::<usize>();
        let address = usize::try_from(self.base).ok()?.checked_add(offset)?;
        Some(core::ptr::with_exposed_provenance_mut(address))
    }

    /// The held vtable of slot `index` ([`Class::HELD`]): what a mutator
    /// points the slot at while it holds the object; `None` for a slot it
    /// leaves alone.
    ///
    /// # Safety
    /// The layout is a live object's own, from its `IMutable`.
    pub unsafe fn held_vtable(&self, index: u32) -> Option<*mut c_void> {
        if index >= self.slots || self.held == 0 {
            return None;
        }
        let table =
            core::ptr::with_exposed_provenance::<*const c_void>(usize::try_from(self.held).ok()?);
        // SAFETY: the class's `HELD` has one entry per slot, `index` is
        // below the slot count, and the class's module is loaded while the
        // object lives.
        let held = unsafe { *table.add(usize::try_from(index).ok()?) };
        (!held.is_null()).then_some(held.cast_mut())
    }

    /// Where slot `index`'s vtable pointer is to be read and changed: while
    /// a mutator holds the object, the cell it stages for the slot (the
    /// slot itself holds a held vtable then, see [`crate::Gate::stage`]);
    /// otherwise the slot.
    ///
    /// # Safety
    /// The layout is a live object's own, from its `IMutable`, and the
    /// object stays alive while the cell is used; during a mutation only
    /// the mutator's transition uses it.
    pub unsafe fn vtable_cell(&self, index: u32) -> Option<&AtomicPtr<c_void>> {
        let slot = self.slot(index)?;
        // SAFETY: the object's own layout names its gate, alive with it.
        let gate = unsafe { self.gate_pointer().as_ref() };
        if let Some(staged) = gate.and_then(|gate| gate.staged_cell(usize::try_from(index).ok()?)) {
            return Some(staged);
        }
        // SAFETY: `slot` gives only addresses of the object's vtable slots,
        // atomic pointers by the object layout.
        Some(unsafe { &*slot.cast::<AtomicPtr<c_void>>() })
    }

    #[allow(
        clippy::cast_possible_truncation,
        reason = "the address came from a pointer of this address space"
    )]
    fn gate_pointer(&self) -> *const crate::Gate {
        core::ptr::with_exposed_provenance(self.gate as usize)
    }

    /// The index of the slot at `address`, if it is one of the object's.
    pub fn slot_index(&self, address: *mut c_void) -> Option<u32> {
        let offset = (address.addr() as u64).checked_sub(self.base)?;
        let word = size_of::<usize>() as u64;
        if offset % word != 0 {
            return None;
        }
        let index = u32::try_from(offset / word).ok()?;
        (index < self.slots).then_some(index)
    }
}

/// Implemented by every mutable object (`#[class(.., mutable)]` adds it):
/// the way in for the `mutate` component and for transition functions.
/// Its calls do not pass the gate: they are made while a mutator holds it.
#[interface("5b0f3f8e-2c43-4c5e-9b7e-3d1c6a2f9e41", ungated)]
pub trait IMutable {
    /// Where the object lies, its size, slots, gate and state.
    fn layout(&self) -> Result<ObjectLayout>;
    /// The module that made the object stops counting it as its own, so
    /// it can unload: [`Takeover::finish`] calls it when a transition hands
    /// the object to another module's class. Only while a mutator holds
    /// the gate, and once per mutation (else `ACCESS_DENIED`).
    fn disown(&self) -> Result<()>;
}

/// A transition handing an object to class `T` of the module it runs in:
/// a new version of a component, a driver taking a device's object over.
///
/// [`Takeover::check`] makes sure the object can be a `T`; the transition
/// may then read the old state and prepare the new one; [`Takeover::finish`]
/// makes the object this module's and installs `T`'s vtables, failing only
/// before it has changed anything. The transition then writes `T`'s state:
/// the mutator's closed gate keeps every call out until it returns.
pub struct Takeover<T: Class> {
    object: ComPtr<IMutable>,
    layout: ObjectLayout,
    class: PhantomData<T>,
}

impl<T: Class> Takeover<T> {
    /// Checks that the object `object` (its identity) is laid out as a `T`
    /// — size, state offset, `T`'s interfaces in `T`'s slots, the gate as
    /// the state's first field — and is not a `T` of this module already
    /// (`NOT_SUPPORTED`, `ALREADY_EXISTS`). What the state holds is the
    /// transition's to check: a published state tells its version.
    ///
    /// # Safety
    /// The caller is the transition of a mutator that holds the object's
    /// gate with no call inside; `T`'s state begins with its gate (as the
    /// checked object's does); and after [`Takeover::finish`] the caller
    /// leaves a state in the object that `T`'s methods may use.
    pub unsafe fn check(object: &IUnknown) -> Result<Takeover<T>> {
        let mutable = object.query::<IMutable>()?;
        let layout = mutable.layout()?;
        let fits = layout.size == size_of::<ComObject<T>>() as u64
            && layout.state.checked_sub(layout.base) == Some(ComObject::<T>::VALUE_OFFSET as u64)
            && layout.gate == layout.state
            && usize::try_from(layout.slots) == Ok(T::IIDS.len());
        if !fits {
            return Err(Status::NOT_SUPPORTED);
        }
        for (index, iid) in (0..layout.slots).zip(T::IIDS) {
            if layout.slot(index) != Some(object.query_iid(iid)?.as_raw()) {
                return Err(Status::NOT_SUPPORTED);
            }
        }
        let takeover = Takeover {
            object: mutable,
            layout,
            class: PhantomData,
        };
        // `IMutable`'s slot, the last, is the one no filter stands in.
        let mine = T::vtables().as_slice().last().map(vtable_in);
        if takeover.slots().last().map(vtable_in) == mine {
            return Err(Status::ALREADY_EXISTS);
        }
        Ok(takeover)
    }

    /// The object's state: the old one, to read, until the transition
    /// writes `T`'s.
    pub fn state(&self) -> *mut T {
        self.layout.state_pointer()
    }

    /// Makes the object this module's — the module that made it stops
    /// counting it (`IMutable::disown`, refused unless a mutator holds the
    /// gate), this one starts — and points every slot at `T`'s vtables
    /// (staged: the slots take them when the mutator lets calls in again).
    /// Fails only before anything has changed.
    pub fn finish(&self) -> Result<()> {
        self.object.disown()?;
        adopt();
        for (slot, vtable) in self.slots().zip(T::vtables().as_slice()) {
            slot.store(vtable_in(vtable), Ordering::Release);
        }
        Ok(())
    }

    /// Where the object's vtable pointers are read and written: the
    /// mutator's staged cells while it holds the object.
    fn slots(&self) -> impl Iterator<Item = &AtomicPtr<c_void>> {
        (0..self.layout.slots)
            // SAFETY: the object's own layout, alive while `self.object`
            // holds it; only this transition changes its vtables now.
            .filter_map(|index| unsafe { self.layout.vtable_cell(index) })
    }
}

fn vtable_in(slot: &AtomicPtr<c_void>) -> *mut c_void {
    slot.load(Ordering::Acquire)
}

/// The address of the vtable class `$class` has for interface `$interface`,
/// as `IMutate::mutate_vtable` and transition functions take it.
#[macro_export]
macro_rules! vtable {
    ($class:ty, $interface:ty) => {
        (<$interface as $crate::Implement<
            $class,
            { <$class as $crate::HasInterface<$interface>>::SLOT },
        >>::VTBL as *const <$interface as $crate::Interface>::Vtbl)
            .cast::<::core::ffi::c_void>()
    };
}
