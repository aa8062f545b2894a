//! Tessera's startup program: the command shell, a component the kernel loads by name and runs on the console.
//!
//! The kernel binds the startup program's name (`/shell`), which loads
//! this module from the boot RomFS; its object is an `IProgram` whose
//! `run` is the shell's loop on `/dev/console`. The commands and the line
//! editor live in `shell-lib` (lib/shell), which the host tests drive;
//! this crate only makes them a component.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

use com::{ComObject, ComPtr, IUnknown, Result, class};
use interfaces::{IProgram, IProgramImpl};
use shell_lib::Shell;

/// The shell as a program: each `run` is a session on the console.
#[class(IProgram)]
struct ShellProgram;

impl IProgramImpl for ShellProgram {
    fn run(&self) -> Result<()> {
        Shell::new(component::namespace()?)?.run();
        Ok(())
    }
}

fn construct() -> Result<ComPtr<IUnknown>> {
    Ok(ComObject::create::<IProgram>(ShellProgram).to_unknown())
}

component::component!(construct);
