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

use alloc::string::String;
use alloc::sync::Arc;

use com::{ArgKind, ComObject, ComPtr, Interface, InterfaceSignature, Result, Status, class};
use interfaces::ipc::{FP_BYTES, ecall};
use interfaces::namespace::flags;
use interfaces::vm::protection;
use interfaces::{IEndpoint, IEndpointImpl, IVmFactory};
use marshal::{Call, ServerStack, UserMemory};

use crate::calls::Memory;
use crate::process::{Export, Process};

/// The top of the call stacks in a serving process's space: call stack
/// `n` is the [`CALL_STACK`] bytes ending `n` strides below it.
pub const CALL_STACKS_TOP: u64 = 0x3_0000_0000;
/// Bytes of one call stack.
pub const CALL_STACK: u64 = 64 * 1024;
/// From one call stack to the next: a stack and an unmapped guard page.
const STRIDE: u64 = CALL_STACK + 4096;
/// The most calls in one process at once (one stack each).
const MOST_CALLS: u32 = 16;

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
    pub fp: [u8; FP_BYTES],
    /// The arguments, for copying the results back.
    pub call: Call,
    /// The method's result kind, and where its result area is.
    pub ret: Option<ArgKind>,
    pub result: u64,
    /// The server's call stack it runs on.
    pub stack: u32,
    /// When it times out (the scheduler's ticks; `u64::MAX`: never).
    pub deadline: u64,
}

/// What the namespace holds for an endpoint: binding its name from a
/// process imports the endpoint.
#[class(IEndpoint)]
pub struct EndpointObject {
    server: u64,
}

impl IEndpointImpl for EndpointObject {
    fn server(&self) -> Result<u64> {
        Ok(self.server)
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
    })?;
    let endpoint = process.exports.lock().insert(Export {
        object,
        signature,
        dispatch,
        name: String::from(name),
        holder: holder.clone(),
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
    let server = processes.iter().find(|process| process.id() == id)?;
    let exports = server.exports.lock();
    let endpoint = exports.find(|export| export.holder.as_raw() == object.as_raw())?;
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

/// Starts a call of method `index` of `server`'s endpoint `endpoint` for
/// the thread of `home`, now in `caller`'s space, with the caller's
/// registers `asked` (`a0`..`a7`, `t0`, `t1`) and `full`; on success
/// `full` holds the registers the thread enters the server with.
#[allow(clippy::too_many_arguments, reason = "one call's parts")]
pub fn enter(
    home: &Process,
    caller: &Arc<Process>,
    server: &Arc<Process>,
    endpoint: u64,
    index: usize,
    asked: &[u64; ecall::REGISTERS],
    full: &mut [u64; ecall::FULL],
    timeout: u64,
) -> Result<()> {
    if server.is_ending() {
        return Err(Status::KILLED);
    }
    let (object, dispatch, signature) = {
        let exports = server.exports.lock();
        let export = exports.get(server.table_handle(endpoint)?)?;
        (export.object, export.dispatch, export.signature)
    };
    let declared = signature
        .methods
        .get(index)
        .ok_or(Status::INVALID_ARGUMENT)?;
    let mut arguments = [0u64; com::dynamic::REGISTERS];
    arguments.copy_from_slice(&asked[1..8]);
    let mut call = Call::decode(declared, &arguments, &Memory::of(caller)?)?;
    let stack = take_call_stack(server)?;
    let laid = Memory::of(server).and_then(|memory| {
        let mut place = Stack {
            memory: &memory,
            top: stack_top(stack),
            bottom: stack_top(stack) - CALL_STACK,
        };
        let laid = call.lay_out(&mut place)?;
        Ok((laid, place.top & !15))
    });
    let mut fp = [0u8; FP_BYTES];
    let ((registers, result), sp) = match laid.and_then(|laid| {
        server.view()?.switch_to()?;
        if let Err(status) = exchange_fp(home, &mut fp) {
            let _ = caller.view().and_then(|view| view.switch_to());
            return Err(status);
        }
        Ok(laid)
    }) {
        Ok(laid) => laid,
        Err(status) => {
            server.free_call_stack(stack);
            return Err(status);
        }
    };
    let deadline = deadline_after(timeout);
    let record = Migration {
        caller: caller.clone(),
        server: server.clone(),
        saved: *full,
        fp,
        call,
        ret: declared.ret,
        result,
        stack,
        deadline,
    };
    home.calls.lock().push(record);
    if deadline != u64::MAX {
        let _ = crate::traps().and_then(|traps| traps.interrupt_at(home.thread_id(), deadline));
    }
    // The server's code starts clean: nothing of the caller's registers.
    *full = [0; ecall::FULL];
    full[0] = dispatch;
    full[2] = sp;
    full[6] = u64::try_from(index).map_err(|_| Status::INVALID_ARGUMENT)?;
    full[10] = object;
    full[11..18].copy_from_slice(&registers);
    Ok(())
}

/// Exchanges the floating-point registers of `home`'s thread (the one
/// running this) with `registers`.
fn exchange_fp(home: &Process, registers: &mut [u8; FP_BYTES]) -> Result<()> {
    crate::traps()?.exchange_fp(home.thread_id(), registers)
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

/// Ends the innermost call of `home`'s thread with the server's `status`:
/// copies the results back if it is `OK`, makes the caller's space the
/// thread's view again, and sets `full` to the caller's registers after
/// its `ecall`, with the call's status and value in `a0` and `a1`.
/// A caller that is itself a server being killed is left too (`KILLED`),
/// down to the first live one: the thread never goes back into a dead
/// process's code. `NOT_FOUND` when the thread is in no call.
pub fn leave(home: &Arc<Process>, status: Status, full: &mut [u64; ecall::FULL]) -> Result<()> {
    let mut record = home.calls.lock().pop().ok_or(Status::NOT_FOUND)?;
    let mut answer = if status.is_ok() {
        Memory::of(&record.server).and_then(|server| {
            let caller = Memory::of(&record.caller)?;
            record
                .call
                .copy_back(record.ret, record.result, &server, &caller)
        })
    } else {
        Err(status)
    };
    record.server.free_call_stack(record.stack);
    let mut timed = record.deadline != u64::MAX;
    while record.caller.is_ending() && !Arc::ptr_eq(&record.caller, home) {
        let Some(outer) = home.calls.lock().pop() else {
            break;
        };
        outer.server.free_call_stack(outer.stack);
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
        let outer = home
            .calls
            .lock()
            .iter()
            .map(|call| call.deadline)
            .min()
            .unwrap_or(u64::MAX);
        let _ = crate::traps().and_then(|traps| traps.interrupt_at(home.thread_id(), outer));
    }
    *full = record.saved;
    full[0] = full[0].wrapping_add(4);
    (full[10], full[11]) = match answer {
        Ok(value) => (0, value),
        Err(status) => (i64::from(status.0) as u64, 0),
    };
    Ok(())
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
