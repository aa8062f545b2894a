//! The kernel's boot services: objects over the machine layer, registered in
//! the root namespace before anything else runs.

#![deny(unsafe_code)]

pub mod console;
#[cfg(feature = "threads")]
mod interrupts;
#[cfg(feature = "threads")]
pub mod locks;
mod power;
#[cfg(feature = "threads")]
mod scheduler;
#[cfg(feature = "threads")]
mod threads;

use com::{ComObject, Result};
use heap::HeapObject;

use crate::Root;

/// Creates the root namespace, registers the boot services in it and makes
/// it the current namespace; returns it. `uart` is the NS16550's address,
/// which a console driver takes over.
pub fn register_boot_services(uart: Option<usize>) -> Result<Root> {
    #[cfg(feature = "loader")]
    let root: Root = ComObject::create(namespace::Namespace::new(Some(
        crate::modules::ModuleLoader::boxed(),
    )));
    #[cfg(not(feature = "loader"))]
    let root: Root = ComObject::create(namespace::Namespace::new(None));
    let console = ComObject::create::<interfaces::IConsole>(console::FirmwareConsole(
        interfaces::console::ConsoleState {
            gate: com::Gate::new(),
            write_lock: com::WordLock::new(),
            base: uart.unwrap_or(0),
            wait: console::wait_for_input,
        },
    ));
    root.register("/dev/console", console.as_unknown(), 0)?;
    let power = ComObject::create::<interfaces::IPower>(power::PowerControl);
    root.register("/dev/power", power.as_unknown(), 0)?;
    root.register(
        "/sys/heap",
        HeapObject::serve(crate::heap()).as_unknown(),
        0,
    )?;
    #[cfg(feature = "loader")]
    {
        register_loader_services(&root)?;
        let give_back = ComObject::create::<interfaces::ITransition>(console::GiveBack);
        let path = interfaces::console::FIRMWARE_TRANSITION_PATH;
        root.register(path, give_back.as_unknown(), 0)?;
    }
    #[cfg(feature = "threads")]
    register_thread_services(&root)?;
    namespace::set_current(root.clone())?;
    Ok(root)
}

/// Mounts the boot RomFS at `/boot` (the minimal kernels carry none).
#[cfg(feature = "loader")]
pub fn mount_boot_romfs(root: &Root, romfs: &'static [u8]) -> Result<()> {
    let boot = bootfs::RomDirectory::mount(romfs).map_err(|error| {
        kprintln!("boot: the boot RomFS is corrupt: {error}");
        com::Status::BAD_IMAGE
    })?;
    root.register(
        "/boot",
        boot.as_unknown(),
        interfaces::namespace::flags::EXTENSION,
    )
}

/// `/sys/loader` and `/sys/modules`.
#[cfg(feature = "loader")]
fn register_loader_services(root: &Root) -> Result<()> {
    let loader = ComObject::create::<interfaces::ILoader>(crate::modules::LoaderService);
    root.register("/sys/loader", loader.as_unknown(), 0)?;
    let listing = ComObject::create::<interfaces::INamespace>(crate::modules::ModuleDirectory);
    root.register(
        "/sys/modules",
        listing.as_unknown(),
        interfaces::namespace::flags::EXTENSION,
    )
}

/// `/sys/threads`, `/sys/process`, `/sys/interrupts` and `/sys/scheduler`.
#[cfg(feature = "threads")]
fn register_thread_services(root: &Root) -> Result<()> {
    let threads = ComObject::create::<interfaces::IThreads>(threads::ThreadList);
    root.register("/sys/threads", threads.as_unknown(), 0)?;
    let process = ComObject::create::<interfaces::IProcess>(crate::process::Process);
    root.register("/sys/process", process.as_unknown(), 0)?;
    let interrupts = ComObject::create::<interfaces::IInterrupts>(interrupts::InterruptService);
    root.register("/sys/interrupts", interrupts.as_unknown(), 0)?;
    let scheduler = ComObject::create::<interfaces::IScheduler>(scheduler::SchedulerService);
    root.register("/sys/scheduler", scheduler.as_unknown(), 0)
}
