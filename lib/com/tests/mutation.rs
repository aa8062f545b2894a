//! Host tests of the object model's side of mutation: what the gate
//! counts, how the held vtables hold calls back while a mutator stages the
//! new ones, who may disown an object, and handing an object to another
//! class with `Takeover`.

#![allow(clippy::unwrap_used, missing_docs)]

use core::ops::Deref;
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::time::Duration;

use com::moved::Moved;
use com::{
    ComObject, ComPtr, Gate, IMutable, IUnknown, MutableObject, Result, Status, Takeover, class,
    interface, published_state,
};

#[interface("6c1f8b21-2d3e-4f40-9b0a-1d2e3f4a5b60")]
/// What the test objects answer.
pub trait IVersioned {
    /// Which class answers.
    fn version(&self) -> Result<u32>;
    /// Fails with `status`, as the implementation's own failure.
    fn fail(&self, status: Status) -> Result<()>;
    /// Whether the object's gate counts a call inside (this one).
    fn inside(&self) -> Result<bool>;
}

/// The state both `First` and `Second` keep, published for takeovers.
#[published_state("0d4c1e7a-5b3f-4a2e-8c61-9f0e2d3b4a51")]
#[repr(C)]
struct Shared {
    gate: Gate,
    value: AtomicU64,
}

#[class(IVersioned, mutable(Shared))]
#[repr(transparent)]
struct First(Shared);

/// `First`'s state under another class.
#[class(IVersioned, mutable(Shared))]
#[repr(transparent)]
struct Second(Shared);

/// A class with a state of its own, made from `Shared`.
#[class(IVersioned, mutable)]
#[repr(C)]
struct Third {
    gate: Gate,
    doubled: Box<u64>,
}

impl Deref for First {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl Deref for Second {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// A class of another size.
#[class(IVersioned, mutable)]
#[repr(C)]
struct Larger {
    gate: Gate,
    values: [u64; 4],
}

impl IVersionedImpl for First {
    fn version(&self) -> Result<u32> {
        Ok(1)
    }

    fn fail(&self, status: Status) -> Result<()> {
        Err(status)
    }

    fn inside(&self) -> Result<bool> {
        Ok(self.gate.has_calls_inside())
    }
}

impl IVersionedImpl for Second {
    fn version(&self) -> Result<u32> {
        Ok(2)
    }

    fn fail(&self, status: Status) -> Result<()> {
        Err(status)
    }

    fn inside(&self) -> Result<bool> {
        Ok(self.gate.has_calls_inside())
    }
}

impl IVersionedImpl for Third {
    fn version(&self) -> Result<u32> {
        Ok(u32::try_from(*self.doubled).unwrap())
    }

    fn fail(&self, status: Status) -> Result<()> {
        Err(status)
    }

    fn inside(&self) -> Result<bool> {
        Ok(self.gate.has_calls_inside())
    }
}

impl IVersionedImpl for Larger {
    fn version(&self) -> Result<u32> {
        Ok(u32::try_from(self.values.len()).unwrap())
    }

    fn fail(&self, status: Status) -> Result<()> {
        Err(status)
    }

    fn inside(&self) -> Result<bool> {
        Ok(self.gate.has_calls_inside())
    }
}

fn first() -> ComPtr<IVersioned> {
    ComObject::create(First(Shared {
        gate: Gate::new(),
        value: AtomicU64::new(7),
    }))
}

/// What the `mutate` component does around a change, step by step: takes
/// the gate, stages the vtables, points the slots at the held vtables,
/// runs `change` while other threads call, and lets go: the slots take the
/// staged vtables and the gate opens.
fn mutate<R>(object: &IUnknown, change: impl FnOnce(&MutableObject) -> R) -> R {
    let target = MutableObject::of(object).unwrap();
    assert!(target.gate().try_close(false));
    let staged: Vec<_> = target
        .slots()
        .map(|slot| AtomicPtr::new(slot.load(Ordering::Acquire)))
        .collect();
    let result = target
        .staging(&staged, || {
            for (index, slot) in target.slots().enumerate() {
                if let Some(held) = target.held_vtable(index) {
                    slot.store(held, Ordering::Release);
                }
            }
            let result = change(&target);
            for (slot, cell) in target.slots().zip(&staged) {
                slot.store(cell.load(Ordering::Acquire), Ordering::Release);
            }
            result
        })
        .unwrap();
    target.gate().open();
    result
}

/// The gate counts the calls inside, and nothing once they have left.
#[test]
fn the_gate_counts_the_calls_inside() {
    let object = first();
    let target = MutableObject::of(object.as_unknown()).unwrap();
    assert!(!target.gate().has_calls_inside());
    assert_eq!(object.inside(), Ok(true));
    assert!(!target.gate().has_calls_inside());
}

/// A call made while a mutator holds the object waits, and is answered by
/// the class the mutator installed — which reaches the slots only when it
/// lets go, not while the transition still works.
#[test]
fn held_calls_wait_and_are_issued_again_on_the_new_class() {
    let object = first();
    let identity = object.query::<IUnknown>().unwrap();
    let caller = mutate(&identity, |target| {
        let held = target.slot(0).unwrap().load(Ordering::Acquire);
        assert_eq!(Some(held), target.held_vtable(0));
        let caller = {
            let object = object.clone();
            std::thread::spawn(move || object.version())
        };
        std::thread::sleep(Duration::from_millis(20));
        assert!(!caller.is_finished(), "the call must wait for the mutator");
        Takeover::<Second>::check(&identity)
            .unwrap()
            .keep_state()
            .unwrap();
        assert_eq!(
            target.slot(0).unwrap().load(Ordering::Acquire),
            held,
            "the new vtable is staged, not in the slot"
        );
        std::thread::sleep(Duration::from_millis(20));
        assert!(!caller.is_finished());
        caller
    });
    assert_eq!(caller.join().unwrap(), Ok(2));
    assert_eq!(object.version(), Ok(2));
}

/// Only a checkpoint's `PUSHED_OUT` makes a thunk issue the call again;
/// `RETRY` is a status like any other and goes back to the caller (issued
/// again, it would come back forever).
#[test]
fn a_retry_the_method_raised_itself_reaches_the_caller() {
    let object = first();
    assert_eq!(object.fail(Status::RETRY), Err(Status::RETRY));
    assert_eq!(object.fail(Status::TIMED_OUT), Err(Status::TIMED_OUT));
}

/// A plain class whose method fails with whatever it is given.
#[class(IVersioned)]
struct Plain;

impl IVersionedImpl for Plain {
    fn version(&self) -> Result<u32> {
        Ok(0)
    }

    fn fail(&self, status: Status) -> Result<()> {
        Err(status)
    }

    fn inside(&self) -> Result<bool> {
        Ok(false)
    }
}

/// `PUSHED_OUT` never crosses a call: a thunk that would not issue it again
/// turns it into `FAILED` — else a mutable method passing it on with `?`
/// would be issued again forever.
#[test]
fn pushed_out_never_crosses_a_call() {
    let plain: ComPtr<IVersioned> = ComObject::create(Plain);
    assert_eq!(plain.fail(Status::PUSHED_OUT), Err(Status::FAILED));
}

#[test]
fn disown_needs_a_closed_gate_and_happens_once_per_mutation() {
    let object = first();
    let mutable = object.query::<IMutable>().unwrap();
    let target = MutableObject::of(object.as_unknown()).unwrap();
    let gate = target.gate();
    assert_eq!(mutable.disown(), Err(Status::ACCESS_DENIED));
    assert!(gate.try_close(false));
    assert!(!gate.try_close(false), "a second mutator must wait");
    assert_eq!(mutable.disown(), Ok(()));
    assert_eq!(mutable.disown(), Err(Status::ACCESS_DENIED));
    com::adopt();
    gate.open();
    assert_eq!(object.version(), Ok(1));
}

#[test]
fn takeover_checks_the_layout_then_keeps_the_published_state() {
    let object = first();
    let identity = object.query::<IUnknown>().unwrap();
    mutate(&identity, |_| {
        let larger = Takeover::<Larger>::check(&identity);
        assert_eq!(larger.err(), Some(Status::NOT_SUPPORTED));
        let takeover = Takeover::<Second>::check(&identity).unwrap();
        let state = takeover.state::<Shared>().unwrap();
        assert_eq!(state.value.load(Ordering::Relaxed), 7);
        takeover.keep_state().unwrap();
        let again = Takeover::<Second>::check(&identity).unwrap();
        assert_eq!(
            again.keep_state(),
            Err(Status::ACCESS_DENIED),
            "one takeover per mutation"
        );
    });
    assert_eq!(object.version(), Ok(2));
}

#[test]
fn takeover_replaces_the_state_with_one_made_from_it() {
    let object = first();
    let identity = object.query::<IUnknown>().unwrap();
    mutate(&identity, |_| {
        let takeover = Takeover::<Third>::check(&identity).unwrap();
        // `Third` publishes no state: it cannot keep `Shared` as it is.
        assert_eq!(
            Takeover::<Third>::check(&identity).unwrap().keep_state(),
            Err(Status::NOT_SUPPORTED)
        );
        takeover
            .replace(|old: &Shared| {
                Ok(Third {
                    gate: Gate::new(),
                    doubled: Box::new(2 * old.value.load(Ordering::Relaxed)),
                })
            })
            .unwrap();
    });
    assert_eq!(object.version(), Ok(14));
    assert_eq!(object.inside(), Ok(true), "the gate still counts calls");
}

#[test]
fn a_failed_replacement_changes_nothing() {
    let object = first();
    let identity = object.query::<IUnknown>().unwrap();
    let refused = mutate(&identity, |_| {
        Takeover::<Third>::check(&identity)
            .unwrap()
            .replace(|_: &Shared| Err(Status::INVALID_ARGUMENT))
    });
    assert_eq!(refused, Err(Status::INVALID_ARGUMENT));
    assert_eq!(object.version(), Ok(1));
}

#[test]
fn takeover_outside_a_mutation_is_refused() {
    let object = first();
    let identity = object.query::<IUnknown>().unwrap();
    let takeover = Takeover::<Second>::check(&identity);
    assert_eq!(takeover.err(), Some(Status::ACCESS_DENIED));
    let target = MutableObject::of(&identity).unwrap();
    assert!(target.gate().try_close(false));
    let unstaged = Takeover::<Second>::check(&identity);
    assert_eq!(
        unstaged.err(),
        Some(Status::ACCESS_DENIED),
        "a mutator holds the gate but runs no transition"
    );
    target.gate().open();
    assert_eq!(object.version(), Ok(1));
}

/// A state the size of a moved object's: the gate, a format word, a value.
#[published_state("3b7e2a90-6c14-4d5f-a8e2-5f1c0d9b7e34")]
#[repr(C)]
struct Tally {
    gate: Gate,
    format: u32,
    value: AtomicU64,
}

#[class(IVersioned, mutable(Tally))]
#[repr(transparent)]
struct Counted(Tally);

impl Deref for Counted {
    type Target = Tally;
    fn deref(&self) -> &Tally {
        &self.0
    }
}

impl IVersionedImpl for Counted {
    fn version(&self) -> Result<u32> {
        Ok(100)
    }

    fn fail(&self, status: Status) -> Result<()> {
        Err(status)
    }

    fn inside(&self) -> Result<bool> {
        Ok(self.gate.has_calls_inside())
    }
}

/// Where a moved `Counted` went: answers with the value it was made from.
#[class(IVersioned)]
struct Elsewhere(u32);

impl IVersionedImpl for Elsewhere {
    fn version(&self) -> Result<u32> {
        Ok(self.0)
    }

    fn fail(&self, status: Status) -> Result<()> {
        Err(status)
    }

    fn inside(&self) -> Result<bool> {
        Ok(false)
    }
}

/// Moves `object` (a `Counted`) to a new `Elsewhere` made from its value;
/// that target.
fn move_counted(identity: &IUnknown) -> Result<ComPtr<IVersioned>> {
    mutate(identity, |_| {
        let takeover = Takeover::<Moved<IVersioned>>::check(identity)?;
        let mut made = None;
        takeover.replace(|old: &Tally| {
            let value = u32::try_from(old.value.load(Ordering::Relaxed)).unwrap();
            let target: ComPtr<IVersioned> = ComObject::create(Elsewhere(value));
            made = Some(target.clone());
            Moved::forwarding(target)
        })?;
        Ok(made.unwrap())
    })
}

/// A moved object forwards every call, with its arguments, to its target,
/// keeps its identity and gate, holds calls back during a mutation like
/// any mutable object, and releases the target with its last reference.
#[test]
fn a_moved_object_forwards_its_calls_and_keeps_its_identity() {
    let object: ComPtr<IVersioned> = ComObject::create(Counted(Tally {
        gate: Gate::new(),
        format: 1,
        value: AtomicU64::new(41),
    }));
    let identity = object.query::<IUnknown>().unwrap();
    let target = move_counted(&identity).unwrap();
    assert_eq!(object.version(), Ok(41), "answered by the target");
    assert_eq!(object.fail(Status::RETRY), Err(Status::RETRY));
    assert!(object.query::<IUnknown>().unwrap().ptr_eq(&identity));
    let moved = MutableObject::of(&identity).expect("still mutable");
    assert!(!moved.gate().has_calls_inside());
    // Mutated again: a call waits in its held table and is then issued
    // on the table the object has; it publishes no state, so nothing
    // reads it as a `Tally`.
    let (caller, again) = mutate(&identity, |_| {
        let caller = {
            let object = object.clone();
            std::thread::spawn(move || object.version())
        };
        std::thread::sleep(Duration::from_millis(20));
        assert!(!caller.is_finished(), "the call must wait for the mutator");
        let again = Takeover::<Counted>::check(&identity)
            .and_then(|takeover| takeover.state::<Tally>().map(drop));
        (caller, again)
    });
    assert_eq!(again, Err(Status::NOT_SUPPORTED));
    assert_eq!(caller.join().unwrap(), Ok(41));
    assert_eq!(target.reference_count(), 2, "ours and the moved object's");
    drop((object, identity, moved));
    assert_eq!(target.reference_count(), 1, "released with the object");
}

/// A moved object moves on: its target changes, its class, identity and
/// gate stay, and the old target is handed back to be released; an
/// object that has not moved cannot be retargeted.
#[test]
fn a_moved_object_moves_on_to_another_target() {
    let object: ComPtr<IVersioned> = ComObject::create(Counted(Tally {
        gate: Gate::new(),
        format: 1,
        value: AtomicU64::new(41),
    }));
    let identity = object.query::<IUnknown>().unwrap();
    let not_moved = mutate(&identity, |_| {
        let takeover = Takeover::<Moved<IVersioned>>::check(&identity)?;
        Moved::retarget(takeover, ComObject::create(Elsewhere(1))).map(drop)
    });
    assert_eq!(not_moved, Err(Status::NOT_SUPPORTED));
    assert_eq!(object.version(), Ok(100), "still a `Counted`");
    let first = move_counted(&identity).unwrap();
    let second: ComPtr<IVersioned> = ComObject::create(Elsewhere(42));
    let old = mutate(&identity, |_| {
        let takeover = Takeover::<Moved<IVersioned>>::check(&identity)?;
        assert_eq!(Moved::target_of(&takeover)?.version(), Ok(41));
        Moved::retarget(takeover, second.clone())
    })
    .unwrap();
    assert!(old.ptr_eq(&first), "the old target comes back");
    drop(old);
    assert_eq!(first.reference_count(), 1, "only ours is left");
    assert_eq!(object.version(), Ok(42), "answered by the new target");
    assert!(object.query::<IUnknown>().unwrap().ptr_eq(&identity));
    assert_eq!(second.reference_count(), 2, "ours and the moved object's");
    drop((object, identity));
    assert_eq!(second.reference_count(), 1, "released with the object");
}

/// Only objects laid out as a moved one can move: `First` is smaller.
#[test]
fn objects_of_another_layout_do_not_move() {
    let object = first();
    let identity = object.query::<IUnknown>().unwrap();
    let refused = mutate(&identity, |_| {
        Takeover::<Moved<IVersioned>>::check(&identity).map(drop)
    });
    assert_eq!(refused, Err(Status::NOT_SUPPORTED));
    assert_eq!(object.version(), Ok(1));
}
