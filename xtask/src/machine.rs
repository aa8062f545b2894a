//! A Tessera machine under test: QEMU driven through its serial console.
//!
//! Two threads copy QEMU's stdout and stderr into a channel; the test side
//! keeps everything in one log and searches it from a cursor, so each step
//! waits for exactly the output that follows the previous one.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use crate::qemu::{self, Devices};

/// How long a boot may take to reach the prompt.
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one command may take to bring the prompt back.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `selftest` may take (its thousand-cycle checks run thousands
/// of spaces and processes; with every QEMU test running at once on a
/// few cores, more than a step's time).
pub const SELFTEST_TIMEOUT: Duration = Duration::from_secs(120);

/// A running QEMU and everything its console has printed.
pub struct Machine {
    qemu: Child,
    stdin: ChildStdin,
    output: Receiver<Vec<u8>>,
    log: Vec<u8>,
    /// Where the next `expect` starts searching the log.
    cursor: usize,
}

impl Machine {
    /// Starts QEMU on `kernel` with `devices`, without waiting for anything.
    fn start(kernel: &Path, devices: &Devices) -> Result<Machine> {
        let mut qemu = qemu::headless(kernel, devices)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", qemu::QEMU))?;
        let (sender, output) = channel();
        let stdout = qemu
            .stdout
            .take()
            .ok_or_else(|| anyhow!("QEMU has no stdout"))?;
        let stderr = qemu
            .stderr
            .take()
            .ok_or_else(|| anyhow!("QEMU has no stderr"))?;
        forward(stdout, sender.clone());
        forward(stderr, sender);
        let stdin = qemu
            .stdin
            .take()
            .ok_or_else(|| anyhow!("QEMU has no stdin"))?;
        Ok(Machine {
            qemu,
            stdin,
            output,
            log: Vec::new(),
            cursor: 0,
        })
    }

    /// Starts QEMU and waits for the shell's first prompt; returns what the
    /// boot printed.
    pub fn boot(kernel: &Path) -> Result<(Machine, String)> {
        Machine::boot_with(kernel, &Devices::default())
    }

    /// As [`Machine::boot`], with `devices`.
    pub fn boot_with(kernel: &Path, devices: &Devices) -> Result<(Machine, String)> {
        Machine::boot_within(kernel, devices, BOOT_TIMEOUT)
    }

    /// As [`Machine::boot_with`], for a boot that may take up to `timeout`
    /// (QEMU logging every block it runs is many times slower).
    pub fn boot_within(
        kernel: &Path,
        devices: &Devices,
        timeout: Duration,
    ) -> Result<(Machine, String)> {
        let mut machine = Machine::start(kernel, devices)?;
        let banner = machine
            .expect(interfaces::program::PROMPT, timeout)
            .context("booting to the prompt")?;
        Ok((machine, banner))
    }

    /// Waits until `needle` appears after the cursor; returns the text
    /// before it and moves the cursor past it.
    pub fn expect(&mut self, needle: &str, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(found) = find(&self.log[self.cursor..], needle.as_bytes()) {
                let text = String::from_utf8_lossy(&self.log[self.cursor..self.cursor + found])
                    .into_owned();
                self.cursor += found + needle.len();
                return Ok(text);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(chunk) => self.log.extend_from_slice(&chunk),
                Err(RecvTimeoutError::Timeout) => {
                    bail!("timed out after {timeout:?} waiting for {needle:?}")
                }
                Err(RecvTimeoutError::Disconnected) => {
                    bail!("QEMU exited while waiting for {needle:?}")
                }
            }
        }
    }

    /// Types `bytes` on the console.
    pub fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.stdin
            .write_all(bytes)
            .and_then(|()| self.stdin.flush())
            .context("writing to the console")
    }

    /// Types `line` and Enter.
    pub fn send_line(&mut self, line: &str) -> Result<()> {
        self.send(format!("{line}\r").as_bytes())
    }

    /// Runs one shell command; returns what it printed (without the echoed
    /// command line) once the prompt is back.
    pub fn run(&mut self, line: &str) -> Result<String> {
        self.run_within(line, STEP_TIMEOUT)
    }

    /// [`run`](Machine::run), for a command that may take up to `timeout`.
    pub fn run_within(&mut self, line: &str, timeout: Duration) -> Result<String> {
        self.send_line(line)?;
        let text = self
            .expect(interfaces::program::PROMPT, timeout)
            .with_context(|| format!("running `{line}`"))?;
        Ok(text
            .split_once('\n')
            .map_or(text.as_str(), |(_, rest)| rest)
            .to_owned())
    }

    /// Waits for QEMU to exit; returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            self.drain();
            if let Some(status) = self.qemu.try_wait().context("waiting for QEMU")? {
                self.drain();
                return status
                    .code()
                    .ok_or_else(|| anyhow!("QEMU was killed by a signal"));
            }
            if Instant::now() >= deadline {
                bail!("QEMU still running {timeout:?} later");
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Everything the console printed so far.
    pub fn log(&mut self) -> String {
        self.drain();
        String::from_utf8_lossy(&self.log).into_owned()
    }

    /// Moves output that has arrived into the log.
    fn drain(&mut self) {
        while let Ok(chunk) = self.output.try_recv() {
            self.log.extend_from_slice(&chunk);
        }
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        // A machine that is still running after its test is stopped; one
        // that exited already makes `kill` fail harmlessly.
        let _ = self.qemu.kill();
        let _ = self.qemu.wait();
    }
}

/// Copies `source` into `sink` chunk by chunk until it ends.
fn forward(mut source: impl Read + Send + 'static, sink: Sender<Vec<u8>>) {
    thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(count @ 1..) = source.read(&mut buffer) {
            if sink.send(buffer[..count].to_vec()).is_err() {
                break;
            }
        }
    });
}

/// The offset of the first `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
