//! `/sys/vm-kernel` (`IVmKernel`): the kernel's hooks for a virtual-memory
//! manager — its page-fault and view-switch hooks, the frame pool it
//! builds in, threads' views — and U-mode threads; and (`IUserTraps`) the
//! hook of an IPC component for `ecall`s from U-mode.

use alloc::vec::Vec;

use com::dynamic::Descriptor;
use com::{ComPtr, IUnknown, Result, Status, class};
use interfaces::ipc::{ecall, outcome};
use interfaces::{FramePool, IEcallHandler, IThread, IUserTraps, IUserTrapsImpl};
use interfaces::{IVmHooks, IVmKernel, IVmKernelImpl};
use sync::Mutex;

use super::process::ThreadObject;
use crate::machine::fpu;
use crate::machine::mmu::{self, View};
use crate::machine::trap::TrapFrame;
use crate::threads::{self, user_mode};
use user_mode::Ecalled;

/// The installed handler: held here while installed, so its module stays
/// loaded; the hook takes a reference for each fault.
static HANDLER: Mutex<Option<ComPtr<IVmHooks>>> = Mutex::new(None);

/// The installed `ecall` handler, held while installed (as `HANDLER`).
static ECALL_HANDLER: Mutex<Option<ComPtr<IEcallHandler>>> = Mutex::new(None);

/// One import whose register-only calls skip the handler.
struct FastPath {
    thread: u64,
    handle: u64,
    object: ComPtr<IUnknown>,
    /// Per method: its descriptor (or zeros), and what the proxy's stub
    /// stores of its result (`com::dynamic::stored_result_of`, in `a2`).
    descriptors: Vec<(Descriptor, u64)>,
}

// The registers `exchange_fp` exchanges are the machine's record of them.
const _: () = assert!(fpu::BYTES == interfaces::ipc::FP_BYTES);

/// The fast paths the IPC component set up.
static FAST_PATHS: Mutex<Vec<FastPath>> = Mutex::new(Vec::new());

/// The kernel's side of virtual memory, and its trap hooks.
#[class(IVmKernel, IUserTraps)]
pub struct VmKernel;

impl IUserTrapsImpl for VmKernel {
    fn install_ecall(&self, handler: &IUnknown) -> Result<()> {
        let handler = handler.query::<IEcallHandler>()?;
        {
            let mut slot = ECALL_HANDLER.lock();
            if slot.is_some() {
                return Err(Status::ALREADY_EXISTS);
            }
            *slot = Some(handler);
        }
        user_mode::set_ecall_hook(Some(on_ecall));
        Ok(())
    }

    fn add_fast_path(
        &self,
        thread: u64,
        handle: u64,
        object: &IUnknown,
        descriptors: &[u8],
    ) -> Result<()> {
        let mut methods = Vec::new();
        methods
            .try_reserve_exact(descriptors.len() / 8)
            .map_err(|_| Status::OUT_OF_MEMORY)?;
        for chunk in descriptors.chunks_exact(8) {
            let mut descriptor = [0u8; 8];
            descriptor.copy_from_slice(chunk);
            methods.push((descriptor, com::dynamic::stored_result_of(&descriptor)));
        }
        let path = FastPath {
            thread,
            handle,
            object: ComPtr::from_ref(object),
            descriptors: methods,
        };
        let mut paths = FAST_PATHS.lock();
        paths.try_reserve(1).map_err(|_| Status::OUT_OF_MEMORY)?;
        paths.push(path);
        Ok(())
    }

    fn remove_fast_path(&self, thread: u64, handle: u64) -> Result<()> {
        let gone = take_fast_paths(|path| {
            path.thread == thread && (handle == u64::MAX || path.handle == handle)
        });
        // Released outside the lock: a release may unload a module.
        drop(gone);
        Ok(())
    }

    fn interrupt_at(&self, thread: u64, time: u64) -> Result<()> {
        user_mode::interrupt_at(thread, time)
    }

    fn exchange_fp(&self, thread: u64, registers: &mut [u8]) -> Result<()> {
        let registers: &mut [u8; fpu::BYTES] =
            registers.try_into().map_err(|_| Status::INVALID_ARGUMENT)?;
        if thread != threads::current_id() {
            return Err(Status::INVALID_ARGUMENT);
        }
        if fpu::exchange_running(registers) {
            Ok(())
        } else {
            Err(Status::FAILED)
        }
    }

    fn current_thread(&self) -> Result<u64> {
        Ok(threads::current_id())
    }

    fn run(&self, registers: &[u8]) -> Result<u64> {
        let mut words = [0u64; ecall::FULL];
        if registers.len() != ecall::FULL * 8 {
            return Err(Status::INVALID_ARGUMENT);
        }
        for (word, bytes) in words.iter_mut().zip(registers.as_chunks::<8>().0) {
            *word = u64::from_le_bytes(*bytes);
        }
        let (status, value) = user_mode::run(&words);
        match status {
            0 => Ok(value),
            status => Err(Status(
                i32::try_from(status.cast_signed()).unwrap_or(Status::FAILED.0),
            )),
        }
    }

    fn remove_ecall(&self) -> Result<()> {
        drop(take_fast_paths(|_| true));
        user_mode::set_ecall_hook(None);
        let handler = ECALL_HANDLER.lock().take().ok_or(Status::NOT_FOUND)?;
        // Released outside the lock: it may be the module's last object.
        drop(handler);
        Ok(())
    }
}

/// Takes the fast paths `matches` picks out of the list.
fn take_fast_paths(matches: impl Fn(&FastPath) -> bool) -> Vec<FastPath> {
    let mut paths = FAST_PATHS.lock();
    let (gone, kept) = core::mem::take(&mut *paths).into_iter().partition(matches);
    *paths = kept;
    if paths.is_empty() {
        *paths = Vec::new();
    }
    gone
}

/// Where the `ecall` registers are in a trap frame: `a0`..`a7` are `x10`..
/// `x17`, `t0` and `t1` are `x5` and `x6`.
const A0: usize = 10;
const T0: usize = 5;
const T1: usize = 6;

/// A register-only `CALL` with a fast path: made here, straight to the
/// object; its result and what the stub stores of it; `None` when there
/// is none for it.
fn fast_call(thread: u64, frame: &TrapFrame) -> Option<(Result<u64>, u64)> {
    let [_, handle, a1, a2, a3, a4, a5, a6, a7] =
        *frame.registers.first_chunk::<18>()?.last_chunk::<9>()?;
    let method = usize::try_from(frame.registers[T1]).ok()?;
    let (object, (descriptor, stored)) = {
        let paths = FAST_PATHS.lock();
        let path = paths
            .iter()
            .find(|path| path.thread == thread && path.handle == handle)?;
        let method = *path.descriptors.get(method).filter(|d| d.0 != [0; 8])?;
        (path.object.clone(), method)
    };
    let words = [a1, a2, a3, a4, a5, a6, a7];
    let result = com::dynamic::call_registers(&object, method, &descriptor, &words);
    Some((result, stored))
}

/// The registers as the bytes the handler's interface takes, aligned so
/// that each word goes in and out as one store or load.
#[repr(C, align(8))]
struct WordBytes([u8; (ecall::REGISTERS + ecall::FULL) * 8]);

/// The `ecall` hook: a fast-path call, or the installed handler's answer.
/// The handler gets the `ecall` registers, then the whole register set
/// (`pc`, `x1`..`x31`), as little-endian words.
fn on_ecall(thread: u64, frame: &mut TrapFrame, interrupted: Option<Status>) -> Result<Ecalled> {
    if interrupted.is_none()
        && frame.registers[T0] == ecall::CALL
        && let Some((result, stored)) = fast_call(thread, frame)
    {
        (
            frame.registers[A0],
            frame.registers[A0 + 1],
            frame.registers[A0 + 2],
        ) = match result {
            Ok(value) => (0, value, stored),
            Err(status) => (i64::from(status.0) as u64, 0, 0),
        };
        return Ok(Ecalled::Resume);
    }
    let handler = ECALL_HANDLER.lock().clone().ok_or(Status::UNHANDLED_TRAP)?;
    let mut words = [0u64; ecall::REGISTERS + ecall::FULL];
    let (asked, full) = words.split_at_mut(ecall::REGISTERS);
    asked[..8].copy_from_slice(&frame.registers[A0..A0 + 8]);
    asked[ecall::T0] = frame.registers[T0];
    if let Some(why) = interrupted {
        asked[ecall::T0] = ecall::INTERRUPTED;
        asked[ecall::T1] = i64::from(why.0) as u64;
    }
    if interrupted.is_none() {
        asked[ecall::T1] = frame.registers[T1];
    }
    full.copy_from_slice(&frame.registers);
    full[0] = frame.sepc;
    let mut bytes = WordBytes([0; (ecall::REGISTERS + ecall::FULL) * 8]);
    for (chunk, word) in bytes.0.as_chunks_mut::<8>().0.iter_mut().zip(words.iter()) {
        *chunk = word.to_le_bytes();
    }
    let outcome = handler.ecall(thread, &mut bytes.0)?;
    // Only the words the outcome takes are read back (a call's three).
    let taken = match outcome {
        outcome::RESUME | outcome::FINISH => outcome::RESUMED,
        outcome::REPLACE => words.len(),
        _ => 0,
    };
    for (word, chunk) in words.iter_mut().zip(bytes.0.as_chunks::<8>().0).take(taken) {
        *word = u64::from_le_bytes(*chunk);
    }
    Ok(match outcome {
        outcome::RESUME if interrupted.is_some() => Ecalled::Resume,
        outcome::RESUME => {
            frame.registers[A0..A0 + outcome::RESUMED].copy_from_slice(&words[..outcome::RESUMED]);
            Ecalled::Resume
        }
        outcome::REPLACE => {
            let full = &words[ecall::REGISTERS..];
            frame.sepc = full[0];
            frame.registers[1..].copy_from_slice(&full[1..]);
            Ecalled::Replaced
        }
        outcome::FINISH => {
            frame.registers[A0..A0 + outcome::RESUMED].copy_from_slice(&words[..outcome::RESUMED]);
            Ecalled::Finished
        }
        _ => Ecalled::Exit,
    })
}

impl IVmKernelImpl for VmKernel {
    fn install(&self, handler: &IUnknown) -> Result<FramePool> {
        let handler = handler.query::<IVmHooks>()?;
        {
            let mut slot = HANDLER.lock();
            if slot.is_some() {
                return Err(Status::ALREADY_EXISTS);
            }
            *slot = Some(handler.clone());
        }
        user_mode::set_page_fault_hook(Some(page_fault));
        // Nothing was installed: nothing is replaced.
        drop(mmu::set_switch_hook(Some(handler)));
        let pool = mmu::frame_pool();
        Ok(FramePool {
            start: pool.start as u64,
            size: pool.len() as u64,
        })
    }

    fn remove(&self) -> Result<()> {
        if user_mode::views_in_use() {
            return Err(Status::REFUSED);
        }
        user_mode::set_page_fault_hook(None);
        let switch_hook = mmu::set_switch_hook(None);
        let handler = HANDLER.lock().take().ok_or(Status::NOT_FOUND)?;
        // Released outside the lock: it may be the module's last object.
        drop((switch_hook, handler));
        Ok(())
    }

    fn start_user_thread(
        &self,
        entry: u64,
        argument: u64,
        stack: u64,
        view: u64,
    ) -> Result<ComPtr<IThread>> {
        let view = checked_view(view)?;
        if view == View::BARE {
            let address = usize::try_from(entry).map_err(|_| Status::INVALID_ARGUMENT)?;
            crate::abi::component_code::thread_start(address).ok_or(Status::INVALID_ARGUMENT)?;
        }
        let id = user_mode::spawn(
            "user",
            entry,
            argument,
            stack,
            view,
            threads::USER_KERNEL_STACK,
        )?;
        Ok(ThreadObject::create(id))
    }

    fn set_view(&self, view: u64) -> Result<()> {
        user_mode::set_current_view(checked_view(view)?)
    }

    fn view(&self) -> Result<u64> {
        Ok(user_mode::current_view().satp())
    }

    fn view_users(&self, view: u64) -> Result<u32> {
        let view = View::from_satp(view).ok_or(Status::INVALID_ARGUMENT)?;
        Ok(u32::try_from(user_mode::view_users(view)).unwrap_or(u32::MAX))
    }

    fn flush(&self) -> Result<()> {
        mmu::flush();
        Ok(())
    }
}

/// `view` as a `View`: 0, or Sv39 rooted in the frame pool while a handler
/// (the pool's holder) is installed.
fn checked_view(view: u64) -> Result<View> {
    if view != 0 && HANDLER.lock().is_none() {
        return Err(Status::INVALID_ARGUMENT);
    }
    View::from_satp(view).ok_or(Status::INVALID_ARGUMENT)
}

/// The page-fault hook: the installed handler's answer.
fn page_fault(view: u64, address: u64, access: u32) -> Result<()> {
    let handler = HANDLER.lock().clone().ok_or(Status::ACCESS_VIOLATION)?;
    handler.page_fault(view, address, access)
}
