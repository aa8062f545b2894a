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
use component::Registers;
use interfaces::mutate::flags;
use interfaces::{IConsole, IConsoleImpl, IMutate, ITransition, ITransitionImpl};
use private_interfaces::console::ConsoleState;

/// How long the takeover may wait for calls to leave the console.
const TAKEOVER_TIMEOUT_US: u64 = 1_000_000;

/// Receive buffer (read) and transmit holding (write) register.
const DATA: usize = 0;
/// Line status register.
const LINE_STATUS: usize = 5;
/// How many registers the NS16550 has.
const REGISTER_COUNT: usize = 8;
/// Line status: a received byte is waiting.
const DATA_READY: u8 = 1 << 0;
/// Line status: the transmitter takes another byte.
const TRANSMIT_EMPTY: u8 = 1 << 5;

/// The console, driven by this driver.
#[class(IConsole, mutable)]
#[repr(transparent)]
struct Uart(ConsoleState);

impl Deref for Uart {
    type Target = ConsoleState;
    fn deref(&self) -> &ConsoleState {
        &self.0
    }
}

impl Uart {
    #[allow(unsafe_code, reason = "naming the device's registers")]
    fn registers(&self) -> Registers {
        // SAFETY: `base` is the NS16550 the kernel found in the device tree
        // (checked non-zero before the takeover), mapped for every module.
        unsafe { Registers::new(self.base, REGISTER_COUNT) }
    }

    fn line_status(&self) -> u8 {
        self.registers().read(LINE_STATUS)
    }

    /// Reading the data register takes the waiting byte.
    fn try_read(&self) -> Option<u8> {
        (self.line_status() & DATA_READY != 0).then(|| self.registers().read(DATA))
    }

    fn put(&self, byte: u8) {
        while self.line_status() & TRANSMIT_EMPTY == 0 {
            core::hint::spin_loop();
        }
        self.registers().write(DATA, byte);
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
        let mut count = 1;
        for slot in rest {
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
    #[allow(unsafe_code, reason = "a transition takes the kernel's console over")]
    fn apply(&self, object: &IUnknown) -> Result<()> {
        // SAFETY: `/mutate` runs this transition holding the console's
        // gate; a console laid out as `Uart` is the kernel's, whose state is
        // `ConsoleState` — `Uart`'s already.
        let takeover = unsafe { Takeover::<Uart>::check(object) }?;
        // SAFETY: as above; the state stays as it is.
        if unsafe { &*takeover.state() }.base == 0 {
            return Err(Status::NOT_SUPPORTED);
        }
        takeover.finish()
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
