//! The machine layer: everything that knows it runs on a RISC-V `virt` board
//! under OpenSBI. All of the kernel's `unsafe` lives below this module.
//!
//! Physical memory map of QEMU `virt` as the kernel uses it (address
//! translation is off; every address is physical):
//!
//! ```text
//! 0x0010_0000  SiFive test device ("sifive,test0")   power-off with exit code
//! 0x1000_0000  NS16550A UART                          (firmware console for now)
//! 0x1000_1000  virtio-mmio slots, 0x1000 apart        (listed under /sys/devices)
//! 0x8000_0000  RAM start: OpenSBI firmware            (M-mode, not ours)
//! 0x8020_0000  kernel: .text .rodata .data .bss       (link.ld)
//!              boot stack, 64 KiB                     (__stack_bottom..__stack_top)
//! __kernel_end kernel heap: every free byte of RAM up to the device tree
//!              or the end of RAM                      (heap::SharedHeap)
//! RAM end - x  device tree blob from OpenSBI          (kept intact)
//! ```
//!
//! The addresses of the devices come from the device tree, not from this table.

// `memcpy`, `memmove` and `memset`, eight words a step.
#[cfg(feature = "loader")]
use block_copy as _;
#[cfg(feature = "loader")]
pub mod boot_image;
pub mod cache;
pub mod console;
#[cfg(feature = "threads")]
pub mod context;
pub mod counters;
mod entry;
#[cfg(feature = "loader")]
pub mod fpu;
pub mod heap;
pub mod interrupt_mask;
#[cfg(not(feature = "loader"))]
mod memory_functions;
#[cfg(feature = "loader")]
pub mod mmu;
pub mod platform;
pub mod plic;
pub mod power;
mod sbi;
pub mod timer;
pub mod trap;
pub mod uart;
#[cfg(feature = "loader")]
pub mod user;
pub mod virtio_mmio;

/// Symbols the linker script defines.
mod symbols {
    unsafe extern "C" {
        /// First byte after the kernel image, stack included (page-aligned).
        pub static __kernel_end: u8;
        /// First byte of the kernel image.
        pub static __kernel_start: u8;
        /// First byte after the kernel's code.
        pub static __text_end: u8;
    }
}

/// True when `address` lies in the kernel's code.
pub fn kernel_text_holds(address: usize) -> bool {
    // Only the symbols' addresses are taken; nothing is read through them.
    let (start, end) = (
        core::ptr::addr_of!(symbols::__kernel_start) as usize,
        core::ptr::addr_of!(symbols::__text_end) as usize,
    );
    (start..end).contains(&address)
}

/// The kernel image's extent in RAM: `[start, end)`.
pub fn kernel_extent() -> (usize, usize) {
    // Only the symbols' addresses are taken; nothing is read through them.
    (
        core::ptr::addr_of!(symbols::__kernel_start) as usize,
        core::ptr::addr_of!(symbols::__kernel_end) as usize,
    )
}
