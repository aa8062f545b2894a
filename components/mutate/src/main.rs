//! The mutation component: `IMutate`, which swaps an object's vtables or runs a transition over it while threads use it.
//!
//! Loaded on demand when something binds `/mutate`. The objects it changes
//! opt in through the object model (`#[class(.., mutable)]`), which gives
//! each a gate that counts the calls inside, held vtables that hold new
//! calls back, and an `IMutable` describing it. A mutation here is:
//!
//! 1. take the gate, once no other mutator holds it (with `BY_ABORT`, calls
//!    inside now fail with `PUSHED_OUT` at their next checkpoint);
//! 2. stage the object's vtable pointers (from now on the transition's
//!    changes go there) and point its slots at the held vtables: new calls
//!    wait for the gate;
//! 3. wait one grace period, so that a thread preempted after loading a
//!    slot's old vtable pointer has counted itself in;
//! 4. wait until no call is inside;
//! 5. change the object: store the new vtable, or run the transition and
//!    put the staged vtable pointers back if it fails;
//! 6. put the staged vtable pointers into the slots and open the gate: the
//!    held calls are issued again through the new vtables.
//!
//! Steps 1 and 4 share the caller's timeout: when it passes, the slots get
//! their vtables back, the gate opens, nothing has changed, and the answer
//! is `TIMED_OUT`.
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

use com::{ComObject, ComPtr, Gate, IUnknown, Interface, MutableObject, Result, Status, class};
use interfaces::mutate::flags;
use interfaces::{IMutate, IMutateImpl, ITransition};

extern crate alloc;

/// How long the mutator sleeps between looks at a gate with calls inside
/// (leaving calls do not wake it: that keeps their way out one atomic add).
const POLL_US: u64 = 1_000;
/// Objects with up to this many vtable slots are mutated without the heap.
const INLINE_SLOTS: usize = 4;

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
        let target = MutableObject::of(who)?;
        let index = target
            .slot_index(who.as_raw())
            .ok_or(Status::INVALID_ARGUMENT)?;
        exclusively(&target, flags, timeout_us, |staged| {
            let cell = staged.get(index).ok_or(Status::INVALID_ARGUMENT)?;
            cell.store(vtable as *mut c_void, Ordering::Release);
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
        let target = MutableObject::of(who)?;
        let identity = who.query::<IUnknown>()?;
        exclusively(&target, flags, timeout_us, |_| transition.apply(&identity))
    }
}

/// Runs `change` over the staged vtable pointers of the object `target`
/// with no call inside, as the module documentation describes;
/// `TIMED_OUT` if calls stay in past the timeout. A failed change leaves
/// the vtables as they were.
fn exclusively(
    target: &MutableObject,
    flags: u32,
    timeout_us: u64,
    change: impl FnOnce(&[AtomicPtr<c_void>]) -> Result<()>,
) -> Result<()> {
    let abort = match flags {
        0 | flags::BY_MUTEX => false,
        flags::BY_ABORT => true,
        _ => return Err(Status::INVALID_ARGUMENT),
    };
    let count = target.slot_count();
    let gate = target.gate();
    let deadline = component::now_us().saturating_add(timeout_us);
    while !gate.try_close(abort) {
        wait_for(gate, deadline)?;
    }
    // The staged cells, then the vtable pointers as they were, for a
    // change that fails.
    let result = with_cells(2 * count, |cells| {
        let (staged, saved) = cells.split_at(count);
        for ((cell, copy), slot) in staged.iter().zip(saved).zip(target.slots()) {
            let vtable = slot.load(Ordering::Acquire);
            cell.store(vtable, Ordering::Relaxed);
            copy.store(vtable, Ordering::Relaxed);
        }
        target.staging(staged, || {
            hold(target);
            component::grace_period();
            let result = wait_until_empty(gate, deadline).and_then(|()| change(staged));
            if result.is_err() {
                for (cell, copy) in staged.iter().zip(saved) {
                    cell.store(copy.load(Ordering::Relaxed), Ordering::Release);
                }
            }
            // The slots take the staged vtable pointers: the calls held
            // back are issued again on them once the gate opens.
            for (slot, cell) in target.slots().zip(staged) {
                slot.store(cell.load(Ordering::Acquire), Ordering::Release);
            }
            result
        })
    });
    gate.open();
    result?
}

/// Points every slot that has one at its held vtable: new calls wait for
/// the gate from now on.
fn hold(target: &MutableObject) {
    for (index, slot) in target.slots().enumerate() {
        if let Some(held) = target.held_vtable(index) {
            slot.store(held, Ordering::Release);
        }
    }
}

/// Waits until no call is inside the gate; `TIMED_OUT` once `deadline`
/// has passed.
fn wait_until_empty(gate: &Gate, deadline: u64) -> Result<()> {
    while gate.has_calls_inside() {
        wait_for(gate, deadline)?;
    }
    Ok(())
}

/// Runs `work` over `count` cells for vtable pointers: on the stack for
/// objects of up to [`INLINE_SLOTS`] slots (the heap's first fit costs more
/// than the rest of a mutation), on the heap for larger ones.
fn with_cells<R>(count: usize, work: impl FnOnce(&[AtomicPtr<c_void>]) -> R) -> R {
    if count <= 2 * INLINE_SLOTS {
        let cells = [const { AtomicPtr::new(core::ptr::null_mut()) }; 2 * INLINE_SLOTS];
        work(&cells[..count])
    } else {
        let cells: Vec<_> = (0..count)
            .map(|_| AtomicPtr::new(core::ptr::null_mut()))
            .collect();
        work(&cells)
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
