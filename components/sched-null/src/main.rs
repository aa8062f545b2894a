//! Scheduling policy component: first come, first served, never preempting.
//!
//! The smallest policy: one ring of ready threads, no priorities, no time
//! slices — a thread runs until it blocks, sleeps, yields or exits. Asking
//! it for priorities fails with `NOT_SUPPORTED`.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

use com::{ComObject, ComPtr, IUnknown, Result, Status, class};
use component::Text;
use interfaces::scheduler::MAX_THREADS;
use interfaces::{ISchedulerPolicy, ISchedulerPolicyImpl, Pick};
use sync::Mutex;

/// Ready threads, first in first out.
type Ring = sched_queue::Ring<MAX_THREADS>;

#[class(ISchedulerPolicy)]
struct FirstComeFirstServed {
    ring: Mutex<Ring>,
}

impl ISchedulerPolicyImpl for FirstComeFirstServed {
    fn name(&self, buffer: &mut [u8]) -> Result<usize> {
        let mut text = Text::new(buffer);
        text.push("sched-null")?;
        Ok(text.len())
    }

    fn ready(&self, thread: u64) -> Result<()> {
        if self.ring.lock().push(thread) {
            Ok(())
        } else {
            Err(Status::OUT_OF_MEMORY)
        }
    }

    fn pick(&self, _now: u64) -> Result<Pick> {
        self.ring
            .lock()
            .pop()
            .map(Pick::slice)
            .ok_or(Status::NOT_FOUND)
    }

    fn has_ready(&self) -> Result<bool> {
        Ok(!self.ring.lock().is_empty())
    }

    fn forget(&self, thread: u64) -> Result<()> {
        self.ring.lock().remove(thread);
        Ok(())
    }

    fn preemptive(&self) -> Result<bool> {
        Ok(false)
    }

    fn set_priority(&self, _thread: u64, _priority: u32) -> Result<()> {
        Err(Status::NOT_SUPPORTED)
    }

    fn begin_constraint(
        &self,
        _thread: u64,
        _start: u64,
        _estimate: u64,
        _deadline: u64,
        _criticality: u32,
    ) -> Result<()> {
        Err(Status::NOT_SUPPORTED)
    }

    fn end_constraint(&self, _thread: u64, _now: u64) -> Result<()> {
        Err(Status::NOT_SUPPORTED)
    }

    fn inherit(&self, _holder: u64, _waiter: u64) -> Result<()> {
        Ok(())
    }

    fn disinherit(&self, _waiter: u64) -> Result<()> {
        Ok(())
    }
}

fn construct() -> Result<ComPtr<IUnknown>> {
    let ring = Ring::new();
    Ok(ComObject::create::<ISchedulerPolicy>(FirstComeFirstServed {
        ring: Mutex::new(ring),
    })
    .to_unknown())
}

component::component!(construct);
