//! The loader's objects: `IModule` for each module, `/sys/modules` listing
//! them, and `/sys/loader` for separate instances (over `crate::modules`,
//! which keeps the modules in memory).

use alloc::string::String;
use alloc::vec::Vec;

use com::{ComObject, ComPtr, Guid, IUnknown, Result, Status, class, copy_text};
use interfaces::module::load_flags;
use interfaces::namespace::flags;
use interfaces::{ILoader, ILoaderImpl, IModule, IModuleImpl, INamespace, INamespaceImpl};
use linker::Calls;

use crate::modules::{self, Module, with_module};

/// One module, seen through `IModule`.
#[class(IModule)]
pub struct ModuleObject {
    id: u64,
    /// The object of a separately loaded instance, which this holds.
    instance: Option<ComPtr<IUnknown>>,
}

impl ModuleObject {
    fn with<T>(&self, f: impl FnOnce(&Module) -> Result<T>) -> Result<T> {
        with_module(self.id, f).unwrap_or(Err(Status::NOT_FOUND))
    }
}

impl IModuleImpl for ModuleObject {
    fn name(&self, buffer: &mut [u8]) -> Result<usize> {
        self.with(|module| copy_text(module.name(), buffer))
    }

    fn location(&self, buffer: &mut [u8]) -> Result<usize> {
        self.with(|module| copy_text(module.location(), buffer))
    }

    fn arguments(&self, buffer: &mut [u8]) -> Result<usize> {
        self.with(|module| copy_text(module.arguments(), buffer))
    }

    fn base_address(&self) -> Result<u64> {
        self.with(|module| Ok(module.base() as u64))
    }

    fn size(&self) -> Result<u64> {
        self.with(|module| Ok(module.size() as u64))
    }

    fn entry_point(&self) -> Result<u64> {
        self.with(|module| Ok(module.entry_address() as u64))
    }

    fn references(&self) -> Result<u32> {
        match &self.instance {
            Some(object) => Ok(object.reference_count()),
            None => self.with(|module| Ok(module.references())),
        }
    }

    fn object(&self) -> Result<ComPtr<IUnknown>> {
        if let Some(object) = &self.instance {
            return Ok(object.clone());
        }
        self.with(|module| module.registered_object().ok_or(Status::NOT_FOUND))
    }

    fn export_by_name(&self, table: &Guid, name: &str) -> Result<u64> {
        self.with(|module| module.export_by_name(*table, name))
    }

    fn export_by_ordinal(&self, table: &Guid, ordinal: u32) -> Result<u64> {
        self.with(|module| module.export_by_ordinal(*table, ordinal))
    }
}

/// `/sys/modules`: one name per module in memory.
#[class(INamespace)]
pub struct ModuleDirectory;

impl ModuleDirectory {
    /// Every listing name, sorted.
    fn names() -> Vec<String> {
        let mut names = modules::listing_names();
        names.sort();
        names
    }

    /// The module listed as `path` (`/hello`).
    fn find(path: &str) -> Result<u64> {
        let name = path.strip_prefix('/').ok_or(Status::INVALID_NAME)?;
        modules::find_listed(name).ok_or(Status::NOT_FOUND)
    }
}

impl INamespaceImpl for ModuleDirectory {
    fn register(&self, _name: &str, _object: &IUnknown, _flags: u32) -> Result<()> {
        Err(Status::ACCESS_DENIED)
    }

    fn unregister(&self, _name: &str) -> Result<()> {
        Err(Status::ACCESS_DENIED)
    }

    fn bind(&self, name: &str, _flags: u32) -> Result<ComPtr<IUnknown>> {
        let id = ModuleDirectory::find(name)?;
        Ok(ComObject::create::<IModule>(ModuleObject { id, instance: None }).to_unknown())
    }

    fn find_first(&self, directory: &str, buffer: &mut [u8]) -> Result<usize> {
        if directory != "/" {
            return Err(Status::NOT_FOUND);
        }
        copy_text(
            ModuleDirectory::names()
                .first()
                .ok_or(Status::NO_MORE_ENTRIES)?,
            buffer,
        )
    }

    fn find_next(&self, directory: &str, previous: &str, buffer: &mut [u8]) -> Result<usize> {
        if directory != "/" {
            return Err(Status::NOT_FOUND);
        }
        let names = ModuleDirectory::names();
        let next = names
            .iter()
            .find(|name| name.as_str() > previous)
            .ok_or(Status::NO_MORE_ENTRIES)?;
        copy_text(next, buffer)
    }

    fn capabilities(&self, name: &str) -> Result<u32> {
        if name == "/" {
            return Ok(flags::READ | flags::DIRECTORY);
        }
        ModuleDirectory::find(name).map(|_| flags::READ)
    }
}

/// `/sys/loader`: loads separate instances of an image.
#[class(ILoader)]
pub struct LoaderService;

impl ILoaderImpl for LoaderService {
    fn load_image(&self, path: &str, arguments: &str, flags: u32) -> Result<ComPtr<IModule>> {
        modules::collect_idle();
        let calls = if flags & load_flags::INDIRECT_CALLS != 0 {
            Calls::ThroughSlots
        } else {
            Calls::Direct
        };
        let (object, id) = modules::load_and_add(path, arguments, None, calls)?;
        Ok(ComObject::create(ModuleObject {
            id,
            instance: Some(object),
        }))
    }

    fn loads_started(&self) -> Result<u64> {
        Ok(modules::loads_started())
    }

    fn collect_idle(&self) -> Result<()> {
        modules::collect_idle();
        Ok(())
    }

    fn last_load_cost(&self, phase: u32) -> Result<u64> {
        modules::last_load_cost()
            .get(phase as usize)
            .copied()
            .ok_or(Status::OUT_OF_RANGE)
    }
}
