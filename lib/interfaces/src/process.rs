//! `IProcess` and `IThread`: making threads, from any component.

use com::{ComPtr, Result, interface};

#[interface("b3e3aee5-0167-4804-a872-f90f8ae2d6cb")]
/// The process threads run in (for now, the one kernel address space).
pub trait IProcess {
    /// Starts a thread running `start(argument)`, where `start` is the
    /// address of an `extern "C" fn(u64)` in the caller's module, on a
    /// stack of `stack_size` bytes (0: the default). The thread's record is
    /// freed once it has finished and its `IThread` is released.
    fn create_thread(&self, start: u64, argument: u64, stack_size: u64) -> Result<ComPtr<IThread>>;
}

#[interface("9dd133a3-8733-46d6-adb3-339bc2b30bc7")]
/// One thread.
pub trait IThread {
    /// The thread's id, as `ps` shows it.
    fn id(&self) -> Result<u64>;
    /// Waits until the thread has finished.
    fn wait(&self) -> Result<()>;
    /// The process the thread runs in.
    fn process(&self) -> Result<ComPtr<IProcess>>;
}
