//! Munger → image → loader, on RISC-V objects built here: the relocations
//! the loader applies into a host buffer must reach the right targets.

use com::Guid;
use image::def::{self, ModuleDef};
use image::{Image, RelocationKind};
use object::elf::*;
use object::write::{Object, Relocation, StandardSection, Symbol, SymbolSection};
use object::{
    Architecture, BinaryFormat, Endianness, RelocationFlags, SymbolFlags, SymbolKind, SymbolScope,
};

const KERNEL_DEF: &str = "module kernel\nexport 5f0c7c4e-6a3d-4d8b-8f7e-0d2a4b1c9e35 {\n tessera_alloc @ 1\n tessera_free @ 2\n}\n";
const MODULE_DEF: &str = "module sample\nexport 337f4e2c-d4e5-43a3-be2b-4e60c6b7079a {\n helper @ 7\n}\nimport kernel 5f0c7c4e-6a3d-4d8b-8f7e-0d2a4b1c9e35\n";
const V1: Guid = Guid::from_u128(0x337f4e2c_d4e5_43a3_be2b_4e60c6b7079a);

/// Where the test places the module and where its import lives.
const BASE: u64 = 0x8040_0000;
const IMPORT: u64 = 0x8020_1230;

const AUIPC_RA: u32 = 0x0000_0097;
const JALR_RA: u32 = 0x0000_80e7;
const AUIPC_A0: u32 = 0x0000_0517;
const ADDI_A0: u32 = 0x0005_0513;
const JAL_ZERO: u32 = 0x0000_006f;
const NOP: u32 = 0x0000_0013;
const RET: u32 = 0x0000_8067;

/// The code of the sample module: offsets of its instructions.
const CALL_IMPORT: u64 = 0;
const LOAD_ADDRESS: u64 = 8;
const CALL_HELPER: u64 = 16;
const JUMP_HELPER: u64 = 24;
const HELPER: u64 = 32;

/// A relocatable RISC-V object: calls an import, takes the address of a
/// string, calls and jumps to a local function, and stores that
/// function's address in data. `extra` adds a relocation of the given type
/// against the given symbol name (for the error cases).
fn sample_object(undefined: &str, extra: Option<u32>) -> Vec<u8> {
    let mut object = Object::new(BinaryFormat::Elf, Architecture::Riscv64, Endianness::Little);
    let text = object.section_id(StandardSection::Text);
    let code: Vec<u8> = [
        AUIPC_RA, JALR_RA, AUIPC_A0, ADDI_A0, AUIPC_RA, JALR_RA, JAL_ZERO, NOP, RET,
    ]
    .iter()
    .flat_map(|word| word.to_le_bytes())
    .collect();
    object.append_section_data(text, &code, 4);
    let rodata = object.section_id(StandardSection::ReadOnlyData);
    object.append_section_data(rodata, b"a string\0", 1);
    let data = object.section_id(StandardSection::Data);
    object.append_section_data(data, &[0u8; 8], 8);
    let bss = object.section_id(StandardSection::UninitializedData);
    object.append_section_bss(bss, 64, 8);

    let mut symbol = |name: &str, value: u64, section: SymbolSection, scope: SymbolScope| {
        object.add_symbol(Symbol {
            name: name.as_bytes().to_vec(),
            value,
            size: 0,
            kind: SymbolKind::Text,
            scope,
            weak: false,
            section,
            flags: SymbolFlags::None,
        })
    };
    symbol(
        "tessera_entry",
        0,
        SymbolSection::Section(text),
        SymbolScope::Linkage,
    );
    let helper = symbol(
        "helper",
        HELPER,
        SymbolSection::Section(text),
        SymbolScope::Linkage,
    );
    let string = symbol(
        "string",
        0,
        SymbolSection::Section(rodata),
        SymbolScope::Compilation,
    );
    let label = symbol(
        ".Lpcrel_hi0",
        LOAD_ADDRESS,
        SymbolSection::Section(text),
        SymbolScope::Compilation,
    );
    let import = symbol(undefined, 0, SymbolSection::Undefined, SymbolScope::Linkage);

    let mut relocate = |section, offset, symbol, r_type| {
        let relocation = Relocation {
            offset,
            symbol,
            addend: 0,
            flags: RelocationFlags::Elf { r_type },
        };
        object
            .add_relocation(section, relocation)
            .expect("relocation");
    };
    relocate(text, CALL_IMPORT, import, R_RISCV_CALL_PLT);
    relocate(text, LOAD_ADDRESS, string, R_RISCV_PCREL_HI20);
    relocate(text, LOAD_ADDRESS + 4, label, R_RISCV_PCREL_LO12_I);
    relocate(text, CALL_HELPER, helper, R_RISCV_CALL_PLT);
    relocate(text, JUMP_HELPER, helper, R_RISCV_JAL);
    relocate(data, 0, helper, R_RISCV_64);
    if let Some(r_type) = extra {
        relocate(text, 28, helper, r_type);
    }
    object.write().expect("object file")
}

fn defs() -> (ModuleDef, Vec<ModuleDef>) {
    (
        def::parse(MODULE_DEF).expect("module def"),
        vec![def::parse(KERNEL_DEF).expect("kernel def")],
    )
}

fn word(memory: &[u8], at: u64) -> u32 {
    let at = usize::try_from(at).expect("small offset");
    u32::from_le_bytes(memory[at..at + 4].try_into().expect("4 bytes"))
}

/// The target of an `auipc` at `at` completed by the I-type instruction after it.
fn pcrel_target(memory: &[u8], at: u64) -> u64 {
    let high = i64::from((word(memory, at) & 0xffff_f000) as i32);
    let low = i64::from((word(memory, at + 4) as i32) >> 20);
    (BASE + at).wrapping_add_signed(high + low)
}

fn jal_target(memory: &[u8], at: u64) -> u64 {
    let instruction = word(memory, at);
    let offset = (instruction >> 31) << 20
        | ((instruction >> 21) & 0x3ff) << 1
        | ((instruction >> 20) & 1) << 11
        | ((instruction >> 12) & 0xff) << 12;
    let offset = i64::from(((offset << 11) as i32) >> 11);
    (BASE + at).wrapping_add_signed(offset)
}

#[test]
fn relocations_reach_their_targets_after_loading() {
    let (module, imported) = defs();
    let munged =
        munger::munge(&sample_object("tessera_alloc", None), &module, &imported).expect("munged");
    let image = Image::parse(&munged.image).expect("valid image");
    assert_eq!(image.name(), "sample");
    let kinds: Vec<_> = image
        .relocations()
        .map(|relocation| relocation.kind)
        .collect();
    assert_eq!(
        kinds,
        [RelocationKind::CallImport, RelocationKind::Rebase64],
        "only base- and import-dependent ones remain"
    );
    let module_import = image.import_modules().next().expect("an import module");
    assert_eq!(
        (
            module_import.name,
            image.import_symbol(0).map(|s| s.ordinal)
        ),
        ("kernel", Some(1))
    );

    let mut memory = vec![0xaa; image.memory_size() as usize];
    assert_eq!(image.import_symbol_count(), 1);
    linker::place(&image, &mut memory, BASE, linker::Calls::Direct, &[IMPORT]).expect("placed");

    assert_eq!(
        pcrel_target(&memory, CALL_IMPORT),
        IMPORT,
        "the import call"
    );
    assert_eq!(
        pcrel_target(&memory, CALL_HELPER),
        BASE + HELPER,
        "the local call"
    );
    assert_eq!(
        jal_target(&memory, JUMP_HELPER),
        BASE + HELPER,
        "the local jump"
    );
    let string = memory
        .windows(9)
        .position(|window| window == b"a string\0")
        .expect("the string") as u64;
    assert_eq!(
        pcrel_target(&memory, LOAD_ADDRESS),
        BASE + string,
        "the string's address"
    );
    let slot = usize::try_from(string + 9)
        .expect("small")
        .next_multiple_of(8);
    let pointer = u64::from_le_bytes(memory[slot..slot + 8].try_into().expect("8 bytes"));
    assert_eq!(pointer, BASE + HELPER, "the function pointer in data");
    assert!(
        memory[slot + 8..].iter().all(|&byte| byte == 0),
        "bss is zeroed"
    );
    let helper = image
        .export_table(V1)
        .and_then(|table| table.by_ordinal(7))
        .expect("helper export");
    assert_eq!((helper.name, u64::from(helper.offset)), ("helper", HELPER));
    assert_eq!(u64::from(image.entry()), 0);
    // Code (nine instructions), then the read-only string, then data.
    assert_eq!((image.text_size(), image.read_only_end()), (36, 36 + 9));
    assert_eq!(string, 36, "read-only data follows the code");
}

#[test]
fn an_unexplained_undefined_symbol_is_refused_by_name() {
    let (module, imported) = defs();
    let error = munger::munge(&sample_object("mystery_function", None), &module, &imported)
        .err()
        .expect("refused");
    let message = format!("{error:#}");
    assert!(
        message.contains("undefined symbol `mystery_function`"),
        "{message}"
    );
    assert!(
        message.contains("kernel 5f0c7c4e-6a3d-4d8b-8f7e-0d2a4b1c9e35"),
        "{message}"
    );
}

#[test]
fn an_unsupported_relocation_is_refused_by_type() {
    let (module, imported) = defs();
    let error = munger::munge(
        &sample_object("tessera_alloc", Some(R_RISCV_HI20)),
        &module,
        &imported,
    )
    .err()
    .expect("refused");
    let message = format!("{error:#}");
    assert!(
        message.contains("R_RISCV_HI20") && message.contains("helper"),
        "{message}"
    );
}

#[test]
fn an_import_of_an_undeclared_table_is_refused() {
    let (_, imported) = defs();
    let module = def::parse("module sample\nimport kernel 00000000-0000-0000-0000-000000000001\n")
        .expect("def");
    let error = munger::munge(&sample_object("tessera_alloc", None), &module, &imported)
        .err()
        .expect("refused");
    assert!(
        format!("{error:#}").contains("which kernel.def does not declare"),
        "{error:#}"
    );
}

#[test]
fn loader_refuses_an_import_beyond_reach() {
    let (module, imported) = defs();
    let munged =
        munger::munge(&sample_object("tessera_alloc", None), &module, &imported).expect("munged");
    let image = Image::parse(&munged.image).expect("valid image");
    let mut memory = vec![0; image.memory_size() as usize];
    let far = vec![BASE + (1 << 32); image.import_symbol_count() as usize];
    let result = linker::place(&image, &mut memory, BASE, linker::Calls::Direct, &far);
    assert_eq!(result, Err(linker::PlaceError::OutOfRange(0)));
}

#[test]
fn a_paged_layout_starts_each_section_on_a_page() {
    let (mut module, imported) = defs();
    module.paged = true;
    let munged =
        munger::munge(&sample_object("tessera_alloc", None), &module, &imported).expect("munged");
    let image = Image::parse(&munged.image).expect("valid image");
    assert!(image.is_paged());
    // The code, then the read-only string on the next page, then the data
    // on the page after.
    assert_eq!((image.text_size(), image.read_only_end()), (4096, 8192));
    assert_eq!(image.align(), 4096);
    let mut memory = vec![0xaa; image.memory_size() as usize];
    linker::place(&image, &mut memory, BASE, linker::Calls::Direct, &[IMPORT]).expect("placed");
    assert_eq!(&memory[4096..4105], b"a string\0");
    assert_eq!(
        pcrel_target(&memory, LOAD_ADDRESS),
        BASE + 4096,
        "the string's address, across the padding"
    );
    let pointer = u64::from_le_bytes(memory[8192..8200].try_into().expect("8 bytes"));
    assert_eq!(pointer, BASE + HELPER, "the function pointer in data");
    assert!(
        memory[36..4096].iter().all(|&byte| byte == 0),
        "the code's page is padded with zeros"
    );
}
