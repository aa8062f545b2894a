//! Processes: a thousand runs of an application that binds the counter
//! through the IPC, calls it and exits leave the heap and the frame pool
//! exactly where they were; a process calls an object of the kernel's
//! space that calls on into another process, through a kernel-space
//! proxy, on the first process's own thread; a process lent an object of
//! the kernel's space calls it back.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use com::{ComObject, ComPtr, InOut, Interface, Result, Status, class};
use interfaces::{IHeap, IProcessManager, IVmFactory, IVmSpace};
use private_interfaces::{ICallback, ICallbackImpl, IEcho, IEchoImpl, IRelay};

use crate::{fail, sys};

pub fn a_thousand_process_cycles_leave_no_drift() -> Result<()> {
    const CYCLES: u32 = 1000;
    let namespace = sys::namespace();
    let heap = namespace.bind("/sys/heap", 0)?.query::<IHeap>()?;
    let manager = namespace
        .bind(interfaces::ipc::MANAGER_PATH, 0)?
        .query::<IProcessManager>()?;
    let factory = namespace
        .bind(interfaces::vm::MANAGER_PATH, 0)?
        .query::<IVmFactory>()?;
    // A space held throughout keeps the manager (and its figures) alive;
    // the first cycle loads the counter and warms what is made once.
    let _keeper: ComPtr<IVmSpace> = factory.create_space()?;
    one_cycle(&manager)?;
    let frames = factory.status()?.frames_free;
    let used = heap.status()?.used;
    for _ in 1..CYCLES {
        one_cycle(&manager)?;
    }
    let (frames_after, used_after) = (factory.status()?.frames_free, heap.status()?.used);
    if frames_after != frames || used_after != used {
        return fail(format_args!(
            "after {CYCLES} processes: {frames_after} frames free (was {frames}), heap {used_after} (was {used})"
        ));
    }
    Ok(())
}

/// One process: binds `/counter`, adds 1 and exits with 0.
fn one_cycle(manager: &IProcessManager) -> Result<()> {
    let process = manager.create("apptest", "add 1", "/counter")?;
    match process.wait() {
        Ok(0) => Ok(()),
        other => fail(format_args!("a process ended with {other:?}")),
    }
}

/// Where the serving process registers its `IEcho`, and where this
/// registers the one that calls on into it.
const SERVED: &str = "/selftest/served-echo";
const FORWARDING: &str = "/selftest/forwarding-echo";

/// An `IEcho` of the kernel's space that makes each call on another (a
/// process's, through a kernel-space proxy).
#[class(IEcho)]
struct Forwarding {
    to: ComPtr<IEcho>,
}

impl IEchoImpl for Forwarding {
    fn nothing(&self) -> Result<()> {
        self.to.nothing()
    }

    fn echo(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        self.to.echo(data, out)
    }

    fn reverse(&self, data: InOut<'_>) -> Result<()> {
        self.to.reverse(data)
    }

    fn characters(&self, text: &str) -> Result<u32> {
        self.to.characters(text)
    }
}

/// `apptest client` (a null call, buffers in and out, an in-out buffer)
/// calls a [`Forwarding`] echo, whose calls go on into `apptest serve`:
/// the client's thread, in the kernel's code for its call, runs the
/// server's method nested in it.
pub fn a_kernel_object_calls_on_into_another_process() -> Result<()> {
    let namespace = sys::namespace();
    let manager = namespace
        .bind(interfaces::ipc::MANAGER_PATH, 0)?
        .query::<IProcessManager>()?;
    let served = alloc::format!("serve {SERVED}");
    let server = manager.create("apptest", &served, &alloc::format!("/dev/console {SERVED}"))?;
    let called = served_echo().and_then(|to| {
        let forwarding: ComPtr<IEcho> = ComObject::create(Forwarding { to });
        namespace.register(FORWARDING, forwarding.as_unknown(), 0)?;
        let client = alloc::format!("client {FORWARDING}");
        let grants = alloc::format!("/dev/console {FORWARDING}");
        let ended = manager
            .create("apptest", &client, &grants)
            .and_then(|process| process.wait());
        namespace.unregister(FORWARDING)?;
        match ended {
            Ok(0) => Ok(()),
            other => fail(format_args!("the client ended with {other:?}")),
        }
    });
    let _ = server.kill();
    let _ = server.wait();
    called
}

/// The `IEcho` the server registers at [`SERVED`] (a kernel-space
/// proxy), once it has.
fn served_echo() -> Result<ComPtr<IEcho>> {
    served(SERVED)
}

/// The `I` a process registers at `name` (a kernel-space proxy), once it
/// has.
fn served<I: Interface>(name: &str) -> Result<ComPtr<I>> {
    let scheduler = component::threads::scheduler()?;
    let step = (scheduler.ticks_per_second()? / 100).max(1);
    for _ in 0..500 {
        if let Ok(object) = sys::namespace().bind(name, 0) {
            return object.query::<I>();
        }
        scheduler.sleep_until(scheduler.now()? + step)?;
    }
    Err(Status::TIMED_OUT)
}

/// Where the relay process registers its `IRelay`.
const RELAY: &str = "/selftest/relay";

/// `apptest relay-serve` lent a callback of the kernel's space through a
/// kernel-space proxy: it calls it back three times during the call
/// (the callback runs from the server's traps, nested in this thread's
/// call into it), one it keeps is `STALE_HANDLE` after the call, and the
/// IPC holds no reference past it — the callback is freed with this
/// check's last, and a second round leaves the heap where the first did.
pub fn a_kernel_object_lent_to_a_process_is_called_back() -> Result<()> {
    let namespace = sys::namespace();
    let heap = namespace.bind("/sys/heap", 0)?.query::<IHeap>()?;
    let manager = namespace
        .bind(interfaces::ipc::MANAGER_PATH, 0)?
        .query::<IProcessManager>()?;
    let serving = alloc::format!("relay-serve {RELAY}");
    let server = manager.create("apptest", &serving, &alloc::format!("/dev/console {RELAY}"))?;
    let lent = served::<IRelay>(RELAY).and_then(|relay| {
        lend_a_callback(&relay)?;
        let used = heap.status()?.used;
        lend_a_callback(&relay)?;
        match heap.status()?.used {
            after if after == used => Ok(()),
            after => fail(format_args!("lending left heap {after} (was {used})")),
        }
    });
    let _ = server.kill();
    let _ = server.wait();
    lent
}

/// One round of [`a_kernel_object_lent_to_a_process_is_called_back`].
fn lend_a_callback(relay: &IRelay) -> Result<()> {
    let calls = Arc::new(AtomicU32::new(0));
    let freed = Arc::new(AtomicBool::new(false));
    let callback: ComPtr<ICallback> = ComObject::try_create(Doubling {
        calls: calls.clone(),
        freed: freed.clone(),
    })?;
    let sum = relay.relay(&callback, 10, 3)?;
    let called = calls.load(Ordering::Relaxed);
    relay.keep(&callback)?;
    let kept = relay.call_kept(5);
    drop(callback);
    let freed = freed.load(Ordering::Relaxed);
    if (sum, called, kept, freed) != (66, 3, Err(Status::STALE_HANDLE), true) {
        return fail(format_args!(
            "lent a callback: sum {sum}, {called} calls, kept {kept:?}, freed {freed}"
        ));
    }
    Ok(())
}

/// A callback of the kernel's space: counts its calls, doubles what it is
/// given, and tells when it is freed.
#[class(ICallback)]
struct Doubling {
    calls: Arc<AtomicU32>,
    freed: Arc<AtomicBool>,
}

impl ICallbackImpl for Doubling {
    fn called(&self, value: u64) -> Result<u64> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Ok(value * 2)
    }
}

impl Drop for Doubling {
    fn drop(&mut self) {
        self.freed.store(true, Ordering::Relaxed);
    }
}
