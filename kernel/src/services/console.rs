//! `/dev/console`: the firmware console as an `IConsole` object.
//!
//! It stays behind the interface so a real UART driver can replace it live.

use com::{Result, Status, class};
use interfaces::{IConsole, IConsoleImpl};

#[cfg(feature = "threads")]
use core::sync::atomic::{AtomicU32, Ordering};

use crate::machine::console;
#[cfg(feature = "threads")]
use crate::threads::Event;

/// Raised by the UART's interrupt when input arrives.
#[cfg(feature = "threads")]
static INPUT: Event = Event::new();
/// The UART's interrupt source, once input is interrupt-driven (0: polled).
#[cfg(feature = "threads")]
static INPUT_SOURCE: AtomicU32 = AtomicU32::new(0);

/// Deferred work for when the console waits: unloading idle modules.
pub fn on_idle() {
    #[cfg(feature = "loader")]
    crate::modules::collect_idle();
}

/// Makes console input interrupt-driven: the UART raises `source` when a
/// byte arrives, and a waiting reader sleeps until then.
#[cfg(feature = "threads")]
pub fn take_input_interrupts(source: u32) -> com::Result<()> {
    crate::irq::attach(source, crate::irq::SourceEvent::Static(&INPUT))?;
    INPUT_SOURCE.store(source, Ordering::Release);
    Ok(())
}

/// Waits for input: asleep until the UART interrupts, or, while input is
/// polled, letting other threads run.
#[cfg(feature = "threads")]
pub fn wait_for_input() {
    match INPUT_SOURCE.load(Ordering::Acquire) {
        0 => crate::threads::yield_now(),
        source => {
            crate::irq::rearm(source);
            INPUT.wait();
        }
    }
}

/// Waits for input: without threads, by polling.
#[cfg(not(feature = "threads"))]
pub fn wait_for_input() {
    core::hint::spin_loop();
}

/// The SBI firmware console.
#[class(IConsole)]
pub struct FirmwareConsole {
    /// Deferred work to run when a read has to wait: the system is idle.
    pub idle: fn(),
    /// What the reader does between polls: lets other threads run.
    pub wait: fn(),
}

impl IConsoleImpl for FirmwareConsole {
    fn write(&self, data: &[u8]) -> Result<usize> {
        console::write(data);
        Ok(data.len())
    }

    /// Polls until a byte arrives, then takes whatever else is waiting.
    /// The firmware console never ends, so this never returns 0.
    fn read(&self, buffer: &mut [u8]) -> Result<usize> {
        let Some((first, rest)) = buffer.split_first_mut() else {
            return Err(Status::BUFFER_TOO_SMALL);
        };
        if let Some(byte) = console::try_read() {
            *first = byte;
        } else {
            (self.idle)();
            *first = loop {
                match console::try_read() {
                    Some(byte) => break byte,
                    None => (self.wait)(),
                }
            };
        }
        let mut count = 1;
        for slot in rest {
            let Some(byte) = console::try_read() else {
                break;
            };
            *slot = byte;
            count += 1;
        }
        Ok(count)
    }
}
