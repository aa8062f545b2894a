//! Test component: the system's measurements (`IBenchmarks`), in instructions retired.
//!
//! The shell's `bench` binds it as `/benchmarks` (it is only in the test
//! image); `cargo xtask bench` reads what it prints. Each figure is the
//! smallest of several runs of the instruction counter read around the
//! operation (`IScheduler::instructions`), minus the cost of reading it
//! twice. Under QEMU's `-icount shift=0` the count is exact and repeatable,
//! and it counts no waiting: the counter leaves out what it advanced while
//! the hart sat halted (docs/scheduling.md), so a figure that waits for a
//! device does not follow the host's load.
//!
//! A figure of a kernel operation that a component reaches through an
//! interface call (a yield, a lock) counts the operation without that
//! call, as the kernel counted it when it measured itself: the cost of a
//! call of the same shape to an empty method ("interface call, empty
//! method"), or of a reading of the counter ("interface call into the
//! kernel"), is measured first and taken away once per call.

#![no_std]
#![no_main]
// The raw calls it times (a vtable's entry, a module's export) are made by
// `bench-calls`, which knows their binary signatures.
#![deny(unsafe_code)]

extern crate alloc;

mod loading;
mod network;
mod processes;
mod signature;
mod storage;
mod threads;
mod vm;

use alloc::vec::Vec;
use core::ffi::c_void;
use core::hint::black_box;
use core::sync::atomic::{AtomicBool, Ordering};

use bench_calls::{CallbenchExport, IProbe, IProbeImpl, add_through_vtable};
use com::{ComObject, ComPtr, Gate, IUnknown, Interface, Result, Status, class};
use interfaces::mutate::{NO_TIMEOUT, flags};
use interfaces::{IMutate, IScheduler};
use private_interfaces::{IBenchmarks, IBenchmarksImpl};
use sync::Mutex;

/// Runs per figure; the smallest count is kept.
const RUNS: usize = 5;

#[class(IProbe)]
struct Probe;

impl IProbeImpl for Probe {
    fn add(&self, value: u64) -> Result<u64> {
        Ok(value + 1)
    }

    fn nothing(&self) -> Result<()> {
        Ok(())
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

    fn nothing(&self) -> Result<()> {
        Ok(())
    }
}

component::export! {
    /// The same work as the vtable entry of `IProbe::add` (check the result
    /// pointer, add, store, return `OK`), with the same binary signature,
    /// reached by a direct call. Exported so the compiler keeps that signature
    /// instead of specializing the call away.
    #[inline(never)]
    pub fn bench_direct_add(_this: *mut c_void, value: u64, out: Option<&mut u64>) -> Status {
        match out {
            Some(out) => {
                *out = value + 1;
                Status::OK
            }
            None => Status::NULL_POINTER,
        }
    }

    /// Does nothing: the callee of `callbench`'s imported call.
    #[inline(never)]
    pub fn bench_nop() {}
}

/// A measurement: its name and what runs it.
type Benchmark = (&'static str, fn(&Meter) -> Result<u64>);

/// The measurements, by name (`cargo xtask bench` tracks them by name).
const BENCHMARKS: &[Benchmark] = &[
    ("direct call", direct_call),
    ("interface call (vtable)", interface_call),
    ("interface call (ComPtr, with Result)", safe_interface_call),
    ("bind of a registered name", bind_registered),
    ("demand-load and construct hello", loading::demand_load),
    // Where its instructions go (`ILoader::last_load_cost`); the phases
    // and the rest add up to the figure above.
    (
        "demand-load hello, phase: read the image",
        loading::load_phase::<0>,
    ),
    ("demand-load hello, phase: parse", loading::load_phase::<1>),
    (
        "demand-load hello, phase: records",
        loading::load_phase::<2>,
    ),
    (
        "demand-load hello, phase: resolve imports",
        loading::load_phase::<3>,
    ),
    (
        "demand-load hello, phase: allocate",
        loading::load_phase::<4>,
    ),
    (
        "demand-load hello, phase: place and relocate",
        loading::load_phase::<5>,
    ),
    (
        "demand-load hello, phase: constructor",
        loading::load_phase::<6>,
    ),
    (
        "demand-load hello, phase: register",
        loading::load_phase::<7>,
    ),
    (
        "demand-load hello, phase: namespace and the rest",
        loading::load_rest,
    ),
    ("release and unload hello", loading::release_and_unload),
    (
        "parse of an image with 10000 exports",
        loading::parse_large_image,
    ),
    ("signature check, 4 KiB image", signature::check_4k_image),
    (
        "signature check, 4 KiB image seen before (verifier's cache)",
        signature::check_4k_image_again,
    ),
    (
        "yield to another ready thread (one way)",
        threads::yield_one_way,
    ),
    (
        "mutex lock and unlock, uncontended",
        threads::mutex_lock_unlock,
    ),
    (
        "condition signal to the waiter running",
        threads::signal_to_wake,
    ),
    (
        "timer interrupt entry to the sleeper running",
        threads::timer_to_wake,
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
    ("interface call into the kernel", kernel_call),
    ("interface call, empty method", empty_call),
    ("zero-fill page fault", vm::zero_fill_fault),
    ("thread switch across spaces", vm::yield_across_spaces),
    (
        "vmm load + first space + first mapping",
        vm::load_and_first_mapping,
    ),
    ("vmm unload", vm::unload),
    ("cross-space null call", processes::null_call),
    (
        "cross-space call, 64-byte in and out buffers",
        processes::buffers_call,
    ),
    (
        "kernel-to-process null call",
        processes::kernel_to_process_null_call,
    ),
    ("process create + exit", processes::create_and_exit),
    // Last: they need the disk `cargo xtask bench` attaches.
    ("virtio-blk raw read", storage::block_read),
    ("FAT sequential read", storage::fat_sequential_read),
    ("9P sequential read", storage::nine_p_sequential_read),
    // They need the network card (and the sender on the host) that
    // `cargo xtask bench` attaches.
    (
        "TCP connect + accept + close",
        network::connect_accept_close,
    ),
    ("TCP receive", network::receive),
];

/// The instruction counter, read through the scheduler service.
pub struct Meter {
    scheduler: ComPtr<IScheduler>,
}

impl Meter {
    fn new() -> Result<Meter> {
        Ok(Meter {
            scheduler: component::threads::scheduler()?,
        })
    }

    /// Instructions retired since reset.
    #[inline(always)]
    pub fn now(&self) -> u64 {
        self.scheduler.instructions().unwrap_or(0)
    }

    /// The scheduler service the counter is read through.
    pub fn scheduler(&self) -> &IScheduler {
        &self.scheduler
    }

    /// What one interface call into the kernel costs: a call of
    /// `IScheduler::instructions`, which does nothing but read the counter.
    pub fn kernel_call(&self) -> u64 {
        self.measure(|| {
            let _ = black_box(self.scheduler.instructions());
        })
    }

    /// What a call that takes and returns nothing costs: one to an empty
    /// method.
    pub fn empty_call(&self) -> u64 {
        let probe = probe();
        self.measure(|| {
            let _ = black_box(probe.nothing());
        })
    }

    /// The instructions of `operation`, which makes `calls` calls into the
    /// kernel that take and return nothing, without those calls.
    pub fn measure_in_kernel(&self, calls: u64, operation: impl FnMut()) -> u64 {
        let call = self.empty_call();
        self.measure(operation).saturating_sub(calls * call)
    }

    /// The instructions `operation` takes: the fewest over `RUNS` runs.
    pub fn measure(&self, mut operation: impl FnMut()) -> u64 {
        let overhead = (0..RUNS)
            .map(|_| {
                let start = self.now();
                self.now() - start
            })
            .min()
            .unwrap_or(0);
        let runs = (0..RUNS).map(|_| {
            let start = self.now();
            operation();
            self.now() - start
        });
        runs.min().unwrap_or(0).saturating_sub(overhead)
    }
}

fn kernel_call(meter: &Meter) -> Result<u64> {
    Ok(meter.kernel_call())
}

fn empty_call(meter: &Meter) -> Result<u64> {
    Ok(meter.empty_call())
}

fn probe() -> ComPtr<IProbe> {
    ComObject::create(Probe)
}

fn direct_call(meter: &Meter) -> Result<u64> {
    let probe = probe();
    let mut out = 0u64;
    Ok(meter.measure(|| {
        // Arguments and result pass through `black_box` exactly as in
        // `interface_call`, so the two differ only in how the call is made.
        let this = black_box(probe.as_raw().cast::<c_void>());
        black_box(bench_direct_add(
            this,
            black_box(1),
            black_box(Some(&mut out)),
        ));
    }))
}

fn interface_call(meter: &Meter) -> Result<u64> {
    vtable_call(meter, &probe())
}

fn gated_call(meter: &Meter) -> Result<u64> {
    vtable_call(meter, &gated_probe())
}

fn gated_probe() -> ComPtr<IProbe> {
    ComObject::create(GatedProbe { gate: Gate::new() })
}

/// A call of `probe`'s `add` straight through its vtable.
fn vtable_call(meter: &Meter, probe: &IProbe) -> Result<u64> {
    let mut out = 0u64;
    Ok(meter.measure(|| {
        let probe = black_box(probe);
        black_box(add_through_vtable(probe, black_box(1), black_box(&mut out)));
    }))
}

fn safe_interface_call(meter: &Meter) -> Result<u64> {
    let probe = probe();
    Ok(meter.measure(|| {
        let _ = black_box(probe.add(black_box(1)));
    }))
}

fn bind_registered(meter: &Meter) -> Result<u64> {
    let root = component::namespace()?;
    let mut bound = Vec::with_capacity(RUNS);
    // Storing the result into reserved room costs a few instructions of the figure.
    let figure = meter.measure(|| bound.push(root.bind("/sys/heap", 0)));
    bound.into_iter().collect::<Result<Vec<_>>>()?;
    Ok(figure)
}

/// Points the gated probe's vtable at the one it has (a real mutation
/// that leaves it working) while `callers` threads call it.
fn mutate_with_callers(meter: &Meter, callers: u64) -> Result<u64> {
    let mutate = component::namespace()?
        .bind(interfaces::mutate::PATH, 0)?
        .query::<IMutate>()?;
    let probe = gated_probe();
    let vtable = com::vtable!(GatedProbe, IProbe).addr() as u64;
    *BUSY_PROBE.lock() = Some(probe.clone());
    STOP_CALLING.store(false, Ordering::SeqCst);
    let threads = (0..callers)
        .map(|i| component::threads::spawn(call_busy_probe, i, 4096))
        .collect::<Result<Vec<_>>>()
        // The callers that did start stop again.
        .inspect_err(|_| STOP_CALLING.store(true, Ordering::SeqCst))?;
    meter.scheduler().yield_now()?;
    let mut failure = None;
    let figure = meter.measure(|| {
        let result = mutate.mutate_vtable(probe.as_unknown(), vtable, flags::BY_MUTEX, NO_TIMEOUT);
        failure = failure.or(result.err());
    });
    STOP_CALLING.store(true, Ordering::SeqCst);
    threads.iter().try_for_each(|thread| thread.wait())?;
    BUSY_PROBE.lock().take();
    failure.map_or(Ok(figure), Err)
}

fn mutate_idle(meter: &Meter) -> Result<u64> {
    let figure = mutate_with_callers(meter, 0);
    // `/mutate` goes, so later figures see the namespace as it was.
    loading::collect_idle()?;
    figure
}

fn mutate_busy(meter: &Meter) -> Result<u64> {
    let figure = mutate_with_callers(meter, 8);
    loading::collect_idle()?;
    figure
}

/// The probe the callers call, and when to stop.
static BUSY_PROBE: Mutex<Option<ComPtr<IProbe>>> = Mutex::new(None);
static STOP_CALLING: AtomicBool = AtomicBool::new(false);

extern "C" fn call_busy_probe(_: u64) {
    let Some(probe) = BUSY_PROBE.lock().clone() else {
        return;
    };
    while !STOP_CALLING.load(Ordering::Relaxed) {
        let _ = black_box(probe.add(black_box(1)));
    }
}

/// Measures calling export `name` of a fresh instance of `callbench`,
/// loaded with `flags`.
fn call_export(meter: &Meter, name: &str, flags: u32) -> Result<u64> {
    use interfaces::ILoader;
    let loader = component::namespace()?
        .bind("/sys/loader", 0)?
        .query::<ILoader>()?;
    let export = CallbenchExport::find(loader.load_image("/boot/callbench", "", flags)?, name)?;
    let function = export.function();
    Ok(meter.measure(|| black_box(function)()))
}

fn call_local(meter: &Meter) -> Result<u64> {
    call_export(meter, "call_local", 0)
}

fn call_imported_direct(meter: &Meter) -> Result<u64> {
    call_export(meter, "call_imported", 0)
}

fn call_imported_indirect(meter: &Meter) -> Result<u64> {
    call_export(
        meter,
        "call_imported",
        interfaces::module::load_flags::INDIRECT_CALLS,
    )
}

/// The `IBenchmarks` object at `/benchmarks`.
#[class(IBenchmarks)]
struct Benchmarks;

impl IBenchmarksImpl for Benchmarks {
    fn count(&self) -> Result<u32> {
        u32::try_from(BENCHMARKS.len()).map_err(|_| Status::OUT_OF_RANGE)
    }

    fn name(&self, index: u32, buffer: &mut [u8]) -> Result<usize> {
        let (name, _) = BENCHMARKS.get(index as usize).ok_or(Status::OUT_OF_RANGE)?;
        com::copy_text(name, buffer)
    }

    fn run(&self, index: u32) -> Result<u64> {
        let (_, benchmark) = BENCHMARKS.get(index as usize).ok_or(Status::OUT_OF_RANGE)?;
        benchmark(&Meter::new()?)
    }
}

fn construct() -> Result<ComPtr<IUnknown>> {
    Ok(ComObject::create::<IBenchmarks>(Benchmarks).to_unknown())
}

component::component!(construct);
