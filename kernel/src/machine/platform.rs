//! What the device tree says about the board: RAM, the UART, the test
//! device and the timer's frequency, and, for a kernel with threads (the
//! only one that takes device interrupts), the PLIC and the UART's source;
//! for a kernel with the loader (the only one that loads drivers), the
//! virtio-mmio slots.

use core::ops::Range;

use devicetree::{DeviceTree, HEADER_START, Node};

/// The board as the kernel needs to know it.
pub struct Platform {
    /// Physical RAM (the first memory region).
    pub ram: Range<usize>,
    /// Where the device tree blob lies; the heap must not cover it.
    pub device_tree: Range<usize>,
    /// The NS16550A UART's registers, if the board has one.
    pub uart: Option<usize>,
    /// The UART's interrupt source at the PLIC.
    #[cfg(feature = "threads")]
    pub uart_interrupt: Option<u32>,
    /// The PLIC's registers and the context of hart 0 in S-mode.
    #[cfg(feature = "threads")]
    pub plic: Option<(usize, usize)>,
    /// Ticks per second of the `time` counter.
    pub timebase_hz: usize,
    /// The virtio-mmio slots, in the tree's order.
    #[cfg(feature = "loader")]
    pub virtio_mmio: VirtioSlots,
}

/// How many virtio-mmio slots the kernel lists (QEMU virt has 8).
#[cfg(feature = "loader")]
pub const MAX_VIRTIO_SLOTS: usize = 16;

/// A virtio-mmio slot of the tree: its register window and interrupt.
#[cfg(feature = "loader")]
#[derive(Clone, Copy, Default)]
pub struct VirtioSlot {
    /// The registers' physical address.
    pub base: usize,
    /// The window's size in bytes.
    pub size: usize,
    /// The interrupt source at the PLIC.
    pub interrupt: u32,
}

/// The virtio-mmio slots found, the first [`MAX_VIRTIO_SLOTS`] of them.
#[cfg(feature = "loader")]
pub type VirtioSlots = [Option<VirtioSlot>; MAX_VIRTIO_SLOTS];

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
    // nothing overwrites (the heap is placed around it); its header is
    // longer than the bytes read here.
    let header = unsafe { core::slice::from_raw_parts(address as *const u8, HEADER_START) };
    let size = devicetree::blob_size(header).ok_or(PlatformError::BadDeviceTree)?;
    // SAFETY: as above; a blob with the magic number says its own size.
    let blob = unsafe { core::slice::from_raw_parts(address as *const u8, size) };
    let tree = DeviceTree::parse(blob).ok_or(PlatformError::BadDeviceTree)?;
    let mut found = Found::default();
    // One walk over the tree finds everything (each question asked apart
    // would walk all of it again).
    tree.walk(|node| found.visit(node));
    super::timer::set_sstc(found.sstc);
    let (start, size) = found.ram.ok_or(PlatformError::NoMemory)?;
    let start = usize::try_from(start).map_err(|_| PlatformError::NoMemory)?;
    let end = usize::try_from(size)
        .ok()
        .and_then(|size| start.checked_add(size))
        .ok_or(PlatformError::NoMemory)?;
    if let Some(test_device) = found.test_device {
        super::power::set_test_device(test_device);
    }
    Ok(Platform {
        ram: start..end,
        device_tree: address..address + tree.total_size(),
        uart: found.uart,
        #[cfg(feature = "threads")]
        uart_interrupt: found.uart_interrupt,
        #[cfg(feature = "threads")]
        plic: found.plic,
        timebase_hz: found.timebase_hz,
        #[cfg(feature = "loader")]
        virtio_mmio: found.virtio_mmio,
    })
}

/// What the walk over the tree found so far.
#[derive(Default)]
struct Found {
    /// The first region of `/memory`.
    ram: Option<(u64, u64)>,
    uart: Option<usize>,
    #[cfg(feature = "threads")]
    uart_interrupt: Option<u32>,
    #[cfg(feature = "threads")]
    plic: Option<(usize, usize)>,
    test_device: Option<usize>,
    timebase_hz: usize,
    #[cfg(feature = "loader")]
    virtio_mmio: VirtioSlots,
    /// The first hart's ISA lists Sstc.
    sstc: bool,
    /// The walk is inside `/cpus`.
    in_cpus: bool,
    /// A hart's ISA was seen (only the first one counts).
    isa_seen: bool,
}

impl Found {
    /// Takes what `node` tells.
    fn visit(&mut self, node: &Node<'_>) {
        if node.depth == 1 {
            self.in_cpus = node.is("cpus");
            if self.in_cpus {
                self.timebase_hz = node
                    .number("timebase-frequency")
                    .and_then(|hz| usize::try_from(hz).ok())
                    .unwrap_or(0);
            } else if node.is("memory") && self.ram.is_none() {
                self.ram = node.region();
            }
        } else if node.depth == 2 && self.in_cpus && !self.isa_seen {
            // Sstc (`..._sstc`) is opened to S-mode by OpenSBI when the
            // first hart has it.
            if let Some(isa) = node.property("riscv,isa") {
                self.isa_seen = true;
                // A NUL-terminated string: the last extension ends at the NUL.
                self.sstc = isa
                    .split(|&byte| byte == b'_' || byte == 0)
                    .any(|extension| extension == b"sstc");
            }
        }
        let address = || {
            let (address, _) = node.region()?;
            usize::try_from(address).ok()
        };
        for name in node.compatible() {
            match name {
                b"ns16550a" if self.uart.is_none() => {
                    self.uart = address();
                    #[cfg(feature = "threads")]
                    {
                        self.uart_interrupt = node
                            .property("interrupts")
                            .and_then(|cells| devicetree::word(cells, 0));
                    }
                }
                #[cfg(feature = "threads")]
                b"riscv,plic0" if self.plic.is_none() => {
                    self.plic = address().zip(supervisor_context(node));
                }
                b"sifive,test0" => self.test_device = address().or(self.test_device),
                #[cfg(feature = "loader")]
                b"virtio,mmio" => self.add_virtio_slot(node),
                _ => {}
            }
        }
    }
}

#[cfg(feature = "loader")]
impl Found {
    /// Takes a virtio-mmio slot with a register window and an interrupt;
    /// slots past [`MAX_VIRTIO_SLOTS`] are left out.
    fn add_virtio_slot(&mut self, node: &Node<'_>) {
        let Some((base, size)) = node.region() else {
            return;
        };
        let (Ok(base), Ok(size)) = (usize::try_from(base), usize::try_from(size)) else {
            return;
        };
        let Some(interrupt) = node
            .property("interrupts")
            .and_then(|cells| devicetree::word(cells, 0))
        else {
            return;
        };
        if let Some(free) = self.virtio_mmio.iter_mut().find(|slot| slot.is_none()) {
            *free = Some(VirtioSlot {
                base,
                size,
                interrupt,
            });
        }
    }
}

#[cfg(feature = "threads")]
/// The PLIC context that delivers hart 0's supervisor external interrupts:
/// the index of the first `interrupts-extended` pair naming cause 9.
fn supervisor_context(plic: &Node<'_>) -> Option<usize> {
    const SUPERVISOR_EXTERNAL: u32 = 9;
    let cells = plic.property("interrupts-extended")?;
    cells
        .chunks_exact(8)
        .position(|pair| devicetree::word(pair, 4) == Some(SUPERVISOR_EXTERNAL))
}
