//! `/sys/process`: making threads from any component (`IProcess`), and the
//! `IThread` objects that stand for them. (Outside `services`: a thread's
//! start arrives as an address, and turning it into a call is `unsafe`.)

use alloc::boxed::Box;

use com::{ComObject, ComPtr, Result, Status, class};
use interfaces::{IMutex, IProcess, IProcessImpl, IThread, IThreadImpl};

use crate::threads::{self, ThreadId};

/// The kernel's one process.
#[class(IProcess)]
pub struct Process;

/// What a new thread starts with.
struct Start {
    function: extern "C" fn(u64),
    argument: u64,
}

impl IProcessImpl for Process {
    fn create_thread(&self, start: u64, argument: u64, stack_size: u64) -> Result<ComPtr<IThread>> {
        let address = usize::try_from(start).map_err(|_| Status::INVALID_ARGUMENT)?;
        // Only code the system loaded can be a thread's start.
        if !loaded_code(address) {
            return Err(Status::INVALID_ARGUMENT);
        }
        // SAFETY: the address lies in loaded code, and the interface's
        // contract is that it is an `extern "C" fn(u64)`.
        let function = unsafe { core::mem::transmute::<usize, extern "C" fn(u64)>(address) };
        let stack_size = match usize::try_from(stack_size).map_err(|_| Status::INVALID_ARGUMENT)? {
            0 => threads::DEFAULT_STACK,
            size => size.min(1 << 20),
        };
        let start = Box::into_raw(Box::new(Start { function, argument }));
        match threads::spawn("thread", run, start as usize, stack_size) {
            Ok(id) => Ok(ComObject::create(ThreadObject { id })),
            Err(status) => {
                // SAFETY: the thread was not made, so the box is still ours.
                drop(unsafe { Box::from_raw(start) });
                Err(status)
            }
        }
    }

    fn create_mutex(&self) -> Result<ComPtr<IMutex>> {
        Ok(crate::services::locks::new_mutex())
    }
}

/// True when `address` lies in code the system loaded: the kernel's, or a
/// module's.
fn loaded_code(address: usize) -> bool {
    #[cfg(feature = "loader")]
    if crate::modules::holds(address) {
        return true;
    }
    crate::machine::kernel_text_holds(address)
}

/// A thread made through `IProcess`: takes its start back and runs it.
fn run(start: usize) {
    // SAFETY: `create_thread` passed a pointer from `Box::into_raw`, and
    // only this thread takes it back.
    let Start { function, argument } = *unsafe { Box::from_raw(start as *mut Start) };
    // The box is freed before the call: a thread stopped inside (a stack
    // overflow) never comes back to free it.
    function(argument);
}

/// One thread, for as long as someone holds it; released, the thread is
/// detached (freed once it has finished).
#[class(IThread)]
struct ThreadObject {
    id: ThreadId,
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
}

impl Drop for ThreadObject {
    fn drop(&mut self) {
        threads::detach(self.id);
    }
}
