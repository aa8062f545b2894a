//! Tessera's module linker: places a validated component image in memory, binds its imports and applies its relocations.
//!
//! [`place`] works on a plain byte buffer and the address the buffer will
//! run at, so the host tests apply real relocations into a `Vec` and the
//! kernel applies them into a heap block. The caller gives the import
//! addresses, one per import symbol: the kernel finds them in its own
//! export table or in the modules it binds through the namespace.
//!
//! [`link_into`] is the kernel's whole placement sequence around [`place`]:
//! it asks the caller's allocator for a block of the right size and
//! alignment, places the image there, falls back from short-cut calls to
//! calls through slots when an import is out of reach, and gives every
//! block back that it does not return. The `load` fuzz target runs it on
//! the host with fuzzed images, import addresses, bases and allocation
//! failures.
//!
//! Depends on `image`; the kernel's module manager uses it.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

use core::fmt;

use image::{Image, Relocation, RelocationKind, riscv};

/// Why placing a module failed (besides what the resolver reports).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaceError {
    /// The buffer is not the module's memory size.
    WrongBufferSize,
    /// Relocation `index` does not sit on the instructions its kind needs.
    WrongInstruction(u32),
    /// Relocation `index` needs an import farther than an instruction reaches.
    OutOfRange(u32),
    /// The import addresses given are not one per import symbol.
    WrongImportCount,
}

impl fmt::Display for PlaceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlaceError::WrongBufferSize => write!(f, "the buffer does not match the module's size"),
            PlaceError::WrongImportCount => {
                write!(f, "the import addresses do not match the import symbols")
            }
            PlaceError::WrongInstruction(index) => write!(
                f,
                "relocation {index} does not sit on the instruction it patches"
            ),
            PlaceError::OutOfRange(index) => {
                write!(f, "relocation {index} reaches an import beyond ±2 GiB")
            }
        }
    }
}

/// How calls into other modules are bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Calls {
    /// Each call site jumps straight to its target (the short-cut): no
    /// import slots are kept. The default where modules share an address
    /// space.
    Direct,
    /// Each call site jumps to a stub that jumps through the import's slot,
    /// as code shared between address spaces needs; the slots and stubs
    /// follow the module's memory.
    ThroughSlots,
}

/// Why [`link_into`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkError {
    /// The allocator had no block of this many bytes.
    OutOfMemory(usize),
    /// The caller gave `given` import addresses for `expected` import symbols.
    ImportCount {
        /// The image's import symbols.
        expected: u32,
        /// The addresses given.
        given: usize,
    },
    /// Placing the image in its block failed.
    Place(PlaceError),
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::OutOfMemory(size) => write!(f, "out of memory: {size} bytes"),
            LinkError::ImportCount { expected, given } => {
                write!(f, "{given} import addresses for {expected} import symbols")
            }
            LinkError::Place(error) => error.fmt(f),
        }
    }
}

impl From<PlaceError> for LinkError {
    fn from(error: PlaceError) -> LinkError {
        LinkError::Place(error)
    }
}

/// A block of memory from the caller's allocator, for [`link_into`].
/// Dropping it gives the memory back: `link_into` drops every block it
/// does not return.
pub trait Block {
    /// The address the block's first byte has while the module runs. The
    /// block's bytes span `address..address + len` without wrapping.
    fn address(&self) -> u64;
    /// The block's bytes, exactly as many as were asked for.
    fn bytes(&mut self) -> &mut [u8];
}

/// A module [`link_into`] placed.
#[derive(Debug)]
pub struct Linked<B> {
    /// The block holding the module, ready to run (after the caller makes
    /// the instruction cache see it).
    pub block: B,
    /// Bytes of the block: [`memory_size`] of the image with `calls`.
    pub size: usize,
    /// How calls were bound: `ThroughSlots` when `Direct` was asked for but
    /// a call reached beyond ±2 GiB.
    pub calls: Calls,
}

/// Places `image` in a block from `allocate(size, align)`, which returns
/// `None` when it has no such block. `addresses[i]` is the address of
/// import symbol `i`. With `Calls::Direct`, a call import out of direct
/// reach makes it try again with `Calls::ThroughSlots` in a new block
/// (the first block is given back before the second is asked for). On
/// error no block is kept.
pub fn link_into<B: Block>(
    image: &Image<'_>,
    addresses: &[u64],
    calls: Calls,
    mut allocate: impl FnMut(usize, usize) -> Option<B>,
) -> Result<Linked<B>, LinkError> {
    if addresses.len() != image.import_symbol_count() as usize {
        return Err(LinkError::ImportCount {
            expected: image.import_symbol_count(),
            given: addresses.len(),
        });
    }
    match load_with(image, addresses, calls, &mut allocate) {
        Err(LinkError::Place(PlaceError::OutOfRange(_))) if calls == Calls::Direct => {
            load_with(image, addresses, Calls::ThroughSlots, &mut allocate)
        }
        other => other,
    }
}

/// One attempt of [`link_into`], binding calls as `calls` says.
fn load_with<B: Block>(
    image: &Image<'_>,
    addresses: &[u64],
    calls: Calls,
    allocate: &mut impl FnMut(usize, usize) -> Option<B>,
) -> Result<Linked<B>, LinkError> {
    let size = memory_size(image, calls);
    let mut block = allocate(size, alignment(image, calls)).ok_or(LinkError::OutOfMemory(size))?;
    let base = block.address();
    place(image, block.bytes(), base, calls, addresses)?;
    Ok(Linked { block, size, calls })
}

/// The alignment `image`'s block needs with `calls`: the module's own, and
/// at least a slot's so that the stubs' `ld` reads aligned slots.
fn alignment(image: &Image<'_>, calls: Calls) -> usize {
    let module = image.align() as usize;
    match calls {
        Calls::Direct => module,
        Calls::ThroughSlots => module.max(SLOT),
    }
}

/// Bytes per import slot (an address).
const SLOT: usize = 8;
/// Bytes per stub: `auipc t1` / `ld t1` / `jr t1` / `nop`.
const STUB: usize = 16;

/// Bytes of memory `image` takes when placed with `calls`.
pub fn memory_size(image: &Image<'_>, calls: Calls) -> usize {
    let module = image.memory_size() as usize;
    match calls {
        Calls::Direct => module,
        Calls::ThroughSlots => {
            module.next_multiple_of(SLOT) + image.import_symbol_count() as usize * (SLOT + STUB)
        }
    }
}

/// Copies `image` into `memory` (exactly [`memory_size`] bytes), zeroes
/// the rest, and applies every relocation for the module running at `base`.
/// `imports[index]` is the address of import symbol `index`. Nothing is
/// allocated. On error the buffer's contents are unspecified; the caller
/// discards it.
pub fn place(
    image: &Image<'_>,
    memory: &mut [u8],
    base: u64,
    calls: Calls,
    imports: &[u64],
) -> Result<(), PlaceError> {
    if memory.len() != memory_size(image, calls) {
        return Err(PlaceError::WrongBufferSize);
    }
    if imports.len() != image.import_symbol_count() as usize {
        return Err(PlaceError::WrongImportCount);
    }
    let content = image.content();
    memory[..content.len()].copy_from_slice(content);
    memory[content.len()..].fill(0);
    let stubs = match calls {
        Calls::Direct => None,
        Calls::ThroughSlots => Some(write_slots_and_stubs(image, memory, base, imports)),
    };
    for (index, relocation) in (0..).zip(image.relocations()) {
        apply(image, memory, base, imports, stubs, index, relocation)?;
    }
    Ok(())
}

/// Writes a slot holding each import's address and a stub jumping through
/// it after the module; returns the address of the first stub (stub `i`
/// is `i * STUB` bytes further).
fn write_slots_and_stubs(image: &Image<'_>, memory: &mut [u8], base: u64, imports: &[u64]) -> u64 {
    let slots = (image.memory_size() as usize).next_multiple_of(SLOT);
    let stubs = slots + imports.len() * SLOT;
    for (index, &address) in imports.iter().enumerate() {
        let slot = slots + index * SLOT;
        let stub = stubs + index * STUB;
        write_u64(memory, slot, address);
        let (high, low) = riscv::split_pcrel(slot as i64 - stub as i64).unwrap_or((0, 0));
        write_u32(memory, stub, riscv::set_u_immediate(AUIPC_T1, high));
        write_u32(memory, stub + 4, riscv::set_i_immediate(LD_T1_T1, low));
        write_u32(memory, stub + 8, JR_T1);
        write_u32(memory, stub + 12, NOP);
    }
    base.wrapping_add(stubs as u64)
}

const AUIPC_T1: u32 = 0x0000_0317;
const LD_T1_T1: u32 = 0x0003_3303;
const JR_T1: u32 = 0x0003_0067;
const NOP: u32 = 0x0000_0013;

/// Applies one relocation (already validated to lie inside the content).
fn apply(
    image: &Image<'_>,
    memory: &mut [u8],
    base: u64,
    imports: &[u64],
    stubs: Option<u64>,
    index: u32,
    relocation: Relocation,
) -> Result<(), PlaceError> {
    let at = relocation.offset as usize;
    let place = base.wrapping_add(u64::from(relocation.offset));
    let target = |relocation: Relocation| {
        imports
            .get(relocation.index as usize)
            .map_or(0, |&address| {
                address.wrapping_add_signed(relocation.addend.into())
            })
    };
    let wrong = PlaceError::WrongInstruction(index);
    match relocation.kind {
        RelocationKind::Rebase64 => write_u64(memory, at, read_u64(memory, at).wrapping_add(base)),
        RelocationKind::Abs64Import => write_u64(memory, at, target(relocation)),
        RelocationKind::CallImport => {
            let (auipc, jalr) = (read_u32(memory, at), read_u32(memory, at + 4));
            if !riscv::is_auipc(auipc) || !riscv::is_jalr(jalr) {
                return Err(wrong);
            }
            // Through the stub, unless an addend makes the call land past
            // the import's start (then only a direct call can).
            let destination = match stubs {
                Some(stubs) if relocation.addend == 0 => {
                    stubs + u64::from(relocation.index) * STUB as u64
                }
                _ => target(relocation),
            };
            let distance = destination.wrapping_sub(place) as i64;
            let (high, low) = riscv::split_pcrel(distance).ok_or(PlaceError::OutOfRange(index))?;
            write_u32(memory, at, riscv::set_u_immediate(auipc, high));
            write_u32(memory, at + 4, riscv::set_i_immediate(jalr, low));
        }
        RelocationKind::PcrelHi20Import => {
            let auipc = read_u32(memory, at);
            if !riscv::is_auipc(auipc) {
                return Err(wrong);
            }
            let distance = target(relocation).wrapping_sub(place) as i64;
            let (high, _) = riscv::split_pcrel(distance).ok_or(PlaceError::OutOfRange(index))?;
            write_u32(memory, at, riscv::set_u_immediate(auipc, high));
        }
        RelocationKind::PcrelLo12IImport | RelocationKind::PcrelLo12SImport => {
            // The distance is measured from the `auipc` this completes.
            let high = image.relocation(relocation.index).ok_or(wrong)?;
            let distance =
                target(high).wrapping_sub(base.wrapping_add(u64::from(high.offset))) as i64;
            let low = riscv::low_part(distance);
            let word = read_u32(memory, at);
            let patched = if relocation.kind == RelocationKind::PcrelLo12IImport {
                riscv::set_i_immediate(word, low)
            } else {
                riscv::set_s_immediate(word, low)
            };
            write_u32(memory, at, patched);
        }
    }
    Ok(())
}

// The image's validation guarantees each relocation's bytes lie inside the
// content, which is the start of `memory`; out-of-range reads give zero
// and writes are dropped rather than panicking.

fn read_u32(memory: &[u8], at: usize) -> u32 {
    memory
        .get(at..at + 4)
        .and_then(|bytes| bytes.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

fn read_u64(memory: &[u8], at: usize) -> u64 {
    memory
        .get(at..at + 8)
        .and_then(|bytes| bytes.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

fn write_u32(memory: &mut [u8], at: usize, value: u32) {
    if let Some(bytes) = memory.get_mut(at..at + 4) {
        bytes.copy_from_slice(&value.to_le_bytes());
    }
}

fn write_u64(memory: &mut [u8], at: usize, value: u64) {
    if let Some(bytes) = memory.get_mut(at..at + 8) {
        bytes.copy_from_slice(&value.to_le_bytes());
    }
}

#[cfg(test)]
mod tests;
