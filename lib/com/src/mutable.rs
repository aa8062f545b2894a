//! `IMutable`: what a mutable object tells a mutator about itself.
//!
//! `#[class(IFoo, mutable)]` adds this interface to the class, so a mutator
//! in another module finds the object's gate and memory through
//! `QueryInterface`, knowing nothing of its Rust type.

use core::ffi::c_void;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicPtr, Ordering};

use crate::{
    Class, ComObject, ComPtr, Gate, Guid, IUnknown, Interface, Record, Result, Status, VtableSlots,
    adopt, interface,
};

/// Where a mutable object lies and how it is laid out. Addresses are in the
/// object's own address space. Only the object model makes one
/// ([`ObjectLayout::of`], which `#[class(.., mutable)]` calls for
/// `IMutable::layout`): its fields are read through [`MutableObject`] and
/// [`Takeover`], which rely on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Record)]
#[repr(C)]
pub struct ObjectLayout {
    /// The object's first byte: its vtable slot 0.
    base: u64,
    /// The object's size in bytes, slots and reference count included.
    size: u64,
    /// Its gate ([`crate::Gate`]).
    gate: u64,
    /// Its state: the implementation's value, after the reference count.
    state: u64,
    /// Its class's held vtables, one pointer per slot ([`Class::HELD`]).
    held: u64,
    /// The published layout of its state ([`Class::STATE_LAYOUT`]), nil
    /// when the class publishes none.
    state_layout: Guid,
    /// How many vtable slots it has (`IMutable`'s own is the last).
    slots: u32,
    /// Padding; zero.
    reserved: u32,
}

impl ObjectLayout {
    /// The layout of the object whose state is `value`: for the `IMutable`
    /// that `#[class(.., mutable)]` generates, whose thunks only ever pass
    /// the state of a live object.
    ///
    /// # Safety
    /// `value` is the state of a live `ComObject<T>`.
    #[doc(hidden)]
    pub unsafe fn of<T: Class>(value: &T) -> ObjectLayout {
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
            state_layout: T::STATE_LAYOUT,
        }
    }

    /// The object's state as a pointer to an `S`.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "the address came from a pointer of this address space"
    )]
    fn state_pointer<S>(&self) -> *mut S {
        core::ptr::with_exposed_provenance_mut(self.state as usize)
    }

    /// The index of the slot at `address`, if it is one of the object's.
    fn slot_index(&self, address: *mut c_void) -> Option<u32> {
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

/// A mutable object held for its mutator and the transition the mutator
/// runs, reached through what its `IMutable` reports: its gate, its slots
/// and their held vtables, the cells the mutator stages. The layout comes
/// only from the object model ([`ObjectLayout::of`]), so these are safe to
/// reach while `self` keeps the object alive. The protocol around them —
/// one mutator at a time ([`Gate::try_close`]), transitions only while it
/// stages — is the `mutate` component's; nothing else uses this.
pub struct MutableObject {
    layout: ObjectLayout,
    object: ComPtr<IMutable>,
}

impl MutableObject {
    /// The object `who`; `NO_INTERFACE` when it is not mutable.
    pub fn of(who: &IUnknown) -> Result<MutableObject> {
        let object = who.query::<IMutable>()?;
        let layout = object.layout()?;
        if layout.base == 0 || layout.gate == 0 || layout.slots == 0 {
            return Err(Status::NOT_SUPPORTED);
        }
        Ok(MutableObject { layout, object })
    }

    /// The object's gate.
    pub fn gate(&self) -> &Gate {
        let address = usize::try_from(self.layout.gate).unwrap_or(0);
        // SAFETY: the object model's own layout of the object, which `self`
        // keeps alive, names its gate (checked non-zero in `of`).
        unsafe { &*core::ptr::with_exposed_provenance::<Gate>(address) }
    }

    /// How many vtable slots the object has.
    pub fn slot_count(&self) -> usize {
        self.layout.slots as usize
    }

    /// The index of the slot the interface pointer `interface` points at,
    /// if it is one of the object's.
    pub fn slot_index(&self, interface: *mut c_void) -> Option<usize> {
        self.layout
            .slot_index(interface)
            .map(|index| index as usize)
    }

    /// Vtable slot `index`, if the object has it.
    pub fn slot(&self, index: usize) -> Option<&AtomicPtr<c_void>> {
        self.slot_array().get(index)
    }

    /// Every vtable slot, in order.
    pub fn slots(&self) -> impl Iterator<Item = &AtomicPtr<c_void>> {
        self.slot_array().iter()
    }

    /// The object's vtable slots.
    fn slot_array(&self) -> &[AtomicPtr<c_void>] {
        let base = usize::try_from(self.layout.base).unwrap_or(0);
        let first = core::ptr::with_exposed_provenance::<AtomicPtr<c_void>>(base);
        // SAFETY: the object model's own layout: `slots` vtable slots,
        // atomic pointers one after another from `base`, alive with `self`
        // (`of` checked the object has some, so `base` is its address).
        unsafe { core::slice::from_raw_parts(first, self.slot_count()) }
    }

    /// The held vtable of slot `index` ([`Class::HELD`]): what a mutator
    /// points the slot at while it holds the object; `None` for a slot it
    /// leaves alone.
    pub fn held_vtable(&self, index: usize) -> Option<*mut c_void> {
        if index >= self.slot_count() || self.layout.held == 0 {
            return None;
        }
        let table = core::ptr::with_exposed_provenance::<*const c_void>(
            usize::try_from(self.layout.held).ok()?,
        );
        // SAFETY: the class's `HELD` has one entry per slot, `index` is
        // below the slot count, and the class's module is loaded while the
        // object lives.
        let held = unsafe { *table.add(index) };
        (!held.is_null()).then_some(held.cast_mut())
    }

    /// Runs `work` with the object's vtable changes staged in `cells` (one
    /// per slot, in slot order): transition functions write there, not in
    /// the slots, until `work` returns. `ACCESS_DENIED` unless the caller's
    /// [`Gate::try_close`] holds the gate.
    pub fn staging<R>(&self, cells: &[AtomicPtr<c_void>], work: impl FnOnce() -> R) -> Result<R> {
        let gate = self.gate();
        if !gate.is_closed() {
            return Err(Status::ACCESS_DENIED);
        }
        // SAFETY: the caller holds the gate (checked: closed, and only the
        // mutator that closed it stages), and `cells` outlives the staging,
        // which ends before this returns.
        unsafe { gate.stage(cells) };
        let result = work();
        gate.unstage();
        Ok(result)
    }

    /// Runs `work` on where slot `index`'s vtable pointer is to be read and
    /// changed: while a mutator stages, the cell it stages for the slot
    /// (the slot itself holds a held vtable then); otherwise the slot.
    pub(crate) fn with_vtable_cell<R>(
        &self,
        index: usize,
        work: impl FnOnce(&AtomicPtr<c_void>) -> R,
    ) -> Option<R> {
        let slot = self.slot(index)?;
        Some(match self.gate().staged_cell(index) {
            Some(staged) => work(staged),
            None => work(slot),
        })
    }
}

/// A transition handing an object to class `T` of the module it runs in:
/// a new version of a component, a driver taking a device's object over.
///
/// [`Takeover::check`] makes sure the object can be a `T`; the transition
/// then keeps the object's state ([`Takeover::keep_state`]) or replaces it
/// with one made from it ([`Takeover::replace`]), reading it as the state
/// layout its class published (`#[class(.., mutable(State))]`,
/// `#[published_state]`). Either makes the object this module's and
/// installs `T`'s vtables, failing only before it has changed anything;
/// the mutator's closed gate keeps every call out meanwhile.
pub struct Takeover<T: Class> {
    object: MutableObject,
    class: PhantomData<T>,
}

impl<T: Class> Takeover<T> {
    /// Checks that the object `object` (its identity) is held by a mutator
    /// that stages its vtables — a transition runs — (`ACCESS_DENIED`);
    /// and that it is laid out as a `T` — size, state offset, `T`'s
    /// interfaces in `T`'s slots, the gate as the state's first field
    /// (`NOT_SUPPORTED`). It may be a `T` already: a module's transition
    /// may switch its own objects between classes of one published state.
    pub fn check(object: &IUnknown) -> Result<Takeover<T>> {
        let mutable = MutableObject::of(object)?;
        if !mutable.gate().is_staging() {
            return Err(Status::ACCESS_DENIED);
        }
        let layout = &mutable.layout;
        let fits = layout.size == size_of::<ComObject<T>>() as u64
            && layout.state.checked_sub(layout.base) == Some(ComObject::<T>::VALUE_OFFSET as u64)
            && layout.gate == layout.state
            && usize::try_from(layout.slots) == Ok(T::IIDS.len());
        if !fits {
            return Err(Status::NOT_SUPPORTED);
        }
        for (slot, iid) in mutable.slots().zip(T::IIDS) {
            if !core::ptr::addr_eq(slot, object.query_iid(iid)?.as_raw()) {
                return Err(Status::NOT_SUPPORTED);
            }
        }
        Ok(Takeover {
            object: mutable,
            class: PhantomData,
        })
    }

    /// The object's state, read as the published state `S`; `NOT_SUPPORTED`
    /// unless the object's class declared it (`mutable(S)`).
    pub fn state<S: PublishedState>(&self) -> Result<&S> {
        let layout = &self.object.layout;
        let room = layout.size.saturating_sub(layout.state - layout.base);
        let readable = S::ID != Guid::default()
            && layout.state_layout == S::ID
            && size_of::<S>() as u64 <= room
            && layout.state.is_multiple_of(align_of::<S>() as u64);
        if !readable {
            return Err(Status::NOT_SUPPORTED);
        }
        // SAFETY: the object's class wraps an `S` transparently (only
        // `#[class(.., mutable(S))]` gives its layout `S`'s ID), so its
        // state is one, alive while `self` holds the object.
        Ok(unsafe { &*layout.state_pointer::<S>() })
    }

    /// The object's state as a `T`, if its class is `T` already: its
    /// class reports `T`'s state layout, which is not nil (and `check`
    /// found it laid out as a `T`); `NOT_SUPPORTED` otherwise.
    pub(crate) fn own_state(&self) -> Result<*mut T> {
        let layout = &self.object.layout;
        if T::STATE_LAYOUT == Guid::default() || layout.state_layout != T::STATE_LAYOUT {
            return Err(Status::NOT_SUPPORTED);
        }
        Ok(layout.state_pointer::<T>())
    }

    /// Takes the object over keeping its state, which `T` publishes as
    /// the object's class does (`NOT_SUPPORTED` otherwise).
    pub fn keep_state(self) -> Result<()> {
        if T::STATE_LAYOUT == Guid::default() || T::STATE_LAYOUT != self.object.layout.state_layout
        {
            return Err(Status::NOT_SUPPORTED);
        }
        self.install()
    }

    /// Takes the object over with the state `make` builds from the old
    /// one, read as the published state `S`. The gate stays where it is
    /// (a fresh one in `T`'s value is dropped); the old state owns nothing
    /// to drop (published states never do). `T`'s gate must be its first
    /// field (`NOT_SUPPORTED`).
    pub fn replace<S: PublishedState>(self, make: impl FnOnce(&S) -> Result<T>) -> Result<()> {
        let new = make(self.state::<S>()?)?;
        let gate_first = T::gate(&new).is_some_and(|gate| core::ptr::addr_eq(gate, &raw const new));
        if !gate_first {
            return Err(Status::NOT_SUPPORTED);
        }
        self.install()?;
        let skip = size_of::<Gate>();
        // SAFETY: the object is laid out as a `T` (`check`) with no call
        // inside (a mutator holds it); past the gate lie `T`'s other
        // fields, which only this transition touches now. `new` is
        // forgotten once its bytes have moved.
        unsafe {
            let from = (&raw const new).cast::<u8>().add(skip);
            let to = self.object.layout.state_pointer::<u8>().add(skip);
            core::ptr::copy_nonoverlapping(from, to, size_of::<T>() - skip);
        }
        core::mem::forget(new);
        Ok(())
    }

    /// Makes the object this module's — the module that made it stops
    /// counting it (`IMutable::disown`, refused unless a mutator holds the
    /// gate), this one starts — and points every slot at `T`'s vtables
    /// (staged: the slots take them when the mutator lets calls in again).
    /// Fails only before anything has changed.
    fn install(&self) -> Result<()> {
        self.object.object.disown()?;
        adopt();
        for (index, vtable) in T::vtables().as_slice().iter().enumerate() {
            self.object.with_vtable_cell(index, |cell| {
                cell.store(vtable_in(vtable), Ordering::Release)
            });
        }
        Ok(())
    }
}

/// A state layout a module publishes, so that another module's transition
/// can read its objects' state ([`Takeover::state`]): implemented by
/// `#[published_state("uuid")]`, which checks the rules below.
///
/// # Safety
/// The type is `#[repr(C)]`, its first field is the object's [`Gate`], it
/// owns nothing that needs dropping, and `ID` names this layout alone.
pub unsafe trait PublishedState: Sized + Sync {
    /// The layout's identifier.
    const ID: Guid;
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
