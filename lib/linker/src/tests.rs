//! Each relocation kind applied into a host buffer, from images built here,
//! and `link_into`'s allocation, fallback and freeing.

use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;

use image::{Image, ImageBuilder, ImportModuleSpec, Relocation, RelocationKind};

use crate::{Block, Calls, LinkError, PlaceError, link_into, memory_size, place};

const BASE: u64 = 0x8040_0000;
const IMPORT: u64 = 0x8020_1230;
const AUIPC_A0: u32 = 0x0000_0517;
const ADDI_A0: u32 = 0x0005_0513;
const SD_A1: u32 = 0x00b5_3023;
const AUIPC_RA: u32 = 0x0000_0097;
const JALR_RA: u32 = 0x0000_80e7;

fn image_with(code: &[u32], data: u64, relocations: Vec<Relocation>) -> Vec<u8> {
    image_aligned(code, data, relocations, 16)
}

fn image_aligned(code: &[u32], data: u64, relocations: Vec<Relocation>, align: u32) -> Vec<u8> {
    let mut content: Vec<u8> = code.iter().flat_map(|word| word.to_le_bytes()).collect();
    content.resize(content.len().next_multiple_of(8), 0);
    content.extend_from_slice(&data.to_le_bytes());
    let size = u32::try_from(content.len()).expect("small");
    ImageBuilder {
        name: "sample".into(),
        content,
        memory_size: size + 32,
        text_size: size,
        read_only_end: size,
        align,
        entry: 0,
        can_unload: None,
        relocations,
        imports: vec![ImportModuleSpec {
            name: "kernel".into(),
            uuid: com::Guid::from_u128(1),
            symbols: vec![(1, "thing".into())],
        }],
        exports: Vec::new(),
        paged: false,
    }
    .build()
}

fn relocation(offset: u32, kind: RelocationKind, index: u32, addend: i32) -> Relocation {
    Relocation {
        offset,
        kind,
        index,
        addend,
    }
}

fn placed(bytes: &[u8]) -> Result<Vec<u8>, PlaceError> {
    let image = Image::parse(bytes).expect("valid image");
    let mut memory = vec![0xaa; image.memory_size() as usize];
    let imports = vec![IMPORT; image.import_symbol_count() as usize];
    place(&image, &mut memory, BASE, Calls::Direct, &imports)?;
    Ok(memory)
}

fn word(memory: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(memory[at..at + 4].try_into().expect("4 bytes"))
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

#[test]
fn pc_relative_import_addresses_reach_the_import() {
    let bytes = image_with(
        &[AUIPC_A0, ADDI_A0, SD_A1],
        0,
        vec![
            relocation(0, RelocationKind::PcrelHi20Import, 0, 8),
            relocation(4, RelocationKind::PcrelLo12IImport, 0, 0),
            relocation(8, RelocationKind::PcrelLo12SImport, 0, 0),
        ],
    );
    let memory = placed(&bytes).expect("placed");
    let high = u_immediate(word(&memory, 0));
    assert_eq!(
        BASE.wrapping_add_signed(high + i_immediate(word(&memory, 4))),
        IMPORT + 8
    );
    assert_eq!(
        BASE.wrapping_add_signed(high + s_immediate(word(&memory, 8))),
        IMPORT + 8
    );
    assert_eq!(
        word(&memory, 4) & 0xfffff,
        ADDI_A0 & 0xfffff,
        "registers and opcode kept"
    );
}

#[test]
fn absolute_slots_get_the_import_or_the_base() {
    let bytes = image_with(
        &[0, 0],
        0x40,
        vec![
            relocation(0, RelocationKind::Abs64Import, 0, -16),
            relocation(8, RelocationKind::Rebase64, 0, 0),
        ],
    );
    let memory = placed(&bytes).expect("placed");
    assert_eq!(
        u64::from_le_bytes(memory[0..8].try_into().expect("8")),
        IMPORT - 16
    );
    assert_eq!(
        u64::from_le_bytes(memory[8..16].try_into().expect("8")),
        BASE + 0x40
    );
    assert!(
        memory[16..].iter().all(|&byte| byte == 0),
        "the zeroed tail is zero"
    );
}

#[test]
fn a_call_import_must_sit_on_auipc_and_jalr() {
    let good = image_with(
        &[AUIPC_RA, JALR_RA],
        0,
        vec![relocation(0, RelocationKind::CallImport, 0, 0)],
    );
    let memory = placed(&good).expect("placed");
    let target =
        BASE.wrapping_add_signed(u_immediate(word(&memory, 0)) + i_immediate(word(&memory, 4)));
    assert_eq!(target, IMPORT);
    let bad = image_with(
        &[ADDI_A0, JALR_RA],
        0,
        vec![relocation(0, RelocationKind::CallImport, 0, 0)],
    );
    assert_eq!(placed(&bad), Err(PlaceError::WrongInstruction(0)));
}

#[test]
fn a_buffer_of_the_wrong_size_is_refused() {
    let bytes = image_with(&[0], 0, Vec::new());
    let image = Image::parse(&bytes).expect("valid image");
    let mut memory = vec![0; 3];
    assert_eq!(
        place(&image, &mut memory, BASE, Calls::Direct, &[]),
        Err(PlaceError::WrongBufferSize)
    );
}

#[test]
fn import_addresses_must_match_the_import_symbols() {
    let bytes = image_with(
        &[0, 0],
        0,
        vec![relocation(0, RelocationKind::Abs64Import, 0, 0)],
    );
    let image = Image::parse(&bytes).expect("valid image");
    let mut memory = vec![0; image.memory_size() as usize];
    let result = place(&image, &mut memory, BASE, Calls::Direct, &[]);
    assert_eq!(result, Err(PlaceError::WrongImportCount));
}

/// Addresses wrap as the hardware's do: a module placed at the top of the
/// address space (only the fuzzer does that) is placed, not a panic.
#[test]
fn stubs_at_the_top_of_the_address_space_wrap() {
    let bytes = image_with(
        &[AUIPC_RA, JALR_RA],
        0,
        vec![relocation(0, RelocationKind::CallImport, 0, 0)],
    );
    let image = Image::parse(&bytes).expect("valid image");
    let mut memory = vec![0; memory_size(&image, Calls::ThroughSlots)];
    let top = u64::MAX - 8;
    assert_eq!(
        place(&image, &mut memory, top, Calls::ThroughSlots, &[IMPORT]),
        Ok(())
    );
}

#[test]
fn calls_through_slots_reach_the_import_via_a_stub() {
    let bytes = image_with(
        &[AUIPC_RA, JALR_RA],
        0,
        vec![relocation(0, RelocationKind::CallImport, 0, 0)],
    );
    let image = Image::parse(&bytes).expect("valid image");
    let mut memory = vec![0; memory_size(&image, Calls::ThroughSlots)];
    assert!(
        memory.len() > image.memory_size() as usize,
        "slots and stubs follow the module"
    );
    place(&image, &mut memory, BASE, Calls::ThroughSlots, &[IMPORT]).expect("placed");
    // The call now lands on a stub inside the module...
    let stub =
        BASE.wrapping_add_signed(u_immediate(word(&memory, 0)) + i_immediate(word(&memory, 4)));
    let stub_at = usize::try_from(stub - BASE).expect("inside");
    assert!(stub_at >= image.memory_size() as usize && stub_at < memory.len());
    // ...whose auipc + ld read the slot holding the import's address.
    let slot = stub.wrapping_add_signed(
        u_immediate(word(&memory, stub_at)) + i_immediate(word(&memory, stub_at + 4)),
    );
    let slot_at = usize::try_from(slot - BASE).expect("inside");
    assert_eq!(
        u64::from_le_bytes(memory[slot_at..slot_at + 8].try_into().expect("8")),
        IMPORT
    );
    assert_eq!(word(&memory, stub_at + 8), 0x0003_0067, "jr t1");
}

/// Far beyond ±2 GiB of `BASE`.
const FAR: u64 = 0x40_0000_0000;

/// What a test allocator saw: each request `(size, align)`, and the blocks
/// still held.
#[derive(Default)]
struct Ledger {
    requests: Vec<(usize, usize)>,
    live: usize,
}

/// A host block that tells its ledger when it is given back.
struct TestBlock {
    bytes: Vec<u8>,
    address: u64,
    ledger: Rc<RefCell<Ledger>>,
}

impl Block for TestBlock {
    fn address(&self) -> u64 {
        self.address
    }

    fn bytes(&mut self) -> &mut [u8] {
        &mut self.bytes
    }
}

impl Drop for TestBlock {
    fn drop(&mut self) {
        self.ledger.borrow_mut().live -= 1;
    }
}

/// An allocator handing out blocks at `BASE` while `budget` allows (bytes
/// per request), recording every request in `ledger`.
fn allocator(
    ledger: &Rc<RefCell<Ledger>>,
    budget: usize,
) -> impl FnMut(usize, usize) -> Option<TestBlock> {
    move |size, align| {
        let mut book = ledger.borrow_mut();
        book.requests.push((size, align));
        if size > budget {
            return None;
        }
        book.live += 1;
        Some(TestBlock {
            bytes: vec![0xaa; size],
            address: BASE,
            ledger: Rc::clone(ledger),
        })
    }
}

/// An image with one call to import 0 and, if `pcrel`, a PC-relative
/// address of it; loaded with import 0 at `import`.
fn load_call(
    import: u64,
    pcrel: bool,
    calls: Calls,
    budget: usize,
) -> (Result<Calls, LinkError>, Ledger, Vec<u8>) {
    let mut relocations = vec![relocation(0, RelocationKind::CallImport, 0, 0)];
    if pcrel {
        relocations.push(relocation(8, RelocationKind::PcrelHi20Import, 0, 0));
    }
    let bytes = image_with(&[AUIPC_RA, JALR_RA, AUIPC_A0], 0, relocations);
    let image = Image::parse(&bytes).expect("valid image");
    let ledger = Rc::new(RefCell::new(Ledger::default()));
    let result = link_into(&image, &[import], calls, allocator(&ledger, budget)).map(|loaded| {
        assert_eq!(loaded.block.bytes.len(), loaded.size);
        assert_eq!(loaded.size, memory_size(&image, loaded.calls));
        loaded.calls
    });
    let ledger = Rc::try_unwrap(ledger)
        .ok()
        .expect("no block outlives the test");
    (result, ledger.into_inner(), bytes)
}

#[test]
fn a_near_call_is_short_cut_in_one_block() {
    let (result, ledger, bytes) = load_call(IMPORT, true, Calls::Direct, usize::MAX);
    let image = Image::parse(&bytes).expect("valid image");
    assert_eq!(result, Ok(Calls::Direct));
    assert_eq!(
        ledger.requests,
        [(image.memory_size() as usize, 16)],
        "one block of the module's own size and alignment"
    );
    assert_eq!(ledger.live, 0);
}

#[test]
fn a_far_call_falls_back_to_a_stub_in_a_new_block() {
    let (result, ledger, bytes) = load_call(FAR, false, Calls::Direct, usize::MAX);
    let image = Image::parse(&bytes).expect("valid image");
    assert_eq!(result, Ok(Calls::ThroughSlots));
    assert_eq!(
        ledger.requests,
        [
            (memory_size(&image, Calls::Direct), 16),
            (memory_size(&image, Calls::ThroughSlots), 16)
        ]
    );
    assert_eq!(ledger.live, 0, "the first block was given back");
}

#[test]
fn a_far_pc_relative_address_fails_and_frees_both_blocks() {
    let (result, ledger, _) = load_call(FAR, true, Calls::Direct, usize::MAX);
    assert_eq!(result, Err(LinkError::Place(PlaceError::OutOfRange(1))));
    assert_eq!(ledger.requests.len(), 2, "tried both ways");
    assert_eq!(ledger.live, 0);
}

#[test]
fn a_refused_block_is_out_of_memory_with_its_size() {
    let (result, ledger, bytes) = load_call(IMPORT, false, Calls::Direct, 0);
    let image = Image::parse(&bytes).expect("valid image");
    let size = image.memory_size() as usize;
    assert_eq!(result, Err(LinkError::OutOfMemory(size)));
    assert_eq!(
        LinkError::OutOfMemory(size).to_string(),
        alloc::format!("out of memory: {size} bytes")
    );
    assert_eq!(ledger.requests.len(), 1);
}

#[test]
fn a_refused_fallback_block_is_out_of_memory_and_frees_the_first() {
    let (_, _, bytes) = load_call(IMPORT, false, Calls::Direct, usize::MAX);
    let image = Image::parse(&bytes).expect("valid image");
    let direct = memory_size(&image, Calls::Direct);
    let slots = memory_size(&image, Calls::ThroughSlots);
    let (result, ledger, _) = load_call(FAR, false, Calls::Direct, direct);
    assert_eq!(result, Err(LinkError::OutOfMemory(slots)));
    assert_eq!(ledger.requests.len(), 2);
    assert_eq!(ledger.live, 0);
}

#[test]
fn slots_get_a_slot_aligned_block_even_for_a_byte_aligned_module() {
    let bytes = image_aligned(&[AUIPC_RA, JALR_RA], 0, Vec::new(), 1);
    let image = Image::parse(&bytes).expect("valid image");
    let ledger = Rc::new(RefCell::new(Ledger::default()));
    let loaded = link_into(
        &image,
        &[IMPORT],
        Calls::ThroughSlots,
        allocator(&ledger, usize::MAX),
    );
    assert!(loaded.is_ok());
    drop(loaded);
    assert_eq!(ledger.borrow().requests[0].1, 8);
}

#[test]
fn one_address_per_import_symbol_is_required() {
    let bytes = image_with(&[0], 0, Vec::new());
    let image = Image::parse(&bytes).expect("valid image");
    let ledger = Rc::new(RefCell::new(Ledger::default()));
    let result = link_into(&image, &[], Calls::Direct, allocator(&ledger, usize::MAX));
    assert_eq!(
        result.map(drop),
        Err(LinkError::ImportCount {
            expected: 1,
            given: 0
        })
    );
    assert!(ledger.borrow().requests.is_empty(), "nothing allocated");
}
