//! The boot RomFS, embedded in the kernel image by `cargo xtask build`.
//!
//! It lives in its own section, `.boot_romfs` (placed by `link.ld`), so
//! the kernel's measured size never counts it as code or data.

/// The RomFS image file `cargo xtask` packed (see `build.rs`), as an array.
macro_rules! packed {
    () => {
        include_bytes!(env!("TESSERA_ROMFS"))
    };
}

/// Keeps the embedded image 16-byte aligned, as the RomFS reader prefers.
#[repr(C, align(16))]
struct Aligned<T>(T);

// SAFETY: `link_section` is unsafe because a section with the wrong flags
// could leave the bytes unloaded or make them executable or writable.
// `link.ld` places `.boot_romfs` as an ordinary loaded, read-only output
// section between `.rodata` and `.data`, so the static holds its bytes as
// any other read-only static does.
#[unsafe(link_section = ".boot_romfs")]
static ROMFS: Aligned<[u8; packed!().len()]> = Aligned(*packed!());

/// The boot RomFS image.
pub fn romfs() -> &'static [u8] {
    &ROMFS.0
}
