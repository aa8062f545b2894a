//! `IConsole`: the character device the shell talks through.

use com::{Result, Status, interface};

#[interface("0087ca69-281a-497f-ba3a-76ab61fdc2f4")]
/// A console: a byte stream out and a byte stream in.
pub trait IConsole {
    /// Writes all of `data`; returns its length.
    fn write(&self, data: &[u8]) -> Result<usize>;
    /// Waits for input and reads at least one byte into `buffer`; returns 0
    /// only when the input has ended for good.
    fn read(&self, buffer: &mut [u8]) -> Result<usize>;
    /// Takes the input already waiting into `buffer`, without waiting for
    /// more; returns how many bytes (0: none is waiting). The shell polls
    /// this while a foreground process runs, to see Ctrl-C and keep what
    /// else was typed. `NOT_SUPPORTED` by a console that cannot (the
    /// default).
    fn take_waiting(&self, buffer: &mut [u8]) -> Result<usize> {
        Err(Status::NOT_SUPPORTED)
    }
}
