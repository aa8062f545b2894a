//! `IPower`: switching the machine off.

use com::{Result, interface};

#[interface("11b79685-7e52-4c89-be7b-a27e3170215d")]
/// The machine's power control.
pub trait IPower {
    /// Powers the machine off, reporting `exit_code` to the host where the
    /// machine can (an emulator's exit status). Returns only on failure.
    fn power_off(&self, exit_code: u32) -> Result<()>;
}
