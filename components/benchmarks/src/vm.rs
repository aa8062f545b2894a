//! The virtual-memory manager's figures: a zero-fill page fault as U-mode
//! code sees it, a yield between threads in two spaces, and the manager's
//! load (with its first space and mapping) and unload.

use core::sync::atomic::{AtomicBool, Ordering};

use com::{ComPtr, Result};
use interfaces::vm::{KERNEL_PATH, MANAGER_PATH, protection};
use interfaces::{IVmFactory, IVmKernel, IVmMapping, IVmSpace, IVmView};
use sync::Mutex;

use crate::loading::collect_idle;
use crate::{Meter, RUNS};

/// Bytes in a page.
const PAGE: u64 = 4096;

/// U-mode code: stores zero at `a0` between two readings of `instret`
/// and stores their difference at `a0 + 8`. RV64I, hand-assembled.
const TIMED_STORE: [u32; 6] = [
    0xc020_22f3, // rdinstret t0
    0x0005_3023, // sd   zero, 0(a0)
    0xc020_2373, // rdinstret t1
    0x4053_0333, // sub  t1, t1, t0
    0x0065_3423, // sd   t1, 8(a0)
    0x0000_8067, // ret
];

/// The manager's factory (loading it if it is not loaded).
fn factory() -> Result<ComPtr<IVmFactory>> {
    component::namespace()?
        .bind(MANAGER_PATH, 0)?
        .query::<IVmFactory>()
}

/// A space with `TIMED_STORE` mapped and pages of zeros mapped writable,
/// held through its view.
struct TimedSpace {
    view: ComPtr<IVmView>,
    /// Where the code is.
    code: u64,
    data: ComPtr<IVmMapping>,
    /// Where the data is.
    address: u64,
}

/// A [`TimedSpace`] with `pages` pages of data.
fn timed_space(factory: &IVmFactory, pages: u64) -> Result<TimedSpace> {
    let space = factory.create_space()?;
    let view = factory.create_view(space.as_unknown())?;
    let text = factory.create_zero_mapping(PAGE)?;
    let bytes: alloc::vec::Vec<u8> = TIMED_STORE
        .iter()
        .flat_map(|word| word.to_le_bytes())
        .collect();
    text.write(0, &bytes)?;
    let code = space.map(
        0,
        text.as_unknown(),
        0,
        PAGE,
        protection::READ | protection::EXECUTE,
    )?;
    let data = factory.create_zero_mapping(pages * PAGE)?;
    let address = space.map(
        0,
        data.as_unknown(),
        0,
        pages * PAGE,
        protection::READ | protection::WRITE,
    )?;
    Ok(TimedSpace {
        view,
        code,
        data,
        address,
    })
}

impl TimedSpace {
    /// Runs `TIMED_STORE` on page `page`; the instructions between its two
    /// readings.
    fn store(&self, page: u64) -> Result<u64> {
        self.view
            .start_thread(self.code, self.address + page * PAGE, 0)?
            .wait()?;
        let mut word = [0u8; 8];
        self.data.read(page * PAGE + 8, &mut word)?;
        Ok(u64::from_le_bytes(word))
    }
}

/// From the faulting store's trap to the return to U-mode: a store to a
/// fresh zero-fill page, less the same store to a page already mapped.
pub fn zero_fill_fault(_: &Meter) -> Result<u64> {
    let factory = factory()?;
    let pages = RUNS as u64 + 1;
    let timed = timed_space(&factory, pages)?;
    // Page 0 faults in (code and data), then its store costs no fault.
    timed.store(0)?;
    let mapped = timed.store(0)?;
    let mut figure = u64::MAX;
    for page in 1..pages {
        figure = figure.min(timed.store(page)?.saturating_sub(mapped));
    }
    drop((timed, factory));
    collect_idle()?;
    Ok(figure)
}

/// Tells the partner in the other space to stop.
static STOP_YIELDING: AtomicBool = AtomicBool::new(false);
/// The partner's view, for it to enter.
static PARTNER_VIEW: Mutex<Option<ComPtr<IVmView>>> = Mutex::new(None);

extern "C" fn yield_in_other_space(_: u64) {
    let view = PARTNER_VIEW.lock().take();
    let (Some(view), Ok(scheduler)) = (view, component::threads::scheduler()) else {
        return;
    };
    if view.switch_to().is_err() {
        return;
    }
    while !STOP_YIELDING.load(Ordering::Relaxed) {
        let _ = scheduler.yield_now();
    }
}

/// A yield from a thread in one space to a thread in another (one way),
/// each switch writing `satp`.
pub fn yield_across_spaces(meter: &Meter) -> Result<u64> {
    let factory = factory()?;
    let kernel = component::namespace()?
        .bind(KERNEL_PATH, 0)?
        .query::<IVmKernel>()?;
    let (mine, theirs) = (factory.create_space()?, factory.create_space()?);
    let my_view = factory.create_view(mine.as_unknown())?;
    *PARTNER_VIEW.lock() = Some(factory.create_view(theirs.as_unknown())?);
    STOP_YIELDING.store(false, Ordering::SeqCst);
    let partner = component::threads::spawn(yield_in_other_space, 0, 4096)?;
    let scheduler = meter.scheduler();
    scheduler.yield_now()?;
    my_view.switch_to()?;
    let round_trip = meter.measure_in_kernel(2, || {
        let _ = scheduler.yield_now();
    });
    kernel.set_view(0)?;
    STOP_YIELDING.store(true, Ordering::SeqCst);
    partner.wait()?;
    PARTNER_VIEW.lock().take();
    drop((my_view, mine, theirs, factory));
    collect_idle()?;
    Ok(round_trip / 2)
}

/// Everything the first use of the manager makes: its factory, a space, a
/// mapping and that mapping's place in the space.
type FirstUse = (
    ComPtr<IVmFactory>,
    ComPtr<IVmSpace>,
    ComPtr<IVmMapping>,
    u64,
);

fn first_use() -> Result<FirstUse> {
    let factory = factory()?;
    let space = factory.create_space()?;
    let mapping = factory.create_zero_mapping(PAGE)?;
    let address = space.map(
        0,
        mapping.as_unknown(),
        0,
        PAGE,
        protection::READ | protection::WRITE,
    )?;
    Ok((factory, space, mapping, address))
}

/// From binding `/sys/vm` (not loaded) to a mapping mapped in a first space.
pub fn load_and_first_mapping(meter: &Meter) -> Result<u64> {
    let mut figure = u64::MAX;
    for _ in 0..RUNS {
        collect_idle()?;
        let start = meter.now();
        let made = first_use();
        let spent = meter.now() - start;
        drop(made?);
        figure = figure.min(spent);
    }
    collect_idle()?;
    Ok(figure)
}

/// From releasing the last mapping, space and factory to the module gone.
pub fn unload(meter: &Meter) -> Result<u64> {
    let mut figure = u64::MAX;
    for _ in 0..RUNS {
        collect_idle()?;
        let made = first_use()?;
        let start = meter.now();
        drop(made);
        collect_idle()?;
        figure = figure.min(meter.now() - start);
    }
    Ok(figure)
}
