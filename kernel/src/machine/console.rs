//! The firmware console: bytes out and in through SBI calls, and the
//! kernel's own messages, printed piece by piece without `core::fmt` (the
//! minimal kernels carry no formatting machinery).

use core::fmt;

/// Writes `bytes` to the console.
pub fn write(bytes: &[u8]) {
    bytes.iter().copied().for_each(super::sbi::console_putchar);
}

/// A byte of input, if one is waiting.
pub fn try_read() -> Option<u8> {
    super::sbi::console_getchar()
}

/// Writes `text` with the `\r\n` line ends a terminal wants.
pub fn print(text: &str) {
    for &byte in text.as_bytes() {
        if byte == b'\n' {
            super::sbi::console_putchar(b'\r');
        }
        super::sbi::console_putchar(byte);
    }
}

/// A piece of a kernel message (see `kputln!`).
pub trait Piece {
    /// Prints the piece.
    fn print(&self);
}

impl Piece for &str {
    fn print(&self) {
        print(self);
    }
}

impl Piece for u64 {
    /// In decimal.
    fn print(&self) {
        print_digits(*self, 10);
    }
}

impl Piece for usize {
    /// In decimal.
    fn print(&self) {
        print_digits(*self as u64, 10);
    }
}

/// A number printed in hexadecimal, `0x…`.
pub struct Hex(pub u64);

impl Piece for Hex {
    fn print(&self) {
        write(b"0x");
        print_digits(self.0, 16);
    }
}

/// Prints `value` in base `radix`.
fn print_digits(value: u64, radix: u64) {
    write(digits(value, radix, &mut [0; MAX_DIGITS]));
}

/// The most digits a `u64` takes in base 10 or above.
pub const MAX_DIGITS: usize = 20;

/// `value` in base `radix` (10 to 16) as text, written at the end of `text`.
pub fn digits(mut value: u64, radix: u64, text: &mut [u8; MAX_DIGITS]) -> &[u8] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut start = text.len();
    for slot in text.iter_mut().rev() {
        *slot = DIGITS
            .get(usize::try_from(value % radix).unwrap_or_default())
            .copied()
            .unwrap_or(b'?');
        start -= 1;
        value /= radix;
        if value == 0 {
            break;
        }
    }
    text.get(start..).unwrap_or_default()
}

/// The console as a `fmt::Write` sink, for the full kernel's formatted
/// messages (`kprintln!`).
pub struct Writer;

impl fmt::Write for Writer {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        print(text);
        Ok(())
    }
}
