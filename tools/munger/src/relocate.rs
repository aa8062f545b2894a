//! Re-linking the module at offset 0 of its compact layout: every reference
//! between its own sections is recomputed for the new places, and every
//! reference to another module becomes an import relocation for the loader.

use std::collections::{BTreeSet, HashMap};

use anyhow::{Context, Result, anyhow, bail};
use image::def::ModuleDef;
use image::{ImportModuleSpec, Relocation, RelocationKind, riscv};
use object::elf::*;
use object::{
    Object, ObjectSection, ObjectSymbol, RelocationFlags, RelocationTarget, SectionIndex,
};

use crate::layout::Layout;

/// The module's content and what the loader must do to it.
pub struct Linked {
    /// Code and data at their module offsets.
    pub content: Vec<u8>,
    /// Relocations left for the loader.
    pub relocations: Vec<Relocation>,
    /// What the module imports, by module.
    pub imports: Vec<ImportModuleSpec>,
}

/// What a relocation refers to.
#[derive(Clone, Copy)]
enum Target {
    /// A place in this module: its new offset, and the address the ELF
    /// already applied for it (0 in a relocatable object).
    Own { offset: u64, applied: u64 },
    /// Import symbol `index`, plus `addend`.
    Import { index: u32, addend: i64 },
}

/// What the high part of a PC-relative pair at some offset refers to.
#[derive(Clone, Copy)]
enum High {
    Own { target: u64 },
    Import { record: u32 },
}

/// One relocation of the ELF, resolved against the layout.
struct Site {
    r_type: u32,
    /// Module offset of the bytes to patch.
    at: u64,
    target: Target,
    /// For messages: `symbol` at `section+offset`.
    describe: String,
}

/// Re-links `elf` into the compact `layout`; undefined symbols must be
/// exported by one of the tables `module` imports (described by `imported`).
pub fn link(
    elf: &object::File<'_>,
    layout: &Layout,
    module: &ModuleDef,
    imported: &[ModuleDef],
) -> Result<Linked> {
    let content = copy_content(elf, layout)?;
    let imports = resolve_imports(elf, layout, module, imported)?;
    let index: HashMap<&str, u32> = (0..)
        .zip(imports.iter().flat_map(|module| &module.symbols))
        .map(|(index, (_, name))| (name.as_str(), index))
        .collect();
    let sites = sites(elf, layout, &index)?;
    let mut linker = Linker {
        content,
        relocations: Vec::new(),
        highs: HashMap::new(),
    };
    // High parts first: their low parts may come before them in the file.
    for site in sites
        .iter()
        .filter(|site| site.r_type == R_RISCV_PCREL_HI20)
    {
        linker.high_part(site)?;
    }
    for site in sites
        .iter()
        .filter(|site| site.r_type != R_RISCV_PCREL_HI20)
    {
        linker
            .apply(site)
            .with_context(|| format!("{} against {}", type_name(site.r_type), site.describe))?;
    }
    Ok(Linked {
        content: linker.content,
        relocations: linker.relocations,
        imports,
    })
}

/// The content: every kept section with data, at its module offset.
fn copy_content(elf: &object::File<'_>, layout: &Layout) -> Result<Vec<u8>> {
    let mut content = vec![0u8; usize::try_from(layout.content_size)?];
    for section in elf
        .sections()
        .filter(|section| layout.keeps(section.index()))
    {
        let Some(offset) = layout
            .offset_in(section.index(), 0)
            .filter(|&offset| offset < layout.content_size)
        else {
            continue;
        };
        let data = section.data()?;
        let start = usize::try_from(offset)?;
        content[start..start + data.len()].copy_from_slice(data);
    }
    Ok(content)
}

/// Every undefined symbol the kept sections refer to, assigned to the
/// imported export table that provides it.
fn resolve_imports(
    elf: &object::File<'_>,
    layout: &Layout,
    module: &ModuleDef,
    imported: &[ModuleDef],
) -> Result<Vec<ImportModuleSpec>> {
    let mut wanted = BTreeSet::new();
    for section in elf
        .sections()
        .filter(|section| layout.keeps(section.index()))
    {
        for (_, relocation) in section.relocations() {
            if let RelocationTarget::Symbol(index) = relocation.target() {
                let symbol = elf.symbol_by_index(index)?;
                if symbol.is_undefined() {
                    wanted.insert(symbol.name()?.to_owned());
                }
            }
        }
    }
    let mut specs: Vec<ImportModuleSpec> = Vec::new();
    for import in &module.imports {
        let exporter = imported
            .iter()
            .find(|def| def.name == import.module)
            .ok_or_else(|| {
                anyhow!(
                    "{} imports module {}, but no .def for it was given (--import)",
                    module.name,
                    import.module
                )
            })?;
        let table = exporter.export_table(import.uuid).ok_or_else(|| {
            anyhow!(
                "{} imports table {} of {}, which {}.def does not declare",
                module.name,
                import.uuid,
                import.module,
                import.module
            )
        })?;
        let symbols = table
            .symbols
            .iter()
            .filter(|export| wanted.remove(&export.name))
            .map(|export| (export.ordinal, export.name.clone()))
            .collect();
        specs.push(ImportModuleSpec {
            name: import.module.clone(),
            uuid: import.uuid,
            symbols,
        });
    }
    if let Some(symbol) = wanted.first() {
        let tables: Vec<String> = module
            .imports
            .iter()
            .map(|import| format!("{} {}", import.module, import.uuid))
            .collect();
        bail!(
            "undefined symbol `{symbol}` is not exported by any imported table (imports: {})",
            describe_list(&tables)
        );
    }
    specs.retain(|spec| !spec.symbols.is_empty());
    Ok(specs)
}

fn describe_list(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// Every relocation of the kept sections, with its place and target.
fn sites(
    elf: &object::File<'_>,
    layout: &Layout,
    imports: &HashMap<&str, u32>,
) -> Result<Vec<Site>> {
    let mut sites = Vec::new();
    for section in elf
        .sections()
        .filter(|section| layout.keeps(section.index()))
    {
        let section_name = section.name().unwrap_or("?").to_owned();
        for (r_offset, relocation) in section.relocations() {
            let RelocationFlags::Elf { r_type } = relocation.flags() else {
                bail!("{section_name}: a relocation that is not an ELF relocation");
            };
            if matches!(r_type, R_RISCV_NONE | R_RISCV_RELAX | R_RISCV_ALIGN) {
                continue;
            }
            let offset = r_offset - section.address();
            let at = layout
                .offset_in(section.index(), offset)
                .ok_or_else(|| anyhow!("{section_name} is not kept"))?;
            let (target, symbol) = target(
                elf,
                layout,
                imports,
                relocation.target(),
                relocation.addend(),
            )?;
            sites.push(Site {
                r_type,
                at,
                target,
                describe: format!("`{symbol}` at {section_name}+{offset:#x}"),
            });
        }
    }
    Ok(sites)
}

/// What `target` + `addend` refers to, and the symbol's name for messages.
fn target(
    elf: &object::File<'_>,
    layout: &Layout,
    imports: &HashMap<&str, u32>,
    target: RelocationTarget,
    addend: i64,
) -> Result<(Target, String)> {
    let RelocationTarget::Symbol(index) = target else {
        bail!("a relocation without a symbol");
    };
    let symbol = elf.symbol_by_index(index)?;
    let name = symbol.name().unwrap_or_default();
    let name = if name.is_empty() {
        section_name(elf, symbol.section_index())
    } else {
        name.to_owned()
    };
    if symbol.is_undefined() {
        let index = *imports
            .get(name.as_str())
            .ok_or_else(|| anyhow!("`{name}` has no import"))?;
        return Ok((Target::Import { index, addend }, name));
    }
    let Some(section) = symbol.section_index() else {
        bail!(
            "`{name}` is an absolute symbol; a module can only refer to its own sections or to imports"
        );
    };
    let base = layout
        .elf_address(section)
        .ok_or_else(|| anyhow!("`{name}` lies in a section the module does not keep"))?;
    let applied = symbol.address().wrapping_add_signed(addend);
    let offset = layout
        .offset_in(section, symbol.address() - base)
        .map(|offset| offset.wrapping_add_signed(addend));
    Ok((
        Target::Own {
            offset: offset.unwrap_or_default(),
            applied,
        },
        name,
    ))
}

fn section_name(elf: &object::File<'_>, index: Option<SectionIndex>) -> String {
    index
        .and_then(|index| elf.section_by_index(index).ok())
        .and_then(|section| section.name().ok().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// The content being patched and the relocations kept for the loader.
struct Linker {
    content: Vec<u8>,
    relocations: Vec<Relocation>,
    /// Module offset of each `auipc` high part → what it refers to.
    highs: HashMap<u64, High>,
}

impl Linker {
    fn high_part(&mut self, site: &Site) -> Result<()> {
        let high = match site.target {
            Target::Own { offset, .. } => {
                let auipc = self.read_u32(site.at)?;
                ensure_instruction(riscv::is_auipc(auipc), site, "auipc")?;
                let (high, _) = split(offset, site.at)?;
                self.write_u32(site.at, riscv::set_u_immediate(auipc, high))?;
                High::Own { target: offset }
            }
            Target::Import { index, addend } => {
                let record = u32::try_from(self.relocations.len())?;
                self.keep(site.at, RelocationKind::PcrelHi20Import, index, addend)?;
                High::Import { record }
            }
        };
        self.highs.insert(site.at, high);
        Ok(())
    }

    fn apply(&mut self, site: &Site) -> Result<()> {
        let at = site.at;
        match (site.r_type, site.target) {
            (R_RISCV_64, Target::Own { offset, .. }) => {
                self.write(at, &offset.to_le_bytes())?;
                self.keep(at, RelocationKind::Rebase64, 0, 0)
            }
            (R_RISCV_64, Target::Import { index, addend }) => {
                self.keep(at, RelocationKind::Abs64Import, index, addend)
            }
            (R_RISCV_CALL | R_RISCV_CALL_PLT, Target::Own { offset, .. }) => {
                let (auipc, jalr) = (self.read_u32(at)?, self.read_u32(at + 4)?);
                ensure_instruction(
                    riscv::is_auipc(auipc) && riscv::is_jalr(jalr),
                    site,
                    "auipc + jalr",
                )?;
                let (high, low) = split(offset, at)?;
                self.write_u32(at, riscv::set_u_immediate(auipc, high))?;
                self.write_u32(at + 4, riscv::set_i_immediate(jalr, low))
            }
            (R_RISCV_CALL | R_RISCV_CALL_PLT, Target::Import { index, addend }) => {
                self.keep(at, RelocationKind::CallImport, index, addend)
            }
            (R_RISCV_PCREL_LO12_I | R_RISCV_PCREL_LO12_S, Target::Own { offset: label, .. }) => {
                self.low_part(site, label)
            }
            (R_RISCV_32_PCREL, Target::Own { offset, .. }) => {
                let distance = i32::try_from(offset.wrapping_sub(at) as i64)?;
                self.write(at, &distance.to_le_bytes())
            }
            (R_RISCV_BRANCH, Target::Own { offset, .. }) => {
                let word = self.read_u32(at)?;
                self.write_u32(
                    at,
                    riscv::set_b_offset(word, distance(offset, at)).ok_or_else(out_of_range)?,
                )
            }
            (R_RISCV_JAL, Target::Own { offset, .. }) => {
                let word = self.read_u32(at)?;
                self.write_u32(
                    at,
                    riscv::set_j_offset(word, distance(offset, at)).ok_or_else(out_of_range)?,
                )
            }
            (R_RISCV_RVC_BRANCH, Target::Own { offset, .. }) => {
                let half = self.read_u16(at)?;
                self.write(
                    at,
                    &riscv::set_cb_offset(half, distance(offset, at))
                        .ok_or_else(out_of_range)?
                        .to_le_bytes(),
                )
            }
            (R_RISCV_RVC_JUMP, Target::Own { offset, .. }) => {
                let half = self.read_u16(at)?;
                self.write(
                    at,
                    &riscv::set_cj_offset(half, distance(offset, at))
                        .ok_or_else(out_of_range)?
                        .to_le_bytes(),
                )
            }
            (R_RISCV_ADD8..=R_RISCV_SUB64, Target::Own { offset, applied }) => {
                self.adjust(site, offset, applied)
            }
            (_, Target::Import { .. }) => {
                bail!("this relocation type cannot refer to another module")
            }
            _ => bail!("unsupported relocation type {}", site.r_type),
        }
    }

    /// The low 12 bits completing the `auipc` at `label`.
    fn low_part(&mut self, site: &Site, label: u64) -> Result<()> {
        let high = *self
            .highs
            .get(&label)
            .ok_or_else(|| anyhow!("no R_RISCV_PCREL_HI20 at its label"))?;
        let stored = site.r_type == R_RISCV_PCREL_LO12_S;
        match high {
            High::Own { target } => {
                let low = riscv::low_part(distance(target, label));
                let word = self.read_u32(site.at)?;
                let patched = if stored {
                    riscv::set_s_immediate(word, low)
                } else {
                    riscv::set_i_immediate(word, low)
                };
                self.write_u32(site.at, patched)
            }
            High::Import { record } => {
                let kind = if stored {
                    RelocationKind::PcrelLo12SImport
                } else {
                    RelocationKind::PcrelLo12IImport
                };
                self.keep(site.at, kind, record, 0)
            }
        }
    }

    /// `ADDn`/`SUBn`: the field holds a sum the ELF computed with the old
    /// address; move it by how far the target moved.
    fn adjust(&mut self, site: &Site, offset: u64, applied: u64) -> Result<()> {
        let width = match site.r_type {
            R_RISCV_ADD8 | R_RISCV_SUB8 => 1,
            R_RISCV_ADD16 | R_RISCV_SUB16 => 2,
            R_RISCV_ADD32 | R_RISCV_SUB32 => 4,
            _ => 8,
        };
        let moved = offset.wrapping_sub(applied);
        let moved = if site.r_type >= R_RISCV_SUB8 {
            moved.wrapping_neg()
        } else {
            moved
        };
        let mut field = [0u8; 8];
        field[..width].copy_from_slice(self.bytes(site.at, width)?);
        let value = u64::from_le_bytes(field).wrapping_add(moved);
        self.write(site.at, &value.to_le_bytes()[..width])
    }

    fn keep(&mut self, at: u64, kind: RelocationKind, index: u32, addend: i64) -> Result<()> {
        let addend = i32::try_from(addend).context("addend beyond ±2 GiB")?;
        self.relocations.push(Relocation {
            offset: u32::try_from(at)?,
            kind,
            index,
            addend,
        });
        Ok(())
    }

    fn bytes(&self, at: u64, width: usize) -> Result<&[u8]> {
        let start = usize::try_from(at)?;
        self.content
            .get(start..start + width)
            .ok_or_else(|| anyhow!("relocation outside the module's content"))
    }

    fn read_u16(&self, at: u64) -> Result<u16> {
        Ok(u16::from_le_bytes(self.bytes(at, 2)?.try_into()?))
    }

    fn read_u32(&self, at: u64) -> Result<u32> {
        Ok(u32::from_le_bytes(self.bytes(at, 4)?.try_into()?))
    }

    fn write_u32(&mut self, at: u64, value: u32) -> Result<()> {
        self.write(at, &value.to_le_bytes())
    }

    fn write(&mut self, at: u64, bytes: &[u8]) -> Result<()> {
        let start = usize::try_from(at)?;
        let field = self
            .content
            .get_mut(start..start + bytes.len())
            .ok_or_else(|| anyhow!("relocation outside the module's content"))?;
        field.copy_from_slice(bytes);
        Ok(())
    }
}

fn distance(target: u64, place: u64) -> i64 {
    target.wrapping_sub(place) as i64
}

fn split(target: u64, place: u64) -> Result<(i32, i32)> {
    riscv::split_pcrel(distance(target, place)).ok_or_else(out_of_range)
}

fn out_of_range() -> anyhow::Error {
    anyhow!("the target is out of the instruction's reach")
}

fn ensure_instruction(ok: bool, site: &Site, expected: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        bail!(
            "{} against {} does not sit on {expected}",
            type_name(site.r_type),
            site.describe
        )
    }
}

/// The name of a RISC-V relocation type, for messages.
pub fn type_name(r_type: u32) -> String {
    let name = match r_type {
        R_RISCV_32 => "R_RISCV_32",
        R_RISCV_64 => "R_RISCV_64",
        R_RISCV_BRANCH => "R_RISCV_BRANCH",
        R_RISCV_JAL => "R_RISCV_JAL",
        R_RISCV_CALL => "R_RISCV_CALL",
        R_RISCV_CALL_PLT => "R_RISCV_CALL_PLT",
        R_RISCV_GOT_HI20 => "R_RISCV_GOT_HI20",
        R_RISCV_PCREL_HI20 => "R_RISCV_PCREL_HI20",
        R_RISCV_PCREL_LO12_I => "R_RISCV_PCREL_LO12_I",
        R_RISCV_PCREL_LO12_S => "R_RISCV_PCREL_LO12_S",
        R_RISCV_HI20 => "R_RISCV_HI20",
        R_RISCV_LO12_I => "R_RISCV_LO12_I",
        R_RISCV_LO12_S => "R_RISCV_LO12_S",
        R_RISCV_RVC_BRANCH => "R_RISCV_RVC_BRANCH",
        R_RISCV_RVC_JUMP => "R_RISCV_RVC_JUMP",
        R_RISCV_32_PCREL => "R_RISCV_32_PCREL",
        R_RISCV_ADD8..=R_RISCV_SUB64 => "R_RISCV_ADD/SUB",
        _ => return format!("relocation type {r_type}"),
    };
    name.to_owned()
}
