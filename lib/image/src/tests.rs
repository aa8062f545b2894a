//! Round trips through the builder and the reader, and every way an image
//! or a `.def` file can be malformed.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use com::Guid;

use crate::format::{header, signature};
use crate::{
    ExportTableSpec, Image, ImageBuilder, ImageError, ImportModuleSpec, MAX_EXPORT_TABLES,
    RangeError, Relocation, RelocationKind, def, format_version, set_key_id, set_signature,
    signature_section,
};

const KERNEL: Guid = Guid::from_u128(0x5f0c7c4e_6a3d_4d8b_8f7e_0d2a4b1c9e35);
const V1: Guid = Guid::from_u128(0x3c1f5a52_8d7e_4e0b_9a51_7b0f2d6c4e11);
const V2: Guid = Guid::from_u128(0x3c1f5a52_8d7e_4e0b_9a51_7b0f2d6c4e12);

fn relocation(offset: u32, kind: RelocationKind, index: u32) -> Relocation {
    Relocation {
        offset,
        kind,
        index,
        addend: 0,
    }
}

fn sample() -> ImageBuilder {
    ImageBuilder {
        name: "hello".into(),
        content: (0..64).collect(),
        memory_size: 96,
        text_size: 32,
        read_only_end: 48,
        align: 16,
        entry: 8,
        can_unload: Some(16),
        relocations: vec![
            relocation(0, RelocationKind::Rebase64, 0),
            relocation(24, RelocationKind::CallImport, 1),
            relocation(32, RelocationKind::PcrelHi20Import, 0),
            relocation(36, RelocationKind::PcrelLo12IImport, 2),
            Relocation {
                offset: 40,
                kind: RelocationKind::Abs64Import,
                index: 0,
                addend: -8,
            },
        ],
        imports: vec![ImportModuleSpec {
            name: "kernel".into(),
            uuid: KERNEL,
            symbols: vec![(1, "tessera_alloc".into()), (2, "tessera_free".into())],
        }],
        exports: vec![
            ExportTableSpec {
                uuid: V1,
                exports: vec![(1, "hello_count".into(), 8)],
            },
            ExportTableSpec {
                uuid: V2,
                exports: vec![(1, "hello_count".into(), 8), (2, "hello_reset".into(), 90)],
            },
        ],
        paged: false,
    }
}

/// Writing fields into an image under test.
trait Poke {
    /// Sets the `u32` at `at`.
    fn put_u32(&mut self, at: usize, value: u32);
    /// Sets the `(first, count)` or `(offset, length)` pair at `at`.
    fn put_range(&mut self, at: usize, first: u32, count: u32) {
        self.put_u32(at, first);
        self.put_u32(at + 4, count);
    }
}

impl Poke for Vec<u8> {
    fn put_u32(&mut self, at: usize, value: u32) {
        self[at..at + 4].copy_from_slice(&value.to_le_bytes());
    }
}

fn get_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

#[test]
fn builder_and_reader_agree() {
    let bytes = sample().build();
    let image = Image::parse(&bytes).expect("valid image");
    assert_eq!(image.name(), "hello");
    assert_eq!(image.content(), &(0..64).collect::<Vec<u8>>()[..]);
    assert_eq!(
        (image.memory_size(), image.align(), image.entry()),
        (96, 16, 8)
    );
    assert_eq!(image.can_unload(), Some(16));
    assert_eq!((image.text_size(), image.read_only_end()), (32, 48));
    assert_eq!(
        image.relocations().collect::<Vec<_>>(),
        sample().relocations
    );
    let module = image.import_modules().next().expect("one import module");
    assert_eq!(
        (
            module.name,
            module.uuid,
            module.first_symbol,
            module.symbol_count
        ),
        ("kernel", KERNEL, 0, 2)
    );
    assert_eq!(
        image
            .import_symbol(1)
            .map(|symbol| (symbol.ordinal, symbol.name)),
        Some((2, "tessera_free"))
    );
    assert_eq!(image.import_ordinal(1), Some(2));
    assert_eq!(image.import_ordinal(2), None);
    assert_eq!(
        image.module_of_symbol(1).map(|module| module.name),
        Some("kernel")
    );
    assert_eq!(image.module_of_symbol(2), None);
    let v2 = image.export_table(V2).expect("v2 table");
    assert_eq!(
        v2.by_ordinal(2).map(|export| (export.name, export.offset)),
        Some(("hello_reset", 90))
    );
    assert_eq!(
        v2.by_name("hello_count").map(|export| export.ordinal),
        Some(1)
    );
    assert!(
        image
            .export_table(V1)
            .expect("v1 table")
            .by_ordinal(2)
            .is_none()
    );
    assert!(image.export_table(KERNEL).is_none());
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = sample().build();
    for length in 0..bytes.len() {
        assert!(
            Image::parse(&bytes[..length]).is_err(),
            "a {length}-byte prefix was accepted"
        );
    }
}

#[test]
fn foreign_files_are_refused_by_magic_and_version() {
    let mut bytes = sample().build();
    bytes[0] = b'X';
    assert_eq!(Image::parse(&bytes).err(), Some(ImageError::BadMagic));
    assert_eq!(Image::parse(b"\x7fELF").err(), Some(ImageError::BadMagic));
    // Versions 1 and 2 had no signature section: an image of either is
    // refused as unsigned, not misread; a later version is unknown.
    for (version, error) in [
        (1, ImageError::Unsigned(1)),
        (2, ImageError::Unsigned(2)),
        (4, ImageError::UnsupportedVersion(4)),
    ] {
        let mut bytes = sample().build();
        bytes[header::VERSION] = version;
        assert_eq!(Image::parse(&bytes).err(), Some(error));
        assert_eq!(format_version(&bytes), Ok(u16::from(version)));
    }
    assert_eq!(
        ImageError::Unsigned(2).to_string(),
        "unsigned image, format v2"
    );
}

#[test]
fn the_signature_section_ends_the_image_and_covers_all_before_it() {
    let bytes = sample().build();
    let section = signature_section(&bytes).expect("a signature section");
    let section_start = bytes.len() - signature::SIZE;
    assert_eq!(section.body, &bytes[..section_start]);
    assert_eq!(
        section.signed,
        &bytes[..section_start + signature::SIGNATURE]
    );
    assert_eq!(&bytes[section_start..][..8], b"TSRSIGN1");
    assert_eq!((section.key_id, section.signature), ([0; 8], [0; 64]));

    let mut signed = bytes.clone();
    set_key_id(&mut signed, [7; 8]).expect("key id set");
    set_signature(&mut signed, [9; 64]).expect("signature set");
    let section = signature_section(&signed).expect("still a signature section");
    assert_eq!((section.key_id, section.signature), ([7; 8], [9; 64]));
    assert_eq!(&signed[..section_start], &bytes[..section_start]);
    Image::parse(&signed).expect("the body is unchanged");
}

#[test]
fn a_missing_or_cut_signature_section_is_its_own_error() {
    let bytes = sample().build();
    for cut in [1, 8, 64, 79] {
        assert_eq!(
            Image::parse(&bytes[..bytes.len() - cut]).err(),
            Some(ImageError::NoSignatureSection),
            "{cut} bytes cut"
        );
    }
    let mut bytes = sample().build();
    let magic_at = bytes.len() - signature::SIZE;
    bytes[magic_at] ^= 1;
    assert_eq!(
        Image::parse(&bytes).err(),
        Some(ImageError::NoSignatureSection)
    );
    assert_eq!(
        signature_section(&bytes[..usize::from(crate::HEADER_SIZE)]).err(),
        Some(ImageError::Truncated)
    );
}

/// Applies `patch` to a fresh sample image and returns what parsing says.
fn patched(patch: impl FnOnce(&mut Vec<u8>)) -> Option<ImageError> {
    patched_from(sample(), patch)
}

/// Builds `builder`, applies `patch` and returns what parsing says.
fn patched_from(builder: ImageBuilder, patch: impl FnOnce(&mut Vec<u8>)) -> Option<ImageError> {
    let mut bytes = builder.build();
    patch(&mut bytes);
    Image::parse(&bytes).err()
}

/// The sample laid out page by page: code, read-only data and data each
/// on a page of their own.
fn paged_sample() -> ImageBuilder {
    let page = crate::PAGE_SIZE;
    let mut content = vec![0u8; 2 * page as usize + 64];
    content[..4].copy_from_slice(&0x0000_8067u32.to_le_bytes());
    ImageBuilder {
        content,
        memory_size: 3 * page,
        text_size: page,
        read_only_end: 2 * page,
        align: page,
        entry: 0,
        can_unload: None,
        relocations: vec![relocation(2 * page, RelocationKind::Rebase64, 0)],
        imports: Vec::new(),
        exports: Vec::new(),
        paged: true,
        ..sample()
    }
}

#[test]
fn a_def_asks_for_a_paged_layout_once() {
    let paged = def::parse("module user\nlayout paged\n").expect("paged def");
    assert!(paged.paged);
    assert!(!def::parse("module user\n").expect("plain def").paged);
    let twice = def::parse("module user\nlayout paged\nlayout paged\n").expect_err("twice");
    assert_eq!(twice.line, 3);
    assert!(def::parse("module user\nlayout packed\n").is_err());
}

#[test]
fn a_paged_image_says_so_and_its_sections_must_start_on_pages() {
    let bytes = paged_sample().build();
    let image = Image::parse(&bytes).expect("paged image");
    assert!(image.is_paged());
    assert_eq!((image.text_size(), image.read_only_end()), (4096, 8192));
    assert!(!Image::parse(&sample().build()).expect("sample").is_paged());
    for (field, value) in [
        (header::TEXT_SIZE, 4000),
        (header::READ_ONLY_END, 8000),
        (header::ALIGN, 16),
    ] {
        assert_eq!(
            patched_from(paged_sample(), |b| b.put_u32(field, value)),
            Some(ImageError::BadHeader("paged section ends")),
            "field at {field} = {value}"
        );
    }
}

#[test]
fn header_fields_are_checked() {
    assert_eq!(
        patched(|b| b.put_u32(header::FLAGS, 2)),
        Some(ImageError::BadHeader("flags"))
    );
    // `PAGED` on an image whose sections do not start on pages.
    assert_eq!(
        patched(|b| b.put_u32(header::FLAGS, crate::format::flags::PAGED)),
        Some(ImageError::BadHeader("paged section ends"))
    );
    assert_eq!(
        patched(|b| b.put_u32(header::MEMORY_SIZE, 10)),
        Some(ImageError::BadHeader("memory size"))
    );
    assert_eq!(
        patched(|b| b.put_u32(header::MEMORY_SIZE, u32::MAX)),
        Some(ImageError::BadHeader("memory size"))
    );
    assert_eq!(
        patched(|b| b.put_u32(header::ALIGN, 24)),
        Some(ImageError::BadHeader("alignment"))
    );
    assert_eq!(
        patched(|b| b.put_u32(header::ENTRY, 64)),
        Some(ImageError::BadHeader("entry"))
    );
    // Inside the content but in read-only data: not code.
    assert_eq!(
        patched(|b| b.put_u32(header::ENTRY, 40)),
        Some(ImageError::BadHeader("entry"))
    );
    assert_eq!(
        patched(|b| b.put_u32(header::CAN_UNLOAD, 32)),
        Some(ImageError::BadHeader("can_unload"))
    );
    assert_eq!(
        patched(|b| b.put_u32(header::TEXT_SIZE, 49)),
        Some(ImageError::BadHeader("section ends"))
    );
    assert_eq!(
        patched(|b| b.put_u32(header::READ_ONLY_END, 65)),
        Some(ImageError::BadHeader("section ends"))
    );
    assert_eq!(
        patched(|b| b.put_u32(header::CAN_UNLOAD, 1000)),
        Some(ImageError::BadHeader("can_unload"))
    );
    assert_eq!(
        patched(|b| b.put_u32(header::NAME + 4, 100_000)),
        Some(ImageError::BadString("the module name", 0))
    );
    assert_eq!(
        patched(|b| b.put_u32(header::NAME + 4, 0)),
        Some(ImageError::BadString("the module name", 0))
    );
}

#[test]
fn tables_must_lie_inside_the_file() {
    for (field, what) in [
        (header::CONTENT_OFFSET, "the content"),
        (header::RELOCATIONS, "the relocation table"),
        (header::IMPORT_MODULES, "the import modules"),
        (header::EXPORTS, "the exports"),
        (header::STRINGS, "the string table"),
    ] {
        assert_eq!(
            patched(|b| b.put_u32(field, u32::MAX - 2)),
            Some(ImageError::OutOfBounds(what))
        );
    }
    assert_eq!(
        patched(|b| b.put_u32(header::RELOCATIONS + 4, u32::MAX)),
        Some(ImageError::OutOfBounds("the relocation table"))
    );
}

/// The file offset of relocation `index`'s record.
fn relocation_at(bytes: &[u8], index: usize) -> usize {
    get_u32(bytes, header::RELOCATIONS) as usize + index * 16
}

#[test]
fn relocations_are_checked() {
    // Outside the content, or straddling its end.
    assert_eq!(
        patched(|b| {
            let at = relocation_at(b, 0);
            b.put_u32(at, 60)
        }),
        Some(ImageError::BadRelocation(0))
    );
    assert_eq!(
        patched(|b| {
            let at = relocation_at(b, 0);
            b.put_u32(at, u32::MAX - 3)
        }),
        Some(ImageError::BadRelocation(0))
    );
    // An unknown kind.
    assert_eq!(
        patched(|b| {
            let at = relocation_at(b, 1) + 4;
            b[at] = 99
        }),
        Some(ImageError::BadRelocation(1))
    );
    // An import symbol that does not exist.
    assert_eq!(
        patched(|b| {
            let at = relocation_at(b, 1) + 8;
            b.put_u32(at, 2)
        }),
        Some(ImageError::BadRelocation(1))
    );
    // A low part whose partner is not a high part, or does not exist.
    assert_eq!(
        patched(|b| {
            let at = relocation_at(b, 3) + 8;
            b.put_u32(at, 0)
        }),
        Some(ImageError::BadRelocation(3))
    );
    assert_eq!(
        patched(|b| {
            let at = relocation_at(b, 3) + 8;
            b.put_u32(at, 77)
        }),
        Some(ImageError::BadRelocation(3))
    );
}

/// The file offset of import module `index`'s record.
fn module_at(bytes: &[u8], index: usize) -> usize {
    get_u32(bytes, header::IMPORT_MODULES) as usize + index * 32
}

/// The file offset of export table `index`'s record.
fn table_at(bytes: &[u8], index: usize) -> usize {
    get_u32(bytes, header::EXPORT_TABLES) as usize + index * 24
}

/// The file offset of export `index`'s record.
fn export_at(bytes: &[u8], index: usize) -> usize {
    get_u32(bytes, header::EXPORTS) as usize + index * 16
}

/// The sample with a second import module, which imports symbol 2.
fn two_modules() -> ImageBuilder {
    let mut builder = sample();
    builder.imports.push(ImportModuleSpec {
        name: "greeter".into(),
        uuid: V1,
        symbols: vec![(1, "hello_count".into())],
    });
    builder
}

#[test]
fn every_import_symbol_belongs_to_exactly_one_module() {
    use RangeError::*;
    let imports = |error| Some(ImageError::ImportModules(error));
    // Symbol 1, which relocation 1 calls, left to no module: the loader
    // would have patched the call to address 0.
    assert_eq!(
        patched(|b| b.put_u32(module_at(b, 0) + 28, 1)),
        imports(Unclaimed(1))
    );
    assert_eq!(
        patched(|b| b.put_range(module_at(b, 0) + 24, 1, 1)),
        imports(Unclaimed(0))
    );
    // Ranges running past the symbol table, or past the end of numbers.
    assert_eq!(
        patched(|b| b.put_u32(module_at(b, 0) + 28, 3)),
        imports(PastEnd(0))
    );
    assert_eq!(
        patched(|b| b.put_u32(module_at(b, 0) + 24, u32::MAX)),
        imports(PastEnd(0))
    );
    // Symbol 1 claimed by both modules.
    assert_eq!(
        patched_from(two_modules(), |b| b.put_u32(module_at(b, 1) + 24, 1)),
        imports(Shared { item: 1, group: 1 })
    );
    // Every symbol claimed once, but not in order.
    assert_eq!(
        patched_from(two_modules(), |b| {
            b.put_range(module_at(b, 0) + 24, 1, 2);
            b.put_range(module_at(b, 1) + 24, 0, 1);
        }),
        imports(OutOfOrder(0))
    );
    // An empty module that does not start where the one before it ends.
    assert_eq!(
        patched_from(two_modules(), |b| b.put_range(module_at(b, 1) + 24, 0, 0)),
        imports(OutOfOrder(1))
    );
}

#[test]
fn every_export_belongs_to_exactly_one_table() {
    use RangeError::*;
    let tables = |error| Some(ImageError::ExportTables(error));
    // v1 holds export 0, v2 exports 1 and 2.
    assert_eq!(
        patched(|b| b.put_u32(table_at(b, 0) + 20, 2)),
        tables(Shared { item: 1, group: 1 })
    );
    assert_eq!(
        patched(|b| b.put_range(table_at(b, 1) + 16, 0, 3)),
        tables(Shared { item: 0, group: 1 })
    );
    assert_eq!(
        patched(|b| b.put_u32(table_at(b, 0) + 20, 0)),
        tables(Unclaimed(0))
    );
    assert_eq!(
        patched(|b| b.put_u32(table_at(b, 1) + 20, 1)),
        tables(Unclaimed(2))
    );
    assert_eq!(
        patched(|b| b.put_u32(table_at(b, 0) + 20, 9)),
        tables(PastEnd(0))
    );
    assert_eq!(
        patched(|b| {
            b.put_range(table_at(b, 0) + 16, 1, 2);
            b.put_range(table_at(b, 1) + 16, 0, 1);
        }),
        tables(OutOfOrder(0))
    );
}

#[test]
fn exports_are_checked() {
    // The second table made a copy of the first's UUID.
    assert_eq!(
        patched(|b| {
            let first = table_at(b, 0);
            let uuid: [u8; 16] = b[first..first + 16].try_into().expect("16 bytes");
            b[first + 24..first + 40].copy_from_slice(&uuid);
        }),
        Some(ImageError::DuplicateTable(1))
    );
    assert_eq!(
        patched(|b| b.put_u32(export_at(b, 0) + 4, 96)),
        Some(ImageError::BadExport(0))
    );
    // The third export (v2's second) takes ordinal 1 again, or a lower one.
    assert_eq!(
        patched(|b| b.put_u32(export_at(b, 2), 1)),
        Some(ImageError::DuplicateOrdinal(2))
    );
    assert_eq!(
        patched(|b| b.put_u32(export_at(b, 2), 0)),
        Some(ImageError::UnsortedOrdinal(2))
    );
    // Ordinals only ascend within a table: v2 may start below v1's last.
    assert_eq!(patched(|b| b.put_u32(export_at(b, 0), 5)), None);
}

#[test]
fn export_tables_are_bounded() {
    let with_tables = |count: u128| {
        let mut builder = sample();
        builder.exports = (0..count)
            .map(|index| ExportTableSpec {
                uuid: Guid::from_u128(index + 1),
                exports: Vec::new(),
            })
            .collect();
        Image::parse(&builder.build()).err()
    };
    assert_eq!(with_tables(u128::from(MAX_EXPORT_TABLES)), None);
    assert_eq!(
        with_tables(u128::from(MAX_EXPORT_TABLES) + 1),
        Some(ImageError::BadHeader("export table count"))
    );
}

#[test]
fn parts_of_the_file_do_not_overlap() {
    assert_eq!(
        patched(|b| b.put_u32(header::CONTENT_OFFSET, 0)),
        Some(ImageError::Overlap("the header", "the content"))
    );
    assert_eq!(
        patched(|b| {
            let symbols = get_u32(b, header::IMPORT_SYMBOLS);
            b.put_u32(header::EXPORTS, symbols)
        }),
        Some(ImageError::Overlap("the import symbols", "the exports"))
    );
    assert_eq!(
        patched(|b| {
            let content = get_u32(b, header::CONTENT_OFFSET);
            b.put_u32(header::STRINGS, content)
        }),
        Some(ImageError::Overlap("the content", "the string table"))
    );
    // An empty table takes no bytes, wherever it says it is.
    assert_eq!(patched(|b| b.put_range(header::RELOCATIONS, 0, 0)), None);
}

#[test]
fn strings_do_not_reuse_each_others_bytes() {
    // Export 0 named by the whole string table.
    assert_eq!(
        patched(|b| {
            let size = get_u32(b, header::STRINGS + 4);
            b.put_range(export_at(b, 0) + 8, 0, size)
        }),
        Some(ImageError::ReusedString("export", 0))
    );
    // Many exports naming one long string: few bytes of file, much text.
    let mut builder = sample();
    builder.exports = vec![ExportTableSpec {
        uuid: V1,
        exports: (1..=100)
            .map(|ordinal| (ordinal, "x".repeat(50), 8))
            .collect(),
    }];
    let mut bytes = builder.build();
    let names = get_u32(&bytes, export_at(&bytes, 0) + 8);
    // Sharing alone is allowed while the total stays within the table...
    for index in 1..100 {
        let at = export_at(&bytes, index) + 8;
        bytes.put_range(at, names, 50);
    }
    assert_eq!(Image::parse(&bytes).err(), None);
    // ...but not one string standing for every name, 100 times over.
    for index in 0..100 {
        let at = export_at(&bytes, index) + 8;
        bytes.put_range(at, names, 100 * 50);
    }
    assert_eq!(
        Image::parse(&bytes).err(),
        Some(ImageError::ReusedString("export", 1))
    );
}

#[test]
fn lookups_find_what_a_linear_search_finds() {
    let mut builder = sample();
    builder.relocations.clear();
    builder.imports = [("a", 3), ("b", 0), ("c", 1), ("d", 0), ("e", 2)]
        .map(|(name, count)| ImportModuleSpec {
            name: name.into(),
            uuid: KERNEL,
            symbols: (0..count).map(|ordinal| (ordinal, "s".into())).collect(),
        })
        .into();
    // Given out of order; the writer sorts them.
    builder.exports = vec![ExportTableSpec {
        uuid: V1,
        exports: vec![(9, "i".into(), 0), (2, "b".into(), 1), (5, "e".into(), 2)],
    }];
    let bytes = builder.build();
    let image = Image::parse(&bytes).expect("valid image");
    let owners: Vec<_> = (0..7)
        .map(|symbol| image.module_of_symbol(symbol).map(|module| module.name))
        .collect();
    let a = Some("a");
    assert_eq!(owners, [a, a, a, Some("c"), Some("e"), Some("e"), None]);
    let table = image.export_table(V1).expect("v1");
    let ordinals: Vec<_> = table.entries().map(|export| export.ordinal).collect();
    assert_eq!(ordinals, [2, 5, 9]);
    let found: Vec<_> = (0..11)
        .map(|ordinal| table.by_ordinal(ordinal).map(|export| export.name))
        .collect();
    let expected: Vec<_> = (0..11)
        .map(|ordinal| table.entries().find(|export| export.ordinal == ordinal))
        .map(|export| export.map(|export| export.name))
        .collect();
    assert_eq!(found, expected);
    assert_eq!(found[5], Some("e"));
}

#[test]
fn names_may_repeat_and_the_lowest_ordinal_wins() {
    let mut builder = sample();
    builder.exports = vec![ExportTableSpec {
        uuid: V1,
        exports: vec![(4, "twice".into(), 8), (3, "twice".into(), 16)],
    }];
    let bytes = builder.build();
    let image = Image::parse(&bytes).expect("valid image");
    let table = image.export_table(V1).expect("v1");
    assert_eq!(table.by_name("twice").map(|export| export.ordinal), Some(3));
}

/// An image with `count` exports over four tables, `count` import symbols
/// over `count / 100` modules and `count` relocations; every name is
/// seven bytes.
fn scaled(count: u32) -> Vec<u8> {
    let mut builder = sample();
    builder.imports = (0..count / 100)
        .map(|module| ImportModuleSpec {
            name: format!("m{module:06}"),
            uuid: KERNEL,
            symbols: (0..100)
                .map(|symbol| (symbol + 1, format!("s{symbol:06}")))
                .collect(),
        })
        .collect();
    builder.relocations = (0..count)
        .map(|index| relocation(24, RelocationKind::CallImport, index))
        .collect();
    builder.exports = (0..4)
        .map(|table| ExportTableSpec {
            uuid: Guid::from_u128(table + 1),
            exports: (0..count / 4)
                .map(|ordinal| (ordinal + 1, format!("e{ordinal:06}"), ordinal % 96))
                .collect(),
        })
        .collect();
    builder.build()
}

#[test]
fn validation_work_grows_linearly() {
    let steps = |count| {
        let bytes = scaled(count);
        let image = Image::parse(&bytes).expect("valid image");
        let exports: usize = image.export_tables().map(|t| t.entries().count()).sum();
        assert_eq!(exports, count as usize);
        // No more steps than bytes: each record or string byte is read once.
        assert!(image.validation_steps() <= bytes.len() as u64);
        image.validation_steps()
    };
    let (small, large) = (steps(10_000), steps(100_000));
    let ratio = large as f64 / small as f64;
    assert!(
        (9.9..=10.1).contains(&ratio),
        "10× the records took {ratio:.2}× the steps ({small} → {large})"
    );
}

#[test]
fn strings_must_be_utf8() {
    let mut bytes = sample().build();
    let strings = get_u32(&bytes, header::STRINGS) as usize;
    bytes[strings] = 0xff;
    assert_eq!(
        Image::parse(&bytes).err(),
        Some(ImageError::BadString("the string table", 0))
    );
}

#[test]
fn strings_must_not_split_a_character() {
    let mut builder = sample();
    builder.name = String::from("ségment");
    let mut bytes = builder.build();
    // The name's length now ends inside `é`.
    bytes.put_u32(header::NAME + 4, 2);
    assert_eq!(
        Image::parse(&bytes).err(),
        Some(ImageError::BadString("the module name", 0))
    );
}

const HELLO_DEF: &str = "\
# The hello component.
module hello
export 3c1f5a52-8d7e-4e0b-9a51-7b0f2d6c4e11 {
    hello_count @ 1   # how many greetings
    hello_reset @ 2
}
export 3c1f5a52-8d7e-4e0b-9a51-7b0f2d6c4e12 {
}
import kernel 5f0c7c4e-6a3d-4d8b-8f7e-0d2a4b1c9e35
";

#[test]
fn def_files_parse() {
    let module = def::parse(HELLO_DEF).expect("valid .def");
    assert_eq!(module.name, "hello");
    assert_eq!(module.exports.len(), 2);
    let v1 = module.export_table(V1).expect("v1");
    let symbols: Vec<_> = v1
        .symbols
        .iter()
        .map(|export| (export.name.as_str(), export.ordinal))
        .collect();
    assert_eq!(symbols, [("hello_count", 1), ("hello_reset", 2)]);
    assert!(v1.symbols.iter().all(|export| export.signature.is_none()));
    assert!(module.export_table(V2).expect("v2").symbols.is_empty());
    assert_eq!(
        module.imports,
        [def::ImportDef {
            module: "kernel".to_string(),
            uuid: KERNEL
        }]
    );
}

#[test]
fn def_errors_name_their_line() {
    let cases = [
        (
            "export 3c1f5a52-8d7e-4e0b-9a51-7b0f2d6c4e11 {",
            1,
            "the first line must be",
        ),
        ("module a\nmodule b", 2, "a second `module`"),
        ("module a\nexport nonsense {", 2, "is not a UUID"),
        (
            "module a\nexport 3c1f5a52-8d7e-4e0b-9a51-7b0f2d6c4e11 {\nf @ 0\n}",
            3,
            "is not a number",
        ),
        (
            "module a\nexport 3c1f5a52-8d7e-4e0b-9a51-7b0f2d6c4e11 {\nf @ 1\ng @ 1\n}",
            4,
            "clashes with f @ 1",
        ),
        (
            "module a\nexport 3c1f5a52-8d7e-4e0b-9a51-7b0f2d6c4e11 {\n9f @ 1\n}",
            3,
            "is not a symbol name",
        ),
        ("module a/b", 1, "is not a module name"),
        (
            "module a\nimport ../x 3c1f5a52-8d7e-4e0b-9a51-7b0f2d6c4e11",
            2,
            "is not a module name",
        ),
        ("module a\nfrobnicate", 2, "expected `export"),
        ("module a\n}", 2, "expected `export"),
    ];
    for (text, line, message) in cases {
        let error = def::parse(text).expect_err(text);
        assert_eq!(error.line, line, "{text:?}: {error}");
        assert!(error.message.contains(message), "{text:?}: {error}");
    }
    assert_eq!(
        def::parse("").expect_err("empty").message,
        "no `module <name>` line"
    );
    let unclosed = def::parse("module a\nexport 3c1f5a52-8d7e-4e0b-9a51-7b0f2d6c4e11 {\nf @ 1");
    assert!(
        unclosed
            .expect_err("unclosed")
            .message
            .contains("not closed")
    );
}

#[test]
fn def_clashes_name_the_earlier_symbol_in_large_tables() {
    let mut text = String::from("module big\nexport 3c1f5a52-8d7e-4e0b-9a51-7b0f2d6c4e11 {\n");
    for ordinal in 1..=20_000 {
        text += &format!("f{ordinal} @ {ordinal}\n");
    }
    let module = def::parse(&format!("{text}}}")).expect("valid .def");
    assert_eq!(module.exports[0].symbols.len(), 20_000);
    for (line, clash) in [("f7 @ 30000", "f7 @ 7"), ("g @ 9", "f9 @ 9")] {
        let error = def::parse(&format!("{text}{line}\n}}")).expect_err(line);
        assert_eq!(error.line, 20_003, "{error}");
        assert!(error.message.contains(clash), "{error}");
    }
}

#[test]
fn def_files_have_at_most_max_export_tables() {
    let tables = |count: u32| -> String {
        (0..count)
            .map(|index| format!("export 00000000-0000-0000-0000-{index:012x} {{\n}}\n"))
            .collect()
    };
    let most = format!("module a\n{}", tables(MAX_EXPORT_TABLES));
    assert!(def::parse(&most).is_ok());
    let error = def::parse(&format!("module a\n{}", tables(MAX_EXPORT_TABLES + 1)))
        .expect_err("too many tables");
    assert_eq!(error.line, 2 + 2 * MAX_EXPORT_TABLES as usize, "{error}");
    assert!(error.message.contains("more than 64"), "{error}");
}

const TYPED_DEF: &str = "\
module kernel
export 5f0c7c4e-6a3d-4d8b-8f7e-0d2a4b1c9e35 {
    # Allocates.
    #   Indented, kept.

    # Documents tessera_alloc: the blank line above ends the earlier comment.
    #No space.
    tessera_alloc @ 1 fn(size: usize, align: usize) -> *mut u8
    tessera_now_us @ 2 safe fn() -> u64   # a comment after a signature
    tessera_abort @ 3 fn(message: *const u8, line: u32) -> !
    tessera_wake @ 4 safe fn(word : *const u32)->u32
    tessera_swap @ 5 fn(slot: *mut *const void, old: *const *mut i64, count: isize)
    tessera_plain @ 6
}
";

#[test]
fn typed_exports_parse_and_map_to_rust_and_c() {
    let module = def::parse(TYPED_DEF).expect("valid typed .def");
    let symbols = &module.exports[0].symbols;
    let spelled: Vec<_> = symbols
        .iter()
        .map(|export| {
            let signature = export.signature.as_ref();
            (
                export.name.as_str(),
                signature.map(def::FnSignature::rust_fn_pointer),
                signature.map(|signature| signature.c_prototype(&export.name)),
            )
        })
        .collect();
    let typed = |name, rust: &str, c: &str| (name, Some(rust.to_string()), Some(c.to_string()));
    assert_eq!(
        spelled,
        [
            typed(
                "tessera_alloc",
                "unsafe extern \"C\" fn(usize, usize) -> *mut u8",
                "uint8_t *tessera_alloc(size_t size, size_t align)"
            ),
            typed(
                "tessera_now_us",
                "extern \"C\" fn() -> u64",
                "uint64_t tessera_now_us(void)"
            ),
            typed(
                "tessera_abort",
                "unsafe extern \"C\" fn(*const u8, u32) -> !",
                "_Noreturn void tessera_abort(const uint8_t *message, uint32_t line)"
            ),
            typed(
                "tessera_wake",
                "extern \"C\" fn(*const u32) -> u32",
                "uint32_t tessera_wake(const uint32_t *word)"
            ),
            typed(
                "tessera_swap",
                "unsafe extern \"C\" fn(*mut *const core::ffi::c_void, *const *mut i64, isize)",
                "void tessera_swap(const void **slot, int64_t *const *old, intptr_t count)"
            ),
            ("tessera_plain", None, None),
        ]
    );
    let alloc = symbols[0].signature.as_ref().expect("typed");
    assert_eq!(
        alloc.rust_parameters(),
        "(size: usize, align: usize) -> *mut u8"
    );
    assert!(!alloc.safe);
    assert_eq!(
        symbols[0].doc,
        "Documents tessera_alloc: the blank line above ends the earlier comment.\nNo space."
    );
    assert_eq!(symbols[1].doc, "");
    assert!(symbols[1].signature.as_ref().is_some_and(|now| now.safe));
}

#[test]
fn signature_errors_name_their_line_and_symbol() {
    let cases = [
        ("f @ 1 fn(size: usize", "f: expected `,`, found `the end`"),
        ("f @ 1 fun()", "f: expected `fn`, found `fun`"),
        ("f @ 1 fn(x: u128)", "expected a type (u8"),
        ("f @ 1 fn(x: *u8)", "expected `const` or `mut` after `*`"),
        ("f @ 1 fn(x: u8, x: u16)", "parameter `x` is named twice"),
        (
            "f @ 1 fn(register: u8)",
            "`register` is not a parameter name",
        ),
        ("f @ 1 fn(9x: u8)", "`9x` is not a parameter name"),
        ("f @ 1 fn() -> u8 u8", "unexpected `u8` after the signature"),
        ("f @ 1 fn(x: &u8)", "unexpected `&` in the signature"),
        ("f @ 1 fn(x: void)", "expected a type"),
        ("f @ 1 fn() ->", "expected a type"),
        ("f @ 1 safe", "expected `fn`, found `the end`"),
    ];
    for (line, message) in cases {
        let text = format!("module a\nexport 3c1f5a52-8d7e-4e0b-9a51-7b0f2d6c4e11 {{\n{line}\n}}");
        let error = def::parse(&text).expect_err(line);
        assert_eq!(error.line, 3, "{line}: {error}");
        assert!(error.message.contains(message), "{line}: {error}");
    }
}

/// The crafted seeds of the fuzz corpus and the error each exhibits.
const CRAFTED_SEEDS: [(&str, ImageError); 6] = [
    (
        "import-unclaimed.tsi",
        ImageError::ImportModules(RangeError::Unclaimed(1)),
    ),
    (
        "import-shared.tsi",
        ImageError::ImportModules(RangeError::Shared { item: 1, group: 1 }),
    ),
    (
        "export-tables-overlap.tsi",
        ImageError::ExportTables(RangeError::Shared { item: 1, group: 1 }),
    ),
    ("ordinals-unsorted.tsi", ImageError::UnsortedOrdinal(2)),
    (
        "regions-overlap.tsi",
        ImageError::Overlap("the import symbols", "the exports"),
    ),
    ("strings-reused.tsi", ImageError::ReusedString("export", 1)),
];

#[test]
fn corpus_seeds_are_what_they_claim() {
    let directory = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus/image");
    let mut crafted_seen = 0;
    for entry in std::fs::read_dir(directory).expect("the image corpus") {
        let path = entry.expect("a corpus entry").path();
        let bytes = std::fs::read(&path).expect("a readable seed");
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("");
        let expected = CRAFTED_SEEDS
            .iter()
            .find(|(seed, _)| *seed == name)
            .map(|&(_, error)| error);
        crafted_seen += usize::from(expected.is_some());
        // Seeds not listed are real images, which must parse.
        assert_eq!(Image::parse(&bytes).err(), expected, "{name}");
    }
    assert_eq!(crafted_seen, CRAFTED_SEEDS.len());
}
