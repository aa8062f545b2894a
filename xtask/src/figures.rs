//! Reading the figures: numbers in console output and the kernel's size.

use std::fmt;
use std::path::Path;

use anyhow::{Context, Result};
use object::{Object, ObjectSection, SectionFlags, SectionKind};

/// The instructions from kernel entry to the shell, from the boot banner.
pub fn boot_instructions(banner: &str) -> Option<u64> {
    field(banner, "boot: ")
}

/// The number right after `label` in `text`.
pub fn field(text: &str, label: &str) -> Option<u64> {
    let (_, rest) = text.split_once(label)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The kernel image's size by kind of section, in bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelSize {
    /// Code and read-only data (without the boot RomFS).
    pub text: u64,
    /// Initialized writable data.
    pub data: u64,
    /// Zeroed data, not stored in the image.
    pub bss: u64,
    /// The boot stack, reserved after `.bss`.
    pub stack: u64,
    /// The embedded boot RomFS (its own section, `.boot_romfs`).
    pub boot_romfs: u64,
}

impl KernelSize {
    /// Measures the ELF at `path` from its section headers.
    pub fn of(path: &Path) -> Result<KernelSize> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let elf =
            object::File::parse(&*bytes).with_context(|| format!("parsing {}", path.display()))?;
        let mut size = KernelSize::default();
        for section in elf.sections().filter(is_allocated) {
            let bytes = section.size();
            match (section.name().unwrap_or_default(), section.kind()) {
                (".stack", _) => size.stack += bytes,
                (".boot_romfs", _) => size.boot_romfs += bytes,
                (_, SectionKind::UninitializedData) => size.bss += bytes,
                (_, SectionKind::Data) => size.data += bytes,
                _ => size.text += bytes,
            }
        }
        Ok(size)
    }

    /// The kernel proper: code, read-only data, data and zeroed data;
    /// neither the boot RomFS nor the boot stack.
    pub fn proper(&self) -> u64 {
        self.text + self.data + self.bss
    }
}

impl fmt::Display for KernelSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "text={} data={} bss={} bytes (+ {} bytes of boot stack, {} of boot RomFS)",
            self.text, self.data, self.bss, self.stack, self.boot_romfs
        )
    }
}

/// True for sections that take memory when the kernel runs.
fn is_allocated(section: &object::Section<'_, '_>) -> bool {
    const SHF_ALLOC: u64 = 0x2;
    matches!(section.flags(), SectionFlags::Elf { sh_flags } if sh_flags & SHF_ALLOC != 0)
}
