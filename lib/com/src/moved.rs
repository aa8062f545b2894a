//! Object mobility: the class an object takes when it moves to another
//! address space, whose methods forward every call to the object it
//! became there.
//!
//! A transition makes a mutable object a [`Moved<I>`] with
//! `Takeover::<Moved<I>>::check(object)?.replace(|old: &State| ..)`,
//! handing [`Moved::forwarding`] the object's new self — in the IPC, the
//! kernel-space proxy of the object a process built from the old state.
//! The object keeps its address, identity, references and gate; the slot
//! of `I` gets a table of forwarders, one per method of `I`'s signature,
//! generic over the method's index as the interposer's are
//! ([`crate::interposition`]): each counts itself into the gate and calls
//! the same method of the target with the registers it came with (every
//! argument of the ABI travels in integer registers; a method needing more
//! than the seven passed on is refused, as is an interface of more methods
//! than there are forwarders). Nothing is written per interface or per
//! method. `IMutable` stays in the last slot, so the moved object can be
//! mutated again (its held table holds calls back like any class's).
//!
//! The state is the gate, a format word ([`FORMAT_MOVED`]) where the
//! counter's published state keeps its own, and the target: 40 bytes, so
//! only objects of that size and two slots — one interface and `IMutable`
//! — can become a `Moved<I>` (`Takeover::check` refuses others).

use core::ffi::c_void;
use core::sync::atomic::AtomicPtr;

use crate::interposition::fits;
use crate::{
    Class, ComObject, ComPtr, Gate, Guid, IMutable, IMutableImpl, IUnknown, IUnknownVtbl,
    Implement, Interface, KeepLoaded, MOST_METHODS, MethodTable as Table, ObjectLayout, Result,
    Status, Takeover,
};

/// What a moved object's format word holds ("MOVE"): not a version of
/// any class that publishes its state, so no transition reading the
/// counter's published state mistakes it for one.
pub const FORMAT_MOVED: u32 = u32::from_le_bytes(*b"MOVE");

/// The state layout every `Moved<I>` reports (`IMutable::layout`), by
/// which [`Moved::retarget`] knows an object moved already. No
/// `PublishedState` has it: the state owns its target.
pub const MOVED_LAYOUT: Guid = Guid::from_u128(0x6d6f7665_6400_4c61_b96f_757400000001);

/// An object that moved to another space: its calls through interface
/// `I` go to `target`.
#[repr(C)]
pub struct Moved<I: Interface> {
    gate: Gate,
    format: u32,
    target: ComPtr<I>,
}

impl<I: Interface> Moved<I> {
    /// The state of an object whose calls go to `target`;
    /// `NOT_SUPPORTED` when `I` has a method a forwarder cannot pass on,
    /// or more methods than there are forwarders.
    pub fn forwarding(target: ComPtr<I>) -> Result<Moved<I>> {
        let methods = I::SIGNATURE.methods;
        if methods.len() > MOST_METHODS || !methods.iter().all(fits) {
            return Err(Status::NOT_SUPPORTED);
        }
        Ok(Moved {
            gate: Gate::new(),
            format: FORMAT_MOVED,
            target,
        })
    }

    /// Where the calls go.
    pub fn target(&self) -> &I {
        &self.target
    }

    /// Where the calls of the object `takeover` holds go, if it is a
    /// `Moved<I>` already (`NOT_SUPPORTED` otherwise): the transition
    /// moving it on reads the old target's state through it (a call
    /// through the object itself would wait for the mutator).
    pub fn target_of(takeover: &Takeover<Moved<I>>) -> Result<ComPtr<I>> {
        let state = takeover.own_state()?;
        // SAFETY: as in `retarget`: `state` is a live `Moved<I>`, whose
        // target nothing changes while the mutator holds it.
        Ok(ComPtr::from_ref(unsafe { &*(*state).target }))
    }

    /// Moves the object `takeover` holds on: an object that is a
    /// `Moved<I>` already gets `target` as its new target, keeping its
    /// class; the target it had, which the caller releases (after the
    /// mutation, or here — no call is inside). `NOT_SUPPORTED` for an
    /// object of another class.
    pub fn retarget(takeover: Takeover<Moved<I>>, target: ComPtr<I>) -> Result<ComPtr<I>> {
        let state = takeover.own_state()?;
        // Fails only before anything changed; the object stays held (the
        // mutator keeps its reference) while the target changes below.
        takeover.keep_state()?;
        // SAFETY: the object's class is `Moved<I>` (its layout is
        // `MOVED_LAYOUT`, and `Takeover::check` found `I` in its first slot
        // and its size and state a `Moved<I>`'s), so `state` points at a
        // live `Moved<I>`. A mutator stages it, so no call is inside to
        // read the target meanwhile, and none comes in until the mutator
        // lets calls in again.
        Ok(unsafe { core::ptr::replace(&raw mut (*state).target, target) })
    }

    /// The format word ([`FORMAT_MOVED`]).
    pub fn format(&self) -> u32 {
        self.format
    }

    /// Slot 0's table: the class's own `IUnknown` methods (identity and
    /// references stay the object's), then a forwarder per method index.
    const FORWARDING: &'static Table = &Table {
        base: IUnknownVtbl::new::<Moved<I>, 0>(),
        methods: [
            forward::<I, 0>,
            forward::<I, 1>,
            forward::<I, 2>,
            forward::<I, 3>,
            forward::<I, 4>,
            forward::<I, 5>,
            forward::<I, 6>,
            forward::<I, 7>,
            forward::<I, 8>,
            forward::<I, 9>,
            forward::<I, 10>,
            forward::<I, 11>,
        ],
    };

    /// Slot 0's held table: methods that wait for the mutator and issue
    /// the call again through the table the object has then.
    const HOLDING: &'static Table = &Table {
        base: IUnknownVtbl::new::<Moved<I>, 0>(),
        methods: [
            held::<I, 0>,
            held::<I, 1>,
            held::<I, 2>,
            held::<I, 3>,
            held::<I, 4>,
            held::<I, 5>,
            held::<I, 6>,
            held::<I, 7>,
            held::<I, 8>,
            held::<I, 9>,
            held::<I, 10>,
            held::<I, 11>,
        ],
    };
}

// SAFETY: slot 0 holds `FORWARDING`, whose thunks treat their object
// pointer as slot 0 of a `ComObject<Moved<I>>` and are a table of `I`
// (its `IUnknown` three, then a forwarder per method index); slot 1 holds
// `IMutable`'s table built for slot 1. `HELD` has an entry per slot.
unsafe impl<I: Interface> Class for Moved<I> {
    type Vtables = [AtomicPtr<c_void>; 2];
    const IIDS: &'static [Guid] = &[I::IID, IMutable::IID];
    const STATE_LAYOUT: Guid = MOVED_LAYOUT;
    // `IMutable`'s slot, the last, is never held: a mutator calls it.
    const HELD: &'static [*const c_void] =
        &[(Self::HOLDING as *const Table).cast(), core::ptr::null()];

    fn vtables() -> Self::Vtables {
        let mutable = <IMutable as Implement<Moved<I>, 1>>::VTBL;
        [
            AtomicPtr::new((Self::FORWARDING as *const Table).cast_mut().cast()),
            AtomicPtr::new(
                (mutable as *const <IMutable as Interface>::Vtbl)
                    .cast_mut()
                    .cast(),
            ),
        ]
    }

    #[inline(always)]
    fn gate(&self) -> Option<&Gate> {
        Some(&self.gate)
    }
}

impl<I: Interface> IMutableImpl for Moved<I> {
    fn layout(&self) -> Result<ObjectLayout> {
        // SAFETY: `IMutable`'s thunks pass the state of a live object.
        Ok(unsafe { ObjectLayout::of(self) })
    }

    fn disown(&self) -> Result<()> {
        self.gate.disown_object()
    }
}

/// Method `M` of a moved object: counted into the gate, passed on to the
/// target with the caller's registers.
///
/// # Safety
/// Called only through slot 0 of a `ComObject<Moved<I>>`, by the ABI.
#[allow(clippy::too_many_arguments, reason = "the ABI's argument registers")]
unsafe extern "C" fn forward<I: Interface, const M: usize>(
    this: *mut c_void,
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
    a5: usize,
    a6: usize,
    a7: usize,
) -> Status {
    // SAFETY: this table is installed only in slot 0 of a `Moved<I>`.
    let moved = unsafe { ComObject::<Moved<I>>::from_slot::<0>(this) }.value();
    let _inside = moved.gate.enter(this);
    // SAFETY: the target is an interface pointer of `I`, and the forwarder
    // of index `M` is reached only through a table of `I`, so its method
    // `M` exists (`forwarding` checked `I` has at most `MOST_METHODS`)
    // and takes the registers the caller passed, which `fits` made sure
    // are all of them.
    let status = unsafe {
        crate::dynamic::raw_call(moved.target.as_unknown(), M, [a1, a2, a3, a4, a5, a6, a7])
    };
    if status == Status::PUSHED_OUT {
        // Never across a call: see `Status::PUSHED_OUT`.
        return Status::FAILED;
    }
    status
}

/// Method `M` of a moved object's held table: waits until the mutator
/// lets calls in again, then issues the call through the table the object
/// has then. Keeps this module loaded meanwhile (the mutation may hand the
/// object to another module's class).
///
/// # Safety
/// As [`forward`].
#[cold]
#[inline(never)]
#[allow(clippy::too_many_arguments, reason = "the ABI's argument registers")]
unsafe extern "C" fn held<I: Interface, const M: usize>(
    this: *mut c_void,
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
    a5: usize,
    a6: usize,
    a7: usize,
) -> Status {
    let _loaded = KeepLoaded::this_module();
    // SAFETY: as in `forward`; every class the object may take keeps the
    // gate at the same place (`Takeover::check`).
    let moved = unsafe { ComObject::<Moved<I>>::from_slot::<0>(this) }.value();
    moved.gate.wait_until_open();
    // SAFETY: `this` is the caller's interface pointer of `I`, alive for
    // the call; whatever table its slot holds now is one of `I`, whose
    // method `M` takes the caller's registers.
    unsafe { crate::dynamic::raw_call(&*this.cast::<IUnknown>(), M, [a1, a2, a3, a4, a5, a6, a7]) }
}
