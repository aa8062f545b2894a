//! Calls from the kernel's space (the shell, a component) into objects
//! processes serve, through kernel-space proxies.
//!
//! Asking a process's `IEndpoint` for the interface it serves gives a
//! proxy made at run time (`com::proxy`) whose forwarder is a [`Forward`]
//! here. A call through it runs on the calling kernel thread: its
//! arguments are decoded by the signature from the borrows the proxy lent
//! ([`LentMemory`]: the thread's kernel memory, through nothing but the
//! caller's own slices), laid out on a call stack of the server as a
//! process caller's are (`serve::enter`), and the thread runs the
//! server's dispatch entry in U-mode, nested in this call
//! (`IUserTraps::run`). Its traps come to the `ecall` hook like any
//! migrated thread's, found by the thread's *home*: a record
//! ([`Process::kernel`]) holding its migration records, the first of
//! which has the home itself as its caller. The server's `RETURN` — or
//! its death, a fault, a timeout — ends the record (`serve::leave`
//! answers `Finished`), and the handler's `FINISH` ends the run; back
//! here the results are copied from the server's call stack into the
//! caller's buffers.
//!
//! The proxy's `QueryInterface` for another interface runs the object's
//! own in the server the same way (`Forward::query`), and an interface
//! pointer the kernel caller passes is lent to the server as an import of
//! the kernel object for the call (`serve::enter`).

use alloc::sync::Arc;
use alloc::vec::Vec;

use com::dynamic::{Arg, REGISTERS};
use com::proxy::{Answer, Forwarder, RESULT_BYTES};
use com::{ComPtr, Guid, IUnknown, InterfaceSignature, Result, Status};
use interfaces::IVmKernel;
use interfaces::ipc::ecall;
use marshal::LentMemory;
use sync::Mutex;

use crate::calls::Memory;
use crate::process::{Export, Process, Target};
use crate::serve;

/// The homes of kernel threads in calls into processes (one each, while
/// it is in any).
static HOMES: Mutex<Vec<Arc<Process>>> = Mutex::new(Vec::new());

/// The home of kernel thread `thread`, if it is in a call.
pub fn home_of(thread: u64) -> Option<Arc<Process>> {
    HOMES
        .lock()
        .iter()
        .find(|home| home.thread_id() == thread)
        .cloned()
}

/// Every kernel thread's home.
pub fn homes() -> Vec<Arc<Process>> {
    HOMES.lock().clone()
}

/// A kernel-space proxy for `server`'s endpoint `endpoint` (of
/// `signature`), whose calls time out after `timeout` milliseconds (0:
/// never); it counts as an import of the endpoint until its last release.
pub fn proxy(
    server: Arc<Process>,
    endpoint: u64,
    signature: &'static InterfaceSignature,
    timeout: u64,
) -> Result<ComPtr<IUnknown>> {
    server
        .exports
        .lock()
        .get_mut(server.table_handle(endpoint)?)?
        .imports += 1;
    // Made before the box: a failure below drops it, which forgets the
    // import again.
    let forward = Forward {
        server,
        endpoint,
        signature,
        timeout,
    };
    com::proxy::create(com::try_box(forward)?)
}

/// The process and endpoint `object` is a kernel-space proxy of, if it
/// is one.
pub fn endpoint_of(object: &IUnknown) -> Option<(Arc<Process>, u64)> {
    let forward = com::proxy::forwarder_of(object)?
        .as_any()
        .downcast_ref::<Forward>()?;
    Some((forward.server.clone(), forward.endpoint))
}

/// Where a kernel-space proxy's calls go: an endpoint of a process.
struct Forward {
    server: Arc<Process>,
    endpoint: u64,
    signature: &'static InterfaceSignature,
    /// Milliseconds a call may take (0: no limit).
    timeout: u64,
}

impl Drop for Forward {
    fn drop(&mut self) {
        // The last import of an object the server gave a caller (an owned
        // result): its `Release` runs in the server, on this thread.
        if let Some(export) = serve::forget_import(&self.server, self.endpoint) {
            release_in(self.server.clone(), &export, self.timeout);
        }
    }
}

/// Runs the `Release` of the object of `export`, an owned endpoint of
/// `server` whose last import went, in `server` on the calling thread,
/// waiting up to `timeout` milliseconds (0: no limit). A server that is
/// ending takes its object with it.
pub fn release_in(server: Arc<Process>, export: &Export, timeout: u64) {
    let request = serve::Request {
        server,
        object: export.object,
        dispatch: export.dispatch,
        method: ecall::RELEASE_METHOD,
        declared: &crate::calls::RELEASE,
        owned: None,
        timeout,
    };
    let mut result = [0u8; RESULT_BYTES];
    let _ = call(
        request,
        &[0; REGISTERS],
        &LentMemory::new(&mut [], &mut result),
    );
}

impl Forwarder for Forward {
    fn signature(&self) -> &'static InterfaceSignature {
        self.signature
    }

    fn as_any(&self) -> &dyn core::any::Any {
        self
    }

    fn forward(
        &self,
        method: usize,
        registers: &[u64; REGISTERS],
        args: &mut [Arg<'_>],
        result: &mut [u8; RESULT_BYTES],
    ) -> Result<Answer> {
        let declared = self
            .signature
            .methods
            .get(method)
            .ok_or(Status::INVALID_ARGUMENT)?;
        let (object, dispatch, _) = serve::callee(&self.server, self.endpoint)?;
        let request = serve::Request {
            server: self.server.clone(),
            object,
            dispatch,
            method: method as u64,
            declared,
            owned: None,
            timeout: self.timeout,
        };
        let memory = LentMemory::new(args, result);
        call(request, registers, &memory)
    }

    /// Asks the server's object for `iid` (its own `QueryInterface`, run
    /// in the server as a call, unless the endpoint serves `iid` itself):
    /// a kernel-space proxy of what it gives. An IID the IPC cannot copy
    /// arguments for is `NO_INTERFACE`: no proxy could stand for it.
    fn query(&self, iid: &Guid) -> Result<ComPtr<IUnknown>> {
        let signature = crate::calls::importable(*iid).map_err(|_| Status::NO_INTERFACE)?;
        let (object, dispatch, served) = serve::callee(&self.server, self.endpoint)?;
        if served.iid == *iid {
            return proxy(self.server.clone(), self.endpoint, signature, self.timeout);
        }
        let request = serve::Request {
            server: self.server.clone(),
            object,
            dispatch,
            method: ecall::QUERY_METHOD,
            declared: &crate::calls::QUERY_INTERFACE,
            owned: Some(signature),
            timeout: self.timeout,
        };
        let mut registers = [0; REGISTERS];
        registers[0] = core::ptr::from_ref(iid).expose_provenance() as u64;
        let mut args = [Arg::Guid(iid)];
        let mut result = [0u8; RESULT_BYTES];
        let memory = LentMemory::new(&mut args, &mut result);
        match call(request, &registers, &memory)? {
            Answer::Interface(object) => Ok(object),
            Answer::Word(_) => Err(Status::FAILED),
        }
    }
}

/// Makes `request` on the calling kernel thread with the argument
/// registers `registers` into `memory`: enters the server, runs there,
/// and copies the results back; the call's value (an owned interface
/// result as a kernel-space proxy).
///
/// Its frame stays on the thread's stack while the server runs, under
/// the frames of every trap the run takes (the `ecall` hook's among
/// them), so what is big is done in [`entered`] and [`ended`], whose
/// frames are gone by then: together this path takes about 9 KiB of a
/// kernel thread's stack (16 KiB by default, the lowest 2 KiB a guard).
fn call(
    request: serve::Request,
    registers: &[u64; REGISTERS],
    memory: &LentMemory<'_, '_>,
) -> Result<Answer> {
    let timeout = request.timeout;
    let traps = crate::traps()?;
    let kernel = traps.query::<IVmKernel>()?;
    let view = kernel.view()?;
    let thread = traps.current_thread()?;
    let home = enter_home(thread)?;
    let depth = home.calls.lock().len();
    let ran = entered(&home, request, registers, memory).and_then(|full| traps.run(&full));
    // Entering made the server's view the thread's (even if it failed
    // after): its own comes back, whatever happened.
    let _ = kernel.set_view(view);
    let value = ended(&home, depth, ran, memory, timeout);
    if leave_home(&home) {
        // A process's thread (its kernel code called on through a proxy)
        // waits for its own calls' deadlines again.
        if let Some(process) = crate::process_by_thread(thread) {
            serve::reset_deadline(&process);
        }
    }
    value
}

/// Enters the server for `request` on `home`'s thread (`serve::enter`):
/// the register set the run starts with, as `IUserTraps::run` takes it.
#[inline(never)]
fn entered(
    home: &Arc<Process>,
    request: serve::Request,
    registers: &[u64; REGISTERS],
    memory: &LentMemory<'_, '_>,
) -> Result<[u8; ecall::FULL * 8]> {
    let mut full = [0u64; ecall::FULL];
    serve::enter(home, home, request, (registers, memory), &mut full)?;
    let mut bytes = [0u8; ecall::FULL * 8];
    for (chunk, word) in bytes.as_chunks_mut::<8>().0.iter_mut().zip(full) {
        *chunk = word.to_le_bytes();
    }
    Ok(bytes)
}

/// After the run (`ran`): unwinds `home`'s records above `depth`, copies
/// the results of the call that finished into `memory` and gives its call
/// stack back; the call's value.
#[inline(never)]
fn ended(
    home: &Arc<Process>,
    depth: usize,
    ran: Result<u64>,
    memory: &LentMemory<'_, '_>,
    timeout: u64,
) -> Result<Answer> {
    let mut finished = home.finished.lock().take();
    serve::unwind(home, depth);
    let value = match (ran, finished.as_mut()) {
        (Ok(_), Some(record)) => copy_back(record, memory).and_then(|value| match record.owned {
            Some(signature) => given(&record.server, signature, value, timeout),
            None => Ok(Answer::Word(value)),
        }),
        (Ok(_), None) => Err(Status::FAILED),
        (Err(status), _) => Err(status),
    };
    if let Some(record) = finished {
        record.server.free_call_stack(record.stack);
    }
    value
}

/// The results of the call `record` ended, its server having returned
/// `OK`: the output buffers and a record result copied from the server's
/// call stack into `memory`; a scalar result's value.
fn copy_back(record: &mut serve::Migration, memory: &LentMemory<'_, '_>) -> Result<u64> {
    let server = Memory::of(&record.server)?;
    record
        .call
        .copy_back(record.ret, record.result, &server, memory)
}

/// What the kernel caller gets for an owned interface result `word` (of
/// `signature`) of `server`: a kernel-space proxy of the object the
/// server made (its owned endpoint) or of what the server's proxy
/// stands for — or, for an object of the kernel's space, that object.
fn given(
    server: &Arc<Process>,
    signature: &'static InterfaceSignature,
    word: u64,
    timeout: u64,
) -> Result<Answer> {
    match serve::given(server, signature, word)? {
        serve::Given::Owned(endpoint) => proxy(server.clone(), endpoint, signature, timeout)
            .inspect_err(|_| serve::forget_owned(server, endpoint))
            .map(Answer::Interface),
        serve::Given::Target((_, iid)) if iid != signature.iid => Err(Status::INVALID_ARGUMENT),
        serve::Given::Target((Target::Process { server, endpoint }, _)) => {
            proxy(server, endpoint, signature, timeout).map(Answer::Interface)
        }
        serve::Given::Target((Target::Kernel(object), _)) => Ok(Answer::Interface(object)),
    }
}

/// The home of kernel thread `thread`, made if it has none.
fn enter_home(thread: u64) -> Result<Arc<Process>> {
    let mut homes = HOMES.lock();
    if let Some(home) = homes.iter().find(|home| home.thread_id() == thread) {
        return Ok(home.clone());
    }
    homes.try_reserve(1).map_err(|_| Status::OUT_OF_MEMORY)?;
    let home = Arc::new(Process::kernel(thread));
    homes.push(home.clone());
    Ok(home)
}

/// Lets `home` go once its thread is in no call any more (true then).
fn leave_home(home: &Arc<Process>) -> bool {
    let mut homes = HOMES.lock();
    if !home.calls.lock().is_empty() {
        return false;
    }
    homes.retain(|other| !Arc::ptr_eq(other, home));
    if homes.is_empty() {
        *homes = Vec::new();
    }
    true
}
