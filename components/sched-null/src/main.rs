//! Scheduling policy component: first come, first served, never preempting.
//!
//! The smallest policy: one ring of ready threads, no priorities, no time
//! slices — a thread runs until it blocks, sleeps, yields or exits. Asking
//! it for priorities fails with `NOT_SUPPORTED`.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

use com::{ComObject, ComPtr, IUnknown, Result, Status, class, copy_text};
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
        copy_text("sched-null", buffer)
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
}

fn construct() -> Result<ComPtr<IUnknown>> {
    let ring = Ring::new();
    Ok(ComObject::create::<ISchedulerPolicy>(FirstComeFirstServed {
        ring: Mutex::new(ring),
    })
    .to_unknown())
}

component::component!(construct);
