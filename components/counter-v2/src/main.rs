//! Example component, version 2: upgrades the live counter v1 object in place, carrying its total over.
//!
//! Binding `/counter-v2` runs its constructor, which finds the live v1
//! object at `/counter` and has `/mutate` run [`ToVersion2`] over it while
//! threads keep calling it. The object keeps its address and references;
//! its total moves into v2's own record, which also counts the additions;
//! its vtables become v2's; v1 stops counting it, so v1's module unloads
//! at the next idle point. The constructor hands out the same object,
//! which `/counter` and `/counter-v2` then both name.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

use alloc::boxed::Box;
use core::sync::atomic::{AtomicU64, Ordering};

use com::{
    ComObject, ComPtr, Gate, HasInterface, IMutable, IUnknown, Result, Status, class, vtable,
};
use interfaces::counter::CounterStateV1;
use interfaces::mutate::flags;
use interfaces::{ICounter, ICounterImpl, IMutate, ITransition, ITransitionImpl};

/// How long the upgrade may wait for calls to leave the object.
const UPGRADE_TIMEOUT_US: u64 = 1_000_000;

/// Version 2's state: the same size as v1's, the total now in a record of
/// its own beside a count of additions.
#[class(ICounter, mutable)]
#[repr(C)]
struct Counter {
    gate: Gate,
    tally: Box<Tally>,
}

struct Tally {
    total: AtomicU64,
    additions: AtomicU64,
}

impl ICounterImpl for Counter {
    fn add(&self, amount: u64) -> Result<u64> {
        self.tally.additions.fetch_add(1, Ordering::Relaxed);
        Ok(self.tally.total.fetch_add(amount, Ordering::Relaxed) + amount)
    }

    fn total(&self) -> Result<u64> {
        Ok(self.tally.total.load(Ordering::Relaxed))
    }

    fn version(&self) -> Result<u32> {
        Ok(2)
    }
}

/// The transition from v1's object to v2's.
#[class(ITransition)]
struct ToVersion2;

impl ITransitionImpl for ToVersion2 {
    #[allow(unsafe_code, reason = "a transition reads another module's state")]
    fn apply(&self, object: &IUnknown) -> Result<()> {
        let mutable = object.query::<IMutable>()?;
        let layout = mutable.layout()?;
        // Only v1's layout can be carried over: two slots, v1's state.
        if layout.slots != 2 || layout.size != size_of::<ComObject<Counter>>() as u64 {
            return Err(Status::NOT_SUPPORTED);
        }
        // SAFETY: an `ICounter` object of this layout is v1's, whose state
        // is `CounterStateV1`; the mutator keeps it alive.
        let old: &CounterStateV1 = unsafe { layout.state() };
        let tally = Box::new(Tally {
            total: AtomicU64::new(old.total.load(Ordering::Relaxed)),
            additions: AtomicU64::new(0),
        });
        // Nothing can fail from here on.
        mutable.disown()?;
        com::adopt();
        become_version_2(object, layout.state_pointer(), tally);
        Ok(())
    }
}

/// Rewrites v1's object as v2's: the record where the total was (the gate,
/// which the mutator holds, stays as it is), then every vtable slot.
#[allow(
    unsafe_code,
    reason = "a transition rewrites another module's object in place"
)]
fn become_version_2(object: &IUnknown, state: *mut Counter, tally: Box<Tally>) {
    // SAFETY: the state at that address has `Counter`'s layout (checked by
    // the caller) and no call is inside the object; the old total there was
    // a plain integer, so writing over it drops nothing.
    unsafe { (&raw mut (*state).tally).write(tally) };
    // SAFETY: as above, the object has `Counter`'s layout.
    let counter = unsafe { ComObject::<Counter>::from_identity(object) };
    let slots = [
        (
            <Counter as HasInterface<ICounter>>::SLOT,
            vtable!(Counter, ICounter),
        ),
        (
            <Counter as HasInterface<IMutable>>::SLOT,
            vtable!(Counter, IMutable),
        ),
    ];
    for (slot, vtable) in slots {
        // SAFETY: v2's vtables for v2's state, just written.
        let _ = unsafe { counter.set_vtable(slot, vtable) };
    }
}

fn construct() -> Result<ComPtr<IUnknown>> {
    let namespace = component::namespace()?;
    let counter = namespace.bind("/counter", 0)?;
    let mutate = namespace.bind("/mutate", 0)?.query::<IMutate>()?;
    let transition = ComObject::create::<ITransition>(ToVersion2);
    mutate.mutate_object(&counter, &transition, flags::BY_MUTEX, UPGRADE_TIMEOUT_US)?;
    Ok(counter)
}

component::component!(construct);
