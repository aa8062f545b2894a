//! The logic of Tessera's command shell: commands and line editing over the namespace, which the shell component runs and host tests drive.
//!
//! The shell owns no device: it binds `/dev/console` to talk, `/sys/heap`
//! for `mem` and `/dev/power` for `poweroff`, so it runs unchanged on the
//! host (the tests give it fake objects) and on the machine, where
//! `components/shell` makes it the startup program the kernel loads by
//! name. Depends on `com`, `interfaces` and `private-interfaces` (the test
//! components' interfaces, and `IHello`).

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod commands;
mod console;
mod context;
mod filters;
mod line;
mod modules;
mod network;
mod processes;
mod storage;
mod trust;

use com::{ComPtr, Result};
use interfaces::{IConsole, INamespace};

use console::Output;

/// The prompt printed before each command line.
pub use interfaces::program::PROMPT;

/// Where the shell reads its console.
pub const CONSOLE_PATH: &str = "/dev/console";

/// A shell session bound to a namespace and its console.
pub struct Shell {
    namespace: ComPtr<INamespace>,
    output: Output,
    console: ComPtr<IConsole>,
    held: context::Held,
}

/// Why the shell's loop ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The console input ended.
    EndOfInput,
    /// `poweroff` asked the machine to stop and the power object returned.
    PowerOff,
}

impl Shell {
    /// A shell on the console found at [`CONSOLE_PATH`] in `namespace`.
    pub fn new(namespace: ComPtr<INamespace>) -> Result<Shell> {
        let console = namespace.bind(CONSOLE_PATH, 0)?.query::<IConsole>()?;
        let mut held = context::Held::default();
        held.trust_control = trust::claim_control(&namespace);
        Ok(Shell {
            namespace,
            output: Output::new(console.clone()),
            console,
            held,
        })
    }

    /// Reads and runs command lines until the input ends or `poweroff`.
    pub fn run(&mut self) -> Exit {
        storage::mount_devices(&self.namespace, &mut self.output);
        let mut editor = line::Editor::new();
        loop {
            self.output.print(PROMPT);
            let Some(line) =
                editor.read_line(&self.console, &mut self.held.typeahead, &mut self.output)
            else {
                return Exit::EndOfInput;
            };
            if let Some(exit) = self.execute(&line) {
                return exit;
            }
        }
    }

    /// Runs one command line; returns `Some` when the shell should stop.
    pub fn execute(&mut self, line: &str) -> Option<Exit> {
        commands::execute(&self.namespace, &mut self.output, &mut self.held, line)
    }
}
