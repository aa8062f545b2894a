//! `/sys/process`: making threads from any component (`IProcess`), and the
//! `IThread` objects that stand for them.

use com::{ComObject, ComPtr, Result, Status, class};
use interfaces::{IMutex, IProcess, IProcessImpl, IThread, IThreadImpl};

use crate::threads::{self, ThreadId};

/// The kernel's one process.
#[class(IProcess)]
pub struct Process;

impl IProcessImpl for Process {
    fn create_thread(&self, start: u64, argument: u64, stack_size: u64) -> Result<ComPtr<IThread>> {
        let address = usize::try_from(start).map_err(|_| Status::INVALID_ARGUMENT)?;
        // Only code the system loaded can be a thread's start.
        let function =
            crate::abi::component_code::thread_start(address).ok_or(Status::INVALID_ARGUMENT)?;
        let stack_size = match usize::try_from(stack_size).map_err(|_| Status::INVALID_ARGUMENT)? {
            0 => threads::DEFAULT_STACK,
            size => size.min(1 << 20),
        };
        let id = threads::spawn_component("thread", function, argument, stack_size)?;
        Ok(ThreadObject::create(id))
    }

    fn create_mutex(&self) -> Result<ComPtr<IMutex>> {
        Ok(super::locks::new_mutex())
    }
}

/// One thread, for as long as someone holds it; released, the thread is
/// detached (freed once it has finished).
#[class(IThread)]
pub struct ThreadObject {
    id: ThreadId,
}

impl ThreadObject {
    /// The object for thread `id`, which it detaches when released.
    pub fn create(id: ThreadId) -> ComPtr<IThread> {
        ComObject::create(ThreadObject { id })
    }
}

impl IThreadImpl for ThreadObject {
    fn id(&self) -> Result<u64> {
        Ok(self.id)
    }

    fn wait(&self) -> Result<()> {
        threads::wait_exit(self.id)
    }

    fn process(&self) -> Result<ComPtr<IProcess>> {
        Ok(ComObject::create(Process))
    }

    #[cfg(feature = "loader")]
    fn kill(&self) -> Result<()> {
        threads::user_mode::kill(self.id)
    }

    #[cfg(not(feature = "loader"))]
    fn kill(&self) -> Result<()> {
        Err(Status::NOT_SUPPORTED)
    }
}

impl Drop for ThreadObject {
    fn drop(&mut self) {
        threads::detach(self.id);
    }
}
