//! `IConsole`: the character device the shell talks through.

use com::{Result, interface};

#[interface("0087ca69-281a-497f-ba3a-76ab61fdc2f4")]
/// A console: a byte stream out and a byte stream in.
pub trait IConsole {
    /// Writes all of `data`; returns its length.
    fn write(&self, data: &[u8]) -> Result<usize>;
    /// Waits for input and reads at least one byte into `buffer`; returns 0
    /// only when the input has ended for good.
    fn read(&self, buffer: &mut [u8]) -> Result<usize>;
}
