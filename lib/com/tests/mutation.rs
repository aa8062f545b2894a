//! Host tests of the object model's side of mutation: what the gate
//! counts, how the held vtables hold calls back while a mutator stages the
//! new ones, who may disown an object, and handing an object to another
//! class with `Takeover`.

#![allow(clippy::unwrap_used, missing_docs)]

use core::ffi::c_void;
use core::ops::Deref;
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::time::Duration;

use com::{
    ComObject, ComPtr, Gate, IMutable, IUnknown, ObjectLayout, Result, Status, Takeover, class,
    interface,
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

#[class(IVersioned, mutable)]
#[repr(C)]
struct First {
    gate: Gate,
    value: AtomicU64,
}

/// `First`'s state under another class.
#[class(IVersioned, mutable)]
#[repr(transparent)]
struct Second(First);

impl Deref for Second {
    type Target = First;
    fn deref(&self) -> &First {
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
    ComObject::create(First {
        gate: Gate::new(),
        value: AtomicU64::new(7),
    })
}

fn gate_of(object: &IUnknown) -> &Gate {
    let layout = object.query::<IMutable>().unwrap().layout().unwrap();
    // SAFETY: the object's own layout names its gate, alive with `object`.
    unsafe { &*core::ptr::with_exposed_provenance::<Gate>(usize::try_from(layout.gate).unwrap()) }
}

/// Slot `index` of the object `layout` describes.
fn slot(layout: &ObjectLayout, index: u32) -> &AtomicPtr<c_void> {
    // SAFETY: the object's own layout names its slots, alive with it.
    unsafe { &*layout.slot(index).unwrap().cast::<AtomicPtr<c_void>>() }
}

/// What the `mutate` component does around a change, step by step: holds
/// the object (gate taken, vtables staged, slots on the held vtables) until
/// `let_go`.
struct Hold<'a> {
    layout: ObjectLayout,
    gate: &'a Gate,
    staged: Vec<AtomicPtr<c_void>>,
}

impl<'a> Hold<'a> {
    fn new(object: &'a IUnknown) -> Hold<'a> {
        let layout = object.query::<IMutable>().unwrap().layout().unwrap();
        let gate = gate_of(object);
        assert!(gate.try_close(false));
        let staged = (0..layout.slots)
            .map(|index| AtomicPtr::new(slot(&layout, index).load(Ordering::Acquire)))
            .collect::<Vec<_>>();
        // SAFETY: the gate is taken, and `staged` lives until `let_go`.
        unsafe { gate.stage(&staged) };
        for index in 0..layout.slots {
            // SAFETY: the layout is the live object's own.
            if let Some(held) = unsafe { layout.held_vtable(index) } {
                slot(&layout, index).store(held, Ordering::Release);
            }
        }
        Hold {
            layout,
            gate,
            staged,
        }
    }

    fn let_go(self) {
        for (index, cell) in (0..self.layout.slots).zip(&self.staged) {
            slot(&self.layout, index).store(cell.load(Ordering::Acquire), Ordering::Release);
        }
        self.gate.unstage();
        self.gate.open();
    }
}

/// The gate counts the calls inside, and nothing once they have left.
#[test]
fn the_gate_counts_the_calls_inside() {
    let object = first();
    let gate = gate_of(object.as_unknown());
    assert!(!gate.has_calls_inside());
    assert_eq!(object.inside(), Ok(true));
    assert!(!gate.has_calls_inside());
}

/// A call made while a mutator holds the object waits, and is answered by
/// the class the mutator installed — which reaches the slots only when it
/// lets go, not while the transition still works.
#[test]
fn held_calls_wait_and_are_issued_again_on_the_new_class() {
    let object = first();
    let identity = object.query::<IUnknown>().unwrap();
    let hold = Hold::new(&identity);
    let held = slot(&hold.layout, 0).load(Ordering::Acquire);
    assert_ne!(held, hold.staged[0].load(Ordering::Acquire));
    let caller = {
        let object = object.clone();
        std::thread::spawn(move || object.version())
    };
    std::thread::sleep(Duration::from_millis(20));
    assert!(!caller.is_finished(), "the call must wait for the mutator");
    // SAFETY: the object is held with no call inside; `Second` wraps
    // `First`'s state as it is.
    let takeover = unsafe { Takeover::<Second>::check(&identity) }.unwrap();
    takeover.finish().unwrap();
    assert_eq!(
        slot(&hold.layout, 0).load(Ordering::Acquire),
        held,
        "the new vtable is staged, not in the slot"
    );
    std::thread::sleep(Duration::from_millis(20));
    assert!(!caller.is_finished());
    hold.let_go();
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
    let gate = gate_of(object.as_unknown());
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
fn takeover_checks_the_layout_then_installs_the_new_class() {
    let object = first();
    let identity = object.query::<IUnknown>().unwrap();
    let gate = gate_of(&identity);
    assert!(gate.try_close(false));
    // SAFETY: the gate is closed with no call inside; it is refused.
    let larger = unsafe { Takeover::<Larger>::check(&identity) };
    assert_eq!(larger.err(), Some(Status::NOT_SUPPORTED));
    // SAFETY: as above, and `Second` keeps `First`'s state as it is.
    let takeover = unsafe { Takeover::<Second>::check(&identity) }.unwrap();
    // SAFETY: the state is `First`'s, which `Second` wraps.
    let state = unsafe { &*takeover.state() };
    assert_eq!(state.value.load(Ordering::Relaxed), 7);
    takeover.finish().unwrap();
    // SAFETY: the gate is still closed; it is refused.
    let again = unsafe { Takeover::<Second>::check(&identity) };
    assert_eq!(again.err(), Some(Status::ALREADY_EXISTS));
    gate.open();
    assert_eq!(object.version(), Ok(2));
}

#[test]
fn takeover_outside_a_mutation_changes_nothing() {
    let object = first();
    let identity = object.query::<IUnknown>().unwrap();
    // SAFETY: deliberately broken: no mutator holds the gate, which
    // `finish` must notice before it changes anything.
    let takeover = unsafe { Takeover::<Second>::check(&identity) }.unwrap();
    assert_eq!(takeover.finish(), Err(Status::ACCESS_DENIED));
    assert_eq!(object.version(), Ok(1));
}
