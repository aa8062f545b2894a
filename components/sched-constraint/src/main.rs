//! Scheduling policy component: real-time time constraints, earliest deadline first, with admission control, budgets, missed-deadline reports and priority inheritance along chains of locks.
//!
//! A thread states a constraint — `estimate` ticks of processor between
//! `start` and `deadline` — and the policy admits it only if every admitted
//! constraint can still be met: the sum of `estimate / (deadline - start)`
//! stays at most 1 (the earliest-deadline-first bound); otherwise the call
//! fails with `REFUSED`.
//!
//! Ready threads run in three classes, each ahead of the next:
//!
//! 1. threads within their estimate: earliest deadline first (ties: higher
//!    criticality, then first come);
//! 2. threads that ran past their estimate before their deadline: higher
//!    criticality first, then earliest deadline — an overrun never delays
//!    a thread that keeps to its estimate, and among overrunning threads
//!    the more critical wins;
//! 3. threads without a constraint, first come first served.
//!
//! The processor time a thread gets is charged to its estimate from each
//! pick to the next, and the kernel is told when the budget runs out, so
//! the demotion happens on time, not at the end of a time slice. A
//! constraint whose deadline passes ends there: the thread falls to the
//! third class, and `end_constraint` reports `TIMED_OUT`.
//!
//! A thread waiting for a lock lends its standing to the lock's holder,
//! and through it to whoever holds a lock the holder waits for, to the end
//! of the chain (priority inheritance); the time the holder runs with a
//! lent standing is charged to the lender's estimate. Each waiter lends
//! until the lock it waits for is released, so a holder releasing one of
//! two contended locks keeps what the waiters on the other lend it.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

use com::{ComObject, ComPtr, IUnknown, Result, Status, class, copy_text};
use interfaces::scheduler::MAX_THREADS;
use interfaces::{ISchedulerPolicy, ISchedulerPolicyImpl, Pick};
use sync::Mutex;

/// Utilization is kept in millionths.
const FULL: u64 = 1_000_000;
/// No time: never.
const NEVER: u64 = u64::MAX;

/// A thread's time constraint.
#[derive(Clone, Copy)]
struct Constraint {
    /// When its estimate starts to be charged.
    start: u64,
    deadline: u64,
    /// Ticks of processor left of its estimate.
    left: u64,
    /// Its share of the processor, in millionths.
    share: u64,
    criticality: u32,
}

impl Constraint {
    /// Where the thread stands among the ready threads.
    fn standing(&self) -> Standing {
        let rank = u32::MAX - self.criticality;
        if self.left > 0 {
            Standing::Within {
                deadline: self.deadline,
                rank,
            }
        } else {
            Standing::Over {
                rank,
                deadline: self.deadline,
            }
        }
    }

    /// When, if the thread runs from `now`, its standing changes: its
    /// budget runs out, or its deadline passes.
    fn until(&self, now: u64) -> u64 {
        let passed = self.deadline.saturating_add(1);
        if self.left == 0 {
            return passed;
        }
        now.max(self.start).saturating_add(self.left).min(passed)
    }
}

/// How a thread competes for the processor: the smallest runs first.
/// (`rank` is the criticality inverted, so more critical is smaller.)
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Standing {
    /// Within its estimate: earliest deadline first.
    Within { deadline: u64, rank: u32 },
    /// Past its estimate, before its deadline: most critical first.
    Over { rank: u32, deadline: u64 },
    /// No constraint.
    Free,
}

/// What the policy knows of one thread.
#[derive(Clone, Copy)]
struct Entry {
    /// The thread's id (0: a free entry).
    thread: u64,
    constraint: Option<Constraint>,
    /// Its last constraint's deadline passed before it ended it; the next
    /// `end_constraint` says so.
    missed: bool,
    /// The thread holding the lock it waits for (0: none), and its slot.
    waits_for: u64,
    waits_for_slot: usize,
    /// The best standing lent by threads waiting, directly or along a
    /// chain, for locks it holds, and the lender's slot (set by each pick).
    lent: Standing,
    lender: usize,
    /// Ready to run, and when it became so (for first-come order).
    ready: bool,
    since: u64,
}

impl Entry {
    const FREE: Entry = Entry {
        thread: 0,
        constraint: None,
        missed: false,
        waits_for: 0,
        waits_for_slot: 0,
        lent: Standing::Free,
        lender: 0,
        ready: false,
        since: 0,
    };

    /// Its own standing.
    fn standing(&self) -> Standing {
        self.constraint
            .as_ref()
            .map_or(Standing::Free, Constraint::standing)
    }
}

/// The thread on the processor, as far as the policy knows.
#[derive(Clone, Copy)]
struct Running {
    /// Since when it runs.
    since: u64,
    /// The slot and thread whose estimate pays for it (itself, or the
    /// lender of the standing it runs with).
    payer: usize,
    payer_thread: u64,
}

struct State {
    entries: [Entry; MAX_THREADS],
    /// Counts readiness events, to order threads first come first served.
    clock: u64,
    /// The thread last picked, until the next pick charges it.
    running: Option<Running>,
}

impl State {
    /// The slot of `thread`, made if needed; `None` when the table is full.
    fn slot(&mut self, thread: u64) -> Option<usize> {
        let index = self
            .entries
            .iter()
            .position(|entry| entry.thread == thread)
            .or_else(|| self.entries.iter().position(|entry| entry.thread == 0))?;
        if self.entries[index].thread == 0 {
            self.entries[index] = Entry {
                thread,
                ..Entry::FREE
            };
        }
        Some(index)
    }

    /// The entry of `thread`, made if needed.
    fn entry(&mut self, thread: u64) -> Result<&mut Entry> {
        let slot = self.slot(thread).ok_or(Status::OUT_OF_MEMORY)?;
        Ok(&mut self.entries[slot])
    }

    /// The entry of `thread`, if the policy knows it.
    fn find(&mut self, thread: u64) -> Option<&mut Entry> {
        self.entries.iter_mut().find(|entry| entry.thread == thread)
    }

    /// The processor share already promised.
    fn admitted(&self) -> u64 {
        self.entries
            .iter()
            .filter_map(|entry| entry.constraint.as_ref())
            .map(|constraint| constraint.share)
            .sum()
    }

    /// Charges the thread last picked for the processor it had until `now`
    /// (time before its constraint's start is free).
    fn charge(&mut self, now: u64) {
        let Some(running) = self.running.take() else {
            return;
        };
        let payer = &mut self.entries[running.payer];
        if payer.thread != running.payer_thread {
            return;
        }
        if let Some(constraint) = payer.constraint.as_mut() {
            let used = now.saturating_sub(running.since.max(constraint.start));
            constraint.left = constraint.left.saturating_sub(used);
        }
    }

    /// Ends every constraint whose deadline passed before `now`.
    fn expire(&mut self, now: u64) {
        for entry in self.entries.iter_mut().filter(|entry| entry.thread != 0) {
            if entry
                .constraint
                .is_some_and(|constraint| now > constraint.deadline)
            {
                entry.constraint = None;
                entry.missed = true;
            }
        }
    }

    /// Lends each waiting thread's standing along its chain of holders.
    fn lend(&mut self) {
        for (slot, entry) in self.entries.iter_mut().enumerate() {
            (entry.lent, entry.lender) = (Standing::Free, slot);
        }
        for lender in 0..MAX_THREADS {
            let entry = &self.entries[lender];
            let standing = entry.standing();
            if entry.waits_for == 0 || standing == Standing::Free {
                continue;
            }
            // At most one step per thread: a cycle (a deadlock) ends too.
            let mut at = lender;
            for _ in 0..MAX_THREADS {
                let (holder, slot) = (self.entries[at].waits_for, self.entries[at].waits_for_slot);
                let next = &mut self.entries[slot];
                // Stop where the chain ends, or where a lender at least
                // as urgent has already been along.
                if holder == 0 || next.thread != holder || next.lent <= standing {
                    break;
                }
                (next.lent, next.lender) = (standing, lender);
                at = slot;
            }
        }
    }
}

#[class(ISchedulerPolicy)]
struct Constraints {
    state: Mutex<State>,
}

impl ISchedulerPolicyImpl for Constraints {
    fn name(&self, buffer: &mut [u8]) -> Result<usize> {
        copy_text("sched-constraint", buffer)
    }

    fn ready(&self, thread: u64) -> Result<()> {
        let mut state = self.state.lock();
        state.clock += 1;
        let clock = state.clock;
        let entry = state.entry(thread)?;
        entry.ready = true;
        entry.since = clock;
        Ok(())
    }

    fn pick(&self, now: u64) -> Result<Pick> {
        let mut state = self.state.lock();
        state.charge(now);
        state.expire(now);
        state.lend();
        let (_, _, slot, payer) = state
            .entries
            .iter()
            .enumerate()
            .filter(|(_, entry)| entry.thread != 0 && entry.ready)
            .map(|(slot, entry)| {
                let (standing, payer) = if entry.lent < entry.standing() {
                    (entry.lent, entry.lender)
                } else {
                    (entry.standing(), slot)
                };
                (standing, entry.since, slot, payer)
            })
            .min()
            .ok_or(Status::NOT_FOUND)?;
        state.entries[slot].ready = false;
        let payer_entry = state.entries[payer];
        state.running = Some(Running {
            since: now,
            payer,
            payer_thread: payer_entry.thread,
        });
        Ok(Pick {
            thread: state.entries[slot].thread,
            until: payer_entry
                .constraint
                .map_or(NEVER, |constraint| constraint.until(now)),
        })
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
        if let Some(entry) = self.state.lock().find(thread) {
            *entry = Entry::FREE;
        }
        Ok(())
    }

    fn preemptive(&self) -> Result<bool> {
        Ok(true)
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
            .find(thread)
            .and_then(|entry| entry.constraint)
            .map_or(0, |constraint| constraint.share);
        if estimate > window || state.admitted() - own + share > FULL {
            return Err(Status::REFUSED);
        }
        let entry = state.entry(thread)?;
        entry.constraint = Some(Constraint {
            start,
            deadline,
            left: estimate,
            share,
            criticality,
        });
        entry.missed = false;
        Ok(())
    }

    fn end_constraint(&self, thread: u64, now: u64) -> Result<()> {
        let mut state = self.state.lock();
        let entry = state.find(thread).ok_or(Status::NOT_FOUND)?;
        let missed = entry.missed
            || entry
                .constraint
                .is_some_and(|constraint| now > constraint.deadline);
        (entry.constraint, entry.missed) = (None, false);
        if missed {
            Err(Status::TIMED_OUT)
        } else {
            Ok(())
        }
    }

    fn inherit(&self, holder: u64, waiter: u64) -> Result<()> {
        if holder == waiter {
            return Err(Status::INVALID_ARGUMENT);
        }
        let mut state = self.state.lock();
        let slot = state.slot(holder).ok_or(Status::OUT_OF_MEMORY)?;
        let entry = state.entry(waiter)?;
        (entry.waits_for, entry.waits_for_slot) = (holder, slot);
        Ok(())
    }

    fn disinherit(&self, waiter: u64) -> Result<()> {
        if let Some(entry) = self.state.lock().find(waiter) {
            entry.waits_for = 0;
        }
        Ok(())
    }
}

fn construct() -> Result<ComPtr<IUnknown>> {
    let state = State {
        entries: [Entry::FREE; MAX_THREADS],
        clock: 0,
        running: None,
    };
    Ok(ComObject::create::<ISchedulerPolicy>(Constraints {
        state: Mutex::new(state),
    })
    .to_unknown())
}

component::component!(construct);
