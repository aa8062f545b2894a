//! Tessera's kernel: the machine layer, the kernel objects and the start of the startup program.
//!
//! Boot, in order: the machine layer's entry code sets up a stack and traps
//! and calls [`kernel_main`]; the device tree tells the RAM and devices; the
//! heap takes every free byte of RAM; the root namespace is created and the
//! kernel objects are registered in it (`/dev/console`, `/dev/power`,
//! `/sys/heap`, and the boot RomFS at `/boot`); then the kernel binds the
//! startup program by name ([`STARTUP_PROGRAM`], `/shell`: with the loader,
//! the shell component, demand-loaded from the boot RomFS; without it, the
//! small built-in program of `startup`) and runs it until `poweroff`.
//!
//! Depends on every portable crate (`com`, `interfaces`,
//! `private-interfaces`, `heap`, `namespace`, `devicetree`, `sync`; with
//! `loader`, also `bootfs`, `linker`, `image`); nothing depends on it.

#![no_std]
#![no_main]
// Only the machine layer and the boundary with component code may use
// `unsafe` (docs/architecture.md lists every exception and why).
#![deny(unsafe_code)]

extern crate alloc;

/// Prints a formatted line on the firmware console, for the full kernel's
/// messages (the loader's, the self-tests'); the code the minimal kernels
/// carry prints with [`kputln!`] instead, without `core::fmt`.
#[cfg_attr(
    not(feature = "loader"),
    allow(unused_macros, reason = "the minimal kernels print without formatting")
)]
macro_rules! kprintln {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = writeln!($crate::machine::console::Writer, $($arg)*);
    }};
}

/// Prints pieces on the firmware console one after another — text,
/// decimal numbers, `Hex` — without `core::fmt`.
macro_rules! kput {
    ($($piece:expr),* $(,)?) => {{
        $( $crate::machine::console::Piece::print(&$piece); )*
    }};
}

/// [`kput!`], then the end of the line.
macro_rules! kputln {
    ($($piece:expr),* $(,)?) => {{
        kput!($($piece),*);
        $crate::machine::console::print("\n");
    }};
}

#[allow(unsafe_code, reason = "the boundary with component code: see its docs")]
mod abi;
#[cfg(feature = "threads")]
mod interrupt_registry;
#[cfg_attr(
    not(all(feature = "threads", feature = "loader")),
    allow(
        dead_code,
        reason = "the machine layer drives the whole board; a minimal kernel uses part of it"
    )
)]
#[allow(
    unsafe_code,
    reason = "the machine layer is where the kernel's unsafe code lives"
)]
mod machine;
#[cfg(feature = "loader")]
mod modules;
mod objects;
mod startup;
#[cfg(feature = "threads")]
#[cfg_attr(
    not(feature = "loader"),
    allow(
        dead_code,
        unused_imports,
        reason = "the thread library offers its whole API; a minimal kernel uses part of it"
    )
)]
mod threads;

use com::Status;
use interfaces::IProgram;
use interfaces::power::exit_code;
use machine::console::Hex;
use machine::platform::Platform;
use machine::{counters, power};
use startup::STARTUP_PROGRAM;

/// The boot sequence, from the machine layer's entry code;
/// `entry_instructions` is `instret` at `_start`.
fn kernel_main(device_tree: usize, entry_instructions: u64) -> ! {
    let platform = match machine::platform::discover(device_tree) {
        Ok(platform) => platform,
        Err(error) => {
            kputln!(
                "boot: the device tree at ",
                Hex(device_tree as u64),
                " is unusable: ",
                error.reason()
            );
            power::off(exit_code::BOOT_FAILURE);
        }
    };
    if let Err(no_ram) = machine::heap::take_free_ram(&platform) {
        kputln!(
            "boot: no RAM left for the heap (kernel ends at ",
            Hex(no_ram.kernel_end as u64),
            ", RAM at ",
            Hex(no_ram.ram_end as u64),
            ")"
        );
        power::off(exit_code::BOOT_FAILURE);
    }
    let root = objects::register_boot_objects(platform.uart)
        .unwrap_or_else(|status| boot_failed("registering the kernel objects", status));
    #[cfg(feature = "loader")]
    objects::mount_boot_romfs(&root, machine::boot_image::romfs())
        .unwrap_or_else(|status| boot_failed("mounting the boot RomFS", status));
    #[cfg(feature = "loader")]
    objects::devices::register_virtio_devices(&root, &platform.virtio_mmio)
        .unwrap_or_else(|status| boot_failed("listing the devices", status));
    #[cfg(feature = "threads")]
    {
        threads::init(platform.timebase_hz as u64)
            .unwrap_or_else(|status| boot_failed("starting threads", status));
        take_device_interrupts(&platform);
    }
    #[cfg(not(feature = "loader"))]
    startup::register(&root)
        .unwrap_or_else(|status| boot_failed("registering the startup program", status));
    let program = root
        .bind(STARTUP_PROGRAM, 0)
        .and_then(|object| object.query::<IProgram>())
        .unwrap_or_else(|status| startup_failed("loading", status));
    let boot_instructions = counters::instructions().wrapping_sub(entry_instructions);
    print_banner(&platform, boot_instructions);
    program
        .run()
        .unwrap_or_else(|status| startup_failed("running", status));
    power::off(exit_code::SUCCESS);
}

#[cfg(feature = "threads")]
/// Starts device interrupts and makes console input interrupt-driven, when
/// the board has a PLIC and a UART with an interrupt (else input is polled).
fn take_device_interrupts(platform: &Platform) {
    let (Some((plic, context)), Some(uart), Some(source)) =
        (platform.plic, platform.uart, platform.uart_interrupt)
    else {
        return;
    };
    interrupt_registry::init(plic, context);
    machine::uart::enable_receive_interrupt(uart);
    if let Err(status) = objects::console::take_input_interrupts(source) {
        kputln!("boot: console input stays polled: ", status.message());
    }
}

/// The banner: the system, its RAM and devices, and how many instructions
/// the boot took (which the tests and the bench read).
fn print_banner(platform: &Platform, boot_instructions: u64) {
    let mebibytes = platform.ram.len() >> 20;
    // Text known when compiling is one piece: each piece is a call.
    kput!(
        concat!("Tessera ", env!("CARGO_PKG_VERSION"), " on riscv64, "),
        mebibytes,
        " MiB RAM, "
    );
    match platform.uart {
        Some(address) => kput!("UART at ", Hex(address as u64)),
        None => kput!("no UART"),
    }
    kputln!(", timer at ", platform.timebase_hz, " Hz");
    kputln!(
        "boot: ",
        boot_instructions,
        " instructions from kernel entry to the shell"
    );
}

/// Reports a boot step that failed and powers off.
fn boot_failed(step: &str, status: Status) -> ! {
    step_failed(step, "", status)
}

/// Reports that the startup program could not be loaded or run (`step`)
/// and powers off.
fn startup_failed(step: &str, status: Status) -> ! {
    step_failed(step, STARTUP_PROGRAM, status)
}

/// Prints `boot: STEP [the startup program PROGRAM] failed: …` and powers
/// off.
fn step_failed(step: &str, program: &str, status: Status) -> ! {
    let what = if program.is_empty() {
        ""
    } else {
        " the startup program "
    };
    kputln!(
        "boot: ",
        step,
        what,
        program,
        " failed: ",
        status.message(),
        " (-",
        u64::from(status.0.unsigned_abs()),
        ")"
    );
    power::off(exit_code::BOOT_FAILURE);
}

/// Stops on a kernel bug: prints where and why, then powers off.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    #[cfg(feature = "loader")]
    kprintln!("\npanic: {info}");
    // A message with arguments would need `core::fmt`: the minimal kernels
    // print its fixed text only, and where.
    #[cfg(not(feature = "loader"))]
    {
        let message = info.message().as_str().unwrap_or("(message not formatted)");
        let (file, line) = info
            .location()
            .map_or(("?", 0), |location| (location.file(), location.line()));
        kputln!("\npanic: ", message, " at ", file, ":", line as usize);
    }
    power::off(exit_code::PANIC);
}
