//! What an `ecall` from a process does (the trap ABI of docs/ipc.md):
//! exit, bind a granted name into the import table, call a method of an
//! import with its arguments copied by the method's signature (an object
//! of the kernel's space called here, interface pointers lent to it and
//! given back from it), release an import. Every failure is a status in `a0` for the caller; nothing here
//! trusts a register.

use alloc::sync::Arc;
use alloc::vec::Vec;

use com::dynamic::{REGISTERS, Returned, call};
use com::{
    ArgKind, ArgSignature, ComPtr, Guid, IUnknown, Interface, InterfaceSignature, MethodSignature,
    Result, Status,
};
use interfaces::ipc::ecall;
use interfaces::vm::protection;
use interfaces::{IEndpoint, IVmSpace};
use marshal::{Call, UserMemory};

use crate::process::{Import, Process, Target};
use crate::serve;
use crate::view::View;

/// The interfaces a process may import: those whose methods the IPC can
/// copy the arguments of.
const IMPORTABLE: &[&InterfaceSignature] = &[
    private_interfaces::ICounter::SIGNATURE,
    private_interfaces::IHello::SIGNATURE,
    private_interfaces::IEcho::SIGNATURE,
    private_interfaces::ICallback::SIGNATURE,
    private_interfaces::IRelay::SIGNATURE,
    private_interfaces::IObjectHost::SIGNATURE,
    interfaces::IConsole::SIGNATURE,
    interfaces::IFile::SIGNATURE,
    interfaces::INamespace::SIGNATURE,
    // What a view's `bind` gives, to be asked for an interface.
    IUnknown::SIGNATURE,
];

/// The name a process binds for its namespace (`crate::view`).
const VIEW_NAME: &str = "/";

/// The signature of importable interface `iid`; `NOT_SUPPORTED` for
/// others.
pub fn importable(iid: Guid) -> Result<&'static InterfaceSignature> {
    IMPORTABLE
        .iter()
        .find(|signature| signature.iid == iid)
        .copied()
        .ok_or(Status::NOT_SUPPORTED)
}

/// What a call into a process's object for its `QueryInterface` copies:
/// the IID in, an interface pointer out (`ecall::QUERY_METHOD`).
pub static QUERY_INTERFACE: MethodSignature = MethodSignature {
    name: "QueryInterface",
    args: &[ArgSignature {
        name: "iid",
        kind: ArgKind::Guid,
    }],
    ret: Some(ArgKind::OwnedInterface(IUnknown::IID)),
};

/// What a call into a process's object for its `Release` copies: nothing
/// (`ecall::RELEASE_METHOD`).
pub static RELEASE: MethodSignature = MethodSignature {
    name: "Release",
    args: &[],
    ret: None,
};

/// The longest name a process may bind.
const MOST_NAME: usize = 256;

/// What the thread does after an `ecall`.
pub enum Answer {
    /// Goes on after it with this `a0`, `a1` and `a2`.
    Resume(u64, u64, u64),
    /// Goes on with the whole register set the handler set.
    Replace,
    /// Ends.
    Exit,
    /// Ends the run of a kernel thread calling a process's object, with
    /// this status.
    Finish(Status),
}

/// Handles one `ecall` (or interruption) of the thread of `home` on its
/// registers `asked` (`a0`..`a7`, `t0`, `t1`) and `full` (`pc`, `x1`..
/// `x31`, which a call into or back from another process replaces).
pub fn handle(
    home: &Arc<Process>,
    asked: &[u64; ecall::REGISTERS],
    full: &mut [u64; ecall::FULL],
) -> Answer {
    let [a0, a1, a2, a3, a4, _, _, _, t0, t1] = *asked;
    // A call whose server is gone or whose time is up ends first, whatever
    // the thread asked.
    if let Some(status) = serve::abandoned(home) {
        return left(home, status, full);
    }
    let process = serve::current(home);
    // In another process's space (a callback into `home` runs in its own).
    let migrated = !Arc::ptr_eq(&process, home);
    let in_call = !home.calls.lock().is_empty();
    let answer = match t0 {
        ecall::EXIT if migrated => {
            // The server's code ended its process on a caller's thread.
            process.set_exit_code(i32::try_from(a0.cast_signed()).unwrap_or(i32::MAX));
            let _ = process.kill();
            return left(home, Status::KILLED, full);
        }
        ecall::EXIT => {
            // The code is an `i32` in a register (sign-extended by the ABI).
            process.set_exit_code(i32::try_from(a0.cast_signed()).unwrap_or(i32::MAX));
            // Threads running calls in it go back to their callers.
            crate::interrupt_callers_of(&process);
            return Answer::Exit;
        }
        ecall::BIND => bind(&process, a0, a1, a2),
        ecall::CALL => match call_import(home, &process, asked, full) {
            Ok(Called::Here(value, stored)) => return Answer::Resume(0, value, stored),
            Ok(Called::Entered) => return Answer::Replace,
            Err(status) => Err(status),
        },
        ecall::RELEASE => match release(home, &process, a0, full) {
            Ok(Called::Entered) => return Answer::Replace,
            Ok(Called::Here(value, _)) => Ok(value),
            Err(status) => Err(status),
        },
        ecall::QUERY => match query(home, &process, a0, a1, full) {
            Ok(Called::Entered) => return Answer::Replace,
            Ok(Called::Here(handle, _)) => Ok(handle),
            Err(status) => Err(status),
        },
        ecall::RUNTIME if !in_call => process.set_runtime(a0, a1),
        ecall::REGISTER => register(&process, [a0, a1, a2, a3, a4]),
        ecall::RETURN if in_call => {
            let status = Status(i32::try_from(a0.cast_signed()).unwrap_or(Status::FAILED.0));
            return left(home, status, full);
        }
        ecall::SERVE if !in_call => serve::park(&process),
        ecall::TIMEOUT => set_timeout(&process, a0, a1),
        ecall::HEAP_GROW => crate::heap::grow(&process, a0),
        ecall::WAIT => crate::waits::wait(&process, a0, a1, a2),
        ecall::WAKE => crate::waits::wake(&process, a0, a1),
        ecall::INTERRUPTED => return interrupted(home, &process, migrated, t1, full),
        _ => Err(Status::NOT_SUPPORTED),
    };
    match answer {
        Ok(value) => Answer::Resume(0, value, 0),
        Err(status) => failed(status),
    }
}

/// The answer of an `ecall` that failed with `status`.
fn failed(status: Status) -> Answer {
    Answer::Resume(i64::from(status.0) as u64, 0, 0)
}

/// Ends the innermost call of `home`'s thread with `status`.
fn left(home: &Arc<Process>, status: Status, full: &mut [u64; ecall::FULL]) -> Answer {
    match serve::leave(home, status, full) {
        Ok(serve::Left::Replaced) => Answer::Replace,
        Ok(serve::Left::Finished(status)) => Answer::Finish(status),
        Err(status) => failed(status),
    }
}

/// The thread was interrupted (`why`: `OK` as asked, or the status an
/// exception would end it with). An exception in a server's code on a
/// caller's thread ends the server and the call (`KILLED` for the
/// caller); the server's own thread faulting marks its process ending.
fn interrupted(
    home: &Arc<Process>,
    process: &Arc<Process>,
    migrated: bool,
    why: u64,
    full: &mut [u64; ecall::FULL],
) -> Answer {
    if why == 0 {
        return Answer::Resume(0, 0, 0);
    }
    if migrated {
        let _ = process.kill();
        return left(home, Status::KILLED, full);
    }
    home.set_ending();
    crate::interrupt_callers_of(home);
    Answer::Resume(0, 0, 0)
}

/// Registers `[name, length, iid, object, dispatch]` for `process`.
fn register(process: &Process, [name, length, iid, object, dispatch]: [u64; 5]) -> Result<u64> {
    let memory = Memory::of(process)?;
    let mut buffer = [0u8; MOST_NAME];
    let name = read_name(&memory, name, length, &mut buffer)?;
    let guid = read_iid(&memory, iid)?;
    serve::register(process, name, importable(guid)?, object, dispatch)
}

/// Sets import `handle`'s timeout to `milliseconds`.
fn set_timeout(process: &Process, handle: u64, milliseconds: u64) -> Result<u64> {
    let mut imports = process.imports.lock();
    let import = imports.get_mut(process.table_handle(handle)?)?;
    import.timeout = milliseconds;
    Ok(0)
}

/// The name at `name` (`length` bytes) in `memory`, read into `buffer`.
fn read_name<'a>(
    memory: &Memory,
    name: u64,
    length: u64,
    buffer: &'a mut [u8; MOST_NAME],
) -> Result<&'a str> {
    let bytes = usize::try_from(length)
        .ok()
        .and_then(|length| buffer.get_mut(..length))
        .ok_or(Status::INVALID_NAME)?;
    if name == 0 {
        return Err(Status::NULL_POINTER);
    }
    memory.read(name, bytes)?;
    core::str::from_utf8(bytes).map_err(|_| Status::BAD_STRING)
}

/// The IID at `iid` in `memory`.
fn read_iid(memory: &Memory, iid: u64) -> Result<Guid> {
    let mut guid = Guid([0; 16]);
    if iid == 0 {
        return Err(Status::NULL_POINTER);
    }
    memory.read(iid, &mut guid.0)?;
    Ok(guid)
}

/// Binds the granted name at `name` (`length` bytes) for the interface
/// whose IID is at `iid`; the import's handle. `/` is the process's
/// namespace (`crate::view`).
fn bind(process: &Arc<Process>, name: u64, length: u64, iid: u64) -> Result<u64> {
    let memory = Memory::of(process)?;
    let mut buffer = [0u8; MOST_NAME];
    let name = read_name(&memory, name, length, &mut buffer)?;
    let guid = read_iid(&memory, iid)?;
    // Refused before anything else is told about the name.
    if name != VIEW_NAME && !process.may_bind(name) {
        return Err(Status::ACCESS_DENIED);
    }
    let signature = importable(guid)?;
    if name == VIEW_NAME {
        let view = com::ComObject::try_create::<interfaces::INamespace>(View::of(process))?;
        return import_kernel(process, view.as_unknown(), signature);
    }
    let object = component::namespace()?.bind(name, 0)?;
    import_kernel(process, &object, signature)
}

/// Imports the `signature` interface of `object`, in the kernel's space,
/// with its fast path; its handle. An endpoint a process serves gives an
/// import of the endpoint (of its served interface, or `IUnknown`).
fn import_kernel(
    process: &Process,
    object: &IUnknown,
    signature: &'static InterfaceSignature,
) -> Result<u64> {
    if let Ok(endpoint) = object.query::<IEndpoint>() {
        let (server, endpoint) = crate::served(&endpoint).ok_or(Status::STALE_HANDLE)?;
        let (_, _, served) = serve::callee(&server, endpoint)?;
        if served.iid != signature.iid && signature.iid != IUnknown::IID {
            return Err(Status::NO_INTERFACE);
        }
        return serve::import_endpoint(process, &server, endpoint, signature);
    }
    let object = object.query_iid(&signature.iid)?;
    let handle = insert(process, Target::Kernel(object.clone()), signature)?;
    add_fast_path(process, handle, &object, signature);
    Ok(handle)
}

/// Puts an import of `target` in `process`'s table; its handle.
pub fn insert(
    process: &Process,
    target: Target,
    signature: &'static InterfaceSignature,
) -> Result<u64> {
    let handle = process.imports.lock().insert(Import {
        target,
        signature,
        timeout: 0,
    })?;
    Ok(process.handle(handle))
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
/// handle from then on finds the slot freed (`STALE_HANDLE`). The last
/// import of an object a process made for its callers (an owned result)
/// frees its endpoint and runs the object's `Release` in that process,
/// on this thread (`Entered`).
fn release(
    home: &Process,
    process: &Arc<Process>,
    handle: u64,
    full: &mut [u64; ecall::FULL],
) -> Result<Called> {
    let table_handle = process.table_handle(handle)?;
    let traps = crate::traps()?;
    traps.remove_fast_path(process.thread_id(), handle)?;
    let import = process.imports.lock().remove(table_handle)?;
    let Target::Process { server, endpoint } = import.target else {
        return Ok(Called::Here(0, 0));
    };
    let Some(export) = serve::forget_import(&server, endpoint) else {
        return Ok(Called::Here(0, 0));
    };
    let request = serve::Request {
        server,
        object: export.object,
        dispatch: export.dispatch,
        method: ecall::RELEASE_METHOD,
        declared: &RELEASE,
        owned: None,
        timeout: import.timeout,
    };
    let memory = Memory::of(process)?;
    match serve::enter(home, process, request, (&[0; REGISTERS], &memory), full) {
        Ok(()) => Ok(Called::Entered),
        // The server is ending: its object goes with it.
        Err(_) => Ok(Called::Here(0, 0)),
    }
}

/// Asks the object of import `handle` for the interface whose IID is at
/// `iid`: a new import of it (`Here`), or, for an object another process
/// serves that is not of that interface, a call of its
/// `QueryInterface` in that process (`Entered`), whose result becomes the
/// import.
fn query(
    home: &Process,
    process: &Arc<Process>,
    handle: u64,
    iid: u64,
    full: &mut [u64; ecall::FULL],
) -> Result<Called> {
    let memory = Memory::of(process)?;
    let guid = read_iid(&memory, iid)?;
    let signature = importable(guid)?;
    let (target, timeout) = {
        let imports = process.imports.lock();
        let import = imports.get(process.table_handle(handle)?)?;
        (import.target.clone(), import.timeout)
    };
    let (server, endpoint) = match target {
        Target::Kernel(object) => {
            return Ok(Called::Here(import_kernel(process, &object, signature)?, 0));
        }
        Target::Process { server, endpoint } => (server, endpoint),
    };
    let (object, dispatch, served) = serve::callee(&server, endpoint)?;
    if served.iid == guid {
        return Ok(Called::Here(
            serve::import_endpoint(process, &server, endpoint, signature)?,
            0,
        ));
    }
    let request = serve::Request {
        server,
        object,
        dispatch,
        method: ecall::QUERY_METHOD,
        declared: &QUERY_INTERFACE,
        owned: Some(signature),
        timeout,
    };
    let mut arguments = [0; REGISTERS];
    arguments[0] = iid;
    serve::enter(home, process, request, (&arguments, &memory), full)?;
    Ok(Called::Entered)
}

/// How a call went.
enum Called {
    /// Made in the kernel's space: its value, and what the stub stores of
    /// it (`a2`).
    Here(u64, u64),
    /// The thread entered the server's space (its registers are set).
    Entered,
}

/// Calls method `t1` of import `a0` of `process` with the argument
/// registers `a1`..`a7` for the thread of `home`.
fn call_import(
    home: &Process,
    process: &Arc<Process>,
    asked: &[u64; ecall::REGISTERS],
    full: &mut [u64; ecall::FULL],
) -> Result<Called> {
    let (handle, method) = (asked[0], asked[ecall::T1]);
    let (target, signature, timeout) = {
        let imports = process.imports.lock();
        let import = imports.get(process.table_handle(handle)?)?;
        (import.target.clone(), import.signature, import.timeout)
    };
    let index = usize::try_from(method).map_err(|_| Status::INVALID_ARGUMENT)?;
    let declared = signature
        .methods
        .get(index)
        .ok_or(Status::INVALID_ARGUMENT)?;
    let mut registers = [0u64; REGISTERS];
    registers.copy_from_slice(&asked[1..8]);
    let object = match target {
        Target::Kernel(object) => object,
        Target::Process { server, endpoint } => {
            let (object, dispatch, _) = serve::callee(&server, endpoint)?;
            let request = serve::Request {
                server,
                object,
                dispatch,
                method,
                declared,
                owned: None,
                timeout,
            };
            let memory = Memory::of(process)?;
            serve::enter(home, process, request, (&registers, &memory), full)?;
            return Ok(Called::Entered);
        }
    };
    // The server is an object in the kernel's space, which every space
    // maps: the thread runs it on its kernel stack and no record is needed
    // (as on the kernel's fast path).
    let value = match com::dynamic::describe(declared) {
        Some(descriptor) => com::dynamic::call_registers(&object, index, &descriptor, &registers),
        None => copied_call(process, &object, signature, index, &registers),
    }?;
    Ok(Called::Here(value, marshal::stored_result(declared)))
}

/// A call with buffers, strings or interface pointers: copied in, called,
/// copied back. A borrowed interface pointer becomes a kernel-space
/// pointer for the call's length ([`lend_to_kernel`]); an owned interface
/// result becomes an import of the caller's, its handle the value.
fn copied_call(
    process: &Arc<Process>,
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
    let mut lent = Vec::new();
    let mut returned = Returned::new();
    let called = decoded
        .interfaces()
        .map(|(iid, word)| lend_to_kernel(process, iid, word, &mut lent))
        .collect::<Result<Vec<_>>>()
        .and_then(|interfaces| {
            let (mut args, count) = decoded.args(&interfaces);
            let args = args.get_mut(..count).ok_or(Status::INVALID_ARGUMENT)?;
            call(object, signature, index, args, &mut returned).check()
        });
    // The kernel pointers are gone (unless the callee kept one): what the
    // process lent goes back, and a kept pointer's calls fail.
    serve::revoke_endpoints(process, &lent);
    called?;
    decoded.copy_out(&returned, &memory)?;
    match declared.ret {
        Some(ArgKind::OwnedInterface(iid)) => {
            let given = returned.take_interface().ok_or(Status::NULL_POINTER)?;
            import_kernel(process, &given, importable(iid)?)
        }
        Some(kind) if marshal::is_scalar(kind) => marshal::scalar(kind, returned.word()),
        _ => Ok(0),
    }
}

/// A kernel-space pointer of interface `iid` for the interface pointer
/// `word` a process passes a kernel object: the object behind the
/// process's proxy of a kernel import; a kernel-space proxy of what its
/// proxy of another process's object imports; or, for the process's own
/// object, a kernel-space proxy of an unnamed endpoint of it, lent for
/// the call (recorded in `lent`). `INVALID_ARGUMENT` for a proxy of
/// another interface; errors as `serve::proxy_of` for memory it may not
/// read.
fn lend_to_kernel(
    process: &Arc<Process>,
    iid: Guid,
    word: u64,
    lent: &mut Vec<u64>,
) -> Result<ComPtr<IUnknown>> {
    let signature = importable(iid)?;
    match serve::proxy_of(process, word)? {
        Some((_, proxied)) if proxied != iid => Err(Status::INVALID_ARGUMENT),
        Some((Target::Kernel(object), _)) => Ok(object),
        Some((Target::Process { server, endpoint }, _)) => {
            crate::kernel_calls::proxy(server, endpoint, signature, 0)
        }
        None => {
            lent.try_reserve(1).map_err(|_| Status::OUT_OF_MEMORY)?;
            let endpoint = serve::lend_object(process, word, signature)?;
            lent.push(endpoint);
            crate::kernel_calls::proxy(process.clone(), endpoint, signature, 0)
        }
    }
}

/// A process's memory, through its space: every access is the manager's,
/// all or nothing, and only where the space's regions allow it — each
/// range checked in one call, and a copy checked with it, under the
/// manager's lock (no region can go between the check and the copy).
pub struct Memory {
    space: com::ComPtr<IVmSpace>,
}

impl Memory {
    /// `process`'s memory; `STALE_HANDLE` once it is freed.
    pub fn of(process: &Process) -> Result<Memory> {
        Ok(Memory {
            space: process.space()?,
        })
    }
}

impl UserMemory for Memory {
    fn read(&self, address: u64, buffer: &mut [u8]) -> Result<()> {
        self.space.read_checked(address, buffer)
    }

    fn check_writable(&self, address: u64, length: u64) -> Result<()> {
        self.space.check_access(address, length, protection::WRITE)
    }

    fn write(&self, address: u64, data: &[u8]) -> Result<()> {
        self.space.write_checked(address, data)
    }
}
