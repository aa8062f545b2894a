//! The interposer component: filters (a tracer, a read-only guard) put in front of live objects.
//!
//! Loaded on demand when something binds `/interpose` (the shell's `trace`,
//! `untrace`, `readonly` and `readwrite` do). To put a filter in front of
//! interface `I` of an object, the interposer clones the object's method
//! table for `I` and points the object's slot at the clone: everyone who
//! holds the object — its address unchanged — now calls the filter. The
//! clone's methods are generic forwarders, one per method index, driven by
//! `I`'s signature table: the tracer decodes the arguments and result it
//! logs from it, the read-only guard finds the write-class methods in it.
//! Each forwarder then calls the original method with the registers it was
//! given, on the object's own state (which never moves, so objects whose
//! address others hold — locks, wait queues — stay valid). Taking the
//! filter away points the slot back at the original table — unless the
//! slot has changed since (a mutation gave the object new tables, which
//! replaced the clone), when it is left as it is.
//!
//! A slot changes with one compare-and-swap, so every call starts through
//! one table or the other; for a mutable object the swap is a mutation run
//! by `/mutate` (made on the table `/mutate` stages for the slot, which the
//! slot takes when the mutation ends), so it never overlaps another
//! mutation of the object. A
//! filter is listed before the slot points at its clone and until it no
//! longer does, and a forwarder looks its filter up by the table the object
//! has *now*: a call that reaches a forwarder just after the filter was
//! taken away finds none and goes on through the current table. A filter
//! taken away is freed after a grace period (a caller preempted between
//! loading the clone and entering its forwarder has run since) and once no
//! forwarder runs in it.
//!
//! Depends on `com`, `interfaces` and `private-interfaces` (whose signature
//! tables it knows) and the console at `/dev/console`, where trace lines go.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};

use com::{
    ArgKind, ComObject, ComPtr, Guid, IMutable, IUnknown, Interface, InterfaceSignature,
    MethodSignature, MutableObject, Result, Status, class,
};
use component::Text;
use interfaces::interpose::filters;
use interfaces::mutate::flags;
use interfaces::{
    IConsole, IFile, IInterpose, IInterposeImpl, IMutate, INamespace, ITransition, ITransitionImpl,
};
use private_interfaces::{ICounter, IHello};
use sync::Mutex;

/// The interfaces whose signature tables the interposer knows, in the
/// order it tries them when asked for "the object's interface".
const KNOWN: &[&InterfaceSignature] = &[
    ICounter::SIGNATURE,
    IFile::SIGNATURE,
    IHello::SIGNATURE,
    IConsole::SIGNATURE,
    IMutate::SIGNATURE,
    INamespace::SIGNATURE,
];

/// How long putting a filter in front of a mutable object, or taking it
/// away, may wait for the object's other mutations.
const SWAP_TIMEOUT_US: u64 = 1_000_000;
/// How often putting a filter in tries again when the object's table
/// changed under it.
const ATTEMPTS: usize = 3;

/// Argument registers a forwarder passes on after the object pointer.
const FORWARDED: usize = 7;
/// Vtable entries before the methods: `QueryInterface`, `AddRef`, `Release`.
const BASE: usize = 3;

/// What a method looks like in the machine: the object pointer and seven
/// more argument registers, a status back. Every method of the ABI fits
/// (no argument is a float, none is passed on the stack).
type Method =
    unsafe extern "C" fn(*mut c_void, usize, usize, usize, usize, usize, usize, usize) -> Status;

/// One filter in front of one slot of one object.
struct Filter {
    /// The slot (the interface pointer) the filter stands in front of.
    slot: usize,
    /// The table the slot held before, which the forwarders call on.
    original: *const usize,
    /// The clone the slot points at: the base entries, then forwarders.
    clone: Box<[usize]>,
    signature: &'static InterfaceSignature,
    kind: u32,
    label: String,
    /// Forwarders running in this filter now.
    running: AtomicU32,
    /// Set once a grace period has passed since the filter was taken away:
    /// no caller can still be about to enter its clone.
    graced: AtomicBool,
    /// Where trace lines go.
    console: Option<ComPtr<IConsole>>,
    /// The object, kept alive while its slot points at the clone.
    _object: ComPtr<IUnknown>,
    /// The interposer, kept registered (and this module loaded) while a
    /// filter of its may run.
    _interposer: ComPtr<IUnknown>,
}

impl Filter {
    /// The clone's method table, as the object's slot holds it.
    fn clone_start(&self) -> *mut c_void {
        self.clone.as_ptr().cast_mut().cast()
    }
}

// SAFETY: the raw pointers name immutable method tables and an object the
// filter's owner keeps alive; the rest is shared through atomics.
#[allow(unsafe_code, reason = "raw method-table pointers in a shared record")]
unsafe impl Send for Filter {}
// SAFETY: as above.
#[allow(unsafe_code, reason = "raw method-table pointers in a shared record")]
unsafe impl Sync for Filter {}

/// Filters, boxed: a running forwarder holds its filter's address while the
/// lists change.
#[allow(clippy::vec_box, reason = "clones hold their filter's address")]
type Filters = Vec<Box<Filter>>;

/// Filters in place, and filters taken away that a forwarder may still run in.
static FILTERS: Mutex<Filters> = Mutex::new(Vec::new());
static RETIRED: Mutex<Filters> = Mutex::new(Vec::new());
/// Held while a filter goes in or out, so that one at a time lists a filter
/// and swaps its slot (forwarders never take it).
static CHANGING: Mutex<()> = Mutex::new(());

#[class(IInterpose)]
struct Interposer;

impl IInterposeImpl for Interposer {
    fn interpose(&self, object: &IUnknown, iid: &Guid, filter: u32, label: &str) -> Result<()> {
        free_retired();
        if filter != filters::TRACE && filter != filters::READ_ONLY {
            return Err(Status::INVALID_ARGUMENT);
        }
        let (signature, interface) = find_interface(object, iid)?;
        if signature.methods.len() > FORWARDERS.len() || !signature.methods.iter().all(fits) {
            return Err(Status::NOT_SUPPORTED);
        }
        // Exposed: `slot_of` turns it back into the slot.
        let slot = interface.as_raw().expose_provenance();
        let _changing = CHANGING.lock();
        // While another mutation of the object is under way its slot holds
        // a held table, not the one to filter, and the swap fails with
        // `RETRY`; the swap is a mutation too, so by then that one is over
        // and the slot read again holds the object's real table.
        let mut outcome = Err(Status::RETRY);
        for _ in 0..ATTEMPTS {
            outcome = put_in(object, slot, signature, filter, label);
            if outcome != Err(Status::RETRY) {
                break;
            }
        }
        outcome
    }

    fn remove(&self, object: &IUnknown, iid: &Guid) -> Result<()> {
        let slot = if *iid == Guid::default() {
            None
        } else {
            Some(find_interface(object, iid)?.1.as_raw().addr())
        };
        let identity = object.query::<IUnknown>()?;
        let changing = CHANGING.lock();
        let (slot, clone, original) = FILTERS
            .lock()
            .iter()
            .find(|filter| match slot {
                Some(slot) => filter.slot == slot,
                None => belongs_to(filter, &identity),
            })
            .map(|filter| (filter.slot, filter.clone_start(), filter.original))
            .ok_or(Status::NOT_FOUND)?;
        // The original table goes back unless the slot has changed since
        // (a mutation installed its own tables over the clone): then the
        // slot stays as it is. The filter stays listed until the slot no
        // longer points at its clone.
        let swapped = swap_slot(object, slot, clone, original.cast_mut().cast());
        if swapped.is_err() && points_at(slot, clone) {
            return swapped;
        }
        let retired = unlist(clone).ok_or(Status::NOT_FOUND)?;
        drop(changing);
        RETIRED.lock().push(retired);
        component::grace_period();
        // Only graced filters are freed, so this one is still listed.
        if let Some(filter) = RETIRED
            .lock()
            .iter()
            .find(|filter| filter.clone_start() == clone)
        {
            filter.graced.store(true, Ordering::Release);
        }
        free_retired();
        Ok(())
    }
}

/// Lists a filter of kind `filter` for the slot at `slot` and points the
/// slot at its clone of the table the slot holds now.
fn put_in(
    object: &IUnknown,
    slot: usize,
    signature: &'static InterfaceSignature,
    filter: u32,
    label: &str,
) -> Result<()> {
    let mut record = Box::new(Filter {
        slot,
        original: slot_of(slot).load(Ordering::Acquire).cast_const().cast(),
        clone: Box::new([]),
        signature,
        kind: filter,
        label: String::from(label),
        running: AtomicU32::new(0),
        graced: AtomicBool::new(false),
        console: trace_console(filter, object)?,
        _object: object.query::<IUnknown>()?,
        _interposer: component::namespace()?.bind(interfaces::interpose::PATH, 0)?,
    });
    record.clone = clone_table(&record);
    let (original, clone) = (record.original.cast_mut().cast(), record.clone_start());
    {
        // In the list before the slot points at the clone, so every
        // forwarder reached through the clone finds its filter.
        let mut installed = FILTERS.lock();
        if installed.iter().any(|filter| filter.slot == slot) {
            return Err(Status::ALREADY_EXISTS);
        }
        installed.push(record);
    }
    // The slot decides, whatever the swap reported: a filter stays
    // listed exactly while the slot may point at its clone.
    let swapped = swap_slot(object, slot, original, clone);
    if swapped.is_err() && !points_at(slot, clone) {
        // No forwarder can have found it: the slot never held the clone.
        drop(unlist(clone));
        return swapped;
    }
    Ok(())
}

/// True when the slot at `address` holds the table `table`.
fn points_at(address: usize, table: *mut c_void) -> bool {
    slot_of(address).load(Ordering::Acquire) == table
}

/// Takes the filter whose clone starts at `clone` off the list.
fn unlist(clone: *mut c_void) -> Option<Box<Filter>> {
    let mut installed = FILTERS.lock();
    let index = installed
        .iter()
        .position(|filter| filter.clone_start() == clone)?;
    let filter = installed.swap_remove(index);
    give_back_if_empty(&mut installed);
    Some(filter)
}

/// Points the slot at `address` from the table `from` to `to`; `RETRY` if
/// it no longer holds `from`. For a mutable object the change is a
/// mutation (by abort: calls inside are issued again on the new table), so
/// it never overlaps another mutation of the object — whose rollback could
/// otherwise put back a table this has changed.
fn swap_slot(object: &IUnknown, address: usize, from: *mut c_void, to: *mut c_void) -> Result<()> {
    let swap = SwapSlot {
        address,
        from: from.expose_provenance(),
        to: to.expose_provenance(),
    };
    if object.query::<IMutable>().is_err() {
        return swap.apply_now();
    }
    let mutate = component::namespace()?
        .bind(interfaces::mutate::PATH, 0)?
        .query::<IMutate>()?;
    let transition = ComObject::create::<ITransition>(swap);
    mutate.mutate_object(object, &transition, flags::BY_ABORT, SWAP_TIMEOUT_US)
}

/// A slot change, as a transition of a mutable object.
#[class(ITransition)]
struct SwapSlot {
    address: usize,
    from: usize,
    to: usize,
}

impl SwapSlot {
    /// The swap of a plain object: in the slot itself.
    fn apply_now(&self) -> Result<()> {
        self.exchange(slot_of(self.address))
    }

    fn exchange(&self, cell: &AtomicPtr<c_void>) -> Result<()> {
        cell.compare_exchange(
            core::ptr::with_exposed_provenance_mut(self.from),
            core::ptr::with_exposed_provenance_mut(self.to),
            Ordering::AcqRel,
            Ordering::Acquire,
        )
        .map(drop)
        .map_err(|_| Status::RETRY)
    }
}

impl ITransitionImpl for SwapSlot {
    /// The swap of a mutable object, in the cell the mutator stages for
    /// the slot (the slot holds a held table until the mutator lets go).
    fn apply(&self, object: &IUnknown) -> Result<()> {
        let target = MutableObject::of(object)?;
        let index = target
            .slot_index(core::ptr::with_exposed_provenance_mut(self.address))
            .ok_or(Status::INVALID_ARGUMENT)?;
        target.swap_vtable(
            index,
            core::ptr::with_exposed_provenance_mut(self.from),
            core::ptr::with_exposed_provenance_mut(self.to),
        )
    }
}

/// The signature and interface pointer of interface `iid` of `object`, or
/// of the first known one it has for the nil IID.
fn find_interface(
    object: &IUnknown,
    iid: &Guid,
) -> Result<(&'static InterfaceSignature, ComPtr<IUnknown>)> {
    KNOWN
        .iter()
        .filter(|signature| *iid == Guid::default() || signature.iid == *iid)
        .find_map(|signature| Some((*signature, object.query_iid(&signature.iid).ok()?)))
        .ok_or(Status::NOT_SUPPORTED)
}

/// True when `filter` stands in front of a slot of the object `identity`.
fn belongs_to(filter: &Filter, identity: &ComPtr<IUnknown>) -> bool {
    KNOWN.iter().any(|signature| {
        signature.iid == filter.signature.iid
            && identity
                .query_iid(&signature.iid)
                .ok()
                .is_some_and(|interface| interface.as_raw().addr() == filter.slot)
    })
}

/// How many argument registers `method` takes (beyond the object pointer)
/// fits in what a forwarder passes on.
fn fits(method: &MethodSignature) -> bool {
    let registers: usize = method.args.iter().map(|arg| registers(arg.kind)).sum();
    registers + usize::from(method.ret.is_some()) <= FORWARDED
}

fn registers(kind: ArgKind) -> usize {
    match kind {
        ArgKind::Str | ArgKind::Bytes | ArgKind::BytesMut => 2,
        _ => 1,
    }
}

/// The console trace lines go to, for the tracer; the console cannot be
/// traced through itself.
fn trace_console(filter: u32, object: &IUnknown) -> Result<Option<ComPtr<IConsole>>> {
    if filter != filters::TRACE {
        return Ok(None);
    }
    let console = component::namespace()?
        .bind("/dev/console", 0)?
        .query::<IConsole>()?;
    let traced = object.query::<IUnknown>()?;
    if console.query::<IUnknown>()?.ptr_eq(&traced) {
        return Err(Status::INVALID_ARGUMENT);
    }
    Ok(Some(console))
}

/// The clone of `filter`'s original table: the original's base entries
/// (identity and references are the object's own), then a forwarder per
/// method.
fn clone_table(filter: &Filter) -> Box<[usize]> {
    let methods = filter.signature.methods.len();
    let mut clone = Vec::with_capacity(BASE + methods);
    for index in 0..BASE {
        clone.push(original_entry(filter, index));
    }
    clone.extend(
        FORWARDERS
            .iter()
            .take(methods)
            .map(|forwarder| *forwarder as usize),
    );
    clone.into_boxed_slice()
}

/// Entry `index` of the original table.
fn original_entry(filter: &Filter, index: usize) -> usize {
    #[allow(unsafe_code, reason = "reading a method table")]
    // SAFETY: the original table has the base entries and one per method
    // of the signature, and callers stay below that.
    unsafe {
        *filter.original.add(index)
    }
}

/// The slot at `address` (an interface pointer) as the atomic it is.
fn slot_of<'a>(address: usize) -> &'a AtomicPtr<c_void> {
    #[allow(unsafe_code, reason = "an interface pointer is its vtable slot")]
    // SAFETY: an interface pointer points at its object's vtable slot, an
    // atomic pointer by the object layout; its owner keeps it alive.
    unsafe {
        &*core::ptr::with_exposed_provenance::<AtomicPtr<c_void>>(address)
    }
}

/// The method table the object at `this` points at.
fn object_vtable(this: *mut c_void) -> *const usize {
    slot_of(this.addr())
        .load(Ordering::Acquire)
        .cast_const()
        .cast()
}

/// Frees the retired filters whose grace period has passed and in which no
/// forwarder runs any more — after unlocking, since freeing one releases
/// its object and the interposer.
fn free_retired() {
    let freed: Filters = {
        let mut retired = RETIRED.lock();
        let (freed, kept) = core::mem::take(&mut *retired)
            .into_iter()
            .partition(|filter| {
                filter.graced.load(Ordering::Acquire) && filter.running.load(Ordering::Acquire) == 0
            });
        *retired = kept;
        give_back_if_empty(&mut retired);
        freed
    };
    drop(freed);
}

/// Frees an empty list's memory: the lists are statics, never dropped, and
/// the module may unload once they are empty.
fn give_back_if_empty(filters: &mut Filters) {
    if filters.is_empty() {
        *filters = Vec::new();
    }
}

/// A forwarder for each method index.
const FORWARDERS: [Method; 12] = [
    forward::<0>,
    forward::<1>,
    forward::<2>,
    forward::<3>,
    forward::<4>,
    forward::<5>,
    forward::<6>,
    forward::<7>,
    forward::<8>,
    forward::<9>,
    forward::<10>,
    forward::<11>,
];

/// Method `M` of every clone: filters the call, then makes it on the
/// original table with the same registers.
#[allow(unsafe_code, reason = "a forwarder is called by the ABI")]
unsafe extern "C" fn forward<const M: usize>(
    this: *mut c_void,
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
    a5: usize,
    a6: usize,
    a7: usize,
) -> Status {
    let registers = [a1, a2, a3, a4, a5, a6, a7];
    let Some(filter) = enter_filter(this) else {
        // The filter was taken away after the caller loaded its clone: the
        // call goes on through the table the object has now (never a clone
        // without its filter listed), keeping this code loaded meanwhile.
        let _loaded = com::KeepLoaded::this_module();
        return call_method(object_vtable(this), M, this, registers);
    };
    // SAFETY: `enter_filter` counted this forwarder as running in the
    // filter, which is not freed while one runs.
    let filter = unsafe { &*filter };
    let status = filtered(filter, M, this, registers);
    filter.running.fetch_sub(1, Ordering::AcqRel);
    status
}

/// The filter whose clone the object at `this` calls through now, counted
/// as running (looked up and counted under the lock `remove` takes).
fn enter_filter(this: *mut c_void) -> Option<*const Filter> {
    let installed = FILTERS.lock();
    let vtable = object_vtable(this).cast_mut().cast::<c_void>();
    let filter = installed
        .iter()
        .find(|filter| filter.clone_start() == vtable)?;
    filter.running.fetch_add(1, Ordering::AcqRel);
    Some(&raw const **filter)
}

/// Calls method `method` of `table` on `this` with `registers`.
fn call_method(
    table: *const usize,
    method: usize,
    this: *mut c_void,
    registers: [usize; FORWARDED],
) -> Status {
    #[allow(unsafe_code, reason = "calling a method by its table entry")]
    // SAFETY: `table` is a method table of the interface the forwarder
    // stands in for, so entry `BASE + method` is that method; passing it
    // more argument registers than it declares is harmless in the RISC-V
    // calling convention (they are caller-saved and ignored), and `fits`
    // refused methods whose arguments would not all be passed.
    unsafe {
        let method: Method = core::mem::transmute(*table.add(BASE + method));
        let [a1, a2, a3, a4, a5, a6, a7] = registers;
        method(this, a1, a2, a3, a4, a5, a6, a7)
    }
}

fn filtered(
    filter: &Filter,
    method: usize,
    this: *mut c_void,
    registers: [usize; FORWARDED],
) -> Status {
    let Some(signature) = filter.signature.methods.get(method) else {
        return Status::NOT_SUPPORTED;
    };
    if filter.kind == filters::READ_ONLY && writes(signature) {
        return Status::ACCESS_DENIED;
    }
    let status = call_method(filter.original, method, this, registers);
    if let Some(console) = &filter.console {
        trace(console, filter, signature, &registers, status);
    }
    status
}

/// True for a method that changes the object: its name says so.
fn writes(method: &MethodSignature) -> bool {
    const WRITING: &[&str] = &[
        "write",
        "set",
        "add",
        "delete",
        "remove",
        "truncate",
        "register",
        "unregister",
    ];
    WRITING.iter().any(|verb| method.name.starts_with(verb))
}

/// Logs `label.method(arguments) -> result` on the console.
fn trace(
    console: &IConsole,
    filter: &Filter,
    method: &MethodSignature,
    registers: &[usize; FORWARDED],
    status: Status,
) {
    const END: &[u8] = b"\r\n";
    const CUT: &[u8] = b"...\r\n";
    let mut line = [0u8; 200];
    let room = line.len() - CUT.len();
    let mut text = Text::new(&mut line[..room]);
    let end = match write_call(&mut text, filter, method, registers, status) {
        Ok(()) => END,
        Err(_) => CUT,
    };
    let length = text.len();
    line[length..length + end.len()].copy_from_slice(end);
    let _ = console.write(&line[..length + end.len()]);
}

fn write_call(
    text: &mut Text<'_>,
    filter: &Filter,
    method: &MethodSignature,
    registers: &[usize; FORWARDED],
    status: Status,
) -> Result<()> {
    text.push("trace: ")?
        .push(&filter.label)?
        .push(".")?
        .push(method.name)?
        .push("(")?;
    let mut next = registers.iter().copied();
    for (index, arg) in method.args.iter().enumerate() {
        if index > 0 {
            text.push(", ")?;
        }
        text.push(arg.name)?.push("=")?;
        write_argument(text, arg.kind, &mut next)?;
    }
    text.push(") -> ")?;
    if status.is_ok() {
        text.push("ok")?;
        if let (Some(kind), Some(out)) = (method.ret, next.next()) {
            text.push(": ")?;
            write_result(text, kind, out)?;
        }
    } else {
        text.push(status.message())?;
    }
    Ok(())
}

fn write_argument(
    text: &mut Text<'_>,
    kind: ArgKind,
    registers: &mut impl Iterator<Item = usize>,
) -> Result<()> {
    let mut take = || registers.next().unwrap_or(0);
    match kind {
        ArgKind::Unsigned(_) | ArgKind::Bool => text.decimal(take() as u64)?,
        ArgKind::Signed(_) => text.decimal(take() as u64)?,
        ArgKind::Str => {
            let (pointer, length) = (take(), take());
            text.push("\"")?
                .push(&string_at(pointer, length))?
                .push("\"")?
        }
        ArgKind::Bytes | ArgKind::BytesMut => {
            let _pointer = take();
            text.push("[")?.decimal(take() as u64)?.push(" bytes]")?
        }
        _ => text.hex(take() as u64)?,
    };
    Ok(())
}

/// Up to 32 characters of the string argument at `pointer`.
fn string_at(pointer: usize, length: usize) -> String {
    if pointer == 0 {
        // The callee refuses it (`NULL_POINTER`); there is nothing to show.
        return String::from("(null)");
    }
    #[allow(unsafe_code, reason = "reading a caller's string argument")]
    // SAFETY: a `Str` argument is valid for its length during the call,
    // which is still in progress.
    let bytes = unsafe { core::slice::from_raw_parts(pointer as *const u8, length.min(32)) };
    String::from_utf8_lossy(bytes).into_owned()
}

fn write_result(text: &mut Text<'_>, kind: ArgKind, out: usize) -> Result<()> {
    #[allow(unsafe_code, reason = "reading the result the callee wrote")]
    // SAFETY: on success the callee wrote a value of the signature's kind
    // through the out pointer, which the caller keeps for the call.
    let value = unsafe {
        match kind {
            ArgKind::Unsigned(1) => u64::from(*(out as *const u8)),
            ArgKind::Unsigned(2) => u64::from(*(out as *const u16)),
            ArgKind::Unsigned(4) | ArgKind::Bool => u64::from(*(out as *const u32)),
            ArgKind::Unsigned(_) => *(out as *const u64),
            _ => return text.push("(value)").map(drop),
        }
    };
    text.decimal(value).map(drop)
}

fn construct() -> Result<ComPtr<IUnknown>> {
    Ok(ComObject::create::<IInterpose>(Interposer).to_unknown())
}

component::component!(construct);
