//! The firmware console: bytes out and in through SBI calls.

use core::fmt;

/// Writes `bytes` to the console.
pub fn write(bytes: &[u8]) {
    bytes.iter().copied().for_each(super::sbi::console_putchar);
}

/// A byte of input, if one is waiting.
pub fn try_read() -> Option<u8> {
    super::sbi::console_getchar()
}

/// The console as a `fmt::Write` sink, for the kernel's own messages.
pub struct Writer;

impl fmt::Write for Writer {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for line in text.split_inclusive('\n') {
            match line.strip_suffix('\n') {
                Some(body) => {
                    write(body.as_bytes());
                    write(b"\r\n");
                }
                None => write(line.as_bytes()),
            }
        }
        Ok(())
    }
}
