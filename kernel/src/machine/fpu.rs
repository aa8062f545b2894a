//! The floating-point registers of threads, saved and restored lazily by
//! `sstatus.FS`.
//!
//! A switch saves the outgoing thread's registers only when `FS` says it
//! wrote them (Dirty), and turns the unit Off for the incoming thread
//! unless it is off already. The incoming thread's first floating-point
//! instruction then traps as an illegal instruction; the trap handler
//! loads that thread's registers (zeros for a thread that never used
//! them, so nothing leaks from another thread) and sets `FS` to Clean.
//! Between threads that never touch the unit, a switch costs four
//! instructions and no trap. Kernel code never uses floating point, so
//! the registers always hold a thread's own values.
//!
//! Only with the loader: without it only kernel code runs, and the unit
//! stays off (`entry`).

use core::sync::atomic::{AtomicPtr, Ordering};

use super::trap::FS_MASK;

/// `FS` = Dirty: registers written since the last save or load.
const FS_DIRTY: usize = 3 << 13;
/// `FS` = Clean: registers hold the thread's values, unchanged since loaded.
const FS_CLEAN: usize = 2 << 13;

/// One thread's floating-point registers: `f0`..`f31`, then `fcsr`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct FpRegisters {
    f: [u64; 32],
    fcsr: u64,
}

/// Finds the registers of the thread on the processor (installed by the
/// thread code), which a trap of its first floating-point instruction
/// loads; null when there are none to load.
static RUNNING: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());

/// Installs `running`, which gives the record of the thread on the
/// processor (valid while that thread runs), or null.
pub fn set_running_registers(running: fn() -> *mut FpRegisters) {
    RUNNING.store(running as *mut (), Ordering::Release);
}

/// The running thread's registers, as the installed function finds them.
fn running_registers() -> *mut FpRegisters {
    let running = RUNNING.load(Ordering::Acquire);
    if running.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: only `set_running_registers` stores here, and it stores a
    // `fn() -> *mut FpRegisters`.
    let running: fn() -> *mut FpRegisters =
        unsafe { core::mem::transmute::<*mut (), fn() -> *mut FpRegisters>(running) };
    running()
}

core::arch::global_asm!(
    r#"
    .section .text
    .globl fpu_save
fpu_save:
    fsd f0, 0(a0)
    fsd f1, 8(a0)
    fsd f2, 16(a0)
    fsd f3, 24(a0)
    fsd f4, 32(a0)
    fsd f5, 40(a0)
    fsd f6, 48(a0)
    fsd f7, 56(a0)
    fsd f8, 64(a0)
    fsd f9, 72(a0)
    fsd f10, 80(a0)
    fsd f11, 88(a0)
    fsd f12, 96(a0)
    fsd f13, 104(a0)
    fsd f14, 112(a0)
    fsd f15, 120(a0)
    fsd f16, 128(a0)
    fsd f17, 136(a0)
    fsd f18, 144(a0)
    fsd f19, 152(a0)
    fsd f20, 160(a0)
    fsd f21, 168(a0)
    fsd f22, 176(a0)
    fsd f23, 184(a0)
    fsd f24, 192(a0)
    fsd f25, 200(a0)
    fsd f26, 208(a0)
    fsd f27, 216(a0)
    fsd f28, 224(a0)
    fsd f29, 232(a0)
    fsd f30, 240(a0)
    fsd f31, 248(a0)
    frcsr t0
    sd t0, 256(a0)
    ret

    .globl fpu_load
fpu_load:
    fld f0, 0(a0)
    fld f1, 8(a0)
    fld f2, 16(a0)
    fld f3, 24(a0)
    fld f4, 32(a0)
    fld f5, 40(a0)
    fld f6, 48(a0)
    fld f7, 56(a0)
    fld f8, 64(a0)
    fld f9, 72(a0)
    fld f10, 80(a0)
    fld f11, 88(a0)
    fld f12, 96(a0)
    fld f13, 104(a0)
    fld f14, 112(a0)
    fld f15, 120(a0)
    fld f16, 128(a0)
    fld f17, 136(a0)
    fld f18, 144(a0)
    fld f19, 152(a0)
    fld f20, 160(a0)
    fld f21, 168(a0)
    fld f22, 176(a0)
    fld f23, 184(a0)
    fld f24, 192(a0)
    fld f25, 200(a0)
    fld f26, 208(a0)
    fld f27, 216(a0)
    fld f28, 224(a0)
    fld f29, 232(a0)
    fld f30, 240(a0)
    fld f31, 248(a0)
    ld t0, 256(a0)
    fscsr t0
    ret
"#
);

unsafe extern "C" {
    /// Stores the registers into `*to` (the unit must not be Off).
    fn fpu_save(to: *mut FpRegisters);
    /// Loads the registers from `*from` (the unit must not be Off).
    fn fpu_load(from: *const FpRegisters);
}

/// `sstatus` now.
fn sstatus() -> usize {
    let value: usize;
    // SAFETY: reading a CSR has no effect.
    unsafe { core::arch::asm!("csrr {}, sstatus", out(reg) value, options(nomem, nostack)) };
    value
}

/// At a switch away from the thread whose registers are `outgoing`: saves
/// them if it wrote them, and turns the unit off (if on) until the next
/// thread uses it.
///
/// # Safety
/// Interrupts are disabled; `outgoing` is the running thread's record,
/// valid for writing.
#[inline(always)]
pub unsafe fn switch(outgoing: *mut FpRegisters) {
    let state = sstatus() & FS_MASK;
    if state == 0 {
        return;
    }
    if state == FS_DIRTY {
        // SAFETY: the unit is on (Dirty) and `outgoing` is valid (caller).
        unsafe { fpu_save(outgoing) };
    }
    // SAFETY: turning the unit off only makes its next use trap, which
    // `load_on_first_use` answers.
    unsafe { core::arch::asm!("csrc sstatus, {}", in(reg) FS_MASK, options(nostack)) };
}

/// Bytes of one thread's registers as [`exchange_running`] takes them:
/// `f0`..`f31`, then `fcsr`, little-endian words.
pub const BYTES: usize = core::mem::size_of::<FpRegisters>();

/// Exchanges the running thread's registers with `other`: its next
/// floating-point instruction finds what `other` held, and `other` gets
/// what the thread had. The IPC gives a server zeros this way on a
/// client's thread and gives the client its own back after. False (and
/// nothing exchanged) when no thread's record is to be found.
pub fn exchange_running(other: &mut [u8; BYTES]) -> bool {
    super::interrupt_mask::without(|| {
        let registers = running_registers();
        if registers.is_null() {
            return false;
        }
        // SAFETY: interrupts are disabled and `registers` is the running
        // thread's record: `switch` saves the live registers there (if
        // written) and turns the unit off, so the record holds them and
        // the next use loads whatever it holds then.
        unsafe { switch(registers) };
        // SAFETY: the record is the running thread's, valid while it runs,
        // and nothing else reaches it with interrupts disabled.
        exchange_words(unsafe { &mut *registers }, other);
        true
    })
}

/// Swaps the words of `record` with those of `other` (little-endian):
/// a word at a time when `other` is 8-byte aligned, as the IPC's
/// records are, else a byte at a time.
fn exchange_words(record: &mut FpRegisters, other: &mut [u8; BYTES]) {
    let words = record
        .f
        .iter_mut()
        .chain(core::iter::once(&mut record.fcsr));
    if other.as_ptr().addr().is_multiple_of(8) {
        // SAFETY: `other` is 8-byte aligned and `BYTES` (a whole number of
        // words) long, and borrowed mutably for this call alone.
        let theirs = unsafe { &mut *other.as_mut_ptr().cast::<[u64; BYTES / 8]>() };
        for (word, their) in words.zip(theirs) {
            let value = u64::from_le(*their);
            *their = word.to_le();
            *word = value;
        }
        return;
    }
    for (word, bytes) in words.zip(other.as_chunks_mut::<8>().0) {
        let value = u64::from_le_bytes(*bytes);
        *bytes = word.to_le_bytes();
        *word = value;
    }
}

/// Called for an illegal instruction: when the unit is off, the running
/// thread wanted it, so its registers are loaded, the unit is marked
/// Clean, and true says to run the instruction again. False when the unit
/// was on (a genuinely illegal instruction).
pub fn load_on_first_use() -> bool {
    if sstatus() & FS_MASK != 0 {
        return false;
    }
    // SAFETY: setting FS only enables the floating-point unit.
    unsafe { core::arch::asm!("csrs sstatus, {}", in(reg) FS_CLEAN, options(nostack)) };
    let registers = running_registers();
    if !registers.is_null() {
        // SAFETY: the thread code gave the running thread's record, valid
        // while the thread runs; the unit is on.
        unsafe { fpu_load(registers) };
    }
    true
}
