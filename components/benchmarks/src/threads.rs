//! The scheduler's figures: a yield, a mutex, a condition's signal and a
//! timer interrupt's wake-up, each reached through the kernel's interfaces
//! (`IScheduler`, `IMutex`, `ICondition`, `IInterrupts`) and counted
//! without the calls into the kernel (`Meter::measure_in_kernel`).

use alloc::sync::Arc;
use core::hint::black_box;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use com::Result;
use component::threads::{Condition, Lock, spawn};
use interfaces::IInterrupts;
use sync::Mutex;

use crate::{Meter, RUNS};

/// Tells the yield partner to stop.
static STOP_YIELDING: AtomicBool = AtomicBool::new(false);

extern "C" fn yield_until_stopped(_: u64) {
    let Ok(scheduler) = component::threads::scheduler() else {
        return;
    };
    // Relaxed: the flag only has to be seen eventually.
    while !STOP_YIELDING.load(Ordering::Relaxed) {
        let _ = scheduler.yield_now();
    }
}

pub fn yield_one_way(meter: &Meter) -> Result<u64> {
    STOP_YIELDING.store(false, Ordering::SeqCst);
    let partner = spawn(yield_until_stopped, 0, 4096)?;
    let scheduler = meter.scheduler();
    // Let the partner start, so each yield below goes there and back.
    scheduler.yield_now()?;
    // Two calls: this thread's and the partner's.
    let round_trip = meter.measure_in_kernel(2, || {
        let _ = scheduler.yield_now();
    });
    STOP_YIELDING.store(true, Ordering::SeqCst);
    partner.wait()?;
    Ok(round_trip / 2)
}

pub fn mutex_lock_unlock(meter: &Meter) -> Result<u64> {
    let mutex = component::threads::process()?.create_mutex()?;
    Ok(meter.measure_in_kernel(2, || {
        let _ = black_box(&mutex).lock();
        let _ = mutex.unlock();
    }))
}

/// The handoff's lock and condition, and when the waiter woke.
struct Handoff {
    ready: Lock<bool>,
    signalled: Condition,
    meter: Meter,
}

static HANDOFF: Mutex<Option<Arc<Handoff>>> = Mutex::new(None);
static WOKE_AT: AtomicU64 = AtomicU64::new(0);

extern "C" fn wait_for_handoff(_: u64) {
    let Some(handoff) = HANDOFF.lock().clone() else {
        return;
    };
    let mut ready = handoff.ready.lock();
    while !*ready {
        ready = handoff.signalled.wait(ready);
    }
    WOKE_AT.store(handoff.meter.now(), Ordering::SeqCst);
}

pub fn signal_to_wake(meter: &Meter) -> Result<u64> {
    let ready = Lock::new(false)?;
    let signalled = ready.condition()?;
    let handoff = Arc::new(Handoff {
        ready,
        signalled,
        meter: Meter::new()?,
    });
    *HANDOFF.lock() = Some(handoff.clone());
    // From the first reading to the second: the signal, the yield's way
    // in, the wait's way out, and the two readings' halves.
    let calls = 3 * meter.kernel_call();
    let mut figure = u64::MAX;
    for _ in 0..RUNS {
        *handoff.ready.lock() = false;
        let waiter = spawn(wait_for_handoff, 0, 4096)?;
        // Let the waiter reach its wait.
        meter.scheduler().yield_now()?;
        *handoff.ready.lock() = true;
        let start = meter.now();
        handoff.signalled.signal();
        meter.scheduler().yield_now()?;
        let woken = WOKE_AT.load(Ordering::SeqCst).saturating_sub(start);
        figure = figure.min(woken.saturating_sub(calls));
        waiter.wait()?;
    }
    HANDOFF.lock().take();
    Ok(figure)
}

extern "C" fn sleep_a_millisecond(_: u64) {
    let Ok(meter) = Meter::new() else {
        return;
    };
    let scheduler = meter.scheduler();
    let (Ok(now), Ok(ticks_per_second)) = (scheduler.now(), scheduler.ticks_per_second()) else {
        return;
    };
    let _ = scheduler.sleep_until(now + ticks_per_second / 1000);
    WOKE_AT.store(meter.now(), Ordering::SeqCst);
}

pub fn timer_to_wake(meter: &Meter) -> Result<u64> {
    let interrupts = component::namespace()?
        .bind("/sys/interrupts", 0)?
        .query::<IInterrupts>()?;
    // The sleep's way out of the kernel and the reading's way in.
    let call = meter.kernel_call();
    let mut figure = u64::MAX;
    for _ in 0..RUNS {
        let sleeper = spawn(sleep_a_millisecond, 0, 4096)?;
        // Waiting leaves the processor idle, so the timer interrupt finds
        // the hart waiting and the sleeper is the thread it wakes.
        sleeper.wait()?;
        let entered = interrupts.last_entry_instructions()?;
        let woken = WOKE_AT.load(Ordering::SeqCst).saturating_sub(entered);
        figure = figure.min(woken.saturating_sub(call));
    }
    Ok(figure)
}
