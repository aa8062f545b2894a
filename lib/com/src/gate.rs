//! The mutation gate: how a mutable object tells a mutator when no call is
//! inside it, and holds new calls back while it changes.
//!
//! A class opts in with `#[class(IFoo, mutable)]` and a `gate: Gate`
//! field. Every method thunk of such a class enters the gate before the
//! implementation runs and leaves it after: one atomic add each way, and a
//! branch that is taken only while a mutation is pending. The gate word:
//!
//! ```text
//! bit 31      CLOSED    a mutator holds the gate; new calls wait outside
//! bit 30      ABORTING  calls inside should give up at their next checkpoint
//! bit 29      DISOWNED  this mutation has handed the object to another module
//! bits 0..29  inside    how many calls are in the object now
//! ```
//!
//! A call that finds the gate closed waits until it opens, and the method
//! thunk then issues it again through the vtable the object has *now*; a
//! call pushed out at a checkpoint ([`Gate::checkpoint`]) is issued again
//! the same way. Callers, C ones included, never see the difference. The protocol that closes and opens gates —
//! timeouts, rollback, the grace period for callers that loaded a vtable
//! just before it changed — is the `mutate` component's.

use core::sync::atomic::{AtomicU32, Ordering};

use crate::wait as platform;
use crate::{Result, Status};

/// Set while a mutator holds the gate.
const CLOSED: u32 = 1 << 31;
/// Set while a mutator asks the calls inside to give up.
const ABORTING: u32 = 1 << 30;
/// Set once a transition has made the object's module stop counting it, so
/// that it happens at most once per mutation.
const DISOWNED: u32 = 1 << 29;
/// The count of calls inside.
const INSIDE: u32 = DISOWNED - 1;

/// The entry/exit gate of a mutable object (`#[repr(C)]`: mutators in other
/// modules reach it by address, see `IMutable`).
#[repr(C)]
#[derive(Debug, Default)]
pub struct Gate {
    state: AtomicU32,
}

/// A call inside a gate; dropping it leaves.
#[must_use = "dropping the entry leaves the gate at once"]
pub struct GateEntry<'a> {
    gate: &'a Gate,
}

impl Gate {
    /// An open gate with no call inside.
    pub const fn new() -> Gate {
        Gate {
            state: AtomicU32::new(0),
        }
    }

    /// Enters the gate of a class that has one (`None`: the class is not
    /// mutable, and this compiles to nothing). Method thunks call it.
    #[inline(always)]
    pub fn enter_optional(gate: Option<&Gate>) -> Result<Option<GateEntry<'_>>> {
        match gate {
            Some(gate) => gate.enter().map(Some),
            None => Ok(None),
        }
    }

    /// Enters the gate; while a mutator holds it, fails with `PUSHED_OUT`
    /// without entering (the thunk then waits with
    /// [`Gate::wait_until_open`] and issues the call again).
    #[inline(always)]
    pub fn enter(&self) -> Result<GateEntry<'_>> {
        if self.state.fetch_add(1, Ordering::Acquire) & CLOSED != 0 {
            self.state.fetch_sub(1, Ordering::Release);
            return Err(Status::PUSHED_OUT);
        }
        Ok(GateEntry { gate: self })
    }

    /// Waits while a mutator holds the gate (returns at once when open).
    pub fn wait_until_open(&self) {
        loop {
            let seen = self.state.load(Ordering::Acquire);
            if seen & CLOSED == 0 {
                return;
            }
            platform::wait(&self.state, seen, platform::FOREVER);
        }
    }

    /// For implementations synchronized by abort: fails with `PUSHED_OUT` when a
    /// mutator asks the calls inside to give up. Call it where giving up is
    /// still harmless (before the method has changed anything) and pass the
    /// failure on; the thunk then issues the call again, once the mutation
    /// is over, on the new implementation.
    #[inline]
    pub fn checkpoint(&self) -> Result<()> {
        if self.state.load(Ordering::Acquire) & ABORTING != 0 {
            return Err(Status::PUSHED_OUT);
        }
        Ok(())
    }

    /// For mutators: takes the gate unless another mutator holds it (then
    /// false; wait with [`Gate::wait_for_change`] and try again). New calls
    /// wait outside from now on; with `abort`, calls inside fail at their
    /// next checkpoint.
    pub fn try_close(&self, abort: bool) -> bool {
        let bits = if abort { CLOSED | ABORTING } else { CLOSED };
        let mut seen = self.state.load(Ordering::Acquire);
        while seen & CLOSED == 0 {
            match self.state.compare_exchange_weak(
                seen,
                seen | bits,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(now) => seen = now,
            }
        }
        false
    }

    /// For mutators: how many calls are inside now.
    pub fn inside(&self) -> u32 {
        self.state.load(Ordering::Acquire) & INSIDE
    }

    /// For mutators: sleeps until another mutator opens the gate or
    /// `timeout_us` microseconds pass. Calls coming and going do not wake
    /// it — that keeps their way in and out one atomic add each — so a
    /// mutator waiting for them to leave looks again after a timeout.
    pub fn wait_for_change(&self, timeout_us: u64) {
        let seen = self.state.load(Ordering::Acquire);
        platform::wait(&self.state, seen, timeout_us);
    }

    /// For mutators: opens the gate and wakes the calls waiting outside.
    pub fn open(&self) {
        self.state
            .fetch_and(!(CLOSED | ABORTING | DISOWNED), Ordering::AcqRel);
        platform::wake(&self.state);
    }

    /// For `IMutable::disown`: the module that made the object stops
    /// counting it, once per mutation and only while a mutator holds the
    /// gate (else `ACCESS_DENIED`), so the count cannot be taken twice.
    pub fn disown_object(&self) -> Result<()> {
        let mut seen = self.state.load(Ordering::Acquire);
        loop {
            if seen & CLOSED == 0 || seen & DISOWNED != 0 {
                return Err(Status::ACCESS_DENIED);
            }
            match self.state.compare_exchange_weak(
                seen,
                seen | DISOWNED,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(now) => seen = now,
            }
        }
        crate::object::disown();
        Ok(())
    }
}

impl Drop for GateEntry<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        self.gate.state.fetch_sub(1, Ordering::Release);
    }
}
