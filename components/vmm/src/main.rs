//! The virtual-memory manager: Sv39 address spaces, zero-fill, file-backed and copy-on-write mappings, loaded when a space is wanted.
//!
//! Binding `/sys/vm` loads it; its object is the factory (`IVmFactory`),
//! which is also a namespace listing the live spaces (`/sys/vm/space-1`).
//! The first space or mapping installs its hooks (page faults, view
//! switches) in the kernel (`/sys/vm-kernel`) and takes the frame pool,
//! and holds the factory so `/sys/vm` stays registered; when the last
//! space and mapping are released it removes the hooks, gives the pool back and lets the
//! factory go, and the module is free to unload. Page tables are `sv39`'s
//! logic over the pool's frames (`frame-pool`); the state is one manager
//! behind one lock (`manager`); the COM objects here hold counted ids
//! into it.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

mod manager;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use com::{ComObject, ComPtr, IUnknown, Result, Status, class};
use interfaces::namespace::flags;
use interfaces::vm::{KERNEL_PATH, MANAGER_PATH, protection};
use interfaces::{
    IFile, INamespace, INamespaceImpl, IThread, IVmFactory, IVmFactoryImpl, IVmHooks, IVmHooksImpl,
    IVmKernel, IVmMapping, IVmMappingImpl, IVmSpace, IVmSpaceImpl, IVmView, IVmViewImpl,
    RegionStatus, SpaceStatus, VmStatus,
};
use sync::Mutex;

use frame_pool::Frames;
use manager::{Id, Manager, STATE, pages_of};

/// What an object handed out by this manager is, by its identity's address.
#[derive(Clone, Copy)]
enum Identity {
    Space(Id),
    Mapping(Id, u32),
}

/// The manager's objects by identity, so an object passed back in (`map`,
/// `create_view`) is known for one of ours, never trusted by its type;
/// each with the token its object forgets it by.
static IDENTITIES: Mutex<Vec<(usize, Identity, u64)>> = Mutex::new(Vec::new());

/// The next object's token.
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

/// A token for a new object.
fn new_token() -> u64 {
    NEXT_TOKEN.fetch_add(1, Ordering::Relaxed)
}

/// The address of `object`'s identity.
fn identity_of(object: &IUnknown) -> Result<usize> {
    let identity = ComPtr::from_ref(object).query::<IUnknown>()?;
    Ok(core::ptr::from_ref(identity.as_unknown()).addr())
}

/// What `object` is, if it is one of ours.
fn identify(object: &IUnknown) -> Result<Identity> {
    let address = identity_of(object)?;
    IDENTITIES
        .lock()
        .iter()
        .find(|(known, _, _)| *known == address)
        .map(|&(_, identity, _)| identity)
        .ok_or(Status::INVALID_ARGUMENT)
}

/// Records `object` as `identity`, to be forgotten by `token`.
fn remember<I: com::Interface>(object: &ComPtr<I>, identity: Identity, token: u64) -> Result<()> {
    let address = identity_of(object.as_unknown())?;
    let mut identities = IDENTITIES.lock();
    identities
        .try_reserve(1)
        .map_err(|_| Status::OUT_OF_MEMORY)?;
    identities.push((address, identity, token));
    Ok(())
}

/// Forgets the object of `token` (it is being destroyed).
fn forget(token: u64) {
    let mut identities = IDENTITIES.lock();
    identities.retain(|&(_, _, known)| known != token);
    if identities.is_empty() {
        *identities = Vec::new();
    }
}

/// The address of the factory this module's constructor returned (the
/// object the namespace registers).
static FACTORY: AtomicUsize = AtomicUsize::new(0);

/// The factory as `namespace` has it registered at `/sys/vm`, if it is
/// this module's: the manager holds it while it lives, so the name stays
/// registered — and lists the spaces — while any space or mapping does.
fn registered_factory(namespace: &INamespace) -> Option<ComPtr<IUnknown>> {
    // Bound, not first asked for: the manager is made in a call on the
    // factory a bind of the name gave. (A separate instance of this
    // module, registered nowhere, binds another object and holds nothing.)
    let factory = namespace.bind(MANAGER_PATH, 0).ok()?;
    let address = core::ptr::from_ref(factory.as_unknown()).addr();
    (address == FACTORY.load(Ordering::Relaxed)).then_some(factory)
}

/// Runs `f` on the manager, making it first if there is none: installs
/// the page-fault handler and takes the frame pool.
fn with_manager<T>(f: impl FnOnce(&mut Manager) -> Result<T>) -> Result<T> {
    run(true, f)
}

/// Runs `f` on the manager there is; `NOT_FOUND` when there is none.
fn with_existing<T>(f: impl FnOnce(&mut Manager) -> Result<T>) -> Result<T> {
    run(false, f)
}

/// Runs `f` on the manager (made first when `create`), and lets the
/// manager go when nothing is left in it.
fn run<T>(create: bool, f: impl FnOnce(&mut Manager) -> Result<T>) -> Result<T> {
    let mut state = STATE.lock();
    let manager = if create {
        made(&mut state)?
    } else {
        state.as_mut().ok_or(Status::NOT_FOUND)?
    };
    let outcome = f(manager);
    leave_if_empty(&mut state);
    outcome
}

/// The manager, made first if there is none: installs the page-fault
/// handler and takes the frame pool. Out of line, like
/// [`leave_if_empty`], so each caller's copy of [`run`] stays small.
#[inline(never)]
fn made(state: &mut Option<Manager>) -> Result<&mut Manager> {
    if state.is_none() {
        let namespace = component::namespace()?;
        let kernel = namespace.bind(KERNEL_PATH, 0)?.query::<IVmKernel>()?;
        let handler = ComObject::create::<IVmHooks>(FaultHandler);
        VIEW_SWITCHES.store(0, Ordering::Relaxed);
        let frames = Frames::lend(&kernel, handler.as_unknown())?;
        let factory = registered_factory(&namespace);
        *state = Some(Manager::new(kernel, frames, factory));
    }
    state.as_mut().ok_or(Status::FAILED)
}

/// Lets the manager go once nothing is left in it.
#[inline(never)]
fn leave_if_empty(state: &mut Option<Manager>) {
    if state.as_ref().is_some_and(Manager::is_empty) {
        leave(state);
    }
}

/// Removes the handler and gives the pool back, once nothing is left.
fn leave(state: &mut Option<Manager>) {
    let Some(manager) = state.as_ref() else {
        return;
    };
    if manager.kernel().remove().is_ok() {
        // The pool's frames go with the manager, after the kernel took it
        // back, and so does its hold on the factory.
        *state = None;
    }
}

/// The factory: what `/sys/vm` binds to; as a namespace, the live spaces.
#[class(IVmFactory, INamespace)]
struct Factory;

/// A space's name under `/sys/vm`: `space-` and its id + 1.
const SPACE_PREFIX: &str = "space-";

/// The space named `name` (`space-1`, with or without a leading `/`).
/// Digits read by hand, in less code than `str::parse` (this module's
/// size is most of what loading it costs).
fn space_named(name: &str) -> Result<Id> {
    let digits = name
        .strip_prefix('/')
        .unwrap_or(name)
        .strip_prefix(SPACE_PREFIX)
        .filter(|digits| digits.len() <= 9)
        .ok_or(Status::NOT_FOUND)?;
    let mut number: Id = 0;
    for (at, digit) in digits.bytes().enumerate() {
        if !digit.is_ascii_digit() || (at == 0 && digit == b'0') {
            return Err(Status::NOT_FOUND);
        }
        number = number * 10 + Id::from(digit - b'0');
    }
    number.checked_sub(1).ok_or(Status::NOT_FOUND)
}

/// Writes the name of the first live space after `after` into `buffer`.
fn list_space(directory: &str, after: Option<Id>, buffer: &mut [u8]) -> Result<usize> {
    if directory != "/" {
        return Err(Status::NOT_FOUND);
    }
    let next = STATE
        .lock()
        .as_ref()
        .and_then(|manager| manager.live_spaces(after).next())
        .ok_or(Status::NO_MORE_ENTRIES)?;
    let mut name = component::Text::new(buffer);
    name.push(SPACE_PREFIX)?.decimal(next as u64 + 1)?;
    Ok(name.len())
}

impl INamespaceImpl for Factory {
    fn register(&self, _name: &str, _object: &IUnknown, _flags: u32) -> Result<()> {
        Err(Status::ACCESS_DENIED)
    }

    fn unregister(&self, _name: &str) -> Result<()> {
        Err(Status::ACCESS_DENIED)
    }

    /// A new reference to the space named.
    fn bind(&self, name: &str, _flags: u32) -> Result<ComPtr<IUnknown>> {
        let id = space_named(name)?;
        with_existing(|manager| manager.hold_space(id)).map_err(|_| Status::NOT_FOUND)?;
        Ok(SpaceObject::create(id)?.to_unknown())
    }

    fn find_first(&self, directory: &str, buffer: &mut [u8]) -> Result<usize> {
        list_space(directory, None, buffer)
    }

    fn find_next(&self, directory: &str, previous: &str, buffer: &mut [u8]) -> Result<usize> {
        list_space(directory, Some(space_named(previous)?), buffer)
    }

    fn capabilities(&self, name: &str) -> Result<u32> {
        if name == "/" {
            return Ok(flags::READ | flags::DIRECTORY);
        }
        INamespaceImpl::bind(self, name, 0).map(|_| flags::READ)
    }
}

impl IVmFactoryImpl for Factory {
    fn create_space(&self) -> Result<ComPtr<IVmSpace>> {
        let id = with_manager(Manager::create_space)?;
        SpaceObject::create(id)
    }

    fn create_zero_mapping(&self, size: u64) -> Result<ComPtr<IVmMapping>> {
        let id = with_manager(|manager| manager.create_zero_mapping(size))?;
        MappingObject::create(
            id,
            protection::READ | protection::WRITE | protection::EXECUTE,
        )
    }

    fn create_file_mapping(&self, path: &str) -> Result<ComPtr<IVmMapping>> {
        let file = component::namespace()?.bind(path, 0)?.query::<IFile>()?;
        let size = file.size()?;
        let id = with_manager(|manager| manager.create_file_mapping(file, size))?;
        MappingObject::create(
            id,
            protection::READ | protection::WRITE | protection::EXECUTE,
        )
    }

    fn create_view(&self, space: &IUnknown) -> Result<ComPtr<IVmView>> {
        let Identity::Space(id) = identify(space)? else {
            return Err(Status::INVALID_ARGUMENT);
        };
        with_existing(|manager| manager.hold_space(id))?;
        Ok(ComObject::create(ViewObject {
            space: Mutex::new(id),
        }))
    }

    fn status(&self) -> Result<VmStatus> {
        let state = STATE.lock();
        Ok(state
            .as_ref()
            .map(|manager| VmStatus {
                view_switches: VIEW_SWITCHES.load(Ordering::Relaxed),
                ..manager.status()
            })
            .unwrap_or_default())
    }
}

/// One reference to a space, which also answers as a mapping of its
/// lower half: offsets are its addresses.
#[class(IVmSpace, IVmMapping)]
struct SpaceObject {
    id: Id,
    token: u64,
}

impl SpaceObject {
    /// The object for space `id`, which already counts its reference (the
    /// object lets go of it, made or not).
    fn create(id: Id) -> Result<ComPtr<IVmSpace>> {
        let token = new_token();
        let object = ComObject::create::<IVmSpace>(SpaceObject { id, token });
        remember(&object, Identity::Space(id), token)?;
        Ok(object)
    }
}

impl IVmSpaceImpl for SpaceObject {
    fn reserve(&self, address: u64, size: u64) -> Result<u64> {
        with_existing(|manager| manager.reserve(self.id, address, size))
    }

    fn delete(&self, address: u64, size: u64) -> Result<()> {
        let deleted = with_existing(|manager| manager.delete(self.id, address, size));
        // A clone of a space mapped there may have held its last reference.
        destroy_dying_spaces();
        deleted
    }

    fn map(
        &self,
        address: u64,
        mapping: &IUnknown,
        offset: u64,
        size: u64,
        allowed: u32,
    ) -> Result<u64> {
        let Identity::Mapping(mapping, most) = identify(mapping)? else {
            return Err(Status::INVALID_ARGUMENT);
        };
        if allowed & !protection::WIRED & !most != 0 {
            return Err(Status::ACCESS_DENIED);
        }
        if !offset.is_multiple_of(sv39::PAGE_SIZE) {
            return Err(Status::INVALID_ARGUMENT);
        }
        let pages = pages_of(size)?;
        with_existing(|manager| {
            manager.map(
                self.id,
                address,
                mapping,
                offset / sv39::PAGE_SIZE,
                pages,
                allowed,
            )
        })
    }

    fn protect(&self, address: u64, size: u64, allowed: u32) -> Result<()> {
        with_existing(|manager| manager.protect(self.id, address, size, allowed))
    }

    fn cache_control(&self, address: u64, size: u64, operation: u32) -> Result<()> {
        with_existing(|manager| manager.cache_control(self.id, address, size, operation))
    }

    fn query_region(&self, address: u64) -> Result<RegionStatus> {
        with_existing(|manager| manager.query(self.id, address))
    }

    fn create_shadow(&self, address: u64) -> Result<ComPtr<IVmMapping>> {
        let id = with_existing(|manager| {
            let (mapping, page) = manager.mapping_at(self.id, address)?;
            manager.create_shadow(mapping, page)
        })?;
        MappingObject::create(
            id,
            protection::READ | protection::WRITE | protection::EXECUTE,
        )
    }

    fn status(&self) -> Result<SpaceStatus> {
        with_existing(|manager| manager.space_status(self.id))
    }

    fn check_access(&self, address: u64, length: u64, access: u32) -> Result<()> {
        with_existing(|manager| manager.check_access(self.id, address, length, access))
    }

    fn read_checked(&self, address: u64, buffer: &mut [u8]) -> Result<()> {
        with_existing(|manager| manager.read_checked(self.id, address, buffer))
    }

    fn write_checked(&self, address: u64, data: &[u8]) -> Result<()> {
        with_existing(|manager| manager.write_checked(self.id, address, data))
    }
}

/// What a space allows as a mapping at most: reading and writing (what its
/// regions allow decides, page by page).
const SPACE_ACCESS: u32 = protection::READ | protection::WRITE;

impl IVmMappingImpl for SpaceObject {
    fn size(&self) -> Result<u64> {
        Ok(manager::USER_END)
    }

    fn read(&self, offset: u64, buffer: &mut [u8]) -> Result<usize> {
        with_existing(|manager| manager.read_space(self.id, offset, buffer))
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<usize> {
        with_existing(|manager| manager.write_space(self.id, offset, data))
    }

    fn query_access(&self) -> Result<u32> {
        Ok(SPACE_ACCESS)
    }

    /// A clone of the whole space, allowing at most `allowed`.
    fn restrict(&self, allowed: u32) -> Result<ComPtr<IVmMapping>> {
        self.share(0, manager::USER_END, allowed)
    }

    fn share(&self, offset: u64, size: u64, allowed: u32) -> Result<ComPtr<IVmMapping>> {
        share(Identity::Space(self.id), offset, size, allowed)
    }
}

/// A mapping of `size` bytes from `offset` of space or mapping `of`:
/// a clone of a space, or a window on a mapping, allowing `allowed`.
fn share(of: Identity, offset: u64, size: u64, allowed: u32) -> Result<ComPtr<IVmMapping>> {
    let most = match of {
        Identity::Space(_) => SPACE_ACCESS,
        Identity::Mapping(_, most) => most,
    };
    if allowed & !most != 0 {
        return Err(Status::ACCESS_DENIED);
    }
    if !offset.is_multiple_of(sv39::PAGE_SIZE) {
        return Err(Status::INVALID_ARGUMENT);
    }
    let (first_page, pages) = (offset / sv39::PAGE_SIZE, pages_of(size)?);
    let id = with_existing(|manager| match of {
        Identity::Space(space) => manager.create_space_clone(space, first_page, pages),
        Identity::Mapping(mapping, _) => manager.create_window(mapping, first_page, pages),
    })?;
    MappingObject::create(id, allowed)
}

impl Drop for SpaceObject {
    fn drop(&mut self) {
        forget(self.token);
        release_space(self.id);
    }
}

/// Lets go of one reference to space `id`; after the last it is
/// destroyed once no thread runs in it any more.
fn release_space(id: Id) {
    let _ = with_existing(|manager| {
        manager.release_space(id);
        Ok(())
    });
    destroy_dying_spaces();
}

/// Destroys every space nothing refers to any more (a released space, or
/// one a released clone showed), each once no thread runs in it.
fn destroy_dying_spaces() {
    while let Ok(Some((kernel, id, view))) = with_existing(|manager| {
        Ok(manager
            .dying_space()
            .map(|(id, view)| (manager.kernel(), id, view)))
    }) {
        wait_until_unused(&kernel, view);
        let _ = with_existing(|manager| {
            manager.destroy_space(id);
            Ok(())
        });
    }
}

/// Sleeps until no thread has `view` (a thread may still run in a space
/// whose objects were all released).
fn wait_until_unused(kernel: &IVmKernel, view: u64) {
    // Bound only when there is something to wait for.
    let mut scheduler = None;
    while kernel.view_users(view).is_ok_and(|users| users > 0) {
        let Some(scheduler) = scheduler.get_or_insert_with(|| component::threads::scheduler().ok())
        else {
            return;
        };
        let now = scheduler.now().unwrap_or(0);
        let millisecond = scheduler.ticks_per_second().unwrap_or(1000) / 1000;
        let _ = scheduler.sleep_until(now + millisecond.max(1));
    }
}

/// One reference to a mapping, allowing at most `allowed`.
#[class(IVmMapping)]
struct MappingObject {
    id: Id,
    allowed: u32,
    token: u64,
}

impl MappingObject {
    /// The object for mapping `id`, which already counts its reference (the
    /// object lets go of it, made or not).
    fn create(id: Id, allowed: u32) -> Result<ComPtr<IVmMapping>> {
        let token = new_token();
        let object = ComObject::create::<IVmMapping>(MappingObject { id, allowed, token });
        remember(&object, Identity::Mapping(id, allowed), token)?;
        Ok(object)
    }
}

impl IVmMappingImpl for MappingObject {
    fn size(&self) -> Result<u64> {
        with_existing(|manager| manager.mapping_size(self.id))
    }

    fn read(&self, offset: u64, buffer: &mut [u8]) -> Result<usize> {
        with_existing(|manager| manager.read(self.id, offset, buffer))
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<usize> {
        if self.allowed & protection::WRITE == 0 {
            return Err(Status::ACCESS_DENIED);
        }
        with_existing(|manager| manager.write(self.id, offset, data))
    }

    fn query_access(&self) -> Result<u32> {
        Ok(self.allowed)
    }

    fn restrict(&self, allowed: u32) -> Result<ComPtr<IVmMapping>> {
        if allowed & !self.allowed != 0 {
            return Err(Status::ACCESS_DENIED);
        }
        with_existing(|manager| manager.hold_mapping(self.id))?;
        MappingObject::create(self.id, allowed)
    }

    fn share(&self, offset: u64, size: u64, allowed: u32) -> Result<ComPtr<IVmMapping>> {
        share(
            Identity::Mapping(self.id, self.allowed),
            offset,
            size,
            allowed,
        )
    }
}

impl Drop for MappingObject {
    fn drop(&mut self) {
        forget(self.token);
        let _ = with_existing(|manager| {
            manager.release_mapping(self.id);
            Ok(())
        });
        // A clone of a space may have held its last reference.
        destroy_dying_spaces();
    }
}

/// A view: how threads enter a space.
#[class(IVmView)]
struct ViewObject {
    space: Mutex<Id>,
}

impl ViewObject {
    fn space(&self) -> Id {
        *self.space.lock()
    }

    fn satp(&self) -> Result<(ComPtr<IVmKernel>, u64)> {
        let id = self.space();
        with_existing(|manager| Ok((manager.kernel(), manager.space_view(id)?)))
    }
}

impl IVmViewImpl for ViewObject {
    fn switch_to(&self) -> Result<()> {
        let (kernel, view) = self.satp()?;
        kernel.set_view(view)
    }

    fn fault(&self, address: u64, access: u32) -> Result<()> {
        let id = self.space();
        with_existing(|manager| manager.resolve(id, address, access))
    }

    fn set_mapping(&self, space: &IUnknown) -> Result<()> {
        let Identity::Space(id) = identify(space)? else {
            return Err(Status::INVALID_ARGUMENT);
        };
        with_existing(|manager| manager.hold_space(id))?;
        let old = core::mem::replace(&mut *self.space.lock(), id);
        release_space(old);
        Ok(())
    }

    fn get_mapping(&self) -> Result<ComPtr<IVmSpace>> {
        let id = self.space();
        with_existing(|manager| manager.hold_space(id))?;
        SpaceObject::create(id)
    }

    fn start_thread(&self, entry: u64, argument: u64, stack: u64) -> Result<ComPtr<IThread>> {
        let (kernel, view) = self.satp()?;
        kernel.start_user_thread(entry, argument, stack, view)
    }
}

impl Drop for ViewObject {
    fn drop(&mut self) {
        release_space(self.space());
    }
}

/// Changes of view the view-switch hook saw since the manager was made:
/// counted without a lock, as the hook runs inside the context switch.
static VIEW_SWITCHES: AtomicU64 = AtomicU64::new(0);

/// The hooks the kernel calls: page faults and changes of view.
#[class(IVmHooks)]
struct FaultHandler;

impl IVmHooksImpl for FaultHandler {
    fn view_switched(&self, _from: u64, _to: u64) -> Result<()> {
        VIEW_SWITCHES.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn page_fault(&self, view: u64, address: u64, access: u32) -> Result<()> {
        let mut state = STATE.lock();
        let manager = state.as_mut().ok_or(Status::ACCESS_VIOLATION)?;
        let id = manager
            .space_of_view(view)
            .ok_or(Status::ACCESS_VIOLATION)?;
        manager.resolve(id, address, access)
    }
}

fn construct() -> Result<ComPtr<IUnknown>> {
    let factory = ComObject::create::<IVmFactory>(Factory).to_unknown();
    FACTORY.store(
        core::ptr::from_ref(factory.as_unknown()).addr(),
        Ordering::Relaxed,
    );
    Ok(factory)
}

component::component!(construct);
