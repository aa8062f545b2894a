//! Processes and cross-space calls: a round trip from a process to an
//! object in the kernel's space with arguments in registers only, and
//! with 64-byte buffers in and out, as the process itself measures them
//! (`apptest`, which reads `instret` in U-mode around the proxy call and
//! exits with the least count); a round trip the other way, from here
//! through a kernel-space proxy into a process serving an `IEcho`
//! (`apptest serve`); and creating a process of the empty application and
//! waiting for its exit, measured here.

use com::{ComObject, ComPtr, InOut, Result, Status, class};
use interfaces::ipc::MANAGER_PATH;
use interfaces::vm::{IMAGE_MAPPER_PATH, MANAGER_PATH as VM_PATH};
use interfaces::{IProcessManager, IUserProcess, IVmFactory, IVmSpace};
use private_interfaces::{IEcho, IEchoImpl};

use crate::Meter;

/// Where the benchmarks serve their `IEcho` to the process they run.
const ECHO_PATH: &str = "/bench/echo";
/// Where the process they run serves its `IEcho` to them.
const SERVED_PATH: &str = "/bench/served-echo";
/// Calls a timing process makes; it keeps the least.
const ROUNDS: &str = "20";

#[class(IEcho)]
struct Echo;

impl IEchoImpl for Echo {
    fn nothing(&self) -> Result<()> {
        Ok(())
    }

    fn echo(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        let count = data.len().min(out.len());
        out.get_mut(..count)
            .ok_or(Status::OUT_OF_RANGE)?
            .copy_from_slice(data.get(..count).ok_or(Status::OUT_OF_RANGE)?);
        Ok(count)
    }

    fn reverse(&self, mut data: InOut<'_>) -> Result<()> {
        data.reverse();
        Ok(())
    }

    fn characters(&self, text: &str) -> Result<u32> {
        Ok(u32::try_from(text.chars().count()).unwrap_or(u32::MAX))
    }
}

/// The process manager (loading it if it is not loaded).
fn manager() -> Result<ComPtr<IProcessManager>> {
    component::namespace()?
        .bind(MANAGER_PATH, 0)?
        .query::<IProcessManager>()
}

/// Runs `apptest WHAT ROUNDS` granted the echo object, which is served
/// meanwhile; the count it exits with.
fn timed_in_process(what: &str) -> Result<u64> {
    let namespace = component::namespace()?;
    let echo: ComPtr<IEcho> = ComObject::create(Echo);
    namespace.register(ECHO_PATH, echo.as_unknown(), 0)?;
    let mut arguments = alloc::string::String::from(what);
    arguments.push(' ');
    arguments.push_str(ROUNDS);
    let ended = manager()
        .and_then(|manager| manager.create("apptest", &arguments, ECHO_PATH))
        .and_then(|process| process.wait());
    namespace.unregister(ECHO_PATH)?;
    let count = ended?;
    u64::try_from(count).map_err(|_| Status(count))
}

pub fn null_call(_: &Meter) -> Result<u64> {
    timed_in_process("null-call")
}

pub fn buffers_call(_: &Meter) -> Result<u64> {
    timed_in_process("buffers")
}

/// A null call from here (the kernel's space) into a process serving an
/// `IEcho` (`apptest serve`), through the kernel-space proxy its endpoint
/// gives: the proxy's stub, the IPC's copies and records, the nested
/// U-mode run on this thread, the server's dispatch and its `RETURN`.
pub fn kernel_to_process_null_call(meter: &Meter) -> Result<u64> {
    let manager = manager()?;
    let arguments = alloc::format!("serve {SERVED_PATH}");
    let grants = alloc::format!("/dev/console {SERVED_PATH}");
    let server = manager.create("apptest", &arguments, &grants)?;
    let measured = served_echo().map(|echo| {
        meter.measure(|| {
            let _ = core::hint::black_box(echo.nothing());
        })
    });
    // The server's end takes its name with it.
    let _ = server.kill();
    let _ = server.wait();
    measured
}

/// The `IEcho` the server process registers at `SERVED_PATH`, once it
/// has (waiting up to a few seconds for it).
fn served_echo() -> Result<ComPtr<IEcho>> {
    let namespace = component::namespace()?;
    let scheduler = component::threads::scheduler()?;
    let step = (scheduler.ticks_per_second()? / 100).max(1);
    for _ in 0..500 {
        if let Ok(object) = namespace.bind(SERVED_PATH, 0) {
            return object.query::<IEcho>();
        }
        scheduler.sleep_until(scheduler.now()? + step)?;
    }
    Err(Status::TIMED_OUT)
}

/// Creating a process of the empty application (`emptyapp`, whose `main`
/// returns 0), waiting for its end and releasing it. The process manager,
/// the image mapper and a space are held meanwhile, so neither they nor
/// the virtual-memory manager load or unload inside the figure.
pub fn create_and_exit(meter: &Meter) -> Result<u64> {
    let manager = manager()?;
    let vm = component::namespace()?
        .bind(VM_PATH, 0)?
        .query::<IVmFactory>()?;
    let _held: ComPtr<IVmSpace> = vm.create_space()?;
    let _mapper = component::namespace()?.bind(IMAGE_MAPPER_PATH, 0)?;
    let mut failure = Ok(());
    let count = meter.measure(|| {
        let ended = manager
            .create("emptyapp", "", "")
            .and_then(|process: ComPtr<IUserProcess>| process.wait());
        if let Err(status) = ended {
            failure = Err(status);
        }
    });
    failure.map(|()| count)
}
