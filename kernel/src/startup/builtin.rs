//! The minimal kernels' built-in startup program: a small shell for a
//! kernel without a loader, registered under the startup program's name
//! where the full kernel demand-loads the shell component.
//!
//! It offers what such a kernel can do — `echo`, `mem`, `cat`, `help`,
//! `poweroff`, and with threads `ps` — with the shell component's prompt
//! and messages, and reaches everything through the namespace as the shell
//! does. It prints numbers itself (`machine::console::digits`): no
//! `core::fmt`, to keep the minimal kernels small.

#![deny(unsafe_code)]

use com::{ComObject, ComPtr, Interface, Result, Status, class};
use interfaces::namespace::flags;
use interfaces::program::PROMPT;
use interfaces::{IConsole, IFile, IHeap, INamespace, IPower, IProgram, IProgramImpl};
#[cfg(feature = "threads")]
use interfaces::{IScheduler, IThreads, threads::state};

use crate::objects::Root;
use crate::startup::STARTUP_PROGRAM;

/// Registers the built-in program under [`STARTUP_PROGRAM`].
pub fn register(root: &Root) -> Result<()> {
    let program = ComObject::try_create::<IProgram>(BuiltinShell)?;
    root.register(STARTUP_PROGRAM, program.as_unknown(), 0)
}

/// What `help` lists.
const COMMANDS: &str = if cfg!(feature = "threads") {
    "commands: help echo mem cat ps poweroff\n"
} else {
    "commands: help echo mem cat poweroff\n"
};
/// Longest command line accepted; further characters are not taken.
const MAX_LINE: usize = 128;

const BACKSPACE: u8 = 0x08;
const DELETE: u8 = 0x7f;
const CTRL_C: u8 = 0x03;

/// The program: each `run` is a session on `/dev/console`.
#[class(IProgram)]
struct BuiltinShell;

impl IProgramImpl for BuiltinShell {
    /// Reads and runs command lines until the input ends or `poweroff`.
    fn run(&self) -> Result<()> {
        let namespace = namespace::current()?;
        let console = bind::<IConsole>(&namespace, "/dev/console", 0)?;
        let mut session = Session {
            namespace,
            console,
            after_cr: false,
        };
        let mut line = [0u8; MAX_LINE];
        loop {
            session.print(PROMPT);
            let Some(length) = session.read_line(&mut line) else {
                return Ok(());
            };
            let text = com::utf8(line.get(..length).unwrap_or_default()).unwrap_or("");
            if session.execute(text) == Flow::Stop {
                return Ok(());
            }
        }
    }
}

/// Whether the session goes on after a command.
#[derive(PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

/// Why a command failed.
enum Failure<'a> {
    /// The arguments do not fit the command.
    Usage,
    /// An operation on the named object failed.
    On(&'a str, Status),
}

/// A command's outcome.
type Outcome<'a> = core::result::Result<Flow, Failure<'a>>;

/// The namespace and console a session works with.
struct Session {
    namespace: ComPtr<INamespace>,
    console: ComPtr<IConsole>,
    /// The last byte read was a CR, so a LF right after it ends no line.
    after_cr: bool,
}

impl Session {
    /// Reads one line into `line`, echoing as it goes; returns its length,
    /// or `None` once the input has ended. Only printable ASCII is taken.
    fn read_line(&mut self, line: &mut [u8; MAX_LINE]) -> Option<usize> {
        let mut length = 0;
        let mut byte = [0u8; 1];
        loop {
            if !matches!(self.console.read(&mut byte), Ok(1..)) {
                return None;
            }
            let after_cr = core::mem::replace(&mut self.after_cr, byte[0] == b'\r');
            match byte[0] {
                b'\n' if after_cr => {}
                b'\r' | b'\n' => {
                    self.raw(b"\r\n");
                    return Some(length);
                }
                BACKSPACE | DELETE if length > 0 => {
                    length -= 1;
                    self.raw(b"\x08 \x08");
                }
                CTRL_C => {
                    self.raw(b"^C\r\n");
                    return Some(0);
                }
                0x20..=0x7e if length < MAX_LINE => {
                    line[length] = byte[0];
                    length += 1;
                    self.raw(&byte);
                }
                _ => {}
            }
        }
    }

    /// Runs one command line and reports its failure, if any.
    fn execute(&mut self, line: &str) -> Flow {
        let mut words = line.split_ascii_whitespace();
        let Some(name) = words.next() else {
            return Flow::Continue;
        };
        if name == "echo" {
            return self.echo(words);
        }
        // Every other command takes at most one argument.
        let argument = words.next();
        let outcome = match (name, words.next()) {
            (_, Some(_)) => Err(Failure::Usage),
            ("help", _) => no_argument(argument).map(|()| self.help()),
            ("mem", _) => no_argument(argument).and_then(|()| self.mem()),
            ("cat", _) => argument
                .ok_or(Failure::Usage)
                .and_then(|path| self.cat(path)),
            #[cfg(feature = "threads")]
            ("ps", _) => no_argument(argument).and_then(|()| self.ps()),
            ("poweroff", _) => no_argument(argument).and_then(|()| self.poweroff()),
            _ => {
                self.print_all(&["error: unknown command '", name, "' (type 'help')\n"]);
                return Flow::Continue;
            }
        };
        match outcome {
            Ok(flow) => flow,
            Err(Failure::Usage) => {
                self.print_all(&["error: ", name, ": bad arguments\n"]);
                Flow::Continue
            }
            Err(Failure::On(subject, status)) => {
                let message = status.message();
                self.print_all(&["error: ", name, ": ", subject, ": ", message, " (-"]);
                self.decimal(u64::from(status.0.unsigned_abs()));
                self.print(")\n");
                Flow::Continue
            }
        }
    }

    fn help(&mut self) -> Flow {
        self.print(COMMANDS);
        Flow::Continue
    }

    fn echo<'a>(&mut self, words: impl Iterator<Item = &'a str>) -> Flow {
        for (index, word) in words.enumerate() {
            if index > 0 {
                self.print(" ");
            }
            self.print(word);
        }
        self.print("\n");
        Flow::Continue
    }

    fn mem(&mut self) -> Outcome<'static> {
        const HEAP: &str = "/sys/heap";
        let heap = self.service::<IHeap>(HEAP, flags::READ)?;
        let status = heap.status().map_err(on(HEAP))?;
        let figures = [
            ("heap: reserved=", status.reserved),
            (" committed=", status.committed),
            (" used=", status.used),
            (" max_used=", status.max_used),
        ];
        for (label, value) in figures {
            self.print(label);
            self.decimal(value);
        }
        self.print("\n");
        Ok(Flow::Continue)
    }

    fn cat<'a>(&mut self, path: &'a str) -> Outcome<'a> {
        let file = self.service::<IFile>(path, flags::READ)?;
        let mut buffer = [0u8; 256];
        let mut offset = 0u64;
        loop {
            let read = file.read_at(offset, &mut buffer).map_err(on(path))?;
            let Some(chunk) = buffer.get(..read).filter(|chunk| !chunk.is_empty()) else {
                return Ok(Flow::Continue);
            };
            self.text(chunk);
            offset += read as u64;
        }
    }

    #[cfg(feature = "threads")]
    fn ps(&mut self) -> Outcome<'static> {
        const THREADS: &str = "/sys/threads";
        let threads = self.service::<IThreads>(THREADS, 0)?;
        if let Ok(scheduler) = self.service::<IScheduler>("/sys/scheduler", 0) {
            let mut name = [0u8; 64];
            let length = scheduler.policy_name(&mut name).unwrap_or(0);
            self.print("policy: ");
            self.text(name.get(..length).unwrap_or_default());
            self.print("\n");
        }
        self.print("id  name  state\n");
        for index in 0..threads.count().map_err(on(THREADS))? {
            let Ok(thread) = threads.status(index) else {
                // The thread exited and was joined meanwhile.
                continue;
            };
            self.decimal(thread.id);
            self.print("  ");
            self.text(
                thread
                    .name
                    .get(..thread.name_length as usize)
                    .unwrap_or_default(),
            );
            self.print(match thread.state {
                state::READY => "  ready\n",
                state::RUNNING => "  running\n",
                state::SLEEPING => "  sleeping\n",
                state::BLOCKED => "  blocked\n",
                _ => "  exited\n",
            });
        }
        Ok(Flow::Continue)
    }

    fn poweroff(&mut self) -> Outcome<'static> {
        const POWER: &str = "/dev/power";
        let power = self.service::<IPower>(POWER, 0)?;
        power.power_off(0).map_err(on(POWER))?;
        Ok(Flow::Stop)
    }

    /// The object at `path` as interface `I`; a failure names the path.
    fn service<'a, I: Interface>(
        &self,
        path: &'a str,
        bind_flags: u32,
    ) -> core::result::Result<ComPtr<I>, Failure<'a>> {
        bind(&self.namespace, path, bind_flags).map_err(on(path))
    }

    /// Prints each of `pieces`.
    fn print_all(&self, pieces: &[&str]) {
        pieces.iter().for_each(|piece| self.print(piece));
    }

    /// Prints `text`, with the `\r\n` line ends a terminal wants.
    fn print(&self, text: &str) {
        self.text(text.as_bytes());
    }

    /// Prints text bytes, with the `\r\n` line ends a terminal wants.
    fn text(&self, mut bytes: &[u8]) {
        while let Some(end) = bytes.iter().position(|&byte| byte == b'\n') {
            let (line, rest) = bytes.split_at(end);
            self.raw(line);
            self.raw(b"\r\n");
            bytes = rest.get(1..).unwrap_or_default();
        }
        self.raw(bytes);
    }

    /// Prints `value` in decimal.
    fn decimal(&self, value: u64) {
        use crate::machine::console::{MAX_DIGITS, digits};
        self.raw(digits(value, 10, &mut [0; MAX_DIGITS]));
    }

    /// Writes bytes as they are.
    fn raw(&self, bytes: &[u8]) {
        // A console that fails to write has nowhere to report it.
        let _ = self.console.write(bytes);
    }
}

/// The object at `path` in `namespace`, as interface `I`.
fn bind<I: Interface>(namespace: &INamespace, path: &str, bind_flags: u32) -> Result<ComPtr<I>> {
    namespace.bind(path, bind_flags)?.query::<I>()
}

/// Fails a command that takes no argument but was given one.
fn no_argument<'a>(argument: Option<&str>) -> core::result::Result<(), Failure<'a>> {
    match argument {
        None => Ok(()),
        Some(_) => Err(Failure::Usage),
    }
}

/// Wraps a failed operation on `subject`.
fn on<'a>(subject: &'a str) -> impl FnOnce(Status) -> Failure<'a> {
    move |status| Failure::On(subject, status)
}
