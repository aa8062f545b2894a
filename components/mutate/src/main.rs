//! The mutation component: `IMutate`, which swaps an object's vtables or runs a transition over it while threads use it.
//!
//! Loaded on demand when something binds `/mutate`. The objects it changes
//! opt in through the object model (`#[class(.., mutable)]`), which gives
//! each a gate every call passes and an `IMutable` describing it. A
//! mutation here is:
//!
//! 1. close the gate, once no other mutator holds it: new calls wait
//!    outside (with `BY_ABORT`, calls inside also fail with `PUSHED_OUT` at
//!    their next checkpoint);
//! 2. wait until no call is inside;
//! 3. change the object: store the new vtable, or run the transition and
//!    put the vtable slots back if it fails;
//! 4. wait one grace period, so a thread preempted after loading the old
//!    vtable pointer reaches the closed gate rather than old code;
//! 5. open the gate: the method thunks of the calls waiting at it issue
//!    them again through the new vtables.
//!
//! Steps 1 and 2 share the caller's timeout: when it passes, the gate is
//! opened again (if it was taken), nothing has changed, and the answer is
//! `TIMED_OUT`.
//!
//! Depends on `com`, `interfaces` and the kernel's exports (time, the grace
//! period, and the word waits the gate sleeps in); components that take
//! objects over (`counter-v2`, `uart16550`) and the kernel's checks use it.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

use alloc::vec::Vec;
use core::ffi::c_void;
use core::sync::atomic::{AtomicPtr, Ordering};

use com::{
    ComObject, ComPtr, Gate, IMutable, IUnknown, Interface, ObjectLayout, Result, Status, class,
};
use interfaces::mutate::flags;
use interfaces::{IMutate, IMutateImpl, ITransition};

extern crate alloc;

/// How long the mutator sleeps between looks at a gate with calls inside
/// (leaving calls do not wake it: that keeps their way out one atomic add).
const POLL_US: u64 = 1_000;

#[class(IMutate)]
struct Mutator;

impl IMutateImpl for Mutator {
    fn mutate_vtable(
        &self,
        who: &IUnknown,
        vtable: u64,
        flags: u32,
        timeout_us: u64,
    ) -> Result<()> {
        if vtable == 0 || !vtable.is_multiple_of(size_of::<usize>() as u64) {
            return Err(Status::INVALID_ARGUMENT);
        }
        let target = Target::of(who)?;
        let slot = target
            .layout
            .slot_index(who.as_raw())
            .and_then(|index| target.slot(index))
            .ok_or(Status::INVALID_ARGUMENT)?;
        target.exclusively(flags, timeout_us, || {
            slot.store(vtable as *mut c_void, Ordering::Release);
            Ok(())
        })
    }

    fn mutate_object(
        &self,
        who: &IUnknown,
        transition: &ITransition,
        flags: u32,
        timeout_us: u64,
    ) -> Result<()> {
        let target = Target::of(who)?;
        let identity = who.query::<IUnknown>()?;
        target.exclusively(flags, timeout_us, || {
            let saved = target.vtables();
            transition
                .apply(&identity)
                .inspect_err(|_| target.restore(&saved))
        })
    }
}

/// An object being mutated, as its `IMutable` describes it.
struct Target {
    layout: ObjectLayout,
    /// Keeps the object alive while its gate and slots are in use.
    _object: ComPtr<IMutable>,
}

impl Target {
    /// The object behind `who`; `NO_INTERFACE` when it is not mutable.
    fn of(who: &IUnknown) -> Result<Target> {
        let object = who.query::<IMutable>()?;
        let layout = object.layout()?;
        if layout.gate == 0 || layout.slots == 0 {
            return Err(Status::NOT_SUPPORTED);
        }
        Ok(Target {
            layout,
            _object: object,
        })
    }

    fn gate(&self) -> &Gate {
        #[allow(
            unsafe_code,
            reason = "the gate is reached by the address the object gave"
        )]
        // SAFETY: the object reported its own gate's address, and the
        // reference in `_object` keeps the object, gate included, alive.
        unsafe {
            &*(self.layout.gate as *const Gate)
        }
    }

    /// Vtable slot `index`, if the object has it.
    fn slot(&self, index: u32) -> Option<&AtomicPtr<c_void>> {
        let address = self.layout.slot(index)?;
        #[allow(
            unsafe_code,
            reason = "the slots are reached by the address the object gave"
        )]
        // SAFETY: `layout.slot` gives only addresses of the object's vtable
        // slots (atomic pointers by the object layout), alive while
        // `_object` holds its reference.
        Some(unsafe { &*address.cast::<AtomicPtr<c_void>>() })
    }

    /// Every vtable slot, in order.
    fn slots(&self) -> impl Iterator<Item = &AtomicPtr<c_void>> {
        (0..self.layout.slots).filter_map(|index| self.slot(index))
    }

    /// Every vtable pointer, in slot order.
    fn vtables(&self) -> Vec<*mut c_void> {
        self.slots()
            .map(|slot| slot.load(Ordering::Acquire))
            .collect()
    }

    /// Puts back the vtable pointers `vtables` saved.
    fn restore(&self, vtables: &[*mut c_void]) {
        for (slot, vtable) in self.slots().zip(vtables) {
            slot.store(*vtable, Ordering::Release);
        }
    }

    /// Runs `change` with no call inside the object, as the module
    /// documentation describes; `TIMED_OUT` if calls stay in past the timeout.
    fn exclusively(
        &self,
        flags: u32,
        timeout_us: u64,
        change: impl FnOnce() -> Result<()>,
    ) -> Result<()> {
        let abort = match flags {
            0 | flags::BY_MUTEX => false,
            flags::BY_ABORT => true,
            _ => return Err(Status::INVALID_ARGUMENT),
        };
        let gate = self.gate();
        let deadline = component::now_us().saturating_add(timeout_us);
        while !gate.try_close(abort) {
            wait_for(gate, deadline)?;
        }
        while gate.inside() != 0 {
            wait_for(gate, deadline).inspect_err(|_| gate.open())?;
        }
        let result = change();
        component::grace_period();
        gate.open();
        result
    }
}

/// Sleeps until the gate changes, for at most a poll interval; `TIMED_OUT`
/// once `deadline` has passed.
fn wait_for(gate: &Gate, deadline: u64) -> Result<()> {
    let now = component::now_us();
    if now >= deadline {
        return Err(Status::TIMED_OUT);
    }
    gate.wait_for_change(POLL_US.min(deadline - now));
    Ok(())
}

fn construct() -> Result<ComPtr<IUnknown>> {
    Ok(ComObject::create::<IMutate>(Mutator).to_unknown())
}

component::component!(construct);
