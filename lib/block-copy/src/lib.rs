//! `memcpy`, `memmove` and `memset` eight or more 8-byte words a step, for the kernel with the loader (`kernel/src/machine`) and for every component (through `lib/component`, which links them into each).
//!
//! Rust's `compiler_builtins` defines these weakly, a word a step (about
//! five instructions per 8 bytes, ten when source and destination differ
//! in alignment). The full kernel copies whole component images into
//! modules — placing a module is most of a load — and zeroes what was
//! their `.bss`; the network stack copies every byte it receives three
//! times (frame, socket buffer, reader), mostly between differently
//! aligned buffers. So these strong definitions unroll the loops: sixteen
//! words a step when source and destination share their alignment (2.25
//! instructions per 8 bytes; then eight once), four when they do not (each word stored
//! made of two aligned source words shifted together, about 6.5
//! instructions per 8 bytes). A backward move that overlaps
//! (`Vec::insert`) goes a word a step when both share their alignment,
//! else a byte a step. Written in assembly because the compiler would
//! turn a copy loop in Rust back into a call to `memcpy`.
//!
//! Nothing here is called by name: linking the crate is what counts (a
//! strong symbol wins over `compiler_builtins`' weak one).

#![no_std]

#[cfg(target_arch = "riscv64")]
core::arch::global_asm!(
    r#"
    .section .text.block_copy, "ax"
    .globl memcpy
    .globl memmove
    .globl memset

# Eight words from `offset(a1)` to `offset(t0)`: eight loads, then eight
# stores.
.macro copy_eight offset
    ld t1, \offset(a1)
    ld t2, \offset+8(a1)
    ld t3, \offset+16(a1)
    ld t4, \offset+24(a1)
    ld a3, \offset+32(a1)
    ld a4, \offset+40(a1)
    ld a5, \offset+48(a1)
    ld a6, \offset+56(a1)
    sd t1, \offset(t0)
    sd t2, \offset+8(t0)
    sd t3, \offset+16(t0)
    sd t4, \offset+24(t0)
    sd a3, \offset+32(t0)
    sd a4, \offset+40(t0)
    sd a5, \offset+48(t0)
    sd a6, \offset+56(t0)
.endm

# memcpy(a0 = destination, a1 = source, a2 = length) -> a0
memcpy:
    mv t0, a0
    li t6, 16
    bltu a2, t6, 7f
    xor t1, a0, a1
    andi t1, t1, 7
    bnez t1, 8f
# Same alignment: bytes up to the destination's word boundary, then words.
1:
    andi t1, t0, 7
    beqz t1, 2f
    lbu t2, 0(a1)
    sb t2, 0(t0)
    addi a1, a1, 1
    addi t0, t0, 1
    addi a2, a2, -1
    j 1b
2:
    li t6, 128
    bltu a2, t6, 13f
# Sixteen words a step, in two halves of eight loads then eight stores.
3:
    copy_eight 0
    copy_eight 64
    addi a1, a1, 128
    addi t0, t0, 128
    addi a2, a2, -128
    bgeu a2, t6, 3b
# Then eight words, once, if as many are left.
13:
    li t6, 64
    bltu a2, t6, 4f
    copy_eight 0
    addi a1, a1, 64
    addi t0, t0, 64
    addi a2, a2, -64
4:
    li t6, 8
5:
    bltu a2, t6, 7f
    ld t1, 0(a1)
    sd t1, 0(t0)
    addi a1, a1, 8
    addi t0, t0, 8
    addi a2, a2, -8
    j 5b
# The last bytes (or a short copy).
7:
    beqz a2, 6f
    lbu t1, 0(a1)
    sb t1, 0(t0)
    addi a1, a1, 1
    addi t0, t0, 1
    addi a2, a2, -1
    j 7b
6:
    ret
# Different alignments: bytes up to the destination's word boundary, then
# each word stored is made of two aligned source words shifted together.
# The aligned loads never leave the words holding the source's bytes.
8:
    andi t1, t0, 7
    beqz t1, 9f
    lbu t2, 0(a1)
    sb t2, 0(t0)
    addi a1, a1, 1
    addi t0, t0, 1
    addi a2, a2, -1
    j 8b
9:
    li t6, 8
    bltu a2, t6, 7b
    andi t3, a1, 7
    slli t3, t3, 3
    neg t4, t3
    andi t5, a1, -8
    ld t1, 0(t5)
    li t6, 32
    bltu a2, t6, 11f
# Four words a step: t1 holds the aligned word the next store starts in.
12:
    ld t2, 8(t5)
    ld a4, 16(t5)
    ld a5, 24(t5)
    ld a6, 32(t5)
    srl t1, t1, t3
    sll a3, t2, t4
    or t1, t1, a3
    sd t1, 0(t0)
    srl t2, t2, t3
    sll a3, a4, t4
    or t2, t2, a3
    sd t2, 8(t0)
    srl a4, a4, t3
    sll a3, a5, t4
    or a4, a4, a3
    sd a4, 16(t0)
    srl a5, a5, t3
    sll a3, a6, t4
    or a5, a5, a3
    sd a5, 24(t0)
    mv t1, a6
    addi t5, t5, 32
    addi a1, a1, 32
    addi t0, t0, 32
    addi a2, a2, -32
    bgeu a2, t6, 12b
11:
    li t6, 8
    bltu a2, t6, 7b
10:
    ld t2, 8(t5)
    srl t1, t1, t3
    sll a3, t2, t4
    or t1, t1, a3
    sd t1, 0(t0)
    mv t1, t2
    addi t5, t5, 8
    addi a1, a1, 8
    addi t0, t0, 8
    addi a2, a2, -8
    bgeu a2, t6, 10b
    j 7b

# memmove(a0 = destination, a1 = source, a2 = length) -> a0: forward (as
# memcpy) unless the destination starts inside the source.
memmove:
    bleu a0, a1, memcpy
    add t5, a1, a2
    bgeu a0, t5, memcpy
    add t0, a0, a2
    xor t1, a0, a1
    andi t1, t1, 7
    bnez t1, 3f
# Same alignment: bytes down to a word boundary, then words, from the end.
1:
    andi t1, t0, 7
    beqz t1, 2f
    beqz a2, 4f
    addi t5, t5, -1
    addi t0, t0, -1
    lbu t2, 0(t5)
    sb t2, 0(t0)
    addi a2, a2, -1
    j 1b
2:
    li t6, 8
    bltu a2, t6, 3f
    addi t5, t5, -8
    addi t0, t0, -8
    ld t1, 0(t5)
    sd t1, 0(t0)
    addi a2, a2, -8
    j 2b
3:
    beqz a2, 4f
    addi t5, t5, -1
    addi t0, t0, -1
    lbu t1, 0(t5)
    sb t1, 0(t0)
    addi a2, a2, -1
    j 3b
4:
    ret

# memset(a0 = destination, a1 = byte, a2 = length) -> a0
memset:
    mv t0, a0
    andi a1, a1, 0xff
    li t6, 16
    bltu a2, t6, 5f
    slli t1, a1, 8
    or a1, a1, t1
    slli t1, a1, 16
    or a1, a1, t1
    slli t1, a1, 32
    or a1, a1, t1
1:
    andi t1, t0, 7
    beqz t1, 2f
    sb a1, 0(t0)
    addi t0, t0, 1
    addi a2, a2, -1
    j 1b
2:
    li t6, 64
    bltu a2, t6, 4f
3:
    sd a1, 0(t0)
    sd a1, 8(t0)
    sd a1, 16(t0)
    sd a1, 24(t0)
    sd a1, 32(t0)
    sd a1, 40(t0)
    sd a1, 48(t0)
    sd a1, 56(t0)
    addi t0, t0, 64
    addi a2, a2, -64
    bgeu a2, t6, 3b
4:
    li t6, 8
    bltu a2, t6, 5f
    sd a1, 0(t0)
    addi t0, t0, 8
    addi a2, a2, -8
    j 4b
5:
    beqz a2, 6f
    sb a1, 0(t0)
    addi t0, t0, 1
    addi a2, a2, -1
    j 5b
6:
    ret
"#
);
