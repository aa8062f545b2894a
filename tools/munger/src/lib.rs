//! Tessera's post-link tool: turns a component's ELF and `.def` into a compact component image.
//!
//! The component is linked by rust-lld as usual (page-aligned segments,
//! linker relaxation off, `--emit-relocs` so every relocation survives, and
//! undefined symbols left for us). The munger then:
//!
//! 1. packs the allocated sections back to back ([`layout`]), dropping
//!    what nothing reads at run time (`.eh_frame`: panics abort);
//! 2. re-links every reference between the module's own sections for the new
//!    places, and keeps for the loader only what depends on where the module
//!    lands (64-bit addresses) or on other modules (imports);
//! 3. turns each undefined symbol into an import by (module, export-table
//!    UUID, ordinal), looking the ordinal up in the exporter's `.def`, and
//!    refuses any undefined symbol no imported table explains;
//! 4. writes the export tables the module's `.def` declares, and the entry
//!    (`tessera_entry`) and unload check (`tessera_can_unload`).
//!
//! Depends on `object` (ELF), `image` (the format and `.def` files), `com`
//! and `anyhow`; its command line also on `signing`, to sign what it
//! writes. xtask runs it on every component (and signs the images itself).

mod layout;
mod relocate;

use std::collections::HashMap;

use anyhow::{Context, Result, anyhow, bail};
use image::def::ModuleDef;
use image::{ExportTableSpec, ImageBuilder};
use object::{Architecture, Object, ObjectSection, ObjectSymbol, SectionIndex};

pub use layout::Layout;

/// The symbol every component's entry point has.
pub const ENTRY_SYMBOL: &str = "tessera_entry";
/// The symbol of a component's "can unload now" check.
pub const CAN_UNLOAD_SYMBOL: &str = "tessera_can_unload";

/// A component image and what went into it.
pub struct Munged {
    /// The image's bytes.
    pub image: Vec<u8>,
    /// Figures for the report.
    pub report: Report,
}

/// What the munger did, in numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Page-aligned span of the ELF's loadable sections (0 for an object file).
    pub elf_span: u64,
    /// Bytes the module occupies once loaded.
    pub memory_size: u64,
    /// Relocations left for the loader.
    pub relocations: usize,
    /// Imported symbols.
    pub imports: usize,
    /// Exported symbols, over all tables.
    pub exports: usize,
}

/// Munges `elf` for `module`; `imported` are the `.def`s of the modules it
/// imports from (the kernel's included).
pub fn munge(elf: &[u8], module: &ModuleDef, imported: &[ModuleDef]) -> Result<Munged> {
    let elf = object::File::parse(elf).context("reading the ELF")?;
    if elf.architecture() != Architecture::Riscv64 || !elf.is_little_endian() {
        bail!("the ELF is not little-endian 64-bit RISC-V");
    }
    let layout = Layout::of(&elf, module.paged)?;
    let linked = relocate::link(&elf, &layout, module, imported)?;
    let symbols = defined_symbols(&elf, &layout);
    let offset_of = |name: &str| symbols.get(name).copied();
    let entry = offset_of(ENTRY_SYMBOL)
        .ok_or_else(|| anyhow!("the module has no entry point `{ENTRY_SYMBOL}`"))?;
    let exports = module
        .exports
        .iter()
        .map(|table| {
            let exports = table
                .symbols
                .iter()
                .map(|export| {
                    let offset = offset_of(&export.name).ok_or_else(|| {
                        anyhow!(
                            "exported symbol `{}` is not defined in the module",
                            export.name
                        )
                    })?;
                    Ok((export.ordinal, export.name.clone(), offset))
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(ExportTableSpec {
                uuid: table.uuid,
                exports,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let report = Report {
        elf_span: layout.elf_span,
        memory_size: layout.memory_size,
        relocations: linked.relocations.len(),
        imports: linked
            .imports
            .iter()
            .map(|module| module.symbols.len())
            .sum(),
        exports: exports.iter().map(|table| table.exports.len()).sum(),
    };
    let builder = ImageBuilder {
        name: module.name.clone(),
        content: linked.content,
        memory_size: u32::try_from(layout.memory_size)
            .context("the module is larger than 4 GiB")?,
        text_size: u32::try_from(layout.text_size).context("the code")?,
        read_only_end: u32::try_from(layout.read_only_end).context("the read-only data")?,
        align: u32::try_from(layout.align).context("alignment")?,
        entry,
        can_unload: offset_of(CAN_UNLOAD_SYMBOL),
        relocations: linked.relocations,
        imports: linked.imports,
        exports,
        paged: module.paged,
    };
    let image = builder.build();
    image::Image::parse(&image)
        .map_err(|error| anyhow!("the munger wrote an invalid image: {error}"))?;
    Ok(Munged { image, report })
}

/// Every named symbol defined in a kept section → its module offset.
fn defined_symbols(elf: &object::File<'_>, layout: &Layout) -> HashMap<String, u32> {
    let mut symbols = HashMap::new();
    for symbol in elf.symbols().filter(|symbol| !symbol.is_undefined()) {
        let (Ok(name), Some(section)) = (symbol.name(), symbol.section_index()) else {
            continue;
        };
        if let Some(offset) = module_offset(elf, layout, section, symbol.address()) {
            symbols.insert(name.to_owned(), offset);
        }
    }
    symbols
}

fn module_offset(
    elf: &object::File<'_>,
    layout: &Layout,
    section: SectionIndex,
    address: u64,
) -> Option<u32> {
    let base = elf.section_by_index(section).ok()?.address();
    u32::try_from(layout.offset_in(section, address.checked_sub(base)?)?).ok()
}
