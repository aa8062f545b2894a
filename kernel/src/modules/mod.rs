//! Loaded modules: demand loading through the namespace, the dependencies
//! between modules, and unloading once nothing uses a module.
//!
//! A module is one heap block holding a component image's code and data,
//! placed and relocated by `linker`. Its entry point makes the module's
//! object; a name bound through the namespace (`/hello`) loads the image
//! `/boot/hello` and registers that object under the name.
//!
//! Unloading follows the last release. When a module's registered object
//! loses its last reference from outside the namespace, its `Release` (in
//! `com`) tells the kernel through `tessera_object_unshared`, which only
//! asks the namespace for a collection ([`namespace::request_collection`]):
//! the releasing thread is still inside the module's code. The collection
//! runs at a safe point — before the next bind or listing of any name
//! returns, in whichever thread makes it, and before each load — so a
//! module nothing uses is gone by the time anyone looks, under every
//! scheduler (sched-null included, where no other thread would run while
//! the releasing one is busy). It happens in two steps ([`collect_idle`]),
//! never inside a call into the module:
//!
//! 1. a registered module whose object only the namespace still holds (and
//!    that was not bound with `KEEP`) is unregistered, which destroys the
//!    object;
//! 2. a module that is no longer registered and whose `tessera_can_unload`
//!    says none of its objects is alive is freed, and the references it held
//!    on the modules it imports from are released — which lets those
//!    unload in turn.
//!
//! A mutation can hand a module's registered object to another module's
//! code (a live upgrade: `counter-v2` adopts `counter`'s object). The old
//! module then reports no live objects while still registered; if another
//! module is registered with the same object, the old name becomes an
//! alias of that module's and the old module is freed at once; otherwise
//! the name is unregistered and the module freed (a driver that gave the
//! console back to the kernel). While a load runs, such names are left
//! alone: the adopter may be the module being loaded, not yet registered.

mod cost;
mod load;
mod records;
pub mod signature_policy;

use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use com::{ComPtr, Guid, IUnknown, Result, Status};
use sync::Mutex;

use crate::abi::component_memory::UncountedObject;
use crate::abi::object_model;
use crate::machine::heap::HeapBlock;

pub use cost::last_load as last_load_cost;
pub use load::ModuleLoader;

/// A module in memory.
pub struct Module {
    /// Unique for the kernel's lifetime.
    id: u64,
    /// Its name, location, arguments and export tables.
    records: records::Records,
    /// The heap block holding the module.
    block: HeapBlock,
    /// Bytes of the block in use.
    size: usize,
    /// Offset of the entry point.
    entry: usize,
    /// The module's "can unload now" function, if it has one.
    can_unload: Option<extern "C" fn() -> u32>,
    /// The objects of the modules it imports from, held while it lives.
    #[allow(
        dead_code,
        reason = "held, never read: dropping it releases the dependencies"
    )]
    dependencies: Vec<ComPtr<IUnknown>>,
    /// The module's object while the namespace holds it (not counted as a
    /// reference of ours), and the name it is registered under.
    registered: Option<(UncountedObject, String)>,
    /// Its name was bound with `KEEP` (the bind that loaded it): the
    /// namespace keeps its object, which sits at one reference (the
    /// namespace's), registered.
    kept: bool,
    /// More names the namespace has the same object under, taken over from
    /// modules whose object this module adopted.
    aliases: Vec<String>,
}

impl Module {
    /// Its image's name.
    pub fn name(&self) -> &str {
        self.records.name()
    }

    /// Where its image was loaded from.
    pub fn location(&self) -> &str {
        self.records.location()
    }

    /// The arguments it was loaded with.
    pub fn arguments(&self) -> &str {
        self.records.arguments()
    }

    /// The address of its first byte.
    pub fn base(&self) -> usize {
        self.block.address()
    }

    /// Bytes of its block in use.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The address of its entry point.
    pub fn entry_address(&self) -> usize {
        self.base() + self.entry
    }

    /// Its registered object, with a reference for the caller; none when the
    /// module is not registered.
    pub fn registered_object(&self) -> Option<ComPtr<IUnknown>> {
        let (object, _) = self.registered.as_ref()?;
        Some(object.counted())
    }

    /// The address of export `ordinal` of table `uuid`.
    pub fn export_by_ordinal(&self, uuid: Guid, ordinal: u32) -> Result<u64> {
        self.export_address(uuid, records::Wanted::Ordinal(ordinal))
    }

    /// The address of export `name` of table `uuid`.
    pub fn export_by_name(&self, uuid: Guid, name: &str) -> Result<u64> {
        self.export_address(uuid, records::Wanted::Name(name))
    }

    /// The address of the `wanted` export of table `uuid`; `NOT_SUPPORTED`
    /// when the module has no such table.
    fn export_address(&self, uuid: Guid, wanted: records::Wanted<'_>) -> Result<u64> {
        let offset = self.records.export_offset(uuid, wanted)?;
        Ok((self.base() + offset as usize) as u64)
    }

    /// True when none of the module's objects is alive (its
    /// `tessera_can_unload` says so; a module without one never is).
    fn is_idle(&self) -> bool {
        self.can_unload.is_some_and(|can_unload| can_unload() != 0)
    }

    /// References to the module's registered object, the namespace's included.
    pub fn references(&self) -> u32 {
        self.registered.as_ref().map_or(0, |(object, _)| {
            // Read through the namespace's reference, without one of our
            // own: taking and dropping one would cost two calls more.
            let aliases = u32::try_from(self.aliases.len()).unwrap_or(u32::MAX);
            object.reference_count().saturating_sub(aliases)
        })
    }

    /// The name `/sys/modules` lists the module under: its namespace name
    /// (`/test/x` → `test.x`), or `name@id` for a separate instance.
    pub fn listing_name(&self) -> String {
        match &self.registered {
            Some((_, name)) => name.trim_start_matches('/').replace('/', "."),
            None => alloc::format!("{}@{}", self.records.name(), self.id),
        }
    }
}

/// Every module in memory.
static MODULES: Mutex<Vec<Module>> = Mutex::new(Vec::new());
/// The next module id.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Loads running now, from reading the image until the module is in the
/// list: their constructors may adopt objects before they are registered.
static LOADS_RUNNING: AtomicUsize = AtomicUsize::new(0);

/// The thread running [`collect_idle`] (0: none), so that a collection
/// that binds — a destructor may — does not start another inside it.
static COLLECTOR: AtomicU64 = AtomicU64::new(0);
/// Serializes collections: the module list changes under each step.
static COLLECTING: Mutex<()> = Mutex::new(());

/// `Release` left a registered module's object with few references (the
/// namespace may hold them all), or a module's last object died (the
/// boundary's filter, `abi::object_model`, lets only those through):
/// either may have made a module unused, so the namespace should collect.
pub fn note_unshared() {
    // The collection's own probes of reference counts, and the releases
    // it makes, are seen by the pass that makes them.
    if COLLECTOR.load(Ordering::Relaxed) != load::current_thread() {
        namespace::request_collection();
    }
}

/// Rebuilds the boundary's filter from the registered modules.
fn refresh_filter(modules: &[Module]) {
    object_model::set_registered_objects(
        modules
            .iter()
            .filter_map(|module| module.registered.as_ref())
            .map(|(object, _)| object.address()),
    );
}

/// Loads the image at `location` (see `load::load`) and adds the module to
/// the list; returns its object and id.
pub fn load_and_add(
    location: &str,
    arguments: &str,
    registered_as: Option<load::Registration<'_>>,
    calls: linker::Calls,
) -> Result<(ComPtr<IUnknown>, u64)> {
    // Room in the list first: no allocation may fail once the module runs.
    MODULES
        .lock()
        .try_reserve(1)
        .map_err(|_| Status::OUT_OF_MEMORY)?;
    LOADS_RUNNING.fetch_add(1, Ordering::SeqCst);
    let mut stopwatch = cost::Stopwatch::start();
    let loaded = load::load(location, arguments, registered_as, calls, &mut stopwatch).map(
        |(object, module)| {
            let id = module.id;
            add(module);
            stopwatch.lap(cost::Phase::Register);
            (object, id)
        },
    );
    stopwatch.finish();
    LOADS_RUNNING.fetch_sub(1, Ordering::SeqCst);
    if loaded.is_err() {
        // The room reserved for the module goes back.
        give_back_room(&mut MODULES.lock());
    }
    // The constructor may have adopted another module's object, leaving
    // that module idle, and idle modules are left alone while loads run.
    namespace::request_collection();
    loaded
}

/// Gives back the list's spare room once modules left it, so the heap
/// returns to where it was before a burst of loads, though modules stay
/// loaded (the shell does): an empty list takes no memory, any other keeps
/// the room it grew to for as many modules (it doubles from 4).
fn give_back_room(modules: &mut Vec<Module>) {
    if modules.is_empty() {
        *modules = Vec::new();
        return;
    }
    let room = modules.len().next_power_of_two().max(4);
    if modules.capacity() <= room {
        return;
    }
    let mut smaller = Vec::new();
    // Without memory for the smaller list, the larger one stays.
    if smaller.try_reserve_exact(room).is_ok() {
        smaller.append(modules);
        *modules = smaller;
    }
}

/// Adds a loaded module to the list.
fn add(module: Module) {
    let mut modules = MODULES.lock();
    if let Some((object, _)) = &module.registered {
        object_model::add_registered_object(object.address());
    }
    modules.push(module);
}

/// True when `address` lies inside a loaded module.
#[cfg(feature = "threads")]
pub fn holds(address: usize) -> bool {
    MODULES
        .lock()
        .iter()
        .any(|module| (module.base()..module.base() + module.size).contains(&address))
}

/// Runs `f` on the module registered as `name`, if any.
fn with_registered<T>(name: &str, f: impl FnOnce(&Module) -> T) -> Option<T> {
    let modules = MODULES.lock();
    modules
        .iter()
        .find(|module| {
            module
                .registered
                .as_ref()
                .is_some_and(|(_, registered)| registered == name)
        })
        .map(f)
}

/// The name `/sys/modules` lists each module in memory under.
pub fn listing_names() -> Vec<String> {
    MODULES.lock().iter().map(Module::listing_name).collect()
}

/// The id of the module `/sys/modules` lists as `name`, if any.
pub fn find_listed(name: &str) -> Option<u64> {
    let modules = MODULES.lock();
    let module = modules
        .iter()
        .find(|module| module.listing_name() == name)?;
    Some(module.id)
}

/// Runs `f` on module `id`, if it is still in memory.
pub fn with_module<T>(id: u64, f: impl FnOnce(&Module) -> T) -> Option<T> {
    MODULES.lock().iter().find(|module| module.id == id).map(f)
}

/// The next step of unloading, decided under the lock.
#[allow(
    clippy::large_enum_variant,
    reason = "one step lives at a time, on the stack; boxing would cost a block"
)]
enum Step {
    /// Unregister the module's name and the aliases it took over.
    Unregister {
        name: String,
        aliases: Vec<String>,
    },
    Free(Module),
}

/// Unloads every module nothing uses any more (see the module docs).
pub fn collect_idle() {
    let me = load::current_thread();
    if COLLECTOR.load(Ordering::Acquire) == me {
        // Called from inside this thread's collection: it goes on after.
        return;
    }
    let _collecting = COLLECTING.lock();
    COLLECTOR.store(me, Ordering::Release);
    namespace::take_collection_request();
    collect_steps();
    refresh_filter(&MODULES.lock());
    COLLECTOR.store(0, Ordering::Release);
}

fn collect_steps() {
    while let Some(step) = next_step() {
        match step {
            // Destroys the object (the namespace held the last reference).
            Step::Unregister { name, aliases } => {
                if let Ok(root) = namespace::current() {
                    for name in aliases.iter().chain([&name]) {
                        let _ = root.unregister(name);
                    }
                }
            }
            // Frees the block, then releases the dependencies — after a
            // grace period, in which a thread preempted on its way out of
            // the module's code (a call that has just dropped the module's
            // last object) runs and leaves it.
            Step::Free(module) => {
                crate::threads::grace_period();
                if module.is_idle() {
                    drop(module);
                } else {
                    // A call issued again during the grace period holds it.
                    add(module);
                }
            }
        }
    }
}

fn next_step() -> Option<Step> {
    let mut modules = MODULES.lock();
    for index in 0..modules.len() {
        let module = &mut modules[index];
        if module.registered.is_some() && !module.kept && module.references() == 1 {
            return unregister(module);
        }
        match &module.registered {
            // Idle first, then no load running: a constructor that adopted
            // the object began its load before.
            Some((object, _)) if module.is_idle() && LOADS_RUNNING.load(Ordering::SeqCst) == 0 => {
                let object = *object;
                if hand_over_registration(&mut modules, index, object) {
                    let module = modules.remove(index);
                    give_back_room(&mut modules);
                    return Some(Step::Free(module));
                }
                // Nobody took the name over: it goes with the module.
                return unregister(&mut modules[index]);
            }
            None if module.is_idle() => {
                let module = modules.remove(index);
                give_back_room(&mut modules);
                return Some(Step::Free(module));
            }
            _ => {}
        }
    }
    None
}

/// The step that unregisters `module`'s names, which it no longer holds.
fn unregister(module: &mut Module) -> Option<Step> {
    let (_, name) = module.registered.take()?;
    let aliases = core::mem::take(&mut module.aliases);
    Some(Step::Unregister { name, aliases })
}

/// Module `index` no longer owns its registered `object`: if another
/// module is registered with it, that one takes the name over as an alias
/// and module `index` is free to go (true).
fn hand_over_registration(modules: &mut [Module], index: usize, object: UncountedObject) -> bool {
    let adopter = modules.iter().enumerate().position(|(other, module)| {
        other != index
            && module
                .registered
                .as_ref()
                .is_some_and(|(registered, _)| *registered == object)
    });
    let Some(adopter) = adopter else {
        return false;
    };
    if let Some((_, name)) = modules[index].registered.take() {
        let mut aliases = core::mem::take(&mut modules[index].aliases);
        aliases.push(name);
        modules[adopter].aliases.append(&mut aliases);
    }
    true
}

/// How many loads have produced a module since boot.
pub fn loads_started() -> u64 {
    NEXT_ID.load(Ordering::Relaxed) - 1
}

/// A fresh module id.
fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}
