//! Tessera's kernel: the machine layer, the boot services and the start of the shell.
//!
//! Boot, in order: the machine layer's entry code sets up a stack and traps
//! and calls [`kernel_main`]; the device tree tells the RAM and devices; the
//! heap takes every free byte of RAM; the root namespace is created and the
//! boot services are registered in it (`/dev/console`, `/dev/power`,
//! `/sys/heap`, and the boot RomFS at `/boot`); then the shell runs on the
//! console until `poweroff`.
//!
//! Depends on every portable crate (`com`, `interfaces`, `heap`,
//! `namespace`, `bootfs`, `shell`) and on `fdt`; nothing depends on it.

#![no_std]
#![no_main]

extern crate alloc;

/// Prints a line on the firmware console, for the kernel's own messages.
macro_rules! kprintln {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = writeln!($crate::machine::console::Writer, $($arg)*);
    }};
}

mod boot_image;
#[cfg(feature = "loader")]
mod exports;
mod gates;
#[cfg(feature = "threads")]
mod irq;
#[cfg_attr(
    not(all(feature = "threads", feature = "loader")),
    allow(
        dead_code,
        reason = "the machine layer drives the whole board; a minimal kernel uses part of it"
    )
)]
mod machine;
#[cfg(feature = "loader")]
mod modules;
#[cfg(feature = "threads")]
mod process;
mod services;
#[cfg(feature = "threads")]
#[cfg_attr(
    not(feature = "loader"),
    allow(
        dead_code,
        reason = "the thread library offers its whole API; a minimal kernel uses part of it"
    )
)]
mod threads;

use com::{ComPtr, Status};
use heap::SharedHeap;
use interfaces::INamespace;
use interfaces::power::exit_code;
use machine::platform::Platform;
use machine::{counters, power};
use shell::Shell;

/// The kernel heap; `kernel_main` gives it the free RAM.
#[global_allocator]
static HEAP: SharedHeap = SharedHeap::empty();

/// The first Rust code; `entry_instructions` is `instret` at `_start`.
#[unsafe(no_mangle)]
extern "C" fn kernel_main(_hart: usize, device_tree: usize, entry_instructions: u64) -> ! {
    let platform = match machine::platform::discover(device_tree) {
        Ok(platform) => platform,
        Err(error) => {
            kprintln!("boot: the device tree at {device_tree:#x} is unusable: {error:?}");
            power::off(exit_code::BOOT_FAILURE);
        }
    };
    give_free_ram_to_heap(&platform);
    let root = services::register_boot_services(boot_image::romfs(), platform.uart)
        .unwrap_or_else(|status| boot_failed("registering the boot services", status));
    #[cfg(feature = "threads")]
    {
        threads::init(platform.timebase_hz as u64)
            .unwrap_or_else(|status| boot_failed("starting threads", status));
        take_device_interrupts(&platform);
    }
    let mut shell =
        Shell::new(root).unwrap_or_else(|status| boot_failed("starting the shell", status));
    let boot_instructions = counters::instructions().wrapping_sub(entry_instructions);
    let banner = alloc::format!(
        "Tessera {} on riscv64, {} MiB RAM, {}\nboot: {boot_instructions} instructions from kernel entry to the shell\n",
        env!("CARGO_PKG_VERSION"),
        platform.ram.len() >> 20,
        devices(&platform),
    );
    shell.output().print(&banner);
    shell.run();
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
    irq::init(plic, context);
    machine::uart::enable_receive_interrupt(uart);
    if let Err(status) = services::console::take_input_interrupts(source) {
        kprintln!("boot: console input stays polled: {}", status.message());
    }
}

/// The devices found in the device tree, for the banner.
fn devices(platform: &Platform) -> alloc::string::String {
    let uart = platform.uart.map_or("no UART".into(), |address| {
        alloc::format!("UART at {address:#x}")
    });
    alloc::format!("{uart}, timer at {} Hz", platform.timebase_hz)
}

/// Hands the RAM between the kernel image and the device tree (or the end
/// of RAM) to the heap.
fn give_free_ram_to_heap(platform: &Platform) {
    let (_, kernel_end) = machine::kernel_extent();
    let tree = &platform.device_tree;
    let end = if (kernel_end..platform.ram.end).contains(&tree.start) {
        tree.start
    } else {
        platform.ram.end
    };
    if end <= kernel_end {
        kprintln!(
            "boot: no RAM left for the heap (kernel ends at {kernel_end:#x}, RAM at {end:#x})"
        );
        power::off(exit_code::BOOT_FAILURE);
    }
    // SAFETY: `[kernel_end, end)` is RAM (inside the device tree's memory
    // region) that neither the kernel image, its stack nor the device tree
    // occupies, and the heap is given memory only here, once.
    unsafe { HEAP.init(kernel_end as *mut u8, end - kernel_end) };
}

/// Reports a boot step that failed and powers off.
fn boot_failed(step: &str, status: Status) -> ! {
    kprintln!("boot: {step} failed: {}", status.message());
    power::off(exit_code::BOOT_FAILURE);
}

/// The heap as the kernel's services see it.
fn heap() -> &'static SharedHeap {
    &HEAP
}

/// Stops on a kernel bug: prints where and why, then powers off.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    kprintln!("\npanic: {info}");
    power::off(exit_code::PANIC);
}

/// The root namespace as a client sees it.
type Root = ComPtr<INamespace>;
