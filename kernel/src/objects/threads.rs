//! `/sys/threads`: the threads' figures as an `IThreads` object.

use com::{Result, Status, class};
use interfaces::{IThreads, IThreadsImpl, ThreadStatus};

/// The list of threads, read fresh on every call.
#[class(IThreads)]
pub struct ThreadList;

impl IThreadsImpl for ThreadList {
    fn count(&self) -> Result<u32> {
        u32::try_from(crate::threads::count()).map_err(|_| Status::OUT_OF_RANGE)
    }

    fn status(&self, index: u32) -> Result<ThreadStatus> {
        crate::threads::status(index as usize).ok_or(Status::OUT_OF_RANGE)
    }
}
