//! `memcpy`, `memmove` and `memset` for the minimal kernels: a
//! byte at a time, in a few dozen bytes of code.
//!
//! Rust's `compiler_builtins` defines these three weakly, copying a word at
//! a time (about 1.4 KB together); these strong definitions take their
//! place. The minimal kernels copy little — names, command lines, small
//! objects — and their size is their point. The full kernel, which copies
//! whole component images, links `lib/block-copy`'s unrolled ones instead. Written in
//! assembly because the compiler would turn a copy loop in Rust back into a
//! call to `memcpy`.

core::arch::global_asm!(
    r#"
    .section .text.memory_functions, "ax"
    .globl memcpy
    .globl memmove
    .globl memset

# memmove(a0 = destination, a1 = source, a2 = length) -> a0: copies
# backwards when the destination lies above the source, so overlapping
# ranges copy right; memcpy is the same code.
memcpy:
memmove:
    mv t0, a0
    bgtu a0, a1, 2f
1:
    beqz a2, 4f
    lbu t1, 0(a1)
    sb t1, 0(t0)
    addi a1, a1, 1
    addi t0, t0, 1
    addi a2, a2, -1
    j 1b
2:
    add t0, t0, a2
    add a1, a1, a2
3:
    beqz a2, 4f
    addi a1, a1, -1
    addi t0, t0, -1
    lbu t1, 0(a1)
    sb t1, 0(t0)
    addi a2, a2, -1
    j 3b
4:
    ret

# memset(a0 = destination, a1 = byte, a2 = length) -> a0
memset:
    mv t0, a0
1:
    beqz a2, 2f
    sb a1, 0(t0)
    addi t0, t0, 1
    addi a2, a2, -1
    j 1b
2:
    ret
"#
);
