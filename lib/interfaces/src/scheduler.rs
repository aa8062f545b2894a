//! `ISchedulerPolicy` and `IScheduler`: who runs next, as a replaceable object.
//!
//! The kernel's thread code owns the threads and the switching; a policy
//! only keeps the ready threads and chooses among them. The kernel calls a
//! policy with interrupts disabled, so its methods must not block or
//! allocate: a policy sizes its queues for `MAX_THREADS` when it is made.

use com::{Result, interface};

/// The most threads a policy must be able to hold ready at once.
pub const MAX_THREADS: usize = 256;

#[interface("6d4fa3c1-4aea-467f-acd9-0b4705438514")]
/// A scheduling policy.
pub trait ISchedulerPolicy {
    /// Writes the policy's name into `buffer`; returns its length.
    fn name(&self, buffer: &mut [u8]) -> Result<usize>;
    /// Thread `thread` is ready to run.
    fn ready(&self, thread: u64) -> Result<()>;
    /// Takes the thread to run next off the ready set; `NOT_FOUND` when
    /// none is ready.
    fn pick(&self) -> Result<u64>;
    /// True when some thread is ready.
    fn has_ready(&self) -> Result<bool>;
    /// Thread `thread` is gone: forget it (whether ready or not).
    fn forget(&self, thread: u64) -> Result<()>;
    /// Whether the running thread's time slice applies (false: it runs
    /// until it blocks or yields).
    fn preemptive(&self) -> Result<bool>;
    /// Sets `thread`'s priority (higher runs first); `NOT_SUPPORTED` by
    /// policies without priorities.
    fn set_priority(&self, thread: u64, priority: u32) -> Result<()>;
    /// `thread` asks for `estimate` ticks of processor between `start` and
    /// `deadline` (absolute `time` values); `REFUSED` when that cannot be
    /// met alongside the constraints already admitted, `NOT_SUPPORTED` by
    /// policies without time constraints. `criticality` breaks ties.
    fn begin_constraint(
        &self,
        thread: u64,
        start: u64,
        estimate: u64,
        deadline: u64,
        criticality: u32,
    ) -> Result<()>;
    /// Ends `thread`'s current constraint.
    fn end_constraint(&self, thread: u64) -> Result<()>;
    /// `holder` holds a lock `waiter` waits for: until `disinherit`, the
    /// holder runs with the waiter's urgency if that is greater (priority
    /// inheritance). Policies without urgencies ignore it.
    fn inherit(&self, holder: u64, waiter: u64) -> Result<()>;
    /// `holder` released the locks it held: back to its own urgency.
    fn disinherit(&self, holder: u64) -> Result<()>;
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
    /// `NOT_SUPPORTED` when the policy has no time constraints.
    fn begin_constraint(
        &self,
        start: u64,
        estimate: u64,
        deadline: u64,
        criticality: u32,
    ) -> Result<()>;
    /// Ends the calling thread's time constraint.
    fn end_constraint(&self) -> Result<()>;
    /// The `time` counter, in ticks.
    fn now(&self) -> Result<u64>;
    /// Ticks of `time` per second.
    fn ticks_per_second(&self) -> Result<u64>;
}
