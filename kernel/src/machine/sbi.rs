//! Calls into the firmware (the Supervisor Binary Interface).

/// The legacy console extension's "put character" function.
const LEGACY_CONSOLE_PUTCHAR: usize = 0x01;
/// The legacy console extension's "get character" function.
const LEGACY_CONSOLE_GETCHAR: usize = 0x02;
/// The timer extension ("TIME").
const TIMER: usize = 0x5449_4d45;
/// The system reset extension ("SRST").
const SYSTEM_RESET: usize = 0x5352_5354;

/// Calls extension `eid`, function `fid`, with up to two arguments; returns
/// the firmware's `(error, value)` pair (legacy calls return only `a0`).
fn call(eid: usize, fid: usize, arg0: usize, arg1: usize) -> (isize, usize) {
    let error: isize;
    let value: usize;
    // SAFETY: `ecall` traps to the firmware, which follows the SBI calling
    // convention: it reads a0, a1, a6, a7 and writes only a0 and a1.
    unsafe {
        core::arch::asm!(
            "ecall",
            inlateout("a0") arg0 => error,
            inlateout("a1") arg1 => value,
            in("a6") fid,
            in("a7") eid,
            options(nostack),
        );
    }
    (error, value)
}

/// Writes one byte to the firmware console.
pub fn console_putchar(byte: u8) {
    call(LEGACY_CONSOLE_PUTCHAR, 0, usize::from(byte), 0);
}

/// A byte from the firmware console, if one is waiting.
pub fn console_getchar() -> Option<u8> {
    let (result, _) = call(LEGACY_CONSOLE_GETCHAR, 0, 0, 0);
    u8::try_from(result).ok()
}

/// Sets the timer interrupt's deadline (in `time` ticks).
pub fn set_timer(deadline: u64) {
    // `usize` is 64 bits on RV64, so the deadline passes whole.
    call(TIMER, 0, usize::try_from(deadline).unwrap_or(usize::MAX), 0);
}

/// Asks the firmware to shut the machine down; returns if it cannot.
pub fn shutdown() {
    // Type 0 = shutdown, reason 0 = none.
    call(SYSTEM_RESET, 0, 0, 0);
}
