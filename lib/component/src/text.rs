//! Text built into a caller's buffer without `core::fmt`, which would be
//! most of a small component's code.

use com::{Result, copy_text};

/// Appends text and numbers to a byte buffer.
pub struct Text<'a> {
    buffer: &'a mut [u8],
    length: usize,
}

impl<'a> Text<'a> {
    /// An empty text over `buffer`.
    pub fn new(buffer: &'a mut [u8]) -> Text<'a> {
        Text { buffer, length: 0 }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.length
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Appends `text`; `BUFFER_TOO_SMALL` when it does not fit.
    pub fn push(&mut self, text: &str) -> Result<&mut Self> {
        self.push_bytes(text.as_bytes())
    }

    /// Appends `value` in decimal.
    pub fn decimal(&mut self, value: u64) -> Result<&mut Self> {
        self.digits(value, 10)
    }

    /// Appends `value` in hexadecimal with a `0x` prefix.
    pub fn hex(&mut self, value: u64) -> Result<&mut Self> {
        self.push("0x")?.digits(value, 16)
    }

    /// Appends `value` in base `radix` (at most 16). Written without
    /// indexing that could panic, so no panic machinery is linked in.
    fn digits(&mut self, mut value: u64, radix: u64) -> Result<&mut Self> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut digits = [0u8; 20];
        let mut used = 0;
        for slot in digits.iter_mut().rev() {
            let digit = usize::try_from(value % radix)
                .ok()
                .and_then(|digit| DIGITS.get(digit));
            *slot = digit.copied().unwrap_or(b'?');
            used += 1;
            value /= radix;
            if value == 0 {
                break;
            }
        }
        self.push_bytes(digits.get(digits.len() - used..).unwrap_or_default())
    }

    fn push_bytes(&mut self, bytes: &[u8]) -> Result<&mut Self> {
        let rest = self.buffer.get_mut(self.length..).unwrap_or_default();
        self.length += copy_text(bytes, rest)?;
        Ok(self)
    }
}
