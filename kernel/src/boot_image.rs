//! The boot RomFS, embedded in the kernel image by `cargo xtask build`.

/// Keeps the embedded image 16-byte aligned, as the RomFS reader prefers.
#[repr(C, align(16))]
struct Aligned<T: ?Sized>(T);

static ROMFS: &Aligned<[u8]> = &Aligned(*include_bytes!(env!("TESSERA_ROMFS")));

/// The boot RomFS image.
pub fn romfs() -> &'static [u8] {
    &ROMFS.0
}
