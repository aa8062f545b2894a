//! `IPower`: switching the machine off.

use com::{IUnknown, Result, interface};

#[interface("11b79685-7e52-4c89-be7b-a27e3170215d")]
/// The machine's power control.
pub trait IPower {
    /// Powers the machine off, reporting `exit_code` to the host where the
    /// machine can (an emulator's exit status). Returns only on failure.
    fn power_off(&self, exit_code: u32) -> Result<()>;
}

/// Where the kernel serves [`IShutdown`] (kernels with the loader).
pub const SHUTDOWN_PATH: &str = "/sys/shutdown";

#[interface("d4cb8d14-3c46-49a8-a57b-80019da67fe9")]
/// Who is told before the machine powers off.
pub trait IShutdown {
    /// Tells `listener` (an `IShutdownListener`, held until forgotten)
    /// before every power-off.
    fn listen(&self, listener: &IUnknown) -> Result<()>;
    /// Stops telling `listener`; `NOT_FOUND` if it was not listening.
    fn forget(&self, listener: &IUnknown) -> Result<()>;
}

#[interface("a218354b-1195-4b85-bfec-e5bb3a4afa80")]
/// Something that must finish its work before the machine powers off (a
/// mounted file system writes its changes back).
pub trait IShutdownListener {
    /// The machine is about to power off: finish now.
    fn shutting_down(&self) -> Result<()>;
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
