//! Threads in U-mode: starting one, giving a thread a view, and what an
//! exception from U-mode does — a page fault goes to the virtual-memory
//! manager's hook, an `ecall` to the IPC component's hook, returning from
//! the entry function ends the thread, and every other exception ends it
//! with a named error for its waiter. A killed thread ends at its next
//! trap from U-mode.

use com::{Result, Status};
use interfaces::vm::access;

use super::thread::Thread;
use super::{Entry, Scheduler, State, ThreadId, spawn_entry, with_scheduler};
use crate::machine::interrupt_mask::{self, Exclusive};
use crate::machine::mmu::{self, View};
use crate::machine::trap::{TrapFrame, cause, exception_name};
use crate::machine::{console::Hex, user};

/// Resolves a page fault of a U-mode thread: `(view, address, access)`;
/// runs with interrupts enabled. `Ok` resumes the thread.
pub type PageFaultHook = fn(u64, u64, u32) -> Result<()>;

/// The installed page-fault hook (none: a page fault ends the thread).
static PAGE_FAULT_HOOK: Exclusive<Option<PageFaultHook>> = Exclusive::new(None);

/// Handles an `ecall` of U-mode thread `thread` (the first argument) on its
/// trap frame — or, with the third argument `Some`, the thread's
/// interruption: `OK` for the one [`interrupt_at`] asked for, an error
/// for an exception that would end it with that status; runs with
/// interrupts enabled. An error ends the thread with that status.
pub type EcallHook = fn(u64, &mut TrapFrame, Option<Status>) -> Result<Ecalled>;

/// What the `ecall` hook did with the thread's registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ecalled {
    /// Wrote its answer in the frame: resume after the `ecall` (after an
    /// interruption: where the thread was; after an exception: end it).
    Resume,
    /// Replaced the whole frame (`pc` included): resume there.
    Replaced,
    /// End the thread (`OK`).
    Exit,
    /// End the thread's nested run ([`run`]) with the status and value
    /// the hook wrote in the frame's `a0` and `a1`.
    Finished,
}

/// The installed `ecall` hook (none: an `ecall` ends the thread).
static ECALL_HOOK: Exclusive<Option<EcallHook>> = Exclusive::new(None);

/// Installs (or, with `None`, removes) the `ecall` hook.
pub fn set_ecall_hook(hook: Option<EcallHook>) {
    interrupt_mask::without(|| ECALL_HOOK.with(|slot| *slot = hook));
}

/// Marks U-mode thread `id` killed: it ends with `KILLED` at its next trap
/// from U-mode. `NOT_SUPPORTED` for any other thread (a kernel or
/// component thread may hold kernel locks, even one in a [`run`]: its
/// run is ended by the hook instead), `NOT_FOUND` for no thread.
pub fn kill(id: ThreadId) -> Result<()> {
    with_user_thread(id, false, |thread| thread.killed = true)
}

/// Runs `change` on U-mode thread `id` (or, with `any`, on any thread)
/// with the scheduler locked: `NOT_SUPPORTED` for any other thread,
/// `NOT_FOUND` for no thread.
fn with_user_thread(id: ThreadId, any: bool, change: impl FnOnce(&mut Thread)) -> Result<()> {
    interrupt_mask::without(|| {
        with_scheduler(|scheduler| {
            let thread = scheduler.threads.iter_mut().find(|thread| thread.id == id);
            let thread = thread.ok_or(Status::NOT_FOUND)?;
            if !matches!(thread.entry, Entry::User { .. }) && !any {
                return Err(Status::NOT_SUPPORTED);
            }
            change(thread);
            Ok(())
        })?
    })
}

/// After an interrupt taken in U-mode: ends the thread if it was killed;
/// hands it to the `ecall` hook as interrupted once its
/// [`interrupt_at`] time has come.
pub fn after_interrupt(frame: &mut TrapFrame) {
    end_if_killed(frame);
    if !interruption_due() {
        return;
    }
    match offer(frame, Status::OK) {
        Ok(Ecalled::Resume | Ecalled::Replaced) => {}
        Ok(Ecalled::Finished) => finish_run(frame),
        Ok(Ecalled::Exit) => end(frame, Status::OK),
        Err(status) => end(frame, status),
    }
}

/// Runs `registers` (`pc`, then `x1`..`x31`) in U-mode on the calling
/// thread, in its view as it is, nested in the kernel code that calls
/// this: its traps are handled as any U-mode thread's, on this stack,
/// until the `ecall` hook answers [`Ecalled::Finished`] (or the run
/// would end the thread: an exception nobody takes, say), which ends the
/// run. The status and value it ended with (`a0`, `a1`); interrupts are
/// enabled or not as before. The view is what the run left (the caller
/// set the server's before, and puts its own back).
pub fn run(registers: &[u64; 32]) -> (u64, u64) {
    let enabled = interrupt_mask::disable();
    let mut record = user::Run::default();
    let mut outer = 0;
    let ended = user::run(registers, &mut record, |address| {
        // Interrupts are off: no trap can see the record half-told.
        let _ = with_scheduler(|scheduler| {
            if let Some(me) = scheduler.current_mut() {
                outer = core::mem::replace(&mut me.run, address);
            }
        });
    });
    let _ = with_scheduler(|scheduler| {
        if let Some(me) = scheduler.current_mut() {
            me.run = outer;
            if outer == 0 {
                // An interruption asked for the run must not meet the next.
                me.interrupt_at = u64::MAX;
            }
        }
    });
    interrupt_mask::restore(enabled);
    ended
}

/// The record of the calling thread's innermost [`run`] (0: none;
/// interrupts disabled).
fn running() -> u64 {
    with_scheduler(|scheduler| scheduler.current_mut().map_or(0, |me| me.run)).unwrap_or(0)
}

/// Ends the calling thread's innermost [`run`] with the status and value
/// in `frame`'s `a0` and `a1` (what the hook wrote), from the handling of
/// `frame`; a thread in none ends (`UNHANDLED_TRAP`: no hook answers so
/// for a U-mode thread).
fn finish_run(frame: &TrapFrame) -> ! {
    user::finish(running(), frame, frame.registers[10], frame.registers[11]);
    super::exit_with(Status::UNHANDLED_TRAP)
}

/// Ends the calling thread with `status` — or, for a kernel thread in a
/// [`run`], the run, with that status: a kernel thread is never ended by
/// what its U-mode code did.
fn end(frame: &TrapFrame, status: Status) -> ! {
    user::finish(running(), frame, i64::from(status.0) as u64, 0);
    super::exit_with(status)
}

/// Hands the calling thread's interruption `why` to the `ecall` hook (none
/// installed: `Resume`), then ends the thread if it was killed.
fn offer(frame: &mut TrapFrame, why: Status) -> Result<Ecalled> {
    let Some(hook) = interrupt_mask::without(|| ECALL_HOOK.with(|slot| *slot).flatten()) else {
        return Ok(Ecalled::Resume);
    };
    interrupt_mask::enable();
    let outcome = hook(super::current_id(), frame, Some(why));
    interrupt_mask::disable();
    end_if_killed(frame);
    outcome
}

/// True (and the request cleared) when the calling thread's interruption
/// time has come (interrupts disabled).
fn interruption_due() -> bool {
    let now = super::now();
    with_scheduler(|scheduler| {
        let me = scheduler.current_mut()?;
        let due = me.interrupt_at <= now;
        if due {
            me.interrupt_at = u64::MAX;
        }
        Some(due)
    })
    .ok()
    .flatten()
    .unwrap_or(false)
}

/// Asks for thread `id` to be handed to the `ecall` hook as interrupted
/// at its first interrupt in U-mode at or after `time` (the scheduler's
/// ticks; 0: the next; `u64::MAX`: never again): a U-mode thread, or a
/// kernel thread about to [`run`] U-mode code or in a run (the request
/// goes with the outermost run's end). `NOT_FOUND` for no thread.
pub fn interrupt_at(id: ThreadId, time: u64) -> Result<()> {
    with_user_thread(id, true, |thread| thread.interrupt_at = time)
}

/// Ends the calling thread with `KILLED` if it was killed (interrupts
/// disabled).
fn end_if_killed(frame: &TrapFrame) {
    let killed = with_scheduler(|scheduler| scheduler.current_mut().is_some_and(|me| me.killed));
    if killed == Ok(true) {
        // A U-mode thread in a run (its kernel code, called by it, calls
        // into a process) ends that run first: the frames under it are
        // unwound by their code, and the thread ends at a later trap.
        end(frame, Status::KILLED);
    }
}

/// Installs (or, with `None`, removes) the page-fault hook.
pub fn set_page_fault_hook(hook: Option<PageFaultHook>) {
    interrupt_mask::without(|| PAGE_FAULT_HOOK.with(|slot| *slot = hook));
}

/// Starts a thread named `name` in U-mode at `entry`, with `argument` and
/// its stack pointer at `stack`, in `view`; its kernel stack (where its
/// traps run) has `kernel_stack` bytes.
pub fn spawn(
    name: &str,
    entry: u64,
    argument: u64,
    stack: u64,
    view: View,
    kernel_stack: usize,
) -> Result<ThreadId> {
    let entry = Entry::User {
        entry,
        argument,
        stack,
    };
    spawn_entry(name, entry, kernel_stack, view)
}

/// Makes `view` the calling thread's translation, at once.
pub fn set_current_view(view: View) -> Result<()> {
    interrupt_mask::without(|| {
        with_scheduler(|scheduler| {
            if let Some(me) = scheduler.current_mut()
                && me.context.view != view
            {
                let old = core::mem::replace(&mut me.context.view, view);
                mmu::switch_view(old, view);
            }
        })
    })
}

/// The calling thread's view.
pub fn current_view() -> View {
    interrupt_mask::without(|| {
        with_scheduler(|scheduler| Some(scheduler.current_mut()?.context.view))
    })
    .ok()
    .flatten()
    .unwrap_or(View::BARE)
}

/// True while a thread that has not finished has a view other than Bare.
pub fn views_in_use() -> bool {
    interrupt_mask::without(|| {
        with_scheduler(|scheduler| scheduler.count_in_views(|view| view != View::BARE))
    })
    .is_ok_and(|count| count > 0)
}

/// How many threads that have not finished have `view`.
pub fn view_users(view: View) -> usize {
    interrupt_mask::without(|| {
        with_scheduler(|scheduler| scheduler.count_in_views(|in_view| in_view == view))
    })
    .unwrap_or(0)
}

impl Scheduler {
    /// How many threads that have not finished have a view that `counts`.
    fn count_in_views(&self, counts: impl Fn(View) -> bool) -> usize {
        self.threads
            .iter()
            .filter(|thread| thread.state != State::Exited && counts(thread.context.view))
            .count()
    }
}

/// An exception from U-mode (the trap handler's, with interrupts
/// disabled): returns to resume the thread, or ends it.
pub fn on_exception(frame: &mut TrapFrame) {
    let code = frame.cause();
    if frame.sepc == user::RETURN_ADDRESS
        && matches!(
            code,
            cause::INSTRUCTION_ACCESS_FAULT | cause::INSTRUCTION_PAGE_FAULT
        )
    {
        end(frame, Status::OK);
    }
    let outcome = match code {
        cause::INSTRUCTION_PAGE_FAULT | cause::LOAD_PAGE_FAULT | cause::STORE_PAGE_FAULT => {
            match resolve_page_fault(frame) {
                Ok(()) => return,
                Err(status) => status,
            }
        }
        cause::USER_ECALL => match run_ecall_hook(frame).inspect(|_| end_if_killed(frame)) {
            Ok(Ecalled::Resume | Ecalled::Replaced) => return,
            Ok(Ecalled::Finished) => finish_run(frame),
            Ok(Ecalled::Exit) => end(frame, Status::OK),
            Err(status) => status,
        },
        cause::ILLEGAL_INSTRUCTION => Status::ILLEGAL_INSTRUCTION,
        cause::INSTRUCTION_ACCESS_FAULT | cause::LOAD_ACCESS_FAULT | cause::STORE_ACCESS_FAULT => {
            Status::ACCESS_VIOLATION
        }
        cause::INSTRUCTION_MISALIGNED | cause::LOAD_MISALIGNED | cause::STORE_MISALIGNED => {
            Status::MISALIGNED_ACCESS
        }
        _ => Status::UNHANDLED_TRAP,
    };
    // A thread running a call in another process's space goes back to its
    // caller with the error instead, if the hook says so.
    match offer(frame, outcome) {
        Ok(Ecalled::Replaced) => return,
        Ok(Ecalled::Finished) => finish_run(frame),
        _ => {}
    }
    kputln!(
        "threads: thread ",
        super::current_id(),
        " ended in U-mode: ",
        exception_name(code),
        " at pc=",
        Hex(frame.sepc),
        " stval=",
        Hex(frame.stval)
    );
    end(frame, outcome)
}

/// Hands an `ecall` to its hook with interrupts enabled, then steps past
/// it if the hook answered it in place; `UNHANDLED_TRAP` when none is
/// installed.
fn run_ecall_hook(frame: &mut TrapFrame) -> Result<Ecalled> {
    let hook = interrupt_mask::without(|| ECALL_HOOK.with(|slot| *slot).flatten())
        .ok_or(Status::UNHANDLED_TRAP)?;
    interrupt_mask::enable();
    let outcome = hook(super::current_id(), frame, None);
    interrupt_mask::disable();
    let outcome = outcome?;
    if outcome == Ecalled::Resume {
        frame.sepc = frame.sepc.wrapping_add(4);
    }
    Ok(outcome)
}

/// Asks the page-fault hook, with interrupts enabled (the thread runs on
/// its own kernel stack and holds no kernel lock); `ACCESS_VIOLATION`
/// when none is installed.
fn resolve_page_fault(frame: &TrapFrame) -> Result<()> {
    let hook = interrupt_mask::without(|| PAGE_FAULT_HOOK.with(|slot| *slot).flatten())
        .ok_or(Status::ACCESS_VIOLATION)?;
    let wanted = match frame.cause() {
        cause::INSTRUCTION_PAGE_FAULT => access::EXECUTE,
        cause::LOAD_PAGE_FAULT => access::READ,
        _ => access::WRITE,
    };
    let view = current_view().satp();
    interrupt_mask::enable();
    let resolved = hook(view, frame.stval, wanted);
    interrupt_mask::disable();
    if resolved.is_ok() {
        mmu::flush_page(frame.stval);
    }
    resolved
}
