//! `/sys/bench`: the kernel's measurements, in instructions retired.
//!
//! Each figure is the smallest of several runs of `instret` read around
//! the operation, minus the cost of reading `instret` twice. Under QEMU's
//! `-icount shift=0` the count is exact and repeatable.

use alloc::vec::Vec;
use core::ffi::c_void;
use core::hint::black_box;

use com::{ComObject, ComPtr, Gate, Interface, Result, Status, class, interface};
use interfaces::mutate::{NO_TIMEOUT, flags};
use interfaces::{IBenchmarks, IBenchmarksImpl, IMutate};

use crate::machine::counters;
use crate::{modules, threads};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Runs per figure; the smallest count is kept.
const RUNS: usize = 5;

#[interface("337f4e2c-d4e5-43a3-be2b-4e60c6b70800")]
/// The interface the call benchmarks go through.
pub trait IProbe {
    /// Returns `value + 1`.
    fn add(&self, value: u64) -> Result<u64>;
}

#[class(IProbe)]
struct Probe;

impl IProbeImpl for Probe {
    fn add(&self, value: u64) -> Result<u64> {
        Ok(value + 1)
    }
}

/// The probe again, mutable: its calls pass through a mutation gate.
#[class(IProbe, mutable)]
struct GatedProbe {
    gate: Gate,
}

impl IProbeImpl for GatedProbe {
    fn add(&self, value: u64) -> Result<u64> {
        Ok(value + 1)
    }
}

/// The same work as the vtable entry of `IProbe::add` (check the result
/// pointer, add, store, return `OK`), with the same binary signature,
/// reached by a direct call. Exported so the compiler keeps that signature
/// instead of specializing the call away.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn tessera_bench_direct_add(
    _this: *mut c_void,
    value: u64,
    out: *mut u64,
) -> Status {
    if out.is_null() {
        return Status::NULL_POINTER;
    }
    // SAFETY: `out` is not null, and callers pass a writable one.
    unsafe { out.write(value + 1) };
    Status::OK
}

/// A measurement: its name and what runs it.
type Benchmark = (&'static str, fn() -> Result<u64>);

/// The measurements, by name.
const BENCHMARKS: &[Benchmark] = &[
    ("direct call", direct_call),
    ("interface call (vtable)", interface_call),
    ("interface call (ComPtr, with Result)", safe_interface_call),
    ("bind of a registered name", bind_registered),
    ("demand-load and construct hello", demand_load),
    // Where its instructions go (`modules::cost`); the phases and the
    // rest add up to the figure above.
    ("demand-load hello, phase: read the image", load_phase::<0>),
    ("demand-load hello, phase: parse", load_phase::<1>),
    ("demand-load hello, phase: records", load_phase::<2>),
    ("demand-load hello, phase: resolve imports", load_phase::<3>),
    ("demand-load hello, phase: allocate", load_phase::<4>),
    (
        "demand-load hello, phase: place and relocate",
        load_phase::<5>,
    ),
    ("demand-load hello, phase: constructor", load_phase::<6>),
    ("demand-load hello, phase: register", load_phase::<7>),
    (
        "demand-load hello, phase: namespace and the rest",
        load_rest,
    ),
    ("release and unload hello", release_and_unload),
    ("parse of an image with 10000 exports", parse_large_image),
    ("yield to another ready thread (one way)", yield_one_way),
    ("mutex lock and unlock, uncontended", mutex_lock_unlock),
    ("condition signal to the waiter running", signal_to_wake),
    (
        "timer interrupt entry to the sleeper running",
        timer_to_wake,
    ),
    ("call within a module", call_local),
    ("imported call, short-cut", call_imported_direct),
    ("imported call, through a slot", call_imported_indirect),
    (
        "interface call through a mutation gate (vtable)",
        gated_call,
    ),
    ("MutateVtable, idle object", mutate_idle),
    ("MutateVtable, 8 threads calling the object", mutate_busy),
];

/// The instructions `operation` takes: the fewest over `RUNS` runs.
fn measure(mut operation: impl FnMut()) -> u64 {
    let overhead = (0..RUNS)
        .map(|_| {
            let start = counters::instructions();
            counters::instructions() - start
        })
        .min()
        .unwrap_or(0);
    let runs = (0..RUNS).map(|_| {
        let start = counters::instructions();
        operation();
        counters::instructions() - start
    });
    runs.min().unwrap_or(0).saturating_sub(overhead)
}

fn probe() -> ComPtr<IProbe> {
    ComObject::create(Probe)
}

fn direct_call() -> Result<u64> {
    let probe = probe();
    let mut out = 0u64;
    let out: *mut u64 = &mut out;
    Ok(measure(|| {
        // Arguments and result pass through `black_box` exactly as in
        // `interface_call`, so the two differ only in how the call is made.
        let this = black_box(probe.as_raw().cast::<c_void>());
        black_box(tessera_bench_direct_add(this, black_box(1), black_box(out)));
    }))
}

fn interface_call() -> Result<u64> {
    vtable_call(&probe())
}

fn gated_call() -> Result<u64> {
    vtable_call(&gated_probe())
}

fn gated_probe() -> ComPtr<IProbe> {
    ComObject::create(GatedProbe { gate: Gate::new() })
}

/// A call of `probe`'s `add` straight through its vtable.
fn vtable_call(probe: &IProbe) -> Result<u64> {
    let mut out = 0u64;
    let out: *mut u64 = &mut out;
    Ok(measure(|| {
        let this = black_box(probe.as_raw().cast::<c_void>());
        // SAFETY: the first word of an interface is its vtable pointer; the
        // probe is alive and `out` is writable.
        black_box(unsafe {
            let vtable = &**(this as *const *const IProbeVtbl);
            (vtable.add)(this, black_box(1), black_box(out))
        });
    }))
}

fn safe_interface_call() -> Result<u64> {
    let probe = probe();
    Ok(measure(|| {
        let _ = black_box(probe.add(black_box(1)));
    }))
}

fn bind_registered() -> Result<u64> {
    let root = namespace::current()?;
    let mut bound = Vec::with_capacity(RUNS);
    // Storing the result into reserved room costs a few instructions of the figure.
    let figure = measure(|| bound.push(root.bind("/sys/heap", 0)));
    bound.into_iter().collect::<Result<Vec<_>>>()?;
    Ok(figure)
}

fn demand_load() -> Result<u64> {
    Ok(fastest_demand_load()?.0)
}

/// Phase `PHASE` of the fastest demand load of `/hello`.
fn load_phase<const PHASE: usize>() -> Result<u64> {
    Ok(fastest_demand_load()?.1[PHASE])
}

/// What the fastest demand load of `/hello` spent outside the phases.
fn load_rest() -> Result<u64> {
    let (total, phases) = fastest_demand_load()?;
    Ok(total.saturating_sub(phases.iter().sum()))
}

/// The instructions of the fastest of `RUNS` demand loads of `/hello`
/// (the bind, to the object in hand), and that load's phases.
fn fastest_demand_load() -> Result<(u64, modules::LoadCost)> {
    let root = namespace::current()?;
    let mut fastest = (u64::MAX, modules::LoadCost::default());
    for _ in 0..RUNS {
        modules::collect_idle();
        let start = counters::instructions();
        let object = root.bind("/hello", 0);
        let spent = counters::instructions() - start;
        object?;
        if spent < fastest.0 {
            fastest = (spent, modules::last_load_cost());
        }
    }
    modules::collect_idle();
    Ok(fastest)
}

fn release_and_unload() -> Result<u64> {
    let root = namespace::current()?;
    let mut figure = u64::MAX;
    for _ in 0..RUNS {
        modules::collect_idle();
        let object = root.bind("/hello", 0)?;
        let start = counters::instructions();
        drop(object);
        modules::collect_idle();
        figure = figure.min(counters::instructions() - start);
    }
    Ok(figure)
}

/// The exports of the large image `parse_large_image` validates.
const LARGE_EXPORTS: u32 = 10_000;

/// `Image::parse` of an image with `LARGE_EXPORTS` exports, built here.
fn parse_large_image() -> Result<u64> {
    let exports = (1..=LARGE_EXPORTS)
        .map(|ordinal| (ordinal, alloc::format!("export_{ordinal:05}"), 0))
        .collect();
    let bytes = image::ImageBuilder {
        name: "large".into(),
        content: alloc::vec![0x13, 0, 0, 0],
        memory_size: 4,
        align: 4,
        entry: 0,
        exports: alloc::vec![image::ExportTableSpec {
            uuid: com::Guid::from_u128(1),
            exports,
        }],
        ..Default::default()
    }
    .build();
    let mut failure = None;
    let figure = measure(|| {
        failure = failure.or(image::Image::parse(black_box(&bytes)).err());
    });
    match failure {
        Some(error) => {
            kprintln!("bench: the large image does not parse: {error}");
            Err(Status::BAD_IMAGE)
        }
        None => Ok(figure),
    }
}

/// Points the gated probe's vtable at the one it has (a real mutation
/// that leaves it working) while `callers` threads call it.
fn mutate_with_callers(callers: usize) -> Result<u64> {
    let mutate = namespace::current()?
        .bind(interfaces::mutate::PATH, 0)?
        .query::<IMutate>()?;
    let probe = gated_probe();
    let vtable = com::vtable!(GatedProbe, IProbe).addr() as u64;
    *BUSY_PROBE.lock() = Some(probe.clone());
    STOP_CALLING.store(false, Ordering::SeqCst);
    let threads = (0..callers)
        .map(|i| threads::spawn("caller", call_busy_probe, i, 4096))
        .collect::<Result<Vec<_>>>()
        // The callers that did start stop again.
        .inspect_err(|_| STOP_CALLING.store(true, Ordering::SeqCst))?;
    threads::yield_now();
    let mut failure = None;
    let figure = measure(|| {
        let result = mutate.mutate_vtable(probe.as_unknown(), vtable, flags::BY_MUTEX, NO_TIMEOUT);
        failure = failure.or(result.err());
    });
    STOP_CALLING.store(true, Ordering::SeqCst);
    threads.into_iter().try_for_each(threads::join)?;
    BUSY_PROBE.lock().take();
    failure.map_or(Ok(figure), Err)
}

fn mutate_idle() -> Result<u64> {
    let figure = mutate_with_callers(0);
    // `/mutate` goes, so later figures see the namespace as it was.
    modules::collect_idle();
    figure
}

fn mutate_busy() -> Result<u64> {
    let figure = mutate_with_callers(8);
    modules::collect_idle();
    figure
}

/// The probe the callers call, and when to stop.
static BUSY_PROBE: threads::Mutex<Option<ComPtr<IProbe>>> = threads::Mutex::new(None);
static STOP_CALLING: AtomicBool = AtomicBool::new(false);

fn call_busy_probe(_: usize) {
    let Some(probe) = BUSY_PROBE.lock().clone() else {
        return;
    };
    while !STOP_CALLING.load(Ordering::Relaxed) {
        let _ = black_box(probe.add(black_box(1)));
    }
}

/// Tells the yield partner to stop.
static STOP_YIELDING: AtomicBool = AtomicBool::new(false);

fn yield_one_way() -> Result<u64> {
    STOP_YIELDING.store(false, Ordering::SeqCst);
    let partner = threads::spawn(
        "yielder",
        |_| {
            // Relaxed: the flag only has to be seen eventually.
            while !STOP_YIELDING.load(Ordering::Relaxed) {
                threads::yield_now();
            }
        },
        0,
        4096,
    )?;
    // Let the partner start, so each yield below goes there and back.
    threads::yield_now();
    let round_trip = measure(threads::yield_now);
    STOP_YIELDING.store(true, Ordering::SeqCst);
    threads::join(partner)?;
    Ok(round_trip / 2)
}

fn mutex_lock_unlock() -> Result<u64> {
    let mutex = threads::Mutex::new(0u64);
    Ok(measure(|| {
        *black_box(&mutex).lock() += 1;
    }))
}

/// The handoff benchmark's condition, and when the waiter woke.
static HANDOFF: threads::Mutex<bool> = threads::Mutex::new(false);
static SIGNALLED: threads::Condition = threads::Condition::new();
static WOKE_AT: AtomicU64 = AtomicU64::new(0);

fn signal_to_wake() -> Result<u64> {
    let mut figure = u64::MAX;
    for _ in 0..RUNS {
        *HANDOFF.lock() = false;
        let waiter = threads::spawn(
            "waiter",
            |_| {
                let mut ready = HANDOFF.lock();
                while !*ready {
                    ready = SIGNALLED.wait(ready);
                }
                WOKE_AT.store(counters::instructions(), Ordering::SeqCst);
            },
            0,
            4096,
        )?;
        // Let the waiter reach its wait.
        threads::yield_now();
        *HANDOFF.lock() = true;
        let start = counters::instructions();
        SIGNALLED.signal();
        threads::yield_now();
        figure = figure.min(WOKE_AT.load(Ordering::SeqCst).saturating_sub(start));
        threads::join(waiter)?;
    }
    Ok(figure)
}

fn timer_to_wake() -> Result<u64> {
    let mut figure = u64::MAX;
    for _ in 0..RUNS {
        let sleeper = threads::spawn(
            "sleeper",
            |_| {
                threads::sleep_ms(1);
                WOKE_AT.store(counters::instructions(), Ordering::SeqCst);
            },
            0,
            4096,
        )?;
        // Joining leaves the processor idle, so the timer interrupt finds
        // the hart waiting and the sleeper is the thread it wakes.
        threads::join(sleeper)?;
        let entered = crate::machine::trap::last_interrupt_entry();
        figure = figure.min(WOKE_AT.load(Ordering::SeqCst).saturating_sub(entered));
    }
    Ok(figure)
}

/// Measures calling export `name` of a fresh instance of `callbench`,
/// loaded with `flags`.
fn call_export(name: &str, flags: u32) -> Result<u64> {
    use interfaces::ILoader;
    let loader = namespace::current()?
        .bind("/sys/loader", 0)?
        .query::<ILoader>()?;
    let module = loader.load_image("/boot/callbench", "", flags)?;
    let address = module.export_by_name(&com::Guid::default(), name)?;
    // SAFETY: the export is one of callbench's `extern "C" fn()`s, and the
    // module stays loaded while `module` is held.
    let function: extern "C" fn() = unsafe {
        core::mem::transmute(usize::try_from(address).map_err(|_| Status::OUT_OF_RANGE)?)
    };
    let figure = measure(|| black_box(function)());
    drop(module);
    Ok(figure)
}

fn call_local() -> Result<u64> {
    call_export("call_local", 0)
}

fn call_imported_direct() -> Result<u64> {
    call_export("call_imported", 0)
}

fn call_imported_indirect() -> Result<u64> {
    call_export(
        "call_imported",
        interfaces::module::load_flags::INDIRECT_CALLS,
    )
}

/// The `IBenchmarks` object at `/sys/bench`.
#[class(IBenchmarks)]
pub struct Benchmarks;

impl IBenchmarksImpl for Benchmarks {
    fn count(&self) -> Result<u32> {
        u32::try_from(BENCHMARKS.len()).map_err(|_| Status::OUT_OF_RANGE)
    }

    fn name(&self, index: u32, buffer: &mut [u8]) -> Result<usize> {
        let (name, _) = BENCHMARKS.get(index as usize).ok_or(Status::OUT_OF_RANGE)?;
        let room = buffer
            .get_mut(..name.len())
            .ok_or(Status::BUFFER_TOO_SMALL)?;
        room.copy_from_slice(name.as_bytes());
        Ok(name.len())
    }

    fn run(&self, index: u32) -> Result<u64> {
        let (_, benchmark) = BENCHMARKS.get(index as usize).ok_or(Status::OUT_OF_RANGE)?;
        benchmark()
    }
}
