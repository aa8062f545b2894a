//! The NS16550 UART driver: takes the firmware console at `/dev/console` over live and drives the UART itself.
//!
//! The seed's BIOS-driver example. The system boots with the firmware
//! console, which asks the firmware (SBI) for every byte. Binding
//! `/uart16550` runs this driver's constructor, which has `/mutate` turn
//! that very object into the driver while the shell and other threads keep
//! using it: the object keeps its address, its name and its references;
//! its vtables become the driver's, which read and write the UART's
//! registers and sleep on its receive interrupt. The console's state —
//! the registers' address, the kernel's wait and idle hooks — is published
//! by the kernel (`ConsoleState`) and carried over as it is.
//!
//! Depends on `com`, `interfaces`, `private-interfaces` (the console's state
//! layout) and `/mutate`; the console it takes over
//! is the kernel's.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

use core::ops::Deref;

use com::{ComObject, ComPtr, IUnknown, Result, Status, Takeover, class};
use interfaces::mutate::flags;
use interfaces::{IConsole, IConsoleImpl, IMutate, ITransition, ITransitionImpl};
use private_interfaces::console::ConsoleState;

/// How long the takeover may wait for calls to leave the console.
const TAKEOVER_TIMEOUT_US: u64 = 1_000_000;

/// Receive buffer (read) and transmit holding (write) register.
const DATA: usize = 0;
/// Line status register.
const LINE_STATUS: usize = 5;
/// Line status: a received byte is waiting.
const DATA_READY: u8 = 1 << 0;
/// Line status: the transmitter takes another byte.
const TRANSMIT_EMPTY: u8 = 1 << 5;

/// The console, driven by this driver.
#[class(IConsole, mutable(ConsoleState))]
#[repr(transparent)]
struct Uart(ConsoleState);

impl Deref for Uart {
    type Target = ConsoleState;
    fn deref(&self) -> &ConsoleState {
        &self.0
    }
}

impl Uart {
    /// Reading the data register takes the waiting byte.
    fn try_read(&self) -> Option<u8> {
        let registers = self.uart?;
        (registers.read(LINE_STATUS) & DATA_READY != 0).then(|| registers.read(DATA))
    }

    /// Writes `byte` once the transmitter takes it (the takeover made sure
    /// there is a UART).
    fn put(&self, byte: u8) {
        let Some(registers) = self.uart else { return };
        while registers.read(LINE_STATUS) & TRANSMIT_EMPTY == 0 {
            core::hint::spin_loop();
        }
        registers.write(DATA, byte);
    }
}

impl IConsoleImpl for Uart {
    fn write(&self, data: &[u8]) -> Result<usize> {
        let _whole = self.write_lock.lock();
        data.iter().for_each(|&byte| self.put(byte));
        Ok(data.len())
    }

    /// Takes what is waiting; with nothing waiting, sleeps on the receive
    /// interrupt (through the kernel's wait hook) until a byte arrives.
    fn read(&self, buffer: &mut [u8]) -> Result<usize> {
        let Some((first, rest)) = buffer.split_first_mut() else {
            return Err(Status::BUFFER_TOO_SMALL);
        };
        *first = match self.try_read() {
            Some(byte) => byte,
            None => loop {
                if let Some(byte) = self.try_read() {
                    break byte;
                }
                self.gate.checkpoint()?;
                (self.wait)();
            },
        };
        Ok(1 + self.take_waiting(rest)?)
    }

    fn take_waiting(&self, buffer: &mut [u8]) -> Result<usize> {
        let mut count = 0;
        for slot in buffer {
            let Some(byte) = self.try_read() else { break };
            *slot = byte;
            count += 1;
        }
        Ok(count)
    }
}

/// The transition from the firmware console to this driver.
#[class(ITransition)]
struct TakeOver;

impl ITransitionImpl for TakeOver {
    fn apply(&self, object: &IUnknown) -> Result<()> {
        let takeover = Takeover::<Uart>::check(object)?;
        if takeover.state::<ConsoleState>()?.uart.is_none() {
            return Err(Status::NOT_SUPPORTED);
        }
        takeover.keep_state()
    }
}

fn construct() -> Result<ComPtr<IUnknown>> {
    let namespace = component::namespace()?;
    let console = namespace.bind("/dev/console", 0)?;
    let mutate = namespace
        .bind(interfaces::mutate::PATH, 0)?
        .query::<IMutate>()?;
    let transition = ComObject::create::<ITransition>(TakeOver);
    mutate.mutate_object(&console, &transition, flags::BY_ABORT, TAKEOVER_TIMEOUT_US)?;
    Ok(console)
}

component::component!(construct);
