//! `IVmKernel` and `IVmFaultHandler`: what the kernel offers a
//! virtual-memory manager (`/sys/vm-kernel`), and what the manager
//! installs in the kernel to resolve page faults.
//!
//! The kernel knows nothing of page tables. A thread's view is the `satp`
//! value the manager built (0: the physical address space); the kernel
//! switches `satp` when the next thread's view differs from the running
//! one's, and sends every page fault from U-mode to the installed handler.

use com::{ComPtr, IUnknown, Record, Result, interface};

use crate::IThread;

/// Where the kernel serves `IVmKernel`.
pub const KERNEL_PATH: &str = "/sys/vm-kernel";

/// The access a page fault wanted (`IVmFaultHandler::page_fault`).
pub mod access {
    /// A load.
    pub const READ: u32 = 1;
    /// A store (or an atomic memory operation).
    pub const WRITE: u32 = 2;
    /// An instruction fetch.
    pub const EXECUTE: u32 = 4;
}

/// Physical RAM the kernel set aside at boot for a manager's page tables
/// and pages, apart from the heap: page-aligned, `size` bytes from `start`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Record)]
#[repr(C)]
pub struct FramePool {
    /// Its first byte's physical address.
    pub start: u64,
    /// Its size in bytes (a multiple of 4 KiB; 0 on a kernel with none).
    pub size: u64,
}

#[interface("5b0c2f1e-7d4a-4c8e-9f3b-2a6d8e1c4b70")]
/// The kernel's hooks for a virtual-memory manager, and U-mode threads.
pub trait IVmKernel {
    /// Installs `handler` (an object answering `IVmFaultHandler`) as the
    /// page-fault hook and hands the caller the frame pool, which is its
    /// until [`remove`](IVmKernel::remove). `ALREADY_EXISTS` while a handler
    /// is installed.
    fn install(&self, handler: &IUnknown) -> Result<FramePool>;
    /// Removes the handler and takes the frame pool back. `REFUSED` while a
    /// thread that has not finished has a view other than 0.
    fn remove(&self) -> Result<()>;
    /// Starts a thread in U-mode at `entry` with `argument` in `a0` and its
    /// stack pointer at `stack`, all as `view` sees them (0: physical
    /// addresses, and `entry` must lie in loaded code). Returning from
    /// `entry` ends the thread; any exception other than a page fault the
    /// handler resolves ends it with a named error (`ILLEGAL_INSTRUCTION`,
    /// `ACCESS_VIOLATION`, `MISALIGNED_ACCESS`, `UNHANDLED_TRAP`, or the
    /// handler's), which `IThread::wait` returns. A view other than 0 must
    /// be Sv39 with its root table in the frame pool, and needs a handler.
    fn start_user_thread(
        &self,
        entry: u64,
        argument: u64,
        stack: u64,
        view: u64,
    ) -> Result<ComPtr<IThread>>;
    /// Makes `view` the calling thread's view, at once (the same rules as
    /// for a U-mode thread's).
    fn set_view(&self, view: u64) -> Result<()>;
    /// The calling thread's view.
    fn view(&self) -> Result<u64>;
}

#[interface("a4e3d7b2-1c5f-4e9a-8b6d-3f2e1a0c9d58")]
/// The page-fault hook a virtual-memory manager installs.
pub trait IVmFaultHandler {
    /// A U-mode thread in `view` faulted at `address` wanting `access`
    /// (`access::*`). Called on the thread's kernel stack with interrupts
    /// enabled (it may block and read files). `Ok` resumes the thread at
    /// the faulting instruction; an error ends the thread with it.
    fn page_fault(&self, view: u64, address: u64, access: u32) -> Result<()>;
}
