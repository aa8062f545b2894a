//! `IThreads`: the threads of the system, as `ps` and tools see them.

use com::{Record, Result, interface};

/// What a thread is doing.
pub mod state {
    /// Waiting for the processor.
    pub const READY: u32 = 0;
    /// On the processor.
    pub const RUNNING: u32 = 1;
    /// Asleep until a deadline.
    pub const SLEEPING: u32 = 2;
    /// Waiting for another thread or a lock.
    pub const BLOCKED: u32 = 3;
    /// Finished; its record stays until someone joins it.
    pub const EXITED: u32 = 4;
}

/// A thread's state as `ps` and the status page name it.
pub fn state_name(state: u32) -> &'static str {
    match state {
        state::READY => "ready",
        state::RUNNING => "running",
        state::SLEEPING => "sleeping",
        state::BLOCKED => "blocked",
        _ => "exited",
    }
}

/// One thread's figures.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Record)]
pub struct ThreadStatus {
    /// The thread's id (unique while the system runs).
    pub id: u64,
    /// Processor time used, in `time` ticks.
    pub cpu_ticks: u64,
    /// Size of its stack in bytes (0: the boot stack).
    pub stack_size: u64,
    /// The most of its stack it has used, in bytes.
    pub stack_used: u64,
    /// One of [`state`].
    pub state: u32,
    /// Bytes of `name` in use.
    pub name_length: u32,
    /// Its name (UTF-8, `name_length` bytes).
    pub name: [u8; 16],
}

#[interface("337f4e2c-d4e5-43a3-be2b-4e60c6b70801")]
/// The system's threads.
pub trait IThreads {
    /// How many threads exist (running, waiting or exited but not joined).
    fn count(&self) -> Result<u32>;
    /// The figures of thread number `index` (0 to `count() - 1`).
    fn status(&self, index: u32) -> Result<ThreadStatus>;
}
