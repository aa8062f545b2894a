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
