//! What the device tree says about the board: RAM, the UART, the test
//! device and the timer's frequency.

use core::ops::Range;

use fdt::Fdt;

/// The board as the kernel needs to know it.
pub struct Platform {
    /// Physical RAM (the first memory region).
    pub ram: Range<usize>,
    /// Where the device tree blob lies; the heap must not cover it.
    pub device_tree: Range<usize>,
    /// The NS16550A UART's registers, if the board has one.
    pub uart: Option<usize>,
    /// The UART's interrupt source at the PLIC.
    pub uart_interrupt: Option<u32>,
    /// The PLIC's registers and the context of hart 0 in S-mode.
    pub plic: Option<(usize, usize)>,
    /// Ticks per second of the `time` counter.
    pub timebase_hz: usize,
}

/// Why the device tree cannot be used.
#[derive(Debug)]
pub enum PlatformError {
    /// The blob's header is invalid.
    BadDeviceTree,
    /// There is no `/memory` node with a sized region.
    NoMemory,
}

impl PlatformError {
    /// What is wrong, for the boot message.
    pub fn reason(&self) -> &'static str {
        match self {
            PlatformError::BadDeviceTree => "its header is invalid",
            PlatformError::NoMemory => "it has no /memory node with a sized region",
        }
    }
}

/// Reads the device tree at `address` and sets up the power-off device.
pub fn discover(address: usize) -> Result<Platform, PlatformError> {
    // SAFETY: OpenSBI passes the address of a device tree blob in RAM that
    // nothing overwrites (the heap is placed around it); `from_ptr` checks
    // the header's magic and size before reading further.
    let tree =
        unsafe { Fdt::from_ptr(address as *const u8) }.map_err(|_| PlatformError::BadDeviceTree)?;
    let mut platform = Platform {
        ram: ram(&tree).ok_or(PlatformError::NoMemory)?,
        device_tree: address..address + tree.total_size(),
        uart: None,
        uart_interrupt: None,
        plic: None,
        timebase_hz: tree
            .find_node("/cpus")
            .and_then(|cpus| cpus.property("timebase-frequency"))
            .and_then(|frequency| frequency.as_usize())
            .unwrap_or(0),
    };
    super::timer::set_sstc(has_sstc(&tree));
    // One walk over the tree finds every device we know (each lookup by
    // `compatible` would walk all of it again).
    for node in tree.all_nodes() {
        let Some(compatible) = node.compatible() else {
            continue;
        };
        let register = || Some(node.reg()?.next()?.starting_address as usize);
        for name in compatible.all() {
            match name {
                "ns16550a" if platform.uart.is_none() => {
                    platform.uart = register();
                    platform.uart_interrupt = node
                        .interrupts()
                        .and_then(|mut sources| sources.next())
                        .and_then(|source| u32::try_from(source).ok());
                }
                "riscv,plic0" if platform.plic.is_none() => {
                    platform.plic = register().zip(supervisor_context(&node));
                }
                "sifive,test0" => register()
                    .into_iter()
                    .for_each(super::power::set_test_device),
                _ => {}
            }
        }
    }
    Ok(platform)
}

/// The PLIC context that delivers hart 0's supervisor external interrupts:
/// the index of the first `interrupts-extended` pair naming cause 9.
fn supervisor_context(plic: &fdt::node::FdtNode<'_, '_>) -> Option<usize> {
    const SUPERVISOR_EXTERNAL: u32 = 9;
    let cells = plic.property("interrupts-extended")?.value;
    cells.chunks_exact(8).position(|pair| {
        pair.get(4..8).is_some_and(|cause| {
            u32::from_be_bytes([cause[0], cause[1], cause[2], cause[3]]) == SUPERVISOR_EXTERNAL
        })
    })
}

/// True when the first hart's ISA string lists the Sstc extension
/// (`..._sstc`), which OpenSBI then opens to S-mode.
fn has_sstc(tree: &Fdt<'_>) -> bool {
    let isa = tree.find_node("/cpus").and_then(|cpus| {
        cpus.children()
            .find_map(|cpu| cpu.property("riscv,isa")?.as_str())
    });
    isa.is_some_and(|isa| isa.split('_').any(|extension| extension == "sstc"))
}

/// The first RAM region of the `/memory` node.
fn ram(tree: &Fdt<'_>) -> Option<Range<usize>> {
    let region = tree.find_node("/memory")?.reg()?.next()?;
    let start = region.starting_address as usize;
    Some(start..start.checked_add(region.size?)?)
}
