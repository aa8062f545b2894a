//! The line editor: echo, backspace, Ctrl-C, and CR/LF/CRLF line ends.

use alloc::collections::VecDeque;
use alloc::string::String;
use interfaces::IConsole;

use crate::Output;

/// Longest command line accepted; further characters are not taken.
pub const MAX_LINE: usize = 256;

const BACKSPACE: u8 = 0x08;
const DELETE: u8 = 0x7f;
/// Ends the line at the prompt; ends the foreground process (`run`).
pub const CTRL_C: u8 = 0x03;

/// Reads lines from the console, remembering a CR so that CRLF ends one line.
pub struct Editor {
    after_cr: bool,
}

impl Editor {
    /// A new editor.
    pub fn new() -> Editor {
        Editor { after_cr: false }
    }

    /// Reads one line, echoing as it goes, taking the bytes in `typeahead`
    /// first; `None` when the input has ended.
    pub fn read_line(
        &mut self,
        console: &IConsole,
        typeahead: &mut VecDeque<u8>,
        output: &mut Output,
    ) -> Option<String> {
        let mut line = String::new();
        let mut buffer = [0u8; 1];
        loop {
            if let Some(byte) = typeahead.pop_front() {
                buffer[0] = byte;
                if typeahead.is_empty() {
                    // Between commands the shell holds no memory of its
                    // own, so `mem` comes back to where it was.
                    *typeahead = VecDeque::new();
                }
            } else {
                match console.read(&mut buffer) {
                    Ok(0) | Err(_) => return None,
                    Ok(_) => {}
                }
            }
            let byte = buffer[0];
            let after_cr = core::mem::replace(&mut self.after_cr, byte == b'\r');
            match byte {
                b'\n' if after_cr => {}
                b'\r' | b'\n' => {
                    output.raw(b"\r\n");
                    return Some(line);
                }
                BACKSPACE | DELETE => erase_last(&mut line, output),
                CTRL_C => {
                    output.raw(b"^C\r\n");
                    line.clear();
                    return Some(line);
                }
                0x20..=0x7e if line.len() < MAX_LINE => {
                    line.push(char::from(byte));
                    output.raw(&buffer);
                }
                _ => {}
            }
        }
    }
}

/// Removes the last character of the line, from the buffer and the screen.
fn erase_last(line: &mut String, output: &mut Output) {
    if line.pop().is_some() {
        output.raw(b"\x08 \x08");
    }
}

impl Default for Editor {
    fn default() -> Self {
        Editor::new()
    }
}
