//! Entering U-mode: a thread's first instruction in user mode.
//!
//! The thread leaves the kernel through `sret` with `sstatus.SPP` clear,
//! `sscratch` holding the top of its kernel stack (where its traps will
//! save their frames, `trap`), every register cleared but its stack
//! pointer, its argument and its return address, so nothing of the kernel
//! leaks into it.

/// The return address a U-mode thread starts with: an address no view
/// maps and no memory answers to (not canonical in Sv39's lower half, and
/// beyond RAM without translation), so returning from the entry function
/// traps on the fetch. The thread code takes that trap as the thread's end.
pub const RETURN_ADDRESS: u64 = 0xffff_ffff_ffff_f000;

unsafe extern "C" {
    /// Enters U-mode at `entry` with `a0 = argument` on `user_stack`;
    /// traps come back on `kernel_stack_top`.
    fn user_enter(entry: u64, argument: u64, user_stack: u64, kernel_stack_top: u64) -> !;
}

core::arch::global_asm!(
    r#"
    .section .text
    .globl user_enter
user_enter:
    csrci sstatus, 2
    csrw sscratch, a3
    csrw sepc, a0
    li t0, 0x100
    csrc sstatus, t0
    li t0, 0x20
    csrs sstatus, t0
    mv a0, a1
    mv sp, a2
    li ra, {return_address}
    li gp, 0
    li tp, 0
    li t0, 0
    li t1, 0
    li t2, 0
    li s0, 0
    li s1, 0
    li a1, 0
    li a2, 0
    li a3, 0
    li a4, 0
    li a5, 0
    li a6, 0
    li a7, 0
    li s2, 0
    li s3, 0
    li s4, 0
    li s5, 0
    li s6, 0
    li s7, 0
    li s8, 0
    li s9, 0
    li s10, 0
    li s11, 0
    li t3, 0
    li t4, 0
    li t5, 0
    li t6, 0
    sret
"#,
    return_address = const RETURN_ADDRESS,
);

/// Leaves the kernel for U-mode at `entry` with `argument` in `a0` and its
/// stack pointer at `user_stack` (16-byte aligned down); the thread's traps
/// come back on the kernel stack whose top is `kernel_stack_top`, which
/// must be the calling thread's own: returns (doing nothing) when the
/// running stack does not lie just below it. What `entry` and the stack
/// mean depends on the thread's view, which is in force already; without
/// translation U-mode code reaches physical memory as the kernel does.
pub fn enter(entry: u64, argument: u64, user_stack: u64, kernel_stack_top: u64) {
    /// How far below its top the running stack may be: a thread's kernel
    /// stack is at most this big.
    const MOST_STACK: u64 = 1 << 20;
    let sp: u64;
    // SAFETY: reading the stack pointer has no effect.
    unsafe { core::arch::asm!("mv {}, sp", out(reg) sp, options(nomem, nostack)) };
    if sp >= kernel_stack_top || kernel_stack_top - sp > MOST_STACK {
        return;
    }
    // SAFETY: the running stack lies just below `kernel_stack_top`, so it is
    // this thread's kernel stack; `user_enter` never returns, so the frames
    // on it now are dead, and the thread's traps reuse the stack from the
    // top. The trap vector is installed.
    unsafe { user_enter(entry, argument, user_stack & !15, kernel_stack_top) }
}

/// Lets U-mode read the cycle, time and instruction counters
/// (`scounteren`), as measurements of U-mode code need.
pub fn allow_counter_reads() {
    // SAFETY: the counters only tell time and work done.
    unsafe { core::arch::asm!("csrw scounteren, {}", in(reg) 7, options(nostack)) };
}

/// A nested U-mode run's record (`run`): the kernel thread's callee-saved
/// registers, return address and stack pointer at the call, kept on its
/// own kernel stack (in `run`'s frame) for [`finish`] to come back to.
/// Every trap from the run lands below `sp`.
#[repr(C)]
#[derive(Default)]
pub struct Run {
    ra: u64,
    sp: u64,
    s: [u64; 12],
    gp: u64,
    tp: u64,
}

/// What a run ends with: the status word and the value (`a0`, `a1`).
#[repr(C)]
struct Finished {
    status: u64,
    value: u64,
}

unsafe extern "C" {
    /// Saves the callee-saved registers in `run`, points `sscratch` at
    /// the running stack and enters U-mode with `registers` (`pc`, then
    /// `x1`..`x31`); "returns" only through `user_run_finish`.
    fn user_run(registers: *const u64, run: *mut Run) -> Finished;
    /// Goes back to the `user_run` call `run` recorded, returning
    /// `status` and `value` from it.
    fn user_run_finish(run: *const Run, status: u64, value: u64) -> !;
}

core::arch::global_asm!(
    r#"
    .section .text
    .globl user_run
user_run:
    sd ra, 0(a1)
    sd sp, 8(a1)
    sd s0, 16(a1)
    sd s1, 24(a1)
    sd s2, 32(a1)
    sd s3, 40(a1)
    sd s4, 48(a1)
    sd s5, 56(a1)
    sd s6, 64(a1)
    sd s7, 72(a1)
    sd s8, 80(a1)
    sd s9, 88(a1)
    sd s10, 96(a1)
    sd s11, 104(a1)
    sd gp, 112(a1)
    sd tp, 120(a1)
    csrci sstatus, 2
    csrw sscratch, sp
    ld t0, 0(a0)
    csrw sepc, t0
    li t0, 0x100
    csrc sstatus, t0
    li t0, 0x20
    csrs sstatus, t0
    ld x1, 8(a0)
    ld x2, 16(a0)
    ld x3, 24(a0)
    ld x4, 32(a0)
    ld x5, 40(a0)
    ld x6, 48(a0)
    ld x7, 56(a0)
    ld x8, 64(a0)
    ld x9, 72(a0)
    ld x11, 88(a0)
    ld x12, 96(a0)
    ld x13, 104(a0)
    ld x14, 112(a0)
    ld x15, 120(a0)
    ld x16, 128(a0)
    ld x17, 136(a0)
    ld x18, 144(a0)
    ld x19, 152(a0)
    ld x20, 160(a0)
    ld x21, 168(a0)
    ld x22, 176(a0)
    ld x23, 184(a0)
    ld x24, 192(a0)
    ld x25, 200(a0)
    ld x26, 208(a0)
    ld x27, 216(a0)
    ld x28, 224(a0)
    ld x29, 232(a0)
    ld x30, 240(a0)
    ld x31, 248(a0)
    ld x10, 80(a0)
    sret

    .globl user_run_finish
user_run_finish:
    ld ra, 0(a0)
    ld sp, 8(a0)
    ld s0, 16(a0)
    ld s1, 24(a0)
    ld s2, 32(a0)
    ld s3, 40(a0)
    ld s4, 48(a0)
    ld s5, 56(a0)
    ld s6, 64(a0)
    ld s7, 72(a0)
    ld s8, 80(a0)
    ld s9, 88(a0)
    ld s10, 96(a0)
    ld s11, 104(a0)
    ld gp, 112(a0)
    ld tp, 120(a0)
    mv a0, a1
    mv a1, a2
    ret
"#
);

/// Runs `registers` (`pc`, then `x1`..`x31`) in U-mode on the calling
/// thread, nested in its kernel code, until [`finish`] ends the run with
/// its `(status, value)`. `started` gets the run's record first (the
/// thread code keeps it, for [`finish`]). The thread's view is whatever
/// it is now; traps from the run are handled as any U-mode trap, on this
/// kernel stack below the frames of this call. Interrupts are disabled
/// when it returns (it came back from a trap).
pub fn run(registers: &[u64; 32], run: &mut Run, started: impl FnOnce(u64)) -> (u64, u64) {
    started(core::ptr::from_ref(run).expose_provenance() as u64);
    // SAFETY: `registers` holds the 32 words `user_run` loads, and `run`
    // lives in this frame until `user_run` returns, which it does only
    // through `user_run_finish` on this very record (`finish` checks that
    // the trap it is called from came from this run). Entering U-mode
    // with `sscratch` at the running stack makes the run's traps save
    // their frames below every live frame of this thread's stack. The
    // trap vector is installed.
    let finished = unsafe { user_run(registers.as_ptr(), run) };
    (finished.status, finished.value)
}

/// Ends the calling thread's run whose record is at `run` (the address
/// [`run`] handed its `started`, for the thread's innermost run) with
/// `status` and `value`, from the handling of `frame`, a trap that run
/// took in U-mode: every frame between is dropped, so the caller drops
/// what they own first (and holds no lock). Returns (doing nothing) when
/// `frame` is not such a trap: `run` must lie on this stack above the
/// frame, and the record's stack pointer must be the frame's top.
/// Interrupts are disabled (a trap is being handled).
pub fn finish(run: u64, frame: &super::trap::TrapFrame, status: u64, value: u64) {
    /// How far above a trap frame a run's record may be (a kernel stack
    /// is at most this big).
    const MOST_STACK: u64 = 1 << 20;
    let frame_top = core::ptr::from_ref(frame).addr() as u64 + super::trap::FRAME_SIZE as u64;
    let size = core::mem::size_of::<Run>() as u64;
    if !frame.came_from_user() || run < frame_top || run - frame_top > MOST_STACK - size {
        return;
    }
    let record = core::ptr::with_exposed_provenance::<Run>(usize::try_from(run).unwrap_or(0));
    // SAFETY: `record` lies within the running stack above `frame` (the
    // frame is on this thread's kernel stack, and everything up to
    // `MOST_STACK` above it is that stack's live part or the caller's
    // record), aligned as `run` gave it.
    let top = unsafe { core::ptr::read_volatile(&raw const (*record).sp) };
    if top != frame_top {
        return;
    }
    // SAFETY: `frame` is the run's own trap from U-mode (it sits right
    // under the record's stack pointer), so `record` is that `user_run`
    // call's, still live; the frames below own nothing that needs
    // dropping (the caller's part), and interrupts are disabled.
    unsafe { user_run_finish(record, status, value) }
}
