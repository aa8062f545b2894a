//! Checks of loading: binders of one missing name share one load, an
//! import cycle that crosses threads fails in every one of them, and the
//! signature policy answers anyone but lets only its holder change it.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use com::{ComPtr, IUnknown, Result, Status};
use sync::Mutex;

use super::{fail, in_threads};
use crate::sys;

/// What each binder got.
static OUTCOMES: Mutex<Vec<Result<ComPtr<IUnknown>>>> = Mutex::new(Vec::new());
/// How many binders are ready; they all start once every one is.
static READY: AtomicUsize = AtomicUsize::new(0);
/// Which of the two crossing binders bound which name, per round.
static ROUND: AtomicU32 = AtomicU32::new(0);

/// Waits until `count` threads have arrived, so their binds overlap.
fn start_together(count: usize) {
    READY.fetch_add(1, Ordering::SeqCst);
    while READY.load(Ordering::SeqCst) < count {
        sys::yield_now();
    }
}

fn bind_and_record(name: &str, count: usize) {
    start_together(count);
    let outcome = sys::namespace().bind(name, 0);
    OUTCOMES.lock().push(outcome);
}

fn bind_hello(_: usize) {
    bind_and_record("/hello", 4);
}

/// Four threads bind `/hello` at once: one load, one object for all.
pub fn binders_of_a_missing_name_share_one_load() -> Result<()> {
    if sys::loaded("hello") {
        return fail(format_args!("hello is loaded before the check"));
    }
    READY.store(0, Ordering::SeqCst);
    let loads = sys::loads_started();
    in_threads(4, bind_hello)?;
    let started = sys::loads_started() - loads;
    // Dropping what the binders got releases hello.
    let outcomes = core::mem::take(&mut *OUTCOMES.lock());
    if started != 1 {
        return fail(format_args!("4 binders started {started} loads"));
    }
    let same = match outcomes.as_slice() {
        [Ok(first), rest @ ..] => rest
            .iter()
            .all(|outcome| outcome.as_ref().is_ok_and(|object| object.ptr_eq(first))),
        _ => false,
    };
    if outcomes.len() != 4 || !same {
        return fail(format_args!("the 4 binders did not all get one object"));
    }
    Ok(())
}

fn bind_crossing(slot: usize) {
    let name = match (slot + ROUND.load(Ordering::SeqCst) as usize) % 2 {
        0 => "/test/cycle-a",
        _ => "/test/cycle-b",
    };
    bind_and_record(name, 2);
}

/// Two threads bind the two halves of a cycle at once, twenty times, in
/// both orders: each bind fails with `IMPORT_CYCLE`, none hangs, and
/// nothing stays loaded.
pub fn a_cycle_across_threads_fails_in_both() -> Result<()> {
    for round in 0..20 {
        ROUND.store(round, Ordering::SeqCst);
        READY.store(0, Ordering::SeqCst);
        in_threads(2, bind_crossing)?;
        let outcomes = core::mem::take(&mut *OUTCOMES.lock());
        let statuses: Vec<Option<Status>> = outcomes
            .iter()
            .map(|outcome| outcome.as_ref().err().copied())
            .collect();
        if statuses != [Some(Status::IMPORT_CYCLE); 2] {
            return fail(format_args!("round {round}: the binders got {statuses:?}"));
        }
    }
    if sys::loaded("cycle-a") || sys::loaded("cycle-b") {
        return fail(format_args!("half of a cycle stayed loaded"));
    }
    Ok(())
}

/// `/sys/trust` says `/boot` needs no signature and `/host` does, refuses
/// a malformed location, and refuses its control to this second claimant
/// (the shell, the startup program, claimed it first).
pub fn the_trust_policy_has_one_holder() -> Result<()> {
    let policy = sys::namespace()
        .bind(interfaces::trust::POLICY_PATH, 0)?
        .query::<interfaces::ITrustPolicy>()?;
    let answers = [
        policy.needs_signature("/boot/hello"),
        policy.needs_signature("/host/hello"),
        policy.needs_signature("/bootleg/hello"),
        policy.needs_signature("host//hello"),
    ];
    let expected = [Ok(false), Ok(true), Ok(true), Err(Status::INVALID_NAME)];
    if answers != expected {
        return fail(format_args!("the policy answered {answers:?}"));
    }
    match policy.claim_control() {
        Err(Status::ACCESS_DENIED) => Ok(()),
        Ok(_) => fail(format_args!("a second claimant got the control")),
        Err(status) => fail(format_args!("claiming the control failed: {status}")),
    }
}
