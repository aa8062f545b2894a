//! Reading an image: validation first, then accessors that only touch
//! fields the validation has checked.

use com::Guid;

use crate::format::{
    EXPORT_SIZE, EXPORT_TABLE_SIZE, HEADER_SIZE, IMPORT_MODULE_SIZE, IMPORT_SYMBOL_SIZE, MAX_ALIGN,
    MAX_EXPORT_TABLES, MAX_MEMORY_SIZE, NO_FUNCTION, PAGE_SIZE, RELOCATION_SIZE, RelocationKind,
    flags, header,
};
use crate::signature::signature_section;
use crate::{ImageError, RangeError};

/// A table's place in the file: `count` records of `size` bytes at `offset`.
#[derive(Clone, Copy, Debug, Default)]
struct Table {
    offset: u32,
    count: u32,
}

/// The header's numbers, once validated.
#[derive(Clone, Copy, Debug, Default)]
struct Header {
    flags: u32,
    name: (u32, u32),
    content_offset: u32,
    content_size: u32,
    memory_size: u32,
    align: u32,
    entry: u32,
    can_unload: u32,
    text_size: u32,
    read_only_end: u32,
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
    /// The string table, checked to be UTF-8 as a whole when parsing, so
    /// that reading a string is a bounds check, not a decode.
    strings: &'a str,
    validation_steps: u64,
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
    exports: Exports<'a>,
    first: u32,
    count: u32,
}

/// What reading exports needs of an image: small, so the tables and
/// iterators that carry it are cheap to copy (the whole `Image` is not).
#[derive(Clone, Copy, Debug)]
struct Exports<'a> {
    bytes: &'a [u8],
    exports: Table,
    strings: &'a str,
}

impl<'a> Exports<'a> {
    fn export(&self, index: u32) -> Option<Export<'a>> {
        let at = record(self.exports, index, EXPORT_SIZE)?;
        Some(Export {
            ordinal: u32_at(self.bytes, at)?,
            offset: u32_at(self.bytes, at + 4)?,
            name: string_in(self.strings, pair_at(self.bytes, at + 8)?)?,
        })
    }

    fn ordinal(&self, index: u32) -> Option<u32> {
        u32_at(self.bytes, record(self.exports, index, EXPORT_SIZE)?)
    }
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
    /// Checks every field of `bytes` and returns the image. The signature
    /// section must be there and well formed (see
    /// [`crate::signature_section`]); whether it is a good signature is for
    /// the `signing` crate to say.
    pub fn parse(bytes: &'a [u8]) -> Result<Image<'a>, ImageError> {
        let bytes = signature_section(bytes)?.body;
        let header = read_header(bytes)?;
        let image = Image {
            bytes,
            header,
            strings: "",
            validation_steps: 0,
        };
        Validator::new(image).run()
    }

    /// The work [`Image::parse`] did on this image: records read,
    /// comparisons made and string bytes checked. It grows linearly with
    /// the image's size, whatever the image holds; tests hold the reader
    /// to that.
    pub fn validation_steps(&self) -> u64 {
        self.validation_steps
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

    /// Bytes of code at the start of the module: `[0, text_size)` is
    /// executable and never written.
    pub fn text_size(&self) -> u32 {
        self.header.text_size
    }

    /// True when the image is laid out page by page (`flags::PAGED`): each
    /// section starts on a page, so it can be mapped with its permissions.
    pub fn is_paged(&self) -> bool {
        self.header.flags & flags::PAGED != 0
    }

    /// Where read-only data ends: `[text_size, read_only_end)` is read-only
    /// data, and from here on the module's memory is writable data (the
    /// content's rest, then the zeroed tail).
    pub fn read_only_end(&self) -> u32 {
        self.header.read_only_end
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
        // One bounds check for the record (applying relocations reads
        // every one of them, so this is on the load path).
        let record: [u8; RELOCATION_SIZE] = array_at(self.bytes, at)?;
        let word = |at: usize| [record[at], record[at + 1], record[at + 2], record[at + 3]];
        Some(Relocation {
            offset: u32::from_le_bytes(word(0)),
            kind: RelocationKind::from_code(record[4])?,
            index: u32::from_le_bytes(word(8)),
            addend: i32::from_le_bytes(word(12)),
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
        let (first_symbol, symbol_count) = self.pair_at(at + 24)?;
        Some(ImportModule {
            uuid: Guid(array_at(self.bytes, at)?),
            name: self.string(self.pair_at(at + 16)?)?,
            first_symbol,
            symbol_count,
        })
    }

    /// The ordinal of import symbol `index` (what binding needs; its name
    /// is only for messages).
    pub fn import_ordinal(&self, index: u32) -> Option<u32> {
        u32_at(
            self.bytes,
            record(self.header.import_symbols, index, IMPORT_SYMBOL_SIZE)?,
        )
    }

    /// Import symbol `index`.
    pub fn import_symbol(&self, index: u32) -> Option<ImportSymbol<'a>> {
        let at = record(self.header.import_symbols, index, IMPORT_SYMBOL_SIZE)?;
        Some(ImportSymbol {
            ordinal: u32_at(self.bytes, at)?,
            name: self.string(self.pair_at(at + 4)?)?,
        })
    }

    /// How many import symbols the image has.
    pub fn import_symbol_count(&self) -> u32 {
        self.header.import_symbols.count
    }

    /// The import module that import symbol `symbol` belongs to.
    pub fn module_of_symbol(&self, symbol: u32) -> Option<ImportModule<'a>> {
        // Validation made the modules' ranges follow one another in order,
        // so the last module starting at or before `symbol` is the only one
        // that can hold it.
        let starting_after = partition_point(self.header.import_modules.count, |index| {
            self.import_range(index)
                .is_some_and(|(first, _)| first <= symbol)
        });
        let module = self.import_module(starting_after.checked_sub(1)?)?;
        (symbol - module.first_symbol < module.symbol_count).then_some(module)
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
        let (first, count) = self.pair_at(at + 16)?;
        Some(ExportTable {
            uuid: Guid(array_at(self.bytes, at)?),
            exports: Exports {
                bytes: self.bytes,
                exports: self.header.exports,
                strings: self.strings,
            },
            first,
            count,
        })
    }

    /// Import module `index`'s `(first symbol, symbol count)`.
    fn import_range(&self, index: u32) -> Option<(u32, u32)> {
        self.pair_at(record(self.header.import_modules, index, IMPORT_MODULE_SIZE)? + 24)
    }

    /// Export table `index`'s `(first export, export count)`.
    fn export_range(&self, index: u32) -> Option<(u32, u32)> {
        self.pair_at(record(self.header.export_tables, index, EXPORT_TABLE_SIZE)? + 16)
    }

    /// The pair of `u32`s at file offset `at`: a `(first, count)` range,
    /// a string's `(offset, length)`, or an export's `(ordinal, offset)`.
    fn pair_at(&self, at: usize) -> Option<(u32, u32)> {
        pair_at(self.bytes, at)
    }

    /// The non-empty UTF-8 string at `(offset, length)` of the string table.
    fn string(&self, field: (u32, u32)) -> Option<&'a str> {
        string_in(self.strings, field)
    }
}

/// The non-empty string at `(offset, length)` of the string table `strings`
/// (`None` outside it, or not on character boundaries).
fn string_in(strings: &str, (offset, length): (u32, u32)) -> Option<&str> {
    let end = offset.checked_add(length)?;
    if length == 0 {
        return None;
    }
    strings.get(offset as usize..end as usize)
}

/// The two little-endian words at `at`.
fn pair_at(bytes: &[u8], at: usize) -> Option<(u32, u32)> {
    Some((u32_at(bytes, at)?, u32_at(bytes, at + 4)?))
}

impl<'a> ExportTable<'a> {
    /// The table's exports, by ascending ordinal.
    pub fn entries(&self) -> impl Iterator<Item = Export<'a>> + 'a {
        let exports = self.exports;
        (self.first..self.first + self.count).filter_map(move |index| exports.export(index))
    }

    /// The export with `ordinal`.
    pub fn by_ordinal(&self, ordinal: u32) -> Option<Export<'a>> {
        // Validation made the ordinals ascend.
        let above = partition_point(self.count, |offset| {
            self.exports
                .ordinal(self.first + offset)
                .is_some_and(|candidate| candidate <= ordinal)
        });
        let export = self.exports.export(self.first + above.checked_sub(1)?)?;
        (export.ordinal == ordinal).then_some(export)
    }

    /// The export called `name`; of several, the one with the lowest
    /// ordinal.
    pub fn by_name(&self, name: &str) -> Option<Export<'a>> {
        self.entries().find(|export| export.name == name)
    }
}

/// Validation in progress: the image and the work counted so far.
struct Validator<'a> {
    image: Image<'a>,
    /// Records read, comparisons made and string bytes checked.
    steps: u64,
    /// The lengths of the strings checked so far, added up.
    string_bytes: u64,
}

impl<'a> Validator<'a> {
    fn new(image: Image<'a>) -> Validator<'a> {
        Validator {
            image,
            steps: 0,
            string_bytes: 0,
        }
    }

    /// Checks everything the accessors rely on; returns the image with its
    /// string table and the steps taken.
    fn run(mut self) -> Result<Image<'a>, ImageError> {
        self.layout()?;
        self.string_table()?;
        self.header_fields()?;
        self.relocations()?;
        self.imports()?;
        self.exports()?;
        Ok(Image {
            validation_steps: self.steps,
            ..self.image
        })
    }

    /// The string table is UTF-8 as a whole (strings then begin and end on
    /// character boundaries, which reading one checks).
    fn string_table(&mut self) -> Result<(), ImageError> {
        let strings = self.image.header.strings;
        let start = strings.offset as usize;
        let bytes = self
            .image
            .bytes
            .get(start..start + strings.count as usize)
            .ok_or(ImageError::BadString("the string table", 0))?;
        self.steps += u64::from(strings.count);
        self.image.strings = core::str::from_utf8(bytes)
            .map_err(|_| ImageError::BadString("the string table", 0))?;
        Ok(())
    }

    /// The header, the content, the tables and the strings lie inside the
    /// file, each in bytes of its own.
    fn layout(&mut self) -> Result<(), ImageError> {
        let regions = regions(&self.image.header);
        let mut spans = [(0, 0); 8];
        for ((what, offset, count, size), span) in regions.into_iter().zip(&mut spans) {
            *span = within(self.image.bytes.len(), offset, count, size, what)?;
        }
        for (index, &(start, end)) in spans.iter().enumerate() {
            for (other, &(other_start, other_end)) in spans.iter().enumerate().skip(index + 1) {
                self.steps += 1;
                let empty = start == end || other_start == other_end;
                if !empty && start < other_end && other_start < end {
                    return Err(ImageError::Overlap(regions[index].0, regions[other].0));
                }
            }
        }
        Ok(())
    }

    fn header_fields(&mut self) -> Result<(), ImageError> {
        let header = self.image.header;
        if header.memory_size > MAX_MEMORY_SIZE || header.content_size > header.memory_size {
            return Err(ImageError::BadHeader("memory size"));
        }
        if !header.align.is_power_of_two() || header.align > MAX_ALIGN {
            return Err(ImageError::BadHeader("alignment"));
        }
        if header.text_size > header.read_only_end || header.read_only_end > header.content_size {
            return Err(ImageError::BadHeader("section ends"));
        }
        if header.flags & flags::PAGED != 0
            && (header.align != PAGE_SIZE
                || !header.text_size.is_multiple_of(PAGE_SIZE)
                || !header.read_only_end.is_multiple_of(PAGE_SIZE))
        {
            return Err(ImageError::BadHeader("paged section ends"));
        }
        if header.entry >= header.text_size {
            return Err(ImageError::BadHeader("entry"));
        }
        if header.can_unload != NO_FUNCTION && header.can_unload >= header.text_size {
            return Err(ImageError::BadHeader("can_unload"));
        }
        if header.export_tables.count > MAX_EXPORT_TABLES {
            return Err(ImageError::BadHeader("export table count"));
        }
        self.string(header.name, "the module name", 0)
    }

    fn relocations(&mut self) -> Result<(), ImageError> {
        let header = self.image.header;
        for index in 0..header.relocations.count {
            self.steps += 1;
            let relocation = self
                .image
                .relocation(index)
                .ok_or(ImageError::BadRelocation(index))?;
            let end = relocation.offset.checked_add(relocation.kind.width());
            let inside = end.is_some_and(|end| end <= header.content_size);
            let partner_ok = if relocation.kind.imports() {
                relocation.index < header.import_symbols.count
            } else if relocation.kind.completes_high_part() {
                self.image
                    .relocation(relocation.index)
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

    /// Every import symbol belongs to exactly one import module: the loader
    /// binds a symbol through its module, and one without would be left
    /// at address 0.
    fn imports(&mut self) -> Result<(), ImageError> {
        let (image, header) = (self.image, self.image.header);
        for index in 0..header.import_modules.count {
            self.steps += 1;
            let name = record(header.import_modules, index, IMPORT_MODULE_SIZE)
                .and_then(|at| image.pair_at(at + 16));
            self.string(name.unwrap_or_default(), "import module", index)?;
        }
        check_ranges(
            header.import_modules.count,
            header.import_symbols.count,
            |index| image.import_range(index),
            &mut self.steps,
        )
        .map_err(ImageError::ImportModules)?;
        for index in 0..header.import_symbols.count {
            self.steps += 1;
            let name = record(header.import_symbols, index, IMPORT_SYMBOL_SIZE)
                .and_then(|at| image.pair_at(at + 4));
            self.string(name.unwrap_or_default(), "import symbol", index)?;
        }
        Ok(())
    }

    /// Every export belongs to exactly one table, points inside the
    /// module's memory and has a higher ordinal than the one before it in
    /// its table; no two tables share a UUID.
    fn exports(&mut self) -> Result<(), ImageError> {
        let (image, header) = (self.image, self.image.header);
        check_ranges(
            header.export_tables.count,
            header.exports.count,
            |index| image.export_range(index),
            &mut self.steps,
        )
        .map_err(ImageError::ExportTables)?;
        for (index, table) in (0..).zip(image.export_tables()) {
            // At most MAX_EXPORT_TABLES², a constant.
            for earlier in image.export_tables().take(index as usize) {
                self.steps += 1;
                if earlier.uuid == table.uuid {
                    return Err(ImageError::DuplicateTable(index));
                }
            }
            let mut previous = None;
            for export in table.first..table.first + table.count {
                previous = Some(self.export(export, previous)?);
            }
        }
        Ok(())
    }

    /// Checks export `index`, which follows an export with ordinal
    /// `previous` in its table (if any); returns its ordinal.
    fn export(&mut self, index: u32, previous: Option<u32>) -> Result<u32, ImageError> {
        self.steps += 1;
        let at = record(self.image.header.exports, index, EXPORT_SIZE);
        let name = at.and_then(|at| self.image.pair_at(at + 8));
        self.string(name.unwrap_or_default(), "export", index)?;
        let (ordinal, offset) = at
            .and_then(|at| self.image.pair_at(at))
            .ok_or(ImageError::BadExport(index))?;
        if offset >= self.image.header.memory_size {
            return Err(ImageError::BadExport(index));
        }
        match previous.map(|previous| ordinal.cmp(&previous)) {
            Some(core::cmp::Ordering::Equal) => Err(ImageError::DuplicateOrdinal(index)),
            Some(core::cmp::Ordering::Less) => Err(ImageError::UnsortedOrdinal(index)),
            _ => Ok(ordinal),
        }
    }

    /// Checks the string `field` of `what` number `index`: inside the
    /// string table, non-empty, UTF-8, and not taking the strings' total
    /// length past the table's size — so reading every string costs no
    /// more than the table's size, however records point into it.
    fn string(
        &mut self,
        field: (u32, u32),
        what: &'static str,
        index: u32,
    ) -> Result<(), ImageError> {
        self.image
            .string(field)
            .ok_or(ImageError::BadString(what, index))?;
        self.steps += u64::from(field.1);
        self.string_bytes += u64::from(field.1);
        if self.string_bytes > u64::from(self.image.header.strings.count) {
            return Err(ImageError::ReusedString(what, index));
        }
        Ok(())
    }
}

/// The parts of the file, as `(what, offset, count, record size)`.
fn regions(header: &Header) -> [(&'static str, u32, u32, usize); 8] {
    [
        ("the header", 0, 1, usize::from(HEADER_SIZE)),
        ("the content", header.content_offset, header.content_size, 1),
        (
            "the string table",
            header.strings.offset,
            header.strings.count,
            1,
        ),
        (
            "the relocation table",
            header.relocations.offset,
            header.relocations.count,
            RELOCATION_SIZE,
        ),
        (
            "the import modules",
            header.import_modules.offset,
            header.import_modules.count,
            IMPORT_MODULE_SIZE,
        ),
        (
            "the import symbols",
            header.import_symbols.offset,
            header.import_symbols.count,
            IMPORT_SYMBOL_SIZE,
        ),
        (
            "the export tables",
            header.export_tables.offset,
            header.export_tables.count,
            EXPORT_TABLE_SIZE,
        ),
        (
            "the exports",
            header.exports.offset,
            header.exports.count,
            EXPORT_SIZE,
        ),
    ]
}

/// Checks that `groups` ranges, `(first, count)` each as `range` reads
/// them, share out the items `0..items`: each starts where the one before
/// it ends, the first at 0, the last ends at `items`. Takes one step per
/// group, and as many again to name the fault when there is one.
fn check_ranges(
    groups: u32,
    items: u32,
    range: impl Fn(u32) -> Option<(u32, u32)>,
    steps: &mut u64,
) -> Result<(), RangeError> {
    // Groups 0..group claim exactly the items 0..next.
    let mut next = 0;
    for group in 0..groups {
        *steps += 1;
        let (first, count) = range(group).ok_or(RangeError::PastEnd(group))?;
        let end = first
            .checked_add(count)
            .filter(|&end| end <= items)
            .ok_or(RangeError::PastEnd(group))?;
        if first < next && count > 0 {
            return Err(RangeError::Shared { item: first, group });
        }
        if first > next {
            // Item `next` is unclaimed unless a later group, out of order,
            // has it.
            let claimed_later = (group + 1..groups).any(|later| {
                *steps += 1;
                range(later).is_some_and(|(first, count)| first <= next && next - first < count)
            });
            return Err(if claimed_later {
                RangeError::OutOfOrder(group)
            } else {
                RangeError::Unclaimed(next)
            });
        }
        if first != next {
            // An empty group, out of place.
            return Err(RangeError::OutOfOrder(group));
        }
        next = end;
    }
    if next < items {
        return Err(RangeError::Unclaimed(next));
    }
    Ok(())
}

/// The first of `0..count` for which `below` is false, when it is true
/// for a prefix and false after it (a binary search).
fn partition_point(count: u32, below: impl Fn(u32) -> bool) -> u32 {
    let (mut low, mut high) = (0, count);
    while low < high {
        let middle = low + (high - low) / 2;
        if below(middle) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    low
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
    let header_size =
        u16::from_le_bytes(array_at(bytes, header::HEADER_SIZE).ok_or(ImageError::Truncated)?);
    if header_size != HEADER_SIZE {
        return Err(ImageError::BadHeader("header size"));
    }
    let flags = field(header::FLAGS)?;
    if flags & !flags::KNOWN != 0 {
        return Err(ImageError::BadHeader("flags"));
    }
    Ok(Header {
        flags,
        name: (field(header::NAME)?, field(header::NAME + 4)?),
        content_offset: field(header::CONTENT_OFFSET)?,
        content_size: field(header::CONTENT_SIZE)?,
        memory_size: field(header::MEMORY_SIZE)?,
        align: field(header::ALIGN)?,
        entry: field(header::ENTRY)?,
        can_unload: field(header::CAN_UNLOAD)?,
        text_size: field(header::TEXT_SIZE)?,
        read_only_end: field(header::READ_ONLY_END)?,
        relocations: table(header::RELOCATIONS)?,
        import_modules: table(header::IMPORT_MODULES)?,
        import_symbols: table(header::IMPORT_SYMBOLS)?,
        export_tables: table(header::EXPORT_TABLES)?,
        exports: table(header::EXPORTS)?,
        strings: table(header::STRINGS)?,
    })
}

/// Checks that `count` records of `size` bytes at `offset` fit in `length`;
/// returns the byte span they take.
fn within(
    length: usize,
    offset: u32,
    count: u32,
    size: usize,
    what: &'static str,
) -> Result<(usize, usize), ImageError> {
    let start = offset as usize;
    let end = (count as usize)
        .checked_mul(size)
        .and_then(|bytes| bytes.checked_add(start))
        .filter(|&end| end <= length)
        .ok_or(ImageError::OutOfBounds(what))?;
    Ok((start, end))
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
