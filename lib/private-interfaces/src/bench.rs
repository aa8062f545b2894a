//! `IBenchmarks`: measurements of the running system, run on request (the `benchmarks` test component).

use com::{InOut, Result, interface};

#[interface("adc9271d-81d4-4e37-8de9-d19c2148542d")]
/// Measurements, each an exact instruction count (under QEMU's
/// `-icount shift=0`, where `rdinstret` counts instructions exactly).
pub trait IBenchmarks {
    /// How many measurements there are.
    fn count(&self) -> Result<u32>;
    /// Writes the name of measurement `index` into `buffer`; returns its length.
    fn name(&self, index: u32, buffer: &mut [u8]) -> Result<usize>;
    /// Runs measurement `index`; returns its figure in instructions.
    fn run(&self, index: u32) -> Result<u64>;
}

#[interface("b1e2c3d4-a5f6-4708-9a1b-2c3d4e5f6a7b")]
/// What the cross-space call benchmarks call from a process (the
/// `benchmarks` component serves it while it measures).
pub trait IEcho {
    /// Does nothing: a call whose arguments all fit in registers.
    fn nothing(&self) -> Result<()>;
    /// Copies `data` into `out` (as much as fits); returns how many bytes.
    fn echo(&self, data: &[u8], out: &mut [u8]) -> Result<usize>;
    /// Reverses `data` in place (an in-out buffer: copied in and back
    /// across spaces).
    fn reverse(&self, data: InOut<'_>) -> Result<()>;
    /// How many characters `text` has (a string: checked UTF-8 across
    /// spaces).
    fn characters(&self, text: &str) -> Result<u32>;
}
