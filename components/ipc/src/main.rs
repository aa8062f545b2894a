//! The IPC manager: runs applications in their own address spaces and carries their calls to objects in the kernel's space or in other processes, loaded with the first process.
//!
//! Binding `/sys/ipc` loads it; its object is the process manager
//! (`IProcessManager`). Creating the first process installs its `ecall`
//! hook in the kernel (`IUserTraps` at `/sys/vm-kernel`); the last
//! process released removes it, and the module is free to unload. A
//! process (`process`) is an application image placed in a new space of
//! the virtual-memory manager, run by one U-mode thread; its `ecall`s
//! (`calls`) bind the names it was granted into its import table and call
//! them, their arguments copied by the method's signature (`marshal`).
//! A process may also register objects it serves (`serve`): a call on an
//! import of one moves the calling thread into the server's space and
//! back, and interface pointers passed either way become imports of the
//! other side. docs/ipc.md has the trap ABI.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

mod calls;
mod heap;
mod kernel_calls;
mod mobility;
mod process;
mod serve;
mod view;
mod waits;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use com::{ComObject, ComPtr, IUnknown, Result, Status, class};
use interfaces::ipc::{MANAGER_PATH, ProcessStatus, ecall, outcome};
use interfaces::vm::KERNEL_PATH;
use interfaces::{
    IEcallHandler, IEcallHandlerImpl, IProcessManager, IProcessManagerImpl, IUserProcess,
    IUserProcessImpl, IUserTraps,
};
use sync::Mutex;

use process::Process;

/// The live processes: their records, found by their thread's id on each
/// `ecall`. Non-empty exactly while the `ecall` hook is installed.
static PROCESSES: Mutex<Vec<Arc<Process>>> = Mutex::new(Vec::new());

/// The address of the manager this module's constructor returned (the
/// object the namespace registers at `/sys/ipc`).
static MANAGER: AtomicUsize = AtomicUsize::new(0);

/// The manager as registered at `/sys/ipc`, held while any process lives:
/// without it, the name would go with the last outside reference, and
/// the next `create` would load a second instance of this module, whose
/// hook the kernel refuses while this one's is installed.
static HELD: Mutex<Option<ComPtr<IUnknown>>> = Mutex::new(None);

/// The process manager (`/sys/ipc`).
#[class(IProcessManager)]
struct Manager;

impl IProcessManagerImpl for Manager {
    fn create(&self, name: &str, arguments: &str, grants: &str) -> Result<ComPtr<IUserProcess>> {
        let mut processes = PROCESSES.lock();
        processes
            .try_reserve(1)
            .map_err(|_| Status::OUT_OF_MEMORY)?;
        if processes.is_empty() {
            install_hook()?;
        }
        // The thread starts with the list locked: its first `ecall` waits
        // until its record is in.
        let made = Process::create(name, arguments, grants);
        let process = match made {
            Ok(process) => Arc::new(process),
            Err(status) => {
                if processes.is_empty() {
                    // The room reserved above would outlive the module.
                    *processes = Vec::new();
                    remove_hook();
                }
                return Err(status);
            }
        };
        processes.push(process.clone());
        Ok(ComObject::create(ProcessObject { process }))
    }

    fn count(&self) -> Result<u32> {
        Ok(u32::try_from(PROCESSES.lock().len()).unwrap_or(u32::MAX))
    }

    fn status(&self, index: u32) -> Result<ProcessStatus> {
        let process = PROCESSES
            .lock()
            .get(index as usize)
            .cloned()
            .ok_or(Status::NOT_FOUND)?;
        Ok(process.status())
    }

    fn move_object(&self, name: &str, id: u64) -> Result<()> {
        // The list is not held during the move: the host's code runs in it.
        let processes = PROCESSES.lock().clone();
        mobility::move_object(name, id, &processes)
    }
}

/// The kernel's trap hooks while the `ecall` hook is installed: every
/// migration exchanges floating-point registers through them (twice), so
/// they are bound once, not per use.
static TRAPS: Mutex<Option<ComPtr<IUserTraps>>> = Mutex::new(None);

/// The kernel's trap hooks.
pub(crate) fn traps() -> Result<ComPtr<IUserTraps>> {
    if let Some(traps) = TRAPS.lock().clone() {
        return Ok(traps);
    }
    component::namespace()?
        .bind(KERNEL_PATH, 0)?
        .query::<IUserTraps>()
}

/// Installs the `ecall` hook (with the first process), and holds the
/// manager registered at `/sys/ipc`.
fn install_hook() -> Result<()> {
    let handler: ComPtr<IEcallHandler> = ComObject::create(EcallHandler);
    let traps = traps()?;
    traps.install_ecall(handler.as_unknown())?;
    *TRAPS.lock() = Some(traps);
    *HELD.lock() = registered_manager();
    Ok(())
}

/// Removes the `ecall` hook (with the last process), and lets the
/// registered manager go.
fn remove_hook() {
    // Nothing is left to undo if the kernel refuses: the hook answers
    // `ecall`s of threads it has no process for with an error.
    let traps = TRAPS.lock().take().map_or_else(traps, Ok);
    let _ = traps.and_then(|traps| traps.remove_ecall());
    drop(HELD.lock().take());
}

/// The object `/sys/ipc` is registered as, if it is this module's manager
/// (an instance of this module registered nowhere holds nothing).
fn registered_manager() -> Option<ComPtr<IUnknown>> {
    let manager = component::namespace().ok()?.bind(MANAGER_PATH, 0).ok()?;
    let address = core::ptr::from_ref(manager.as_unknown()).addr();
    (address == MANAGER.load(Ordering::Relaxed)).then_some(manager)
}

/// The record the traps of thread `thread` go by: while it makes a call
/// from the kernel's space into a process (even a process's own thread,
/// calling a kernel object that calls on through a kernel-space proxy),
/// its kernel home; else its process, if it is one.
fn process_of(thread: u64) -> Option<Arc<Process>> {
    kernel_calls::home_of(thread).or_else(|| process_by_thread(thread))
}

/// The process whose thread is `thread`, if there is one.
pub(crate) fn process_by_thread(thread: u64) -> Option<Arc<Process>> {
    PROCESSES
        .lock()
        .iter()
        .find(|process| process.thread_id() == thread)
        .cloned()
}

/// The process serving `endpoint`, and its endpoint handle, if a live
/// process does.
pub(crate) fn served(endpoint: &interfaces::IEndpoint) -> Option<(Arc<Process>, u64)> {
    let processes = PROCESSES.lock().clone();
    serve::served(endpoint, &processes)
}

/// The process `id` serving the endpoint registered as `name`, and the
/// endpoint; `STALE_HANDLE` once it is gone.
pub(crate) fn served_by(id: u64, name: &str) -> Result<(Arc<Process>, u64)> {
    let processes = PROCESSES.lock().clone();
    serve::served_where(id, &processes, |export| {
        export.holder.is_some() && export.name == name
    })
    .ok_or(Status::STALE_HANDLE)
}

/// Asks the kernel to interrupt every thread running a call in `server`
/// (at its next interrupt in U-mode), so that it goes back to its caller.
pub(crate) fn interrupt_callers_of(server: &Process) {
    let mut processes = PROCESSES.lock().clone();
    processes.extend(kernel_calls::homes());
    let mut inside = processes.iter().filter(|process| {
        process
            .calls
            .lock()
            .iter()
            .any(|call| core::ptr::eq(Arc::as_ptr(&call.server), server))
    });
    // Most processes end with no call in them: the kernel's traps object
    // is bound only when one must be interrupted.
    let Some(first) = inside.next() else {
        return;
    };
    let Ok(traps) = traps() else {
        return;
    };
    for process in core::iter::once(first).chain(inside) {
        let _ = traps.interrupt_at(process.thread_id(), 0);
    }
}

/// The `ecall` hook.
#[class(IEcallHandler)]
struct EcallHandler;

impl IEcallHandlerImpl for EcallHandler {
    fn ecall(&self, thread: u64, registers: &mut [u8]) -> Result<u32> {
        const WORDS: usize = ecall::REGISTERS + ecall::FULL;
        let mut words = [0u64; WORDS];
        if registers.len() != WORDS * 8 {
            return Err(Status::INVALID_ARGUMENT);
        }
        // Whole words at a time: byte by byte, this and the copy back
        // took about a thousand instructions of every trap.
        for (word, bytes) in words.iter_mut().zip(registers.as_chunks::<8>().0) {
            *word = u64::from_le_bytes(*bytes);
        }
        let home = process_of(thread).ok_or(Status::UNHANDLED_TRAP)?;
        let (asked, full) = words.split_at_mut(ecall::REGISTERS);
        let asked: &[u64; ecall::REGISTERS] = (&*asked).try_into().map_err(|_| Status::FAILED)?;
        let full: &mut [u64; ecall::FULL] = full.try_into().map_err(|_| Status::FAILED)?;
        let outcome = match calls::handle(&home, asked, full) {
            calls::Answer::Resume(a0, a1, a2) => {
                words[..outcome::RESUMED].copy_from_slice(&[a0, a1, a2]);
                outcome::RESUME
            }
            calls::Answer::Replace => outcome::REPLACE,
            calls::Answer::Exit => outcome::EXIT,
            calls::Answer::Finish(status) => {
                words[..outcome::RESUMED].copy_from_slice(&[i64::from(status.0) as u64, 0, 0]);
                outcome::FINISH
            }
        };
        // The kernel reads back only what the outcome takes: a call
        // answered here writes three words, not the whole set.
        let given = match outcome {
            outcome::RESUME | outcome::FINISH => outcome::RESUMED,
            outcome::REPLACE => WORDS,
            _ => 0,
        };
        for (bytes, word) in registers
            .as_chunks_mut::<8>()
            .0
            .iter_mut()
            .zip(words)
            .take(given)
        {
            *bytes = word.to_le_bytes();
        }
        Ok(outcome)
    }
}

/// A process, for whoever holds it: released, the process is killed (if
/// it still runs) and everything it had is freed.
#[class(IUserProcess)]
struct ProcessObject {
    process: Arc<Process>,
}

impl IUserProcessImpl for ProcessObject {
    fn wait(&self) -> Result<i32> {
        self.process.wait()
    }

    fn kill(&self) -> Result<()> {
        self.process.kill()
    }

    fn status(&self) -> Result<ProcessStatus> {
        Ok(self.process.status())
    }
}

impl Drop for ProcessObject {
    fn drop(&mut self) {
        // Killed and waited for, so no `ecall` of it can come any more.
        let _ = self.process.kill();
        let _ = self.process.wait();
        self.process.free();
        let mut processes = PROCESSES.lock();
        processes.retain(|process| !Arc::ptr_eq(process, &self.process));
        if processes.is_empty() {
            *processes = Vec::new();
            remove_hook();
        }
    }
}

fn construct() -> Result<ComPtr<IUnknown>> {
    let manager = ComObject::create::<IProcessManager>(Manager).to_unknown();
    MANAGER.store(
        core::ptr::from_ref(manager.as_unknown()).addr(),
        Ordering::Relaxed,
    );
    Ok(manager)
}

component::component!(construct);
