//! Processes and calls across address spaces: what the `ipc` component
//! serves (`IProcessManager` at `/sys/ipc`, `IUserProcess`), the hook it
//! installs in the kernel for `ecall`s from U-mode (`IEcallHandler`,
//! through `IUserTraps` at `/sys/vm-kernel`), and the trap ABI U-mode code
//! calls it by. docs/ipc.md tells how they fit.

use com::{ComPtr, IUnknown, Record, Result, interface};

/// The name that loads the IPC component (its `IProcessManager`).
pub const MANAGER_PATH: &str = "/sys/ipc";

/// The trap ABI: an `ecall` from U-mode names its service in `t0`; the
/// arguments are in `a0`..`a7` (and `t1` for a call's method); the status
/// comes back in `a0`, a value in `a1`. docs/ipc.md has the table.
pub mod ecall {
    /// Ends the process: `a0` is its exit code (0 or more).
    pub const EXIT: u64 = 0;
    /// Binds a name the process was granted: `a0`/`a1` the name (pointer,
    /// length), `a2` a pointer to the wanted interface's 16-byte IID;
    /// `a1` comes back as the new import's handle.
    pub const BIND: u64 = 1;
    /// Calls method `t1` (0: the first after the `IUnknown` three) of the
    /// import whose handle is in `a0`, with the method's argument
    /// registers in `a1`..`a7`; a scalar result, or an owned interface
    /// result's new import handle, comes back in `a1`, and in `a2` what
    /// the proxy's stub stores through the method's out-pointer
    /// (`com::dynamic::stored_result`).
    pub const CALL: u64 = 2;
    /// Releases the import whose handle is in `a0`.
    pub const RELEASE: u64 = 3;
    /// Serves an object of the process under a name it was granted: `a0`/
    /// `a1` the name, `a2` a pointer to the interface's IID, `a3` the
    /// object (the pointer its methods are called with), `a4` the address
    /// of the process's dispatch entry; `a1` comes back as the endpoint.
    pub const REGISTER: u64 = 4;
    /// Ends the call the thread runs in the process's dispatch entry: `a0`
    /// is the method's status.
    pub const RETURN: u64 = 5;
    /// Waits, serving calls on other threads, until the process is killed.
    pub const SERVE: u64 = 6;
    /// Sets the timeout of the import whose handle is in `a0` to `a1`
    /// milliseconds (0: none): a call it does not return from by then
    /// returns `TIMED_OUT`.
    pub const TIMEOUT: u64 = 7;
    /// The service the kernel names when it hands the hook a thread it
    /// interrupted, not an `ecall`: `t1` is `OK` for the interruption
    /// `IUserTraps::interrupt_at` asked for, or the (negative) status an
    /// exception would end the thread with; answering `RESUME` lets it
    /// (resumes, or ends, the thread), `REPLACE` sends the thread
    /// elsewhere. An `ecall` naming it from U-mode is answered as a check:
    /// harmless.
    pub const INTERRUPTED: u64 = u64::MAX;
    /// Registers the kernel passes the handler: `a0`..`a7`, `t0`, `t1`.
    pub const REGISTERS: usize = 10;
    /// Index of `t0` (the service) among them.
    pub const T0: usize = 8;
    /// Index of `t1` (a call's method) among them.
    pub const T1: usize = 9;
    /// Grows the process's heap: `a0` = bytes to add (a non-zero multiple
    /// of 4096); `a1` comes back as the address of the added bytes, which
    /// follow the heap's previous end (zero-filled, mapped read + write).
    pub const HEAP_GROW: u64 = 8;
    /// Waits on a word of the process's memory: `a0` = its address (4-byte
    /// aligned, readable), `a1` = the value expected there (32 bits),
    /// `a2` = a timeout in microseconds (`u64::MAX`: none). Returns at once
    /// with `RETRY` when the word holds another value; else sleeps until
    /// a `WAKE` of that address (`OK`) or the timeout (`TIMED_OUT`).
    pub const WAIT: u64 = 9;
    /// Wakes up to `a1` waiters on the word at address `a0` of the
    /// process's memory; `a1` comes back as how many were woken.
    pub const WAKE: u64 = 10;
    /// Tells the IPC the process's runtime, once, before its first bind or
    /// register (outside any call): `a0` = its dispatch entry (where calls
    /// into its objects start), `a1` = the address of its proxies' method
    /// table (how the IPC tells one of its proxies from one of its objects
    /// when it passes an interface pointer).
    pub const RUNTIME: u64 = 11;
    /// Asks the object behind the import whose handle is in `a0` for the
    /// interface whose 16-byte IID is at `a1`; `a1` comes back as a new
    /// import's handle (`NO_INTERFACE` when the object has none).
    pub const QUERY: u64 = 12;
    /// The first number no service has (up to `INTERRUPTED`): answered
    /// `NOT_SUPPORTED`. A new service takes it and moves it on.
    pub const FIRST_UNDEFINED: u64 = 13;
    /// The method number a call into a process's object runs for its
    /// `Release` (method table entry 2: the dispatch entry's `3 + t1`
    /// wraps).
    pub const RELEASE_METHOD: u64 = u64::MAX;
    /// The method number for its `QueryInterface` (entry 0).
    pub const QUERY_METHOD: u64 = u64::MAX - 2;
    /// Words of the whole register set the handler gets after the
    /// [`REGISTERS`]: `pc`, then `x1`..`x31`.
    pub const FULL: usize = 32;
}

/// What the kernel does after an `IEcallHandler::ecall`.
pub mod outcome {
    /// Returns to U-mode after the `ecall` with `a0`, `a1` and `a2` as the
    /// handler left them.
    pub const RESUME: u32 = 0;
    /// The words [`RESUME`] takes back: the first ones, `a0` to `a2`.
    pub const RESUMED: usize = 3;
    /// Ends the thread (its status: `OK`).
    pub const EXIT: u32 = 1;
    /// Returns to U-mode with the whole register set ([`ecall::FULL`]
    /// words, `pc` first) as the handler left it: the thread goes on
    /// somewhere else (into a server, or back to its caller).
    pub const REPLACE: u32 = 2;
    /// Ends the calling kernel thread's run (`IUserTraps::run`) with
    /// `a0` (a status) and `a1` (a value) as the handler left them (the
    /// first [`RESUMED`] words); a thread in no run ends.
    pub const FINISH: u32 = 3;
}

/// What a process is doing (`ProcessStatus::state`).
pub mod process_state {
    /// Its thread runs (or waits).
    pub const RUNNING: u32 = 0;
    /// It ended: `exit_status` says how.
    pub const ENDED: u32 = 1;
}

/// One process's figures (`IUserProcess::status`, the shell's `ps`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Record)]
#[repr(C)]
pub struct ProcessStatus {
    /// Its id (unique while the IPC component stays loaded).
    pub id: u64,
    /// Its thread's id.
    pub thread: u64,
    /// One of [`process_state`].
    pub state: u32,
    /// Once ended: its exit code (0 or more), or the status that ended it.
    pub exit_status: i32,
    /// Its space's name under `/sys/vm` is `space-<space>`.
    pub space: u32,
    /// Imports it holds now.
    pub imports: u32,
    /// Bytes of `name` in use.
    pub name_length: u32,
    /// The name it was run from (UTF-8, cut to 20 bytes).
    pub name: [u8; 20],
}

#[interface("6f1d2c3b-4a5e-4f70-8b9c-0d1e2f3a4b5c")]
/// The hook the IPC component installs for `ecall`s from U-mode.
pub trait IEcallHandler {
    /// Thread `thread` ran `ecall` in U-mode (or was interrupted as asked:
    /// `t0` is then [`ecall::INTERRUPTED`]); `registers` holds its `a0`..
    /// `a7`, `t0`, `t1`, then its whole register set (little-endian words,
    /// [`ecall::REGISTERS`] + [`ecall::FULL`] of them). Returns an
    /// [`outcome`]: the kernel reads back only the words it takes
    /// (`a0` to `a2`, or the whole set), so only those need writing.
    fn ecall(&self, thread: u64, registers: &mut [u8]) -> Result<u32>;
}

#[interface("7a2e3d4c-5b6f-4081-9cad-1e2f3a4b5c6d")]
/// The kernel's trap hooks for an IPC component (served at
/// `/sys/vm-kernel` beside `IVmKernel`).
pub trait IUserTraps {
    /// Installs `handler` (an `IEcallHandler`) for every `ecall` from
    /// U-mode. `ALREADY_EXISTS` while one is installed.
    fn install_ecall(&self, handler: &IUnknown) -> Result<()>;
    /// Removes it (and every fast path): an `ecall` ends its thread with
    /// `UNHANDLED_TRAP` again.
    fn remove_ecall(&self) -> Result<()>;
    /// The fast path of calls whose arguments all travel in registers:
    /// thread `thread`'s `CALL`s of import `handle` go straight to
    /// `object` (an interface pointer in the kernel's space) for each
    /// method with a descriptor in `descriptors` (8 bytes a method, in
    /// method order, as `com::dynamic::describe` makes them; all zeros for
    /// a method that takes the handler's path). A call made there returns
    /// in `a2` what the proxy's stub stores, as the handler would
    /// (`com::dynamic::stored_result_of` the descriptor).
    fn add_fast_path(
        &self,
        thread: u64,
        handle: u64,
        object: &IUnknown,
        descriptors: &[u8],
    ) -> Result<()>;
    /// Forgets the fast path of thread `thread`'s import `handle` (with
    /// `u64::MAX`, of all its imports).
    fn remove_fast_path(&self, thread: u64, handle: u64) -> Result<()>;
    /// Hands thread `thread` to the handler (`t0` =
    /// [`ecall::INTERRUPTED`]) at its first interrupt in U-mode at or
    /// after `time` (the scheduler's ticks; 0: the next; `u64::MAX`:
    /// never): a U-mode thread, or a kernel thread in (or about to
    /// start) a [`IUserTraps::run`], whose outermost run's end drops the
    /// request.
    fn interrupt_at(&self, thread: u64, time: u64) -> Result<()>;
    /// Exchanges the floating-point registers of thread `thread`, which
    /// must be the calling one (as the `ecall` handler's is), with
    /// `registers` (`f0`..`f31`, then `fcsr`: [`FP_BYTES`] little-endian
    /// bytes): its next floating-point instruction finds what
    /// `registers` held, and `registers` gets what it had.
    /// `INVALID_ARGUMENT` for another thread or another length.
    fn exchange_fp(&self, thread: u64, registers: &mut [u8]) -> Result<()>;
    /// The calling thread's id (the `thread` the handler is given for
    /// its traps).
    fn current_thread(&self) -> Result<u64>;
    /// Runs `registers` (`pc`, then `x1`..`x31`: [`ecall::FULL`]
    /// little-endian words) in U-mode on the calling thread — a kernel
    /// thread calling an object a process serves — in its view as it is
    /// (the caller sets the server's first, and puts its own back after),
    /// nested in its kernel code: its traps go to the handler as any
    /// U-mode thread's (with this thread's id), until the handler answers
    /// [`outcome::FINISH`]; the `a1` it left then, or its `a0` as the
    /// error. An exception that would end a U-mode thread, or an `EXIT`
    /// answer, ends the run with that status instead.
    /// `INVALID_ARGUMENT` for another length.
    fn run(&self, registers: &[u8]) -> Result<u64>;
}

/// Bytes of a thread's floating-point registers (`IUserTraps::exchange_fp`).
pub const FP_BYTES: usize = 33 * 8;

#[interface("ad516f7f-8e92-43b4-8fd0-4b5c6d7e8f90")]
/// An object a process serves, as the namespace holds it: binding its
/// name from a process gives an import whose calls go into the server.
pub trait IEndpoint {
    /// The id of the process serving it.
    fn server(&self) -> Result<u64>;
    /// A proxy of the served interface for a caller in the kernel's space
    /// (what `QueryInterface` for that interface gives, with no timeout),
    /// whose calls run in the server on the calling thread and return
    /// `TIMED_OUT` after `timeout` milliseconds (0: never).
    fn proxy(&self, timeout: u64) -> Result<ComPtr<IUnknown>>;
}

#[interface("8b3f4e5d-6c70-4192-adbe-2f3a4b5c6d7e")]
/// Runs applications, each in its own address space (the object
/// `/sys/ipc` binds to).
pub trait IProcessManager {
    /// Loads the application image at `/boot/<name>`, or at `name` if it
    /// is an absolute path (say `/disk/app`; signed, unless the trust
    /// policy exempts its directory: `BAD_SIGNATURE` otherwise), into a
    /// new space and starts it in U-mode with `arguments`; it may bind
    /// only the names listed in `grants` (separated by spaces).
    fn create(&self, name: &str, arguments: &str, grants: &str) -> Result<ComPtr<IUserProcess>>;
    /// How many processes are alive (running, or ended but still held).
    fn count(&self) -> Result<u32>;
    /// The figures of process number `index` (0 to `count() - 1`).
    fn status(&self, index: u32) -> Result<ProcessStatus>;
    /// Moves the object named `name` into process `id`, which serves an
    /// object host: the object becomes a forwarder to the one the host
    /// builds from its state, and keeps its name on the host's account
    /// (docs/ipc.md, "Object mobility"). `NOT_FOUND`: no such process (or
    /// name); `NO_INTERFACE`: it hosts no objects; `ACCESS_DENIED`: the
    /// object is not mutable; `NOT_SUPPORTED`: not mobile; `REFUSED`: the
    /// host refused it.
    fn move_object(&self, name: &str, id: u64) -> Result<()>;
}

#[interface("9c405f6e-7d81-42a3-becf-3a4b5c6d7e8f")]
/// One process.
pub trait IUserProcess {
    /// Waits until it has ended; its exit code, or the status that ended
    /// it (`KILLED`, `ACCESS_VIOLATION`, ...).
    fn wait(&self) -> Result<i32>;
    /// Ends it at its next trap into the kernel (an interrupt is one).
    fn kill(&self) -> Result<()>;
    /// Its figures now.
    fn status(&self) -> Result<ProcessStatus>;
}
