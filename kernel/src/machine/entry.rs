//! The first instructions: from OpenSBI's jump to the kernel's boot
//! sequence (`crate::kernel_main`), the one call from the machine layer up.
//!
//! OpenSBI enters in S-mode with address translation off, `a0` = hart id and
//! `a1` = the device tree's address. Before any Rust code runs we count the
//! instructions retired so far (for the boot figure), switch to our stack,
//! clear `.bss`, enable the FPU (with the loader) and install the trap
//! vector.
//!
//! Without the loader the FPU stays off: only kernel code runs there, and
//! kernel code uses no floating point (the kernels are built for
//! `riscv64gc`, so the compiler could emit it, but no kernel code asks for
//! it), so a floating-point instruction would be a kernel defect, and with
//! the unit off it is reported as an illegal instruction instead of
//! touching registers nothing saves.

/// `sstatus.FS` at boot: Initial with the loader (components may use
/// floating point; `fpu` switches it lazily), else Off.
const FS_AT_BOOT: usize = if cfg!(feature = "loader") { 1 << 13 } else { 0 };

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
    li t0, {fs_at_boot}
    csrs sstatus, t0
    la t0, trap_entry
    csrw stvec, t0
    call rust_entry
3:
    wfi
    j 3b
"#,
    fs_at_boot = const FS_AT_BOOT,
);

/// Where `_start` jumps once Rust code can run: hands the device tree's
/// address and the instructions retired before entry to the boot sequence.
#[unsafe(no_mangle)]
extern "C" fn rust_entry(_hart: usize, device_tree: usize, entry_instructions: u64) -> ! {
    crate::kernel_main(device_tree, entry_instructions)
}
