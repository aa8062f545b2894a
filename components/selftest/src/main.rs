//! Test component: the system's checks of threads, scheduling, loading and live mutation (`ISelfTests`).
//!
//! The shell's `selftest` binds it as `/selftest` (it is only in the test
//! image). Each check spawns threads through `/sys/process`, waits for
//! them, and checks what they did; a failure prints why. Everything it
//! uses of the kernel is an interface a component can bind (`sys`).

#![no_std]
#![no_main]
// Nothing unsafe but what the component and interface macros generate,
// and the transitions that read a mutable object's state (`mutation`).
#![deny(unsafe_code)]

extern crate alloc;

mod constraints;
mod copies;
mod loading;
mod mutation;
mod processes;
mod sys;
mod user_mode;
mod vm;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use com::{ComObject, ComPtr, IUnknown, Result, Status, class};
use component::threads::{Condition, Lock};
use private_interfaces::{ISelfTests, ISelfTestsImpl};
use sync::Mutex;

use sys::{Shared, Thread, say};

/// A check: its name and what runs it.
type Check = (&'static str, fn() -> Result<()>);

const CHECKS: &[Check] = &[
    ("50 sleepers wake in deadline order", sleepers_wake_in_order),
    (
        "producer and consumer move 100000 items, none lost",
        producer_consumer,
    ),
    (
        "a timed wait nobody signals times out",
        timed_wait_times_out,
    ),
    (
        "a sleep's halted time counts no instructions",
        sleep_counts_no_halted_time,
    ),
    (
        "broadcast wakes every waiter; try-lock refuses a held lock",
        broadcast_and_try_lock,
    ),
    ("a busy thread is preempted", busy_thread_is_preempted),
    (
        "contended locks hand over without losing updates",
        contended_locks_hand_over,
    ),
    (
        "a lock's waiter yields to its holder under sched-null",
        lock_waiter_yields_to_its_holder,
    ),
    (
        "policies switch live while 20 threads count, every count intact",
        live_policy_switch,
    ),
    (
        "a thread that overflows its stack is stopped and reported",
        stack_overflow_is_caught,
    ),
    (
        "IProcess makes threads; a stray start is refused",
        process_makes_threads,
    ),
    (
        "constraint calls fail cleanly under sched-rr",
        constraints_unsupported_elsewhere,
    ),
    (
        "sched-constraint meets a periodic set, refuses overload",
        constraint_scheduler_meets_deadlines,
    ),
    (
        "priority inheritance bounds a waiter's delay",
        inheritance_bounds_inversion,
    ),
    (
        "an overrunning thread yields to a critical one in time",
        constraints::overrun_is_demoted,
    ),
    (
        "a missed deadline ends its constraint and is reported",
        constraints::missed_deadline_is_reported,
    ),
    (
        "priority inheritance follows a chain of two locks",
        constraints::inheritance_follows_chains,
    ),
    (
        "releasing one lock keeps the other lock's inheritance",
        constraints::release_keeps_other_inheritance,
    ),
    (
        "a driver attaches, waits on and gives back a source",
        interrupt_sources_attach_and_detach,
    ),
    (
        "4 binders of one missing name share one load",
        loading::binders_of_a_missing_name_share_one_load,
    ),
    (
        "an import cycle across two threads fails in both",
        loading::a_cycle_across_threads_fails_in_both,
    ),
    (
        "the trust policy answers anyone; only its holder changes it",
        loading::the_trust_policy_has_one_holder,
    ),
    (
        "mutation by mutex under 8 callers: none lost or mixed",
        mutation::mutex_under_load,
    ),
    (
        "mutation by abort under 8 callers: none lost or mixed",
        mutation::abort_under_load,
    ),
    (
        "a timed-out mutation changes nothing; abort retries a call",
        mutation::timeout_rolls_back_and_abort_retries,
    ),
    (
        "a second mutator waits no longer than its timeout",
        mutation::second_mutator_times_out,
    ),
    (
        "a filter put in during a mutation waits and goes in after",
        mutation::filter_waits_for_a_mutation_under_way,
    ),
    (
        "a failed transition is undone; plain objects refused",
        mutation::failed_transition_is_undone,
    ),
    (
        "a divider specializes while its divisor is 2, and back",
        mutation::specialization_follows_its_assumption,
    ),
    (
        "counter v1 upgrades to v2 under 8 adders; v1 unloads",
        mutation::component_upgrades_live,
    ),
    (
        "a moved counter forwards under 8 adders; v1 unloads",
        mutation::a_moved_object_forwards,
    ),
    (
        "a counter moves into a process under 8 adders",
        mutation::a_counter_moves_into_a_process,
    ),
    (
        "a read-only filter comes and goes under 8 writers",
        mutation::read_only_filter_comes_and_goes,
    ),
    (
        "an upgrade replaces a filter; removing it keeps v2",
        mutation::upgrade_replaces_a_filter,
    ),
    (
        "the UART driver takes the console over live, and back",
        mutation::console_driver_takes_over_live,
    ),
    (
        "a U-mode thread runs and returns; a stray start is refused",
        user_mode::a_user_thread_runs_and_returns,
    ),
    (
        "bad U-mode code ends its thread with a named error",
        user_mode::bad_user_code_ends_with_named_errors,
    ),
    (
        "floating-point registers survive switches, S- and U-mode",
        user_mode::floating_point_registers_survive_switches,
    ),
    (
        "the floating-point exchange moves whole records, aligned or not",
        user_mode::the_floating_point_exchange_moves_whole_records,
    ),
    (
        "vmm loads for a space; zero-fill pages come on first touch",
        vm::zero_fill_pages_come_on_first_touch,
    ),
    (
        "threads in two spaces and unmapped ones share sched-constraint",
        vm::spaces_and_physical_threads_switch_under_sched_constraint,
    ),
    (
        "bad accesses in a space end the thread: access violation",
        vm::bad_accesses_in_a_space_are_access_violations,
    ),
    (
        "file pages are read on first touch; a shadow copies on write",
        vm::file_pages_come_from_the_file_and_shadows_copy,
    ),
    (
        "wired pages never fault; out of frames: an error, not a panic",
        vm::wired_pages_never_fault_and_wiring_is_all_or_nothing,
    ),
    (
        "an image maps W^X: a code write, a data jump end the thread",
        vm::images_map_with_their_sections_permissions,
    ),
    (
        "mappings share pages; a space's clones show its pages",
        vm::mappings_share_pages_and_spaces_clone,
    ),
    (
        "a space's checked copies are all or nothing",
        vm::checked_copies_are_all_or_nothing,
    ),
    (
        "/sys/vm lists the spaces; the manager unloads after the last",
        vm::spaces_are_listed_under_the_manager,
    ),
    (
        "a component runs unmapped, in a space, and after vmm unloads",
        vm::a_component_runs_with_and_without_the_manager,
    ),
    (
        "1000 space create / map / touch / destroy cycles, no drift",
        vm::a_thousand_space_cycles_leave_no_drift,
    ),
    (
        "1000 process spawn / call / exit cycles, no drift",
        processes::a_thousand_process_cycles_leave_no_drift,
    ),
    (
        "a process calls a kernel object that calls another process",
        processes::a_kernel_object_calls_on_into_another_process,
    ),
    (
        "a kernel object lent to a process is called back",
        processes::a_kernel_object_lent_to_a_process_is_called_back,
    ),
    (
        "memcpy and memmove copy exactly at every alignment",
        copies::copies_are_exact_at_every_alignment,
    ),
];

/// Fails with a message on the console.
fn fail(why: core::fmt::Arguments<'_>) -> Result<()> {
    say!("selftest: {why}");
    Err(Status::FAILED)
}

/// Runs `body(i)` in `count` threads and waits for all of them.
fn in_threads(count: usize, body: fn(usize)) -> Result<()> {
    let threads: Vec<Thread> = (0..count)
        .map(|i| sys::spawn("check", body, i, sys::DEFAULT_STACK))
        .collect::<Result<_>>()?;
    threads.into_iter().try_for_each(sys::join)
}

/// The order the sleepers woke in.
static WOKEN: Mutex<Vec<usize>> = Mutex::new(Vec::new());

/// The sleepers of [`sleepers_wake_in_order`].
const SLEEPERS: usize = 50;

/// When each sleeper went to sleep and when it woke, in ticks: what a
/// failure reports, to tell a late start from a late wake.
static SLEPT_AT: [AtomicU64; SLEEPERS] = [const { AtomicU64::new(0) }; SLEEPERS];
static WOKE_AT: [AtomicU64; SLEEPERS] = [const { AtomicU64::new(0) }; SLEEPERS];

fn sleepers_wake_in_order() -> Result<()> {
    WOKEN.lock().clear();
    WOKEN.lock().reserve(SLEEPERS);
    // Every thread's deadline counts from one moment, far enough ahead for
    // all of them to be asleep by then: thread i wakes (SLEEPERS - i) ms
    // after it, so they were made in the opposite order to the one they
    // must wake in.
    let step = sys::ticks_per_second() / 1000;
    let base = sys::now() + 20 * step;
    SLEEP_BASE.store(base, Ordering::SeqCst);
    in_threads(SLEEPERS, |i| {
        let step = sys::ticks_per_second() / 1000;
        SLEPT_AT[i].store(sys::now(), Ordering::SeqCst);
        sys::sleep_until(SLEEP_BASE.load(Ordering::SeqCst) + (SLEEPERS - i) as u64 * step);
        WOKE_AT[i].store(sys::now(), Ordering::SeqCst);
        WOKEN.lock().push(i);
    })?;
    let woken = core::mem::take(&mut *WOKEN.lock());
    let expected: Vec<usize> = (0..SLEEPERS).rev().collect();
    if woken != expected {
        // Each sleeper out of place: its deadline, when it slept and woke
        // (microseconds from the moment the deadlines count from).
        let from_base = |ticks: u64| {
            (ticks.cast_signed() - base.cast_signed()) * 1000 / step.cast_signed().max(1)
        };
        for (place, &i) in woken.iter().enumerate() {
            if expected.get(place) != Some(&i) {
                say!(
                    "selftest: sleeper {i}: deadline {} us, asleep at {} us, awake at {} us",
                    (SLEEPERS - i) as u64 * 1000,
                    from_base(SLEPT_AT[i].load(Ordering::SeqCst)),
                    from_base(WOKE_AT[i].load(Ordering::SeqCst)),
                );
            }
        }
        return fail(format_args!("sleepers woke in the order {woken:?}"));
    }
    Ok(())
}

/// The moment the sleepers' deadlines count from.
static SLEEP_BASE: AtomicU64 = AtomicU64::new(0);

/// The queue between producer and consumer, and its two conditions.
struct Queue {
    ring: Lock<Ring>,
    not_empty: Condition,
    not_full: Condition,
}
static QUEUE: Shared<Queue> = Shared::new();
/// What the consumer received: how many items and their sum.
static RECEIVED: AtomicU64 = AtomicU64::new(0);
static RECEIVED_SUM: AtomicU64 = AtomicU64::new(0);
const ITEMS: u64 = 100_000;

/// A bounded queue of items.
struct Ring {
    items: [u64; 64],
    head: usize,
    length: usize,
    closed: bool,
}

fn producer(_: usize) {
    let Some(shared) = QUEUE.get() else { return };
    for item in 1..=ITEMS {
        let mut queue = shared.ring.lock();
        while queue.length == queue.items.len() {
            queue = shared.not_full.wait(queue);
        }
        let at = (queue.head + queue.length) % queue.items.len();
        queue.items[at] = item;
        queue.length += 1;
        drop(queue);
        shared.not_empty.signal();
    }
    shared.ring.lock().closed = true;
    shared.not_empty.signal();
}

fn consumer(_: usize) {
    let Some(shared) = QUEUE.get() else { return };
    loop {
        let mut queue = shared.ring.lock();
        while queue.length == 0 && !queue.closed {
            queue = shared.not_empty.wait(queue);
        }
        if queue.length == 0 {
            return;
        }
        let item = queue.items[queue.head];
        queue.head = (queue.head + 1) % queue.items.len();
        queue.length -= 1;
        drop(queue);
        shared.not_full.signal();
        RECEIVED.fetch_add(1, Ordering::Relaxed);
        RECEIVED_SUM.fetch_add(item, Ordering::Relaxed);
    }
}

fn producer_consumer() -> Result<()> {
    let ring = Lock::new(Ring {
        items: [0; 64],
        head: 0,
        length: 0,
        closed: false,
    })?;
    let (not_empty, not_full) = (ring.condition()?, ring.condition()?);
    QUEUE.set(Queue {
        ring,
        not_empty,
        not_full,
    });
    RECEIVED.store(0, Ordering::SeqCst);
    RECEIVED_SUM.store(0, Ordering::SeqCst);
    let moved = sys::spawn("consumer", consumer, 0, sys::DEFAULT_STACK).and_then(|consumer| {
        let producer = sys::spawn("producer", producer, 0, sys::DEFAULT_STACK)?;
        sys::join(producer)?;
        sys::join(consumer)
    });
    QUEUE.clear();
    moved?;
    let (count, sum) = (
        RECEIVED.load(Ordering::SeqCst),
        RECEIVED_SUM.load(Ordering::SeqCst),
    );
    if count != ITEMS || sum != ITEMS * (ITEMS + 1) / 2 {
        return fail(format_args!(
            "the consumer got {count} items summing to {sum}"
        ));
    }
    Ok(())
}

fn timed_wait_times_out() -> Result<()> {
    let lock = Lock::new(())?;
    let nobody = lock.condition()?;
    let start = sys::now();
    let deadline = start + 5 * sys::ticks_per_second() / 1000;
    let (guard, timed_out) = nobody.wait_until(lock.lock(), deadline);
    drop(guard);
    let waited = sys::now() - start;
    if !timed_out || sys::now() < deadline {
        return fail(format_args!(
            "the wait returned after {waited} ticks, timed out: {timed_out}"
        ));
    }
    Ok(())
}

/// Under `-icount` the instruction counter goes on while the hart is
/// halted, at one a nanosecond; `IScheduler::instructions` leaves that
/// out, so a 20 ms sleep with nothing else to run counts the sleep's and
/// the idle thread's work, not 20 million.
fn sleep_counts_no_halted_time() -> Result<()> {
    const MOST: u64 = 1_000_000;
    let before = sys::instructions();
    sys::sleep_ms(20);
    let counted = sys::instructions() - before;
    if counted > MOST {
        return fail(format_args!("a 20 ms sleep counted {counted} instructions"));
    }
    Ok(())
}

/// The broadcast check's gate and how many waiters passed it.
struct Gate {
    open: Lock<bool>,
    opened: Condition,
}
static GATE: Shared<Gate> = Shared::new();
static PASSED: AtomicU64 = AtomicU64::new(0);

fn broadcast_and_try_lock() -> Result<()> {
    let open = Lock::new(false)?;
    let opened = open.condition()?;
    let gate = GATE.set(Gate { open, opened });
    let outcome = broadcast_to(&gate);
    GATE.clear();
    outcome
}

fn broadcast_to(gate: &Gate) -> Result<()> {
    const WAITERS: usize = 5;
    PASSED.store(0, Ordering::SeqCst);
    let waiters: Vec<Thread> = (0..WAITERS)
        .map(|_| {
            sys::spawn(
                "waiter",
                |_| {
                    let Some(gate) = GATE.get() else { return };
                    let mut open = gate.open.lock();
                    while !*open {
                        open = gate.opened.wait(open);
                    }
                    PASSED.fetch_add(1, Ordering::SeqCst);
                },
                0,
                sys::DEFAULT_STACK,
            )
        })
        .collect::<Result<_>>()?;
    // Let every waiter reach the wait, then check a held lock refuses
    // try-lock from another thread.
    sys::sleep_ms(2);
    let held = gate.open.lock();
    let prober = sys::spawn(
        "prober",
        |_| {
            let refused = GATE
                .get()
                .is_some_and(|gate| gate.open.try_lock().is_none());
            PROBE.store(refused, Ordering::SeqCst);
        },
        0,
        4096,
    )?;
    sys::sleep_ms(2);
    let mut held = held;
    *held = true;
    drop(held);
    gate.opened.broadcast();
    waiters
        .into_iter()
        .chain([prober])
        .try_for_each(sys::join)?;
    let passed = PASSED.load(Ordering::SeqCst);
    if passed != WAITERS as u64 || !PROBE.load(Ordering::SeqCst) {
        return fail(format_args!(
            "{passed} of {WAITERS} waiters passed; try-lock refused: {}",
            PROBE.load(Ordering::SeqCst)
        ));
    }
    Ok(())
}

/// Whether try-lock refused the held lock.
static PROBE: AtomicBool = AtomicBool::new(false);

/// Set by the second thread; the first spins until it sees it.
static RELEASED: AtomicBool = AtomicBool::new(false);

fn busy_thread_is_preempted() -> Result<()> {
    if !sys::preemptive() {
        // The spinner would keep the processor for good.
        return Err(Status::NOT_SUPPORTED);
    }
    RELEASED.store(false, Ordering::SeqCst);
    // The spinner never yields: only the timer can let the releaser run.
    let spinner = sys::spawn(
        "spinner",
        |_| {
            while !RELEASED.load(Ordering::SeqCst) {
                core::hint::spin_loop();
            }
        },
        0,
        4096,
    )?;
    let releaser = sys::spawn(
        "releaser",
        |_| RELEASED.store(true, Ordering::SeqCst),
        0,
        4096,
    )?;
    sys::join(spinner)?;
    sys::join(releaser)
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

/// The lock of the check below: each of its two threads adds 1.
static HANDED: Mutex<u64> = Mutex::new(0);
/// When the check's waiter asked for the lock, and when its holder had
/// the processor back (`time` ticks).
static ASKED: AtomicU64 = AtomicU64::new(0);
static RESUMED: AtomicU64 = AtomicU64::new(0);

/// Under a policy that never preempts, a thread that finds a lock of this
/// module held yields to the holder (the wait hook `component::enter`
/// installs) instead of spinning. The holder yields while it holds the
/// lock, so the waiter finds it held, and the holder must have the
/// processor back within a millisecond — a spinning waiter would keep it
/// until an interrupt took it away (at the latest when this thread's
/// 100 ms sleep ends).
fn lock_waiter_yields_to_its_holder() -> Result<()> {
    under_policy("sched-null", || {
        *HANDED.lock() = 0;
        let holder = sys::spawn(
            "holder",
            |_| {
                let mut handed = HANDED.lock();
                sys::yield_now();
                RESUMED.store(sys::now(), Ordering::SeqCst);
                *handed += 1;
            },
            0,
            sys::DEFAULT_STACK,
        )?;
        let waiter = sys::spawn(
            "waiter",
            |_| {
                ASKED.store(sys::now(), Ordering::SeqCst);
                *HANDED.lock() += 1;
            },
            0,
            sys::DEFAULT_STACK,
        )?;
        sys::sleep_ms(100);
        sys::join(holder)?;
        sys::join(waiter)?;
        let waited = RESUMED
            .load(Ordering::SeqCst)
            .saturating_sub(ASKED.load(Ordering::SeqCst));
        let total = *HANDED.lock();
        if waited > ms() || total != 2 {
            return fail(format_args!(
                "the holder waited {} us for the processor; the total is {total}, not 2",
                waited * 1000 / ms()
            ));
        }
        Ok(())
    })
}

/// What each counting thread reached.
static COUNTS: [AtomicU64; 20] = [const { AtomicU64::new(0) }; 20];
const COUNT_TO: u64 = 20_000;

fn count(slot: usize) {
    for _ in 0..COUNT_TO {
        COUNTS[slot].fetch_add(1, Ordering::Relaxed);
        if COUNTS[slot].load(Ordering::Relaxed).is_multiple_of(64) {
            // Lets a first-come, first-served policy move on too.
            sys::yield_now();
        }
    }
}

fn live_policy_switch() -> Result<()> {
    let original = sys::policy_name();
    COUNTS
        .iter()
        .for_each(|counter| counter.store(0, Ordering::SeqCst));
    let ids: Vec<Thread> = (0..COUNTS.len())
        .map(|slot| sys::spawn("counter", count, slot, sys::DEFAULT_STACK))
        .collect::<Result<_>>()?;
    for policy in [
        "sched-rr",
        "sched-constraint",
        "sched-rr",
        "sched-null",
        sys::BUILTIN_POLICY,
        "sched-constraint",
        sys::BUILTIN_POLICY,
    ] {
        sys::sleep_ms(1);
        sys::switch_policy(policy)?;
    }
    ids.into_iter().try_for_each(sys::join)?;
    sys::switch_policy(&original)?;
    let short: Vec<u64> = COUNTS
        .iter()
        .map(|counter| counter.load(Ordering::SeqCst))
        .filter(|&count| count != COUNT_TO)
        .collect();
    if !short.is_empty() {
        return fail(format_args!(
            "counters ended at {short:?}, not all at {COUNT_TO}"
        ));
    }
    Ok(())
}

/// How deep the diver got, and whether it ever came back.
static DEPTH: AtomicU64 = AtomicU64::new(0);
static SURFACED: AtomicBool = AtomicBool::new(false);

/// Goes one frame deeper at each step, yielding between steps so the
/// scheduler checks the stack's guard zone each time.
fn dive(level: u64) {
    let frame = [u8::try_from(level % 256).unwrap_or(0); 256];
    core::hint::black_box(&frame);
    DEPTH.store(level, Ordering::SeqCst);
    sys::yield_now();
    // Far deeper than any stack here: the guard stops the diver first.
    if level < 10_000 {
        dive(level + 1);
    }
    core::hint::black_box(&frame);
}

fn stack_overflow_is_caught() -> Result<()> {
    DEPTH.store(0, Ordering::SeqCst);
    SURFACED.store(false, Ordering::SeqCst);
    let diver = sys::spawn(
        "diver",
        |_| {
            dive(1);
            SURFACED.store(true, Ordering::SeqCst);
        },
        0,
        8 * 1024,
    )?;
    sys::join(diver)?;
    let depth = DEPTH.load(Ordering::SeqCst);
    // 8 KiB holds about 25 frames of ~300 bytes; the diver must have been
    // stopped there, not have run on or come back.
    if SURFACED.load(Ordering::SeqCst) || !(10..40).contains(&depth) {
        return fail(format_args!(
            "the diver reached depth {depth} and surfaced: {}",
            SURFACED.load(Ordering::SeqCst)
        ));
    }
    Ok(())
}

/// What the threads made through `IProcess` added up.
static STARTED_SUM: AtomicU64 = AtomicU64::new(0);

/// A thread start as a component would pass it: a C function taking a word.
extern "C" fn add_argument(argument: u64) {
    STARTED_SUM.fetch_add(argument, Ordering::SeqCst);
}

fn process_makes_threads() -> Result<()> {
    use interfaces::IProcess;
    STARTED_SUM.store(0, Ordering::SeqCst);
    let process = sys::namespace()
        .bind("/sys/process", 0)?
        .query::<IProcess>()?;
    let start = add_argument as *const () as u64;
    let threads: Vec<_> = (1..=4)
        .map(|n| process.create_thread(start, n, 0))
        .collect::<Result<_>>()?;
    threads.iter().try_for_each(|thread| thread.wait())?;
    // Released: each thread is freed, now that it has finished.
    drop(threads);
    let sum = STARTED_SUM.load(Ordering::SeqCst);
    let stray = process.create_thread(0x10, 0, 0).err();
    if sum != 10 || stray != Some(Status::INVALID_ARGUMENT) {
        return fail(format_args!(
            "threads added up to {sum}; a stray start gave {stray:?}"
        ));
    }
    Ok(())
}

/// Runs `check` under the policy named `policy`, then restores the one
/// that was in force.
pub(crate) fn under_policy(policy: &str, check: fn() -> Result<()>) -> Result<()> {
    let original = sys::policy_name();
    sys::switch_policy(policy)?;
    let outcome = check();
    sys::switch_policy(&original)?;
    outcome
}

fn constraints_unsupported_elsewhere() -> Result<()> {
    under_policy("sched-rr", || {
        // Asked as a component would, through the scheduler's interface.
        let scheduler = sys::namespace()
            .bind("/sys/scheduler", 0)?
            .query::<interfaces::IScheduler>()?;
        let now = scheduler.now()?;
        match scheduler.begin_constraint(now, 10, now + 1000, 1) {
            Err(Status::NOT_SUPPORTED) => Ok(()),
            other => fail(format_args!(
                "begin_constraint under sched-rr gave {other:?}"
            )),
        }
    })
}

/// Work of about `instructions` instructions (time under QEMU's icount).
fn work(instructions: u64) {
    for step in 0..instructions / 4 {
        core::hint::black_box(step);
    }
}

/// Ticks per millisecond.
fn ms() -> u64 {
    sys::ticks_per_second() / 1000
}

/// Deadlines the periodic threads missed, and when they all start.
static MISSED: AtomicU64 = AtomicU64::new(0);
static PERIODS_DONE: AtomicU64 = AtomicU64::new(0);
static SET_BASE: AtomicU64 = AtomicU64::new(0);
static STOP_BACKGROUND: AtomicBool = AtomicBool::new(false);

/// A periodic thread: period `(slot + 1) * 10` ms (10, 20, 30), each
/// period asking for a fifth of it and doing a tenth of it in work.
fn periodic(slot: usize) {
    let period = (slot as u64 + 1) * 10 * ms();
    let base = SET_BASE.load(Ordering::SeqCst);
    let mut start = base;
    while start + period <= base + 160 * ms() {
        // Stated before the period starts, so the thread is urgent the
        // moment it wakes.
        if sys::begin_constraint(start, period / 5, start + period, 1).is_err() {
            MISSED.fetch_add(1, Ordering::SeqCst);
        }
        sys::sleep_until(start);
        // A tick is 100 instructions under icount at 10 MHz.
        work(period / 10 * 100);
        if sys::now() > start + period {
            MISSED.fetch_add(1, Ordering::SeqCst);
        }
        let _ = sys::end_constraint();
        PERIODS_DONE.fetch_add(1, Ordering::SeqCst);
        start += period;
    }
}

fn background(_: usize) {
    while !STOP_BACKGROUND.load(Ordering::Relaxed) {
        core::hint::spin_loop();
    }
}

fn constraint_scheduler_meets_deadlines() -> Result<()> {
    under_policy("sched-constraint", || {
        // Overload first: 70% admitted, then 50% more refused.
        let now = sys::now();
        sys::begin_constraint(now, 70 * ms(), now + 100 * ms(), 1)?;
        let refused = sys::spawn(
            "greedy",
            |_| {
                let now = sys::now();
                let outcome = sys::begin_constraint(now, 50 * ms(), now + 100 * ms(), 1);
                PROBE.store(outcome == Err(Status::REFUSED), Ordering::SeqCst);
            },
            0,
            sys::DEFAULT_STACK,
        )?;
        sys::join(refused)?;
        sys::end_constraint()?;
        if !PROBE.load(Ordering::SeqCst) {
            return fail(format_args!("an over-subscribed constraint was admitted"));
        }
        // Then a periodic set using 60% beside two busy threads.
        MISSED.store(0, Ordering::SeqCst);
        PERIODS_DONE.store(0, Ordering::SeqCst);
        STOP_BACKGROUND.store(false, Ordering::SeqCst);
        // The set goes first, so it states its constraints before the busy
        // threads take their slices.
        SET_BASE.store(sys::now() + 5 * ms(), Ordering::SeqCst);
        let set: Vec<Thread> = (0..3)
            .map(|slot| sys::spawn("periodic", periodic, slot, sys::DEFAULT_STACK))
            .collect::<Result<_>>()?;
        let busy: Vec<Thread> = (0..2)
            .map(|_| sys::spawn("busy", background, 0, 4096))
            .collect::<Result<_>>()?;
        set.into_iter().try_for_each(sys::join)?;
        STOP_BACKGROUND.store(true, Ordering::SeqCst);
        busy.into_iter().try_for_each(sys::join)?;
        let (missed, done) = (
            MISSED.load(Ordering::SeqCst),
            PERIODS_DONE.load(Ordering::SeqCst),
        );
        // Periods of 10, 20 and 30 ms over 160 ms: 16 + 8 + 5.
        if missed != 0 || done != 16 + 8 + 5 {
            return fail(format_args!("{missed} deadlines missed in {done} periods"));
        }
        Ok(())
    })
}

/// The lock of the inversion check, and the urgent thread's wait for it.
static CONTESTED: Shared<Lock<()>> = Shared::new();
static URGENT_WAITED: AtomicU64 = AtomicU64::new(0);

fn inheritance_bounds_inversion() -> Result<()> {
    under_policy("sched-constraint", || {
        CONTESTED.set(Lock::new(())?);
        let outcome = urgent_waits_for_low();
        CONTESTED.clear();
        outcome
    })
}

fn urgent_waits_for_low() -> Result<()> {
    STOP_BACKGROUND.store(false, Ordering::SeqCst);
    URGENT_WAITED.store(u64::MAX, Ordering::SeqCst);
    // The low thread takes the lock, sleeps 3 ms, then has 2 ms of
    // work to do with it: when it wakes, three busy threads are ahead
    // of it, unless it inherited the urgent thread's deadline.
    let low = sys::spawn(
        "low",
        |_| {
            let Some(contested) = CONTESTED.get() else {
                return;
            };
            let guard = contested.lock();
            sys::sleep_ms(3);
            work(2 * 1_000_000);
            drop(guard);
        },
        0,
        sys::DEFAULT_STACK,
    )?;
    // Three busy threads would share the processor with it for 10 ms
    // slices each, were it not for inheritance.
    let busy: Vec<Thread> = (0..3)
        .map(|_| sys::spawn("busy", background, 0, 4096))
        .collect::<Result<_>>()?;
    let urgent = sys::spawn(
        "urgent",
        |_| {
            // Stated before sleeping, so it runs the moment it wakes.
            let now = sys::now();
            let _ = sys::begin_constraint(now, ms(), now + 50 * ms(), 2);
            sys::sleep_ms(1);
            let Some(contested) = CONTESTED.get() else {
                return;
            };
            let asked = sys::now();
            let guard = contested.lock();
            URGENT_WAITED.store(sys::now() - asked, Ordering::SeqCst);
            drop(guard);
            let _ = sys::end_constraint();
        },
        0,
        sys::DEFAULT_STACK,
    )?;
    sys::join(urgent)?;
    sys::join(low)?;
    STOP_BACKGROUND.store(true, Ordering::SeqCst);
    busy.into_iter().try_for_each(sys::join)?;
    let waited = URGENT_WAITED.load(Ordering::SeqCst);
    // Bounded by the holder's sleep and work (about 4 ms), not by
    // three slices of the busy threads (30 ms).
    if waited > 10 * ms() {
        return fail(format_args!(
            "the urgent thread waited {} ms for the lock",
            waited / ms()
        ));
    }
    Ok(())
}

/// An interrupt source no device of QEMU `virt` raises.
const QUIET_SOURCE: u32 = 40;
/// The source handed to the waiting thread.
static HANDED_SOURCE: Mutex<Option<ComPtr<interfaces::IInterruptSource>>> = Mutex::new(None);
/// Set by the thread that waited on the source.
static SOURCE_WOKE: AtomicBool = AtomicBool::new(false);

fn interrupt_sources_attach_and_detach() -> Result<()> {
    use interfaces::IInterrupts;
    let registry = sys::namespace()
        .bind("/sys/interrupts", 0)?
        .query::<IInterrupts>()?;
    let source = registry.attach(QUIET_SOURCE)?;
    if registry.attach(QUIET_SOURCE).err() != Some(Status::ALREADY_EXISTS) {
        return fail(format_args!("a source was attached twice"));
    }
    SOURCE_WOKE.store(false, Ordering::SeqCst);
    // The waiter takes its own reference from here.
    *HANDED_SOURCE.lock() = Some(source.clone());
    let waiter = sys::spawn(
        "driver",
        |_| {
            if let Some(source) = HANDED_SOURCE.lock().take() {
                let _ = source.wait();
                SOURCE_WOKE.store(true, Ordering::SeqCst);
            }
        },
        0,
        sys::DEFAULT_STACK,
    )?;
    sys::sleep_ms(1);
    let early = SOURCE_WOKE.load(Ordering::SeqCst);
    source.raise()?;
    sys::join(waiter)?;
    drop(source);
    // Given back: it can be attached again.
    let again = registry.attach(QUIET_SOURCE);
    if early || !SOURCE_WOKE.load(Ordering::SeqCst) || again.is_err() {
        return fail(format_args!(
            "woke early: {early}; re-attach: {:?}",
            again.err()
        ));
    }
    Ok(())
}

/// The `ISelfTests` object at `/selftest`.
#[class(ISelfTests)]
struct SelfTests;

impl ISelfTestsImpl for SelfTests {
    fn count(&self) -> Result<u32> {
        u32::try_from(CHECKS.len()).map_err(|_| Status::OUT_OF_RANGE)
    }

    fn name(&self, index: u32, buffer: &mut [u8]) -> Result<usize> {
        let (name, _) = CHECKS.get(index as usize).ok_or(Status::OUT_OF_RANGE)?;
        com::copy_text(name, buffer)
    }

    fn run(&self, index: u32) -> Result<()> {
        let (_, check) = CHECKS.get(index as usize).ok_or(Status::OUT_OF_RANGE)?;
        check()
    }
}

fn construct() -> Result<ComPtr<IUnknown>> {
    sys::bind_services()?;
    Ok(ComObject::create::<ISelfTests>(SelfTests).to_unknown())
}

component::component!(construct);
