//! Processes serving objects: registering an endpoint under a name, and
//! calls into another process's space, made by the calling thread itself.
//!
//! A call on an import whose target is a process *migrates* the calling
//! thread: its whole register set is saved in a [`Migration`] record on
//! the heap (in its home process's `calls`), the arguments are copied
//! from the caller's space onto a call stack in the server's space, the
//! thread's view becomes the server's and it returns to U-mode at the
//! server's dispatch entry. The server's `RETURN` copies the results back,
//! pops the record, switches the view back and resumes the caller after
//! its `ecall`. No Rust frame is held across the hop: each step is one
//! `ecall` (or interruption) handled from the record alone, so a caller
//! or server that dies between steps leaves only a record to drop.
//!
//! Interface pointers travel too: a borrowed one a call passes is lent to
//! the server as an import (of the caller's own object, exported as an
//! unnamed endpoint, or of what the caller's proxy imports) for the
//! call's length; an owned one a method gives back becomes an import of
//! the caller's (of an owned endpoint of the server, whose object the
//! last release has the server `Release`). A call on a lent import is a
//! callback: the thread migrates back into the caller, records nesting.

use alloc::string::String;
use alloc::sync::Arc;

use com::{
    ArgKind, ComObject, ComPtr, Guid, IUnknown, Interface, InterfaceSignature, MethodSignature,
    Result, Status, class,
};
use interfaces::ipc::{FP_BYTES, ecall};
use interfaces::namespace::flags;
use interfaces::vm::protection;
use interfaces::{IEndpoint, IEndpointImpl, IVmFactory};
use marshal::{Call, ServerStack, UserMemory};

use crate::calls::Memory;
use crate::process::{Export, Import, Process, Target};

/// The top of the call stacks in a serving process's space: call stack
/// `n` is the [`CALL_STACK`] bytes ending `n` strides below it.
pub const CALL_STACKS_TOP: u64 = 0x3_0000_0000;
/// Bytes of one call stack.
pub const CALL_STACK: u64 = 64 * 1024;
/// From one call stack to the next: a stack and an unmapped guard page.
const STRIDE: u64 = CALL_STACK + 4096;
/// The most calls in one process at once (one stack each).
const MOST_CALLS: u32 = 16;

/// A thread's floating-point registers as the kernel exchanges them
/// (`IUserTraps::exchange_fp`), 8-byte aligned so that it moves them a
/// word at a time rather than a byte.
#[repr(C, align(8))]
pub struct FpRegisters(pub [u8; FP_BYTES]);

/// One call of a thread into another process, from the `CALL` that made
/// it to the `RETURN` that ends it.
pub struct Migration {
    /// The process whose space the call came from.
    pub caller: Arc<Process>,
    /// The process it runs in.
    pub server: Arc<Process>,
    /// The caller's registers at its `ecall` (`pc`, `x1`..`x31`).
    pub saved: [u64; ecall::FULL],
    /// The caller's floating-point registers, the thread's again when
    /// the call ends (the server's code starts with zeros).
    pub fp: FpRegisters,
    /// The arguments, for copying the results back.
    pub call: Call,
    /// The method's result kind, and where its result area is.
    pub ret: Option<ArgKind>,
    pub result: u64,
    /// What the caller's stub stores of the result (`a2`).
    pub stored: u64,
    /// For an owned interface result: the interface it is of.
    pub owned: Option<&'static InterfaceSignature>,
    /// What the call lent the server: revoked when it ends.
    pub lent: Lent,
    /// The server's call stack it runs on.
    pub stack: u32,
    /// When it times out (the scheduler's ticks; `u64::MAX`: never).
    pub deadline: u64,
}

/// What a call lends its server for the interface pointers among its
/// arguments: imports in the server's table, and unnamed endpoints of the
/// caller's own objects. Borrowed pointers last as long as the call.
#[derive(Default)]
pub struct Lent {
    /// Import handles in the server's table.
    pub imports: alloc::vec::Vec<u64>,
    /// Endpoint handles in the caller's table.
    pub exports: alloc::vec::Vec<u64>,
}

/// What a call into a process runs: which object, and how.
pub struct Request {
    /// The process serving the object.
    pub server: Arc<Process>,
    /// The object's address there, and the process's dispatch entry.
    pub object: u64,
    pub dispatch: u64,
    /// The method number the dispatch entry gets (`t1`).
    pub method: u64,
    /// How its arguments are copied.
    pub declared: &'static MethodSignature,
    /// The interface of an owned interface result it gives (`None`: from
    /// `declared`'s result kind).
    pub owned: Option<&'static InterfaceSignature>,
    /// Its timeout, in milliseconds (0: none).
    pub timeout: u64,
}

/// What the namespace holds for an endpoint: binding its name from a
/// process imports the endpoint; from the kernel's space, asking it for
/// the served interface gives a kernel-space proxy (`crate::kernel_calls`).
#[class(IEndpoint, query(EndpointObject::proxy_for))]
pub struct EndpointObject {
    server: u64,
    /// The name it is registered under (its endpoint's, unique).
    name: String,
}

impl EndpointObject {
    /// A kernel-space proxy for `iid` if it is the served interface (with
    /// no timeout): `QueryInterface`'s answer beyond `IEndpoint`.
    fn proxy_for(&self, iid: &Guid) -> Option<ComPtr<com::IUnknown>> {
        self.proxy_with(*iid, 0).ok()
    }

    /// A kernel-space proxy of the served interface, if it is `iid` (any
    /// with `None`), whose calls time out after `timeout` milliseconds.
    fn proxy_with(&self, iid: Guid, timeout: u64) -> Result<ComPtr<com::IUnknown>> {
        let (server, endpoint) = crate::served_by(self.server, &self.name)?;
        let (_, _, signature) = callee(&server, endpoint)?;
        if signature.iid != iid && iid != Guid([0; 16]) {
            return Err(Status::NO_INTERFACE);
        }
        crate::kernel_calls::proxy(server, endpoint, signature, timeout)
    }
}

impl IEndpointImpl for EndpointObject {
    fn server(&self) -> Result<u64> {
        Ok(self.server)
    }

    fn proxy(&self, timeout: u64) -> Result<ComPtr<com::IUnknown>> {
        self.proxy_with(Guid([0; 16]), timeout)
    }
}

/// Registers the object at `object` of `process` (an `I` of `signature`)
/// under `name`, called through `dispatch`; its endpoint's handle.
pub fn register(
    process: &Process,
    name: &str,
    signature: &'static InterfaceSignature,
    object: u64,
    dispatch: u64,
) -> Result<u64> {
    if !process.may_register(name) {
        return Err(Status::ACCESS_DENIED);
    }
    let holder: ComPtr<IEndpoint> = ComObject::try_create(EndpointObject {
        server: process.id(),
        name: String::from(name),
    })?;
    let endpoint = process.exports.lock().insert(Export {
        object,
        signature,
        dispatch,
        name: String::from(name),
        holder: Some(holder.clone()),
        owned: false,
        imports: 0,
    })?;
    let registered = component::namespace()
        .and_then(|namespace| namespace.register(name, holder.as_unknown(), flags::FAIL_IF_EXISTS));
    if let Err(status) = registered {
        drop(process.exports.lock().remove(endpoint));
        return Err(status);
    }
    Ok(process.handle(endpoint))
}

/// The process serving `object` (an `IEndpoint` the namespace gave), and
/// the endpoint, if `object` is one of the live processes'.
pub fn served(object: &IEndpoint, processes: &[Arc<Process>]) -> Option<(Arc<Process>, u64)> {
    let id = object.server().ok()?;
    served_where(id, processes, |export| {
        export
            .holder
            .as_ref()
            .is_some_and(|holder| holder.as_raw() == object.as_raw())
    })
}

/// The endpoint of process `id` among `processes` that `is` picks out,
/// and its server.
pub fn served_where(
    id: u64,
    processes: &[Arc<Process>],
    is: impl Fn(&Export) -> bool,
) -> Option<(Arc<Process>, u64)> {
    let server = processes.iter().find(|process| process.id() == id)?;
    let exports = server.exports.lock();
    let endpoint = exports.find(&is)?;
    Some((server.clone(), server.handle(endpoint)))
}

/// A call stack of `server`: its number, mapped.
fn take_call_stack(server: &Process) -> Result<u32> {
    let mut stacks = server.call_stacks.lock();
    let (used, mapped) = *stacks;
    let number = (!used).trailing_zeros();
    if number >= MOST_CALLS {
        return Err(Status::REFUSED);
    }
    if mapped & 1 << number == 0 {
        let factory = component::namespace()?
            .bind(interfaces::vm::MANAGER_PATH, 0)?
            .query::<IVmFactory>()?;
        let stack = factory.create_zero_mapping(CALL_STACK)?;
        server.space()?.map(
            stack_top(number) - CALL_STACK,
            stack.as_unknown(),
            0,
            CALL_STACK,
            protection::READ | protection::WRITE,
        )?;
    }
    *stacks = (used | 1 << number, mapped | 1 << number);
    Ok(number)
}

/// The top of call stack `number`.
fn stack_top(number: u32) -> u64 {
    CALL_STACKS_TOP - u64::from(number) * STRIDE
}

impl Process {
    /// Gives call stack `number` back.
    pub fn free_call_stack(&self, number: u32) {
        self.call_stacks.lock().0 &= !(1 << number);
    }
}

/// Lays a call's arguments out down from a call stack's top.
struct Stack<'a> {
    memory: &'a Memory,
    top: u64,
    bottom: u64,
}

impl ServerStack for Stack<'_> {
    fn push(&mut self, data: &[u8]) -> Result<u64> {
        let at = self
            .top
            .checked_sub(data.len() as u64)
            .ok_or(Status::OUT_OF_RANGE)?
            & !7;
        if at < self.bottom {
            return Err(Status::OUT_OF_RANGE);
        }
        if !data.is_empty() {
            self.memory.write(at, data)?;
        }
        self.top = at;
        Ok(at)
    }
}

/// The object, dispatch entry and signature of `server`'s endpoint
/// `endpoint`; `KILLED` once the server is ending (its endpoints may be
/// freed already).
pub fn callee(server: &Process, endpoint: u64) -> Result<(u64, u64, &'static InterfaceSignature)> {
    if server.is_ending() {
        return Err(Status::KILLED);
    }
    let exports = server.exports.lock();
    let export = exports.get(server.table_handle(endpoint)?)?;
    Ok((export.object, export.dispatch, export.signature))
}

/// Starts `request` for the thread of `home`, now in `caller`'s space,
/// with the caller's argument registers `arguments` (`a1`..`a7`, reaching
/// into `memory`: the caller's) and registers `full`; on success `full`
/// holds the registers the thread enters the server with.
pub fn enter(
    home: &Process,
    caller: &Arc<Process>,
    request: Request,
    (arguments, memory): (&[u64; com::dynamic::REGISTERS], &impl UserMemory),
    full: &mut [u64; ecall::FULL],
) -> Result<()> {
    let server = &request.server;
    if server.is_ending() {
        return Err(Status::KILLED);
    }
    let declared = request.declared;
    let owned = match (request.owned, declared.ret) {
        (Some(owned), _) => Some(owned),
        (None, Some(ArgKind::OwnedInterface(iid))) => Some(crate::calls::importable(iid)?),
        (None, _) => None,
    };
    let mut call = Call::decode(declared, arguments, memory)?;
    let mut lent = Lent::default();
    let handles = call.translate(|iid, word| {
        if caller.is_kernel() {
            lend_kernel(server, iid, memory.object(word)?, &mut lent)
        } else {
            lend(caller, server, iid, word, &mut lent)
        }
    });
    let handles = match handles {
        Ok(handles) => handles,
        Err(status) => {
            revoke_lent(caller, server, &lent);
            return Err(status);
        }
    };
    let stack = match take_call_stack(server) {
        Ok(stack) => stack,
        Err(status) => {
            revoke_lent(caller, server, &lent);
            return Err(status);
        }
    };
    let laid = Memory::of(server).and_then(|memory| {
        let mut place = Stack {
            memory: &memory,
            top: stack_top(stack),
            bottom: stack_top(stack) - CALL_STACK,
        };
        let laid = call.lay_out(&mut place)?;
        Ok((laid, place.top & !15))
    });
    let mut fp = FpRegisters([0; FP_BYTES]);
    let ((registers, result), sp) = match laid.and_then(|laid| {
        server.view()?.switch_to()?;
        if let Err(status) = exchange_fp(home, &mut fp) {
            // (A kernel caller has no view here: its own puts it back.)
            let _ = caller.view().and_then(|view| view.switch_to());
            return Err(status);
        }
        Ok(laid)
    }) {
        Ok(laid) => laid,
        Err(status) => {
            server.free_call_stack(stack);
            revoke_lent(caller, server, &lent);
            return Err(status);
        }
    };
    let deadline = deadline_after(request.timeout);
    let record = Migration {
        caller: caller.clone(),
        server: server.clone(),
        saved: *full,
        fp,
        call,
        ret: declared.ret,
        result,
        stored: marshal::stored_result(declared),
        owned,
        lent,
        stack,
        deadline,
    };
    home.calls.lock().push(record);
    if deadline != u64::MAX {
        let _ = crate::traps().and_then(|traps| traps.interrupt_at(home.thread_id(), deadline));
    }
    // The server's code starts clean: nothing of the caller's registers.
    *full = [0; ecall::FULL];
    full[0] = request.dispatch;
    full[2] = sp;
    full[6] = request.method;
    full[10] = request.object;
    full[11..18].copy_from_slice(&registers);
    full[28] = handles;
    Ok(())
}

/// The server's import handle for the interface pointer `word` (an `iid`)
/// a call from `caller` passes: one of the caller's proxies gives an
/// import of the same target; anything else is the caller's own object,
/// lent as an unnamed endpoint of the caller. Recorded in `lent`.
/// `OUT_OF_RANGE` (or `ACCESS_DENIED`) unless `word` is readable memory of
/// the caller; `INVALID_ARGUMENT` for a proxy of another interface or of
/// no import of the caller.
fn lend(
    caller: &Arc<Process>,
    server: &Process,
    iid: Guid,
    word: u64,
    lent: &mut Lent,
) -> Result<u64> {
    let signature = crate::calls::importable(iid)?;
    let handle = match proxy_of(caller, word)? {
        Some(target) => import_target(server, target, signature)?,
        None => {
            let endpoint = lend_object(caller, word, signature)?;
            lent.exports.push(endpoint);
            import_endpoint(server, caller, endpoint, signature)?
        }
    };
    lent.imports.push(handle);
    Ok(handle)
}

/// A new unnamed endpoint of `caller` for its own object at `word` (of
/// `signature`), lent for one call; `NOT_SUPPORTED` when `caller` has no
/// dispatch entry to serve it by. [`revoke_endpoints`] takes it back.
pub fn lend_object(
    caller: &Arc<Process>,
    word: u64,
    signature: &'static InterfaceSignature,
) -> Result<u64> {
    let (dispatch, _) = caller.runtime();
    if dispatch == 0 {
        return Err(Status::NOT_SUPPORTED);
    }
    let export = caller.exports.lock().insert(Export {
        object: word,
        signature,
        dispatch,
        name: String::new(),
        holder: None,
        owned: false,
        imports: 0,
    })?;
    Ok(caller.handle(export))
}

/// Takes back the endpoints `endpoints` of `caller` lent for a call:
/// calls on them are `STALE_HANDLE` from now on.
pub fn revoke_endpoints(caller: &Process, endpoints: &[u64]) {
    for &endpoint in endpoints {
        if let Ok(handle) = caller.table_handle(endpoint) {
            drop(caller.exports.lock().remove(handle));
        }
    }
}

/// Unregisters `process`'s endpoint named `name` and lets it go; false
/// when it has none of that name.
pub fn unname_endpoint(process: &Process, name: &str) -> Result<bool> {
    let removed = {
        let mut exports = process.exports.lock();
        let named = |export: &Export| !export.name.is_empty() && export.name == name;
        let Some(endpoint) = exports.find(named) else {
            return Ok(false);
        };
        exports.remove(endpoint)?
    };
    component::namespace()?.unregister(&removed.name)?;
    Ok(true)
}

/// The server's import handle for `object`, an interface pointer (an
/// `iid`) a kernel-space caller passes: an import of the object itself,
/// which the server's calls reach as any process's calls of an object in
/// the kernel's space — or, for a kernel-space proxy of a process's
/// endpoint of that interface, an import of the endpoint, as a process's
/// proxy would give (no hop through the kernel's space). Recorded in
/// `lent`, so the reference goes when the call ends.
fn lend_kernel(
    server: &Process,
    iid: Guid,
    object: ComPtr<IUnknown>,
    lent: &mut Lent,
) -> Result<u64> {
    let signature = crate::calls::importable(iid)?;
    let served = crate::kernel_calls::endpoint_of(&object).filter(|(owner, endpoint)| {
        callee(owner, *endpoint).is_ok_and(|(_, _, served)| served.iid == iid)
    });
    let handle = match served {
        Some((owner, endpoint)) => import_endpoint(server, &owner, endpoint, signature)?,
        None => {
            let object = object.query_iid(&iid)?;
            crate::calls::insert(server, Target::Kernel(object), signature)?
        }
    };
    lent.imports.push(handle);
    Ok(handle)
}

/// The target of the import behind `word` if it is one of `process`'s
/// proxies (its first word is the proxy table `process` told); `None`
/// for another object. An error unless `word` is readable memory of
/// `process`, or for a proxy of no live import of it.
pub fn proxy_of(process: &Process, word: u64) -> Result<Option<(Target, Guid)>> {
    let memory = Memory::of(process)?;
    let mut bytes = [0u8; 8];
    memory.read(word, &mut bytes)?;
    let (_, proxies) = process.runtime();
    if proxies == 0 || u64::from_le_bytes(bytes) != proxies {
        return Ok(None);
    }
    memory.read(word.checked_add(8).ok_or(Status::OUT_OF_RANGE)?, &mut bytes)?;
    let handle = u64::from_le_bytes(bytes);
    let imports = process.imports.lock();
    let import = imports.get(process.table_handle(handle)?)?;
    let target = match &import.target {
        Target::Kernel(object) => Target::Kernel(object.clone()),
        Target::Process { server, endpoint } => Target::Process {
            server: server.clone(),
            endpoint: *endpoint,
        },
    };
    Ok(Some((target, import.signature.iid)))
}

/// An import of `target` (as a proxy gave it, with its interface's IID)
/// for `signature` in `process`'s table; its handle. `INVALID_ARGUMENT`
/// when the proxy is of another interface.
fn import_target(
    process: &Process,
    (target, iid): (Target, Guid),
    signature: &'static InterfaceSignature,
) -> Result<u64> {
    if iid != signature.iid {
        return Err(Status::INVALID_ARGUMENT);
    }
    match target {
        Target::Process { server, endpoint } => {
            import_endpoint(process, &server, endpoint, signature)
        }
        kernel => crate::calls::insert(process, kernel, signature),
    }
}

/// Puts an import of `server`'s endpoint `endpoint` in `process`'s table,
/// counted on the endpoint; its handle.
pub fn import_endpoint(
    process: &Process,
    server: &Arc<Process>,
    endpoint: u64,
    signature: &'static InterfaceSignature,
) -> Result<u64> {
    server
        .exports
        .lock()
        .get_mut(server.table_handle(endpoint)?)?
        .imports += 1;
    let target = Target::Process {
        server: server.clone(),
        endpoint,
    };
    crate::calls::insert(process, target, signature).inspect_err(|_| {
        drop(forget_import(server, endpoint));
    })
}

/// One import of `server`'s endpoint `endpoint` is gone: the endpoint,
/// taken out of the table, if it was the last of an owned one (whose
/// object the caller should release in the server).
pub fn forget_import(server: &Process, endpoint: u64) -> Option<Export> {
    let handle = server.table_handle(endpoint).ok()?;
    let mut exports = server.exports.lock();
    let export = exports.get_mut(handle).ok()?;
    export.imports = export.imports.saturating_sub(1);
    if export.owned && export.imports == 0 {
        return exports.remove(handle).ok();
    }
    None
}

/// Revokes what `call` lent its server.
pub fn revoke(call: &Migration) {
    revoke_lent(&call.caller, &call.server, &call.lent);
}

/// Revokes `lent`: the server's imports (a handle it kept is
/// `STALE_HANDLE` from now on), then the caller's unnamed endpoints.
fn revoke_lent(caller: &Process, server: &Process, lent: &Lent) {
    for &handle in &lent.imports {
        let removed = server
            .table_handle(handle)
            .and_then(|handle| server.imports.lock().remove(handle));
        if let Ok(Import {
            target: Target::Process { server, endpoint },
            ..
        }) = removed
        {
            // The caller holds an import of the same endpoint for the
            // call's length, so this is never the last.
            drop(forget_import(&server, endpoint));
        }
    }
    revoke_endpoints(caller, &lent.exports);
}

/// The caller's import handle for an owned interface result `word` of
/// `server` (of `signature`): one of the server's proxies gives an import
/// of the same target (the reference the server gave stays with its
/// proxy until it ends); anything else is the server's own object,
/// exported as an owned endpoint, released in the server when the last
/// import of it goes.
fn give_back(
    server: &Arc<Process>,
    caller: &Process,
    signature: &'static InterfaceSignature,
    word: u64,
) -> Result<u64> {
    match given(server, signature, word)? {
        Given::Target(target) => import_target(caller, target, signature),
        Given::Owned(endpoint) => import_endpoint(caller, server, endpoint, signature)
            .inspect_err(|_| forget_owned(server, endpoint)),
    }
}

/// What an owned interface result of a server is.
pub enum Given {
    /// One of its proxies: what it imports (and the IID it is of).
    Target((Target, Guid)),
    /// Its own object, now its owned endpoint with this handle (no import
    /// of it yet: [`forget_owned`] undoes it).
    Owned(u64),
}

/// What the owned interface result `word` (of `signature`) of `server`
/// is: one of its proxies, or its own object, exported as an owned
/// endpoint. `NULL_POINTER` for 0.
pub fn given(server: &Process, signature: &'static InterfaceSignature, word: u64) -> Result<Given> {
    if word == 0 {
        return Err(Status::NULL_POINTER);
    }
    if let Some(target) = proxy_of(server, word)? {
        return Ok(Given::Target(target));
    }
    let (dispatch, _) = server.runtime();
    let endpoint = server.handle(server.exports.lock().insert(Export {
        object: word,
        signature,
        dispatch,
        name: String::new(),
        holder: None,
        owned: true,
        imports: 0,
    })?);
    Ok(Given::Owned(endpoint))
}

/// Frees the owned endpoint [`given`] made, when nothing could import it.
pub fn forget_owned(server: &Process, endpoint: u64) {
    if let Ok(handle) = server.table_handle(endpoint) {
        drop(server.exports.lock().remove(handle));
    }
}

/// Exchanges the floating-point registers of `home`'s thread (the one
/// running this) with `registers`.
fn exchange_fp(home: &Process, registers: &mut FpRegisters) -> Result<()> {
    crate::traps()?.exchange_fp(home.thread_id(), &mut registers.0)
}

/// The scheduler's time `milliseconds` from now (`u64::MAX` for 0).
fn deadline_after(milliseconds: u64) -> u64 {
    if milliseconds == 0 {
        return u64::MAX;
    }
    let Ok(scheduler) = component::threads::scheduler() else {
        return u64::MAX;
    };
    let now = scheduler.now().unwrap_or(0);
    let per_second = scheduler.ticks_per_second().unwrap_or(1000);
    now.saturating_add(milliseconds.saturating_mul(per_second) / 1000)
}

/// How a call ended for its caller.
pub enum Left {
    /// The thread goes back to its caller in U-mode with the registers set.
    Replaced,
    /// The caller is a kernel thread: its run ends with this status (the
    /// record waits in its home's `finished` for the caller's results).
    Finished(Status),
}

/// Ends the innermost call of `home`'s thread with the server's `status`:
/// copies the results back if it is `OK`, makes the caller's space the
/// thread's view again, and sets `full` to the caller's registers after
/// its `ecall`, with the call's status and value in `a0` and `a1`.
/// A caller that is itself a server being killed is left too (`KILLED`),
/// down to the first live one: the thread never goes back into a dead
/// process's code. A call a kernel thread made ends its run instead
/// (`Finished`). `NOT_FOUND` when the thread is in no call.
pub fn leave(home: &Arc<Process>, status: Status, full: &mut [u64; ecall::FULL]) -> Result<Left> {
    let mut record = home.calls.lock().pop().ok_or(Status::NOT_FOUND)?;
    if Arc::ptr_eq(&record.caller, home) && home.is_kernel() {
        return Ok(finish_kernel_call(home, record, status));
    }
    let mut answer = if status.is_ok() {
        results(&mut record)
    } else {
        Err(status)
    };
    record.server.free_call_stack(record.stack);
    revoke(&record);
    let mut timed = record.deadline != u64::MAX;
    while record.caller.is_ending() && !Arc::ptr_eq(&record.caller, home) {
        let Some(outer) = home.calls.lock().pop() else {
            break;
        };
        if Arc::ptr_eq(&outer.caller, home) && home.is_kernel() {
            return Ok(finish_kernel_call(home, outer, Status::KILLED));
        }
        outer.server.free_call_stack(outer.stack);
        revoke(&outer);
        timed |= outer.deadline != u64::MAX;
        record = outer;
        answer = Err(Status::KILLED);
    }
    // Back in the caller's space, with its floating-point registers.
    // Should its view be gone (the caller is being freed), the thread ends
    // at its next trap anyway; the exchange fails only for another thread.
    let _ = record.caller.view().and_then(|view| view.switch_to());
    let _ = exchange_fp(home, &mut record.fp);
    if timed {
        reset_deadline(home);
    }
    *full = record.saved;
    full[0] = full[0].wrapping_add(4);
    (full[10], full[11], full[12]) = match answer {
        Ok(value) => (0, value, record.stored),
        Err(status) => (i64::from(status.0) as u64, 0, 0),
    };
    Ok(Left::Replaced)
}

/// Asks the kernel to interrupt `home`'s thread at the nearest deadline
/// of the calls it is still in (never, if none has one).
pub fn reset_deadline(home: &Process) {
    let outer = home
        .calls
        .lock()
        .iter()
        .map(|call| call.deadline)
        .min()
        .unwrap_or(u64::MAX);
    let _ = crate::traps().and_then(|traps| traps.interrupt_at(home.thread_id(), outer));
}

/// Ends `record`, a call a kernel thread made (`home` is its record),
/// with `status`: what it lent is revoked and the thread's floating-point
/// registers are its own again; its results are copied by the caller
/// (`crate::kernel_calls`), which takes the record from `finished` (its
/// call stack is given back there). The thread's view is put back by the
/// kernel when the run ends.
fn finish_kernel_call(home: &Process, mut record: Migration, status: Status) -> Left {
    revoke(&record);
    let _ = exchange_fp(home, &mut record.fp);
    if record.deadline != u64::MAX {
        reset_deadline(home);
    }
    *home.finished.lock() = Some(record);
    Left::Finished(status)
}

/// Drops the records of `home`'s thread above the first `depth`: a run
/// of a kernel thread that the kernel ended without the handler (an
/// exception no hook took, say) leaves its records behind. Their call
/// stacks are given back and what they lent revoked, and the thread gets
/// its floating-point registers of before the outermost of them.
pub fn unwind(home: &Process, depth: usize) {
    let mut dropped = None;
    while home.calls.lock().len() > depth {
        let Some(record) = home.calls.lock().pop() else {
            break;
        };
        record.server.free_call_stack(record.stack);
        revoke(&record);
        dropped = Some(record);
    }
    if let Some(mut outermost) = dropped {
        let _ = exchange_fp(home, &mut outermost.fp);
        reset_deadline(home);
    }
}

/// The results of a call whose server returned `OK`, copied back to the
/// caller: the value for its `a1` (an owned interface result made an
/// import of the caller's).
fn results(record: &mut Migration) -> Result<u64> {
    let server = Memory::of(&record.server)?;
    let caller = Memory::of(&record.caller)?;
    let value = record
        .call
        .copy_back(record.ret, record.result, &server, &caller)?;
    match record.owned {
        Some(signature) => give_back(&record.server, &record.caller, signature, value),
        None => Ok(value),
    }
}

/// Why the innermost call of `home`'s thread must end now, if it must:
/// its server, or that of a call it is nested in, is ending (`KILLED`),
/// or its time is up (`TIMED_OUT`).
pub fn abandoned(home: &Process) -> Option<Status> {
    let calls = home.calls.lock();
    let call = calls.last()?;
    if calls.iter().any(|call| call.server.is_ending()) {
        return Some(Status::KILLED);
    }
    if call.deadline != u64::MAX {
        let now = component::threads::scheduler()
            .and_then(|scheduler| scheduler.now())
            .unwrap_or(0);
        if now >= call.deadline {
            return Some(Status::TIMED_OUT);
        }
    }
    None
}

/// The process whose space `home`'s thread runs in now: the innermost
/// call's server, or `home`.
pub fn current(home: &Arc<Process>) -> Arc<Process> {
    home.calls
        .lock()
        .last()
        .map_or_else(|| home.clone(), |call| call.server.clone())
}

/// Waits until `process` is ending (its thread then ends at its trap
/// back).
pub fn park(process: &Process) -> Result<u64> {
    let scheduler = component::threads::scheduler()?;
    let step = scheduler.ticks_per_second()? / 100;
    while !process.is_ending() {
        let now = scheduler.now()?;
        scheduler.sleep_until(now + step.max(1))?;
    }
    Ok(0)
}
