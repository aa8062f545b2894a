//! The firmware console's state layout, shared by the kernel's `/dev/console`
//! object and the `uart16550` driver that takes it over live.

use com::{Gate, Registers, WordLock, published_state};

/// The state of the console object at `/dev/console`, laid out as the
/// kernel lays it out: published so that a driver component can take the
/// object over live (`uart16550` mutates the firmware console into itself).
#[published_state("c2e94b0d-7a15-4e3c-b86f-05d1a9e7c342")]
#[repr(C)]
#[derive(Debug)]
pub struct ConsoleState {
    /// The object's mutation gate.
    pub gate: Gate,
    /// Held while a write goes out, so that writes from many threads come
    /// out one after another, whole — under whichever driver.
    pub write_lock: WordLock,
    /// The NS16550 UART's registers, when the board has one.
    pub uart: Option<Registers>,
    /// Sleeps until input may have arrived: the UART's receive interrupt,
    /// or a turn for other threads while input is polled.
    pub wait: extern "C" fn(),
}

/// Where the kernel registers the transition (`ITransition`) that gives
/// `/dev/console` back to the firmware console: applied through `/mutate`
/// after a driver took the console over, it lets the driver unload.
pub const FIRMWARE_TRANSITION_PATH: &str = "/sys/firmware-console";
