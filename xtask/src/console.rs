//! `cargo xtask run`'s console: the user's terminal relayed to QEMU, with
//! nothing typed ahead lost.
//!
//! The firmware resets the UART's receive FIFO while it starts, so bytes
//! that reach the emulated UART before the system is up are lost (`ls /`
//! arrived as `s /`). The relay therefore holds what the user types — or
//! pipes in — until the shell's first prompt appears, then passes all of
//! it on, in order; QEMU hands the UART a byte only when it has room. One
//! exception: Ctrl-A (QEMU's escape, as in Ctrl-A X) releases the held
//! input at once, so QEMU can always be left.
//!
//! At the first prompt, the relay prints a notice of its caller's (where
//! the status page is) and the prompt again.
//!
//! On a terminal, the relay puts it in raw mode (as `-nographic` would)
//! and restores it afterwards.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;

use anyhow::{Context, Result, anyhow};

use interfaces::program::PROMPT;

use crate::qemu;

/// QEMU's escape key.
const CTRL_A: u8 = 0x01;

/// Boots `kernel` with `devices` and the console relayed to this
/// process's terminal, printing `notice` when the shell starts; returns
/// QEMU's exit status.
pub fn run(kernel: &Path, devices: &qemu::Devices, notice: Option<String>) -> Result<ExitStatus> {
    let _raw = RawTerminal::enter();
    let mut child = qemu::interactive(kernel, devices)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", qemu::QEMU))?;
    let gate = Arc::new(Gate::default());
    let output = relay_output(&mut child, gate.clone(), notice)?;
    relay_input(&mut child, gate)?;
    let status = child.wait().context("waiting for QEMU")?;
    // What QEMU printed last may still be on its way through the relay:
    // it ends at QEMU's end of output, and nothing is cut off.
    let _ = output.join();
    Ok(status)
}

/// Opens once the system is ready for input.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    fn open(&self) {
        *self
            .open
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = true;
        self.opened.notify_all();
    }

    fn is_open(&self) -> bool {
        *self
            .open
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

/// Copies QEMU's output to ours, opening `gate` at the first prompt,
/// where it prints `notice` on a line of its own and the prompt again;
/// the thread ends when QEMU's output does.
fn relay_output(
    child: &mut Child,
    gate: Arc<Gate>,
    notice: Option<String>,
) -> Result<thread::JoinHandle<()>> {
    let mut output = child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("QEMU has no stdout"))?;
    Ok(thread::spawn(move || {
        let prompt = PROMPT.as_bytes();
        let mut seen: Vec<u8> = Vec::new();
        let mut buffer = [0u8; 4096];
        let mut terminal = std::io::stdout();
        while let Ok(count @ 1..) = output.read(&mut buffer) {
            let chunk = &buffer[..count];
            let _ = terminal.write_all(chunk).and_then(|()| terminal.flush());
            if !gate.is_open() {
                seen.extend_from_slice(chunk);
                if seen.windows(prompt.len()).any(|window| window == prompt) {
                    if let Some(notice) = &notice {
                        // Raw mode: a line ends with CR LF.
                        let text = format!("\r\nxtask: {notice}\r\n{}", PROMPT);
                        let _ = terminal
                            .write_all(text.as_bytes())
                            .and_then(|()| terminal.flush());
                    }
                    gate.open();
                    seen = Vec::new();
                }
            }
        }
        // QEMU is gone: nothing held back matters any more.
        gate.open();
    }))
}

/// Copies our input to QEMU: held until `gate` opens (or Ctrl-A is
/// typed), then all of it, in order. Closes QEMU's input at our end of file.
fn relay_input(child: &mut Child, gate: Arc<Gate>) -> Result<()> {
    let input = child
        .stdin
        .take()
        .ok_or_else(|| anyhow!("QEMU has no stdin"))?;
    let held = Arc::new(Mutex::new(Held {
        bytes: Vec::new(),
        qemu: Some(input),
        ended: false,
    }));
    let reader_held = held.clone();
    let reader_gate = gate.clone();
    thread::spawn(move || read_input(&reader_held, &reader_gate));
    thread::spawn(move || {
        let mut open = gate
            .open
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        while !*open {
            open = gate
                .opened
                .wait(open)
                .unwrap_or_else(|poison| poison.into_inner());
        }
        drop(open);
        held.lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .flush();
    });
    Ok(())
}

/// Input read but not yet passed on, and where it goes.
struct Held {
    bytes: Vec<u8>,
    qemu: Option<ChildStdin>,
    ended: bool,
}

impl Held {
    /// Passes on what is held (and closes QEMU's input if ours ended).
    fn flush(&mut self) {
        if let Some(qemu) = &mut self.qemu {
            let _ = qemu.write_all(&self.bytes).and_then(|()| qemu.flush());
        }
        self.bytes.clear();
        if self.ended {
            self.qemu = None;
        }
    }
}

fn read_input(held: &Mutex<Held>, gate: &Gate) {
    let mut buffer = [0u8; 1024];
    let mut input = std::io::stdin();
    loop {
        let count = input.read(&mut buffer).unwrap_or(0);
        let mut held = held.lock().unwrap_or_else(|poison| poison.into_inner());
        held.bytes.extend_from_slice(&buffer[..count]);
        held.ended = count == 0;
        if buffer[..count].contains(&CTRL_A) {
            gate.open();
        }
        if gate.is_open() {
            held.flush();
        }
        if count == 0 {
            return;
        }
    }
}

/// The terminal in raw mode while this lives (nothing when stdin is not a
/// terminal): keys go to the guest as typed, Ctrl-C included.
struct RawTerminal {
    saved: Option<String>,
}

impl RawTerminal {
    fn enter() -> RawTerminal {
        if !std::io::stdin().is_terminal() {
            return RawTerminal { saved: None };
        }
        let saved = stty(&["-g"]);
        if saved.is_some() {
            let _ = stty(&["raw", "-echo"]);
        }
        RawTerminal { saved }
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = stty(&[saved.trim()]);
        }
    }
}

/// Runs `stty` on our terminal; its output on success.
fn stty(arguments: &[&str]) -> Option<String> {
    let output = std::process::Command::new("stty")
        .args(arguments)
        .stdin(Stdio::inherit())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}
