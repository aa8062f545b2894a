//! Scheduling policy component: real-time time constraints, earliest deadline first, with admission control and priority inheritance.
//!
//! A thread states a constraint — `estimate` ticks of processor between
//! `start` and `deadline` — and the policy admits it only if every admitted
//! constraint can still be met: the sum of `estimate / (deadline - start)`
//! stays at most 1 (the earliest-deadline-first bound); otherwise the call
//! fails with `REFUSED`. Ready threads with a constraint run earliest
//! deadline first (ties: higher criticality); threads without one take
//! turns after them. A thread holding a lock that a constrained thread
//! waits for runs with that thread's deadline until it unlocks (priority
//! inheritance), so the waiter's delay is bounded by the holder's work.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

use com::{ComObject, ComPtr, IUnknown, Result, Status, class};
use component::Text;
use interfaces::scheduler::MAX_THREADS;
use interfaces::{ISchedulerPolicy, ISchedulerPolicyImpl};
use sync::Mutex;

/// Utilization is kept in millionths.
const FULL: u64 = 1_000_000;
/// No deadline: runs after every constrained thread.
const NONE: u64 = u64::MAX;

/// What the policy knows of one thread.
#[derive(Clone, Copy)]
struct Entry {
    /// The thread's id (0: a free entry).
    thread: u64,
    /// Its constraint's deadline, or `NONE`.
    deadline: u64,
    /// Its share of the processor, in millionths (0 without a constraint).
    share: u64,
    criticality: u32,
    /// A deadline lent by a thread waiting for a lock this one holds.
    inherited: u64,
    /// Ready to run, and when it became so (for first-come order).
    ready: bool,
    since: u64,
}

impl Entry {
    const FREE: Entry = Entry {
        thread: 0,
        deadline: NONE,
        share: 0,
        criticality: 0,
        inherited: NONE,
        ready: false,
        since: 0,
    };

    /// The deadline it runs by: its own or an inherited one.
    fn urgency(&self) -> u64 {
        self.deadline.min(self.inherited)
    }
}

struct State {
    entries: [Entry; MAX_THREADS],
    /// Counts readiness events, to order threads without deadlines.
    clock: u64,
}

impl State {
    /// The entry of `thread`, made if needed; `None` when the table is full.
    fn entry(&mut self, thread: u64) -> Option<&mut Entry> {
        let index = self
            .entries
            .iter()
            .position(|entry| entry.thread == thread)
            .or_else(|| self.entries.iter().position(|entry| entry.thread == 0))?;
        let entry = &mut self.entries[index];
        if entry.thread == 0 {
            *entry = Entry {
                thread,
                ..Entry::FREE
            };
        }
        Some(entry)
    }

    /// The processor share already promised.
    fn admitted(&self) -> u64 {
        self.entries
            .iter()
            .filter(|entry| entry.thread != 0)
            .map(|entry| entry.share)
            .sum()
    }
}

#[class(ISchedulerPolicy)]
struct Constraints {
    state: Mutex<State>,
}

impl ISchedulerPolicyImpl for Constraints {
    fn name(&self, buffer: &mut [u8]) -> Result<usize> {
        let mut text = Text::new(buffer);
        text.push("sched-constraint")?;
        Ok(text.len())
    }

    fn ready(&self, thread: u64) -> Result<()> {
        let mut state = self.state.lock();
        state.clock += 1;
        let clock = state.clock;
        let entry = state.entry(thread).ok_or(Status::OUT_OF_MEMORY)?;
        entry.ready = true;
        entry.since = clock;
        Ok(())
    }

    fn pick(&self) -> Result<u64> {
        let mut state = self.state.lock();
        let next = state
            .entries
            .iter_mut()
            .filter(|entry| entry.thread != 0 && entry.ready)
            .min_by_key(|entry| (entry.urgency(), u32::MAX - entry.criticality, entry.since))
            .ok_or(Status::NOT_FOUND)?;
        next.ready = false;
        Ok(next.thread)
    }

    fn has_ready(&self) -> Result<bool> {
        Ok(self
            .state
            .lock()
            .entries
            .iter()
            .any(|entry| entry.thread != 0 && entry.ready))
    }

    fn forget(&self, thread: u64) -> Result<()> {
        let mut state = self.state.lock();
        for entry in state
            .entries
            .iter_mut()
            .filter(|entry| entry.thread == thread)
        {
            *entry = Entry::FREE;
        }
        Ok(())
    }

    fn preemptive(&self) -> Result<bool> {
        Ok(true)
    }

    fn set_priority(&self, _thread: u64, _priority: u32) -> Result<()> {
        Err(Status::NOT_SUPPORTED)
    }

    fn begin_constraint(
        &self,
        thread: u64,
        start: u64,
        estimate: u64,
        deadline: u64,
        criticality: u32,
    ) -> Result<()> {
        let window = deadline
            .checked_sub(start)
            .filter(|&window| window > 0)
            .ok_or(Status::INVALID_ARGUMENT)?;
        let share = estimate.saturating_mul(FULL).div_ceil(window);
        let mut state = self.state.lock();
        let own = state
            .entries
            .iter()
            .find(|entry| entry.thread == thread)
            .map_or(0, |entry| entry.share);
        if estimate > window || state.admitted() - own + share > FULL {
            return Err(Status::REFUSED);
        }
        let entry = state.entry(thread).ok_or(Status::OUT_OF_MEMORY)?;
        (entry.deadline, entry.share, entry.criticality) = (deadline, share, criticality);
        Ok(())
    }

    fn end_constraint(&self, thread: u64) -> Result<()> {
        let mut state = self.state.lock();
        let entry = state
            .entries
            .iter_mut()
            .find(|entry| entry.thread == thread)
            .ok_or(Status::NOT_FOUND)?;
        (entry.deadline, entry.share, entry.criticality) = (NONE, 0, 0);
        Ok(())
    }

    fn inherit(&self, holder: u64, waiter: u64) -> Result<()> {
        let mut state = self.state.lock();
        let urgency = state
            .entries
            .iter()
            .find(|entry| entry.thread == waiter)
            .map_or(NONE, Entry::urgency);
        let entry = state.entry(holder).ok_or(Status::OUT_OF_MEMORY)?;
        entry.inherited = entry.inherited.min(urgency);
        Ok(())
    }

    fn disinherit(&self, holder: u64) -> Result<()> {
        let mut state = self.state.lock();
        if let Some(entry) = state
            .entries
            .iter_mut()
            .find(|entry| entry.thread == holder)
        {
            entry.inherited = NONE;
        }
        Ok(())
    }
}

fn construct() -> Result<ComPtr<IUnknown>> {
    let state = State {
        entries: [Entry::FREE; MAX_THREADS],
        clock: 0,
    };
    Ok(ComObject::create::<ISchedulerPolicy>(Constraints {
        state: Mutex::new(state),
    })
    .to_unknown())
}

component::component!(construct);
