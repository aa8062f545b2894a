//! Interposition: a filter put in front of one interface of a live object,
//! by pointing the object's slot at a clone of its method table whose
//! methods are forwarders.
//!
//! The `interpose` component decides which filters exist and when they may
//! be freed; this module does the work that touches raw method tables, so
//! that the component is safe Rust. A [`Table`] is the clone: the original
//! table's `QueryInterface`, `AddRef` and `Release` (identity and
//! references stay the object's own), then one forwarder per method of the
//! interface's signature. A forwarder hands the call, as a [`Call`], to the
//! [`Dispatch`] the table was made for, which finds its filter by the table
//! the call came through and lets the call [`proceed`](Call::proceed) on
//! the original table — with the very registers it was given, on the
//! object's own state, which never moves.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::sync::atomic::{AtomicPtr, Ordering};

use crate::{ArgKind, ArgSignature, IUnknown, Interface, InterfaceSignature, MethodSignature};
use crate::{MOST_METHODS, Method, MutableObject, Result, Status};

/// Argument registers a forwarder passes on after the object pointer.
pub const FORWARDED: usize = 7;
/// Vtable entries before the methods: `QueryInterface`, `AddRef`, `Release`.
const BASE: usize = 3;
/// How many bytes of a string argument [`Value::Text`] holds.
const TEXT_SHOWN: usize = 32;

/// Where calls through a clone go: the filter's owner.
pub trait Dispatch: 'static {
    /// Handles `call`, which came through a clone made for `Self`.
    fn dispatch(call: &Call) -> Status;
}

/// A clone of one interface's method table, made for one slot of one
/// object, whose methods forward to a [`Dispatch`].
pub struct Table {
    /// The base entries, then a forwarder per method.
    entries: Box<[usize]>,
    /// The table the slot held when the clone was made.
    original: usize,
    /// The slot: the interface pointer the clone was made for.
    slot: usize,
    signature: &'static InterfaceSignature,
}

impl Table {
    /// Clones the table `interface`'s slot holds now; `signature` is that
    /// interface's (`interface` came from `QueryInterface` for its IID).
    /// `NOT_SUPPORTED` for an interface with too many methods, or a method
    /// whose arguments do not all fit in the registers a forwarder passes.
    pub fn clone_for<D: Dispatch>(
        interface: &IUnknown,
        signature: &'static InterfaceSignature,
    ) -> Result<Table> {
        let methods = signature.methods.len();
        if methods > MOST_METHODS || !signature.methods.iter().all(fits) {
            return Err(Status::NOT_SUPPORTED);
        }
        let original = slot_of(interface).load(Ordering::Acquire);
        // SAFETY: the slot holds a table of `signature`'s interface: the
        // base entries and one per method, so `BASE` entries are there.
        let base = unsafe { core::slice::from_raw_parts(original.cast::<usize>(), BASE) };
        let mut entries = Vec::with_capacity(BASE + methods);
        entries.extend_from_slice(base);
        entries.extend(forwarders::<D>().iter().take(methods));
        Ok(Table {
            entries: entries.into_boxed_slice(),
            original: original.expose_provenance(),
            slot: interface.as_raw().expose_provenance(),
            signature,
        })
    }

    /// The clone, as a slot holds it.
    pub fn start(&self) -> *mut c_void {
        self.entries.as_ptr().cast_mut().cast()
    }

    /// The table the clone was made from.
    pub fn original(&self) -> *mut c_void {
        core::ptr::with_exposed_provenance_mut(self.original)
    }

    /// The interface pointer the clone was made for.
    pub fn slot(&self) -> usize {
        self.slot
    }

    /// The interface's signature.
    pub fn signature(&self) -> &'static InterfaceSignature {
        self.signature
    }

    /// Points the slot at the clone: `RETRY` unless it holds the original.
    /// `object` is the object's identity. A mutable object's slot changes
    /// only inside a mutation, in the cell its mutator stages (from a
    /// transition; `ACCESS_DENIED` outside one).
    pub fn put_in(&self, object: &IUnknown) -> Result<()> {
        self.swap(object, self.original(), self.start())
    }

    /// Points the slot back at the original: `RETRY` unless it holds the
    /// clone (a mutation may have given the object new tables since).
    pub fn take_out(&self, object: &IUnknown) -> Result<()> {
        self.swap(object, self.start(), self.original())
    }

    /// True while the slot itself holds the clone.
    pub fn is_in(&self, interface: &IUnknown) -> bool {
        interface.as_raw().addr() == self.slot
            && slot_of(interface).load(Ordering::Acquire) == self.start()
    }

    fn swap(&self, object: &IUnknown, from: *mut c_void, to: *mut c_void) -> Result<()> {
        let exchange = |cell: &AtomicPtr<c_void>| {
            cell.compare_exchange(from, to, Ordering::AcqRel, Ordering::Acquire)
                .map(drop)
                .map_err(|_| Status::RETRY)
        };
        let slot = core::ptr::with_exposed_provenance_mut(self.slot);
        match MutableObject::of(object) {
            Ok(mutable) => {
                let index = mutable.slot_index(slot).ok_or(Status::INVALID_ARGUMENT)?;
                if !mutable.gate().is_staging() {
                    return Err(Status::ACCESS_DENIED);
                }
                mutable
                    .with_vtable_cell(index, exchange)
                    .ok_or(Status::INVALID_ARGUMENT)?
            }
            Err(Status::NO_INTERFACE) => {
                let interface = self.interface_of(object)?;
                exchange(slot_of(&interface))
            }
            Err(status) => Err(status),
        }
    }

    /// The slot the clone was made for, as an interface of `object`.
    fn interface_of(&self, object: &IUnknown) -> Result<crate::ComPtr<IUnknown>> {
        let interface = object.query_iid(&self.signature.iid)?;
        if interface.as_raw().addr() != self.slot {
            return Err(Status::INVALID_ARGUMENT);
        }
        Ok(interface)
    }
}

/// A call that reached a forwarder: the object pointer, which method, the
/// argument registers, and the table the object held as the call came in.
pub struct Call {
    this: *mut c_void,
    method: usize,
    registers: [usize; FORWARDED],
    through: *mut c_void,
}

/// An argument or result, as a filter may show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// An integer or boolean, as its register holds it.
    Integer(u64),
    /// The first bytes of a string argument (`(null)` for a null one).
    Text(String),
    /// A buffer of this many bytes.
    Buffer(usize),
    /// Any other argument's register (an address, an interface pointer).
    Word(u64),
    /// A result of a kind shown only as present.
    Opaque,
}

impl Call {
    /// The method's index in the interface (0 is the first after the base
    /// three).
    pub fn method(&self) -> usize {
        self.method
    }

    /// The table the call came through: the clone of the filter it is for
    /// — unless the filter was taken away just before the call entered.
    pub fn through(&self) -> *mut c_void {
        self.through
    }

    /// Makes the call on `table`'s original with the registers it came
    /// with; `INVALID_ARGUMENT` if it did not come through `table`.
    pub fn proceed(&self, table: &Table) -> Status {
        if table.start() != self.through {
            return Status::INVALID_ARGUMENT;
        }
        self.call_on(table.original())
    }

    /// Makes the call on the table the object holds now: for a call whose
    /// filter is gone.
    pub fn proceed_now(&self) -> Status {
        self.call_on(self.table_now())
    }

    /// The method's signature, if the call came through `table`.
    pub fn signature(&self, table: &Table) -> Option<&'static MethodSignature> {
        (table.start() == self.through)
            .then(|| table.signature.methods.get(self.method))
            .flatten()
    }

    /// The arguments, named, if the call came through `table`.
    pub fn arguments(&self, table: &Table) -> Vec<(&'static str, Value)> {
        let Some(method) = self.signature(table) else {
            return Vec::new();
        };
        let mut registers = self.registers.iter().copied();
        method
            .args
            .iter()
            .map(|arg| (arg.name, value_of(arg, &mut registers)))
            .collect()
    }

    /// The result the method wrote, once it has returned `status`: `None`
    /// when it failed or returns only a status.
    pub fn result(&self, table: &Table, status: Status) -> Option<Value> {
        let method = self.signature(table)?;
        let kind = method.ret.filter(|_| status.is_ok())?;
        let used: usize = method.args.iter().map(|arg| arg.kind.registers()).sum();
        let out = *self.registers.get(used)?;
        if out == 0 {
            return None;
        }
        let out = core::ptr::with_exposed_provenance::<u8>(out);
        // SAFETY: on success the callee wrote a value of the signature's
        // kind through the out pointer, which the caller keeps for the
        // call, and `fits` made sure it is among the registers.
        let value = unsafe {
            match kind {
                ArgKind::Unsigned(1) => u64::from(*out),
                ArgKind::Unsigned(2) => u64::from(*out.cast::<u16>()),
                ArgKind::Unsigned(4) | ArgKind::Bool => u64::from(*out.cast::<u32>()),
                ArgKind::Unsigned(_) => *out.cast::<u64>(),
                _ => return Some(Value::Opaque),
            }
        };
        Some(Value::Integer(value))
    }

    /// The table the object's slot holds now.
    fn table_now(&self) -> *mut c_void {
        // SAFETY: `this` is the interface pointer the caller called
        // through, alive for the call: its slot is an atomic pointer.
        unsafe { &*self.this.cast::<AtomicPtr<c_void>>() }.load(Ordering::Acquire)
    }

    /// Calls method `self.method` of `table`, a table of the interface the
    /// call came through.
    fn call_on(&self, table: *mut c_void) -> Status {
        let [a1, a2, a3, a4, a5, a6, a7] = self.registers;
        // SAFETY: every table a slot holds, or a clone was made from, is a
        // table of the slot's interface, and the forwarder of this method
        // exists only for the methods of its signature: the entry is that
        // method. Passing it more argument registers than it declares is
        // harmless in the RISC-V calling convention (they are caller-saved
        // and ignored), and `fits` refused methods whose arguments would
        // not all be passed.
        unsafe {
            let entry = *table.cast::<usize>().add(BASE + self.method);
            let method: Method = core::mem::transmute(entry);
            method(self.this, a1, a2, a3, a4, a5, a6, a7)
        }
    }
}

/// The value of argument `arg`, taken from the registers it uses.
fn value_of(arg: &ArgSignature, registers: &mut impl Iterator<Item = usize>) -> Value {
    let mut take = || registers.next().unwrap_or(0);
    match arg.kind {
        ArgKind::Unsigned(_) | ArgKind::Signed(_) | ArgKind::Bool => Value::Integer(take() as u64),
        ArgKind::Str => {
            let (pointer, length) = (take(), take());
            Value::Text(text_at(pointer, length))
        }
        ArgKind::Bytes | ArgKind::BytesMut | ArgKind::BytesInOut => {
            let _pointer = take();
            Value::Buffer(take())
        }
        _ => Value::Word(take() as u64),
    }
}

/// Up to [`TEXT_SHOWN`] bytes of the string argument at `pointer`.
fn text_at(pointer: usize, length: usize) -> String {
    if pointer == 0 {
        // The callee refuses it (`NULL_POINTER`); there is nothing to show.
        return String::from("(null)");
    }
    let start = core::ptr::with_exposed_provenance::<u8>(pointer);
    // SAFETY: a `Str` argument is valid for its length during the call,
    // which is still in progress.
    let bytes = unsafe { core::slice::from_raw_parts(start, length.min(TEXT_SHOWN)) };
    String::from_utf8_lossy(bytes).into_owned()
}

/// How many argument registers `method` takes (beyond the object pointer)
/// fits in what a forwarder passes on.
pub(crate) fn fits(method: &MethodSignature) -> bool {
    let registers: usize = method.args.iter().map(|arg| arg.kind.registers()).sum();
    registers + usize::from(method.ret.is_some()) <= FORWARDED
}

/// The slot `interface` points at, as the atomic it is.
fn slot_of(interface: &IUnknown) -> &AtomicPtr<c_void> {
    // SAFETY: an interface pointer points at its object's vtable slot, an
    // atomic pointer by the object layout, alive as long as the reference.
    unsafe { &*interface.as_raw().cast::<AtomicPtr<c_void>>() }
}

/// A forwarder for each method index, calling `D`.
fn forwarders<D: Dispatch>() -> [usize; MOST_METHODS] {
    let forwarders: [Method; MOST_METHODS] = [
        forward::<D, 0>,
        forward::<D, 1>,
        forward::<D, 2>,
        forward::<D, 3>,
        forward::<D, 4>,
        forward::<D, 5>,
        forward::<D, 6>,
        forward::<D, 7>,
        forward::<D, 8>,
        forward::<D, 9>,
        forward::<D, 10>,
        forward::<D, 11>,
    ];
    forwarders.map(|forwarder| forwarder as usize)
}

/// Method `M` of every clone made for `D`.
///
/// # Safety
/// Called only through a clone's entry `M`, by the ABI: `this` is the
/// interface pointer the caller called through.
#[allow(clippy::too_many_arguments, reason = "the ABI's argument registers")]
unsafe extern "C" fn forward<D: Dispatch, const M: usize>(
    this: *mut c_void,
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
    a5: usize,
    a6: usize,
    a7: usize,
) -> Status {
    let mut call = Call {
        this,
        method: M,
        registers: [a1, a2, a3, a4, a5, a6, a7],
        through: core::ptr::null_mut(),
    };
    call.through = call.table_now();
    D::dispatch(&call)
}
