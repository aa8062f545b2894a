//! The interposer component: filters (a tracer, a read-only guard) put in front of live objects.
//!
//! Loaded on demand when something binds `/interpose` (the shell's `trace`,
//! `untrace`, `readonly` and `readwrite` do). To put a filter in front of
//! interface `I` of an object, the interposer clones the object's method
//! table for `I` and points the object's slot at the clone: everyone who
//! holds the object — its address unchanged — now calls the filter. The
//! clone's methods are generic forwarders, one per method index, driven by
//! `I`'s signature table: the tracer logs the arguments and result decoded
//! from it, the read-only guard finds the write-class methods in it. Each
//! forwarder then calls the original method with the registers it was
//! given, on the object's own state (which never moves, so objects whose
//! address others hold — locks, wait queues — stay valid). The raw table
//! work is `com::interposition`'s; this component keeps the filters. Taking the
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
//! forwarder holds it.
//!
//! Depends on `com`, `interfaces` and `private-interfaces` (whose signature
//! tables it knows) and the console at `/dev/console`, where trace lines go.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use com::interposition::{Call, Dispatch, Table, Value};
use com::{
    ComObject, ComPtr, Guid, IMutable, IUnknown, Interface, InterfaceSignature, MethodSignature,
    Result, Status, class,
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

/// One filter in front of one slot of one object.
struct Filter {
    /// The clone the slot points at, of the table the slot held before.
    table: Table,
    kind: u32,
    label: String,
    /// Set once a grace period has passed since the filter was taken away:
    /// no caller can still be about to enter its clone.
    graced: AtomicBool,
    /// Where trace lines go.
    console: Option<ComPtr<IConsole>>,
    /// The object, kept alive while its slot points at the clone.
    object: ComPtr<IUnknown>,
    /// The interposer, kept registered (and this module loaded) while a
    /// filter of its may run.
    _interposer: ComPtr<IUnknown>,
}

/// Filters, shared: a running forwarder holds its filter while the lists
/// change, and a filter is freed only once none does.
type Filters = Vec<Arc<Filter>>;

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
        let _changing = CHANGING.lock();
        // While another mutation of the object is under way its slot holds
        // a held table, not the one to filter, and the swap fails with
        // `RETRY`; the swap is a mutation too, so by then that one is over
        // and the slot read again holds the object's real table.
        let mut outcome = Err(Status::RETRY);
        for _ in 0..ATTEMPTS {
            outcome = put_in(object, &interface, signature, filter, label);
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
        let filter = FILTERS
            .lock()
            .iter()
            .find(|filter| match slot {
                Some(slot) => filter.table.slot() == slot,
                None => filter.object.ptr_eq(&identity),
            })
            .cloned()
            .ok_or(Status::NOT_FOUND)?;
        // The original table goes back unless the slot has changed since
        // (a mutation installed its own tables over the clone): then the
        // slot stays as it is. The filter stays listed until the slot no
        // longer points at its clone.
        let swapped = swap_slot(&filter, Swap::TakeOut);
        if swapped.is_err() && still_in(&filter) {
            return swapped;
        }
        unlist(&filter);
        drop(changing);
        RETIRED.lock().push(filter.clone());
        component::grace_period();
        filter.graced.store(true, Ordering::Release);
        drop(filter);
        free_retired();
        Ok(())
    }
}

/// Lists a filter of kind `filter` for `interface` of `object` and points
/// its slot at the filter's clone of the table it holds now.
fn put_in(
    object: &IUnknown,
    interface: &IUnknown,
    signature: &'static InterfaceSignature,
    filter: u32,
    label: &str,
) -> Result<()> {
    let record = Arc::new(Filter {
        table: Table::clone_for::<Interposer>(interface, signature)?,
        kind: filter,
        label: String::from(label),
        graced: AtomicBool::new(false),
        console: trace_console(filter, object)?,
        object: object.query::<IUnknown>()?,
        _interposer: component::namespace()?.bind(interfaces::interpose::PATH, 0)?,
    });
    {
        // In the list before the slot points at the clone, so every
        // forwarder reached through the clone finds its filter.
        let mut installed = FILTERS.lock();
        if installed
            .iter()
            .any(|filter| filter.table.slot() == record.table.slot())
        {
            return Err(Status::ALREADY_EXISTS);
        }
        installed.push(record.clone());
    }
    // The slot decides, whatever the swap reported: a filter stays
    // listed exactly while the slot may point at its clone.
    let swapped = swap_slot(&record, Swap::PutIn);
    if swapped.is_err() && !still_in(&record) {
        // No forwarder can have found it: the slot never held the clone.
        unlist(&record);
        return swapped;
    }
    Ok(())
}

/// True while the filter's slot points at its clone.
fn still_in(filter: &Filter) -> bool {
    filter
        .object
        .query_iid(&filter.table.signature().iid)
        .is_ok_and(|interface| filter.table.is_in(&interface))
}

/// Takes `filter` off the list.
fn unlist(filter: &Arc<Filter>) {
    let mut installed = FILTERS.lock();
    installed.retain(|listed| !Arc::ptr_eq(listed, filter));
    give_back_if_empty(&mut installed);
}

/// Which way a slot changes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Swap {
    PutIn,
    TakeOut,
}

/// Points the filter's slot at its clone or back; `RETRY` if it holds
/// neither what it should. For a mutable object the change is a mutation
/// (by abort: calls inside are issued again on the new table), so it never
/// overlaps another mutation of the object — whose rollback could
/// otherwise put back a table this has changed.
fn swap_slot(filter: &Arc<Filter>, swap: Swap) -> Result<()> {
    let change = SwapSlot {
        filter: filter.clone(),
        swap,
    };
    if filter.object.query::<IMutable>().is_err() {
        return change.apply_to(&filter.object);
    }
    let mutate = component::namespace()?
        .bind(interfaces::mutate::PATH, 0)?
        .query::<IMutate>()?;
    let transition = ComObject::create::<ITransition>(change);
    mutate.mutate_object(
        &filter.object,
        &transition,
        flags::BY_ABORT,
        SWAP_TIMEOUT_US,
    )
}

/// A slot change, as a transition of a mutable object.
#[class(ITransition)]
struct SwapSlot {
    filter: Arc<Filter>,
    swap: Swap,
}

impl SwapSlot {
    fn apply_to(&self, object: &IUnknown) -> Result<()> {
        match self.swap {
            Swap::PutIn => self.filter.table.put_in(object),
            Swap::TakeOut => self.filter.table.take_out(object),
        }
    }
}

impl ITransitionImpl for SwapSlot {
    /// The swap of a mutable object, in the cell the mutator stages for
    /// the slot (the slot holds a held table until the mutator lets go).
    fn apply(&self, object: &IUnknown) -> Result<()> {
        self.apply_to(object)
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

/// Frees the retired filters whose grace period has passed and in which no
/// forwarder runs any more — after unlocking, since freeing one releases
/// its object and the interposer.
fn free_retired() {
    let freed: Filters = {
        let mut retired = RETIRED.lock();
        let (freed, kept) = core::mem::take(&mut *retired)
            .into_iter()
            .partition(|filter| {
                filter.graced.load(Ordering::Acquire) && Arc::strong_count(filter) == 1
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

impl Dispatch for Interposer {
    /// Every call through a clone: filters it, then makes it on the
    /// original table with the same registers.
    fn dispatch(call: &Call) -> Status {
        let Some(filter) = find_filter(call) else {
            // The filter was taken away after the caller loaded its clone:
            // the call goes on through the table the object has now (never
            // a clone without its filter listed), keeping this code loaded
            // meanwhile.
            let _loaded = com::KeepLoaded::this_module();
            return call.proceed_now();
        };
        filtered(&filter, call)
    }
}

/// The filter whose clone the call came through, held while it runs.
fn find_filter(call: &Call) -> Option<Arc<Filter>> {
    FILTERS
        .lock()
        .iter()
        .find(|filter| filter.table.start() == call.through())
        .cloned()
}

fn filtered(filter: &Filter, call: &Call) -> Status {
    let Some(method) = call.signature(&filter.table) else {
        return Status::NOT_SUPPORTED;
    };
    if filter.kind == filters::READ_ONLY && writes(method) {
        return Status::ACCESS_DENIED;
    }
    let status = call.proceed(&filter.table);
    if let Some(console) = &filter.console {
        trace(console, filter, call, status);
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
fn trace(console: &IConsole, filter: &Filter, call: &Call, status: Status) {
    const END: &[u8] = b"\r\n";
    const CUT: &[u8] = b"...\r\n";
    let mut line = [0u8; 200];
    let room = line.len() - CUT.len();
    let mut text = Text::new(&mut line[..room]);
    let end = match write_call(&mut text, filter, call, status) {
        Ok(()) => END,
        Err(_) => CUT,
    };
    let length = text.len();
    line[length..length + end.len()].copy_from_slice(end);
    let _ = console.write(&line[..length + end.len()]);
}

fn write_call(text: &mut Text<'_>, filter: &Filter, call: &Call, status: Status) -> Result<()> {
    let name = call
        .signature(&filter.table)
        .map_or("?", |method| method.name);
    text.push("trace: ")?
        .push(&filter.label)?
        .push(".")?
        .push(name)?
        .push("(")?;
    for (index, (name, value)) in call.arguments(&filter.table).iter().enumerate() {
        if index > 0 {
            text.push(", ")?;
        }
        text.push(name)?.push("=")?;
        write_value(text, value)?;
    }
    text.push(") -> ")?;
    if status.is_ok() {
        text.push("ok")?;
        if let Some(value) = call.result(&filter.table, status) {
            text.push(": ")?;
            write_value(text, &value)?;
        }
    } else {
        text.push(status.message())?;
    }
    Ok(())
}

fn write_value(text: &mut Text<'_>, value: &Value) -> Result<()> {
    match value {
        Value::Integer(number) => text.decimal(*number)?,
        Value::Text(string) => text.push("\"")?.push(string)?.push("\"")?,
        Value::Buffer(length) => text.push("[")?.decimal(*length as u64)?.push(" bytes]")?,
        Value::Word(word) => text.hex(*word)?,
        Value::Opaque => text.push("(value)")?,
    };
    Ok(())
}

fn construct() -> Result<ComPtr<IUnknown>> {
    Ok(ComObject::create::<IInterpose>(Interposer).to_unknown())
}

component::component!(construct);
