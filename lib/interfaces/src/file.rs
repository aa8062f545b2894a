//! `IFile`: a sequence of bytes read and written at offsets; `IMemoryFile`:
//! one whose bytes can be read in place.

use com::{Result, interface};

#[interface("246c8ac9-cd29-4cce-8877-4f4f549dc190")]
/// A file: stateless reads and writes at byte offsets.
pub trait IFile {
    /// Reads from `offset` into `buffer`; returns the bytes read (0 at the end).
    fn read_at(&self, offset: u64, buffer: &mut [u8]) -> Result<usize>;
    /// Writes `data` at `offset`; returns the bytes written.
    /// Read-only files fail with `ACCESS_DENIED`.
    fn write_at(&self, offset: u64, data: &[u8]) -> Result<usize>;
    /// The file's size in bytes.
    fn size(&self) -> Result<u64>;
    /// Makes the file `size` bytes long: cut, or grown with zeros.
    /// Read-only files fail with `ACCESS_DENIED`.
    fn set_size(&self, size: u64) -> Result<()>;
    /// Returns once what was written to the file is on its medium.
    fn flush(&self) -> Result<()>;
}

#[interface("d7a98417-c681-4af7-af0e-96388003de9b")]
/// A file whose bytes lie in the kernel's memory, in one piece, unchanged
/// for as long as the object lives — a file of the boot RomFS. The loader
/// reads a component image in place from such a file instead of copying
/// it (execute-in-place, as from ROM).
pub trait IMemoryFile {
    /// The address of the file's first byte; `IFile::size` bytes follow.
    fn address(&self) -> Result<u64>;
}
