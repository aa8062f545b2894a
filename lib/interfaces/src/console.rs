//! `IConsole`: the character device the shell talks through.

use com::{Gate, Result, WordLock, interface};

#[interface("0087ca69-281a-497f-ba3a-76ab61fdc2f4")]
/// A console: a byte stream out and a byte stream in.
pub trait IConsole {
    /// Writes all of `data`; returns its length.
    fn write(&self, data: &[u8]) -> Result<usize>;
    /// Waits for input and reads at least one byte into `buffer`; returns 0
    /// only when the input has ended for good.
    fn read(&self, buffer: &mut [u8]) -> Result<usize>;
}

/// The state of the console object at `/dev/console`, laid out as the
/// kernel lays it out: published so that a driver component can take the
/// object over live (`uart16550` mutates the firmware console into itself).
#[repr(C)]
#[derive(Debug)]
pub struct ConsoleState {
    /// The object's mutation gate.
    pub gate: Gate,
    /// Held while a write goes out, so that writes from many threads come
    /// out one after another, whole — under whichever driver.
    pub write_lock: WordLock,
    /// The NS16550 UART's registers, 0 when the board has none.
    pub base: usize,
    /// Sleeps until input may have arrived: the UART's receive interrupt,
    /// or a turn for other threads while input is polled.
    pub wait: extern "C" fn(),
}

/// Where the kernel registers the transition (`ITransition`) that gives
/// `/dev/console` back to the firmware console: applied through `/mutate`
/// after a driver took the console over, it lets the driver unload.
pub const FIRMWARE_TRANSITION_PATH: &str = "/sys/firmware-console";
