//! Checks of threads in U-mode and of the floating-point registers every
//! thread keeps: U-mode threads here run in the physical address space
//! (view 0), started through `/sys/vm-kernel`.

use alloc::vec;
use alloc::vec::Vec;
use core::hint::black_box;
use core::sync::atomic::{AtomicU64, Ordering};

use com::{ComPtr, Result, Status};
use deliberate_faults::{
    NOWHERE, call_the_environment, illegal_instruction, load_from_nowhere, misaligned_atomic,
    read_supervisor_register, store_to_nowhere,
};
use interfaces::ipc::FP_BYTES;
use interfaces::vm::KERNEL_PATH;
use interfaces::{IUserTraps, IVmKernel};

use super::fail;
use crate::sys;

/// Words of a U-mode thread's stack.
const USER_STACK_WORDS: usize = 1024;

fn vm_kernel() -> Result<ComPtr<IVmKernel>> {
    sys::namespace().bind(KERNEL_PATH, 0)?.query()
}

/// Runs `entry(argument)` in U-mode on a stack of its own (in the heap: the
/// physical address space) and waits for it; how it ended.
fn run_in_user_mode(entry: extern "C" fn(u64), argument: u64) -> Result<()> {
    let stack: Vec<u64> = vec![0; USER_STACK_WORDS];
    let top = stack.as_ptr() as u64 + (USER_STACK_WORDS * 8) as u64;
    let thread = vm_kernel()?.start_user_thread(entry as *const () as u64, argument, top, 0)?;
    let outcome = thread.wait();
    drop(stack);
    outcome
}

/// What the U-mode thread of [`a_user_thread_runs_and_returns`] stored.
static STORED: AtomicU64 = AtomicU64::new(0);

extern "C" fn store_argument(argument: u64) {
    STORED.store(argument * 2, Ordering::SeqCst);
}

pub fn a_user_thread_runs_and_returns() -> Result<()> {
    STORED.store(0, Ordering::SeqCst);
    let outcome = run_in_user_mode(store_argument, 21);
    let stored = STORED.load(Ordering::SeqCst);
    let stray = vm_kernel()?.start_user_thread(0x10, 0, 0, 0).err();
    if outcome != Ok(()) || stored != 42 || stray != Some(Status::INVALID_ARGUMENT) {
        return fail(format_args!(
            "a U-mode thread ended with {outcome:?} having stored {stored}; a stray start gave {stray:?}"
        ));
    }
    Ok(())
}

pub fn bad_user_code_ends_with_named_errors() -> Result<()> {
    let cases: [(&str, extern "C" fn(u64), u64, Status); 6] = [
        ("unimp", illegal_instruction, 0, Status::ILLEGAL_INSTRUCTION),
        (
            "csrr sstatus",
            read_supervisor_register,
            0,
            Status::ILLEGAL_INSTRUCTION,
        ),
        (
            "a load",
            load_from_nowhere,
            NOWHERE,
            Status::ACCESS_VIOLATION,
        ),
        (
            "a store",
            store_to_nowhere,
            NOWHERE,
            Status::ACCESS_VIOLATION,
        ),
        (
            "a misaligned atomic",
            misaligned_atomic,
            0,
            Status::MISALIGNED_ACCESS,
        ),
        ("ecall", call_the_environment, 0, Status::UNHANDLED_TRAP),
    ];
    for (what, entry, argument, expected) in cases {
        let outcome = run_in_user_mode(entry, argument);
        if outcome != Err(expected) {
            return fail(format_args!(
                "{what} in U-mode ended the thread with {outcome:?}, not {expected:?}"
            ));
        }
    }
    // The system goes on: a well-behaved thread still runs.
    run_in_user_mode(store_argument, 1)
}

/// Rounds of floating-point work per thread, and how often the S-mode
/// workers yield.
const ROUNDS: u32 = 20_000;
const YIELD_EVERY: u32 = 500;

/// Floating-point work whose result depends on every round; with
/// `yield_every`, it gives the processor away that often, holding its
/// running value in a register across the switch.
fn fp_work(seed: f64, yield_every: Option<u32>) -> f64 {
    let mut x = seed;
    for round in 0..ROUNDS {
        x = x * black_box(0.999_9) + seed / f64::from(round + 1);
        if yield_every.is_some_and(|every| round % every == 0) {
            sys::yield_now();
        }
    }
    x
}

/// The results of the workers, as bits: S-mode workers, then the U-mode one.
static RESULTS: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];
const USER_SLOT: usize = 4;

/// The seed of worker `slot`.
fn seed(slot: usize) -> f64 {
    1.0 + slot as f64 * 0.25
}

extern "C" fn user_fp_worker(slot: u64) {
    let Ok(slot) = usize::try_from(slot) else {
        return;
    };
    if let Some(result) = RESULTS.get(slot) {
        result.store(fp_work(seed(slot), None).to_bits(), Ordering::SeqCst);
    }
}

pub fn floating_point_registers_survive_switches() -> Result<()> {
    let vm_kernel = vm_kernel()?;
    let stack: Vec<u64> = vec![0; USER_STACK_WORDS];
    let top = stack.as_ptr() as u64 + (USER_STACK_WORDS * 8) as u64;
    let user = vm_kernel.start_user_thread(
        user_fp_worker as *const () as u64,
        USER_SLOT as u64,
        top,
        0,
    )?;
    let workers = super::in_threads(USER_SLOT, |slot| {
        let result = fp_work(seed(slot), Some(YIELD_EVERY));
        RESULTS[slot].store(result.to_bits(), Ordering::SeqCst);
    });
    let user_outcome = user.wait();
    drop(stack);
    workers?;
    user_outcome?;
    for (slot, result) in RESULTS.iter().enumerate() {
        let (got, expected) = (
            f64::from_bits(result.load(Ordering::SeqCst)),
            fp_work(seed(slot), None),
        );
        if got.to_bits() != expected.to_bits() {
            return fail(format_args!(
                "worker {slot} computed {got}, alone it computes {expected}"
            ));
        }
    }
    Ok(())
}

/// Room for a floating-point record, 8-byte aligned, with a byte to
/// spare: the record at 0 is aligned, the one at 1 is not.
#[repr(C, align(8))]
struct FpRoom([u8; FP_BYTES + 8]);

/// A record whose every byte says which (`salt`) and where.
fn fp_pattern(salt: u8) -> [u8; FP_BYTES] {
    core::array::from_fn(|at| u8::try_from(at % 256).unwrap_or(0).wrapping_mul(7) ^ salt)
}

/// `IUserTraps::exchange_fp` swaps the calling thread's floating-point
/// registers with a record, a word at a time from an aligned one and a
/// byte at a time from one that is not: what one exchange puts in, the
/// next takes out, whichever way each is placed. The thread's own come
/// back at the end.
pub fn the_floating_point_exchange_moves_whole_records() -> Result<()> {
    let traps = sys::namespace()
        .bind(KERNEL_PATH, 0)?
        .query::<IUserTraps>()?;
    let thread = traps.current_thread()?;
    let mut room = FpRoom([0; FP_BYTES + 8]);
    let (first, second) = (fp_pattern(0x5a), fp_pattern(0xc3));
    let aligned = 0..FP_BYTES;
    let unaligned = 1..1 + FP_BYTES;
    // In: an aligned record; out: the thread's own.
    room.0[aligned.clone()].copy_from_slice(&first);
    traps.exchange_fp(thread, &mut room.0[aligned.clone()])?;
    let mut own = [0u8; FP_BYTES];
    own.copy_from_slice(&room.0[aligned.clone()]);
    // In: a record not aligned; out: the first.
    room.0[unaligned.clone()].copy_from_slice(&second);
    traps.exchange_fp(thread, &mut room.0[unaligned.clone()])?;
    let first_back = room.0[unaligned] == first;
    // In: the thread's own again, aligned; out: the second.
    room.0[aligned.clone()].copy_from_slice(&own);
    traps.exchange_fp(thread, &mut room.0[aligned.clone()])?;
    let second_back = room.0[aligned] == second;
    if !first_back || !second_back {
        return fail(format_args!(
            "exchanged records came back whole: aligned then unaligned {first_back}, \
             unaligned then aligned {second_back}"
        ));
    }
    Ok(())
}
