//! The kernel's boot services: objects over the machine layer, registered in
//! the root namespace before anything else runs.

#![deny(unsafe_code)]

mod console;
mod power;

use com::{ComObject, Result, Status};
use heap::HeapObject;
use interfaces::namespace::flags;

use crate::Root;

/// Creates the root namespace, registers the boot services in it and makes
/// it the current namespace; returns it.
pub fn register_boot_services(romfs: &'static [u8]) -> Result<Root> {
    let root: Root = ComObject::create(namespace::Namespace::new(None));
    let console = ComObject::create::<interfaces::IConsole>(console::FirmwareConsole);
    root.register("/dev/console", console.as_unknown(), 0)?;
    let power = ComObject::create::<interfaces::IPower>(power::PowerControl);
    root.register("/dev/power", power.as_unknown(), 0)?;
    root.register(
        "/sys/heap",
        HeapObject::serve(crate::heap()).as_unknown(),
        0,
    )?;
    let boot = bootfs::RomDirectory::mount(romfs).map_err(|error| {
        kprintln!("boot: the boot RomFS is corrupt: {error}");
        Status::BAD_IMAGE
    })?;
    root.register("/boot", boot.as_unknown(), flags::EXTENSION)?;
    namespace::set_current(root.clone())?;
    Ok(root)
}
