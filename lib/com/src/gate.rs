//! The mutation gate: how a mutable object tells a mutator when no call is
//! inside it, and where the mutator keeps the object's new vtables until it
//! lets calls in again.
//!
//! A class opts in with `#[class(IFoo, mutable)]` and a `gate: Gate`
//! field. Every method thunk of such a class counts itself into the gate
//! before the implementation runs and out after: one atomic add each way,
//! nothing else — no test, no branch. A call adds the interface pointer it
//! was made through (never zero, and in a register already, so the thunk
//! needs no constant) and takes it off again when it leaves: the count is
//! zero exactly when no call is inside, as long as the sum of the pointers
//! of the calls inside stays below 2^64 (2^31 calls for objects below
//! 8 GiB, far more than there can be threads and stack frames).
//!
//! New calls are held back not by the gate but by the vtables: a mutator
//! points the object's slots at the class's *held* vtables
//! ([`crate::Class::HELD`]), whose methods wait until the gate opens and
//! then issue the call again through the vtable the object has *then*. So
//! the gate's state word only says what the mutator is doing:
//!
//! ```text
//! bit 31      CLOSED    a mutator holds the object; held calls wait for it
//! bit 30      ABORTING  calls inside should give up at their next checkpoint
//! bit 29      DISOWNED  this mutation has handed the object to another module
//! ```
//!
//! While it holds the object, the mutator *stages* the vtables the slots
//! are to get when it lets go ([`crate::MutableObject::staging`]):
//! transition functions write there ([`crate::Takeover`],
//! [`crate::interposition::Table::put_in`]), so no call reaches a new vtable
//! before the transition has finished. A call pushed out at a checkpoint
//! ([`Gate::checkpoint`]) is issued again the same way as a held one.
//! Callers, C ones included, never see the difference. The protocol —
//! timeouts, rollback, the grace period for callers that loaded a vtable
//! just before it was swapped — is the `mutate` component's.

use core::ffi::c_void;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};

use crate::wait as platform;
use crate::{Result, Status};

/// Set while a mutator holds the object.
const CLOSED: u32 = 1 << 31;
/// Set while a mutator asks the calls inside to give up.
const ABORTING: u32 = 1 << 30;
/// Set once a transition has made the object's module stop counting it, so
/// that it happens at most once per mutation.
const DISOWNED: u32 = 1 << 29;

/// The gate of a mutable object (`#[repr(C)]`: mutators in other modules
/// reach it by address, see `IMutable`).
#[repr(C)]
#[derive(Debug, Default)]
pub struct Gate {
    /// The calls inside, each counted as the interface pointer it was made
    /// through.
    calls: AtomicU64,
    /// `CLOSED`, `ABORTING`, `DISOWNED`.
    state: AtomicU32,
    /// How many vtable pointers `staged` holds.
    staged_slots: AtomicU32,
    /// While a mutator holds the object: the vtable pointers its slots get
    /// when the mutator lets go, one per slot; null otherwise.
    staged: AtomicPtr<AtomicPtr<c_void>>,
}

/// A call inside a gate; dropping it leaves.
#[must_use = "dropping the entry leaves the gate at once"]
pub struct GateEntry<'a> {
    gate: &'a Gate,
    /// What the call added to the count.
    unit: u64,
}

impl Gate {
    /// An open gate with no call inside.
    pub const fn new() -> Gate {
        Gate {
            calls: AtomicU64::new(0),
            state: AtomicU32::new(0),
            staged_slots: AtomicU32::new(0),
            staged: AtomicPtr::new(core::ptr::null_mut()),
        }
    }

    /// Counts a call made through interface pointer `this` into the gate
    /// of a class that has one (`None`: the class is not mutable, and this
    /// compiles to nothing). Method thunks call it.
    #[inline(always)]
    pub fn enter_optional(gate: Option<&Gate>, this: *mut c_void) -> Option<GateEntry<'_>> {
        gate.map(|gate| gate.enter(this))
    }

    /// Counts a call made through interface pointer `this` (never null) in;
    /// dropping the entry counts it out. Never waits: a mutator holds calls
    /// back with the held vtables instead.
    #[inline(always)]
    pub fn enter(&self, this: *mut c_void) -> GateEntry<'_> {
        let unit = this.addr() as u64;
        self.calls.fetch_add(unit, Ordering::Acquire);
        GateEntry { gate: self, unit }
    }

    /// Waits while a mutator holds the object (returns at once when open).
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
    /// false; wait with [`Gate::wait_for_change`] and try again). With
    /// `abort`, calls inside fail at their next checkpoint from now on.
    /// Holding new calls back is the mutator's next step: it points the
    /// slots at the held vtables.
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

    /// True while a mutator holds the object.
    pub(crate) fn is_closed(&self) -> bool {
        self.state.load(Ordering::Acquire) & CLOSED != 0
    }

    /// True while a mutator holds the object and stages its vtables: a
    /// transition may run.
    pub(crate) fn is_staging(&self) -> bool {
        self.is_closed() && !self.staged.load(Ordering::Acquire).is_null()
    }

    /// For mutators: true while a call is inside.
    pub fn has_calls_inside(&self) -> bool {
        self.calls.load(Ordering::Acquire) != 0
    }

    /// For mutators: sleeps until another mutator opens the gate or
    /// `timeout_us` microseconds pass. Calls coming and going do not wake
    /// it — that keeps their way in and out one atomic add each — so a
    /// mutator waiting for them to leave looks again after a timeout.
    pub fn wait_for_change(&self, timeout_us: u64) {
        let seen = self.state.load(Ordering::Acquire);
        platform::wait(&self.state, seen, timeout_us);
    }

    /// For mutators holding the gate: from now until [`Gate::unstage`],
    /// transition functions write the object's vtable pointers into
    /// `cells` (one per slot, in slot order) instead of the slots, which
    /// hold the held vtables meanwhile.
    ///
    /// # Safety
    /// The caller holds the gate ([`Gate::try_close`]), and `cells` lives
    /// until it calls [`Gate::unstage`].
    pub(crate) unsafe fn stage(&self, cells: &[AtomicPtr<c_void>]) {
        let count = u32::try_from(cells.len()).unwrap_or(u32::MAX);
        self.staged_slots.store(count, Ordering::Relaxed);
        self.staged
            .store(cells.as_ptr().cast_mut().cast(), Ordering::Release);
    }

    /// For mutators: vtable pointers are written to the slots again.
    pub(crate) fn unstage(&self) {
        self.staged.store(core::ptr::null_mut(), Ordering::Release);
        self.staged_slots.store(0, Ordering::Relaxed);
    }

    /// The staged vtable pointer of slot `index`, while a mutator stages.
    pub(crate) fn staged_cell(&self, index: usize) -> Option<&AtomicPtr<c_void>> {
        let cells = self.staged.load(Ordering::Acquire);
        let count = self.staged_slots.load(Ordering::Relaxed);
        if cells.is_null() || u32::try_from(index).map_or(true, |index| index >= count) {
            return None;
        }
        // SAFETY: a mutator staged `count` cells, alive until it unstages
        // (`stage`'s contract); only its transition runs meanwhile.
        Some(unsafe { &*cells.add(index) })
    }

    /// For mutators: opens the gate and wakes the calls waiting for it.
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
        self.gate.calls.fetch_sub(self.unit, Ordering::Release);
    }
}
