//! Round trips through the builder and the reader, and every way an image
//! or a `.def` file can be malformed.

use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;

use com::Guid;

use crate::format::header;
use crate::{
    ExportTableSpec, Image, ImageBuilder, ImageError, ImportModuleSpec, Relocation, RelocationKind,
    def,
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
    }
}

fn put_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
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
    let mut bytes = sample().build();
    bytes[header::VERSION] = 2;
    assert_eq!(
        Image::parse(&bytes).err(),
        Some(ImageError::UnsupportedVersion(2))
    );
}

/// Applies `patch` to a fresh sample image and returns what parsing says.
fn patched(patch: impl FnOnce(&mut Vec<u8>)) -> Option<ImageError> {
    let mut bytes = sample().build();
    patch(&mut bytes);
    Image::parse(&bytes).err()
}

#[test]
fn header_fields_are_checked() {
    assert_eq!(
        patched(|b| put_u32(b, header::FLAGS, 1)),
        Some(ImageError::BadHeader("flags"))
    );
    assert_eq!(
        patched(|b| put_u32(b, header::MEMORY_SIZE, 10)),
        Some(ImageError::BadHeader("memory size"))
    );
    assert_eq!(
        patched(|b| put_u32(b, header::MEMORY_SIZE, u32::MAX)),
        Some(ImageError::BadHeader("memory size"))
    );
    assert_eq!(
        patched(|b| put_u32(b, header::ALIGN, 24)),
        Some(ImageError::BadHeader("alignment"))
    );
    assert_eq!(
        patched(|b| put_u32(b, header::ENTRY, 64)),
        Some(ImageError::BadHeader("entry"))
    );
    assert_eq!(
        patched(|b| put_u32(b, header::CAN_UNLOAD, 1000)),
        Some(ImageError::BadHeader("can_unload"))
    );
    assert_eq!(
        patched(|b| put_u32(b, header::NAME + 4, 100_000)),
        Some(ImageError::BadString("the module name", 0))
    );
    assert_eq!(
        patched(|b| put_u32(b, header::NAME + 4, 0)),
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
            patched(|b| put_u32(b, field, u32::MAX - 2)),
            Some(ImageError::OutOfBounds(what))
        );
    }
    assert_eq!(
        patched(|b| put_u32(b, header::RELOCATIONS + 4, u32::MAX)),
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
            put_u32(b, at, 60)
        }),
        Some(ImageError::BadRelocation(0))
    );
    assert_eq!(
        patched(|b| {
            let at = relocation_at(b, 0);
            put_u32(b, at, u32::MAX - 3)
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
            put_u32(b, at, 2)
        }),
        Some(ImageError::BadRelocation(1))
    );
    // A low part whose partner is not a high part, or does not exist.
    assert_eq!(
        patched(|b| {
            let at = relocation_at(b, 3) + 8;
            put_u32(b, at, 0)
        }),
        Some(ImageError::BadRelocation(3))
    );
    assert_eq!(
        patched(|b| {
            let at = relocation_at(b, 3) + 8;
            put_u32(b, at, 77)
        }),
        Some(ImageError::BadRelocation(3))
    );
}

#[test]
fn imports_and_exports_are_checked() {
    let modules = |b: &[u8]| get_u32(b, header::IMPORT_MODULES) as usize;
    assert_eq!(
        patched(|b| {
            let at = modules(b) + 28;
            put_u32(b, at, 3)
        }),
        Some(ImageError::BadImportModule(0))
    );
    let tables = |b: &[u8]| get_u32(b, header::EXPORT_TABLES) as usize;
    assert_eq!(
        patched(|b| {
            let at = tables(b) + 20;
            put_u32(b, at, 9)
        }),
        Some(ImageError::BadExportTable(0))
    );
    // The second table made a copy of the first's UUID.
    assert_eq!(
        patched(|b| {
            let first = tables(b);
            let uuid: [u8; 16] = b[first..first + 16].try_into().expect("16 bytes");
            b[first + 24..first + 40].copy_from_slice(&uuid);
        }),
        Some(ImageError::DuplicateTable(1))
    );
    let exports = |b: &[u8]| get_u32(b, header::EXPORTS) as usize;
    assert_eq!(
        patched(|b| {
            let at = exports(b) + 4;
            put_u32(b, at, 96)
        }),
        Some(ImageError::BadExport(0))
    );
    // The third export (v2's second) takes ordinal 1 again.
    assert_eq!(
        patched(|b| {
            let at = exports(b) + 32;
            put_u32(b, at, 1)
        }),
        Some(ImageError::DuplicateOrdinal(2))
    );
}

#[test]
fn strings_must_be_utf8() {
    let mut bytes = sample().build();
    let strings = get_u32(&bytes, header::STRINGS) as usize;
    bytes[strings] = 0xff;
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
