//! The image mapper: maps a paged component image into an address space of the virtual-memory manager W^X, served at `/sys/vm-image` to whoever starts code in a space.
//!
//! It reads the image from the namespace, checks its signature when the
//! trust policy wants one (an image from outside `/boot`: the verifier,
//! docs/signing.md), validates it (`image`), places
//! and relocates it for the address it gets in the space (`linker`), then
//! hands the pages to the manager through its public interfaces: one
//! zero-fill mapping written with the placed module, mapped three times —
//! the code read and executed, the read-only data read, the data read and
//! written. The manager refuses writable and executable at once, and the
//! image's paged layout puts each section on pages of its own, so no page
//! is both. A component of its own, not part of the manager: the manager
//! stays small (loading it is most of what its first space costs), and
//! only whoever maps images loads this.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;

use com::{ComObject, ComPtr, IUnknown, Result, Status, class};
use image::Image;
use interfaces::namespace::flags;
use interfaces::trust::POLICY_PATH;
use interfaces::verifier::VERIFIER_PATH;
use interfaces::vm::{MANAGER_PATH, MappedImage, protection};
use interfaces::{
    IFile, IImageVerifier, ITrustPolicy, IVmFactory, IVmImageMapper, IVmImageMapperImpl, IVmSpace,
};

/// Bytes in a page.
const PAGE: u64 = image::PAGE_SIZE as u64;

/// The mapper: what `/sys/vm-image` binds to.
#[class(IVmImageMapper)]
struct Mapper {
    /// The trust policy (`/sys/trust`), bound once: binding it for every
    /// image would cost each process about a tenth of its creation.
    policy: ComPtr<ITrustPolicy>,
}

impl IVmImageMapperImpl for Mapper {
    fn map_image(&self, space: &IUnknown, address: u64, path: &str) -> Result<MappedImage> {
        let space = space.query::<IVmSpace>()?;
        let bytes = read(path)?;
        check_signature(&self.policy, path, &bytes)?;
        let image = Image::parse(&bytes).map_err(|_| Status::BAD_IMAGE)?;
        if !image.is_paged() || image.import_symbol_count() != 0 {
            return Err(Status::NOT_SUPPORTED);
        }
        let size = u64::from(image.memory_size()).next_multiple_of(PAGE);
        let base = space.reserve(address, size)?;
        match place_and_map(&image, &space, base, size) {
            Ok(()) => Ok(MappedImage {
                base,
                entry: base + u64::from(image.entry()),
                size,
            }),
            Err(status) => {
                // The reservation and whatever was mapped in it go.
                let _ = space.delete(base, size);
                Err(status)
            }
        }
    }
}

/// Refuses (`BAD_SIGNATURE`) an image from a directory `policy` wants
/// signed, as the kernel's loader does, unless the verifier accepts its
/// signature. The bytes checked are the bytes then parsed and mapped:
/// nothing is read again.
fn check_signature(policy: &ITrustPolicy, path: &str, bytes: &[u8]) -> Result<()> {
    if !policy.needs_signature(path)? {
        return Ok(());
    }
    // Kept, as the loader keeps it: its cache of accepted images stays.
    let verifier = component::namespace()?
        .bind(VERIFIER_PATH, flags::KEEP)
        .and_then(|object| object.query::<IImageVerifier>())
        .map_err(|_| Status::BAD_SIGNATURE)?;
    let mut why = [0u8; 96];
    match verifier.verify(bytes, &mut why)? {
        0 => Ok(()),
        _ => Err(Status::BAD_SIGNATURE),
    }
}

/// The bytes of the file at `path` (at most twice the largest module, as
/// the kernel's loader allows).
fn read(path: &str) -> Result<Vec<u8>> {
    let file = component::namespace()?.bind(path, 0)?.query::<IFile>()?;
    let size = usize::try_from(file.size()?).map_err(|_| Status::BAD_IMAGE)?;
    if size > 2 * image::MAX_MEMORY_SIZE as usize {
        return Err(Status::BAD_IMAGE);
    }
    let mut bytes = zeroed(size)?;
    let mut done = 0;
    while let Some(rest) = bytes.get_mut(done..).filter(|rest| !rest.is_empty()) {
        match file.read_at(done as u64, rest)? {
            0 => return Err(Status::BAD_IMAGE),
            read => done += read,
        }
    }
    Ok(bytes)
}

/// `size` zero bytes, or `OUT_OF_MEMORY`.
fn zeroed(size: usize) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(size)
        .map_err(|_| Status::OUT_OF_MEMORY)?;
    bytes.resize(size, 0);
    Ok(bytes)
}

/// Places `image` for `base` and maps it there in `space` (`size` bytes,
/// reserved), each section with its permissions.
fn place_and_map(image: &Image<'_>, space: &IVmSpace, base: u64, size: u64) -> Result<()> {
    let mut memory = zeroed(usize::try_from(size).map_err(|_| Status::OUT_OF_MEMORY)?)?;
    let module = memory
        .get_mut(..image.memory_size() as usize)
        .ok_or(Status::BAD_IMAGE)?;
    linker::place(image, module, base, linker::Calls::Direct, &[])
        .map_err(|_| Status::BAD_IMAGE)?;
    let factory = component::namespace()?
        .bind(MANAGER_PATH, 0)?
        .query::<IVmFactory>()?;
    let pages = factory.create_zero_mapping(size)?;
    if pages.write(0, &memory)? != memory.len() {
        return Err(Status::OUT_OF_RANGE);
    }
    let (text, read_only) = (
        u64::from(image.text_size()),
        u64::from(image.read_only_end()),
    );
    let sections = [
        (0, text, protection::READ | protection::EXECUTE),
        (text, read_only, protection::READ),
        (read_only, size, protection::READ | protection::WRITE),
    ];
    for (start, end, allowed) in sections {
        if start < end {
            space.map(
                base + start,
                pages.as_unknown(),
                start,
                end - start,
                allowed,
            )?;
        }
    }
    Ok(())
}

fn construct() -> Result<ComPtr<IUnknown>> {
    let policy = component::namespace()?
        .bind(POLICY_PATH, 0)?
        .query::<ITrustPolicy>()?;
    Ok(ComObject::create::<IVmImageMapper>(Mapper { policy }).to_unknown())
}

component::component!(construct);
