//! Switching between threads: the registers a thread keeps across a
//! switch, and the switch itself.
//!
//! A switch happens inside a function call (`switch`), so only the
//! callee-saved registers need saving; everything else the caller already
//! saved, and a thread interrupted by the timer has its full register frame
//! on its own stack, under the trap handler that called `switch`.
//!
//! With the loader, the floating-point registers go with the thread too,
//! lazily (`fpu`), and so does its view of memory (`mmu`). Without it,
//! only kernel code runs, which uses no floating point and leaves the unit
//! off (`entry`), and no virtual-memory manager can give a thread a view:
//! a switch is the callee-saved registers alone.

#[cfg(feature = "loader")]
use super::fpu::{self, FpRegisters};
#[cfg(feature = "loader")]
use super::mmu::{self, View};

/// The callee-saved registers of a thread that is not running, then
/// (after the fields `switch_context` reaches) its view and its
/// floating-point registers.
#[repr(C)]
#[derive(Debug, Default)]
pub struct Context {
    ra: usize,
    sp: usize,
    s: [usize; 12],
    /// The translation the thread runs in; a switch writes `satp` only
    /// when the next thread's differs.
    #[cfg(feature = "loader")]
    pub view: View,
    #[cfg(feature = "loader")]
    fp: FpRegisters,
}

impl Context {
    /// A context that, when switched to, calls `start(argument)` on the
    /// stack whose top is `stack_top`.
    pub fn new(stack_top: usize, start: extern "C" fn(usize) -> !, argument: usize) -> Context {
        let mut s = [0; 12];
        s[0] = start as *const () as usize;
        s[1] = argument;
        // The ABI wants the stack pointer 16-byte aligned.
        Context {
            ra: thread_entry as *const () as usize,
            sp: stack_top & !15,
            s,
            #[cfg(feature = "loader")]
            view: View::BARE,
            #[cfg(feature = "loader")]
            fp: FpRegisters::default(),
        }
    }
}

unsafe extern "C" {
    /// Saves the running thread's registers into `from` and resumes `to`.
    fn switch_context(from: *mut Context, to: *const Context);
    /// Where a new thread begins: calls `s0(s1)`.
    fn thread_entry();
}

core::arch::global_asm!(
    r#"
    .section .text
    .globl switch_context
switch_context:
    sd ra, 0(a0)
    sd sp, 8(a0)
    sd s0, 16(a0)
    sd s1, 24(a0)
    sd s2, 32(a0)
    sd s3, 40(a0)
    sd s4, 48(a0)
    sd s5, 56(a0)
    sd s6, 64(a0)
    sd s7, 72(a0)
    sd s8, 80(a0)
    sd s9, 88(a0)
    sd s10, 96(a0)
    sd s11, 104(a0)
    ld ra, 0(a1)
    ld sp, 8(a1)
    ld s0, 16(a1)
    ld s1, 24(a1)
    ld s2, 32(a1)
    ld s3, 40(a1)
    ld s4, 48(a1)
    ld s5, 56(a1)
    ld s6, 64(a1)
    ld s7, 72(a1)
    ld s8, 80(a1)
    ld s9, 88(a1)
    ld s10, 96(a1)
    ld s11, 104(a1)
    ret

    .globl thread_entry
thread_entry:
    mv a0, s1
    jr s0
"#
);

#[cfg(feature = "loader")]
impl Context {
    /// Where its floating-point registers are kept.
    pub fn fp_registers(&mut self) -> *mut FpRegisters {
        &raw mut self.fp
    }
}

/// Saves the running thread's registers in `from` and resumes the thread
/// whose registers are in `to`; returns when something switches back.
///
/// # Safety
/// Interrupts are disabled; `from` is the running thread's; `from` and `to`
/// stay valid until the switch back; `to` was filled by `Context::new` or
/// by an earlier `switch`.
pub unsafe fn switch(from: *mut Context, to: *const Context) {
    #[cfg(feature = "loader")]
    {
        // SAFETY: forwarded from the caller; only the `fp` field is reached.
        unsafe { fpu::switch(&raw mut (*from).fp) };
        // SAFETY: both contexts are valid (the caller's contract).
        let (old_view, view) = unsafe { ((*from).view, (*to).view) };
        if view != old_view {
            // SAFETY: forwarded from the caller.
            unsafe { switch_across_views(from, to) };
            return;
        }
    }
    // SAFETY: forwarded from the caller.
    unsafe { switch_context(from, to) };
}

/// [`switch`] between threads of different views: out of line, and
/// ending in the switch itself, so that the view-switch hook's call costs
/// a switch within one view no registers to keep across it.
///
/// # Safety
/// As for [`switch`].
#[cfg(feature = "loader")]
#[inline(never)]
unsafe fn switch_across_views(from: *mut Context, to: *const Context) {
    // SAFETY: both contexts are valid (the caller's contract).
    let (old_view, view) = unsafe { ((*from).view, (*to).view) };
    mmu::switch_view(old_view, view);
    // SAFETY: forwarded from the caller.
    unsafe { switch_context(from, to) };
}
