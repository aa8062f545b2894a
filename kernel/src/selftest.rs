//! `/sys/selftest`: checks of the thread machinery that only the running
//! kernel can make. Each spawns threads, waits for them, and checks what
//! they did; a failure prints why.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use com::{Result, Status, class};
use interfaces::{ISelfTests, ISelfTestsImpl};
use sync::Mutex;

use crate::threads::{self, ThreadId};

/// A check: its name and what runs it.
type Check = (&'static str, fn() -> Result<()>);

const CHECKS: &[Check] = &[
    ("sleepers wake in deadline order", sleepers_wake_in_order),
    ("a busy thread is preempted", busy_thread_is_preempted),
    (
        "contended locks hand over without losing updates",
        contended_locks_hand_over,
    ),
];

/// Fails with a message on the console.
fn fail(why: core::fmt::Arguments<'_>) -> Result<()> {
    kprintln!("selftest: {why}");
    Err(Status::FAILED)
}

/// Runs `body(i)` in `count` threads and waits for all of them.
fn in_threads(count: usize, body: fn(usize)) -> Result<()> {
    let ids: Vec<ThreadId> = (0..count)
        .map(|i| threads::spawn("check", body, i, threads::DEFAULT_STACK))
        .collect::<Result<_>>()?;
    ids.into_iter().try_for_each(threads::join)
}

/// The order the sleepers woke in.
static WOKEN: Mutex<Vec<usize>> = Mutex::new(Vec::new());

fn sleepers_wake_in_order() -> Result<()> {
    const SLEEPERS: usize = 16;
    WOKEN.lock().clear();
    WOKEN.lock().reserve(SLEEPERS);
    // Thread i sleeps (SLEEPERS - i) ms, so they were made in the opposite
    // order to the one they must wake in.
    in_threads(SLEEPERS, |i| {
        threads::sleep_ms((SLEEPERS - i) as u64);
        WOKEN.lock().push(i);
    })?;
    let woken = core::mem::take(&mut *WOKEN.lock());
    let expected: Vec<usize> = (0..SLEEPERS).rev().collect();
    if woken != expected {
        return fail(format_args!("sleepers woke in the order {woken:?}"));
    }
    Ok(())
}

/// Set by the second thread; the first spins until it sees it.
static RELEASED: AtomicBool = AtomicBool::new(false);

fn busy_thread_is_preempted() -> Result<()> {
    RELEASED.store(false, Ordering::SeqCst);
    // The spinner never yields: only the timer can let the releaser run.
    let spinner = threads::spawn(
        "spinner",
        |_| {
            while !RELEASED.load(Ordering::SeqCst) {
                core::hint::spin_loop();
            }
        },
        0,
        4096,
    )?;
    let releaser = threads::spawn(
        "releaser",
        |_| RELEASED.store(true, Ordering::SeqCst),
        0,
        4096,
    )?;
    threads::join(spinner)?;
    threads::join(releaser)
}

/// The shared counter of the lock check, and the total it must reach.
static COUNTER: Mutex<u64> = Mutex::new(0);
const INCREMENTS: u64 = 2000;
static DONE: AtomicU64 = AtomicU64::new(0);

fn contended_locks_hand_over() -> Result<()> {
    const WORKERS: usize = 8;
    *COUNTER.lock() = 0;
    DONE.store(0, Ordering::SeqCst);
    in_threads(WORKERS, |_| {
        for _ in 0..INCREMENTS {
            let mut counter = COUNTER.lock();
            // Read, pause, write: a lost update shows if two threads overlap.
            let value = *counter;
            core::hint::black_box(&value);
            *counter = value + 1;
        }
        DONE.fetch_add(1, Ordering::SeqCst);
    })?;
    let total = *COUNTER.lock();
    if total != WORKERS as u64 * INCREMENTS || DONE.load(Ordering::SeqCst) != WORKERS as u64 {
        return fail(format_args!(
            "the counter reached {total}, not {}",
            WORKERS as u64 * INCREMENTS
        ));
    }
    Ok(())
}

/// The `ISelfTests` object at `/sys/selftest`.
#[class(ISelfTests)]
pub struct SelfTests;

impl ISelfTestsImpl for SelfTests {
    fn count(&self) -> Result<u32> {
        u32::try_from(CHECKS.len()).map_err(|_| Status::OUT_OF_RANGE)
    }

    fn name(&self, index: u32, buffer: &mut [u8]) -> Result<usize> {
        let (name, _) = CHECKS.get(index as usize).ok_or(Status::OUT_OF_RANGE)?;
        let room = buffer
            .get_mut(..name.len())
            .ok_or(Status::BUFFER_TOO_SMALL)?;
        room.copy_from_slice(name.as_bytes());
        Ok(name.len())
    }

    fn run(&self, index: u32) -> Result<()> {
        let (_, check) = CHECKS.get(index as usize).ok_or(Status::OUT_OF_RANGE)?;
        check()
    }
}
