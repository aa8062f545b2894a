//! The first instructions: from OpenSBI's jump to the kernel's boot
//! sequence (`crate::kernel_main`), the one call from the machine layer up.
//!
//! OpenSBI enters in S-mode with address translation off, `a0` = hart id and
//! `a1` = the device tree's address. Before any Rust code runs we count the
//! instructions retired so far (for the boot figure), switch to our stack,
//! clear `.bss`, enable the FPU and install the trap vector.

core::arch::global_asm!(
    r#"
    .section .text.entry
    .globl _start
_start:
    rdinstret a2
    la sp, __stack_top
    la t0, __bss_start
    la t1, __bss_end
1:
    bgeu t0, t1, 2f
    sd zero, 0(t0)
    addi t0, t0, 8
    j 1b
2:
    li t0, 0x2000
    csrs sstatus, t0
    la t0, trap_entry
    csrw stvec, t0
    call rust_entry
3:
    wfi
    j 3b
"#
);

/// Where `_start` jumps once Rust code can run: hands the device tree's
/// address and the instructions retired before entry to the boot sequence.
#[unsafe(no_mangle)]
extern "C" fn rust_entry(_hart: usize, device_tree: usize, entry_instructions: u64) -> ! {
    crate::kernel_main(device_tree, entry_instructions)
}
