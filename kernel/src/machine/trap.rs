//! Traps: the vector that saves a full register frame, and the handler.
//!
//! The timer and device interrupts go to the handlers the scheduler and
//! the interrupt registry install. With the loader, a thread's first
//! floating-point instruction traps and loads its registers (`fpu`). An exception from
//! U-mode goes to the handler the thread code installs, which ends the
//! thread or lets the virtual-memory manager resolve a page fault. Any
//! other trap — an exception in S-mode is a kernel defect, and a thread
//! that may hold kernel locks cannot be ended safely — is reported with
//! its cause, the faulting `pc` and the faulting address, and the machine
//! powers off with `exit_code::EXCEPTION`, so a test sees the failure at
//! once instead of a silent hang.
//!
//! A trap from U-mode runs on the thread's kernel stack: while a thread
//! runs in U-mode, `sscratch` holds the top of its kernel stack, and the
//! vector swaps it in; in the kernel `sscratch` is 0 and a trap stays on
//! the stack it interrupted.

use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

use interfaces::power::exit_code;

use super::console::Hex;
#[cfg(feature = "loader")]
use super::fpu;
use super::power;

/// `sstatus.FS`: the floating-point unit's state (Off, Initial, Clean,
/// Dirty), which belongs to the running thread, not to a trap's frame.
pub const FS_MASK: usize = 3 << 13;

/// The registers of the interrupted code, as `trap_entry` saves them.
#[repr(C)]
pub struct TrapFrame {
    /// `x1`..`x31` in slots 1 to 31 (`x2` is the interrupted stack
    /// pointer); slot 0, which `x0` never needs, holds `instret` at entry.
    pub registers: [u64; 32],
    /// `sstatus` at the trap.
    pub sstatus: u64,
    /// `sepc`: where the trap happened; `sret` returns there.
    pub sepc: u64,
    /// `scause`: why.
    pub scause: u64,
    /// `stval`: the faulting address or instruction, by cause.
    pub stval: u64,
}

/// `sstatus.SPP`: the trap came from S-mode (clear: from U-mode).
const SPP: usize = 1 << 8;

impl TrapFrame {
    /// True when the trap came from U-mode.
    pub fn came_from_user(&self) -> bool {
        self.sstatus & SPP as u64 == 0
    }

    /// The exception's cause code (`scause` without the interrupt bit).
    pub fn cause(&self) -> u64 {
        self.scause & !INTERRUPT
    }
}

/// `scause`'s interrupt bit.
const INTERRUPT: u64 = 1 << 63;

/// Exception cause codes of the privileged specification.
pub mod cause {
    /// A jump to a misaligned address.
    pub const INSTRUCTION_MISALIGNED: u64 = 0;
    /// A fetch the physical memory protection refused, or from no memory.
    pub const INSTRUCTION_ACCESS_FAULT: u64 = 1;
    /// An illegal (or, with the unit off, floating-point) instruction.
    pub const ILLEGAL_INSTRUCTION: u64 = 2;
    /// An `ecall` from U-mode.
    pub const USER_ECALL: u64 = 8;
    /// A misaligned load.
    pub const LOAD_MISALIGNED: u64 = 4;
    /// A load from no memory, or one the protection refused.
    pub const LOAD_ACCESS_FAULT: u64 = 5;
    /// A misaligned store.
    pub const STORE_MISALIGNED: u64 = 6;
    /// A store to no memory, or one the protection refused.
    pub const STORE_ACCESS_FAULT: u64 = 7;
    /// A fetch the page tables do not allow.
    pub const INSTRUCTION_PAGE_FAULT: u64 = 12;
    /// A load the page tables do not allow.
    pub const LOAD_PAGE_FAULT: u64 = 13;
    /// A store the page tables do not allow.
    pub const STORE_PAGE_FAULT: u64 = 15;
}

/// Bytes of a [`TrapFrame`] on the stack.
pub const FRAME_SIZE: usize = core::mem::size_of::<TrapFrame>();
const _: () = assert!(FRAME_SIZE == 288, "trap_entry's offsets assume this layout");

core::arch::global_asm!(
    r#"
.section .text
.balign 4
.globl trap_entry
trap_entry:
    # From U-mode `sscratch` holds the thread's kernel stack top; in the
    # kernel it holds 0 and the trap stays on the stack it interrupted.
    csrrw sp, sscratch, sp
    bnez sp, 1f
    csrr sp, sscratch
1:
    addi sp, sp, -{frame}
    sd x1, 8(sp)
    sd x3, 24(sp)
    sd x4, 32(sp)
    sd x5, 40(sp)
    sd x6, 48(sp)
    sd x7, 56(sp)
    sd x8, 64(sp)
    sd x9, 72(sp)
    sd x10, 80(sp)
    sd x11, 88(sp)
    sd x12, 96(sp)
    sd x13, 104(sp)
    sd x14, 112(sp)
    sd x15, 120(sp)
    sd x16, 128(sp)
    sd x17, 136(sp)
    sd x18, 144(sp)
    sd x19, 152(sp)
    sd x20, 160(sp)
    sd x21, 168(sp)
    sd x22, 176(sp)
    sd x23, 184(sp)
    sd x24, 192(sp)
    sd x25, 200(sp)
    sd x26, 208(sp)
    sd x27, 216(sp)
    sd x28, 224(sp)
    sd x29, 232(sp)
    sd x30, 240(sp)
    sd x31, 248(sp)
    rdinstret t0
    sd t0, 0(sp)
    csrr t0, sscratch
    sd t0, 16(sp)
    csrw sscratch, zero
    csrr t0, sstatus
    sd t0, 256(sp)
    csrr t0, sepc
    sd t0, 264(sp)
    csrr t0, scause
    sd t0, 272(sp)
    csrr t0, stval
    sd t0, 280(sp)
    mv a0, sp
    call trap_handler
    # `sstatus` as the trap found it, but for its FPU state (`FS`), which
    # belongs to whichever thread runs now.
    ld t0, 256(sp)
    li t1, {fs}
    csrr t2, sstatus
    and t2, t2, t1
    not t1, t1
    and t0, t0, t1
    or t0, t0, t2
    csrw sstatus, t0
    ld t1, 264(sp)
    csrw sepc, t1
    # Back to U-mode: the next trap from there starts at this stack's top.
    andi t0, t0, {spp}
    bnez t0, 2f
    addi t0, sp, {frame}
    csrw sscratch, t0
2:
    ld x1, 8(sp)
    ld x3, 24(sp)
    ld x4, 32(sp)
    ld x5, 40(sp)
    ld x6, 48(sp)
    ld x7, 56(sp)
    ld x8, 64(sp)
    ld x9, 72(sp)
    ld x10, 80(sp)
    ld x11, 88(sp)
    ld x12, 96(sp)
    ld x13, 104(sp)
    ld x14, 112(sp)
    ld x15, 120(sp)
    ld x16, 128(sp)
    ld x17, 136(sp)
    ld x18, 144(sp)
    ld x19, 152(sp)
    ld x20, 160(sp)
    ld x21, 168(sp)
    ld x22, 176(sp)
    ld x23, 184(sp)
    ld x24, 192(sp)
    ld x25, 200(sp)
    ld x26, 208(sp)
    ld x27, 216(sp)
    ld x28, 224(sp)
    ld x29, 232(sp)
    ld x30, 240(sp)
    ld x31, 248(sp)
    ld sp, 16(sp)
    sret
"#,
    frame = const FRAME_SIZE,
    fs = const FS_MASK,
    spp = const SPP,
);

/// The name of exception cause `code` (of the privileged specification).
pub fn exception_name(code: u64) -> &'static str {
    // The names of causes 0 to 15 packed into one text (an empty name for
    // the codes the specification leaves unused), and where each ends: a
    // table of string slices would take 16 bytes a name.
    macro_rules! packed {
        ($($name:literal),* $(,)?) => {
            (concat!($($name),*), com::text_ends(&[$($name),*]))
        };
    }
    const NAMES: (&str, [u16; 16]) = packed!(
        "instruction address misaligned",
        "instruction access fault",
        "illegal instruction",
        "breakpoint",
        "load address misaligned",
        "load access fault",
        "store address misaligned",
        "store access fault",
        "environment call from U-mode",
        "environment call from S-mode",
        "",
        "",
        "instruction page fault",
        "load page fault",
        "",
        "store page fault",
    );
    const TEXT: &str = NAMES.0;
    const ENDS: [u16; 16] = NAMES.1;
    let index = usize::try_from(code).unwrap_or(usize::MAX);
    com::packed_text(TEXT, &ENDS, index)
        .filter(|name| !name.is_empty())
        .unwrap_or("unknown exception")
}

/// The supervisor timer interrupt's cause code.
const TIMER_INTERRUPT: u64 = 5;
/// The supervisor external interrupt's cause code (the PLIC).
const EXTERNAL_INTERRUPT: u64 = 9;

/// What runs when the timer fires (installed by the scheduler).
static TIMER_HANDLER: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());
/// What runs when a device interrupts (installed by the interrupt registry).
static EXTERNAL_HANDLER: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());

/// Installs `handler` for the timer interrupt. It runs with interrupts
/// disabled, on the interrupted thread's stack, and may switch threads.
pub fn set_timer_handler(handler: fn()) {
    TIMER_HANDLER.store(handler as *mut (), Ordering::Release);
}

/// Installs `handler` for device interrupts, under the same rules.
pub fn set_external_handler(handler: fn()) {
    EXTERNAL_HANDLER.store(handler as *mut (), Ordering::Release);
}

/// What runs on an exception from U-mode (installed by the thread code).
#[cfg(feature = "loader")]
static USER_EXCEPTION_HANDLER: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());

/// Installs `handler` for exceptions from U-mode. It runs with interrupts
/// disabled on the thread's kernel stack, with the thread's registers in
/// the frame; it returns to resume the thread (at `sepc`, which it may
/// change) or never returns (it ended the thread).
#[cfg(feature = "loader")]
pub fn set_user_exception_handler(handler: fn(&mut TrapFrame)) {
    USER_EXCEPTION_HANDLER.store(handler as *mut (), Ordering::Release);
}

/// What runs after an interrupt taken in U-mode (installed by the thread
/// code, which ends a killed thread there).
#[cfg(feature = "loader")]
static USER_INTERRUPT_HANDLER: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());

/// Installs `handler` to run after each interrupt taken in U-mode, under
/// the same rules as the exception handler.
#[cfg(feature = "loader")]
pub fn set_user_interrupt_handler(handler: fn(&mut TrapFrame)) {
    USER_INTERRUPT_HANDLER.store(handler as *mut (), Ordering::Release);
}

/// Runs the U-mode handler in `slot` on `frame`; false if none is installed.
#[cfg(feature = "loader")]
fn run_user_handler(slot: &AtomicPtr<()>, frame: &mut TrapFrame) -> bool {
    let handler = slot.load(Ordering::Acquire);
    if handler.is_null() {
        return false;
    }
    // SAFETY: only `set_user_exception_handler` and
    // `set_user_interrupt_handler` store in these slots, and they store
    // `fn(&mut TrapFrame)`s.
    let handler: fn(&mut TrapFrame) =
        unsafe { core::mem::transmute::<*mut (), fn(&mut TrapFrame)>(handler) };
    handler(frame);
    true
}

/// Runs the handler stored in `slot`; false if none is installed.
fn run_handler(slot: &AtomicPtr<()>) -> bool {
    let handler = slot.load(Ordering::Acquire);
    if handler.is_null() {
        return false;
    }
    // SAFETY: only the setters above store here, and they store `fn()`s.
    let handler: fn() = unsafe { core::mem::transmute::<*mut (), fn()>(handler) };
    handler();
    true
}

/// `instret` when the last interrupt was entered, for measurements.
static ENTERED_AT: AtomicU64 = AtomicU64::new(0);

/// The instruction count at which the last interrupt entered the kernel.
pub fn last_interrupt_entry() -> u64 {
    ENTERED_AT.load(Ordering::Relaxed)
}

/// Called by `trap_entry` with the saved frame.
#[unsafe(no_mangle)]
extern "C" fn trap_handler(frame: &mut TrapFrame) {
    let code = frame.cause();
    if frame.scause & INTERRUPT == 0 {
        #[cfg(feature = "loader")]
        if code == cause::ILLEGAL_INSTRUCTION && fpu::load_on_first_use() {
            return;
        }
        #[cfg(feature = "loader")]
        if frame.came_from_user() && run_user_handler(&USER_EXCEPTION_HANDLER, frame) {
            return;
        }
    } else {
        ENTERED_AT.store(frame.registers[0], Ordering::Relaxed);
        let slot = match code {
            TIMER_INTERRUPT => Some(&TIMER_HANDLER),
            EXTERNAL_INTERRUPT => Some(&EXTERNAL_HANDLER),
            _ => None,
        };
        if slot.is_some_and(run_handler) {
            #[cfg(feature = "loader")]
            if frame.came_from_user() {
                run_user_handler(&USER_INTERRUPT_HANDLER, frame);
            }
            return;
        }
    }
    let kind = if frame.scause & INTERRUPT != 0 {
        "unexpected interrupt"
    } else {
        exception_name(code)
    };
    kputln!(
        "\nexception: ",
        kind,
        " (scause=",
        Hex(frame.scause),
        ") at pc=",
        Hex(frame.sepc),
        " stval=",
        Hex(frame.stval)
    );
    power::off(exit_code::EXCEPTION);
}
