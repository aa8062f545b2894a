//! The mutation component: `IMutate`, which swaps an object's vtables or runs a transition over it while threads use it.
//!
//! Loaded on demand when something binds `/mutate`. The objects it changes
//! opt in through the object model (`#[class(.., mutable)]`), which gives
//! each a gate every call passes and an `IMutable` describing it. A
//! mutation here is:
//!
//! 1. close the gate: new calls wait outside it (with `BY_ABORT`, calls
//!    inside also fail with `RETRY` at their next checkpoint);
//! 2. wait until no call is inside, or give up when the timeout passes —
//!    open the gate again, nothing changed, `TIMED_OUT`;
//! 3. change the object: store the new vtable, or run the transition and
//!    put the vtable slots back if it fails;
//! 4. wait one grace period, so a thread preempted after loading the old
//!    vtable pointer reaches the closed gate rather than old code;
//! 5. open the gate: the waiting calls fail with `RETRY`, and their client
//!    wrappers issue them again on the new vtable.
//!
//! Depends on `com`, `interfaces` and the kernel's exports (time, the grace
//! period, and the word waits the gate sleeps in); the shell's `upgrade`,
//! `trace` and `readonly` commands and the kernel's checks use it.

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

#[allow(unsafe_code, reason = "functions of the kernel, bound by the loader")]
mod kernel {
    unsafe extern "C" {
        /// kernel ABI v1, ordinal 8: `time` in microseconds.
        pub safe fn tessera_now_us() -> u64;
        /// kernel ABI v1, ordinal 9: returns once every thread ready at the
        /// call has run since.
        pub safe fn tessera_grace_period();
    }
}

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
            .ok_or(Status::INVALID_ARGUMENT)?;
        target.exclusively(flags, timeout_us, || {
            target
                .slot(slot)
                .store(vtable as *mut c_void, Ordering::Release);
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

    /// Vtable slot `index` (below `layout.slots`).
    fn slot(&self, index: u32) -> &AtomicPtr<c_void> {
        let address = self.layout.slot(index).unwrap_or(core::ptr::null_mut());
        #[allow(
            unsafe_code,
            reason = "the slots are reached by the address the object gave"
        )]
        // SAFETY: `index` is below the slot count, so the address is one of
        // the object's vtable slots (atomic pointers by the object layout),
        // alive while `_object` holds its reference.
        unsafe {
            &*address.cast::<AtomicPtr<c_void>>()
        }
    }

    /// Every vtable pointer, in slot order.
    fn vtables(&self) -> Vec<*mut c_void> {
        (0..self.layout.slots)
            .map(|index| self.slot(index).load(Ordering::Acquire))
            .collect()
    }

    /// Puts back the vtable pointers `vtables` saved.
    fn restore(&self, vtables: &[*mut c_void]) {
        for (index, vtable) in (0..self.layout.slots).zip(vtables) {
            self.slot(index).store(*vtable, Ordering::Release);
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
        let deadline = kernel::tessera_now_us().saturating_add(timeout_us);
        gate.close(abort);
        while gate.inside() != 0 {
            let now = kernel::tessera_now_us();
            if now >= deadline {
                gate.open();
                return Err(Status::TIMED_OUT);
            }
            gate.wait_for_change(POLL_US.min(deadline - now));
        }
        let result = change();
        kernel::tessera_grace_period();
        gate.open();
        result
    }
}

fn construct() -> Result<ComPtr<IUnknown>> {
    Ok(ComObject::create::<IMutate>(Mutator).to_unknown())
}

component::component!(construct);
