//! Checks of live mutation: a mutable object keeps answering, each answer
//! whole and from one implementation, while `/mutate` changes it under
//! eight calling threads; a mutation that cannot finish in time changes
//! nothing; a transition that fails is undone.
//!
//! Specialization gets the same treatment: a divider becomes a shift while
//! its divisor is 2 and goes back when it changes.
//!
//! The object answers `IHello::greet` with the letter its state holds,
//! written again and again and read afresh for every byte. A mutation
//! changes the letter and the implementation together (`A` answers `A`s,
//! `B` answers `B`s), so a call that ran partly before and partly after one
//! would show both letters.

use core::ops::Deref;
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};

use com::moved::Moved;
use com::{
    Class, ComObject, ComPtr, Gate, IUnknown, Interface, MutableObject, Result, Status, Takeover,
    class, interface, published_state, vtable,
};
use interfaces::interpose::filters;
use interfaces::mutate::flags;
use interfaces::{
    IConsole, IFile, IFileImpl, IInterpose, IMutate, IProcessManager, ITransition, ITransitionImpl,
};
use private_interfaces::console::FIRMWARE_TRANSITION_PATH;
use private_interfaces::counter::{CounterStateV1, HOSTED_VERSION};
use private_interfaces::{ICounter, ICounterImpl, IHello, IHelloImpl};

use sync::Mutex;

use super::fail;
use crate::sys::{self, Thread, say};

/// Letters in one answer.
const LETTERS: usize = 32;
/// Threads calling the object during the mutations.
const CALLERS: usize = 8;
/// Calls each of them makes.
const CALLS: u64 = 3_000;
/// Generous: the mutations under load must never time out.
const PATIENT_US: u64 = 5_000_000;

/// The state of both implementations: which letter they answer with.
#[published_state("3b7d2e90-1c4a-4f85-a6e3-d80f5c2b7194")]
#[repr(C)]
pub struct LetterState {
    gate: Gate,
    letter: AtomicU8,
}

/// Implementation `A`, whose calls can be held inside the object.
#[class(IHello, mutable(LetterState))]
#[repr(transparent)]
pub struct Letters(LetterState);

/// Implementation `B`: the same object, answering with another letter.
#[class(IHello, mutable(LetterState))]
#[repr(transparent)]
pub struct OtherLetters(LetterState);

impl Deref for Letters {
    type Target = LetterState;
    fn deref(&self) -> &LetterState {
        &self.0
    }
}

impl Deref for OtherLetters {
    type Target = LetterState;
    fn deref(&self) -> &LetterState {
        &self.0
    }
}

/// While set, calls of implementation `A` stay inside the object (leaving
/// only when a mutator by abort asks them to).
static HOLD: AtomicBool = AtomicBool::new(false);

impl IHelloImpl for Letters {
    fn greet(&self, buffer: &mut [u8]) -> Result<usize> {
        while HOLD.load(Ordering::Acquire) {
            self.gate.checkpoint()?;
            sys::sleep_ms(1);
        }
        spell(self, buffer)
    }
}

impl IHelloImpl for OtherLetters {
    fn greet(&self, buffer: &mut [u8]) -> Result<usize> {
        spell(self, buffer)
    }
}

/// Writes the state's letter into the answer one byte at a time, looking
/// at the gate's checkpoint every eight (nothing is changed that a retry
/// would not write again), and yielding halfway.
fn spell(letters: &LetterState, buffer: &mut [u8]) -> Result<usize> {
    let answer = buffer.get_mut(..LETTERS).ok_or(Status::BUFFER_TOO_SMALL)?;
    for (index, byte) in answer.iter_mut().enumerate() {
        if index % 8 == 0 {
            letters.gate.checkpoint()?;
        }
        // Halfway, give the processor away, as a method that waits for
        // something would: other callers and the mutator run meanwhile.
        if index == LETTERS / 2 {
            sys::yield_now();
        }
        *byte = letters.letter.load(Ordering::Relaxed);
    }
    Ok(LETTERS)
}

/// Which letter a whole answer holds, if it holds only one.
fn letter_of(answer: &[u8]) -> Option<u8> {
    let (&first, rest) = answer.split_first()?;
    rest.iter().all(|&byte| byte == first).then_some(first)
}

fn new_letters() -> ComPtr<IHello> {
    ComObject::create::<IHello>(Letters(LetterState {
        gate: Gate::new(),
        letter: AtomicU8::new(b'A'),
    }))
}

fn mutator() -> Result<ComPtr<IMutate>> {
    sys::namespace()
        .bind(interfaces::mutate::PATH, 0)?
        .query::<IMutate>()
}

/// Turns the object to implementation `letter`: its state and its vtable.
fn turn(mutate: &IMutate, object: &IHello, letter: u8, flags: u32, timeout_us: u64) -> Result<()> {
    let transition = ComObject::create::<ITransition>(Respell(letter));
    mutate.mutate_object(object.as_unknown(), &transition, flags, timeout_us)
}

/// The transition to implementation `A` or `B`.
#[class(ITransition)]
struct Respell(u8);

impl ITransitionImpl for Respell {
    fn apply(&self, object: &IUnknown) -> Result<()> {
        match self.0 {
            b'A' => respell::<Letters>(object, b'A'),
            b'B' => respell::<OtherLetters>(object, b'B'),
            _ => Err(Status::INVALID_ARGUMENT),
        }
    }
}

/// Stores `letter` in the object's state and makes `T` answer for it.
fn respell<T: Class>(object: &IUnknown, letter: u8) -> Result<()> {
    let takeover = Takeover::<T>::check(object)?;
    // A transition takes time: other threads run while it works, and only
    // the closed gate keeps them from seeing it half done.
    sys::yield_now();
    takeover
        .state::<LetterState>()?
        .letter
        .store(letter, Ordering::Relaxed);
    sys::yield_now();
    takeover.keep_state()
}

/// The vtable in the object's slot 0.
fn vtable_of(object: &IUnknown) -> Result<*const core::ffi::c_void> {
    let target = MutableObject::of(object)?;
    let slot = target.slot(0).ok_or(Status::FAILED)?;
    Ok(slot.load(Ordering::Acquire).cast_const())
}

/// The object the callers call, and what they saw.
static TARGET: Mutex<Option<ComPtr<IHello>>> = Mutex::new(None);
static SEEN_A: AtomicU64 = AtomicU64::new(0);
static SEEN_B: AtomicU64 = AtomicU64::new(0);
static WRONG: AtomicU64 = AtomicU64::new(0);
static CALLERS_DONE: AtomicU64 = AtomicU64::new(0);

fn call_in_a_loop(_: usize) {
    let Some(object) = TARGET.lock().clone() else {
        return;
    };
    let mut answer = [0; LETTERS];
    for call in 0..CALLS {
        answer.fill(0);
        let counter = match object.greet(&mut answer).map(|_| letter_of(&answer)) {
            Ok(Some(b'A')) => &SEEN_A,
            Ok(Some(b'B')) => &SEEN_B,
            _ => &WRONG,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        // Lets the mutator in under policies that never preempt.
        if call.is_multiple_of(32) {
            sys::yield_now();
        }
    }
    CALLERS_DONE.fetch_add(1, Ordering::Release);
}

/// How many calls the callers have seen answered so far.
fn answers() -> u64 {
    [&SEEN_A, &SEEN_B, &WRONG]
        .iter()
        .map(|counter| counter.load(Ordering::Relaxed))
        .sum()
}

/// Mutates the object back and forth while eight threads call it.
fn under_load(flags: u32) -> Result<()> {
    let mutate = mutator()?;
    let object = new_letters();
    for counter in [&SEEN_A, &SEEN_B, &WRONG, &CALLERS_DONE] {
        counter.store(0, Ordering::SeqCst);
    }
    *TARGET.lock() = Some(object.clone());
    let callers: alloc::vec::Vec<_> = (0..CALLERS)
        .map(|i| sys::spawn("caller", call_in_a_loop, i, sys::DEFAULT_STACK))
        .collect::<Result<_>>()?;
    let mut mutations = 0_u32;
    while CALLERS_DONE.load(Ordering::Acquire) < CALLERS as u64 {
        let letter = if mutations.is_multiple_of(2) {
            b'B'
        } else {
            b'A'
        };
        turn(&mutate, &object, letter, flags, PATIENT_US)?;
        mutations += 1;
        let answered = answers();
        // Let a call finish before the next mutation: mutations back to
        // back by abort would push every call out again and again.
        while answers() == answered && CALLERS_DONE.load(Ordering::Acquire) < CALLERS as u64 {
            sys::yield_now();
        }
    }
    callers.into_iter().try_for_each(sys::join)?;
    TARGET.lock().take();
    let (a, b, wrong) = (
        SEEN_A.load(Ordering::SeqCst),
        SEEN_B.load(Ordering::SeqCst),
        WRONG.load(Ordering::SeqCst),
    );
    say!(
        "selftest: {mutations} mutations; answers: {a} from A, {b} from B, {wrong} mixed or failed"
    );
    if a + b != CALLERS as u64 * CALLS || wrong != 0 || a == 0 || b == 0 || mutations < 10 {
        return fail(format_args!("calls were lost, mixed or failed"));
    }
    Ok(())
}

pub fn mutex_under_load() -> Result<()> {
    under_load(flags::BY_MUTEX)
}

pub fn abort_under_load() -> Result<()> {
    under_load(flags::BY_ABORT)
}

/// What the held caller got back.
static HELD_ANSWER: Mutex<Option<Result<u8>>> = Mutex::new(None);

fn call_once(_: usize) {
    let Some(object) = TARGET.lock().clone() else {
        return;
    };
    let mut answer = [0; LETTERS];
    let result = object
        .greet(&mut answer)
        .and_then(|_| letter_of(&answer).ok_or(Status::FAILED));
    *HELD_ANSWER.lock() = Some(result);
}

/// Starts one call of `object` that stays inside until `HOLD` clears.
fn hold_a_call(object: &ComPtr<IHello>) -> Result<sys::Thread> {
    HOLD.store(true, Ordering::SeqCst);
    *HELD_ANSWER.lock() = None;
    *TARGET.lock() = Some(object.clone());
    let caller = sys::spawn("held", call_once, 0, sys::DEFAULT_STACK)?;
    sys::sleep_ms(2);
    Ok(caller)
}

/// A call stays inside: a mutation by mutual exclusion times out and
/// leaves the object as it was; by abort, it pushes the call out and the
/// call comes back answered by the new implementation.
pub fn timeout_rolls_back_and_abort_retries() -> Result<()> {
    let mutate = mutator()?;
    let object = new_letters();
    let caller = hold_a_call(&object)?;
    let timed_out = turn(&mutate, &object, b'B', flags::BY_MUTEX, 5_000);
    HOLD.store(false, Ordering::SeqCst);
    sys::join(caller)?;
    let held = HELD_ANSWER.lock().take();
    let after = greet_letter(&object);
    if timed_out != Err(Status::TIMED_OUT) || held != Some(Ok(b'A')) || after != Ok(b'A') {
        return fail(format_args!(
            "mutex: mutation {timed_out:?}, held call {held:?}, then {after:?}"
        ));
    }
    let caller = hold_a_call(&object)?;
    let aborted = turn(&mutate, &object, b'B', flags::BY_ABORT, PATIENT_US);
    sys::join(caller)?;
    HOLD.store(false, Ordering::SeqCst);
    TARGET.lock().take();
    let held = HELD_ANSWER.lock().take();
    if aborted.is_err() || held != Some(Ok(b'B')) {
        return fail(format_args!(
            "abort: mutation {aborted:?}, held call {held:?}"
        ));
    }
    Ok(())
}

/// What the first of two mutators got.
static FIRST_MUTATION: Mutex<Option<Result<()>>> = Mutex::new(None);

fn mutate_patiently(_: usize) {
    let Some(object) = TARGET.lock().clone() else {
        return;
    };
    let result =
        mutator().and_then(|mutate| turn(&mutate, &object, b'B', flags::BY_MUTEX, PATIENT_US));
    *FIRST_MUTATION.lock() = Some(result);
}

/// A mutator waits for a held call with the gate closed; a second one,
/// given 5 ms, fails with `TIMED_OUT` rather than wait behind it; the first
/// completes once the call leaves.
pub fn second_mutator_times_out() -> Result<()> {
    let mutate = mutator()?;
    let object = new_letters();
    let caller = hold_a_call(&object)?;
    *FIRST_MUTATION.lock() = None;
    let first = sys::spawn("mutator", mutate_patiently, 0, sys::DEFAULT_STACK)?;
    sys::sleep_ms(2);
    let second = turn(&mutate, &object, b'A', flags::BY_MUTEX, 5_000);
    HOLD.store(false, Ordering::SeqCst);
    sys::join(caller)?;
    sys::join(first)?;
    TARGET.lock().take();
    let first = FIRST_MUTATION.lock().take();
    let now = greet_letter(&object);
    if second != Err(Status::TIMED_OUT) || first != Some(Ok(())) || now != Ok(b'B') {
        return fail(format_args!(
            "second mutator {second:?}, first {first:?}, then {now:?}"
        ));
    }
    Ok(())
}

/// Lets the held call leave after `ms` milliseconds.
fn release_after(ms: usize) {
    sys::sleep_ms(ms as u64);
    HOLD.store(false, Ordering::SeqCst);
}

/// A filter put in while another mutation holds the object — its slot on
/// a held vtable, the implementation about to change — waits for that
/// mutation and goes in front of the table the object has after it.
pub fn filter_waits_for_a_mutation_under_way() -> Result<()> {
    let interposer = sys::namespace()
        .bind(interfaces::interpose::PATH, 0)?
        .query::<IInterpose>()?;
    let object = new_letters();
    let caller = hold_a_call(&object)?;
    *FIRST_MUTATION.lock() = None;
    let first = sys::spawn("mutator", mutate_patiently, 0, sys::DEFAULT_STACK)?;
    sys::sleep_ms(2);
    let releaser = sys::spawn("releaser", release_after, 5, sys::DEFAULT_STACK)?;
    let nil = com::Guid::default();
    let filtered = interposer.interpose(object.as_unknown(), &nil, filters::READ_ONLY, "letters");
    sys::join(releaser)?;
    sys::join(caller)?;
    sys::join(first)?;
    TARGET.lock().take();
    let first = FIRST_MUTATION.lock().take();
    let answered = greet_letter(&object);
    let removed = interposer.remove(object.as_unknown(), &nil);
    let original = vtable_of(object.as_unknown())? == vtable!(OtherLetters, IHello);
    drop(interposer);
    sys::collect_idle();
    if filtered.is_err()
        || first != Some(Ok(()))
        || answered != Ok(b'B')
        || removed.is_err()
        || !original
    {
        return fail(format_args!(
            "filter {filtered:?} during mutation {first:?}; then {answered:?}, removed {removed:?}, B's table back: {original}"
        ));
    }
    Ok(())
}

fn greet_letter(object: &IHello) -> Result<u8> {
    let mut answer = [0; LETTERS];
    object.greet(&mut answer)?;
    letter_of(&answer).ok_or(Status::FAILED)
}

/// A transition that turns the object to `B` and then fails.
#[class(ITransition)]
struct HalfDone;

impl ITransitionImpl for HalfDone {
    fn apply(&self, object: &IUnknown) -> Result<()> {
        Takeover::<OtherLetters>::check(object)?.keep_state()?;
        Err(Status::FAILED)
    }
}

/// A transition that fails is undone: the vtables are put back.
pub fn failed_transition_is_undone() -> Result<()> {
    let mutate = mutator()?;
    let object = new_letters();
    let transition = ComObject::create::<ITransition>(HalfDone);
    let result = mutate.mutate_object(
        object.as_unknown(),
        &transition,
        flags::BY_MUTEX,
        PATIENT_US,
    );
    let restored = vtable_of(object.as_unknown())? == vtable!(Letters, IHello);
    if result != Err(Status::FAILED) || !restored {
        return fail(format_args!(
            "transition {result:?}, vtable put back: {restored}"
        ));
    }
    // MutateVtable alone: the slot takes the new table; a misaligned one is refused.
    let other = vtable!(OtherLetters, IHello).addr() as u64;
    let swapped = mutate.mutate_vtable(object.as_unknown(), other, flags::BY_MUTEX, PATIENT_US);
    let misaligned =
        mutate.mutate_vtable(object.as_unknown(), other + 1, flags::BY_MUTEX, PATIENT_US);
    let now_other = vtable_of(object.as_unknown())? == vtable!(OtherLetters, IHello);
    if swapped.is_err() || misaligned != Err(Status::INVALID_ARGUMENT) || !now_other {
        return fail(format_args!(
            "vtable swap {swapped:?}, misaligned {misaligned:?}, in place: {now_other}"
        ));
    }
    // Objects that did not opt in are refused.
    let plain = ComObject::create::<ITransition>(HalfDone);
    let refused =
        mutate.mutate_object(plain.as_unknown(), &transition, flags::BY_MUTEX, PATIENT_US);
    if refused != Err(Status::NO_INTERFACE) {
        return fail(format_args!("a plain object gave {refused:?}"));
    }
    Ok(())
}

#[interface("9b7c4d2e-5f61-4a8b-9c3d-2e1f0a6b7c58")]
/// Division by the object's divisor: the specialization example.
pub trait IDivide {
    /// `dividend` divided by the divisor.
    fn divide(&self, dividend: u64) -> Result<u64>;
    /// True when a specialized implementation answers.
    fn specialized(&self) -> Result<bool>;
}

/// The state of both dividers: the divisor.
#[published_state("e51a0c3f-8b6d-4e27-9d14-2a7f60b3c8e5")]
#[repr(C)]
pub struct DividerState {
    gate: Gate,
    divisor: AtomicU64,
}

/// The generic divider: any divisor, a hardware division per call.
#[class(IDivide, mutable(DividerState))]
#[repr(transparent)]
pub struct Divider(DividerState);

/// The same divider specialized for the divisor 2: a shift. Installed only
/// while the divisor is 2 — the assumption it is built on.
#[class(IDivide, mutable(DividerState))]
#[repr(transparent)]
pub struct Halver(DividerState);

impl Deref for Divider {
    type Target = DividerState;
    fn deref(&self) -> &DividerState {
        &self.0
    }
}

impl Deref for Halver {
    type Target = DividerState;
    fn deref(&self) -> &DividerState {
        &self.0
    }
}

impl IDivideImpl for Divider {
    fn divide(&self, dividend: u64) -> Result<u64> {
        dividend
            .checked_div(self.divisor.load(Ordering::Relaxed))
            .ok_or(Status::INVALID_ARGUMENT)
    }

    fn specialized(&self) -> Result<bool> {
        Ok(false)
    }
}

impl IDivideImpl for Halver {
    fn divide(&self, dividend: u64) -> Result<u64> {
        Ok(dividend >> 1)
    }

    fn specialized(&self) -> Result<bool> {
        Ok(true)
    }
}

/// The transition to a new divisor: stores it and installs the
/// implementation made for it — specialized while the divisor is 2,
/// generic otherwise.
#[class(ITransition)]
struct UseDivisor(u64);

impl ITransitionImpl for UseDivisor {
    fn apply(&self, object: &IUnknown) -> Result<()> {
        match self.0 {
            0 => Err(Status::INVALID_ARGUMENT),
            2 => use_divisor::<Halver>(object, self.0),
            _ => use_divisor::<Divider>(object, self.0),
        }
    }
}

/// Stores `divisor` and makes `T`, the implementation made for it, answer.
fn use_divisor<T: Class>(object: &IUnknown, divisor: u64) -> Result<()> {
    let takeover = Takeover::<T>::check(object)?;
    takeover
        .state::<DividerState>()?
        .divisor
        .store(divisor, Ordering::Relaxed);
    takeover.keep_state()
}

/// The divisors the specialization check goes through, in order.
const DIVISORS: [u64; 4] = [7, 2, 3, 2];
/// Set once the callers may stop.
static STOP_DIVIDING: AtomicBool = AtomicBool::new(false);
static DIVIDER: Mutex<Option<ComPtr<IDivide>>> = Mutex::new(None);

fn divide_in_a_loop(caller: usize) {
    let Some(divider) = DIVIDER.lock().clone() else {
        return;
    };
    let mut call = 0_u64;
    while !STOP_DIVIDING.load(Ordering::Acquire) {
        let dividend = 1_000_003 * (caller as u64 + 1) + call;
        let answered = divider.divide(dividend);
        let plausible = DIVISORS
            .iter()
            .any(|&divisor| answered == Ok(dividend / divisor));
        let counter = if plausible { &SEEN_A } else { &WRONG };
        counter.fetch_add(1, Ordering::Relaxed);
        call += 1;
        if call.is_multiple_of(32) {
            sys::yield_now();
        }
    }
}

/// Specialization: the divider turns into the halver when the divisor
/// becomes 2 and back when it stops being 2, under 8 dividing threads;
/// both give the generic division's results.
pub fn specialization_follows_its_assumption() -> Result<()> {
    let mutate = mutator()?;
    let divider: ComPtr<IDivide> = ComObject::create(Divider(DividerState {
        gate: Gate::new(),
        divisor: AtomicU64::new(1),
    }));
    SEEN_A.store(0, Ordering::SeqCst);
    WRONG.store(0, Ordering::SeqCst);
    STOP_DIVIDING.store(false, Ordering::SeqCst);
    *DIVIDER.lock() = Some(divider.clone());
    let callers: alloc::vec::Vec<_> = (0..CALLERS)
        .map(|i| sys::spawn("divider", divide_in_a_loop, i, sys::DEFAULT_STACK))
        .collect::<Result<_>>()?;
    let mut outcome = Ok(());
    for divisor in DIVISORS {
        let transition = ComObject::create::<ITransition>(UseDivisor(divisor));
        mutate.mutate_object(
            divider.as_unknown(),
            &transition,
            flags::BY_MUTEX,
            PATIENT_US,
        )?;
        sys::sleep_ms(2);
        let specialized = divider.specialized()?;
        let same = (0..1000_u64).all(|x| divider.divide(x * 7919) == Ok(x * 7919 / divisor));
        if specialized != (divisor == 2) || !same {
            outcome = fail(format_args!(
                "divisor {divisor}: specialized {specialized}, results equal {same}"
            ));
        }
    }
    let refused = mutate.mutate_object(
        divider.as_unknown(),
        &ComObject::create::<ITransition>(UseDivisor(0)),
        flags::BY_MUTEX,
        PATIENT_US,
    );
    STOP_DIVIDING.store(true, Ordering::SeqCst);
    callers.into_iter().try_for_each(sys::join)?;
    DIVIDER.lock().take();
    let (right, wrong) = (SEEN_A.load(Ordering::SeqCst), WRONG.load(Ordering::SeqCst));
    say!("selftest: {right} divisions during 4 transitions, {wrong} wrong");
    if refused != Err(Status::INVALID_ARGUMENT) || wrong != 0 || right == 0 {
        return fail(format_args!(
            "divisor 0 gave {refused:?}; {wrong} wrong answers"
        ));
    }
    outcome
}

/// The counter the adders add to, and the answers by version.
static COUNTER: Mutex<Option<ComPtr<ICounter>>> = Mutex::new(None);
/// The version that answers once the counter has changed (v1's answers
/// count as `SEEN_A`, this one's as `SEEN_B`).
static CHANGED_VERSION: AtomicU32 = AtomicU32::new(2);

fn add_in_a_loop(_: usize) {
    let Some(counter) = COUNTER.lock().clone() else {
        return;
    };
    let changed = CHANGED_VERSION.load(Ordering::SeqCst);
    for call in 0..CALLS {
        let answered_by = match (counter.add(1), counter.version()) {
            (Ok(_), Ok(1)) => &SEEN_A,
            (Ok(_), Ok(version)) if version == changed => &SEEN_B,
            _ => &WRONG,
        };
        answered_by.fetch_add(1, Ordering::Relaxed);
        if call.is_multiple_of(32) {
            sys::yield_now();
        }
    }
}

/// Adds 1000 to `counter`, then starts [`CALLERS`] threads adding to it
/// in a loop ([`add_in_a_loop`]), which count answers by v1 and by
/// version `changed`; a millisecond on, they are all adding.
fn start_adders(counter: &ComPtr<ICounter>, changed: u32) -> Result<alloc::vec::Vec<Thread>> {
    counter.add(1000)?;
    for counter in [&SEEN_A, &SEEN_B, &WRONG] {
        counter.store(0, Ordering::SeqCst);
    }
    CHANGED_VERSION.store(changed, Ordering::SeqCst);
    *COUNTER.lock() = Some(counter.clone());
    let adders = (0..CALLERS)
        .map(|i| sys::spawn("adder", add_in_a_loop, i, sys::DEFAULT_STACK))
        .collect::<Result<_>>()?;
    sys::sleep_ms(1);
    Ok(adders)
}

/// A component upgraded live: `counter` v1's object becomes v2's under 8
/// adding threads, keeps its total, and v1's module unloads.
pub fn component_upgrades_live() -> Result<()> {
    let root = sys::namespace();
    let counter = root.bind("/counter", 0)?.query::<ICounter>()?;
    let adders = start_adders(&counter, 2)?;
    let upgraded = root.bind("/counter-v2", 0);
    adders.into_iter().try_for_each(sys::join)?;
    COUNTER.lock().take();
    let upgraded = upgraded?;
    let same_object = upgraded.ptr_eq(&counter.query::<IUnknown>()?);
    let (total, version) = (counter.total()?, counter.version()?);
    let (v1, v2, wrong) = (
        SEEN_A.load(Ordering::SeqCst),
        SEEN_B.load(Ordering::SeqCst),
        WRONG.load(Ordering::SeqCst),
    );
    sys::collect_idle();
    let v1_gone = !sys::loaded("counter") && sys::loaded("counter-v2");
    let rebound = root.bind("/counter", 0)?.ptr_eq(&upgraded);
    say!("selftest: counter upgraded under load: {v1} answers by v1, {v2} by v2, total {total}");
    drop((counter, upgraded));
    sys::collect_idle();
    let all_gone = !sys::loaded("counter-v2");
    let expected = 1000 + CALLERS as u64 * CALLS;
    if total != expected || version != 2 || wrong != 0 || v2 == 0 || !same_object {
        return fail(format_args!(
            "total {total} (expected {expected}), version {version}, {wrong} wrong, same object {same_object}"
        ));
    }
    if !v1_gone || !rebound || !all_gone {
        return fail(format_args!(
            "v1 unloaded: {v1_gone}; /counter names the upgraded object: {rebound}; all unloaded: {all_gone}"
        ));
    }
    Ok(())
}

/// Where the moved counter's calls go in [`a_moved_object_forwards`]: a
/// kernel-space counter standing in for the process a counter moves into.
#[class(ICounter)]
struct Relocated {
    total: AtomicU64,
}

impl ICounterImpl for Relocated {
    fn add(&self, amount: u64) -> Result<u64> {
        Ok(self.total.fetch_add(amount, Ordering::Relaxed) + amount)
    }

    fn total(&self) -> Result<u64> {
        Ok(self.total.load(Ordering::Relaxed))
    }

    fn version(&self) -> Result<u32> {
        Ok(HOSTED_VERSION)
    }
}

/// The transition that moves a v1 counter to a new `Relocated`, as the
/// IPC's moves one into a process: the object becomes a `Moved<ICounter>`
/// forwarding to it.
#[class(ITransition)]
struct Relocate;

/// The counter [`Relocate`] made last.
static RELOCATED: Mutex<Option<ComPtr<ICounter>>> = Mutex::new(None);

impl ITransitionImpl for Relocate {
    fn apply(&self, object: &IUnknown) -> Result<()> {
        let takeover = Takeover::<Moved<ICounter>>::check(object)?;
        let carried = takeover.state::<CounterStateV1>()?.carried();
        let (_, total) = CounterStateV1::from_carried(&carried).ok_or(Status::FAILED)?;
        let target: ComPtr<ICounter> = ComObject::create(Relocated {
            total: AtomicU64::new(total),
        });
        *RELOCATED.lock() = Some(target.clone());
        takeover.replace(|_: &CounterStateV1| Moved::forwarding(target))
    }
}

/// Object mobility's moved class: `counter` v1's object becomes a
/// `Moved<ICounter>` forwarding to a kernel-space counter under 8 adding
/// threads — none lost, every answer from one side — and keeps its
/// identity; v1 unloads, and the target goes with the object's last
/// reference. This transition cannot move it a second time: it reads the
/// counter's published state, which a moved object has not (moving on
/// goes through `Moved::retarget`, as the IPC's `move` does).
pub fn a_moved_object_forwards() -> Result<()> {
    let root = sys::namespace();
    let counter = root.bind("/counter", 0)?.query::<ICounter>()?;
    let identity = counter.query::<IUnknown>()?;
    let adders = start_adders(&counter, HOSTED_VERSION)?;
    let mutate = root.bind(interfaces::mutate::PATH, 0)?.query::<IMutate>()?;
    let transition = ComObject::create::<ITransition>(Relocate);
    let moved = mutate.mutate_object(&identity, &transition, flags::BY_MUTEX, PATIENT_US);
    adders.into_iter().try_for_each(sys::join)?;
    COUNTER.lock().take();
    moved?;
    let again = mutate.mutate_object(&identity, &transition, flags::BY_MUTEX, PATIENT_US);
    let target = RELOCATED.lock().take().ok_or(Status::FAILED)?;
    let (total, version) = (counter.total()?, counter.version()?);
    let same_object = counter.query::<IUnknown>()?.ptr_eq(&identity);
    let (v1, moved_answers, wrong) = (
        SEEN_A.load(Ordering::SeqCst),
        SEEN_B.load(Ordering::SeqCst),
        WRONG.load(Ordering::SeqCst),
    );
    sys::collect_idle();
    let v1_gone = !sys::loaded("counter");
    say!(
        "selftest: counter moved under load: {v1} answers by v1, {moved_answers} moved, total {total}"
    );
    drop((counter, identity));
    sys::collect_idle();
    let target_released = target.reference_count() == 1;
    let expected = 1000 + CALLERS as u64 * CALLS;
    if total != expected || version != HOSTED_VERSION || wrong != 0 || moved_answers == 0 {
        return fail(format_args!(
            "total {total} (expected {expected}), version {version}, {wrong} wrong, {moved_answers} moved"
        ));
    }
    if !same_object || !v1_gone || !target_released || again != Err(Status::NOT_SUPPORTED) {
        return fail(format_args!(
            "same object {same_object}; v1 unloaded {v1_gone}; target released {target_released}; moved again: {again:?}"
        ));
    }
    Ok(())
}

/// Where the host process of [`a_counter_moves_into_a_process`] serves.
const HOST_PATH: &str = "/svc/selftest-host";

/// Object mobility end to end: `counter` v1's object moves into a process
/// (`apptest host`) through the IPC while 8 threads add to it — none lost,
/// every answer from one side, the last ones from the process — and
/// keeps its identity and its name; killing the host makes its calls
/// fail (no hang), and its name goes with the host.
pub fn a_counter_moves_into_a_process() -> Result<()> {
    let root = sys::namespace();
    let manager = root
        .bind(interfaces::ipc::MANAGER_PATH, 0)?
        .query::<IProcessManager>()?;
    let host = manager.create(
        "apptest",
        &alloc::format!("host {HOST_PATH}"),
        &alloc::format!("/dev/console {HOST_PATH}"),
    )?;
    let served = (0..1000).any(|_| {
        sys::sleep_ms(1);
        root.bind(HOST_PATH, 0).is_ok()
    });
    let counter = root.bind("/counter", 0)?.query::<ICounter>()?;
    let identity = counter.query::<IUnknown>()?;
    let adders = start_adders(&counter, HOSTED_VERSION)?;
    let moved = manager.move_object("/counter", host.status()?.id);
    adders.into_iter().try_for_each(sys::join)?;
    COUNTER.lock().take();
    moved?;
    let (total, version) = (counter.total()?, counter.version()?);
    let named = root.bind("/counter", 0)?.ptr_eq(&identity);
    let (v1, moved_answers, wrong) = (
        SEEN_A.load(Ordering::SeqCst),
        SEEN_B.load(Ordering::SeqCst),
        WRONG.load(Ordering::SeqCst),
    );
    sys::collect_idle();
    let v1_gone = !sys::loaded("counter");
    say!(
        "selftest: counter moved into a process: {v1} answers by v1, {moved_answers} moved, total {total}"
    );
    host.kill()?;
    let _ = host.wait();
    let after_kill = counter.add(1);
    drop(host);
    let name_gone = root
        .bind("/counter", 0)
        .map(|object| !object.ptr_eq(&identity));
    drop((counter, identity));
    sys::collect_idle();
    let expected = 1000 + CALLERS as u64 * CALLS;
    if !served || total != expected || version != HOSTED_VERSION || wrong != 0 || moved_answers == 0
    {
        return fail(format_args!(
            "host served {served}; total {total} (expected {expected}), version {version}, {wrong} wrong, {moved_answers} moved"
        ));
    }
    if !named || !v1_gone || after_kill.is_ok() || name_gone != Ok(true) {
        return fail(format_args!(
            "named {named}; v1 unloaded {v1_gone}; add after the kill {after_kill:?}; name gone {name_gone:?}"
        ));
    }
    Ok(())
}

/// A file in memory: what the read-only filter guards in the checks.
#[class(IFile)]
struct MemoryFile {
    bytes: Mutex<[u8; 64]>,
}

impl IFileImpl for MemoryFile {
    fn read_at(&self, offset: u64, buffer: &mut [u8]) -> Result<usize> {
        let bytes = self.bytes.lock();
        let from = bytes
            .get(usize::try_from(offset).map_err(|_| Status::OUT_OF_RANGE)?..)
            .ok_or(Status::OUT_OF_RANGE)?;
        let count = from.len().min(buffer.len());
        buffer[..count].copy_from_slice(&from[..count]);
        Ok(count)
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> Result<usize> {
        let mut bytes = self.bytes.lock();
        let start = usize::try_from(offset).map_err(|_| Status::OUT_OF_RANGE)?;
        let room = bytes
            .get_mut(start..start.saturating_add(data.len()))
            .ok_or(Status::OUT_OF_RANGE)?;
        room.copy_from_slice(data);
        Ok(data.len())
    }

    fn size(&self) -> Result<u64> {
        Ok(64)
    }

    /// The file's size is fixed.
    fn set_size(&self, _size: u64) -> Result<()> {
        Err(Status::NOT_SUPPORTED)
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }
}

static FILE: Mutex<Option<ComPtr<IFile>>> = Mutex::new(None);
static DENIED: AtomicU64 = AtomicU64::new(0);

fn write_and_read_in_a_loop(caller: usize) {
    let Some(file) = FILE.lock().clone() else {
        return;
    };
    let mut byte = [0_u8; 1];
    for call in 0..CALLS {
        let counter = match file.write_at(caller as u64, &[u8::try_from(caller).unwrap_or(0)]) {
            Ok(1) => &SEEN_A,
            Err(Status::ACCESS_DENIED) => &DENIED,
            _ => &WRONG,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if file.read_at(caller as u64, &mut byte) != Ok(1) {
            WRONG.fetch_add(1, Ordering::Relaxed);
        }
        if call.is_multiple_of(32) {
            sys::yield_now();
        }
    }
}

/// Interposition: the read-only filter goes in front of a file and away
/// again, over and over, while 8 threads write and read it: writes fail
/// with `ACCESS_DENIED` exactly while it is there, reads always work.
pub fn read_only_filter_comes_and_goes() -> Result<()> {
    let interposer = sys::namespace()
        .bind(interfaces::interpose::PATH, 0)?
        .query::<IInterpose>()?;
    let file: ComPtr<IFile> = ComObject::create(MemoryFile {
        bytes: Mutex::new([0; 64]),
    });
    for counter in [&SEEN_A, &DENIED, &WRONG] {
        counter.store(0, Ordering::SeqCst);
    }
    *FILE.lock() = Some(file.clone());
    let writers: alloc::vec::Vec<_> = (0..CALLERS)
        .map(|i| sys::spawn("writer", write_and_read_in_a_loop, i, sys::DEFAULT_STACK))
        .collect::<Result<_>>()?;
    let nil = com::Guid::default();
    let mut outcome = Ok(());
    for _ in 0..20 {
        interposer.interpose(file.as_unknown(), &nil, filters::READ_ONLY, "memory file")?;
        let guarded = (file.write_at(0, b"x"), file.read_at(0, &mut [0; 4]));
        sys::yield_now();
        interposer.remove(file.as_unknown(), &nil)?;
        let open = file.write_at(0, b"y");
        if guarded != (Err(Status::ACCESS_DENIED), Ok(4)) || open != Ok(1) {
            outcome = fail(format_args!("filtered: {guarded:?}, then {open:?}"));
        }
        sys::yield_now();
    }
    writers.into_iter().try_for_each(sys::join)?;
    FILE.lock().take();
    let (written, denied, wrong) = (
        SEEN_A.load(Ordering::SeqCst),
        DENIED.load(Ordering::SeqCst),
        WRONG.load(Ordering::SeqCst),
    );
    say!("selftest: 20 filter rounds: {written} writes done, {denied} refused, {wrong} wrong");
    if written + denied != CALLERS as u64 * CALLS || wrong != 0 || written == 0 {
        return fail(format_args!("writes lost or reads failed"));
    }
    outcome
}

/// A read-only filter on `counter` v1 is replaced by the upgrade to v2
/// (which installs its own tables); taking the filter away afterwards
/// leaves v2's tables in place, and everything unloads.
pub fn upgrade_replaces_a_filter() -> Result<()> {
    let root = sys::namespace();
    let counter = root.bind("/counter", 0)?.query::<ICounter>()?;
    let interposer = root
        .bind(interfaces::interpose::PATH, 0)?
        .query::<IInterpose>()?;
    let nil = com::Guid::default();
    interposer.interpose(counter.as_unknown(), &nil, filters::READ_ONLY, "counter")?;
    let filtered = counter.add(1);
    let upgraded = root.bind("/counter-v2", 0)?;
    let upgraded_adds = counter.add(1);
    let removed = interposer.remove(counter.as_unknown(), &nil);
    sys::collect_idle();
    let (version, total) = (counter.version(), counter.total());
    drop((counter, upgraded, interposer));
    sys::collect_idle();
    let unloaded = ["counter", "counter-v2", "interpose"]
        .iter()
        .all(|name| !sys::loaded(name));
    if filtered != Err(Status::ACCESS_DENIED)
        || upgraded_adds != Ok(1)
        || removed.is_err()
        || version != Ok(2)
        || total != Ok(1)
    {
        return fail(format_args!(
            "filtered add {filtered:?}, after the upgrade {upgraded_adds:?}, removed {removed:?}, then version {version:?}, total {total:?}"
        ));
    }
    if !unloaded {
        return fail(format_args!(
            "counter, counter-v2 or interpose stayed loaded"
        ));
    }
    Ok(())
}

/// Lines each printing thread writes while the console changes hands.
const PRINTED_LINES: u32 = 50;

fn print_in_a_loop(printer: usize) {
    let console = sys::namespace()
        .bind("/dev/console", 0)
        .and_then(|object| object.query::<IConsole>());
    let Ok(console) = console else {
        return;
    };
    for number in 0..PRINTED_LINES {
        let line = alloc::format!("console line {printer}.{number}\r\n");
        let _ = console.write(line.as_bytes());
        sys::yield_now();
    }
}

/// True when the console's `IConsole` table lies in a loaded module.
fn console_driven_by_a_module(console: &IUnknown) -> Result<bool> {
    Ok(sys::holds(vtable_of(console)?.addr()))
}

/// The seed's BIOS-driver example: the UART driver takes the firmware
/// console over while 8 threads print through it (the QEMU test checks
/// every line came out whole, once, and in each printer's order), then
/// gives it back and unloads.
pub fn console_driver_takes_over_live() -> Result<()> {
    let root = sys::namespace();
    let console = root.bind("/dev/console", 0)?;
    let printers: alloc::vec::Vec<_> = (0..CALLERS)
        .map(|i| sys::spawn("printer", print_in_a_loop, i, sys::DEFAULT_STACK))
        .collect::<Result<_>>()?;
    sys::sleep_ms(1);
    let driver = root.bind("/uart16550", 0);
    printers.into_iter().try_for_each(sys::join)?;
    let driver = driver?;
    let taken_over = driver.ptr_eq(&console) && console_driven_by_a_module(&console)?;
    // The kernel's transition back: only the module that made the
    // firmware console can make the object its own again.
    let transition = root
        .bind(FIRMWARE_TRANSITION_PATH, 0)?
        .query::<ITransition>()?;
    let given_back = mutator()?.mutate_object(&console, &transition, flags::BY_ABORT, PATIENT_US);
    drop(driver);
    sys::collect_idle();
    let firmware_again = !console_driven_by_a_module(&console)?;
    let unloaded = !sys::loaded("uart16550");
    if !taken_over || given_back.is_err() || !firmware_again || !unloaded {
        return fail(format_args!(
            "taken over: {taken_over}; given back: {given_back:?}, firmware again: {firmware_again}; driver unloaded: {unloaded}"
        ));
    }
    Ok(())
}
