//! `/dev/power`: the machine's power control as an `IPower` object.

use com::{Result, class};
use interfaces::{IPower, IPowerImpl};

use crate::machine::power;

/// Powers the machine off through the test device (or the firmware).
#[class(IPower)]
pub struct PowerControl;

impl IPowerImpl for PowerControl {
    /// Tells `/sys/shutdown`'s listeners first (kernels with the loader).
    fn power_off(&self, exit_code: u32) -> Result<()> {
        #[cfg(feature = "loader")]
        super::shutdown::notify();
        power::off(exit_code)
    }
}
