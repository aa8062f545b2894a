//! The namespace object: a sorted map of entries behind a lock.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, Ordering};

use com::{ComPtr, IUnknown, Result, Status, class, copy_text};
use interfaces::namespace::flags;
use interfaces::{INamespace, INamespaceImpl};

use crate::common::{default_rights, extension_above, next_child};
use crate::loads::{PendingLoad, Running, ThreadId, Waits};
use crate::path::{self, rest};
use crate::table::Table;

/// Finds objects for names nobody registered, and lets them go again: the
/// demand-loading hook.
pub trait Loader: Send + Sync {
    /// Produces the object for `name` (a validated absolute path), or fails
    /// with a status that tells why (`NOT_FOUND`, `BAD_IMAGE`, ...).
    /// `flags` are the bind's: with `KEEP`, the name stays registered
    /// after the object's last outside release, so its loader need not
    /// ask the namespace each time it looks for what to unload.
    fn load(&self, name: &str, flags: u32) -> Result<ComPtr<IUnknown>>;

    /// The calling thread: who owns a load, and who waits for one.
    fn current_thread(&self) -> ThreadId;

    /// Tells the user why a bind failed with `IMPORT_CYCLE`: `cycle` names
    /// the loads, `a -> b -> a`.
    fn refuse_cycle(&self, cycle: &str);

    /// Unloads whatever nothing uses any more (see [`request_collection`]).
    fn collect(&self);
}

/// The loader a namespace holds: any [`Loader`], boxed.
pub type BoxedLoader = Box<dyn Loader>;

/// Set when an object may have lost its last user outside the namespace.
static COLLECTION_REQUESTED: AtomicBool = AtomicBool::new(false);

/// Asks the namespace to let its loader unload what nothing uses before
/// the next bind or listing returns. The kernel calls it when a module's
/// object loses its last reference from outside the namespace; it only
/// raises a flag, so it is safe anywhere, inside the module's code too.
pub fn request_collection() {
    COLLECTION_REQUESTED.store(true, Ordering::Release);
}

/// Clears the request: the loader calls it as a collection begins, so a
/// collection it runs on its own also answers requests made before.
pub fn take_collection_request() -> bool {
    COLLECTION_REQUESTED.swap(false, Ordering::AcqRel)
}

enum Entry {
    /// `flags` has `EXTENSION` when the object extends the tree below its
    /// name: its `INamespace` is asked for when used, so the entry holds
    /// one reference (a demand-loaded extension can unload like any other
    /// component).
    Object {
        object: ComPtr<IUnknown>,
        flags: u32,
    },
    /// A binder is loading this name; others wait for it.
    Loading(Arc<PendingLoad>),
}

type Entries = Table<Entry>;

/// Everything under the namespace's lock.
struct State {
    entries: Entries,
    waits: Waits,
}

/// A directory's child asked for (none: no more), or the extension that
/// owns the directory.
enum Listing {
    Child(Option<String>),
    /// Ask the extension, with the rest of the path starting at byte `at`.
    Delegate(ComPtr<INamespace>, usize),
}

/// What a name resolves to, decided under the lock and acted on outside it.
enum Resolution {
    Found(ComPtr<IUnknown>),
    /// Hand the operation to the extension namespace, with the rest of the
    /// path starting at byte `at`.
    Delegate(ComPtr<INamespace>, usize),
    /// Another thread is loading the name; this binder waits for it.
    Wait(Arc<PendingLoad>),
    /// Waiting would close this cycle of loads.
    Cycle(String),
    /// This binder marked the name as loading and must load it.
    Load(Arc<PendingLoad>),
    /// The bind cannot go on (no memory to mark the name as loading).
    Failed(Status),
    Missing,
}

/// A namespace: register objects under names, bind them, enumerate them.
#[class(INamespace)]
pub struct Namespace {
    state: sync::Mutex<State>,
    loader: Option<BoxedLoader>,
}

impl Namespace {
    /// An empty namespace that asks `loader` for names nobody registered.
    pub fn new(loader: Option<BoxedLoader>) -> Namespace {
        Namespace {
            state: sync::Mutex::new(State {
                entries: Table::new(),
                waits: Waits::default(),
            }),
            loader,
        }
    }

    /// Runs the loader's collection if an object may have lost its last
    /// outside user since the last one: the point by which an unused
    /// module is gone is the next bind or listing.
    #[inline(always)]
    fn collect_if_requested(&self) {
        if COLLECTION_REQUESTED.load(Ordering::Acquire) {
            self.collect();
        }
    }

    #[inline(never)]
    fn collect(&self) {
        if let Some(loader) = &self.loader
            && take_collection_request()
        {
            loader.collect();
        }
    }

    fn resolve_for_bind(&self, name: &str) -> Resolution {
        let mut state = self.state.lock();
        let State { entries, waits } = &mut *state;
        let Some(loader) = &self.loader else {
            return match entries.get(name) {
                Some(Entry::Object { object, .. }) => Resolution::Found(object.clone()),
                _ => match extension_of(entries, name) {
                    Some((extension, at)) => Resolution::Delegate(extension, at),
                    None => Resolution::Missing,
                },
            };
        };
        match entries.get(name) {
            Some(Entry::Object { object, .. }) => return Resolution::Found(object.clone()),
            Some(Entry::Loading(load)) => {
                let load = load.clone();
                let running = running_loads(entries);
                return match waits.wait_for(loader.current_thread(), &load, running) {
                    Ok(()) => Resolution::Wait(load),
                    Err(cycle) => Resolution::Cycle(cycle),
                };
            }
            None => {}
        }
        if let Some((extension, at)) = extension_of(entries, name) {
            return Resolution::Delegate(extension, at);
        }
        if entries.has_children(name) {
            return Resolution::Missing;
        }
        let load = PendingLoad::begin(loader.current_thread());
        match entries.insert(name, Entry::Loading(load.clone())) {
            Ok(_) => Resolution::Load(load),
            Err(_) => Resolution::Failed(Status::OUT_OF_MEMORY),
        }
    }

    /// Everything but an exact hit: validation, extensions, demand loading.
    /// Kept out of line so the hit path stays short.
    #[inline(never)]
    fn bind_slowly(&self, name: &str, flags: u32) -> Result<ComPtr<IUnknown>> {
        let name = path::validate(name)?;
        match self.resolve_for_bind(name) {
            Resolution::Found(object) => Ok(object),
            Resolution::Delegate(extension, at) => extension.bind(rest(name, at), flags),
            Resolution::Wait(load) => load.wait(),
            Resolution::Cycle(cycle) => {
                if let Some(loader) = &self.loader {
                    loader.refuse_cycle(&cycle);
                }
                Err(Status::IMPORT_CYCLE)
            }
            Resolution::Load(load) => match self.load(name, flags, &load) {
                Err(Status::NOT_FOUND) => self.bind_in_parent(name, flags),
                loaded => loaded,
            },
            Resolution::Failed(status) => Err(status),
            Resolution::Missing => Err(Status::NOT_FOUND),
        }
    }

    /// A name below a component that is not loaded yet (`/net/tcp` before
    /// `/net`), which has no image of its own: its parent is bound —
    /// loading it, or in turn its own parent — and, if it is a namespace,
    /// asked for the rest of the name. The parent stays loaded only while
    /// something holds what it gave. A parent that cannot be bound, or is
    /// no namespace, leaves the name not found.
    fn bind_in_parent(&self, name: &str, flags: u32) -> Result<ComPtr<IUnknown>> {
        let (parent, rest) = path::ancestors(name).next().ok_or(Status::NOT_FOUND)?;
        // Through `bind_slowly`, which finds a registered parent too: a
        // call of `bind` itself here would make it recursive, and keep it
        // from being inlined into its fast path.
        let extension = self
            .bind_slowly(parent, 0)
            .and_then(|parent| parent.query::<INamespace>())
            .map_err(|_| Status::NOT_FOUND)?;
        extension.bind(rest, flags)
    }

    /// Loads `name`, which this binder marked as loading, registers it
    /// (kept cached after its last outside release when `flags` has `KEEP`)
    /// and hands the outcome to the threads that waited for it.
    fn load(&self, name: &str, flags: u32, load: &Arc<PendingLoad>) -> Result<ComPtr<IUnknown>> {
        let result = match &self.loader {
            Some(loader) => loader.load(name, flags),
            None => Err(Status::NOT_FOUND),
        };
        let mut state = self.state.lock();
        let replaced = match &result {
            Ok(object) => {
                let registered = object.clone();
                // A loaded object that answers `INamespace` extends the tree
                // (the manager at `/sys/vm` lists its spaces). Asked with
                // the entry's reference taken: the answer's release then
                // leaves two, and asks for no collection.
                let extends = match registered.query::<INamespace>() {
                    Ok(_) => flags::EXTENSION,
                    Err(_) => 0,
                };
                let entry = Entry::Object {
                    object: registered,
                    flags: default_rights((flags & flags::KEEP) | extends),
                };
                // The loading mark is in place: this replaces it, and a
                // replacement allocates nothing.
                state.entries.insert(name, entry).unwrap_or_default()
            }
            Err(_) => state.entries.remove(name),
        };
        state.waits.end(load, result.clone());
        drop(state);
        // The loading mark is dropped outside the lock.
        drop(replaced);
        result
    }

    /// The first child name of `directory` in byte order after `after`
    /// (with `None`, its first), or the extension that owns the directory.
    /// One pass over the entries, allocating only the answer: listings are
    /// rare, so there is no sorted set of names to keep, and a whole
    /// listing takes a pass per name.
    fn child_after(&self, directory: &str, after: Option<&str>) -> Result<Listing> {
        let state = self.state.lock();
        let entries = &state.entries;
        if let Some(extension) = entries.get(directory).and_then(extension_in) {
            return Ok(Listing::Delegate(extension, directory.len()));
        }
        if let Some((extension, at)) = extension_of(entries, directory) {
            return Ok(Listing::Delegate(extension, at));
        }
        let objects = entries
            .iter()
            .filter(|(_, entry)| matches!(entry, Entry::Object { .. }))
            .map(|(name, _)| name);
        let (any, next) = next_child(objects, directory, after);
        if !any && directory != "/" && !entries.contains_key(directory) {
            return Err(Status::NOT_FOUND);
        }
        Ok(Listing::Child(next.map(String::from)))
    }
}

/// The loads running now: the entries marked as loading.
fn running_loads(entries: &Entries) -> Running<'_> {
    entries
        .iter()
        .filter_map(|(name, entry)| match entry {
            Entry::Loading(load) => Some((name, load)),
            Entry::Object { .. } => None,
        })
        .collect()
}

/// The deepest extension namespace above `name`, and where its part of the path starts.
fn extension_of(entries: &Entries, name: &str) -> Option<(ComPtr<INamespace>, usize)> {
    extension_above(name, |parent| entries.get(parent).and_then(extension_in))
}

/// Removes `name`'s entry if it holds an object (not a load running), and
/// returns it, to be dropped outside the lock.
fn remove_object(entries: &mut Entries, name: &str) -> Option<Entry> {
    match entries.get(name)? {
        Entry::Object { .. } => entries.remove(name),
        Entry::Loading(_) => None,
    }
}

/// The namespace `entry` extends the tree with, if it does.
fn extension_in(entry: &Entry) -> Option<ComPtr<INamespace>> {
    match entry {
        Entry::Object { object, flags } if flags & flags::EXTENSION != 0 => object.query().ok(),
        _ => None,
    }
}

impl INamespaceImpl for Namespace {
    fn register(&self, name: &str, object: &IUnknown, flags: u32) -> Result<()> {
        let name = path::validate(name)?;
        if name == "/" {
            return Err(Status::INVALID_NAME);
        }
        if flags & flags::EXTENSION != 0 {
            object.query::<INamespace>()?;
        }
        let entry = Entry::Object {
            object: ComPtr::from_ref(object),
            flags: default_rights(flags),
        };
        let mut state = self.state.lock();
        let entries = &mut state.entries;
        if let Some((extension, at)) = extension_of(entries, name) {
            drop(state);
            return extension.register(rest(name, at), object, flags);
        }
        let taken = entries.get(name).is_some_and(|existing| {
            matches!(existing, Entry::Loading(_)) || flags & flags::FAIL_IF_EXISTS != 0
        });
        if taken {
            return Err(Status::ALREADY_EXISTS);
        }
        let replaced = entries
            .insert(name, entry)
            .map_err(|_| Status::OUT_OF_MEMORY)?;
        drop(state);
        // The replaced object is released here, outside the lock.
        drop(replaced);
        Ok(())
    }

    fn unregister(&self, name: &str) -> Result<()> {
        // The fast path, which unloading takes: as in `bind`, an exact hit
        // needs no validation of its own.
        if let Some(removed) = remove_object(&mut self.state.lock().entries, name) {
            // The object is released here, outside the lock.
            drop(removed);
            return Ok(());
        }
        let name = path::validate(name)?;
        let mut state = self.state.lock();
        let entries = &mut state.entries;
        match entries.get(name) {
            Some(Entry::Object { .. }) => {
                let removed = entries.remove(name);
                drop(state);
                drop(removed);
                Ok(())
            }
            Some(Entry::Loading(_)) => Err(Status::ACCESS_DENIED),
            None => match extension_of(entries, name) {
                Some((extension, at)) => {
                    drop(state);
                    extension.unregister(rest(name, at))
                }
                None => Err(Status::NOT_FOUND),
            },
        }
    }

    fn bind(&self, name: &str, flags: u32) -> Result<ComPtr<IUnknown>> {
        self.collect_if_requested();
        // The fast path: every key in the map was validated when it was
        // registered, so an exact hit needs no validation of its own.
        if let Some(Entry::Object { object, .. }) = self.state.lock().entries.get(name) {
            return Ok(object.clone());
        }
        self.bind_slowly(name, flags)
    }

    fn find_first(&self, directory: &str, buffer: &mut [u8]) -> Result<usize> {
        self.collect_if_requested();
        let directory = path::validate(directory)?;
        match self.child_after(directory, None)? {
            Listing::Child(name) => copy_text(&name.ok_or(Status::NO_MORE_ENTRIES)?, buffer),
            Listing::Delegate(extension, at) => extension.find_first(rest(directory, at), buffer),
        }
    }

    fn find_next(&self, directory: &str, previous: &str, buffer: &mut [u8]) -> Result<usize> {
        let directory = path::validate(directory)?;
        match self.child_after(directory, Some(previous))? {
            Listing::Child(name) => copy_text(&name.ok_or(Status::NO_MORE_ENTRIES)?, buffer),
            Listing::Delegate(extension, at) => {
                extension.find_next(rest(directory, at), previous, buffer)
            }
        }
    }

    fn capabilities(&self, name: &str) -> Result<u32> {
        // Whether a name is loaded is news only after a collection.
        self.collect_if_requested();
        let name = path::validate(name)?;
        let state = self.state.lock();
        let entries = &state.entries;
        let directory = if name == "/" || entries.has_children(name) {
            flags::DIRECTORY
        } else {
            0
        };
        match entries.get(name) {
            Some(Entry::Object {
                flags: registered, ..
            }) => {
                let extension = if registered & flags::EXTENSION != 0 {
                    flags::DIRECTORY
                } else {
                    0
                };
                Ok(registered | directory | extension)
            }
            Some(Entry::Loading(_)) => Err(Status::NOT_FOUND),
            None if directory != 0 => Ok(flags::READ | directory),
            None => match extension_of(entries, name) {
                Some((extension, at)) => {
                    drop(state);
                    extension.capabilities(rest(name, at))
                }
                None => Err(Status::NOT_FOUND),
            },
        }
    }
}
