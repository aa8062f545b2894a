//! Writing an image (the munger's last step, and tests).

use alloc::string::String;
use alloc::vec::Vec;

use com::Guid;

use crate::Relocation;
use crate::format::{HEADER_SIZE, MAGIC, NO_FUNCTION, VERSION, flags, header, signature};

/// A module the image imports from, with its symbols as `(ordinal, name)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportModuleSpec {
    /// The exporting module's name.
    pub name: String,
    /// The export table wanted.
    pub uuid: Guid,
    /// The symbols imported from it; relocations index them in order,
    /// counting across modules.
    pub symbols: Vec<(u32, String)>,
}

/// An export table: its UUID and its exports as `(ordinal, name, offset)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportTableSpec {
    /// The table's UUID.
    pub uuid: Guid,
    /// Its exports, in any order: the image lists them by ascending ordinal.
    pub exports: Vec<(u32, String, u32)>,
}

/// Everything an image holds, ready to be laid out.
#[derive(Clone, Debug, Default)]
pub struct ImageBuilder {
    /// The module's name.
    pub name: String,
    /// Code and data, copied to the module's base.
    pub content: Vec<u8>,
    /// Content plus zeroed memory.
    pub memory_size: u32,
    /// Bytes of code at the start of the content.
    pub text_size: u32,
    /// Where read-only data ends (writable data follows).
    pub read_only_end: u32,
    /// Alignment of the base address.
    pub align: u32,
    /// Offset of the entry point.
    pub entry: u32,
    /// Offset of the "can unload now" function, if any.
    pub can_unload: Option<u32>,
    /// Relocations, in the order the loader applies them.
    pub relocations: Vec<Relocation>,
    /// Imports, by module.
    pub imports: Vec<ImportModuleSpec>,
    /// Export tables.
    pub exports: Vec<ExportTableSpec>,
    /// Laid out page by page (`flags::PAGED`): the caller placed each
    /// section on a page.
    pub paged: bool,
}

/// The string table being built.
#[derive(Default)]
struct Strings(Vec<u8>);

impl Strings {
    /// Appends `text`; returns its `(offset, length)` fields.
    fn add(&mut self, text: &str) -> [u32; 2] {
        let offset = self.0.len();
        self.0.extend_from_slice(text.as_bytes());
        [size(offset), size(text.len())]
    }
}

impl ImageBuilder {
    /// Lays the image out: header, content, tables, strings, and an
    /// unsigned signature section (zero key id and signature) that the
    /// `signing` crate fills.
    pub fn build(&self) -> Vec<u8> {
        let mut strings = Strings::default();
        let name = strings.add(&self.name);
        let relocations = self.relocation_records();
        let (import_modules, import_symbols) = self.import_records(&mut strings);
        let (export_tables, exports) = self.export_records(&mut strings);

        let mut out = alloc::vec![0u8; usize::from(HEADER_SIZE)];
        let content_offset = append(&mut out, &self.content, 16);
        let tables = [
            &relocations,
            &import_modules,
            &import_symbols,
            &export_tables,
            &exports,
        ]
        .map(|records| append(&mut out, &records.0, 8));
        let strings_offset = append(&mut out, &strings.0, 1);

        out[..8].copy_from_slice(&MAGIC);
        out[header::VERSION..header::VERSION + 2].copy_from_slice(&VERSION.to_le_bytes());
        out[header::HEADER_SIZE..header::HEADER_SIZE + 2]
            .copy_from_slice(&HEADER_SIZE.to_le_bytes());
        let mut put = |at: usize, value: u32| out[at..at + 4].copy_from_slice(&value.to_le_bytes());
        put(header::FLAGS, if self.paged { flags::PAGED } else { 0 });
        put(header::NAME, name[0]);
        put(header::NAME + 4, name[1]);
        put(header::CONTENT_OFFSET, content_offset);
        put(header::CONTENT_SIZE, size(self.content.len()));
        put(header::MEMORY_SIZE, self.memory_size);
        put(header::ALIGN, self.align);
        put(header::ENTRY, self.entry);
        put(header::CAN_UNLOAD, self.can_unload.unwrap_or(NO_FUNCTION));
        put(header::TEXT_SIZE, self.text_size);
        put(header::READ_ONLY_END, self.read_only_end);
        let counts = [
            &relocations,
            &import_modules,
            &import_symbols,
            &export_tables,
            &exports,
        ]
        .map(|records| records.1);
        let fields = [
            header::RELOCATIONS,
            header::IMPORT_MODULES,
            header::IMPORT_SYMBOLS,
            header::EXPORT_TABLES,
            header::EXPORTS,
        ];
        for ((field, offset), count) in fields.into_iter().zip(tables).zip(counts) {
            put(field, offset);
            put(field + 4, count);
        }
        put(header::STRINGS, strings_offset);
        put(header::STRINGS + 4, size(strings.0.len()));
        append(&mut out, &signature::MAGIC, 8);
        out.resize(out.len() + signature::SIZE - signature::MAGIC.len(), 0);
        out
    }

    fn relocation_records(&self) -> (Vec<u8>, u32) {
        let mut records = Vec::new();
        for relocation in &self.relocations {
            records.extend_from_slice(&relocation.offset.to_le_bytes());
            records.extend_from_slice(&[relocation.kind as u8, 0, 0, 0]);
            records.extend_from_slice(&relocation.index.to_le_bytes());
            records.extend_from_slice(&relocation.addend.to_le_bytes());
        }
        (records, size(self.relocations.len()))
    }

    fn import_records(&self, strings: &mut Strings) -> ((Vec<u8>, u32), (Vec<u8>, u32)) {
        let (mut modules, mut symbols, mut symbol_count) = (Vec::new(), Vec::new(), 0u32);
        for module in &self.imports {
            modules.extend_from_slice(&module.uuid.0);
            strings
                .add(&module.name)
                .iter()
                .for_each(|field| modules.extend_from_slice(&field.to_le_bytes()));
            modules.extend_from_slice(&symbol_count.to_le_bytes());
            modules.extend_from_slice(&size(module.symbols.len()).to_le_bytes());
            for (ordinal, name) in &module.symbols {
                symbols.extend_from_slice(&ordinal.to_le_bytes());
                strings
                    .add(name)
                    .iter()
                    .for_each(|field| symbols.extend_from_slice(&field.to_le_bytes()));
            }
            symbol_count += size(module.symbols.len());
        }
        ((modules, size(self.imports.len())), (symbols, symbol_count))
    }

    fn export_records(&self, strings: &mut Strings) -> ((Vec<u8>, u32), (Vec<u8>, u32)) {
        let (mut tables, mut exports, mut export_count) = (Vec::new(), Vec::new(), 0u32);
        for table in &self.exports {
            tables.extend_from_slice(&table.uuid.0);
            tables.extend_from_slice(&export_count.to_le_bytes());
            tables.extend_from_slice(&size(table.exports.len()).to_le_bytes());
            let mut by_ordinal: Vec<_> = table.exports.iter().collect();
            by_ordinal.sort_by_key(|(ordinal, _, _)| *ordinal);
            for (ordinal, name, offset) in by_ordinal {
                exports.extend_from_slice(&ordinal.to_le_bytes());
                exports.extend_from_slice(&offset.to_le_bytes());
                strings
                    .add(name)
                    .iter()
                    .for_each(|field| exports.extend_from_slice(&field.to_le_bytes()));
            }
            export_count += size(table.exports.len());
        }
        ((tables, size(self.exports.len())), (exports, export_count))
    }
}

/// Appends `bytes` to `out` at the next multiple of `align`; returns where.
fn append(out: &mut Vec<u8>, bytes: &[u8], align: usize) -> u32 {
    out.resize(out.len().next_multiple_of(align), 0);
    let offset = size(out.len());
    out.extend_from_slice(bytes);
    offset
}

/// A length or offset as the format stores it. Images are far below 4 GiB
/// (`MAX_MEMORY_SIZE`); the builder's callers keep them there.
fn size(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}
