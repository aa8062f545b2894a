//! Formatted output to the console, with the line endings a terminal wants.

use com::ComPtr;
use core::fmt;
use interfaces::IConsole;

/// Text output to an `IConsole`: `\n` becomes `\r\n`.
pub struct Output {
    console: ComPtr<IConsole>,
}

impl Output {
    /// Output to `console`.
    pub fn new(console: ComPtr<IConsole>) -> Output {
        Output { console }
    }

    /// Writes `text` as it is (after line-ending translation).
    pub fn print(&mut self, text: &str) {
        // A console that fails to write has nowhere to report it.
        let _ = fmt::Write::write_str(self, text);
    }

    /// The console written to (and read by the line editor).
    pub fn console(&self) -> &IConsole {
        &self.console
    }

    /// Writes raw bytes, for echo and line editing.
    pub fn raw(&mut self, bytes: &[u8]) {
        // As above: no better place to report a failing console.
        let _ = self.console.write(bytes);
    }
}

impl fmt::Write for Output {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut lines = text.split('\n');
        if let Some(first) = lines.next() {
            self.console
                .write(first.as_bytes())
                .map_err(|_| fmt::Error)?;
        }
        for line in lines {
            self.console.write(b"\r\n").map_err(|_| fmt::Error)?;
            self.console
                .write(line.as_bytes())
                .map_err(|_| fmt::Error)?;
        }
        Ok(())
    }
}
