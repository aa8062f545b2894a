//! Scheduling policy component: round-robin with priorities and a time slice.
//!
//! Ready threads wait in one first-in, first-out ring per priority; the
//! highest non-empty level runs first, and threads of one level take turns
//! by time slice. A thread's priority defaults to [`DEFAULT_PRIORITY`].
//! Everything is sized at load time: the kernel calls the policy with
//! interrupts disabled, when nothing may allocate.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

use com::{ComObject, ComPtr, IUnknown, Result, Status, class, copy_text};
use interfaces::scheduler::MAX_THREADS;
use interfaces::{ISchedulerPolicy, ISchedulerPolicyImpl, Pick};
use sync::Mutex;

/// Priority levels, 0 (lowest) to `LEVELS - 1`.
const LEVELS: usize = 8;
/// A thread's priority until someone sets it.
const DEFAULT_PRIORITY: u32 = 4;

/// Ready threads of one priority level, first in first out.
type Ring = sched_queue::Ring<MAX_THREADS>;

/// The policy's state.
struct State {
    levels: [Ring; LEVELS],
    /// Threads given a priority other than the default: (id, priority).
    priorities: [(u64, u32); MAX_THREADS],
}

impl State {
    fn priority(&self, id: u64) -> u32 {
        self.priorities
            .iter()
            .find(|(thread, _)| *thread == id)
            .map_or(DEFAULT_PRIORITY, |(_, priority)| *priority)
    }
}

#[class(ISchedulerPolicy)]
struct RoundRobin {
    state: Mutex<State>,
}

impl ISchedulerPolicyImpl for RoundRobin {
    fn name(&self, buffer: &mut [u8]) -> Result<usize> {
        copy_text("sched-rr", buffer)
    }

    fn ready(&self, thread: u64) -> Result<()> {
        let mut state = self.state.lock();
        let level = state.priority(thread) as usize % LEVELS;
        if state.levels[level].push(thread) {
            Ok(())
        } else {
            Err(Status::OUT_OF_MEMORY)
        }
    }

    fn pick(&self, _now: u64) -> Result<Pick> {
        let mut state = self.state.lock();
        state
            .levels
            .iter_mut()
            .rev()
            .find_map(Ring::pop)
            .map(Pick::slice)
            .ok_or(Status::NOT_FOUND)
    }

    fn has_ready(&self) -> Result<bool> {
        Ok(self.state.lock().levels.iter().any(|ring| !ring.is_empty()))
    }

    fn forget(&self, thread: u64) -> Result<()> {
        let mut state = self.state.lock();
        state.levels.iter_mut().for_each(|ring| ring.remove(thread));
        if let Some(entry) = state.priorities.iter_mut().find(|(id, _)| *id == thread) {
            *entry = (0, 0);
        }
        Ok(())
    }

    fn preemptive(&self) -> Result<bool> {
        Ok(true)
    }

    fn set_priority(&self, thread: u64, priority: u32) -> Result<()> {
        if priority as usize >= LEVELS {
            return Err(Status::OUT_OF_RANGE);
        }
        let mut state = self.state.lock();
        let slot = state
            .priorities
            .iter()
            .position(|(id, _)| *id == thread)
            .or_else(|| state.priorities.iter().position(|(id, _)| *id == 0));
        let slot = slot.ok_or(Status::OUT_OF_MEMORY)?;
        state.priorities[slot] = (thread, priority);
        Ok(())
    }
}

fn construct() -> Result<ComPtr<IUnknown>> {
    let state = State {
        levels: [const { Ring::new() }; LEVELS],
        priorities: [(0, 0); MAX_THREADS],
    };
    Ok(ComObject::create::<ISchedulerPolicy>(RoundRobin {
        state: Mutex::new(state),
    })
    .to_unknown())
}

component::component!(construct);
