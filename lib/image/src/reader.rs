//! Reading an image: validation first, then accessors that only touch
//! fields the validation has checked.

use com::Guid;

use crate::ImageError;
use crate::format::{
    EXPORT_SIZE, EXPORT_TABLE_SIZE, HEADER_SIZE, IMPORT_MODULE_SIZE, IMPORT_SYMBOL_SIZE, MAGIC,
    MAX_ALIGN, MAX_MEMORY_SIZE, NO_FUNCTION, RELOCATION_SIZE, RelocationKind, VERSION, header,
};

/// A table's place in the file: `count` records of `size` bytes at `offset`.
#[derive(Clone, Copy, Debug, Default)]
struct Table {
    offset: u32,
    count: u32,
}

/// The header's numbers, once validated.
#[derive(Clone, Copy, Debug, Default)]
struct Header {
    name: (u32, u32),
    content_offset: u32,
    content_size: u32,
    memory_size: u32,
    align: u32,
    entry: u32,
    can_unload: u32,
    relocations: Table,
    import_modules: Table,
    import_symbols: Table,
    export_tables: Table,
    exports: Table,
    strings: Table,
}

/// A validated component image, borrowed from its bytes.
#[derive(Clone, Copy, Debug)]
pub struct Image<'a> {
    bytes: &'a [u8],
    header: Header,
}

/// One relocation record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Relocation {
    /// Where in the content the bytes to rewrite start.
    pub offset: u32,
    /// What to do there.
    pub kind: RelocationKind,
    /// The import symbol (import kinds) or the high-part relocation
    /// (`PcrelLo12*Import`) this record refers to; 0 otherwise.
    pub index: u32,
    /// Added to the import's address.
    pub addend: i32,
}

/// A module this image imports from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImportModule<'a> {
    /// The module's name (bound through the namespace as `/<name>`).
    pub name: &'a str,
    /// The export table wanted.
    pub uuid: Guid,
    /// The first of this module's import symbols.
    pub first_symbol: u32,
    /// How many import symbols follow.
    pub symbol_count: u32,
}

/// One imported symbol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImportSymbol<'a> {
    /// Its ordinal in the exporter's table.
    pub ordinal: u32,
    /// Its name (for messages).
    pub name: &'a str,
}

/// One export table: a UUID and the exports it lists.
#[derive(Clone, Copy, Debug)]
pub struct ExportTable<'a> {
    /// The table's UUID, which importers name.
    pub uuid: Guid,
    image: Image<'a>,
    first: u32,
    count: u32,
}

/// One export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Export<'a> {
    /// Its ordinal within its table.
    pub ordinal: u32,
    /// Its offset in the module's memory.
    pub offset: u32,
    /// Its name.
    pub name: &'a str,
}

impl<'a> Image<'a> {
    /// Checks every field of `bytes` and returns the image.
    pub fn parse(bytes: &'a [u8]) -> Result<Image<'a>, ImageError> {
        if bytes.len() < usize::from(HEADER_SIZE) {
            // A short file that does not even start like an image is foreign.
            let prefix = &bytes[..bytes.len().min(MAGIC.len())];
            return Err(if MAGIC.starts_with(prefix) {
                ImageError::Truncated
            } else {
                ImageError::BadMagic
            });
        }
        if bytes[..8] != MAGIC {
            return Err(ImageError::BadMagic);
        }
        let header = read_header(bytes)?;
        let image = Image { bytes, header };
        image.validate()?;
        Ok(image)
    }

    /// The module's name.
    pub fn name(&self) -> &'a str {
        self.string(self.header.name).unwrap_or_default()
    }

    /// The bytes copied to the start of the module's memory.
    pub fn content(&self) -> &'a [u8] {
        let start = self.header.content_offset as usize;
        self.bytes
            .get(start..start + self.header.content_size as usize)
            .unwrap_or_default()
    }

    /// Bytes of memory the module occupies: the content, then zeroes.
    pub fn memory_size(&self) -> u32 {
        self.header.memory_size
    }

    /// The alignment the module's base address needs.
    pub fn align(&self) -> u32 {
        self.header.align
    }

    /// The entry point's offset in memory.
    pub fn entry(&self) -> u32 {
        self.header.entry
    }

    /// The offset of the module's "can unload now" function, if it has one.
    pub fn can_unload(&self) -> Option<u32> {
        (self.header.can_unload != NO_FUNCTION).then_some(self.header.can_unload)
    }

    /// The relocation records.
    pub fn relocations(&self) -> impl Iterator<Item = Relocation> + 'a {
        let image = *self;
        (0..self.header.relocations.count).filter_map(move |index| image.relocation(index))
    }

    /// Relocation `index`.
    pub fn relocation(&self, index: u32) -> Option<Relocation> {
        let at = record(self.header.relocations, index, RELOCATION_SIZE)?;
        Some(Relocation {
            offset: u32_at(self.bytes, at)?,
            kind: RelocationKind::from_code(*self.bytes.get(at + 4)?)?,
            index: u32_at(self.bytes, at + 8)?,
            addend: i32::from_le_bytes(array_at(self.bytes, at + 12)?),
        })
    }

    /// The modules this image imports from.
    pub fn import_modules(&self) -> impl Iterator<Item = ImportModule<'a>> + 'a {
        let image = *self;
        (0..self.header.import_modules.count).filter_map(move |index| image.import_module(index))
    }

    /// Import module `index`.
    pub fn import_module(&self, index: u32) -> Option<ImportModule<'a>> {
        let at = record(self.header.import_modules, index, IMPORT_MODULE_SIZE)?;
        Some(ImportModule {
            uuid: Guid(array_at(self.bytes, at)?),
            name: self.string((u32_at(self.bytes, at + 16)?, u32_at(self.bytes, at + 20)?))?,
            first_symbol: u32_at(self.bytes, at + 24)?,
            symbol_count: u32_at(self.bytes, at + 28)?,
        })
    }

    /// Import symbol `index`.
    pub fn import_symbol(&self, index: u32) -> Option<ImportSymbol<'a>> {
        let at = record(self.header.import_symbols, index, IMPORT_SYMBOL_SIZE)?;
        Some(ImportSymbol {
            ordinal: u32_at(self.bytes, at)?,
            name: self.string((u32_at(self.bytes, at + 4)?, u32_at(self.bytes, at + 8)?))?,
        })
    }

    /// How many import symbols the image has.
    pub fn import_symbol_count(&self) -> u32 {
        self.header.import_symbols.count
    }

    /// The import module that import symbol `symbol` belongs to.
    pub fn module_of_symbol(&self, symbol: u32) -> Option<ImportModule<'a>> {
        self.import_modules().find(|module| {
            symbol >= module.first_symbol && symbol - module.first_symbol < module.symbol_count
        })
    }

    /// The export tables.
    pub fn export_tables(&self) -> impl Iterator<Item = ExportTable<'a>> + 'a {
        let image = *self;
        (0..self.header.export_tables.count).filter_map(move |index| image.export_table_at(index))
    }

    /// The export table named `uuid`.
    pub fn export_table(&self, uuid: Guid) -> Option<ExportTable<'a>> {
        self.export_tables().find(|table| table.uuid == uuid)
    }

    fn export_table_at(&self, index: u32) -> Option<ExportTable<'a>> {
        let at = record(self.header.export_tables, index, EXPORT_TABLE_SIZE)?;
        Some(ExportTable {
            uuid: Guid(array_at(self.bytes, at)?),
            image: *self,
            first: u32_at(self.bytes, at + 16)?,
            count: u32_at(self.bytes, at + 20)?,
        })
    }

    fn export(&self, index: u32) -> Option<Export<'a>> {
        let at = record(self.header.exports, index, EXPORT_SIZE)?;
        Some(Export {
            ordinal: u32_at(self.bytes, at)?,
            offset: u32_at(self.bytes, at + 4)?,
            name: self.string((u32_at(self.bytes, at + 8)?, u32_at(self.bytes, at + 12)?))?,
        })
    }

    /// The non-empty UTF-8 string at `(offset, length)` of the string table.
    fn string(&self, (offset, length): (u32, u32)) -> Option<&'a str> {
        let strings = self.header.strings;
        let end = offset.checked_add(length)?;
        if length == 0 || end > strings.count {
            return None;
        }
        let start = strings.offset as usize + offset as usize;
        core::str::from_utf8(self.bytes.get(start..start + length as usize)?).ok()
    }

    /// Checks everything the accessors rely on.
    fn validate(&self) -> Result<(), ImageError> {
        self.validate_layout()?;
        self.validate_relocations()?;
        self.validate_imports()?;
        self.validate_exports()
    }

    fn validate_layout(&self) -> Result<(), ImageError> {
        let header = &self.header;
        let length = self.bytes.len();
        within(
            length,
            header.content_offset,
            header.content_size,
            1,
            "the content",
        )?;
        within(
            length,
            header.strings.offset,
            header.strings.count,
            1,
            "the string table",
        )?;
        within(
            length,
            header.relocations.offset,
            header.relocations.count,
            RELOCATION_SIZE,
            "the relocation table",
        )?;
        within(
            length,
            header.import_modules.offset,
            header.import_modules.count,
            IMPORT_MODULE_SIZE,
            "the import modules",
        )?;
        within(
            length,
            header.import_symbols.offset,
            header.import_symbols.count,
            IMPORT_SYMBOL_SIZE,
            "the import symbols",
        )?;
        within(
            length,
            header.export_tables.offset,
            header.export_tables.count,
            EXPORT_TABLE_SIZE,
            "the export tables",
        )?;
        within(
            length,
            header.exports.offset,
            header.exports.count,
            EXPORT_SIZE,
            "the exports",
        )?;
        if header.memory_size > MAX_MEMORY_SIZE || header.content_size > header.memory_size {
            return Err(ImageError::BadHeader("memory size"));
        }
        if !header.align.is_power_of_two() || header.align > MAX_ALIGN {
            return Err(ImageError::BadHeader("alignment"));
        }
        if header.entry >= header.content_size {
            return Err(ImageError::BadHeader("entry"));
        }
        if header.can_unload != NO_FUNCTION && header.can_unload >= header.content_size {
            return Err(ImageError::BadHeader("can_unload"));
        }
        self.string(header.name)
            .ok_or(ImageError::BadString("the module name", 0))?;
        Ok(())
    }

    fn validate_relocations(&self) -> Result<(), ImageError> {
        for index in 0..self.header.relocations.count {
            let relocation = self
                .relocation(index)
                .ok_or(ImageError::BadRelocation(index))?;
            let end = relocation.offset.checked_add(relocation.kind.width());
            let inside = end.is_some_and(|end| end <= self.header.content_size);
            let partner_ok = if relocation.kind.imports() {
                relocation.index < self.header.import_symbols.count
            } else if relocation.kind.completes_high_part() {
                self.relocation(relocation.index)
                    .is_some_and(|high| high.kind == RelocationKind::PcrelHi20Import)
            } else {
                true
            };
            if !inside || !partner_ok {
                return Err(ImageError::BadRelocation(index));
            }
        }
        Ok(())
    }

    fn validate_imports(&self) -> Result<(), ImageError> {
        for index in 0..self.header.import_modules.count {
            let module = self
                .import_module(index)
                .ok_or(ImageError::BadString("import module", index))?;
            let end = module.first_symbol.checked_add(module.symbol_count);
            if end.is_none_or(|end| end > self.header.import_symbols.count) {
                return Err(ImageError::BadImportModule(index));
            }
        }
        for index in 0..self.header.import_symbols.count {
            self.import_symbol(index)
                .ok_or(ImageError::BadString("import symbol", index))?;
        }
        Ok(())
    }

    fn validate_exports(&self) -> Result<(), ImageError> {
        for index in 0..self.header.exports.count {
            let export = self
                .export(index)
                .ok_or(ImageError::BadString("export", index))?;
            if export.offset >= self.header.memory_size {
                return Err(ImageError::BadExport(index));
            }
        }
        for index in 0..self.header.export_tables.count {
            let table = self
                .export_table_at(index)
                .ok_or(ImageError::BadExportTable(index))?;
            let end = table.first.checked_add(table.count);
            if end.is_none_or(|end| end > self.header.exports.count) {
                return Err(ImageError::BadExportTable(index));
            }
            if self
                .export_tables()
                .take(index as usize)
                .any(|earlier| earlier.uuid == table.uuid)
            {
                return Err(ImageError::DuplicateTable(index));
            }
            for (index, export) in (table.first..).zip(table.entries()) {
                let earlier = table.entries().take((index - table.first) as usize);
                if earlier
                    .into_iter()
                    .any(|earlier| earlier.ordinal == export.ordinal)
                {
                    return Err(ImageError::DuplicateOrdinal(index));
                }
            }
        }
        Ok(())
    }
}

impl<'a> ExportTable<'a> {
    /// The table's exports.
    pub fn entries(&self) -> impl Iterator<Item = Export<'a>> + 'a {
        let image = self.image;
        (self.first..self.first + self.count).filter_map(move |index| image.export(index))
    }

    /// The export with `ordinal`.
    pub fn by_ordinal(&self, ordinal: u32) -> Option<Export<'a>> {
        self.entries().find(|export| export.ordinal == ordinal)
    }

    /// The export called `name`.
    pub fn by_name(&self, name: &str) -> Option<Export<'a>> {
        self.entries().find(|export| export.name == name)
    }
}

/// Reads and checks the header's scalar fields.
fn read_header(bytes: &[u8]) -> Result<Header, ImageError> {
    let field = |at| u32_at(bytes, at).ok_or(ImageError::Truncated);
    let table = |at| {
        Ok::<_, ImageError>(Table {
            offset: field(at)?,
            count: field(at + 4)?,
        })
    };
    let version =
        u16::from_le_bytes(array_at(bytes, header::VERSION).ok_or(ImageError::Truncated)?);
    if version != VERSION {
        return Err(ImageError::UnsupportedVersion(version));
    }
    let header_size =
        u16::from_le_bytes(array_at(bytes, header::HEADER_SIZE).ok_or(ImageError::Truncated)?);
    if header_size != HEADER_SIZE {
        return Err(ImageError::BadHeader("header size"));
    }
    if field(header::FLAGS)? != 0 {
        return Err(ImageError::BadHeader("flags"));
    }
    Ok(Header {
        name: (field(header::NAME)?, field(header::NAME + 4)?),
        content_offset: field(header::CONTENT_OFFSET)?,
        content_size: field(header::CONTENT_SIZE)?,
        memory_size: field(header::MEMORY_SIZE)?,
        align: field(header::ALIGN)?,
        entry: field(header::ENTRY)?,
        can_unload: field(header::CAN_UNLOAD)?,
        relocations: table(header::RELOCATIONS)?,
        import_modules: table(header::IMPORT_MODULES)?,
        import_symbols: table(header::IMPORT_SYMBOLS)?,
        export_tables: table(header::EXPORT_TABLES)?,
        exports: table(header::EXPORTS)?,
        strings: table(header::STRINGS)?,
    })
}

/// Checks that `count` records of `size` bytes at `offset` fit in `length`.
fn within(
    length: usize,
    offset: u32,
    count: u32,
    size: usize,
    what: &'static str,
) -> Result<(), ImageError> {
    let bytes = (count as usize).checked_mul(size);
    let end = bytes.and_then(|bytes| bytes.checked_add(offset as usize));
    if end.is_none_or(|end| end > length) {
        return Err(ImageError::OutOfBounds(what));
    }
    Ok(())
}

/// The file offset of record `index` of `table`, if it exists.
fn record(table: Table, index: u32, size: usize) -> Option<usize> {
    (index < table.count).then(|| table.offset as usize + index as usize * size)
}

fn array_at<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    array_at(bytes, at).map(u32::from_le_bytes)
}
