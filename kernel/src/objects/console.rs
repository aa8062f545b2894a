//! `/dev/console`: the firmware console as an `IConsole` object.
//!
//! With the loader it is mutable, so a real UART driver can take the
//! object over live (`uart16550`), and give it back.

use com::{Result, Status, class};
use core::ops::Deref;

use interfaces::{IConsole, IConsoleImpl};
use private_interfaces::console::ConsoleState;

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

/// Makes console input interrupt-driven: the UART raises `source` when a
/// byte arrives, and a waiting reader sleeps until then.
#[cfg(feature = "threads")]
pub fn take_input_interrupts(source: u32) -> com::Result<()> {
    crate::interrupt_registry::attach(
        source,
        crate::interrupt_registry::SourceEvent::Static(&INPUT),
    )?;
    INPUT_SOURCE.store(source, Ordering::Release);
    Ok(())
}

/// Waits for input: asleep until the UART interrupts, or, while input is
/// polled, letting other threads run.
#[cfg(feature = "threads")]
pub extern "C" fn wait_for_input() {
    match INPUT_SOURCE.load(Ordering::Acquire) {
        0 => crate::threads::yield_now(),
        source => {
            crate::interrupt_registry::rearm(source);
            INPUT.wait();
        }
    }
}

/// Waits for input: without threads, by polling.
#[cfg(not(feature = "threads"))]
pub extern "C" fn wait_for_input() {
    core::hint::spin_loop();
}

/// The SBI firmware console: the console until a driver takes it over
/// (its state, `ConsoleState`, is published for that). Only a kernel with
/// the loader can load a driver: in the minimal kernels the class is not
/// mutable, and the object carries no mutation glue.
#[cfg_attr(feature = "loader", class(IConsole, mutable(ConsoleState)))]
#[cfg_attr(not(feature = "loader"), class(IConsole))]
#[repr(transparent)]
pub struct FirmwareConsole(pub ConsoleState);

impl Deref for FirmwareConsole {
    type Target = ConsoleState;
    fn deref(&self) -> &ConsoleState {
        &self.0
    }
}

impl IConsoleImpl for FirmwareConsole {
    fn write(&self, data: &[u8]) -> Result<usize> {
        let _whole = self.write_lock.lock();
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
            *first = loop {
                match console::try_read() {
                    Some(byte) => break byte,
                    // A driver taking over by abort may push the read out
                    // here; it is issued again on the driver.
                    None => {
                        self.gate.checkpoint()?;
                        (self.wait)();
                    }
                }
            };
        }
        Ok(1 + self.take_waiting(rest)?)
    }

    fn take_waiting(&self, buffer: &mut [u8]) -> Result<usize> {
        let mut count = 0;
        for slot in buffer {
            let Some(byte) = console::try_read() else {
                break;
            };
            *slot = byte;
            count += 1;
        }
        Ok(count)
    }
}

/// The transition back from a console driver to the firmware console
/// (registered at `private_interfaces::console::FIRMWARE_TRANSITION_PATH`).
#[cfg(feature = "loader")]
#[com::class(interfaces::ITransition)]
pub struct GiveBack;

#[cfg(feature = "loader")]
impl interfaces::ITransitionImpl for GiveBack {
    /// The state of `/dev/console` is `ConsoleState` under any driver, and
    /// stays as it is.
    fn apply(&self, object: &com::IUnknown) -> Result<()> {
        com::Takeover::<FirmwareConsole>::check(object)?.keep_state()
    }
}
