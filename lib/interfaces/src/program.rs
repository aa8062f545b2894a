//! `IProgram`: a program the kernel (or anyone) starts, such as the shell.

use com::{Result, interface};

#[interface("096e02bb-7633-4302-b4fe-c6ada4514258")]
/// A program: the object an executable component's constructor returns.
/// Binding its name loads it; `run` runs it on the caller's thread.
pub trait IProgram {
    /// Runs the program until it ends (the shell: until its input ends or
    /// `poweroff` returns).
    fn run(&self) -> Result<()>;
}

/// The prompt a shell prints before each command line: tools that drive a
/// shell over the console (the QEMU tests) wait for it.
pub const PROMPT: &str = "tessera> ";
