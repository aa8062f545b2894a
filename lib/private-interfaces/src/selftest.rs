//! `ISelfTests`: checks of the running system, run on request (the `selftest` test component).

use com::{Result, interface};

#[interface("337f4e2c-d4e5-43a3-be2b-4e60c6b70802")]
/// Checks of the system's services that only a running system can
/// exercise (threads, preemption, timers, loading, live mutation).
pub trait ISelfTests {
    /// How many checks there are.
    fn count(&self) -> Result<u32>;
    /// Writes the name of check `index` into `buffer`; returns its length.
    fn name(&self, index: u32, buffer: &mut [u8]) -> Result<usize>;
    /// Runs check `index`; a failure says why on the console first.
    fn run(&self, index: u32) -> Result<()>;
}
