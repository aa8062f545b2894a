//! The kernel objects: what the kernel serves in the root namespace, one
//! module each, registered before anything else runs. Each is a thin object
//! over a subsystem (the machine layer, `threads`, `modules`,
//! `interrupt_registry`) or a portable crate (`heap`, `bootfs`, `namespace`).
//!
//! | name | object | module |
//! |---|---|---|
//! | `/dev/console` | `IConsole` | [`console`] |
//! | `/sys/firmware-console` | `ITransition` (gives the console back) | [`console`] |
//! | `/dev/power` | `IPower` | [`power`] |
//! | `/sys/heap` | `IHeap` | `heap::HeapObject` |
//! | `/boot` | the boot RomFS | `bootfs::RomDirectory` |
//! | `/sys/loader`, `/sys/modules` | `ILoader`, `IModule` | `modules` |
//! | `/sys/threads` | `IThreads` | `threads` |
//! | `/sys/process` | `IProcess`, `IThread`; `IMutex`, `ICondition` | `process`, `locks` |
//! | `/sys/interrupts` | `IInterrupts` | `interrupts` |
//! | `/sys/scheduler` | `IScheduler` | `scheduler` |
//! | `/sys/vm-kernel` | `IVmKernel` (hooks for a virtual-memory manager, U-mode threads), `IUserTraps` (the `ecall` hook of an IPC component) | `vm_kernel` |
//! | `/sys/devices/virtio-blk0`, ... | `IDevice` | [`devices`] |
//! | `/sys/shutdown` | `IShutdown` | `shutdown` |
//! | `/sys/trust` | `ITrustPolicy` (which images need a signature) | `trust` |
//!
//! `/sys/process` and `/sys/interrupts` serve components (threads and
//! locks of their own, device interrupts for drivers): they come with the
//! loader, as `/boot`, `/sys/modules`, `/sys/devices`, `/sys/shutdown` and
//! `/sys/trust` do. The minimal multithreaded kernel runs threads for itself and serves
//! `/sys/threads` and `/sys/scheduler`.

pub mod console;
#[cfg(feature = "loader")]
pub mod devices;
#[cfg(feature = "loader")]
mod interrupts;
#[cfg(feature = "loader")]
mod locks;
#[cfg(feature = "loader")]
mod modules;
mod power;
#[cfg(feature = "loader")]
mod process;
#[cfg(feature = "threads")]
mod scheduler;
#[cfg(feature = "loader")]
mod shutdown;
#[cfg(feature = "threads")]
mod threads;
#[cfg(feature = "loader")]
mod trust;
#[cfg(feature = "loader")]
mod vm_kernel;

use com::{ComObject, ComPtr, Result};
use heap::HeapObject;
use interfaces::INamespace;
#[cfg(feature = "loader")]
use interfaces::namespace::flags;

/// The root namespace as a client sees it.
pub type Root = ComPtr<INamespace>;

/// Creates the root namespace, registers the kernel objects in it and makes
/// it the current namespace; returns it. `uart` is the NS16550's address,
/// which a console driver takes over.
pub fn register_boot_objects(uart: Option<usize>) -> Result<Root> {
    #[cfg(feature = "loader")]
    let root: Root = {
        crate::abi::set_module_hooks(crate::abi::ModuleHooks {
            holds: crate::modules::holds,
            note_unshared: crate::modules::note_unshared,
        });
        ComObject::create(namespace::Namespace::new(Some(
            crate::modules::ModuleLoader::boxed(),
        )))
    };
    // Nothing to load: the small namespace without demand loading.
    #[cfg(not(feature = "loader"))]
    let root: Root = ComObject::try_create(namespace::FlatNamespace::new())?;
    // Created fallibly, as every object a minimal kernel makes: an abort on
    // a full heap would bring in `core::fmt` (`ComObject::try_create`).
    let console = ComObject::try_create::<interfaces::IConsole>(console::FirmwareConsole(
        private_interfaces::console::ConsoleState {
            gate: com::Gate::new(),
            write_lock: com::WordLock::new(),
            uart: uart.map(crate::machine::uart::registers),
            wait: console::wait_for_input,
        },
    ))?;
    root.register("/dev/console", console.as_unknown(), 0)?;
    let power = ComObject::try_create::<interfaces::IPower>(power::PowerControl)?;
    root.register("/dev/power", power.as_unknown(), 0)?;
    root.register(
        "/sys/heap",
        HeapObject::serve(crate::machine::heap::shared())?.as_unknown(),
        0,
    )?;
    #[cfg(feature = "loader")]
    {
        register_loader_objects(&root)?;
        let give_back = ComObject::create::<interfaces::ITransition>(console::GiveBack);
        let path = private_interfaces::console::FIRMWARE_TRANSITION_PATH;
        root.register(path, give_back.as_unknown(), 0)?;
    }
    #[cfg(feature = "threads")]
    register_thread_objects(&root)?;
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
    root.register("/boot", boot.as_unknown(), flags::EXTENSION)
}

/// `/sys/loader`, `/sys/modules`, `/sys/shutdown` and `/sys/trust`.
#[cfg(feature = "loader")]
fn register_loader_objects(root: &Root) -> Result<()> {
    let loader = ComObject::create::<interfaces::ILoader>(modules::LoaderService);
    root.register("/sys/loader", loader.as_unknown(), 0)?;
    let listing = ComObject::create::<interfaces::INamespace>(modules::ModuleDirectory);
    root.register("/sys/modules", listing.as_unknown(), flags::EXTENSION)?;
    let shutdown = ComObject::create::<interfaces::IShutdown>(shutdown::ShutdownService);
    root.register(interfaces::power::SHUTDOWN_PATH, shutdown.as_unknown(), 0)?;
    let trust = ComObject::create::<interfaces::ITrustPolicy>(trust::TrustPolicy);
    root.register(interfaces::trust::POLICY_PATH, trust.as_unknown(), 0)
}

/// `/sys/threads` and `/sys/scheduler`; with the loader, `/sys/process`,
/// `/sys/interrupts` and `/sys/vm-kernel` too.
#[cfg(feature = "threads")]
fn register_thread_objects(root: &Root) -> Result<()> {
    let threads = ComObject::try_create::<interfaces::IThreads>(threads::ThreadList)?;
    root.register("/sys/threads", threads.as_unknown(), 0)?;
    #[cfg(feature = "loader")]
    {
        let process = ComObject::create::<interfaces::IProcess>(process::Process);
        root.register("/sys/process", process.as_unknown(), 0)?;
        let interrupts = ComObject::create::<interfaces::IInterrupts>(interrupts::InterruptService);
        root.register("/sys/interrupts", interrupts.as_unknown(), 0)?;
        let vm_kernel = ComObject::create::<interfaces::IVmKernel>(vm_kernel::VmKernel);
        root.register(interfaces::vm::KERNEL_PATH, vm_kernel.as_unknown(), 0)?;
    }
    let scheduler = ComObject::try_create::<interfaces::IScheduler>(scheduler::SchedulerService)?;
    root.register("/sys/scheduler", scheduler.as_unknown(), 0)
}
