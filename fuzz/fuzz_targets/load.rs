//! The module linker on fuzzed images: `linker::link_into`, the kernel's placement
//! sequence, with the calls' binding, the block's base address, allocation
//! failures and every import's address (near or beyond ±2 GiB) taken from
//! the input. Nothing may panic, no block may leak, and a placed module must
//! hold exactly what its relocations promise; a failure must be the right
//! one.
//!
//! Input: a 10-byte header, the import offsets, then the image.
//!
//! | bytes | meaning |
//! | --- | --- |
//! | 0 | bit 0: `Calls::ThroughSlots` (else `Direct`); bit 1: the first allocation fails; bit 2: the second fails |
//! | 1..9 | the base address (u64 LE), aligned down as asked and kept below the top of the address space |
//! | 9 | `k`, how many import offsets follow |
//! | 10..10 + 8k | offsets (i64 LE) from the base: import `i` is at `base + offset[i % k] + 16 i` (`k = 0`: 1 MiB below) |
//! | the rest | the component image |

#![no_main]

use std::cell::RefCell;
use std::rc::Rc;

use image::{Image, Relocation, RelocationKind};
use libfuzzer_sys::fuzz_target;
use linker::{Block, Calls, LinkError, Linked, PlaceError};

/// Larger blocks are refused, as an allocator out of memory would.
const LARGEST: usize = 1 << 20;
/// Where imports are when the input gives no offsets: below the module, as
/// the kernel's exports are.
const DEFAULT_OFFSET: i64 = -(1 << 20);
/// Bytes per import slot and per stub, as `docs/image-format.md` says.
const SLOT: usize = 8;
const STUB: usize = 16;

fuzz_target!(|data: &[u8]| {
    let Some((input, bytes)) = Input::read(data) else {
        return;
    };
    let Ok(image) = Image::parse(bytes) else {
        return;
    };
    let ledger = Rc::new(RefCell::new(Ledger::default()));
    let addresses: Vec<u64> = (0..image.import_symbol_count())
        .map(|index| input.import(index))
        .collect();
    let result = linker::link_into(&image, &addresses, input.calls, allocator(&input, &ledger));
    {
        let check = Check {
            image: &image,
            addresses: &addresses,
            ledger: &ledger.borrow(),
            asked: input.calls,
        };
        match &result {
            Ok(loaded) => check.loaded(loaded),
            Err(error) => check.failed(*error),
        }
    }
    let loaded = result.is_ok();
    drop(result);
    assert_eq!(
        ledger.borrow().live,
        0,
        "a block outlived its load (placed: {loaded})"
    );
});

/// The input's choices.
struct Input {
    calls: Calls,
    /// Which allocations (0, 1) fail.
    fails: [bool; 2],
    base: u64,
    offsets: Vec<i64>,
}

impl Input {
    /// The choices and the image's bytes, if the header is whole.
    fn read(data: &[u8]) -> Option<(Input, &[u8])> {
        let (&flags, rest) = data.split_first()?;
        let (base, rest) = rest.split_first_chunk::<8>()?;
        let (&count, mut rest) = rest.split_first()?;
        let mut offsets = Vec::with_capacity(count.into());
        for _ in 0..count {
            let (offset, tail) = rest.split_first_chunk::<8>()?;
            offsets.push(i64::from_le_bytes(*offset));
            rest = tail;
        }
        let calls = if flags & 1 == 0 {
            Calls::Direct
        } else {
            Calls::ThroughSlots
        };
        let fails = [flags & 2 != 0, flags & 4 != 0];
        let base = u64::from_le_bytes(*base);
        Some((
            Input {
                calls,
                fails,
                base,
                offsets,
            },
            rest,
        ))
    }

    /// Import symbol `index`'s address.
    fn import(&self, index: u32) -> u64 {
        let offset = match self.offsets.len() {
            0 => DEFAULT_OFFSET,
            count => self.offsets[index as usize % count],
        };
        self.base
            .wrapping_add_signed(offset)
            .wrapping_add(u64::from(index) * 16)
    }
}

/// What the allocator did: each request `(size, align)`, the address of
/// each block it handed out, and how many blocks are still held.
#[derive(Default)]
struct Ledger {
    requests: Vec<(usize, usize)>,
    bases: Vec<u64>,
    live: usize,
}

/// A block on the host heap, running at a chosen address.
struct FuzzBlock {
    bytes: Vec<u8>,
    address: u64,
    ledger: Rc<RefCell<Ledger>>,
}

impl Block for FuzzBlock {
    fn address(&self) -> u64 {
        self.address
    }

    fn bytes(&mut self) -> &mut [u8] {
        &mut self.bytes
    }
}

impl Drop for FuzzBlock {
    fn drop(&mut self) {
        self.ledger.borrow_mut().live -= 1;
    }
}

/// An allocator that fails where the input says or past `LARGEST`, and
/// otherwise hands out a block at the input's base, aligned as asked and
/// ending inside the address space (as any real block does).
fn allocator(
    input: &Input,
    ledger: &Rc<RefCell<Ledger>>,
) -> impl FnMut(usize, usize) -> Option<FuzzBlock> {
    let (fails, base, ledger) = (input.fails, input.base, Rc::clone(ledger));
    move |size, align| {
        let mut book = ledger.borrow_mut();
        let attempt = book.requests.len();
        book.requests.push((size, align));
        assert!(align.is_power_of_two(), "alignment {align}");
        if size > LARGEST || fails.get(attempt).copied().unwrap_or(false) {
            return None;
        }
        let highest = u64::MAX - (size as u64).saturating_sub(1);
        let address = base.min(highest) & !(align as u64 - 1);
        book.bases.push(address);
        book.live += 1;
        Some(FuzzBlock {
            bytes: vec![0xa5; size],
            address,
            ledger: Rc::clone(&ledger),
        })
    }
}

/// Checks one load against what the image and the allocator say.
struct Check<'a> {
    image: &'a Image<'a>,
    addresses: &'a [u64],
    ledger: &'a Ledger,
    asked: Calls,
}

impl Check<'_> {
    /// The requests must be one per attempt, sized and aligned for it.
    fn requests(&self, final_calls: Calls) {
        let mut expected = vec![self.request(self.asked)];
        if final_calls != self.asked {
            expected.push(self.request(final_calls));
        }
        assert_eq!(self.ledger.requests, expected, "allocation requests");
    }

    fn request(&self, calls: Calls) -> (usize, usize) {
        let align = self.image.align() as usize;
        let align = if calls == Calls::ThroughSlots {
            align.max(SLOT)
        } else {
            align
        };
        (linker::memory_size(self.image, calls), align)
    }

    /// How the last attempt bound calls: a second request means the
    /// fallback to slots ran.
    fn final_calls(&self) -> Calls {
        if self.ledger.requests.len() > 1 {
            Calls::ThroughSlots
        } else {
            self.asked
        }
    }

    fn failed(&self, error: LinkError) {
        let calls = self.final_calls();
        self.requests(calls);
        match error {
            LinkError::OutOfMemory(size) => {
                assert_eq!(self.ledger.bases.len() + 1, self.ledger.requests.len());
                assert_eq!(
                    Some(size),
                    self.ledger.requests.last().map(|request| request.0)
                );
            }
            LinkError::Place(PlaceError::OutOfRange(index)) => {
                let base = *self.ledger.bases.last().expect("a block was placed");
                let relocation = self.image.relocation(index).expect("a relocation");
                let layout = Layout::of(self.image, calls);
                let target = layout.call_target(self, relocation, base);
                let place = base.wrapping_add(relocation.offset.into());
                assert!(
                    !in_reach(target.wrapping_sub(place) as i64),
                    "{relocation:?} is in reach"
                );
            }
            LinkError::Place(PlaceError::WrongInstruction(index)) => {
                let relocation = self.image.relocation(index).expect("a relocation");
                let content = self.image.content();
                let at = relocation.offset as usize;
                let right = match relocation.kind {
                    RelocationKind::CallImport => {
                        is_auipc(u32_at(content, at)) && is_jalr(u32_at(content, at + 4))
                    }
                    RelocationKind::PcrelHi20Import => is_auipc(u32_at(content, at)),
                    _ => panic!("{relocation:?} needs no particular instruction"),
                };
                // Unless another relocation rewrote them first.
                assert!(
                    !right || !Touched::of(self.image).alone(relocation),
                    "{relocation:?} sits on the right instructions"
                );
            }
            other => panic!("link_into failed with {other:?}"),
        }
    }

    fn loaded(&self, loaded: &Linked<FuzzBlock>) {
        self.requests(loaded.calls);
        assert_eq!(self.ledger.live, 1, "only the returned block is held");
        assert!(
            loaded.calls == self.asked || (self.asked == Calls::Direct && self.any_out_of_reach()),
            "fell back to slots with everything in reach"
        );
        let memory = &loaded.block.bytes;
        assert_eq!(memory.len(), loaded.size);
        assert_eq!(loaded.size, linker::memory_size(self.image, loaded.calls));
        let layout = Layout::of(self.image, loaded.calls);
        let touched = Touched::of(self.image);
        let base = loaded.block.address;
        self.untouched_bytes(memory, &touched, &layout);
        for relocation in self.image.relocations() {
            if touched.alone(relocation) {
                self.relocated(memory, &layout, &touched, base, relocation);
            }
        }
        if loaded.calls == Calls::ThroughSlots {
            self.slots_and_stubs(memory, &layout);
        }
    }

    /// True when some call or PC-relative address cannot reach its import
    /// from where the first block was.
    fn any_out_of_reach(&self) -> bool {
        let base = self.ledger.bases[0];
        let direct = Layout::of(self.image, Calls::Direct);
        self.image.relocations().any(|relocation| {
            matches!(
                relocation.kind,
                RelocationKind::CallImport | RelocationKind::PcrelHi20Import
            ) && {
                let place = base.wrapping_add(relocation.offset.into());
                let target = direct.call_target(self, relocation, base);
                !in_reach(target.wrapping_sub(place) as i64)
            }
        })
    }

    /// Bytes no relocation rewrites are the content's, then zeroes.
    fn untouched_bytes(&self, memory: &[u8], touched: &Touched, layout: &Layout) {
        let content = self.image.content();
        for (at, &byte) in memory[..layout.slots].iter().enumerate() {
            if touched.count(at) == 0 {
                assert_eq!(byte, content.get(at).copied().unwrap_or(0), "byte {at:#x}");
            }
        }
    }

    /// One relocation that no other overlaps did what its kind says.
    fn relocated(
        &self,
        memory: &[u8],
        layout: &Layout,
        touched: &Touched,
        base: u64,
        relocation: Relocation,
    ) {
        let content = self.image.content();
        let at = relocation.offset as usize;
        let place = base.wrapping_add(relocation.offset.into());
        let target = self.target(relocation);
        match relocation.kind {
            RelocationKind::Rebase64 => {
                assert_eq!(u64_at(memory, at), u64_at(content, at).wrapping_add(base));
            }
            RelocationKind::Abs64Import => assert_eq!(u64_at(memory, at), target),
            RelocationKind::CallImport => {
                let (auipc, jalr) = (u32_at(memory, at), u32_at(memory, at + 4));
                assert_eq!(
                    auipc & 0xfff,
                    u32_at(content, at) & 0xfff,
                    "auipc's register"
                );
                assert_eq!(
                    jalr & 0xf_ffff,
                    u32_at(content, at + 4) & 0xf_ffff,
                    "jalr's registers"
                );
                let reached = place.wrapping_add_signed(u_immediate(auipc) + i_immediate(jalr));
                assert_eq!(
                    reached,
                    layout.call_target(self, relocation, base),
                    "{relocation:?}"
                );
            }
            RelocationKind::PcrelHi20Import => {
                let auipc = u32_at(memory, at);
                assert_eq!(auipc & 0xfff, u32_at(content, at) & 0xfff);
                let distance = target.wrapping_sub(place) as i64;
                assert_eq!(
                    u_immediate(auipc) + low_part(distance),
                    distance,
                    "{relocation:?}"
                );
            }
            RelocationKind::PcrelLo12IImport | RelocationKind::PcrelLo12SImport => {
                let high = self.image.relocation(relocation.index).expect("validated");
                if !touched.alone(high) {
                    return;
                }
                let word = u32_at(memory, at);
                let low = if relocation.kind == RelocationKind::PcrelLo12IImport {
                    assert_eq!(word & 0xf_ffff, u32_at(content, at) & 0xf_ffff);
                    i_immediate(word)
                } else {
                    assert_eq!(word & 0x01ff_f07f, u32_at(content, at) & 0x01ff_f07f);
                    s_immediate(word)
                };
                let high_place = base.wrapping_add(high.offset.into());
                let distance = self.target(high).wrapping_sub(high_place) as i64;
                assert_eq!(
                    u_immediate(u32_at(memory, high.offset as usize)) + low,
                    distance,
                    "{relocation:?}"
                );
            }
        }
    }

    /// Each import's slot holds its address, and its stub jumps through it.
    fn slots_and_stubs(&self, memory: &[u8], layout: &Layout) {
        assert!(
            memory[self.image.memory_size() as usize..layout.slots]
                .iter()
                .all(|&byte| byte == 0),
            "padding before the slots"
        );
        for (index, &address) in self.addresses.iter().enumerate() {
            let slot = layout.slots + index * SLOT;
            let stub = layout.stubs + index * STUB;
            assert_eq!(u64_at(memory, slot), address, "slot {index}");
            let (auipc, ld) = (u32_at(memory, stub), u32_at(memory, stub + 4));
            assert_eq!(
                (auipc & 0xfff, ld & 0xf_ffff),
                (0x317, 0x3_3303),
                "auipc t1 / ld t1, (t1)"
            );
            let read = (stub as i64) + u_immediate(auipc) + i_immediate(ld);
            assert_eq!(read, slot as i64, "stub {index} reads its slot");
            assert_eq!(u32_at(memory, stub + 8), 0x0003_0067, "jr t1");
            assert_eq!(u32_at(memory, stub + 12), 0x0000_0013, "nop");
        }
    }

    /// Where an import relocation points: its import's address + addend.
    fn target(&self, relocation: Relocation) -> u64 {
        self.addresses
            .get(relocation.index as usize)
            .map_or(0, |&address| {
                address.wrapping_add_signed(relocation.addend.into())
            })
    }
}

/// Where the slots and stubs start in a block (its end, with direct calls).
struct Layout {
    calls: Calls,
    slots: usize,
    stubs: usize,
}

impl Layout {
    fn of(image: &Image<'_>, calls: Calls) -> Layout {
        let module = image.memory_size() as usize;
        let slots = match calls {
            Calls::Direct => module,
            Calls::ThroughSlots => module.next_multiple_of(SLOT),
        };
        let stubs = slots + image.import_symbol_count() as usize * SLOT;
        Layout {
            calls,
            slots,
            stubs,
        }
    }

    /// Where a call import (or a PC-relative address) must reach.
    fn call_target(&self, check: &Check<'_>, relocation: Relocation, base: u64) -> u64 {
        let through_stub = self.calls == Calls::ThroughSlots
            && relocation.kind == RelocationKind::CallImport
            && relocation.addend == 0;
        if through_stub {
            base + (self.stubs + relocation.index as usize * STUB) as u64
        } else {
            check.target(relocation)
        }
    }
}

/// How many relocations rewrite each byte of the content.
struct Touched(Vec<u8>);

impl Touched {
    fn of(image: &Image<'_>) -> Touched {
        let mut counts = vec![0u8; image.content().len()];
        for relocation in image.relocations() {
            for count in &mut counts[span(relocation)] {
                *count = count.saturating_add(1);
            }
        }
        Touched(counts)
    }

    fn count(&self, at: usize) -> u8 {
        self.0.get(at).copied().unwrap_or(0)
    }

    /// True when no other relocation rewrites `relocation`'s bytes.
    fn alone(&self, relocation: Relocation) -> bool {
        self.0[span(relocation)].iter().all(|&count| count == 1)
    }
}

/// The content bytes a relocation rewrites (validated to lie inside).
fn span(relocation: Relocation) -> std::ops::Range<usize> {
    let at = relocation.offset as usize;
    at..at + relocation.kind.width() as usize
}

fn is_auipc(word: u32) -> bool {
    word & 0x7f == 0x17
}

fn is_jalr(word: u32) -> bool {
    word & 0x707f == 0x67
}

/// True when an `auipc` pair reaches `distance`.
fn in_reach(distance: i64) -> bool {
    (-(1i64 << 31) - 0x800..(1i64 << 31) - 0x800).contains(&distance)
}

fn low_part(distance: i64) -> i64 {
    ((distance & 0xfff) ^ 0x800) - 0x800
}

fn u_immediate(word: u32) -> i64 {
    i64::from((word & 0xffff_f000) as i32)
}

fn i_immediate(word: u32) -> i64 {
    i64::from((word as i32) >> 20)
}

fn s_immediate(word: u32) -> i64 {
    i64::from((((word & 0xfe00_0000) as i32) >> 20) | ((word >> 7) & 0x1f) as i32)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}
