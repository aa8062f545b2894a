//! The shell's module commands: bind and release names, list modules, call
//! the example interface, load separate instances.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use com::{ComPtr, Guid, IUnknown, Interface, Status};
use interfaces::module::load_flags;
use interfaces::namespace::{flags, for_each_name};
use interfaces::{ILoader, IModule, INamespace};
use private_interfaces::IHello;

use crate::context::{Context, Failure, Outcome, absolute, failed};

/// Where the loaded modules are listed.
pub const MODULES_PATH: &str = "/sys/modules";
/// Where separate instances are loaded.
pub const LOADER_PATH: &str = "/sys/loader";

pub fn bind(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    let (name, bind_flags) = match arguments {
        [name] => (absolute(name), 0),
        ["--keep", name] => (absolute(name), flags::KEEP),
        _ => return Err(Failure::Usage),
    };
    if context.held.contains(&name) {
        return Err(Failure::Status(name, Status::ALREADY_EXISTS));
    }
    let object = context
        .namespace
        .bind(&name, bind_flags)
        .map_err(failed(&name))?;
    let _ = write!(
        context.output,
        "bound {name} (object {:#x})",
        object.as_raw() as usize
    );
    if let Some(module) = module_of(context.namespace, &object) {
        let _ = write!(context.output, ": ");
        describe(context, &module);
    }
    let _ = writeln!(context.output);
    context.held.put(name, object);
    Ok(None)
}

pub fn release(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    let [name] = arguments else {
        return Err(Failure::Usage);
    };
    let name = if name.contains('@') {
        String::from(*name)
    } else {
        absolute(name)
    };
    let object = context
        .held
        .take(&name)
        .ok_or(Failure::Status(name.clone(), Status::NOT_FOUND))?;
    drop(object);
    let _ = writeln!(context.output, "released {name}");
    Ok(None)
}

pub fn mods(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    if !arguments.is_empty() {
        return Err(Failure::Usage);
    }
    let mut modules = list_modules(context.namespace).map_err(failed(MODULES_PATH))?;
    // The shell's own module is there while it runs: not worth listing.
    modules.retain(|(_, module)| !holds_this_code(module));
    if modules.is_empty() {
        let _ = writeln!(context.output, "no modules loaded besides the shell");
    }
    for (listed, module) in modules {
        let _ = write!(context.output, "{listed}: ");
        describe(context, &module);
        let _ = writeln!(context.output);
    }
    Ok(None)
}

pub fn call(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    let [name] = arguments else {
        return Err(Failure::Usage);
    };
    // `name@id` is a separate instance `load` holds: its object comes from
    // its module.
    let (name, object) = if name.contains('@') {
        let held = context
            .held
            .get(name)
            .ok_or(Failure::Status(String::from(*name), Status::NOT_FOUND))?;
        let object = held.query::<IModule>().and_then(|module| module.object());
        (String::from(*name), object)
    } else {
        let name = absolute(name);
        let object = context.namespace.bind(&name, 0);
        (name, object)
    };
    let hello = object
        .and_then(|object| object.query::<IHello>())
        .map_err(failed(&name))?;
    let mut buffer = [0u8; 256];
    let length = hello.greet(&mut buffer).map_err(failed(&name))?;
    let text =
        core::str::from_utf8(buffer.get(..length).unwrap_or_default()).unwrap_or("(not UTF-8)");
    let _ = writeln!(context.output, "{text}");
    Ok(None)
}

pub fn sym(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    let (module_name, table, symbol) = match arguments {
        [module, name] => (*module, Guid::default(), Symbol::Name(name)),
        [module, uuid, ordinal] => {
            let table = Guid::parse(uuid).ok_or(Failure::Usage)?;
            (
                *module,
                table,
                Symbol::Ordinal(ordinal.parse().map_err(|_| Failure::Usage)?),
            )
        }
        _ => return Err(Failure::Usage),
    };
    // Bound for the lookup (loading the module if needed), released after.
    let name = absolute(module_name);
    let object = context.namespace.bind(&name, 0).map_err(failed(&name))?;
    let module = module_of(context.namespace, &object)
        .ok_or(Failure::Status(name.clone(), Status::NOT_FOUND))?;
    let (address, what) = match symbol {
        Symbol::Name(symbol) => (module.export_by_name(&table, symbol), String::from(symbol)),
        Symbol::Ordinal(ordinal) => (
            module.export_by_ordinal(&table, ordinal),
            alloc::format!("{table} @ {ordinal}"),
        ),
    };
    let address = address.map_err(failed(&what))?;
    let _ = writeln!(
        context.output,
        "{what} = {address:#x} (module {module_name})"
    );
    Ok(None)
}

/// An export asked for by name or by table and ordinal.
enum Symbol<'a> {
    Name(&'a str),
    Ordinal(u32),
}

pub fn load(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    let (path, flags) = match arguments {
        [path] => (*path, 0),
        ["--indirect", path] => (*path, load_flags::INDIRECT_CALLS),
        _ => return Err(Failure::Usage),
    };
    let loader = context
        .namespace
        .bind(LOADER_PATH, 0)
        .and_then(|object| object.query::<ILoader>())
        .map_err(failed(LOADER_PATH))?;
    let module = loader.load_image(path, "", flags).map_err(failed(path))?;
    let listed = list_modules(context.namespace)
        .ok()
        .and_then(|modules| {
            modules
                .into_iter()
                .find(|(_, listed)| same_module(listed, &module))
        })
        .map(|(name, _)| name)
        .unwrap_or_else(|| String::from(path));
    let _ = write!(context.output, "loaded {path} as {listed}: ");
    describe(context, &module);
    let _ = writeln!(context.output, " (release {listed} to unload)");
    context.held.put(listed, module.to_unknown());
    Ok(None)
}

/// `module hello at 0x…, 2744 bytes, references 2, from /boot/hello`.
fn describe(context: &mut Context<'_>, module: &ComPtr<IModule>) {
    let name = read_text(|buffer| module.name(buffer));
    let location = read_text(|buffer| module.location(buffer));
    let _ = write!(
        context.output,
        "module {name} at {:#x}, {} bytes, references {}, from {location}",
        module.base_address().unwrap_or(0),
        module.size().unwrap_or(0),
        module.references().unwrap_or(0),
    );
}

/// The text a method writes into a buffer (empty if it fails).
fn read_text(method: impl FnOnce(&mut [u8]) -> com::Result<usize>) -> String {
    let mut buffer = [0u8; 128];
    let length = method(&mut buffer).unwrap_or(0);
    String::from_utf8_lossy(buffer.get(..length).unwrap_or_default()).into_owned()
}

/// Every module listed under `/sys/modules`, with its listing name.
fn list_modules(namespace: &INamespace) -> com::Result<Vec<(String, ComPtr<IModule>)>> {
    let mut modules = Vec::new();
    for_each_name(namespace, MODULES_PATH, |listed| {
        let module = namespace
            .bind(&alloc::format!("{MODULES_PATH}/{listed}"), 0)?
            .query::<IModule>()?;
        modules.push((String::from(listed), module));
        Ok(())
    })?;
    Ok(modules)
}

/// The module whose object `object` is, if any.
fn module_of(namespace: &INamespace, object: &ComPtr<IUnknown>) -> Option<ComPtr<IModule>> {
    let modules = list_modules(namespace).ok()?;
    modules
        .into_iter()
        .map(|(_, module)| module)
        .find(|module| module.object().is_ok_and(|owned| owned.ptr_eq(object)))
}

/// True when `module` is the one running this code: the shell's own, when
/// the shell is a loaded component.
fn holds_this_code(module: &ComPtr<IModule>) -> bool {
    let here = mods as *const () as u64;
    let (Ok(base), Ok(size)) = (module.base_address(), module.size()) else {
        return false;
    };
    (base..base.saturating_add(size)).contains(&here)
}

/// True when both describe the same module (same place in memory).
fn same_module(first: &ComPtr<IModule>, second: &ComPtr<IModule>) -> bool {
    first.base_address().ok() == second.base_address().ok()
}
