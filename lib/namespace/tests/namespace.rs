//! Host tests of the namespaces: registration, binding, extension
//! namespaces, enumeration and name validation (the contract both keep),
//! and demand loading.

#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, OnceLock};
use std::time::Duration;

use com::{ComObject, ComPtr, IUnknown, Result, Status, class, interface};
use interfaces::INamespace;
use interfaces::namespace::flags;
use namespace::{FlatNamespace, Loader, Namespace, ThreadId};

#[interface("9a3e55c1-0d4b-4f7a-8c2e-6b1d0f9e8a71")]
/// A test object that says who it is.
pub trait ILabel {
    /// The label given at creation.
    fn label(&self, buffer: &mut [u8]) -> Result<usize>;
}

#[class(ILabel)]
struct Label {
    text: String,
    drops: Arc<AtomicUsize>,
}

impl ILabelImpl for Label {
    fn label(&self, buffer: &mut [u8]) -> Result<usize> {
        com::copy_text(&self.text, buffer)
    }
}

impl Drop for Label {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

fn label(text: &str, drops: &Arc<AtomicUsize>) -> ComPtr<IUnknown> {
    let object: ComPtr<ILabel> = ComObject::create(Label {
        text: text.into(),
        drops: drops.clone(),
    });
    object.to_unknown()
}

fn text_of(object: &ComPtr<IUnknown>) -> String {
    let mut buffer = [0u8; 64];
    let length = object
        .query::<ILabel>()
        .unwrap()
        .label(&mut buffer)
        .unwrap();
    String::from_utf8(buffer[..length].to_vec()).unwrap()
}

fn namespace(loader: Option<Box<dyn Loader>>) -> ComPtr<INamespace> {
    ComObject::create(Namespace::new(loader))
}

fn drops() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

/// A loader that makes a label named after the path, slowly, and counts calls.
struct SlowLoader {
    loads: Arc<AtomicUsize>,
    drops: Arc<AtomicUsize>,
}

impl Loader for SlowLoader {
    fn load(&self, name: &str, _flags: u32) -> Result<ComPtr<IUnknown>> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(50));
        match name.starts_with("/broken") {
            true => Err(Status::BAD_IMAGE),
            false => Ok(label(&format!("loaded {name}"), &self.drops)),
        }
    }

    fn current_thread(&self) -> ThreadId {
        thread_id()
    }

    fn refuse_cycle(&self, cycle: &str) {
        panic!("no cycle expected, got {cycle}");
    }

    fn collect(&self) {}
}

/// A small number unique to the calling test thread.
fn thread_id() -> ThreadId {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local!(static ID: ThreadId = NEXT.fetch_add(1, Ordering::Relaxed));
    ID.with(|id| *id)
}

/// A loader whose components import from each other, as `imports` says:
/// loading a name binds each of its imports through the namespace first.
struct ImportingLoader {
    imports: HashMap<&'static str, Vec<&'static str>>,
    root: OnceLock<ComPtr<INamespace>>,
    /// Names whose load waits at the barrier before binding its imports,
    /// so that two threads are surely loading at once.
    barrier: Option<(Vec<&'static str>, Barrier)>,
    loads: AtomicUsize,
    cycles: Mutex<Vec<String>>,
    drops: Arc<AtomicUsize>,
}

impl ImportingLoader {
    fn new(imports: &[(&'static str, &[&'static str])]) -> ImportingLoader {
        ImportingLoader {
            imports: imports
                .iter()
                .map(|(name, imports)| (*name, imports.to_vec()))
                .collect(),
            root: OnceLock::new(),
            barrier: None,
            loads: AtomicUsize::new(0),
            cycles: Mutex::new(Vec::new()),
            drops: drops(),
        }
    }
}

impl Loader for ImportingLoader {
    fn load(&self, name: &str, _flags: u32) -> Result<ComPtr<IUnknown>> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        let imports = self.imports.get(name).ok_or(Status::NOT_FOUND)?;
        if let Some((names, barrier)) = &self.barrier
            && names.contains(&name)
        {
            barrier.wait();
        }
        let root = self.root.get().unwrap();
        for import in imports {
            root.bind(import, 0)?;
        }
        Ok(label(name, &self.drops))
    }

    fn current_thread(&self) -> ThreadId {
        thread_id()
    }

    fn refuse_cycle(&self, cycle: &str) {
        self.cycles.lock().unwrap().push(cycle.to_string());
    }

    fn collect(&self) {}
}

/// A namespace over `loader`, and the loader (the namespace keeps it alive).
fn importing(loader: ImportingLoader) -> (ComPtr<INamespace>, &'static ImportingLoader) {
    let loader: &'static ImportingLoader = Box::leak(Box::new(loader));
    let root = namespace(Some(Box::new(Shared(loader))));
    let _ = loader.root.set(root.clone());
    (root, loader)
}

/// Lets a test keep a reference to the loader it gave the namespace.
struct Shared(&'static ImportingLoader);

impl Loader for Shared {
    fn load(&self, name: &str, flags: u32) -> Result<ComPtr<IUnknown>> {
        self.0.load(name, flags)
    }
    fn current_thread(&self) -> ThreadId {
        self.0.current_thread()
    }
    fn refuse_cycle(&self, cycle: &str) {
        self.0.refuse_cycle(cycle);
    }
    fn collect(&self) {}
}

fn slow_loader() -> (Box<dyn Loader>, Arc<AtomicUsize>) {
    let loads = Arc::new(AtomicUsize::new(0));
    (
        Box::new(SlowLoader {
            loads: loads.clone(),
            drops: drops(),
        }),
        loads,
    )
}

/// The contract both namespaces keep: each of these tests runs against the
/// ordered namespace (`ordered::...`) and the flat one (`flat::...`).
macro_rules! contract_tests {
    ($($test:ident),* $(,)?) => {
        mod ordered {
            $(#[test]
            fn $test() {
                super::$test(super::ordered)
            })*
        }
        mod flat {
            $(#[test]
            fn $test() {
                super::$test(super::flat)
            })*
        }
    };
}

contract_tests!(
    registered_objects_are_bound_by_name,
    unregister_releases_the_namespace_reference,
    register_replaces_unless_asked_to_fail,
    bad_names_are_rejected_by_every_method,
    non_utf8_names_get_a_clear_error,
    enumeration_lists_direct_children_in_order,
    capabilities_tell_objects_from_directories,
    an_extension_namespace_owns_everything_below_it,
    an_extension_must_be_a_namespace
);

/// An ordered namespace without a loader.
fn ordered() -> ComPtr<INamespace> {
    namespace(None)
}

/// A flat namespace (it has no loader).
fn flat() -> ComPtr<INamespace> {
    ComObject::create(FlatNamespace::new())
}

/// The names under `directory`, through the one listing loop clients use.
fn list(namespace: &INamespace, directory: &str) -> Result<Vec<String>> {
    let mut names = Vec::new();
    interfaces::namespace::for_each_name(namespace, directory, |name| {
        names.push(String::from(name));
        Ok(())
    })?;
    Ok(names)
}

fn registered_objects_are_bound_by_name(new: fn() -> ComPtr<INamespace>) {
    let root = new();
    let counter = drops();
    root.register("/dev/console", &label("console", &counter), 0)
        .unwrap();
    assert_eq!(text_of(&root.bind("/dev/console", 0).unwrap()), "console");
    assert_eq!(root.bind("/dev/missing", 0).err(), Some(Status::NOT_FOUND));
}

fn unregister_releases_the_namespace_reference(new: fn() -> ComPtr<INamespace>) {
    let root = new();
    let counter = drops();
    root.register("/a", &label("a", &counter), 0).unwrap();
    assert_eq!(counter.load(Ordering::SeqCst), 0);
    root.unregister("/a").unwrap();
    assert_eq!(counter.load(Ordering::SeqCst), 1);
    assert_eq!(root.bind("/a", 0).err(), Some(Status::NOT_FOUND));
    assert_eq!(root.unregister("/a").err(), Some(Status::NOT_FOUND));
}

fn register_replaces_unless_asked_to_fail(new: fn() -> ComPtr<INamespace>) {
    let root = new();
    let counter = drops();
    root.register("/x", &label("one", &counter), 0).unwrap();
    assert_eq!(
        root.register("/x", &label("two", &counter), flags::FAIL_IF_EXISTS)
            .err(),
        Some(Status::ALREADY_EXISTS)
    );
    assert_eq!(text_of(&root.bind("/x", 0).unwrap()), "one");
    root.register("/x", &label("three", &counter), 0).unwrap();
    assert_eq!(text_of(&root.bind("/x", 0).unwrap()), "three");
    assert_eq!(
        counter.load(Ordering::SeqCst),
        2,
        "'one' and 'two' are gone"
    );
}

fn bad_names_are_rejected_by_every_method(new: fn() -> ComPtr<INamespace>) {
    let root = new();
    let object = label("x", &drops());
    let mut buffer = [0u8; 16];
    for name in ["", "relative", "/a//b", "/a/../b", "/trailing/", "/./a"] {
        assert_eq!(
            root.register(name, &object, 0).err(),
            Some(Status::INVALID_NAME),
            "{name:?}"
        );
        assert_eq!(
            root.bind(name, 0).err(),
            Some(Status::INVALID_NAME),
            "{name:?}"
        );
        assert_eq!(
            root.unregister(name).err(),
            Some(Status::INVALID_NAME),
            "{name:?}"
        );
        assert_eq!(
            root.capabilities(name).err(),
            Some(Status::INVALID_NAME),
            "{name:?}"
        );
        assert_eq!(
            root.find_first(name, &mut buffer).err(),
            Some(Status::INVALID_NAME),
            "{name:?}"
        );
    }
    assert_eq!(
        root.register("/", &object, 0).err(),
        Some(Status::INVALID_NAME)
    );
    assert_eq!(
        root.bind(&"/x".repeat(600), 0).err(),
        Some(Status::INVALID_NAME)
    );
}

fn non_utf8_names_get_a_clear_error(new: fn() -> ComPtr<INamespace>) {
    let root = new();
    // SAFETY: the first word of an interface is its vtable pointer.
    let vtbl = unsafe {
        &**(com::Interface::as_raw(&*root) as *const *const interfaces::namespace::INamespaceVtbl)
    };
    let bytes = [b'/', 0xff, 0xfe];
    let mut out = std::ptr::null_mut();
    // SAFETY: a valid call whose only fault is the string's encoding.
    let status = unsafe {
        (vtbl.bind)(
            com::Interface::as_raw(&*root),
            com::RawSlice {
                ptr: bytes.as_ptr(),
                len: 3,
            },
            0,
            &mut out,
        )
    };
    assert_eq!(status, Status::BAD_STRING);
}

fn enumeration_lists_direct_children_in_order(new: fn() -> ComPtr<INamespace>) {
    let root = new();
    let counter = drops();
    for name in [
        "/dev/uart0",
        "/dev/console",
        "/sys/heap",
        "/sys/threads/1",
        "/boot-log",
        // Sorts before `/dev/...` as a path, after `dev` as a name.
        "/dev-log",
    ] {
        root.register(name, &label(name, &counter), 0).unwrap();
    }
    assert_eq!(
        list(&root, "/").unwrap(),
        ["boot-log", "dev", "dev-log", "sys"]
    );
    assert_eq!(list(&root, "/dev").unwrap(), ["console", "uart0"]);
    assert_eq!(list(&root, "/sys").unwrap(), ["heap", "threads"]);
    assert_eq!(list(&root, "/nowhere").err(), Some(Status::NOT_FOUND));
    // A visitor's error ends the listing at once, and is the outcome.
    let mut visited = 0;
    let stopped = interfaces::namespace::for_each_name(&root, "/", |_| {
        visited += 1;
        Err(Status::ACCESS_DENIED)
    });
    assert_eq!((stopped, visited), (Err(Status::ACCESS_DENIED), 1));
    let mut tiny = [0u8; 2];
    assert_eq!(
        root.find_first("/dev", &mut tiny).err(),
        Some(Status::BUFFER_TOO_SMALL)
    );
}

fn capabilities_tell_objects_from_directories(new: fn() -> ComPtr<INamespace>) {
    let root = new();
    root.register("/dev/console", &label("c", &drops()), flags::READ)
        .unwrap();
    assert_eq!(
        root.capabilities("/").unwrap() & flags::DIRECTORY,
        flags::DIRECTORY
    );
    assert_eq!(
        root.capabilities("/dev").unwrap(),
        flags::READ | flags::DIRECTORY
    );
    assert_eq!(root.capabilities("/dev/console").unwrap(), flags::READ);
    assert_eq!(root.capabilities("/nothing").err(), Some(Status::NOT_FOUND));
}

fn an_extension_namespace_owns_everything_below_it(new: fn() -> ComPtr<INamespace>) {
    let root = new();
    let mounted = new();
    let counter = drops();
    mounted
        .register("/inner/file", &label("inside", &counter), 0)
        .unwrap();
    root.register("/mnt", &mounted.to_unknown(), flags::EXTENSION)
        .unwrap();

    assert_eq!(text_of(&root.bind("/mnt/inner/file", 0).unwrap()), "inside");
    root.register("/mnt/new", &label("new", &counter), 0)
        .unwrap();
    assert_eq!(
        text_of(&mounted.bind("/new", 0).unwrap()),
        "new",
        "registered in the extension"
    );
    assert_eq!(list(&root, "/").unwrap(), ["mnt"]);
    assert_eq!(list(&root, "/mnt").unwrap(), ["inner", "new"]);
    assert_eq!(list(&root, "/mnt/inner").unwrap(), ["file"]);
    assert_eq!(
        root.capabilities("/mnt").unwrap() & (flags::EXTENSION | flags::DIRECTORY),
        flags::EXTENSION | flags::DIRECTORY
    );
    assert_eq!(
        root.capabilities("/mnt/inner").unwrap() & flags::DIRECTORY,
        flags::DIRECTORY
    );
    root.unregister("/mnt/new").unwrap();
    assert_eq!(mounted.bind("/new", 0).err(), Some(Status::NOT_FOUND));
    let mounted_again = root.bind("/mnt", 0).unwrap().query::<INamespace>().unwrap();
    assert!(mounted_again.ptr_eq(&mounted));
}

fn an_extension_must_be_a_namespace(new: fn() -> ComPtr<INamespace>) {
    let root = new();
    assert_eq!(
        root.register("/mnt", &label("plain", &drops()), flags::EXTENSION)
            .err(),
        Some(Status::NO_INTERFACE)
    );
    assert_eq!(
        root.bind("/mnt", 0).err(),
        Some(Status::NOT_FOUND),
        "nothing half-registered"
    );
}

#[test]
fn a_missing_name_is_loaded_once_and_then_registered() {
    let (loader, loads) = slow_loader();
    let root = namespace(Some(loader));
    let object = root.bind("/svc/echo", 0).unwrap();
    assert_eq!(text_of(&object), "loaded /svc/echo");
    let again = root.bind("/svc/echo", 0).unwrap();
    assert!(again.ptr_eq(&object));
    assert_eq!(loads.load(Ordering::SeqCst), 1);
    assert_eq!(list(&root, "/svc").unwrap(), ["echo"]);
}

#[test]
fn concurrent_binds_of_one_missing_name_load_it_once() {
    let (loader, loads) = slow_loader();
    let root = namespace(Some(loader));
    let binders: Vec<_> = (0..8)
        .map(|_| {
            let root = root.clone();
            std::thread::spawn(move || root.bind("/svc/shared", 0).unwrap())
        })
        .collect();
    let objects: Vec<_> = binders
        .into_iter()
        .map(|binder| binder.join().unwrap())
        .collect();
    assert_eq!(loads.load(Ordering::SeqCst), 1);
    assert!(objects.iter().all(|object| object.ptr_eq(&objects[0])));
}

#[test]
fn concurrent_binds_of_a_broken_name_share_one_failed_load() {
    let (loader, loads) = slow_loader();
    let root = namespace(Some(loader));
    let binders: Vec<_> = (0..4)
        .map(|_| {
            let root = root.clone();
            std::thread::spawn(move || root.bind("/broken/shared", 0).err())
        })
        .collect();
    for binder in binders {
        assert_eq!(binder.join().unwrap(), Some(Status::BAD_IMAGE));
    }
    assert_eq!(
        loads.load(Ordering::SeqCst),
        1,
        "the waiters took its outcome"
    );
}

#[test]
fn a_cycle_of_two_fails_at_once_and_is_named() {
    let (root, loader) = importing(ImportingLoader::new(&[("/a", &["/b"]), ("/b", &["/a"])]));
    assert_eq!(root.bind("/a", 0).err(), Some(Status::IMPORT_CYCLE));
    assert_eq!(*loader.cycles.lock().unwrap(), ["a -> b -> a"]);
    assert_eq!(list(&root, "/").unwrap(), Vec::<String>::new());
    // Nothing is left marked as loading: the next bind finds the cycle anew.
    assert_eq!(root.bind("/b", 0).err(), Some(Status::IMPORT_CYCLE));
    assert_eq!(loader.cycles.lock().unwrap()[1], "b -> a -> b");
}

#[test]
fn a_cycle_of_three_is_named_in_import_order() {
    let (root, loader) = importing(ImportingLoader::new(&[
        ("/a", &["/b"]),
        ("/b", &["/c"]),
        ("/c", &["/a"]),
        ("/d", &["/b"]),
    ]));
    assert_eq!(root.bind("/d", 0).err(), Some(Status::IMPORT_CYCLE));
    assert_eq!(*loader.cycles.lock().unwrap(), ["b -> c -> a -> b"]);
    assert_eq!(list(&root, "/").unwrap(), Vec::<String>::new());
}

#[test]
fn shared_imports_are_not_cycles() {
    let (root, loader) = importing(ImportingLoader::new(&[
        ("/top", &["/left", "/right"]),
        ("/left", &["/base"]),
        ("/right", &["/base"]),
        ("/base", &[]),
    ]));
    root.bind("/top", 0).unwrap();
    assert!(loader.cycles.lock().unwrap().is_empty());
    assert_eq!(loader.loads.load(Ordering::SeqCst), 4);
}

#[test]
fn a_cycle_crossing_two_threads_fails_in_both() {
    let mut loader = ImportingLoader::new(&[("/a", &["/b"]), ("/b", &["/a"])]);
    // Both loads begin before either binds its import.
    loader.barrier = Some((vec!["/a", "/b"], Barrier::new(2)));
    let (root, loader) = importing(loader);
    let binders: Vec<_> = ["/a", "/b"]
        .into_iter()
        .map(|name| {
            let root = root.clone();
            std::thread::spawn(move || root.bind(name, 0).err())
        })
        .collect();
    for binder in binders {
        assert_eq!(binder.join().unwrap(), Some(Status::IMPORT_CYCLE));
    }
    let cycles = loader.cycles.lock().unwrap();
    assert_eq!(cycles.len(), 1, "found once, by the thread that closed it");
    assert!(["a -> b -> a", "b -> a -> b"].contains(&cycles[0].as_str()));
    assert_eq!(list(&root, "/").unwrap(), Vec::<String>::new());
    assert_eq!(loader.loads.load(Ordering::SeqCst), 2);
}

#[test]
fn two_threads_loading_unrelated_names_do_not_see_a_cycle() {
    let mut loader =
        ImportingLoader::new(&[("/x", &["/common"]), ("/y", &["/common"]), ("/common", &[])]);
    loader.barrier = Some((vec!["/x", "/y"], Barrier::new(2)));
    let (root, loader) = importing(loader);
    let binders: Vec<_> = ["/x", "/y"]
        .into_iter()
        .map(|name| {
            let root = root.clone();
            std::thread::spawn(move || root.bind(name, 0).is_ok())
        })
        .collect();
    for binder in binders {
        assert!(binder.join().unwrap());
    }
    assert!(loader.cycles.lock().unwrap().is_empty());
    assert_eq!(loader.loads.load(Ordering::SeqCst), 3);
}

#[test]
fn a_failed_load_leaves_nothing_registered() {
    let (loader, loads) = slow_loader();
    let root = namespace(Some(loader));
    assert_eq!(root.bind("/broken/image", 0).err(), Some(Status::BAD_IMAGE));
    assert_eq!(list(&root, "/").unwrap(), Vec::<String>::new());
    assert_eq!(root.bind("/broken/image", 0).err(), Some(Status::BAD_IMAGE));
    assert_eq!(
        loads.load(Ordering::SeqCst),
        2,
        "each bind retries the load"
    );
}

#[test]
fn directories_and_extensions_are_not_sent_to_the_loader() {
    let (loader, loads) = slow_loader();
    let root = namespace(Some(loader));
    root.register("/dev/console", &label("c", &drops()), 0)
        .unwrap();
    assert_eq!(root.bind("/dev", 0).err(), Some(Status::NOT_FOUND));
    let mounted = namespace(None);
    root.register("/mnt", &mounted.to_unknown(), flags::EXTENSION)
        .unwrap();
    assert_eq!(root.bind("/mnt/absent", 0).err(), Some(Status::NOT_FOUND));
    assert_eq!(loads.load(Ordering::SeqCst), 0);
}

#[test]
fn current_namespace_is_the_one_installed_once() {
    assert_eq!(namespace::current().err(), Some(Status::NOT_FOUND));
    let root = namespace(None);
    namespace::set_current(root.clone()).unwrap();
    assert!(namespace::current().unwrap().ptr_eq(&root));
    let other = namespace(None);
    assert_eq!(
        namespace::set_current(other).err(),
        Some(Status::ALREADY_EXISTS)
    );
    assert!(namespace::current().unwrap().ptr_eq(&root));
}

#[test]
fn a_bind_with_keep_registers_the_loaded_object_as_kept() {
    let (loader, _) = slow_loader();
    let root = namespace(Some(loader));
    root.bind("/cached", flags::KEEP).unwrap();
    root.bind("/plain", 0).unwrap();
    assert_ne!(root.capabilities("/cached").unwrap() & flags::KEEP, 0);
    assert_eq!(root.capabilities("/plain").unwrap() & flags::KEEP, 0);
}

/// A loader whose objects are namespaces, each holding one entry `/inside`;
/// with a list of images, only those names load, and only `/sys/vm` as a
/// namespace (the others as labels).
struct NamespaceLoader(Option<&'static [&'static str]>);

impl Loader for NamespaceLoader {
    fn load(&self, name: &str, _flags: u32) -> Result<ComPtr<IUnknown>> {
        match self.0 {
            Some(images) if !images.contains(&name) => return Err(Status::NOT_FOUND),
            Some(_) if name != "/sys/vm" => return Ok(label(name, &drops())),
            _ => {}
        }
        let loaded = namespace(None);
        loaded.register("/inside", &label("inside", &drops()), 0)?;
        Ok(loaded.to_unknown())
    }

    fn current_thread(&self) -> ThreadId {
        thread_id()
    }

    fn refuse_cycle(&self, cycle: &str) {
        panic!("no cycle expected, got {cycle}");
    }

    fn collect(&self) {}
}

#[test]
fn a_loaded_namespace_extends_the_tree_holding_one_reference() {
    let root = namespace(Some(Box::new(NamespaceLoader(None))));
    let loaded = root.bind("/sys/vm", 0).unwrap();
    assert_ne!(root.capabilities("/sys/vm").unwrap() & flags::EXTENSION, 0);
    assert_eq!(list(&root, "/sys/vm").unwrap(), ["inside"]);
    assert_eq!(text_of(&root.bind("/sys/vm/inside", 0).unwrap()), "inside");
    // Ours and the namespace's: nothing more is held, so the loader's
    // collection can tell when nobody else uses it.
    assert_eq!(loaded.reference_count(), 2);
}

#[test]
fn a_name_below_an_unloaded_namespace_loads_it() {
    let root = namespace(Some(Box::new(NamespaceLoader(Some(&[
        "/sys/vm", "/hello",
    ])))));
    let inside = root.bind("/sys/vm/inside", 0).unwrap();
    assert_eq!(text_of(&inside), "inside");
    assert_ne!(root.capabilities("/sys/vm").unwrap() & flags::EXTENSION, 0);
    assert_eq!(
        root.bind("/sys/vm/absent", 0).err(),
        Some(Status::NOT_FOUND)
    );
    // A parent that is no namespace, and one with no image, give nothing.
    assert_eq!(root.bind("/hello/x", 0).err(), Some(Status::NOT_FOUND));
    assert_eq!(root.bind("/none/x/y", 0).err(), Some(Status::NOT_FOUND));
    assert_eq!(root.capabilities("/none").err(), Some(Status::NOT_FOUND));
}

/// A loader that notes the name and flags of each bind that loads.
struct FlagsLoader(Arc<Mutex<Vec<(String, u32)>>>);

impl Loader for FlagsLoader {
    fn load(&self, name: &str, flags: u32) -> Result<ComPtr<IUnknown>> {
        self.0.lock().unwrap().push((name.into(), flags));
        Ok(label(name, &drops()))
    }

    fn current_thread(&self) -> ThreadId {
        thread_id()
    }

    fn refuse_cycle(&self, cycle: &str) {
        panic!("no cycle expected, got {cycle}");
    }

    fn collect(&self) {}
}

/// The kernel's module list learns from the load whether a name is kept,
/// instead of asking the namespace on each collection.
#[test]
fn the_loader_learns_whether_the_bind_keeps_the_name() {
    let loads = Arc::new(Mutex::new(Vec::new()));
    let root = namespace(Some(Box::new(FlagsLoader(loads.clone()))));
    root.bind("/kept", flags::KEEP).unwrap();
    root.bind("/plain", 0).unwrap();
    let loads = loads.lock().unwrap().clone();
    assert_eq!(
        loads,
        [
            ("/kept".to_string(), flags::KEEP),
            ("/plain".to_string(), 0)
        ]
    );
}
