//! What an `ecall` from a process does (the trap ABI of docs/ipc.md):
//! exit, bind a granted name into the import table, call a method of an
//! import with its arguments copied by the method's signature, release an
//! import. Every failure is a status in `a0` for the caller; nothing here
//! trusts a register.

use alloc::vec::Vec;

use com::dynamic::{REGISTERS, Returned, call};
use com::{Guid, IUnknown, Interface, InterfaceSignature, Result, Status};
use interfaces::ipc::ecall;
use interfaces::vm::protection;
use interfaces::{IVmMapping, IVmSpace};
use marshal::{Call, UserMemory};

use crate::process::{Import, Process};

/// The interfaces a process may import: those whose methods the IPC can
/// copy the arguments of.
const IMPORTABLE: &[&InterfaceSignature] = &[
    private_interfaces::ICounter::SIGNATURE,
    private_interfaces::IHello::SIGNATURE,
    private_interfaces::IEcho::SIGNATURE,
    interfaces::IConsole::SIGNATURE,
    interfaces::IFile::SIGNATURE,
];

/// The longest name a process may bind.
const MOST_NAME: usize = 256;

/// Handles one `ecall` of `process` on its registers (`a0`..`a7`, `t0`,
/// `t1`): whether the thread goes on, and its `a0` and `a1`.
pub fn handle(process: &Process, registers: &[u64; ecall::REGISTERS]) -> (bool, u64, u64) {
    let [a0, a1, a2, a3, a4, a5, a6, a7, t0, t1] = *registers;
    let answer = match t0 {
        ecall::EXIT => {
            // The code is an `i32` in a register (sign-extended by the ABI).
            process.set_exit_code(i32::try_from(a0.cast_signed()).unwrap_or(i32::MAX));
            return (false, 0, 0);
        }
        ecall::BIND => bind(process, a0, a1, a2),
        ecall::CALL => call_import(process, a0, t1, [a1, a2, a3, a4, a5, a6, a7]),
        ecall::RELEASE => release(process, a0),
        ecall::HEAP_GROW => crate::heap::grow(process, a0),
        ecall::WAIT => crate::waits::wait(process, a0, a1, a2),
        ecall::WAKE => crate::waits::wake(process, a0, a1),
        _ => Err(Status::NOT_SUPPORTED),
    };
    match answer {
        Ok(value) => (true, 0, value),
        Err(status) => (true, i64::from(status.0) as u64, 0),
    }
}

/// Binds the granted name at `name` (`length` bytes) for the interface
/// whose IID is at `iid`; the import's handle.
fn bind(process: &Process, name: u64, length: u64, iid: u64) -> Result<u64> {
    let memory = Memory::of(process)?;
    let mut buffer = [0u8; MOST_NAME];
    let bytes = usize::try_from(length)
        .ok()
        .and_then(|length| buffer.get_mut(..length))
        .ok_or(Status::INVALID_NAME)?;
    if name == 0 {
        return Err(Status::NULL_POINTER);
    }
    memory.read(name, bytes)?;
    let name = core::str::from_utf8(bytes).map_err(|_| Status::BAD_STRING)?;
    let mut guid = Guid([0; 16]);
    if iid == 0 {
        return Err(Status::NULL_POINTER);
    }
    memory.read(iid, &mut guid.0)?;
    if !process.may_bind(name) {
        return Err(Status::ACCESS_DENIED);
    }
    let signature = IMPORTABLE
        .iter()
        .find(|signature| signature.iid == guid)
        .ok_or(Status::NOT_SUPPORTED)?;
    let object = component::namespace()?.bind(name, 0)?.query_iid(&guid)?;
    let handle = process.imports.lock().insert(Import {
        object: object.clone(),
        signature,
    })?;
    add_fast_path(process, handle, &object, signature);
    Ok(handle)
}

/// Gives the kernel the fast path of the new import `handle`, if some of
/// its methods take and return only registers. Without one, every call
/// takes the handler's path, which is slower but the same.
fn add_fast_path(
    process: &Process,
    handle: u64,
    object: &IUnknown,
    signature: &InterfaceSignature,
) {
    let descriptors: Vec<u8> = signature
        .methods
        .iter()
        .flat_map(|method| com::dynamic::describe(method).unwrap_or([0; 8]))
        .collect();
    if descriptors.iter().any(|&byte| byte != 0) {
        let _ = crate::traps().and_then(|traps| {
            traps.add_fast_path(process.thread_id(), handle, object, &descriptors)
        });
    }
}

/// Releases import `handle`: its fast path first, so a call with the
/// handle from then on finds the slot freed (`STALE_HANDLE`).
fn release(process: &Process, handle: u64) -> Result<u64> {
    let traps = crate::traps()?;
    traps.remove_fast_path(process.thread_id(), handle)?;
    process.imports.lock().remove(handle).map(|_| 0)
}

/// Calls method `method` of import `handle` with the argument registers
/// `registers`; a scalar result (0 for others).
fn call_import(
    process: &Process,
    handle: u64,
    method: u64,
    registers: [u64; REGISTERS],
) -> Result<u64> {
    let (object, signature) = {
        let imports = process.imports.lock();
        let import = imports.get(handle)?;
        (import.object.clone(), import.signature)
    };
    let index = usize::try_from(method).map_err(|_| Status::INVALID_ARGUMENT)?;
    let declared = signature
        .methods
        .get(index)
        .ok_or(Status::INVALID_ARGUMENT)?;
    // The migration record: the thread is in the server's space until it
    // comes back (the kernel's space here, which every space maps). Calls
    // the kernel's fast path makes leave none.
    process.in_call.lock().push((handle, method));
    let result = match com::dynamic::describe(declared) {
        Some(descriptor) => {
            let [a1, a2, a3, a4, a5, a6, a7] = registers;
            let words = [a1, a2, a3, a4, a5, a6, a7];
            com::dynamic::call_registers(&object, index, &descriptor, &words)
        }
        None => copied_call(process, &object, signature, index, &registers),
    };
    process.in_call.lock().pop();
    result
}

/// A call with buffers or strings: copied in, called, copied back.
fn copied_call(
    process: &Process,
    object: &IUnknown,
    signature: &'static InterfaceSignature,
    index: usize,
    registers: &[u64; REGISTERS],
) -> Result<u64> {
    let declared = signature
        .methods
        .get(index)
        .ok_or(Status::INVALID_ARGUMENT)?;
    let memory = Memory::of(process)?;
    let mut decoded = Call::decode(declared, registers, &memory)?;
    let mut returned = Returned::new();
    {
        let (mut args, count) = decoded.args();
        let args = args.get_mut(..count).ok_or(Status::INVALID_ARGUMENT)?;
        call(object, signature, index, args, &mut returned).check()?;
    }
    decoded.copy_out(&returned, &memory)?;
    Ok(match declared.ret {
        Some(kind) if marshal::is_scalar(kind) => marshal::scalar(kind, returned.word())?,
        _ => 0,
    })
}

/// A process's memory, through its space: every access is the manager's,
/// as far as the space's regions allow.
pub struct Memory {
    mapping: com::ComPtr<IVmMapping>,
    space: com::ComPtr<IVmSpace>,
}

impl Memory {
    pub fn of(process: &Process) -> Result<Memory> {
        Ok(Memory {
            mapping: process.memory()?,
            space: process.space()?,
        })
    }
}

impl UserMemory for Memory {
    fn read(&self, address: u64, buffer: &mut [u8]) -> Result<()> {
        self.check(address, buffer.len() as u64, protection::READ)?;
        match self.mapping.read(address, buffer)? {
            read if read == buffer.len() => Ok(()),
            _ => Err(Status::OUT_OF_RANGE),
        }
    }

    fn check_writable(&self, address: u64, length: u64) -> Result<()> {
        self.check(address, length, protection::WRITE)
    }

    fn write(&self, address: u64, data: &[u8]) -> Result<()> {
        self.check(address, data.len() as u64, protection::WRITE)?;
        match self.mapping.write(address, data)? {
            written if written == data.len() => Ok(()),
            _ => Err(Status::OUT_OF_RANGE),
        }
    }
}

impl Memory {
    /// An error unless every byte of `[address, address + length)` lies in
    /// regions of the space allowing `access` to U-mode.
    fn check(&self, address: u64, length: u64, access: u32) -> Result<()> {
        let end = address.checked_add(length).ok_or(Status::OUT_OF_RANGE)?;
        let mut at = address;
        while at < end {
            let region = self
                .space
                .query_region(at)
                .map_err(|_| Status::OUT_OF_RANGE)?;
            if region.protection & access != access {
                return Err(Status::ACCESS_DENIED);
            }
            at = region
                .start
                .checked_add(region.size)
                .ok_or(Status::OUT_OF_RANGE)?;
        }
        Ok(())
    }
}
