//! The compact layout: which ELF sections the module keeps and where each
//! lands when they are packed back to back — code first, then read-only
//! data, then writable data, then zeroed data, so that two offsets tell
//! what may be executed, what only read, and what written. A paged layout
//! (`layout paged` in the `.def`) starts the read-only data and the data
//! each on a page, so that every page holds one kind and can be mapped
//! with its permissions.

use std::collections::HashMap;

use anyhow::{Result, bail};
use object::{Object, ObjectSection, SectionFlags, SectionIndex, SectionKind};

/// Sections nothing reads at run time (unwinding is off: panics abort).
const DROPPED: &[&str] = &[".eh_frame", ".eh_frame_hdr"];
/// The largest page the ELF span is measured in.
const PAGE: u64 = 4096;

/// Where each kept section was in the ELF and where it goes in the module.
pub struct Layout {
    /// Kept section → (its address in the ELF, its offset in the module).
    places: HashMap<SectionIndex, (u64, u64)>,
    /// Bytes of content (sections with data), then of memory (with zeroed ones).
    pub content_size: u64,
    /// Content plus zero-initialized sections.
    pub memory_size: u64,
    /// Where the code ends (it starts the module).
    pub text_size: u64,
    /// Where the read-only data after the code ends.
    pub read_only_end: u64,
    /// The largest alignment a kept section asks for.
    pub align: u64,
    /// The page-aligned span the ELF's loadable sections cover (0 for a
    /// relocatable object, which has no addresses).
    pub elf_span: u64,
}

impl Layout {
    /// Lays out the allocated sections of `elf` by what they allow — code,
    /// read-only data, writable data, zero-initialized data — each group
    /// in address order; with `paged`, each of the first three groups
    /// starts on a page.
    pub fn of(elf: &object::File<'_>, paged: bool) -> Result<Layout> {
        let mut kept = Vec::new();
        for section in elf.sections() {
            let name = section.name().unwrap_or_default();
            if !is_allocated(&section) || section.size() == 0 || DROPPED.contains(&name) {
                continue;
            }
            if matches!(
                section.kind(),
                SectionKind::Tls | SectionKind::UninitializedTls
            ) {
                bail!("section {name} holds thread-local data, which components cannot have");
            }
            kept.push((
                permission_class(&section),
                section.address(),
                section.index(),
            ));
        }
        kept.sort_by_key(|&(class, address, index)| (class, address, index.0));
        let mut layout = Layout {
            places: HashMap::new(),
            content_size: 0,
            memory_size: 0,
            text_size: 0,
            read_only_end: 0,
            align: 8,
            elf_span: elf_span(elf),
        };
        let mut previous = Class::Code;
        for &(class, address, index) in &kept {
            let section = elf.section_by_index(index)?;
            let mut align = section.align().max(1);
            if paged && class != previous && previous <= Class::ReadOnly {
                // The first section past the code, or past the read-only
                // data, starts a page.
                align = align.max(PAGE);
            }
            previous = class;
            let offset = layout.memory_size.next_multiple_of(align);
            layout.places.insert(index, (address, offset));
            layout.memory_size = offset + section.size();
            layout.align = layout.align.max(align);
            if class == Class::Code {
                layout.text_size = layout.memory_size;
            }
            if class <= Class::ReadOnly {
                layout.read_only_end = layout.memory_size;
            }
            if class != Class::Zeroed {
                layout.content_size = layout.memory_size;
            }
        }
        layout.read_only_end = layout.read_only_end.max(layout.text_size);
        if paged {
            // The padding after the code and after the read-only data
            // belongs to them, and is content (zeros) so that the section
            // ends lie inside it.
            layout.text_size = layout.text_size.next_multiple_of(PAGE);
            layout.read_only_end = layout.read_only_end.next_multiple_of(PAGE);
            layout.content_size = layout.content_size.max(layout.read_only_end);
            layout.memory_size = layout.memory_size.max(layout.content_size);
            layout.align = PAGE;
        }
        Ok(layout)
    }

    /// The module offset of `offset` bytes into `section`, if it is kept.
    pub fn offset_in(&self, section: SectionIndex, offset: u64) -> Option<u64> {
        self.places.get(&section).map(|&(_, start)| start + offset)
    }

    /// The ELF address of `section` (0 in a relocatable object).
    pub fn elf_address(&self, section: SectionIndex) -> Option<u64> {
        self.places.get(&section).map(|&(address, _)| address)
    }

    /// True when `section` is part of the module.
    pub fn keeps(&self, section: SectionIndex) -> bool {
        self.places.contains_key(&section)
    }
}

/// What a section allows, in the order the layout places them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    /// Executable, never written.
    Code,
    /// Read only.
    ReadOnly,
    /// Written, with initial values.
    Writable,
    /// Written, starting as zeros (no bytes in the image).
    Zeroed,
}

/// The class of an allocated section, by its ELF flags.
fn permission_class(section: &object::Section<'_, '_>) -> Class {
    const SHF_WRITE: u64 = 0x1;
    const SHF_EXECINSTR: u64 = 0x4;
    let flags = match section.flags() {
        SectionFlags::Elf { sh_flags } => sh_flags,
        _ => 0,
    };
    if section.kind() == SectionKind::UninitializedData {
        Class::Zeroed
    } else if flags & SHF_EXECINSTR != 0 {
        Class::Code
    } else if flags & SHF_WRITE == 0 {
        Class::ReadOnly
    } else {
        Class::Writable
    }
}

/// True for sections that occupy memory at run time.
pub fn is_allocated(section: &object::Section<'_, '_>) -> bool {
    const SHF_ALLOC: u64 = 0x2;
    matches!(section.flags(), SectionFlags::Elf { sh_flags } if sh_flags & SHF_ALLOC != 0)
}

/// From the first allocated byte (page-aligned down) to the last (page-aligned up).
fn elf_span(elf: &object::File<'_>) -> u64 {
    let ranges = elf
        .sections()
        .filter(|section| is_allocated(section) && section.address() != 0)
        .map(|section| (section.address(), section.address() + section.size()));
    let (start, end) = ranges.fold((u64::MAX, 0), |(start, end), (low, high)| {
        (start.min(low), end.max(high))
    });
    if end == 0 {
        0
    } else {
        end.next_multiple_of(PAGE) - start / PAGE * PAGE
    }
}
