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
use interfaces::{ISchedulerPolicy, ISchedulerPolicyImpl};
use sync::Mutex;

/// Ready threads, first in first out.
struct Ring {
    ids: [u64; MAX_THREADS],
    head: usize,
    length: usize,
}

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
        let mut ring = self.ring.lock();
        if ring.length == MAX_THREADS {
            return Err(Status::OUT_OF_MEMORY);
        }
        let at = (ring.head + ring.length) % MAX_THREADS;
        ring.ids[at] = thread;
        ring.length += 1;
        Ok(())
    }

    fn pick(&self) -> Result<u64> {
        let mut ring = self.ring.lock();
        if ring.length == 0 {
            return Err(Status::NOT_FOUND);
        }
        let id = ring.ids[ring.head];
        ring.head = (ring.head + 1) % MAX_THREADS;
        ring.length -= 1;
        Ok(id)
    }

    fn has_ready(&self) -> Result<bool> {
        Ok(self.ring.lock().length > 0)
    }

    fn forget(&self, thread: u64) -> Result<()> {
        let mut ring = self.ring.lock();
        let (head, length) = (ring.head, ring.length);
        let mut kept = 0;
        for slot in 0..length {
            let value = ring.ids[(head + slot) % MAX_THREADS];
            if value != thread {
                ring.ids[(head + kept) % MAX_THREADS] = value;
                kept += 1;
            }
        }
        ring.length = kept;
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

    fn end_constraint(&self, _thread: u64) -> Result<()> {
        Err(Status::NOT_SUPPORTED)
    }

    fn inherit(&self, _holder: u64, _waiter: u64) -> Result<()> {
        Ok(())
    }

    fn disinherit(&self, _holder: u64) -> Result<()> {
        Ok(())
    }
}

fn construct() -> Result<ComPtr<IUnknown>> {
    let ring = Ring {
        ids: [0; MAX_THREADS],
        head: 0,
        length: 0,
    };
    Ok(ComObject::create::<ISchedulerPolicy>(FirstComeFirstServed {
        ring: Mutex::new(ring),
    })
    .to_unknown())
}

component::component!(construct);
