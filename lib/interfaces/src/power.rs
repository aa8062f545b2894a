//! `IPower`: switching the machine off.

use com::{Result, interface};

#[interface("11b79685-7e52-4c89-be7b-a27e3170215d")]
/// The machine's power control.
pub trait IPower {
    /// Powers the machine off, reporting `exit_code` to the host where the
    /// machine can (an emulator's exit status). Returns only on failure.
    fn power_off(&self, exit_code: u32) -> Result<()>;
}

/// Exit codes the kernel reports when it powers off by itself; `poweroff`
/// from the shell reports 0, and tools on the host read these back.
pub mod exit_code {
    /// A clean power-off.
    pub const SUCCESS: u32 = 0;
    /// The kernel panicked (a kernel bug).
    pub const PANIC: u32 = 2;
    /// The kernel stopped on an unexpected exception.
    pub const EXCEPTION: u32 = 3;
    /// The boot could not reach the shell.
    pub const BOOT_FAILURE: u32 = 4;
}
