//! The NS16550A UART, only as far as the kernel needs it beside the
//! firmware console: asking it to interrupt when a byte arrives.

/// How many registers the NS16550A has.
const REGISTER_COUNT: usize = 8;
/// Interrupt-enable register offset, and its "received data" bit.
const IER: usize = 1;
const RECEIVED_DATA: u8 = 1;

/// The registers of the NS16550A at `base`, as the console object hands
/// them to the driver component that takes the console over.
pub fn registers(base: usize) -> com::Registers {
    // SAFETY: the device tree names `base` as an NS16550A: its eight
    // byte-wide registers, identity-mapped, where no Rust memory lies.
    unsafe { com::Registers::new(base, REGISTER_COUNT) }
}

/// Makes the UART at `base` raise its interrupt whenever received data waits.
pub fn enable_receive_interrupt(base: usize) {
    // SAFETY: the device tree names `base` as an NS16550A, whose IER is at
    // offset 1; setting its lowest bit only enables the receive interrupt.
    unsafe { ((base + IER) as *mut u8).write_volatile(RECEIVED_DATA) };
}
