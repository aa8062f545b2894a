//! What a module keeps of its image once loaded: its name, where it came
//! from, its arguments and its export tables — in three heap blocks
//! whatever the number of exports, since each block is a cost to load and
//! to unload.

use alloc::collections::TryReserveError;
use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

use com::{Guid, Result, Status};
use image::Image;

/// A module's records.
pub struct Records {
    /// The name, the location and the arguments, then every export's name.
    text: String,
    name: Range<usize>,
    location: Range<usize>,
    arguments: Range<usize>,
    /// The export tables, in the image's order.
    tables: Vec<ExportTable>,
    /// Every table's exports, table after table.
    exports: Vec<Export>,
}

/// One export table: its UUID and where its exports are in `exports`.
struct ExportTable {
    uuid: Guid,
    exports: Range<usize>,
}

/// One export: its ordinal, where its name is in `text`, its offset in the
/// module.
struct Export {
    ordinal: u32,
    name: Range<usize>,
    offset: u32,
}

/// Which export of a table is wanted.
pub enum Wanted<'a> {
    Ordinal(u32),
    Name(&'a str),
}

impl Records {
    /// The records of `image`, loaded from `location` with `arguments`.
    pub fn new(
        image: &Image<'_>,
        location: &str,
        arguments: &str,
    ) -> core::result::Result<Records, TryReserveError> {
        let (mut table_count, mut export_count, mut names) = (0, 0, 0);
        for table in image.export_tables() {
            table_count += 1;
            for export in table.entries() {
                export_count += 1;
                names += export.name.len();
            }
        }
        let mut text = String::new();
        text.try_reserve_exact(image.name().len() + location.len() + arguments.len() + names)?;
        let mut tables = Vec::new();
        tables.try_reserve_exact(table_count)?;
        let mut exports = Vec::new();
        exports.try_reserve_exact(export_count)?;
        let name = append(&mut text, image.name());
        let location = append(&mut text, location);
        let arguments = append(&mut text, arguments);
        for table in image.export_tables() {
            let first = exports.len();
            for export in table.entries() {
                let name = append(&mut text, export.name);
                exports.push(Export {
                    ordinal: export.ordinal,
                    name,
                    offset: export.offset,
                });
            }
            tables.push(ExportTable {
                uuid: table.uuid,
                exports: first..exports.len(),
            });
        }
        Ok(Records {
            text,
            name,
            location,
            arguments,
            tables,
            exports,
        })
    }

    /// The module's name (from its image).
    pub fn name(&self) -> &str {
        self.text(&self.name)
    }

    /// Where the image came from.
    pub fn location(&self) -> &str {
        self.text(&self.location)
    }

    /// What it was loaded with.
    pub fn arguments(&self) -> &str {
        self.text(&self.arguments)
    }

    /// The offset of the `wanted` export of table `uuid` (the nil UUID asks
    /// every table, in order); `NOT_SUPPORTED` when the module has no such
    /// table.
    pub fn export_offset(&self, uuid: Guid, wanted: Wanted<'_>) -> Result<u32> {
        let any = uuid == Guid::default();
        let mut tables = self
            .tables
            .iter()
            .filter(|table| any || table.uuid == uuid)
            .peekable();
        if tables.peek().is_none() {
            return Err(Status::NOT_SUPPORTED);
        }
        tables
            .flat_map(|table| self.exports.get(table.exports.clone()).unwrap_or_default())
            .find(|export| match wanted {
                Wanted::Ordinal(ordinal) => export.ordinal == ordinal,
                Wanted::Name(name) => self.text(&export.name) == name,
            })
            .map(|export| export.offset)
            .ok_or(Status::NOT_FOUND)
    }

    fn text(&self, range: &Range<usize>) -> &str {
        self.text.get(range.clone()).unwrap_or_default()
    }
}

/// Appends `part` to `text` (which has room for it); returns where it is.
fn append(text: &mut String, part: &str) -> Range<usize> {
    let start = text.len();
    text.push_str(part);
    start..text.len()
}
