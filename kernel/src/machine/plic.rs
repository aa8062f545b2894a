//! The platform-level interrupt controller: routes device interrupts to
//! this hart's supervisor mode, one source at a time.

use core::sync::atomic::{AtomicUsize, Ordering};

/// The PLIC's registers (0 until the device tree names them).
static BASE: AtomicUsize = AtomicUsize::new(0);
/// The context (hart 0, S-mode) whose enables and claims we use.
static CONTEXT: AtomicUsize = AtomicUsize::new(0);
/// The highest source number the registers hold.
pub const MAX_SOURCE: u32 = 1023;

/// `sie.SEIE`: supervisor external interrupts are taken.
const EXTERNAL: usize = 1 << 9;

/// Records where the PLIC is, accepts every priority above 0, and lets
/// external interrupts through to this hart.
pub fn init(base: usize, context: usize) {
    BASE.store(base, Ordering::Relaxed);
    CONTEXT.store(context, Ordering::Relaxed);
    write(0x20_0000 + 0x1000 * context, 0);
    // SAFETY: enabling external interrupts; the trap handler dispatches them.
    unsafe { core::arch::asm!("csrs sie, {}", in(reg) EXTERNAL, options(nostack)) };
}

/// Lets `source` interrupt this hart (priority 1) or stops it.
///
/// The enable bit is written before the priority: QEMU's PLIC looks at
/// what is pending again when a priority is written but not when an
/// enable is, so a source that became pending while it was masked (a
/// device that answered before its driver waited) interrupts only if
/// the priority comes last.
pub fn set_enabled(source: u32, enabled: bool) {
    if source == 0 || source > MAX_SOURCE {
        return;
    }
    let word = 0x2000 + 0x80 * CONTEXT.load(Ordering::Relaxed) + 4 * (source as usize / 32);
    let bit = 1 << (source % 32);
    let current = read(word);
    write(
        word,
        if enabled {
            current | bit
        } else {
            current & !bit
        },
    );
    write(4 * source as usize, u32::from(enabled));
}

/// The highest-priority pending source (0: none), now marked in service.
pub fn claim() -> u32 {
    read(0x20_0004 + 0x1000 * CONTEXT.load(Ordering::Relaxed))
}

/// Ends the service of `source`, so it can interrupt again.
pub fn complete(source: u32) {
    write(0x20_0004 + 0x1000 * CONTEXT.load(Ordering::Relaxed), source);
}

fn read(offset: usize) -> u32 {
    let base = BASE.load(Ordering::Relaxed);
    if base == 0 {
        return 0;
    }
    // SAFETY: the device tree names `base` as the PLIC, whose registers
    // cover these offsets for the sources and contexts we use.
    unsafe { ((base + offset) as *const u32).read_volatile() }
}

fn write(offset: usize, value: u32) {
    let base = BASE.load(Ordering::Relaxed);
    if base == 0 {
        return;
    }
    // SAFETY: as in `read`.
    unsafe { ((base + offset) as *mut u32).write_volatile(value) };
}
