//! Host tests of the object model: reference counting, QueryInterface,
//! the generated client and thunks, and signature tables.

#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use com::{
    ArgKind, ComObject, ComPtr, FieldKind, Guid, IUnknown, InOut, Interface, RawSlice, Record,
    Result, Status, class, interface,
};

#[interface("5b0e7a10-1c2d-4e3f-8a9b-0c1d2e3f4a50")]
/// A test interface with every argument kind the ABI knows.
pub trait IAccumulator {
    /// Adds `amount`, returns the new total.
    fn add(&self, amount: u32) -> Result<u64>;
    /// Returns the length of `text` after checking it is UTF-8.
    fn measure(&self, text: &str) -> Result<usize>;
    /// Copies the name into `buffer`, returns how many bytes were written.
    fn name(&self, buffer: &mut [u8]) -> Result<usize>;
    /// Fails with the given status.
    fn fail(&self, status: Status) -> Result<()>;
    /// Returns a snapshot record.
    fn snapshot(&self) -> Result<Snapshot>;
    /// Upper-cases the ASCII letters of `text` in place.
    fn shout(&self, text: InOut<'_>) -> Result<()>;
}

#[interface("5b0e7a10-1c2d-4e3f-8a9b-0c1d2e3f4a51")]
/// A second interface of the same object.
pub trait IResettable {
    /// Sets the total back to zero.
    fn reset(&self) -> Result<()>;
    /// Returns another accumulator's total added to ours.
    fn combine(&self, other: &IAccumulator) -> Result<u64>;
}

#[interface("5b0e7a10-1c2d-4e3f-8a9b-0c1d2e3f4a52")]
/// An interface nobody implements.
pub trait IUnimplemented {
    /// Never called.
    fn nothing(&self) -> Result<()>;
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Record)]
pub struct Snapshot {
    total: u64,
    calls: u32,
}

#[class(IAccumulator, IResettable)]
struct Accumulator {
    total: AtomicU32,
    calls: AtomicU32,
    drops: Arc<AtomicUsize>,
}

impl Accumulator {
    fn create(drops: &Arc<AtomicUsize>) -> ComPtr<IAccumulator> {
        ComObject::create(Accumulator {
            total: AtomicU32::new(0),
            calls: AtomicU32::new(0),
            drops: drops.clone(),
        })
    }
}

impl Drop for Accumulator {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

impl IAccumulatorImpl for Accumulator {
    fn add(&self, amount: u32) -> Result<u64> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(u64::from(
            self.total.fetch_add(amount, Ordering::SeqCst) + amount,
        ))
    }
    fn measure(&self, text: &str) -> Result<usize> {
        Ok(text.len())
    }
    fn name(&self, buffer: &mut [u8]) -> Result<usize> {
        com::copy_text("accumulator", buffer)
    }
    fn fail(&self, status: Status) -> Result<()> {
        Err(status)
    }
    fn snapshot(&self) -> Result<Snapshot> {
        Ok(Snapshot {
            total: u64::from(self.total.load(Ordering::SeqCst)),
            calls: self.calls.load(Ordering::SeqCst),
        })
    }
    fn shout(&self, mut text: InOut<'_>) -> Result<()> {
        text.make_ascii_uppercase();
        Ok(())
    }
}

impl IResettableImpl for Accumulator {
    fn reset(&self) -> Result<()> {
        self.total.store(0, Ordering::SeqCst);
        Ok(())
    }
    fn combine(&self, other: &IAccumulator) -> Result<u64> {
        Ok(u64::from(self.total.load(Ordering::SeqCst)) + other.snapshot()?.total)
    }
}

fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

#[test]
fn methods_cross_the_vtable_with_their_values() {
    let drops = counter();
    let accumulator = Accumulator::create(&drops);
    assert_eq!(accumulator.add(5), Ok(5));
    assert_eq!(accumulator.add(7), Ok(12));
    assert_eq!(accumulator.measure("héllo"), Ok(6));
    let mut buffer = [0u8; 32];
    let written = accumulator.name(&mut buffer).unwrap();
    assert_eq!(&buffer[..written], b"accumulator");
    assert_eq!(
        accumulator.name(&mut [0u8; 3]),
        Err(Status::BUFFER_TOO_SMALL)
    );
    assert_eq!(
        accumulator.snapshot(),
        Ok(Snapshot {
            total: 12,
            calls: 2
        })
    );
}

#[test]
fn failures_come_back_as_errors() {
    let accumulator = Accumulator::create(&counter());
    assert_eq!(accumulator.fail(Status::NOT_FOUND), Err(Status::NOT_FOUND));
    // An implementation returning a success code as an error still fails.
    assert_eq!(accumulator.fail(Status::OK), Err(Status::FAILED));
}

#[test]
fn object_is_dropped_exactly_when_the_last_reference_goes() {
    let drops = counter();
    let first = Accumulator::create(&drops);
    let second = first.clone();
    let resettable = first.query::<IResettable>().unwrap();
    assert_eq!(first.reference_count(), 3);
    drop(first);
    assert_eq!(second.reference_count(), 2);
    drop(second);
    assert_eq!(drops.load(Ordering::SeqCst), 0, "a reference is still held");
    drop(resettable);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn query_interface_finds_implemented_interfaces_only() {
    let accumulator = Accumulator::create(&counter());
    let resettable = accumulator.query::<IResettable>().unwrap();
    accumulator.add(3).unwrap();
    resettable.reset().unwrap();
    assert_eq!(accumulator.snapshot().unwrap().total, 0);
    assert_eq!(
        accumulator.query::<IUnimplemented>().err(),
        Some(Status::NO_INTERFACE)
    );
    let back = resettable.query::<IAccumulator>().unwrap();
    assert!(back.ptr_eq(&accumulator));
}

#[test]
fn identity_is_the_same_unknown_from_every_interface() {
    let accumulator = Accumulator::create(&counter());
    let resettable = accumulator.query::<IResettable>().unwrap();
    let from_first = accumulator.query::<IUnknown>().unwrap();
    let from_second = resettable.query::<IUnknown>().unwrap();
    assert!(from_first.ptr_eq(&from_second));
    assert!(from_first.ptr_eq(&accumulator.to_unknown()));
}

#[test]
fn interfaces_pass_as_arguments() {
    let one = Accumulator::create(&counter());
    let two = Accumulator::create(&counter());
    one.add(10).unwrap();
    two.add(32).unwrap();
    let resettable = one.query::<IResettable>().unwrap();
    assert_eq!(resettable.combine(&two), Ok(42));
}

#[test]
fn thunks_reject_malformed_arguments_from_foreign_callers() {
    let accumulator = Accumulator::create(&counter());
    let vtbl = raw_vtbl(&accumulator);
    let invalid = [0xffu8, 0xfe];
    let mut out = 0usize;
    // SAFETY: the arguments obey the ABI; only the string's content is bad.
    let status = unsafe {
        (vtbl.measure)(
            accumulator.as_raw(),
            RawSlice {
                ptr: invalid.as_ptr(),
                len: 2,
            },
            &mut out,
        )
    };
    assert_eq!(status, Status::BAD_STRING);
    // SAFETY: a null buffer with a non-zero length is what is being tested.
    let status = unsafe {
        (vtbl.measure)(
            accumulator.as_raw(),
            RawSlice {
                ptr: std::ptr::null(),
                len: 4,
            },
            &mut out,
        )
    };
    assert_eq!(status, Status::NULL_POINTER);
    // SAFETY: a null out-pointer is what is being tested.
    let status = unsafe { (vtbl.add)(accumulator.as_raw(), 1, std::ptr::null_mut()) };
    assert_eq!(status, Status::NULL_POINTER);
    assert_eq!(accumulator.snapshot().unwrap().calls, 0, "no method ran");
}

#[test]
fn references_survive_many_threads() {
    let drops = counter();
    let accumulator = Accumulator::create(&drops);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let mine = accumulator.clone();
            std::thread::spawn(move || {
                for _ in 0..1000 {
                    let copy = mine.clone();
                    copy.add(1).unwrap();
                }
            })
        })
        .collect();
    threads
        .into_iter()
        .for_each(|thread| thread.join().unwrap());
    assert_eq!(accumulator.snapshot().unwrap().total, 8000);
    drop(accumulator);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

/// A record holding every kind of field a record may hold.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Record)]
pub struct Labelled {
    id: Guid,
    tags: [[u8; 3]; 2],
    inner: Snapshot,
    delta: i16,
}

#[test]
fn record_signatures_describe_nested_fields() {
    let labelled = <Labelled as Record>::SIGNATURE;
    assert_eq!(
        (labelled.name, labelled.size, labelled.align),
        ("Labelled", 48, 8)
    );
    let fields: Vec<_> = labelled.fields.iter().map(|f| (f.name, f.kind)).collect();
    assert_eq!(
        fields,
        [
            ("id", FieldKind::Guid),
            (
                "tags",
                FieldKind::Array(&FieldKind::Array(&FieldKind::Unsigned(1), 3), 2)
            ),
            ("inner", FieldKind::Record(<Snapshot as Record>::SIGNATURE)),
            ("delta", FieldKind::Signed(2)),
        ]
    );
}

#[test]
fn signature_table_describes_every_method() {
    let signature = IAccumulator::SIGNATURE;
    assert_eq!(signature.name, "IAccumulator");
    assert_eq!(
        signature.iid,
        Guid::from_u128(0x5b0e7a10_1c2d_4e3f_8a9b_0c1d2e3f4a50)
    );
    let names: Vec<_> = signature.methods.iter().map(|m| m.name).collect();
    assert_eq!(
        names,
        ["add", "measure", "name", "fail", "snapshot", "shout"]
    );
    let add = signature.method("add").unwrap();
    assert_eq!(add.args[0].name, "amount");
    assert_eq!(add.args[0].kind, ArgKind::Unsigned(4));
    assert_eq!(add.ret, Some(ArgKind::Unsigned(8)));
    assert_eq!(
        signature.method("measure").unwrap().args[0].kind,
        ArgKind::Str
    );
    assert_eq!(
        signature.method("name").unwrap().args[0].kind,
        ArgKind::BytesMut
    );
    assert_eq!(
        signature.method("shout").unwrap().args[0].kind,
        ArgKind::BytesInOut
    );
    let mut text = *b"quiet";
    Accumulator::create(&counter())
        .shout(InOut(&mut text))
        .unwrap();
    assert_eq!(&text, b"QUIET");
    assert_eq!(signature.method("fail").unwrap().ret, None);
    let Some(ArgKind::Record(snapshot)) = signature.method("snapshot").unwrap().ret else {
        panic!("snapshot returns a record");
    };
    assert_eq!(
        (snapshot.name, snapshot.size, snapshot.align),
        ("Snapshot", 16, 8)
    );
    let fields: Vec<_> = snapshot.fields.iter().map(|f| (f.name, f.kind)).collect();
    assert_eq!(
        fields,
        [
            ("total", FieldKind::Unsigned(8)),
            ("calls", FieldKind::Unsigned(4))
        ]
    );
    let combine = IResettable::SIGNATURE.method("combine").unwrap();
    assert_eq!(combine.args[0].kind, ArgKind::Interface(IAccumulator::IID));
}

#[test]
fn vtable_layout_is_the_c_layout() {
    // Three IUnknown slots, then one function pointer per method, in order.
    let pointer = size_of::<usize>();
    assert_eq!(size_of::<IAccumulatorVtbl>(), (3 + 6) * pointer);
    assert_eq!(std::mem::offset_of!(IAccumulatorVtbl, add), 3 * pointer);
    assert_eq!(
        std::mem::offset_of!(IAccumulatorVtbl, snapshot),
        7 * pointer
    );
    assert_eq!(size_of::<IAccumulator>(), pointer);
}

fn raw_vtbl(accumulator: &ComPtr<IAccumulator>) -> &IAccumulatorVtbl {
    // SAFETY: the first word of an interface is its vtable pointer.
    unsafe { &**(accumulator.as_raw() as *const *const IAccumulatorVtbl) }
}

#[test]
fn guid_parses_its_canonical_text() {
    let text = "67e07512-6945-466c-97a2-e021dc9de1d3";
    let guid = com::Guid::parse(text).expect("canonical form");
    assert_eq!(guid.to_string(), text);
    assert_eq!(com::Guid::parse(&text.to_uppercase()), Some(guid));
    for bad in [
        "",
        "67e07512-6945-466c-97a2-e021dc9de1d",
        "67e07512+6945-466c-97a2-e021dc9de1d3",
        "g7e07512-6945-466c-97a2-e021dc9de1d3",
    ] {
        assert_eq!(com::Guid::parse(bad), None, "{bad:?}");
    }
}
