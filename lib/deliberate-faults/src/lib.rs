//! Code that faults on purpose — an illegal instruction, a privileged register read, a load or store where nothing answers, a misaligned atomic, a system call nobody handles — for the checks that the kernel ends a U-mode thread, or stops, with the right report.
//!
//! Each fault is one instruction in inline assembly, so what happens is
//! what the processor does with it, not what Rust makes of a bad pointer.
//! Each function has the shape of a thread's entry (`extern "C" fn(u64)`)
//! so it can be started as a U-mode thread. Only the test image holds code
//! that uses this crate: `components/selftest` (in U-mode) and
//! `components/kernel-fault` (in S-mode, which stops the system).

#![no_std]

use core::sync::atomic::AtomicU64;

/// A physical address no memory or device answers to on QEMU `virt`
/// (RAM ends below 4 GiB, and 128 GiB is past every device).
pub const NOWHERE: u64 = 0x20_0000_0000;

/// Runs `unimp`, an illegal instruction.
pub extern "C" fn illegal_instruction(_: u64) {
    // SAFETY: `unimp` only traps.
    unsafe { core::arch::asm!("unimp", options(nostack)) };
}

/// Reads `sstatus`, which only S-mode may.
pub extern "C" fn read_supervisor_register(_: u64) {
    // SAFETY: reading `sstatus` changes nothing; from U-mode it traps.
    unsafe { core::arch::asm!("csrr t0, sstatus", out("t0") _, options(nostack)) };
}

/// Loads a word from [`NOWHERE`].
pub extern "C" fn load_from_nowhere(_: u64) {
    // SAFETY: nothing answers at `NOWHERE`: the load traps before it
    // reads anything, and would change no memory if it did not.
    unsafe {
        core::arch::asm!("ld zero, 0({0})", in(reg) NOWHERE, options(nostack, readonly));
    }
}

/// Stores a word to [`NOWHERE`].
pub extern "C" fn store_to_nowhere(_: u64) {
    // SAFETY: nothing answers at `NOWHERE`, so no memory Rust owns lies
    // there: the store traps, and could change nothing of ours.
    unsafe { core::arch::asm!("sd zero, 0({0})", in(reg) NOWHERE, options(nostack)) };
}

/// Swaps a word at a misaligned address with an atomic instruction.
pub extern "C" fn misaligned_atomic(_: u64) {
    let word = AtomicU64::new(0);
    let misaligned = word.as_ptr() as usize + 1;
    // SAFETY: the address lies inside `word`, this function's own; an
    // atomic there is misaligned and traps (were it done, it would write
    // zero into `word` and the byte after it, both ours: `word` is 8 bytes
    // and the swap 4).
    unsafe {
        core::arch::asm!("amoswap.w zero, zero, ({0})", in(reg) misaligned, options(nostack));
    }
}

/// Calls the environment (`ecall`) with nothing to handle the call.
pub extern "C" fn call_the_environment(_: u64) {
    // SAFETY: `ecall` only traps.
    unsafe { core::arch::asm!("ecall", options(nostack)) };
}
