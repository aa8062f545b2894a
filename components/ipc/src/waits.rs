//! Waits keyed by a process's own addresses (the `WAIT` and `WAKE`
//! `ecall`s, futex-like): a thread sleeps while a word of its memory holds
//! the value it expects, until a `WAKE` of that address or its timeout.
//!
//! Each process has its own table, made on its first `WAIT`: a key is an
//! address of that process's space, so equal addresses of two processes
//! never meet. The word is read through the process's space as any
//! argument is (`calls::Memory`): an address outside its readable
//! mappings is an error, never a touch by the kernel. Killing the process
//! ends its waits: its waiters return and the kernel ends the thread at
//! the `ecall`'s return.

use alloc::sync::Arc;
use alloc::vec::Vec;

use com::{Result, Status};
use component::threads::{Condition, Lock, scheduler};
use marshal::UserMemory;

use crate::calls::Memory;
use crate::process::Process;

/// One process's waits.
pub struct Waits {
    state: Lock<State>,
    /// Signalled by every `WAKE` and by the process's end; each waiter
    /// checks whether it was the one woken.
    woken: Condition,
}

#[derive(Default)]
struct State {
    waiters: Vec<Waiter>,
    next_ticket: u64,
    /// The process was killed: no wait may start or go on.
    ended: bool,
}

struct Waiter {
    address: u64,
    ticket: u64,
    woken: bool,
}

impl Waits {
    fn new() -> Result<Waits> {
        let state = Lock::new(State::default())?;
        let woken = state.condition()?;
        Ok(Waits { state, woken })
    }
}

/// The waits of `process`, made on first use.
fn of(process: &Process) -> Result<Arc<Waits>> {
    let mut slot = process.waits.lock();
    if let Some(waits) = slot.as_ref() {
        return Ok(waits.clone());
    }
    let waits = Arc::new(Waits::new()?);
    *slot = Some(waits.clone());
    Ok(waits)
}

/// An error unless `address` may key a wait: not null, 4-byte aligned.
fn check_key(address: u64) -> Result<()> {
    match address {
        0 => Err(Status::NULL_POINTER),
        _ if !address.is_multiple_of(4) => Err(Status::INVALID_ARGUMENT),
        _ => Ok(()),
    }
}

/// The 32-bit word at `address` of `process`'s memory.
fn read_word(process: &Process, address: u64) -> Result<u32> {
    let mut bytes = [0u8; 4];
    Memory::of(process)?.read(address, &mut bytes)?;
    Ok(u32::from_le_bytes(bytes))
}

/// The kernel's time `timeout_us` microseconds from now (`u64::MAX`: never).
fn deadline_after(timeout_us: u64) -> Result<u64> {
    if timeout_us == u64::MAX {
        return Ok(u64::MAX);
    }
    let scheduler = scheduler()?;
    let ticks = u128::from(timeout_us) * u128::from(scheduler.ticks_per_second()?) / 1_000_000;
    Ok(scheduler
        .now()?
        .saturating_add(u64::try_from(ticks).unwrap_or(u64::MAX)))
}

/// `WAIT`: sleeps while the word at `address` holds `expected` (its low
/// 32 bits), until a `WAKE` of it or `timeout_us`. `RETRY` at once when
/// it holds another value, `TIMED_OUT`, or `KILLED`.
pub fn wait(process: &Process, address: u64, expected: u64, timeout_us: u64) -> Result<u64> {
    check_key(address)?;
    let deadline = deadline_after(timeout_us)?;
    let waits = of(process)?;
    let mut state = waits.state.lock();
    // A kill sets the flag before it ends the waits it finds: a wait
    // whose table it did not find yet sees the flag here.
    if state.ended || process.is_ending() {
        return Err(Status::KILLED);
    }
    // Read under the lock: a `WAKE` after the word changed cannot slip in
    // between the check and the sleep.
    // The low 32 bits, as a `u32` argument arrives (the ABI may extend it).
    let expected = u32::from_le_bytes(expected.to_le_bytes()[..4].try_into().unwrap_or([0; 4]));
    if read_word(process, address)? != expected {
        return Err(Status::RETRY);
    }
    let ticket = state.next_ticket;
    state.next_ticket += 1;
    state
        .waiters
        .try_reserve(1)
        .map_err(|_| Status::OUT_OF_MEMORY)?;
    state.waiters.push(Waiter {
        address,
        ticket,
        woken: false,
    });
    loop {
        let (next, timed_out) = waits.woken.wait_until(state, deadline);
        state = next;
        let woken = state
            .waiters
            .iter()
            .any(|waiter| waiter.ticket == ticket && waiter.woken);
        let answer = match (woken, state.ended, timed_out) {
            (true, _, _) => Ok(0),
            (false, true, _) => Err(Status::KILLED),
            (false, false, true) => Err(Status::TIMED_OUT),
            (false, false, false) => continue,
        };
        state.waiters.retain(|waiter| waiter.ticket != ticket);
        return answer;
    }
}

/// `WAKE`: wakes up to `count` waiters on `address` (which must be
/// readable to `process`); how many it woke.
pub fn wake(process: &Process, address: u64, count: u64) -> Result<u64> {
    check_key(address)?;
    read_word(process, address)?;
    let Some(waits) = process.waits.lock().clone() else {
        return Ok(0);
    };
    let mut state = waits.state.lock();
    let mut woken = 0;
    for waiter in state
        .waiters
        .iter_mut()
        .filter(|waiter| waiter.address == address && !waiter.woken)
    {
        if woken == count {
            break;
        }
        waiter.woken = true;
        woken += 1;
    }
    drop(state);
    if woken > 0 {
        waits.woken.broadcast();
    }
    Ok(woken)
}

/// Ends every wait of `process` (it was killed): its waiters return
/// `KILLED`, and no new wait starts.
pub fn end(process: &Process) {
    let Some(waits) = process.waits.lock().clone() else {
        return;
    };
    waits.state.lock().ended = true;
    waits.woken.broadcast();
}
