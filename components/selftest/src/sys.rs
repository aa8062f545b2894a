//! The kernel as the checks reach it: the services under `/sys` (threads,
//! scheduler, loader, modules) and the console, bound once when the
//! component loads.

use alloc::string::String;
use alloc::vec::Vec;

use com::{ComPtr, Result};
use interfaces::namespace::for_each_name;
use interfaces::{
    IConsole, ILoader, IModule, INamespace, IScheduler, IThread, IThreads, ThreadStatus,
};
use spin::Once;
use sync::Mutex;

/// A thread's id, as `ps` shows it.
pub type ThreadId = u64;
/// The stack a thread gets unless it asks: the kernel's default.
pub const DEFAULT_STACK: usize = 0;
/// The name of the kernel's own policy.
pub const BUILTIN_POLICY: &str = "builtin";
/// Where loaded modules are listed.
const MODULES_PATH: &str = "/sys/modules";

/// The services, bound by [`bind_services`].
struct Services {
    namespace: ComPtr<INamespace>,
    scheduler: ComPtr<IScheduler>,
    threads: ComPtr<IThreads>,
    loader: ComPtr<ILoader>,
    console: ComPtr<IConsole>,
}

static SERVICES: Once<Services> = Once::new();

/// Binds the services the checks use; the constructor calls it, so every
/// check finds them bound.
pub fn bind_services() -> Result<()> {
    let namespace = component::namespace()?;
    let bind = |name: &str| namespace.bind(name, 0);
    let services = Services {
        scheduler: bind("/sys/scheduler")?.query()?,
        threads: bind("/sys/threads")?.query()?,
        loader: bind("/sys/loader")?.query()?,
        console: bind("/dev/console")?.query()?,
        namespace: namespace.clone(),
    };
    SERVICES.call_once(|| services);
    Ok(())
}

fn services() -> &'static Services {
    // Bound by the constructor, before any check can run.
    SERVICES
        .get()
        .unwrap_or_else(|| unreachable!("the services are bound at construction"))
}

/// The namespace the checks bind in.
pub fn namespace() -> &'static INamespace {
    &services().namespace
}

/// Writes `text` and a line end on the console.
pub fn print_line(text: &str) {
    let line = alloc::format!("{text}\r\n");
    let _ = services().console.write(line.as_bytes());
}

/// Prints a line formatted as `format!` would.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::sys::print_line(&alloc::format!($($arg)*))
    };
}
pub(crate) use say;

/// A thread's body and its argument.
type Start = (fn(usize), usize);

/// Thread bodies waiting to start: the argument of the trampoline is an
/// index here, so a plain `fn` can be a thread's body without `unsafe`.
static STARTS: Mutex<Vec<Option<Start>>> = Mutex::new(Vec::new());

/// What every thread made by [`spawn`] runs: takes its body and runs it.
extern "C" fn trampoline(slot: u64) {
    let start = usize::try_from(slot)
        .ok()
        .and_then(|slot| STARTS.lock().get_mut(slot)?.take());
    // Once every thread has started, the table's memory goes back.
    {
        let mut starts = STARTS.lock();
        if starts.iter().all(Option::is_none) {
            *starts = Vec::new();
        }
    }
    if let Some((body, argument)) = start {
        body(argument);
    }
}

/// A running thread; [`join`] waits for it.
pub type Thread = ComPtr<IThread>;

/// Starts a thread running `body(argument)` on a stack of `stack_size`
/// bytes (0: the default). `name` says what it is for, to the reader.
pub fn spawn(_name: &str, body: fn(usize), argument: usize, stack_size: usize) -> Result<Thread> {
    let slot = {
        let mut starts = STARTS.lock();
        let free = starts.iter().position(Option::is_none);
        let slot = free.unwrap_or(starts.len());
        if free.is_none() {
            starts.push(None);
        }
        starts[slot] = Some((body, argument));
        slot
    };
    let thread = component::threads::spawn(trampoline, slot as u64, stack_size as u64);
    if thread.is_err() {
        let mut starts = STARTS.lock();
        starts[slot] = None;
        if starts.iter().all(Option::is_none) {
            *starts = Vec::new();
        }
    }
    thread
}

/// Waits until `thread` has finished.
pub fn join(thread: Thread) -> Result<()> {
    thread.wait()
}

/// The thread's id.
pub fn id_of(thread: &Thread) -> ThreadId {
    thread.id().unwrap_or(0)
}

/// Gives the processor to another ready thread.
pub fn yield_now() {
    let _ = services().scheduler.yield_now();
}

/// The `time` counter, in ticks.
pub fn now() -> u64 {
    services().scheduler.now().unwrap_or(0)
}

/// Ticks of `time` per second.
pub fn ticks_per_second() -> u64 {
    services().scheduler.ticks_per_second().unwrap_or(1)
}

/// Instructions retired, the halted hart's count left out.
pub fn instructions() -> u64 {
    services().scheduler.instructions().unwrap_or(0)
}

/// Sleeps until `time` reaches `deadline`.
pub fn sleep_until(deadline: u64) {
    let _ = services().scheduler.sleep_until(deadline);
}

/// Sleeps for `milliseconds`.
pub fn sleep_ms(milliseconds: u64) {
    sleep_until(now() + milliseconds * ticks_per_second() / 1000);
}

/// True when the policy in force preempts a busy thread.
pub fn preemptive() -> bool {
    services().scheduler.preemptive().unwrap_or(false)
}

/// Asks for `estimate` ticks of processor between `start` and `deadline`.
pub fn begin_constraint(start: u64, estimate: u64, deadline: u64, criticality: u32) -> Result<()> {
    services()
        .scheduler
        .begin_constraint(start, estimate, deadline, criticality)
}

/// Ends the calling thread's constraint (`TIMED_OUT`: its deadline was missed).
pub fn end_constraint() -> Result<()> {
    services().scheduler.end_constraint()
}

/// The current policy's name.
pub fn policy_name() -> String {
    let mut name = [0u8; 32];
    let length = services().scheduler.policy_name(&mut name).unwrap_or(0);
    String::from_utf8_lossy(name.get(..length).unwrap_or_default()).into_owned()
}

/// Puts the policy named `name` in charge (a component, or the built-in one).
pub fn switch_policy(name: &str) -> Result<()> {
    services().scheduler.use_policy(name)
}

/// Every thread's figures.
pub fn statuses() -> Vec<ThreadStatus> {
    let threads = &services().threads;
    let count = threads.count().unwrap_or(0);
    (0..count)
        .filter_map(|index| threads.status(index).ok())
        .collect()
}

/// How many loads have produced a module since boot.
pub fn loads_started() -> u64 {
    services().loader.loads_started().unwrap_or(0)
}

/// Unloads every module nothing uses any more.
pub fn collect_idle() {
    let _ = services().loader.collect_idle();
}

/// Every module in memory, as `/sys/modules` lists them.
fn modules() -> Result<Vec<ComPtr<IModule>>> {
    let namespace = namespace();
    let mut modules = Vec::new();
    for_each_name(namespace, MODULES_PATH, |listed| {
        modules.push(
            namespace
                .bind(&alloc::format!("{MODULES_PATH}/{listed}"), 0)?
                .query::<IModule>()?,
        );
        Ok(())
    })?;
    Ok(modules)
}

/// True while a module of that name (its image's) is in memory.
pub fn loaded(name: &str) -> bool {
    modules().is_ok_and(|modules| {
        modules.iter().any(|module| {
            let mut buffer = [0u8; 64];
            let length = module.name(&mut buffer).unwrap_or(0);
            buffer.get(..length) == Some(name.as_bytes())
        })
    })
}

/// True when `address` lies inside a loaded module.
pub fn holds(address: usize) -> bool {
    let address = address as u64;
    modules().is_ok_and(|modules| {
        modules.iter().any(|module| {
            let (Ok(base), Ok(size)) = (module.base_address(), module.size()) else {
                return false;
            };
            (base..base + size).contains(&address)
        })
    })
}

/// A check's state shared with its threads, there while the check runs
/// (emptied after, so the module leaves nothing on the heap).
pub struct Shared<T>(Mutex<Option<alloc::sync::Arc<T>>>);

impl<T> Shared<T> {
    /// Nothing shared yet.
    pub const fn new() -> Shared<T> {
        Shared(Mutex::new(None))
    }

    /// Shares `value`; returns the check's own handle on it.
    pub fn set(&self, value: T) -> alloc::sync::Arc<T> {
        let value = alloc::sync::Arc::new(value);
        *self.0.lock() = Some(value.clone());
        value
    }

    /// What is shared, if anything.
    pub fn get(&self) -> Option<alloc::sync::Arc<T>> {
        self.0.lock().clone()
    }

    /// Stops sharing.
    pub fn clear(&self) {
        self.0.lock().take();
    }
}
