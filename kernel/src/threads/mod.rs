//! Threads: creation, the processor's hand-over between them, sleeping,
//! joining, and preemption by the timer.
//!
//! Every thread runs with the kernel mapped where it is; one may run in an
//! address space of the virtual-memory manager too (its view, which a
//! switch puts in force), and in U-mode (`user_mode`). The scheduler's state
//! is touched only with interrupts disabled (on one hart that is the whole
//! of its locking); it never allocates with them disabled — thread records
//! and stacks are allocated before, and freed after, the critical section
//! — so a thread preempted while it holds the heap lock can never stall
//! the scheduler.
//!
//! The policy is the built-in round-robin with a time slice, or a policy
//! component put in charge while threads run ([`use_policy_component`]),
//! in [`policy`]. The timer is
//! one-shot: it is set for the end of the running thread's slice only when
//! another thread is ready, and for the earliest sleeper's deadline, so an
//! idle system takes no timer interrupts at all.
//!
//! Without the loader the kernel has two threads, `main` and `idle`, and
//! nothing can make more: creating, joining and detaching threads
//! ([`spawn`]), U-mode, policy components — and with them time constraints
//! and priority inheritance — serve components, and compile out.

#[allow(
    unsafe_code,
    reason = "a blocking mutex's value cell, on every lock's path (docs/architecture.md)"
)]
mod blocking;
mod policy;
#[cfg(feature = "loader")]
mod spawn;
mod thread;
#[cfg(feature = "loader")]
pub mod user_mode;
pub mod word_waits;

pub use blocking::{Condition, Event, Mutex};
#[cfg(feature = "loader")]
pub use spawn::{detach, spawn_component, wait_exit};

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use com::{ComPtr, Result, Status, try_box, try_push};
use interfaces::{ISchedulerPolicy, ThreadStatus};

#[cfg(feature = "loader")]
use crate::machine::fpu::{self, FpRegisters};
use crate::machine::interrupt_mask::Exclusive;
use crate::machine::{context, counters, interrupt_mask, timer, trap};
use policy::{Component, Policy};
#[cfg(feature = "loader")]
use spawn::{exit_with, reap_detached, spawn_entry};
use thread::{Entry, State, Thread};

/// The most threads that can exist at once (records and queue room are
/// reserved up front, so switching never allocates): what policy
/// components are told, or without the loader the two the kernel makes.
pub const MAX_THREADS: usize = if cfg!(feature = "loader") {
    interfaces::scheduler::MAX_THREADS
} else {
    2
};
/// The default stack size of a new thread.
pub const DEFAULT_STACK: usize = 16 * 1024;
/// The kernel stack of a U-mode thread: its traps run there, and so may a
/// server's method, nested in a kernel object's call through a
/// kernel-space proxy (`user_mode::run`), with the IPC's frames of both.
#[cfg(feature = "loader")]
pub const USER_KERNEL_STACK: usize = 32 * 1024;
/// The time slice, in milliseconds.
const SLICE_MS: u64 = 10;

/// Thread identifiers (never reused while the system runs).
pub type ThreadId = u64;

struct Scheduler {
    /// Boxed so a thread's saved registers stay put while the vector
    /// shuffles records (a switch holds pointers to them).
    #[allow(clippy::vec_box, reason = "contexts must not move while switched away")]
    threads: Vec<Box<Thread>>,
    policy: Policy,
    /// Index in `threads` of the thread on the processor.
    current: usize,
    /// Index of the thread that runs when nobody else can.
    idle: usize,
    next_id: ThreadId,
    /// Ticks of `time` per second, and per time slice.
    ticks_per_second: u64,
    slice_ticks: u64,
    /// The earliest deadline of a sleeping thread (`u64::MAX`: none), so a
    /// switch looks for sleepers to wake only when one is due — or, if
    /// sooner, the time a policy component must choose again (`Pick::until`,
    /// folded in by each of its picks, so the timer fires then and the
    /// built-in policy's switch pays nothing for it).
    earliest_sleeper: u64,
    /// The deadline the timer holds now, so it is rewritten only on change.
    programmed: u64,
    /// `programmed` when it is the end of a time slice, else 0: one field
    /// tells a switch both whether a slice is armed and until when.
    armed_slice_end: u64,
    /// The next ticket for a waiting thread (first come, first woken).
    next_ticket: u64,
}

/// The running thread's id, readable without the scheduler (locks use it).
static CURRENT_ID: AtomicU64 = AtomicU64::new(1);

/// The scheduler, reached only with interrupts disabled.
static SCHEDULER: Exclusive<Scheduler> = Exclusive::new(Scheduler {
    threads: Vec::new(),
    policy: Policy::builtin(),
    current: 0,
    idle: 1,
    next_id: 3,
    ticks_per_second: 1,
    slice_ticks: 1,
    earliest_sleeper: u64::MAX,
    programmed: u64::MAX,
    armed_slice_end: 0,
    next_ticket: 0,
});

/// The idle thread's stack: interrupts taken while it waits run on it (the
/// trap frame, then the handlers down to the driver's wake-up), which an
/// unoptimized kernel's frames make about four times as deep.
const IDLE_STACK: usize = if cfg!(debug_assertions) {
    16 * 1024
} else {
    4096
};

/// Starts threading: the running code becomes the thread `main`, an idle
/// thread is made, the timer drives preemption from now on, and contended
/// locks yield instead of spinning.
pub fn init(ticks_per_second: u64) -> Result<()> {
    let mut threads = Vec::new();
    threads
        .try_reserve_exact(MAX_THREADS)
        .map_err(|_| Status::OUT_OF_MEMORY)?;
    let now = timer::now();
    try_push(&mut threads, try_box(Thread::boot(1, "main", now))?)?;
    let idle = Thread::new(2, "idle", IDLE_STACK, Entry::Kernel(idle, 0), start)?;
    try_push(&mut threads, try_box(idle)?)?;
    let ticks_per_second = ticks_per_second.max(1);
    // The timer may hold anything from before; start from "never".
    timer::set_deadline(u64::MAX);
    interrupt_mask::without(|| {
        SCHEDULER.with(|scheduler| {
            scheduler.threads = threads;
            scheduler.ticks_per_second = ticks_per_second;
            scheduler.slice_ticks = SLICE_MS * ticks_per_second / 1000;
        })
    });
    trap::set_timer_handler(on_timer);
    #[cfg(feature = "loader")]
    {
        fpu::set_running_registers(running_fp_registers);
        trap::set_user_exception_handler(user_mode::on_exception);
        trap::set_user_interrupt_handler(user_mode::after_interrupt);
        crate::machine::user::allow_counter_reads();
    }
    sync::set_wait_hook(yield_now);
    interrupt_mask::enable_timer();
    interrupt_mask::enable();
    Ok(())
}

/// Gives the processor to the next ready thread, if any.
pub fn yield_now() {
    interrupt_mask::without(|| switch(true));
}

/// Sleeps until `time` reaches `deadline`.
pub fn sleep_until(deadline: u64) {
    interrupt_mask::without(|| {
        let _ = with_scheduler(|scheduler| {
            scheduler.current_mut()?.state = State::Sleeping(deadline);
            scheduler.earliest_sleeper = scheduler.earliest_sleeper.min(deadline);
            Some(())
        });
        switch(false);
    });
}

/// Ends the calling thread.
pub fn exit() -> ! {
    interrupt_mask::disable();
    let _ = with_scheduler(Scheduler::finish_current);
    switch(false);
    unreachable_after_exit()
}

/// Ticks of `time` since reset.
pub fn now() -> u64 {
    timer::now()
}

/// `time` in whole microseconds since reset.
pub fn now_us() -> u64 {
    ticks_to_us(now(), ticks_per_second())
}

/// `ticks` of a clock of `per_second` ticks a second, in whole
/// microseconds. Whole seconds and the rest are converted apart, in 64
/// bits: exact, and a few instructions where a 128-bit division is a
/// library call of over a hundred (a mutation asks the time twice). Only a
/// clock too fast for that (over 18 THz) takes the 128-bit way.
fn ticks_to_us(ticks: u64, per_second: u64) -> u64 {
    const US_PER_SECOND: u64 = 1_000_000;
    let per_second = per_second.max(1);
    let rest = ticks % per_second;
    let Some(rest_us) = rest.checked_mul(US_PER_SECOND) else {
        let us = u128::from(ticks) * u128::from(US_PER_SECOND) / u128::from(per_second);
        return u64::try_from(us).unwrap_or(u64::MAX);
    };
    (ticks / per_second)
        .saturating_mul(US_PER_SECOND)
        .saturating_add(rest_us / per_second)
}

/// Ticks of `time` per second.
pub fn ticks_per_second() -> u64 {
    interrupt_mask::without(|| with_scheduler(|scheduler| scheduler.ticks_per_second)).unwrap_or(1)
}

/// How many threads there are (exited ones whose records stay included).
pub fn count() -> usize {
    interrupt_mask::without(|| with_scheduler(|scheduler| scheduler.threads.len())).unwrap_or(0)
}

/// The figures of the thread at `index` (below [`count`]), if there is one.
pub fn status(index: usize) -> Option<ThreadStatus> {
    interrupt_mask::without(|| {
        with_scheduler(|scheduler| {
            let thread = scheduler.threads.get(index)?;
            let mut status = thread.status();
            if thread.state == State::Running {
                status.cpu_ticks += timer::now() - thread.since;
            }
            Some(status)
        })
    })
    .ok()
    .flatten()
}

impl Scheduler {
    /// True while some thread other than the running and idle ones is
    /// ready and has not had the processor since `time` was `start`.
    /// True while a thread other than this one is ready and has not had
    /// the processor since `start`. One that got it in the very tick of
    /// `start` counts too: it may have been preempted within that tick,
    /// before `start`, holding a vtable pointer it loaded.
    fn any_ready_before(&self, start: u64) -> bool {
        self.threads.iter().enumerate().any(|(index, thread)| {
            index != self.current
                && index != self.idle
                && thread.state == State::Ready
                && thread.since <= start
        })
    }

    fn find(&mut self, id: ThreadId) -> Option<&mut Thread> {
        self.threads
            .iter_mut()
            .find(|thread| thread.id == id)
            .map(|thread| &mut **thread)
    }

    /// Marks the running thread exited and wakes whoever joins it.
    fn finish_current(&mut self) {
        let Some(current) = self.current_mut() else {
            return;
        };
        current.state = State::Exited;
        let me = current.id;
        for (index, thread) in self.threads.iter_mut().enumerate() {
            if thread.state == State::Joining(me) {
                thread.state = State::Ready;
                self.policy.ready(index, thread.id);
            }
        }
    }

    /// Makes the thread at `index` ready (a wake-up, not a timeout).
    fn make_ready(&mut self, index: usize) {
        if let Some(thread) = self.threads.get_mut(index) {
            thread.state = State::Ready;
            thread.timed_out = false;
            self.policy.ready(index, thread.id);
        }
    }

    /// The table index of thread `id`.
    fn index_of(&self, id: ThreadId) -> Option<usize> {
        self.threads.iter().position(|thread| thread.id == id)
    }

    /// The index of the thread the policy picks to run next, at `now`;
    /// the idle thread's when none is ready.
    #[inline]
    fn pick_next(&mut self, now: u64) -> usize {
        self.pick_next_or_stop(now).flatten().unwrap_or(self.idle)
    }

    /// The policy's next pick: `None` when it has nothing ready, `Some(None)`
    /// for a thread that no longer exists.
    #[inline]
    fn pick_next_or_stop(&mut self, now: u64) -> Option<Option<usize>> {
        let threads = &self.threads;
        self.policy.pick(now, &mut self.earliest_sleeper, |id| {
            threads.iter().position(|thread| thread.id == id)
        })
    }

    /// The running thread's record: always there (`remove`, the only
    /// place records move, keeps `current` valid), but looked up without
    /// a panic path, which would format its message.
    fn current_mut(&mut self) -> Option<&mut Thread> {
        let current = self.current;
        self.threads.get_mut(current).map(|thread| &mut **thread)
    }

    /// Takes the record at `index` out (an exited thread's), keeping
    /// `current` pointing at the same thread.
    fn remove(&mut self, index: usize) -> Box<Thread> {
        let last = self.threads.len() - 1;
        let thread = self.threads.swap_remove(index);
        for moved in [&mut self.current, &mut self.idle] {
            if *moved == last {
                *moved = index;
            }
        }
        self.policy.moved(last, index);
        self.policy.forget(thread.id);
        thread
    }

    /// Makes every sleeper whose deadline passed ready (only looked for
    /// when one is due).
    #[inline(always)]
    fn wake_sleepers(&mut self, now: u64) {
        if now >= self.earliest_sleeper {
            self.wake_due(now);
        }
    }

    /// The scan behind `wake_sleepers`, out of line: it is rarely needed,
    /// and inlined it would cost every switch registers to save.
    #[cold]
    #[inline(never)]
    fn wake_due(&mut self, now: u64) {
        // Due ones wake earliest deadline first, so threads whose deadlines
        // passed together still run in deadline order.
        loop {
            let due = self
                .threads
                .iter()
                .enumerate()
                .filter_map(|(index, thread)| match thread.state {
                    State::Sleeping(deadline) | State::Waiting { deadline, .. } => {
                        Some((deadline, index))
                    }
                    _ => None,
                })
                .filter(|&(deadline, _)| deadline <= now)
                .min();
            let Some((_, index)) = due else { break };
            let Some(thread) = self.threads.get_mut(index) else {
                break;
            };
            thread.timed_out = matches!(thread.state, State::Waiting { .. });
            thread.state = State::Ready;
            let id = thread.id;
            self.policy.ready(index, id);
        }
        self.earliest_sleeper = self
            .threads
            .iter()
            .filter_map(|thread| match thread.state {
                State::Sleeping(deadline) | State::Waiting { deadline, .. } => Some(deadline),
                _ => None,
            })
            .min()
            .unwrap_or(u64::MAX);
    }

    /// Makes the timer fire by the earliest of: the running thread's slice
    /// end (only if another thread waits for the processor) and the
    /// earliest sleeper's deadline (which includes the time a policy
    /// component must choose again: a budget running out, a deadline
    /// passing). A slice deadline already armed and still ahead is kept (a
    /// slice that ends a little early costs less than rewriting the timer
    /// on every switch; one armed for nothing costs one spurious interrupt).
    #[inline]
    fn program_timer(&mut self, now: u64) {
        if self.armed_slice_end > now && self.armed_slice_end <= self.earliest_sleeper {
            return;
        }
        let slice_end = if !self.policy.preemptive() || self.policy.is_empty() {
            u64::MAX
        } else {
            now + self.slice_ticks
        };
        let deadline = slice_end.min(self.earliest_sleeper);
        self.armed_slice_end = if slice_end != u64::MAX && slice_end <= self.earliest_sleeper {
            slice_end
        } else {
            0
        };
        if deadline != self.programmed {
            self.programmed = deadline;
            timer::set_deadline(deadline);
        }
    }
}

/// Blocks the caller on `key` until [`wake_one`]/[`wake_all`] on the same
/// key, or until `time` reaches `deadline` (`u64::MAX`: no deadline).
/// `then` runs once the caller is marked waiting and before it leaves the
/// processor, with interrupts disabled: whatever it releases cannot be
/// signalled before the caller is listening; if it returns false, the
/// wait is called off. Returns false on timeout.
pub fn wait_on(key: usize, deadline: u64, then: impl FnOnce() -> bool) -> bool {
    interrupt_mask::without(|| {
        let waiting = with_scheduler(|scheduler| {
            let ticket = scheduler.next_ticket;
            scheduler.next_ticket += 1;
            scheduler.earliest_sleeper = scheduler.earliest_sleeper.min(deadline);
            let me = scheduler.current_mut()?;
            me.state = State::Waiting { key, deadline };
            me.ticket = ticket;
            me.timed_out = false;
            Some(())
        });
        if !then() || !matches!(waiting, Ok(Some(()))) {
            let _ = with_scheduler(|scheduler| {
                if let Some(me) = scheduler.current_mut() {
                    me.state = State::Running;
                }
            });
            return true;
        }
        switch(false);
        with_scheduler(|scheduler| Some(!scheduler.current_mut()?.timed_out))
            .ok()
            .flatten()
            .unwrap_or(true)
    })
}

/// Wakes the thread that has waited longest on `key`; false if none waits.
/// Safe in an interrupt routine: it only makes a thread ready.
pub fn wake_one(key: usize) -> bool {
    interrupt_mask::without(|| {
        with_scheduler(|scheduler| {
            let first = scheduler
                .threads
                .iter()
                .enumerate()
                .filter(|(_, thread)| matches!(thread.state, State::Waiting { key: waiting, .. } if waiting == key))
                .min_by_key(|(_, thread)| thread.ticket)
                .map(|(index, _)| index);
            first.map(|index| scheduler.make_ready(index)).is_some()
        })
        .unwrap_or(false)
    })
}

/// Sleeps while `word` holds `expected`, until [`wake_all`] on its address
/// or until `time` reaches `deadline`. False on timeout.
pub fn wait_word(word: &AtomicU32, expected: u32, deadline: u64) -> bool {
    wait_on(word.as_ptr().addr(), deadline, || {
        word.load(Ordering::Acquire) == expected
    })
}

/// Returns once every other thread that was ready to run at the call has
/// had the processor since. A thread preempted between loading a vtable
/// pointer and entering the object's gate is such a thread, so after a
/// mutation this is how long a stale pointer can live.
pub fn grace_period() {
    let start = now();
    while interrupt_mask::without(|| with_scheduler(|scheduler| scheduler.any_ready_before(start)))
        .unwrap_or(false)
    {
        let_others_run();
    }
}

/// Sleeps one grace-period step. Long enough for the others to run: a
/// thread switched in just before this thread's timer fired would be
/// preempted again before its first instruction (a switch costs more than
/// a tick), and would seem to have had the processor without having run.
/// Out of line, so a grace period with nobody to wait for stays short.
#[cold]
#[inline(never)]
fn let_others_run() {
    sleep_until(now() + (ticks_per_second() / GRACE_STEPS_PER_SECOND).max(1));
}

/// How often a grace period looks again: every microsecond (1,000
/// instructions under QEMU's instruction count), well above what a switch
/// and an interrupt's entry take, so a thread switched in runs before the
/// next look.
const GRACE_STEPS_PER_SECOND: u64 = 1_000_000;

/// Wakes every thread waiting on `key`; returns how many.
pub fn wake_all(key: usize) -> usize {
    interrupt_mask::without(|| {
        with_scheduler(|scheduler| {
            let mut woken = 0;
            // Wake in ticket order, so the queue keeps first-come order.
            while let Some(index) = scheduler
                .threads
                .iter()
                .enumerate()
                .filter(|(_, thread)| matches!(thread.state, State::Waiting { key: waiting, .. } if waiting == key))
                .min_by_key(|(_, thread)| thread.ticket)
                .map(|(index, _)| index)
            {
                scheduler.make_ready(index);
                woken += 1;
            }
            woken
        })
        .unwrap_or(0)
    })
}

/// Puts `component` (or, with `None`, the built-in round-robin) in charge:
/// every ready thread moves to it, in the order the old policy would have
/// run them. Returns the old component, to be dropped with interrupts
/// enabled (dropping it may unload its module).
#[cfg(feature = "loader")]
fn replace_policy(component: Option<Component>) -> Result<Option<Component>> {
    interrupt_mask::without(|| {
        with_scheduler(|scheduler| {
            // Drain first, then hand over: the two may be one object.
            let mut ready = [0usize; MAX_THREADS];
            let mut count = 0;
            let now = timer::now();
            while count < MAX_THREADS {
                let Some(index) = scheduler.pick_next_or_stop(now) else {
                    break;
                };
                if let Some(index) = index {
                    ready[count] = index;
                    count += 1;
                }
            }
            let old = scheduler.policy.replace(component);
            for &index in &ready[..count] {
                let id = scheduler.threads[index].id;
                scheduler.policy.ready(index, id);
            }
            old
        })
    })
}

/// Switches to the policy component `object` (named `name`).
#[cfg(feature = "loader")]
pub fn use_policy_component(object: ComPtr<ISchedulerPolicy>, name: &str) -> Result<()> {
    let old = replace_policy(Some(Component::new(object)?))?;
    drop(old);
    set_policy_name(name);
    Ok(())
}

/// Switches back to the built-in round-robin (without the loader, the
/// only policy there is, always in charge).
pub fn use_builtin_policy() -> Result<()> {
    #[cfg(feature = "loader")]
    {
        let old = replace_policy(None)?;
        drop(old);
        set_policy_name(BUILTIN_POLICY);
    }
    Ok(())
}

/// True when the policy in force preempts a running thread at the end of
/// its time slice.
pub fn preemptive() -> bool {
    interrupt_mask::without(|| with_scheduler(|scheduler| scheduler.policy.preemptive()))
        .unwrap_or(true)
}

/// The name of the built-in policy.
pub const BUILTIN_POLICY: &str = "builtin";

/// The policy's name, for `ps` and `sched`.
#[cfg(feature = "loader")]
static POLICY_NAME: crate::machine::interrupt_mask::Exclusive<([u8; 32], usize)> =
    crate::machine::interrupt_mask::Exclusive::new(([0; 32], 0));

#[cfg(feature = "loader")]
fn set_policy_name(name: &str) {
    let length = name.len().min(32);
    interrupt_mask::without(|| {
        POLICY_NAME.with(|(bytes, used)| {
            bytes[..length].copy_from_slice(&name.as_bytes()[..length]);
            *used = length;
        })
    });
}

/// Copies the current policy's name into `buffer`; returns its length.
#[cfg(feature = "loader")]
pub fn policy_name(buffer: &mut [u8]) -> usize {
    interrupt_mask::without(|| {
        POLICY_NAME.with(|(bytes, used)| {
            let name: &[u8] = if *used == 0 {
                BUILTIN_POLICY.as_bytes()
            } else {
                &bytes[..*used]
            };
            copy_name(name, buffer)
        })
    })
    .unwrap_or(0)
}

/// Copies the policy's name — without the loader, always the built-in
/// one's — into `buffer`; returns its length.
#[cfg(not(feature = "loader"))]
pub fn policy_name(buffer: &mut [u8]) -> usize {
    copy_name(BUILTIN_POLICY.as_bytes(), buffer)
}

/// Copies as much of `name` as fits into `buffer`; returns how much.
/// (Zipped, not sliced: no index that could panic, and format.)
fn copy_name(name: &[u8], buffer: &mut [u8]) -> usize {
    buffer
        .iter_mut()
        .zip(name)
        .map(|(to, from)| *to = *from)
        .count()
}

/// The calling thread asks for `estimate` ticks of processor between
/// `start` and `deadline`; `REFUSED` if the policy cannot promise it,
/// `NOT_SUPPORTED` if the policy has no time constraints. Once admitted,
/// the policy chooses again, with the caller's new standing.
pub fn begin_constraint(start: u64, estimate: u64, deadline: u64, criticality: u32) -> Result<()> {
    interrupt_mask::without(|| {
        with_scheduler(|scheduler| {
            scheduler
                .policy
                .begin_constraint(current_id(), start, estimate, deadline, criticality)
        })?
        .inspect(|_| switch(true))
    })
}

/// Ends the calling thread's time constraint: `TIMED_OUT` if its deadline
/// passed first (the constraint is over either way). The caller keeps the
/// processor until the policy next chooses, so a periodic thread can state
/// its next constraint before threads without one run.
pub fn end_constraint() -> Result<()> {
    interrupt_mask::without(|| {
        with_scheduler(|scheduler| scheduler.policy.end_constraint(current_id(), timer::now()))
    })?
}

/// Every thread waiting on the lock at `key` waits for `holder`, its owner,
/// and lends it its urgency (priority inheritance, which the policy
/// follows along chains of locks).
pub fn lend_urgency(key: usize, holder: ThreadId) {
    for_waiters(key, |policy, waiter| policy.inherit(holder, waiter));
}

/// The lock at `key` was released: the threads waiting on it stop lending
/// their urgency to its holder (what the holder has from waiters on its
/// other locks stays).
pub fn stop_lending(key: usize) {
    for_waiters(key, Policy::disinherit);
}

/// Tells a policy component `tell(policy, waiter)` for each thread waiting
/// on `key` (the built-in policy lends nothing).
fn for_waiters(key: usize, tell: impl Fn(&Policy, ThreadId)) {
    interrupt_mask::without(|| {
        let _ = with_scheduler(|scheduler| {
            if !scheduler.policy.is_component() {
                return;
            }
            for thread in &scheduler.threads {
                if matches!(thread.state, State::Waiting { key: waiting, .. } if waiting == key) {
                    tell(&scheduler.policy, thread.id);
                }
            }
        });
    });
}

/// The running thread's id (1, the boot thread, before threads start).
pub fn current_id() -> ThreadId {
    CURRENT_ID.load(Ordering::Relaxed)
}

/// Runs `f` on the scheduler; `NOT_SUPPORTED` before `init`. Interrupts
/// must be disabled.
fn with_scheduler<T>(f: impl FnOnce(&mut Scheduler) -> T) -> Result<T> {
    // No threads yet: `init` has not run.
    SCHEDULER
        .with(|scheduler| (!scheduler.threads.is_empty()).then(|| f(scheduler)))
        .flatten()
        .ok_or(Status::NOT_SUPPORTED)
}

/// Hands the processor to the next ready thread (or the idle thread). With
/// `requeue`, the caller stays ready; otherwise it already set its state.
/// Interrupts must be disabled; returns when the caller runs again.
///
/// One of the two `unsafe` exceptions of the kernel outside `machine` and
/// `abi` (docs/architecture.md): the switch takes the two records' contexts by
/// address, and only the scheduler knows they stay alive. A checked switch
/// (contexts in a machine-owned table, named by generation-checked ids)
/// cost 25 more instructions per switch, a sixth of a yield.
#[allow(
    unsafe_code,
    reason = "the context switch, on the scheduler's hottest path"
)]
fn switch(requeue: bool) {
    let registers = with_scheduler(|scheduler| {
        let now = timer::now();
        scheduler.wake_sleepers(now);
        let (current, idle) = (scheduler.current, scheduler.idle);
        let me = scheduler.current_mut()?;
        if me.state == State::Running {
            me.state = State::Ready;
        }
        let next = if !me.stack_intact() {
            stop_overflowed(scheduler);
            scheduler.pick_next(now)
        } else if requeue && current != idle && me.state == State::Ready {
            let id = me.id;
            let threads = &scheduler.threads;
            scheduler
                .policy
                .requeue_and_pick(current, id, now, &mut scheduler.earliest_sleeper, |id| {
                    threads.iter().position(|thread| thread.id == id)
                })
                .flatten()
                // Each way ends in an index, not an `Option` to test where
                // they meet: the built-in policy's always has one.
                .unwrap_or(idle)
        } else {
            scheduler.pick_next(now)
        };
        let me = scheduler.current_mut()?;
        if next == current && me.state == State::Ready {
            me.state = State::Running;
            scheduler.program_timer(now);
            return None;
        }
        me.cpu_ticks += now - me.since;
        let from = &raw mut me.context;
        // The record itself, not its box: written through a `&mut Box`,
        // each field would load the box's pointer again.
        let target: &mut Thread = scheduler.threads.get_mut(next)?;
        target.state = State::Running;
        target.since = now;
        let to = &raw const target.context;
        CURRENT_ID.store(target.id, Ordering::Relaxed);
        scheduler.current = next;
        scheduler.program_timer(now);
        Some((from, to))
    });
    if let Ok(Some((from, to))) = registers {
        // SAFETY: interrupts are disabled; both records are boxed, so the
        // contexts stay put, and a record is freed only once its thread has
        // exited and switched away for good.
        unsafe { context::switch(from, to) };
    }
}

/// Stops a thread that wrote past the bottom of its stack, and says so.
/// (Without memory protection the overflow may already have damaged the
/// memory below the stack; stopping the thread keeps it from doing more.)
#[cold]
#[inline(never)]
fn stop_overflowed(scheduler: &mut Scheduler) {
    let Some(thread) = scheduler.current_mut() else {
        return;
    };
    kputln!(
        "threads: thread ",
        thread.id,
        " (",
        thread.name(),
        ") overflowed its stack; it is stopped"
    );
    scheduler.finish_current();
}

/// Where the running thread keeps its floating-point registers (null while
/// the scheduler is busy: its code uses no floating point).
#[cfg(feature = "loader")]
fn running_fp_registers() -> *mut FpRegisters {
    with_scheduler(|scheduler| Some(scheduler.current_mut()?.context.fp_registers()))
        .ok()
        .flatten()
        .unwrap_or(core::ptr::null_mut())
}

/// The timer interrupt: sleepers whose time came wake, and the running
/// thread goes to the back of the queue if another is ready.
fn on_timer() {
    switch(true);
}

/// Where every new thread starts, with interrupts disabled: enable them,
/// run the thread's function, exit.
extern "C" fn start(id: usize) -> ! {
    let id = id as ThreadId;
    let work = with_scheduler(|scheduler| {
        scheduler
            .find(id)
            .map(|thread| (thread.entry, thread.kernel_stack_top()))
    });
    interrupt_mask::enable();
    match work {
        Ok(Some((Entry::Kernel(function, argument), _))) => function(argument),
        #[cfg(feature = "loader")]
        Ok(Some((Entry::Component(function, argument), _))) => function(argument),
        #[cfg(feature = "loader")]
        Ok(Some((
            Entry::User {
                entry,
                argument,
                stack,
            },
            kernel_stack_top,
        ))) => crate::machine::user::enter(entry, argument, stack, kernel_stack_top),
        _ => {}
    }
    exit()
}

/// The idle thread: sleeps the hart until an interrupt is pending. The
/// check and the `wfi` happen with interrupts disabled (a pending interrupt
/// still ends `wfi`), so one that makes a thread ready just before cannot
/// be slept through; enabling interrupts then takes it, and its handler
/// switches to the thread it woke.
fn idle(_: usize) {
    loop {
        #[cfg(feature = "loader")]
        reap_detached();
        interrupt_mask::disable();
        let nothing_ready = with_scheduler(|scheduler| scheduler.policy.is_empty()).unwrap_or(true);
        if nothing_ready {
            let halted_at = counters::instructions();
            interrupt_mask::wait();
            let halted = counters::instructions().wrapping_sub(halted_at);
            HALTED.fetch_add(halted, Ordering::Relaxed);
        }
        interrupt_mask::enable();
        yield_now();
    }
}

/// What `instret` advanced while the idle thread had the hart halted in
/// `wfi`. Under QEMU's `-icount` the counter is the virtual clock, which
/// goes on while the hart is halted (at the host's pace, while QEMU
/// serves a device): time the machine waited, not instructions it
/// retired. Added to by the idle thread only, with interrupts disabled.
static HALTED: AtomicU64 = AtomicU64::new(0);

/// Instructions retired since reset less those counted while the hart was
/// halted ([`HALTED`]): the work done, however long the machine waited —
/// the clock of measurements (`IScheduler::instructions`).
pub fn instructions_worked() -> u64 {
    loop {
        let halted = HALTED.load(Ordering::Relaxed);
        let count = counters::instructions();
        // The idle thread halted between the readings (this thread was
        // preempted): the count may hold a halt `halted` lacks.
        if HALTED.load(Ordering::Relaxed) == halted {
            return count.wrapping_sub(halted);
        }
    }
}

/// [`instructions_worked`] as it was when `instret` read `instret` (a
/// trap's entry), provided the hart has not halted since.
#[cfg(feature = "loader")]
pub fn worked_at(instret: u64) -> u64 {
    instret.wrapping_sub(HALTED.load(Ordering::Relaxed))
}

/// Called at the end of an interrupt that may have woken threads: lets a
/// woken thread run now rather than at the next time slice.
pub fn after_interrupt() {
    switch(true);
}

fn unreachable_after_exit() -> ! {
    // An exited thread is never picked again.
    loop {
        interrupt_mask::wait();
    }
}
