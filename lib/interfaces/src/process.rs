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
    /// A new unlocked mutex: the kernel's blocking lock, whose holder runs
    /// with the urgency of the threads waiting for it.
    fn create_mutex(&self) -> Result<ComPtr<IMutex>>;
}

#[interface("c12985f6-90ec-4509-99be-784add77f2f7")]
/// A mutual-exclusion lock whose waiters block (and lend the holder their
/// urgency under a policy with time constraints).
pub trait IMutex {
    /// Waits for the lock and takes it.
    fn lock(&self) -> Result<()>;
    /// Takes the lock if it is free; false when another thread holds it.
    fn try_lock(&self) -> Result<bool>;
    /// Releases the lock, which the calling thread holds (`ACCESS_DENIED`
    /// otherwise).
    fn unlock(&self) -> Result<()>;
    /// A new condition whose waiters hold this lock.
    fn create_condition(&self) -> Result<ComPtr<ICondition>>;
}

#[interface("062be748-85b2-4541-85e9-92af1d9d9c27")]
/// A condition threads wait on, holding the mutex it was made from.
pub trait ICondition {
    /// Releases the mutex (which the calling thread holds, else
    /// `ACCESS_DENIED`), waits for a signal or for `time` to reach
    /// `deadline` (ticks; `u64::MAX`: no deadline), and takes the mutex
    /// again. True when the wait timed out.
    fn wait(&self, deadline: u64) -> Result<bool>;
    /// Wakes the longest waiter, if any.
    fn signal(&self) -> Result<()>;
    /// Wakes every waiter.
    fn broadcast(&self) -> Result<()>;
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
    /// Ends a U-mode thread with `KILLED` at its next trap into the kernel
    /// (an interrupt is one); `NOT_SUPPORTED` for a thread of the kernel
    /// or a component, which may hold kernel locks.
    fn kill(&self) -> Result<()>;
}
