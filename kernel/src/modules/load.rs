//! Loading one module: read the image, bind its imports, place it, run its
//! entry point. Every failure leaves nothing allocated and says why on the
//! console.

use alloc::boxed::Box;
use alloc::collections::TryReserveError;
use alloc::string::String;
use alloc::vec::Vec;

use com::{ComPtr, IUnknown, Result, Status};
use image::Image;
use interfaces::namespace::flags;
use interfaces::{IFile, IImageVerifier, IMemoryFile};
use linker::Calls;

use super::Module;
use super::cost::{Phase, Stopwatch};
use super::records::Records;
use crate::abi::component_code::{self, run_constructor};
use crate::abi::component_memory::{InPlaceFile, UncountedObject};
use crate::abi::exports;
use crate::machine::cache;
use crate::machine::heap::HeapBlock;

/// Where demand-loaded images are found, in the order searched: `/hello`
/// loads `/boot/hello`, else `/disk/hello` (the mounted disk), else
/// `/host/hello` (the host's shared directory).
const IMAGE_DIRECTORIES: [&str; 3] = ["/boot", "/disk", "/host"];
/// The component that checks signatures, loaded from `/boot` when the
/// first image from elsewhere is, and kept (its cache of accepted images
/// with it).
const VERIFIER: &str = interfaces::verifier::VERIFIER_PATH;
/// The longest refusal reason printed.
const MAX_REASON: usize = 96;
/// The module name of the kernel's own exports.
const KERNEL_MODULE: &str = "kernel";

/// The namespace's demand loader.
pub struct ModuleLoader;

impl ModuleLoader {
    /// The loader, boxed for `Namespace::new`.
    pub fn boxed() -> Box<dyn namespace::Loader> {
        Box::new(ModuleLoader)
    }
}

impl namespace::Loader for ModuleLoader {
    /// From `/boot` first, at no extra cost; only a name `/boot` does
    /// not have is looked for in the other directories.
    fn load(&self, name: &str, flags: u32) -> Result<ComPtr<IUnknown>> {
        let registration = Registration {
            name,
            kept: flags & flags::KEEP != 0,
        };
        let load_from = |directory: &str| -> Result<ComPtr<IUnknown>> {
            let location = location_in(directory, name)?;
            super::load_and_add(&location, "", Some(registration), Calls::Direct)
                .map(|(object, _)| object)
        };
        let [boot, others @ ..] = IMAGE_DIRECTORIES;
        let missing = match load_from(boot) {
            Err(Status::NOT_FOUND) => Status::NOT_FOUND,
            loaded => return loaded,
        };
        let root = namespace::current()?;
        for directory in others {
            if root.capabilities(&location_in(directory, name)?).is_ok() {
                return load_from(directory);
            }
        }
        Err(missing)
    }

    fn current_thread(&self) -> namespace::ThreadId {
        current_thread()
    }

    fn refuse_cycle(&self, cycle: &str) {
        kprintln!("loader: import cycle: {cycle}");
    }

    fn collect(&self) {
        super::collect_idle();
    }
}

/// `directory` followed by `name` (which starts with `/`).
fn location_in(directory: &str, name: &str) -> Result<String> {
    let mut location = String::new();
    location
        .try_reserve_exact(directory.len() + name.len())
        .map_err(|_| Status::OUT_OF_MEMORY)?;
    location.push_str(directory);
    location.push_str(name);
    Ok(location)
}

/// The calling thread's id (never 0).
pub fn current_thread() -> namespace::ThreadId {
    #[cfg(feature = "threads")]
    return crate::threads::current_id();
    #[cfg(not(feature = "threads"))]
    return 1;
}

/// The namespace name a module's object is registered under, and whether
/// the bind that loads it keeps it registered after its last outside
/// release (`KEEP`): told by the namespace at the load, so that no
/// collection has to ask it.
#[derive(Clone, Copy)]
pub struct Registration<'a> {
    pub name: &'a str,
    pub kept: bool,
}

/// A module placed in memory and its object, not yet in the module list.
pub type Loaded = (ComPtr<IUnknown>, Module);

/// Loads the image at `location`; `registered_as` is how its object will
/// be registered (none for a separate instance).
pub fn load(
    location: &str,
    arguments: &str,
    registered_as: Option<Registration<'_>>,
    calls: Calls,
    stopwatch: &mut Stopwatch,
) -> Result<Loaded> {
    let bytes = read_image(location)?;
    stopwatch.lap(Phase::Read);
    let signed = super::signature_policy::needs_signature(location);
    if signed {
        verify_signature(location, &bytes)?;
    }
    let image =
        Image::parse(&bytes).map_err(|error| report(location, &error, Status::BAD_IMAGE))?;
    stopwatch.lap(Phase::Parse);
    if let Some(registration) = registered_as.filter(|_| signed) {
        check_signed_name(location, &image, registration.name)?;
    }
    let out_of_memory = |_| {
        report(
            location,
            &"out of memory for its records",
            Status::OUT_OF_MEMORY,
        )
    };
    let records = Records::new(&image, location, arguments).map_err(out_of_memory)?;
    let kept = registered_as.is_some_and(|registration| registration.kept);
    let registered_as = registered_as
        .map(|registration| copy(registration.name))
        .transpose()
        .map_err(out_of_memory)?;
    stopwatch.lap(Phase::Records);
    let (addresses, dependencies) = bind_imports(location, &image)?;
    stopwatch.lap(Phase::ResolveImports);
    let (block, size) = place(location, &image, &addresses, calls, stopwatch)?;
    let entry = run_constructor(&block, image.entry());
    let mut module = Module {
        id: super::next_id(),
        records,
        can_unload: image
            .can_unload()
            .and_then(|offset| component_code::can_unload_function(&block, offset)),
        block,
        size,
        entry: image.entry() as usize,
        dependencies,
        registered: None,
        kept,
        aliases: Vec::new(),
    };
    stopwatch.lap(Phase::Constructor);
    match entry {
        Ok(object) => {
            module.registered = registered_as.map(|name| (UncountedObject::of(&object), name));
            Ok((object, module))
        }
        Err(status) => {
            // The module may have left objects alive; then it stays, unnamed,
            // until they are gone and an idle point frees it.
            if module
                .can_unload
                .is_some_and(|can_unload| can_unload() == 0)
            {
                super::add(module);
            }
            Err(report(location, &"its entry point failed", status))
        }
    }
}

/// Asks the verifier component whether `bytes`, read from `location`
/// outside the boot image, are signed by a trusted key — before anything
/// else of them is read.
fn verify_signature(location: &str, bytes: &[u8]) -> Result<()> {
    let verifier = namespace::current()?
        .bind(VERIFIER, flags::KEEP)
        .and_then(|object| object.query::<IImageVerifier>())
        .map_err(|status| {
            report(
                location,
                &format_args!("no verifier to check its signature: {}", status.message()),
                Status::BAD_SIGNATURE,
            )
        })?;
    let mut why = [0u8; MAX_REASON];
    match verifier.verify(bytes, &mut why)? {
        0 => Ok(()),
        length => {
            let why = why.get(..length).unwrap_or_default();
            let why = core::str::from_utf8(why).unwrap_or("refused");
            Err(report(location, &why, Status::BAD_SIGNATURE))
        }
    }
}

/// Refuses an image whose name (among the signed bytes) is not the
/// module name it is being loaded as: a signed image cannot be renamed
/// into another module's place.
fn check_signed_name(location: &str, image: &Image<'_>, registered_as: &str) -> Result<()> {
    let module = registered_as.rsplit('/').next().unwrap_or(registered_as);
    if image.name() == module {
        return Ok(());
    }
    Err(report(
        location,
        &format_args!(
            "the image is module {}, not {module}: renamed?",
            image.name()
        ),
        Status::BAD_SIGNATURE,
    ))
}

/// `text` in a string of its own, or the error when the heap is full.
fn copy(text: &str) -> core::result::Result<String, TryReserveError> {
    let mut copy = String::new();
    copy.try_reserve_exact(text.len())?;
    copy.push_str(text);
    Ok(copy)
}

/// A vector of `length` zeros, or the "out of memory" report for `location`.
fn zeroed<T: Clone + Default>(location: &str, length: usize, what: &str) -> Result<Vec<T>> {
    let mut vector = Vec::new();
    if vector.try_reserve_exact(length).is_err() {
        let bytes = length.saturating_mul(core::mem::size_of::<T>());
        let why = format_args!("out of memory: {bytes} bytes for {what}");
        return Err(report(location, &why, Status::OUT_OF_MEMORY));
    }
    vector.resize(length, T::default());
    Ok(vector)
}

/// A component image's bytes: read in place from a file in memory, or
/// copied from any other file.
enum ImageBytes {
    /// The bytes of a file that keeps them in memory while it lives.
    InPlace(InPlaceFile),
    Copied(Vec<u8>),
}

impl core::ops::Deref for ImageBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            ImageBytes::InPlace(file) => file.bytes(),
            ImageBytes::Copied(bytes) => bytes,
        }
    }
}

/// The bytes of the file at `location`: where they are if the file keeps
/// them in memory (the boot RomFS does), else a copy.
fn read_image(location: &str) -> Result<ImageBytes> {
    let root = namespace::current()?;
    let file = root
        .bind(location, 0)
        .and_then(|object| object.query::<IFile>())?;
    let size = usize::try_from(file.size()?).map_err(|_| Status::BAD_IMAGE)?;
    if size > image::MAX_MEMORY_SIZE as usize * 2 {
        return Err(report(
            location,
            &"the image is too large",
            Status::BAD_IMAGE,
        ));
    }
    if let Ok(memory) = file.query::<IMemoryFile>() {
        return Ok(ImageBytes::InPlace(InPlaceFile::new(memory, size)?));
    }
    let mut bytes = zeroed(location, size, "its image")?;
    let mut done = 0;
    while done < size {
        let read = file.read_at(done as u64, &mut bytes[done..])?;
        if read == 0 {
            return Err(report(location, &"the file ended early", Status::BAD_IMAGE));
        }
        done += read;
    }
    Ok(ImageBytes::Copied(bytes))
}

/// The address of every import symbol, and the objects of the modules
/// they come from (held so those modules stay loaded).
fn bind_imports(location: &str, image: &Image<'_>) -> Result<(Vec<u64>, Vec<ComPtr<IUnknown>>)> {
    let count = image.import_symbol_count() as usize;
    let mut addresses = zeroed(location, count, "its import addresses")?;
    let mut dependencies = Vec::new();
    dependencies
        .try_reserve_exact(
            image
                .import_modules()
                .filter(|module| module.name != KERNEL_MODULE)
                .count(),
        )
        .map_err(|_| {
            report(
                location,
                &"out of memory for its dependencies",
                Status::OUT_OF_MEMORY,
            )
        })?;
    for module in image.import_modules() {
        let symbols = module.first_symbol..module.first_symbol + module.symbol_count;
        let symbols = symbols.filter_map(|index| Some((index, image.import_ordinal(index)?)));
        let symbol_name = |index| image.import_symbol(index).map_or("?", |symbol| symbol.name);
        if module.name == KERNEL_MODULE {
            let table = exports::TABLES
                .iter()
                .find(|table| table.uuid == module.uuid)
                .ok_or_else(|| {
                    report(
                        location,
                        &format_args!("the kernel has no export table {}", module.uuid),
                        Status::NOT_SUPPORTED,
                    )
                })?;
            for (index, ordinal) in symbols {
                let export = table
                    .exports
                    .iter()
                    .find(|export| export.ordinal == ordinal)
                    .ok_or_else(|| {
                        report(
                            location,
                            &format_args!(
                                "the kernel does not export {} (ordinal {})",
                                symbol_name(index),
                                ordinal
                            ),
                            Status::NOT_FOUND,
                        )
                    })?;
                *slot(location, &mut addresses, index)? = (export.address)() as u64;
            }
            continue;
        }
        let mut name = String::new();
        name.try_reserve_exact(module.name.len() + 1).map_err(|_| {
            report(
                location,
                &"out of memory for an import's name",
                Status::OUT_OF_MEMORY,
            )
        })?;
        name.push('/');
        name.push_str(module.name);
        let object = namespace::current()?.bind(&name, 0).map_err(|status| {
            report(
                location,
                &format_args!(
                    "it imports from {}, which cannot be loaded: {}",
                    module.name,
                    status.message()
                ),
                status,
            )
        })?;
        for (index, ordinal) in symbols {
            let address = super::with_registered(&name, |exporter| {
                exporter.export_by_ordinal(module.uuid, ordinal)
            })
            .unwrap_or(Err(Status::NOT_FOUND))
            .map_err(|status| match status {
                Status::NOT_SUPPORTED => report(
                    location,
                    &format_args!("{} has no export table {}", module.name, module.uuid),
                    status,
                ),
                _ => report(
                    location,
                    &format_args!(
                        "{} does not export {} (ordinal {})",
                        module.name,
                        symbol_name(index),
                        ordinal
                    ),
                    status,
                ),
            })?;
            *slot(location, &mut addresses, index)? = address;
        }
        dependencies.push(object);
    }
    Ok((addresses, dependencies))
}

/// The address slot of import symbol `index`.
fn slot<'a>(location: &str, addresses: &'a mut [u64], index: u32) -> Result<&'a mut u64> {
    addresses.get_mut(index as usize).ok_or_else(|| {
        report(
            location,
            &"an import symbol lies outside its table",
            Status::BAD_IMAGE,
        )
    })
}

/// Allocates the module's block and places the image in it
/// (`linker::link_into`: a call too far for a direct jump makes it go
/// through a slot instead, in a new block).
fn place(
    location: &str,
    image: &Image<'_>,
    addresses: &[u64],
    calls: Calls,
    stopwatch: &mut Stopwatch,
) -> Result<(HeapBlock, usize)> {
    let allocate = |size, align| {
        let block = HeapBlock::allocate(size, align);
        stopwatch.lap(Phase::Allocate);
        block.map(PlacedBlock)
    };
    let loaded =
        linker::link_into(image, addresses, calls, allocate).map_err(|error| match error {
            linker::LinkError::OutOfMemory(_) => report(
                location,
                &format_args!("{error} for the module"),
                Status::OUT_OF_MEMORY,
            ),
            _ => report(location, &error, Status::BAD_IMAGE),
        })?;
    cache::sync_instructions();
    stopwatch.lap(Phase::PlaceAndRelocate);
    Ok((loaded.block.0, loaded.size))
}

/// A block of the kernel heap the loader places a module in.
struct PlacedBlock(HeapBlock);

impl linker::Block for PlacedBlock {
    fn address(&self) -> u64 {
        self.0.address() as u64
    }

    fn bytes(&mut self) -> &mut [u8] {
        self.0.bytes()
    }
}

/// Prints why loading `location` failed and returns `status`.
fn report(location: &str, why: &dyn core::fmt::Display, status: Status) -> Status {
    kprintln!("loader: {location}: {why}");
    status
}
