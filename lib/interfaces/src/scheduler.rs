//! `ISchedulerPolicy` and `IScheduler`: who runs next, as a replaceable object.
//!
//! The kernel's thread code owns the threads and the switching; a policy
//! only keeps the ready threads and chooses among them. The kernel calls a
//! policy with interrupts disabled, so its methods must not block or
//! allocate: a policy sizes its queues for `MAX_THREADS` when it is made.
//!
//! The methods a simple policy has no use for — priorities, time
//! constraints, inheritance — have defaults here, so a policy implements
//! only what it supports.

use com::{Record, Result, Status, interface};

/// The most threads a policy must be able to hold ready at once.
pub const MAX_THREADS: usize = 256;

/// What [`ISchedulerPolicy::pick`] chose.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Record)]
pub struct Pick {
    /// The thread to run.
    pub thread: u64,
    /// The `time` by which the policy must choose again even if no other
    /// thread becomes ready — the thread's budget runs out, or its deadline
    /// passes (`u64::MAX`: the end of its time slice is soon enough).
    pub until: u64,
}

impl Pick {
    /// `thread`, for a time slice (a policy without budgets).
    pub const fn slice(thread: u64) -> Pick {
        Pick {
            thread,
            until: u64::MAX,
        }
    }
}

#[interface("8b2caf19-a161-438c-9134-83abc62b9610")]
/// A scheduling policy.
pub trait ISchedulerPolicy {
    /// Writes the policy's name into `buffer`; returns its length.
    fn name(&self, buffer: &mut [u8]) -> Result<usize>;
    /// Thread `thread` is ready to run.
    fn ready(&self, thread: u64) -> Result<()>;
    /// Takes the thread to run next off the ready set; `NOT_FOUND` when
    /// none is ready. `now` is the `time`: the thread picked before has
    /// had the processor until then (a policy with budgets charges it).
    fn pick(&self, now: u64) -> Result<Pick>;
    /// True when some thread is ready.
    fn has_ready(&self) -> Result<bool>;
    /// Thread `thread` is gone: forget it (whether ready or not).
    fn forget(&self, thread: u64) -> Result<()>;
    /// Whether the running thread's time slice applies (false: it runs
    /// until it blocks or yields).
    fn preemptive(&self) -> Result<bool>;
    /// Sets `thread`'s priority (higher runs first); `NOT_SUPPORTED` by
    /// policies without priorities (the default).
    fn set_priority(&self, thread: u64, priority: u32) -> Result<()> {
        Err(Status::NOT_SUPPORTED)
    }
    /// `thread` asks for `estimate` ticks of processor between `start` and
    /// `deadline` (absolute `time` values), replacing any constraint it
    /// has; `REFUSED` when that cannot be met alongside the constraints
    /// already admitted, `NOT_SUPPORTED` by policies without time
    /// constraints (the default). A thread past its estimate runs after every thread
    /// within its own; `criticality` (higher: more critical) orders such
    /// threads and breaks ties of deadline. The constraint ends when its
    /// deadline passes, if `end_constraint` did not end it first.
    fn begin_constraint(
        &self,
        thread: u64,
        start: u64,
        estimate: u64,
        deadline: u64,
        criticality: u32,
    ) -> Result<()> {
        Err(Status::NOT_SUPPORTED)
    }
    /// Ends `thread`'s constraint at `time` `now`: `TIMED_OUT` when its
    /// deadline passed first (the constraint ended then, and this reports
    /// it once), `NOT_FOUND` for a thread the policy never saw,
    /// `NOT_SUPPORTED` by policies without time constraints (the default).
    fn end_constraint(&self, thread: u64, now: u64) -> Result<()> {
        Err(Status::NOT_SUPPORTED)
    }
    /// `waiter` waits for a lock `holder` holds (instead of whatever it
    /// waited for before): until `disinherit(waiter)`, the holder — and
    /// whoever holds a lock the holder waits for, along the chain — runs
    /// with the waiter's urgency if that is greater (priority
    /// inheritance). Policies without urgencies ignore it (the default).
    fn inherit(&self, holder: u64, waiter: u64) -> Result<()> {
        Ok(())
    }
    /// `waiter` no longer waits for a lock's holder (the lock was
    /// released): it stops lending its urgency; what the holder has from
    /// waiters on its other locks stays. Policies without urgencies
    /// ignore it (the default).
    fn disinherit(&self, waiter: u64) -> Result<()> {
        Ok(())
    }
}

#[interface("83f5636d-f53b-4676-abda-e73fe4e8502e")]
/// The scheduler: which policy runs the threads.
pub trait IScheduler {
    /// Writes the current policy's name into `buffer`; returns its length.
    fn policy_name(&self, buffer: &mut [u8]) -> Result<usize>;
    /// Moves every thread to the policy component bound as `name`
    /// (`/sched-rr`), or back to the built-in round-robin for `builtin`.
    fn use_policy(&self, name: &str) -> Result<()>;
    /// The calling thread asks for `estimate` ticks of processor between
    /// `start` and `deadline`: `REFUSED` when the policy cannot promise it,
    /// `NOT_SUPPORTED` when the policy has no time constraints. Past its
    /// estimate the thread runs after every thread within its own
    /// (`criticality`, higher first, orders such threads); once the
    /// deadline passes the constraint is over.
    fn begin_constraint(
        &self,
        start: u64,
        estimate: u64,
        deadline: u64,
        criticality: u32,
    ) -> Result<()>;
    /// Ends the calling thread's time constraint: `TIMED_OUT` when its
    /// deadline passed before this call (the deadline was missed).
    fn end_constraint(&self) -> Result<()>;
    /// The `time` counter, in ticks.
    fn now(&self) -> Result<u64>;
    /// Ticks of `time` per second.
    fn ticks_per_second(&self) -> Result<u64>;
    /// Gives the processor to another ready thread, if there is one.
    fn yield_now(&self) -> Result<()>;
    /// Sleeps until `time` reaches `deadline` (in ticks).
    fn sleep_until(&self, deadline: u64) -> Result<()>;
    /// True when the policy in force takes the processor from a thread at
    /// the end of its time slice (a busy thread cannot keep it).
    fn preemptive(&self) -> Result<bool>;
    /// The instructions retired since reset (`instret`; exact under QEMU's
    /// `-icount`), less what the counter advanced while the hart sat
    /// halted waiting for an interrupt (under `-icount` the counter is the
    /// virtual clock and goes on then, at the host's pace): the clock of
    /// measurements, counting work and not waiting. A method rather than an
    /// instruction in a shared crate because reading the counter takes
    /// inline assembly, which is `unsafe`, and no crate that components
    /// link may hold machine code.
    fn instructions(&self) -> Result<u64>;
}
