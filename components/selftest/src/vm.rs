//! Checks of the virtual-memory manager (`/sys/vm`): U-mode threads touch
//! pages of mapped spaces, and the manager's figures say what it did —
//! zero-fill, file reads, copies on write, wiring — and bad accesses end
//! the thread with `ACCESS_VIOLATION`. Each check ends with every object
//! released, the manager gone and its module unloaded.

use alloc::vec::Vec;

use com::{ComPtr, Result, Status};
use interfaces::vm::{IMAGE_MAPPER_PATH, MANAGER_PATH, protection};
use interfaces::{IVmFactory, IVmImageMapper, IVmMapping, IVmSpace, IVmView, VmStatus};

use super::fail;
use crate::sys;

/// Bytes in a page.
const PAGE: u64 = 4096;

/// The start of the U-mode code: its one argument is a page-aligned
/// address with a page count (below 2048) in its low bits; splits it into
/// `a0` = address, `a1` = count, and puts the page size in `a2`.
const PROLOGUE: [u32; 3] = [
    0x7ff5_7593, // andi a1, a0, 0x7ff
    0x00b5_4533, // xor  a0, a0, a1
    0x0000_1637, // lui  a2, 1
];
/// U-mode code (after the prologue): stores the count left at each page,
/// counting down to 0, and returns. RV64I, hand-assembled,
/// position-independent.
const STORE_PAGES: [u32; 5] = [
    0x00b5_3023, // 1: sd   a1, 0(a0)
    0x00c5_0533, //    add  a0, a0, a2
    0xfff5_8593, //    addi a1, a1, -1
    0xfe05_9ae3, //    bnez a1, 1b
    0x0000_8067, //    ret
];
/// The same, loading from each page instead of storing.
const LOAD_PAGES: [u32; 5] = [
    0x0005_3283, // 1: ld   t0, 0(a0)
    0x00c5_0533, //    add  a0, a0, a2
    0xfff5_8593, //    addi a1, a1, -1
    0xfe05_9ae3, //    bnez a1, 1b
    0x0000_8067, //    ret
];

/// A space with a view and one page of code mapped for U-mode.
struct Stage {
    factory: ComPtr<IVmFactory>,
    space: ComPtr<IVmSpace>,
    view: ComPtr<IVmView>,
    text: ComPtr<IVmMapping>,
    code: u64,
}

impl Stage {
    /// Loads the manager (through `/sys/vm`) and makes a space running `code`.
    fn new(code: &[u32], wired: bool) -> Result<Stage> {
        let factory = sys::namespace()
            .bind(MANAGER_PATH, 0)?
            .query::<IVmFactory>()?;
        let space = factory.create_space()?;
        let view = factory.create_view(space.as_unknown())?;
        let text = factory.create_zero_mapping(PAGE)?;
        let bytes: Vec<u8> = PROLOGUE
            .iter()
            .chain(code)
            .flat_map(|word| word.to_le_bytes())
            .collect();
        text.write(0, &bytes)?;
        let mut allowed = protection::READ | protection::EXECUTE;
        if wired {
            allowed |= protection::WIRED;
        }
        let code = space.map(0, text.as_unknown(), 0, PAGE, allowed)?;
        Ok(Stage {
            factory,
            space,
            view,
            text,
            code,
        })
    }

    /// Maps `mapping` whole with `allowed`; where.
    fn map(&self, mapping: &ComPtr<IVmMapping>, allowed: u32) -> Result<u64> {
        let size = mapping.size()?;
        self.space.map(0, mapping.as_unknown(), 0, size, allowed)
    }

    /// Runs the code in U-mode over `pages` pages from `address`; how the
    /// thread ended.
    fn run(&self, address: u64, pages: u64) -> Result<()> {
        self.run_at(self.code, address, pages)
    }

    /// Runs from `entry` with the code's argument (the code uses no stack).
    fn run_at(&self, entry: u64, address: u64, pages: u64) -> Result<()> {
        let thread = self.view.start_thread(entry, address | pages, 0)?;
        thread.wait()
    }

    fn status(&self) -> Result<VmStatus> {
        self.factory.status()
    }
}

/// Releases everything of `stage` and checks the manager left and its
/// module unloaded.
fn finish(stage: Stage) -> Result<()> {
    let factory = stage.factory.clone();
    drop(stage);
    let left = factory.status()?;
    drop(factory);
    sys::collect_idle();
    if left != VmStatus::default() || sys::loaded("vm") {
        return fail(format_args!(
            "after the last space: {left:?}, vmm loaded: {}",
            sys::loaded("vm")
        ));
    }
    Ok(())
}

/// Changes in the manager's figures between `before` and `after`.
fn grew(before: &VmStatus, after: &VmStatus) -> (u64, u64, u64, u64) {
    (
        after.faults - before.faults,
        after.zero_fills - before.zero_fills,
        after.file_reads - before.file_reads,
        after.copies - before.copies,
    )
}

pub fn zero_fill_pages_come_on_first_touch() -> Result<()> {
    const PAGES: u64 = 16;
    if sys::loaded("vm") {
        return fail(format_args!("vmm was loaded before any space"));
    }
    let stage = Stage::new(&STORE_PAGES, false)?;
    let data = stage.factory.create_zero_mapping(PAGES * PAGE)?;
    let address = stage.map(&data, protection::READ | protection::WRITE)?;
    let before = stage.status()?;
    stage.run(address, PAGES)?;
    let after = stage.status()?;
    let region = stage.space.query_region(address)?;
    // Read back through the mapping, and through the space as a mapping
    // (by address): the same words.
    let as_mapping = stage.space.query::<IVmMapping>()?;
    let mut stored = Vec::new();
    for page in 0..PAGES {
        let (mut word, mut by_address) = ([0u8; 8], [0u8; 8]);
        data.read(page * PAGE, &mut word)?;
        as_mapping.read(address + page * PAGE, &mut by_address)?;
        if word != by_address {
            return fail(format_args!(
                "page {page}: {word:?}, by address {by_address:?}"
            ));
        }
        stored.push(u64::from_le_bytes(word));
    }
    // The code's region does not allow writing, nor does an unmapped range.
    let refused = (
        as_mapping.write(stage.code, &[0]),
        as_mapping.write(address + PAGES * PAGE, &[0]),
    );
    if refused != (Err(Status::ACCESS_DENIED), Err(Status::OUT_OF_RANGE)) {
        return fail(format_args!("writes by address gave {refused:?}"));
    }
    drop(as_mapping);
    let expected: Vec<u64> = (1..=PAGES).rev().collect();
    // One fault for the code page, one per data page.
    let (faults, zero_fills, _, _) = grew(&before, &after);
    if faults != PAGES + 1 || zero_fills != PAGES || stored != expected {
        return fail(format_args!(
            "{faults} faults, {zero_fills} zero-fills, pages hold {stored:?}"
        ));
    }
    // The view-switch hook saw the switch into the thread's view and the
    // one out of it (more if the thread was preempted).
    let switches = after.view_switches - before.view_switches;
    if switches < 2 {
        return fail(format_args!("the view-switch hook saw {switches} switches"));
    }
    if u64::from(region.resident_pages) != PAGES || region.size != PAGES * PAGE {
        return fail(format_args!("the region is {region:?}"));
    }
    drop(data);
    finish(stage)
}

/// Threads in two spaces and the checking thread (in the physical space)
/// take turns under `sched-constraint` — the one policy the test image's
/// runs of `selftest` do not run every check under — and each space's
/// thread leaves its pages as the code stored them.
pub fn spaces_and_physical_threads_switch_under_sched_constraint() -> Result<()> {
    crate::under_policy("sched-constraint", || {
        const PAGES: u64 = 32;
        let stages = [
            Stage::new(&STORE_PAGES, false)?,
            Stage::new(&STORE_PAGES, false)?,
        ];
        let mut running = Vec::new();
        for stage in &stages {
            let data = stage.factory.create_zero_mapping(PAGES * PAGE)?;
            let address = stage.map(&data, protection::READ | protection::WRITE)?;
            let thread = stage.view.start_thread(stage.code, address | PAGES, 0)?;
            running.push((thread, data));
        }
        let before = stages[0].status()?.view_switches;
        for (thread, data) in &running {
            thread.wait()?;
            if word_at(data, 0)? != PAGES || word_at(data, (PAGES - 1) * PAGE)? != 1 {
                return fail(format_args!("a space's pages hold what it did not store"));
            }
        }
        let switches = stages[0].status()?.view_switches - before;
        drop(running);
        let [first, second] = stages;
        drop(first);
        if switches < 2 {
            return fail(format_args!("{switches} view switches while they ran"));
        }
        finish(second)
    })
}

pub fn bad_accesses_in_a_space_are_access_violations() -> Result<()> {
    let stage = Stage::new(&STORE_PAGES, false)?;
    let data = stage.factory.create_zero_mapping(PAGE)?;
    let read_only = stage.map(&data, protection::READ)?;
    let writable = stage.map(&data, protection::READ | protection::WRITE)?;
    let kernel = 0x8020_0000;
    let unmapped = writable + 64 * PAGE;
    let cases = [
        ("a store to a read-only page", stage.run(read_only, 1)),
        ("a store outside every mapping", stage.run(unmapped, 1)),
        ("a store to the kernel's memory", stage.run(kernel, 1)),
        ("a jump into data", stage.run_at(writable, writable, 1)),
        (
            "writable and executable at once",
            stage
                .space
                .map(
                    0,
                    data.as_unknown(),
                    0,
                    PAGE,
                    protection::WRITE | protection::EXECUTE,
                )
                .map(|_| ()),
        ),
    ];
    for (what, outcome) in cases {
        let expected = if what.starts_with("writable") {
            Status::INVALID_ARGUMENT
        } else {
            Status::ACCESS_VIOLATION
        };
        if outcome != Err(expected) {
            return fail(format_args!("{what} gave {outcome:?}, not {expected:?}"));
        }
    }
    // The system goes on: the writable mapping still works.
    stage.run(writable, 1)?;
    drop(data);
    finish(stage)
}

/// What `user-wx`'s entry does with its argument (`components/user-wx`).
mod user_wx {
    pub const USE_SECTIONS: u64 = 1;
    pub const WRITE_CODE: u64 = 2;
    pub const RUN_DATA: u64 = 3;
}

pub fn images_map_with_their_sections_permissions() -> Result<()> {
    let stage = Stage::new(&STORE_PAGES, false)?;
    let mapper = sys::namespace()
        .bind(IMAGE_MAPPER_PATH, 0)?
        .query::<IVmImageMapper>()?;
    let image = mapper.map_image(stage.space.as_unknown(), 0, "/boot/user-wx")?;
    let stack = stage.factory.create_zero_mapping(PAGE)?;
    let stack_top = stage.map(&stack, protection::READ | protection::WRITE)? + PAGE;
    // Its first page is code, its last data.
    let (code, data) = (
        stage.space.query_region(image.base)?.protection,
        stage
            .space
            .query_region(image.base + image.size - 1)?
            .protection,
    );
    if code != protection::READ | protection::EXECUTE
        || data != protection::READ | protection::WRITE
    {
        return fail(format_args!(
            "the image's code allows {code:#x}, its data {data:#x}"
        ));
    }
    let run = |what| {
        stage
            .view
            .start_thread(image.entry, what, stack_top)?
            .wait()
    };
    let outcomes = [
        run(user_wx::USE_SECTIONS),
        run(user_wx::WRITE_CODE),
        run(user_wx::RUN_DATA),
        // The space goes on working after both.
        run(user_wx::USE_SECTIONS),
    ];
    let expected = [
        Ok(()),
        Err(Status::ACCESS_VIOLATION),
        Err(Status::ACCESS_VIOLATION),
        Ok(()),
    ];
    if outcomes != expected {
        return fail(format_args!(
            "use, code write, data jump, use gave {outcomes:?}"
        ));
    }
    // A packed image cannot be mapped page by page.
    let packed = mapper.map_image(stage.space.as_unknown(), 0, "/boot/hello");
    if packed.map(|_| ()) != Err(Status::NOT_SUPPORTED) {
        return fail(format_args!("mapping a packed image gave {packed:?}"));
    }
    drop((mapper, stack));
    finish(stage)
}

pub fn file_pages_come_from_the_file_and_shadows_copy() -> Result<()> {
    const FILE: &str = "/boot/README";
    let stage = Stage::new(&LOAD_PAGES, false)?;
    let file = stage.factory.create_file_mapping(FILE)?;
    let address = stage.map(&file, protection::READ)?;
    let pages = file.size()? / PAGE;
    let before = stage.status()?;
    stage.run(address, pages)?;
    let (_, _, file_reads, _) = grew(&before, &stage.status()?);
    let mut head = [0u8; 16];
    file.read(0, &mut head)?;
    let expected = {
        let readme = sys::namespace()
            .bind(FILE, 0)?
            .query::<interfaces::IFile>()?;
        let mut bytes = [0u8; 16];
        readme.read_at(0, &mut bytes)?;
        bytes
    };
    if file_reads != pages || head != expected {
        return fail(format_args!(
            "{file_reads} of {pages} pages read; the mapping starts {head:?}, the file {expected:?}"
        ));
    }
    // A shadow of a written zero mapping: reads see the original until a
    // store copies the page; the original stays as it was.
    let original = stage.factory.create_zero_mapping(PAGE)?;
    original.write(0, &[7; 16])?;
    let shown = stage.map(&original, protection::READ | protection::WRITE)?;
    let shadow = stage.space.create_shadow(shown)?;
    let mut seen = [0u8; 16];
    shadow.read(0, &mut seen)?;
    let store = Stage::new(&STORE_PAGES, false)?;
    let shadow_at = store.map(&shadow, protection::READ | protection::WRITE)?;
    let copies_before = store.status()?.copies;
    store.run(shadow_at, 1)?;
    let copies = store.status()?.copies - copies_before;
    let (mut after_original, mut after_shadow) = ([0u8; 16], [0u8; 16]);
    original.read(0, &mut after_original)?;
    shadow.read(0, &mut after_shadow)?;
    let mut expected_shadow = [7u8; 16];
    expected_shadow[..8].copy_from_slice(&1u64.to_le_bytes());
    if seen != [7; 16]
        || copies != 1
        || after_original != [7; 16]
        || after_shadow != expected_shadow
    {
        return fail(format_args!(
            "the shadow read {seen:?} then {after_shadow:?} after {copies} copies; the original {after_original:?}"
        ));
    }
    drop((file, original, shadow));
    drop(store);
    finish(stage)
}

pub fn wired_pages_never_fault_and_wiring_is_all_or_nothing() -> Result<()> {
    const PAGES: u64 = 8;
    let stage = Stage::new(&STORE_PAGES, true)?;
    let data = stage.factory.create_zero_mapping(PAGES * PAGE)?;
    let address = stage.map(
        &data,
        protection::READ | protection::WRITE | protection::WIRED,
    )?;
    let before = stage.status()?;
    stage.run(address, PAGES)?;
    let after = stage.status()?;
    let (faults, _, _, _) = grew(&before, &after);
    if faults != 0 || after.wired_pages != PAGES + 1 {
        return fail(format_args!(
            "{faults} faults on wired pages; {} pages wired",
            after.wired_pages
        ));
    }
    // More pages than the pool has: nothing is wired, nothing is mapped.
    let huge = stage
        .factory
        .create_zero_mapping((before.frames_total + 16) * PAGE)?;
    let frames_free = stage.status()?.frames_free;
    let refused = stage.map(
        &huge,
        protection::READ | protection::WRITE | protection::WIRED,
    );
    let after_refusal = stage.status()?;
    if refused != Err(Status::OUT_OF_MEMORY) || after_refusal.frames_free != frames_free {
        return fail(format_args!(
            "wiring too much gave {refused:?}; {} frames free, {frames_free} before",
            after_refusal.frames_free
        ));
    }
    touching_too_much_ends_the_thread(&stage, huge)?;
    drop(data);
    finish(stage)
}

/// U-mode threads touch the pages of `huge` (more than the pool has)
/// until one finds no frame left: it ends with `OUT_OF_MEMORY`, and once
/// `huge` is gone its frames serve the space again.
fn touching_too_much_ends_the_thread(stage: &Stage, huge: ComPtr<IVmMapping>) -> Result<()> {
    /// The most pages one run of the code touches (its count's bits).
    const RUN: u64 = 2047;
    let size = huge.size()?;
    let address = stage.map(&huge, protection::READ | protection::WRITE)?;
    let mut touched = 0;
    let mut outcome = Ok(());
    while outcome.is_ok() && touched < size / PAGE {
        let count = RUN.min(size / PAGE - touched);
        outcome = stage.run(address + touched * PAGE, count);
        touched += count;
    }
    if outcome != Err(Status::OUT_OF_MEMORY) {
        return fail(format_args!(
            "touching {touched} pages past the pool gave {outcome:?}"
        ));
    }
    stage.space.delete(address, size)?;
    drop(huge);
    let fresh = stage.factory.create_zero_mapping(PAGE)?;
    let address = stage.map(&fresh, protection::READ | protection::WRITE)?;
    stage.run(address, 1)
}

/// Loads `counter`, adds 5 to its fresh total and lets it go; the total.
fn use_counter() -> Result<u64> {
    let counter = sys::namespace()
        .bind("/counter", 0)?
        .query::<private_interfaces::ICounter>()?;
    let total = counter.add(5)?;
    drop(counter);
    sys::collect_idle();
    Ok(total)
}

pub fn a_component_runs_with_and_without_the_manager() -> Result<()> {
    let kernel = sys::namespace()
        .bind(interfaces::vm::KERNEL_PATH, 0)?
        .query::<interfaces::IVmKernel>()?;
    let physical = use_counter()?;
    let stage = Stage::new(&STORE_PAGES, false)?;
    stage.view.switch_to()?;
    let view = kernel.view()?;
    // The load and the calls run with this thread's view in force.
    let mapped = use_counter();
    kernel.set_view(0)?;
    let mapped = mapped?;
    finish(stage)?;
    let after = use_counter()?;
    if view == 0 || [physical, mapped, after] != [5, 5, 5] {
        return fail(format_args!(
            "view {view:#x}; counter totals {physical}, {mapped}, {after}"
        ));
    }
    Ok(())
}

pub fn a_thousand_space_cycles_leave_no_drift() -> Result<()> {
    const CYCLES: u32 = 1000;
    let heap = sys::namespace()
        .bind("/sys/heap", 0)?
        .query::<interfaces::IHeap>()?;
    // A stage held throughout keeps the manager (and its figures) alive.
    let keeper = Stage::new(&STORE_PAGES, false)?;
    let frames = keeper.status()?.frames_free;
    let used = heap.status()?.used;
    for _ in 0..CYCLES {
        one_cycle(&keeper)?;
    }
    let (frames_after, used_after) = (keeper.status()?.frames_free, heap.status()?.used);
    if frames_after != frames || used_after != used {
        return fail(format_args!(
            "after {CYCLES} cycles: {frames_after} frames free (was {frames}), heap {used_after} (was {used})"
        ));
    }
    finish(keeper)
}

/// One create / map / touch / destroy cycle beside `keeper`'s space: a
/// space running `keeper`'s code over two fresh zero-fill pages.
fn one_cycle(keeper: &Stage) -> Result<()> {
    const PAGES: u64 = 2;
    let space = keeper.factory.create_space()?;
    let view = keeper.factory.create_view(space.as_unknown())?;
    let code = space.map(
        0,
        keeper.text.as_unknown(),
        0,
        PAGE,
        protection::READ | protection::EXECUTE,
    )?;
    let data = keeper.factory.create_zero_mapping(PAGES * PAGE)?;
    let address = space.map(
        0,
        data.as_unknown(),
        0,
        PAGES * PAGE,
        protection::READ | protection::WRITE,
    )?;
    view.start_thread(code, address | PAGES, 0)?.wait()?;
    let mut word = [0u8; 8];
    data.read(PAGE, &mut word)?;
    if u64::from_le_bytes(word) != 1 {
        return fail(format_args!("the last page holds {word:?}"));
    }
    Ok(())
}

/// The word at `offset` of `mapping`.
fn word_at(mapping: &IVmMapping, offset: u64) -> Result<u64> {
    let mut word = [0u8; 8];
    mapping.read(offset, &mut word)?;
    Ok(u64::from_le_bytes(word))
}

pub fn mappings_share_pages_and_spaces_clone() -> Result<()> {
    const BOTH: u32 = protection::READ | protection::WRITE;
    let stage = Stage::new(&STORE_PAGES, false)?;
    let data = stage.factory.create_zero_mapping(2 * PAGE)?;
    let space = stage.space.query::<IVmMapping>()?;
    // A window on the second page: the same page, written through either.
    let window = data.share(PAGE, PAGE, BOTH)?;
    window.write(0, &9u64.to_le_bytes())?;
    let copies = stage.status()?.copies;
    let read_only = data.restrict(protection::READ)?;
    let refused = [
        read_only.share(0, PAGE, BOTH).map(|_| ()),
        data.share(1, PAGE, BOTH).map(|_| ()),
        data.share(PAGE, 2 * PAGE, BOTH).map(|_| ()),
        space.share(0, PAGE, protection::EXECUTE).map(|_| ()),
    ];
    let expected_refusals = [
        Err(Status::ACCESS_DENIED),
        Err(Status::INVALID_ARGUMENT),
        Err(Status::OUT_OF_RANGE),
        Err(Status::ACCESS_DENIED),
    ];
    let (size, seen) = (window.size()?, word_at(&data, PAGE)?);
    if size != PAGE || seen != 9 || copies != 0 || refused != expected_refusals {
        return fail(format_args!(
            "window of {size} bytes; the mapping holds {seen}; {copies} copies; refusals {refused:?}"
        ));
    }
    // A U-mode store through the window lands in the mapping's page.
    let at = stage.map(&window, BOTH)?;
    stage.run(at, 1)?;
    let stored = word_at(&data, PAGE)?;
    // Another space maps the first space's range through a clone of it:
    // its stores land in the same pages.
    let shown = stage.map(&data, BOTH)?;
    let clone = space.restrict(BOTH)?;
    let other = Stage::new(&STORE_PAGES, false)?;
    let through = other
        .space
        .map(0, clone.as_unknown(), shown, 2 * PAGE, BOTH)?;
    other.run(through, 2)?;
    let shared = (word_at(&data, 0)?, word_at(&data, PAGE)?);
    // A read-only clone maps only for reading, and a store through it is
    // refused; the space cannot map a clone of itself.
    let read_clone = space.restrict(protection::READ)?;
    let wider = other
        .space
        .map(0, read_clone.as_unknown(), shown, PAGE, BOTH)
        .map(|_| ());
    let reading = other
        .space
        .map(0, read_clone.as_unknown(), shown, PAGE, protection::READ)?;
    let store_refused = other.run(reading, 1);
    let itself = stage
        .space
        .map(0, clone.as_unknown(), shown, PAGE, BOTH)
        .map(|_| ());
    // Narrowing the first space's range narrows what its clones show.
    stage.space.protect(shown, 2 * PAGE, protection::READ)?;
    let narrowed = other.run(through, 2);
    if stored != 1
        || shared != (2, 1)
        || wider != Err(Status::ACCESS_DENIED)
        || store_refused != Err(Status::ACCESS_VIOLATION)
        || itself != Err(Status::INVALID_ARGUMENT)
        || narrowed != Err(Status::ACCESS_VIOLATION)
    {
        return fail(format_args!(
            "stored {stored}; shared pages hold {shared:?}; a wider map {wider:?}, a store \
             through a read-only clone {store_refused:?}, a clone in itself {itself:?}, a store \
             after narrowing {narrowed:?}"
        ));
    }
    // The first space goes first: the clones the other maps hold it until
    // the other deletes those ranges.
    drop((data, window, read_only, clone, read_clone, space));
    drop(stage);
    let held = other.status()?.spaces;
    other.space.delete(through, 2 * PAGE)?;
    other.space.delete(reading, PAGE)?;
    let left = other.status()?.spaces;
    if (held, left) != (2, 1) {
        return fail(format_args!(
            "{held} spaces while the clones are mapped, {left} after"
        ));
    }
    finish(other)
}

/// The names listed under `/sys/vm`.
fn listed_spaces() -> Result<Vec<alloc::string::String>> {
    let mut names = Vec::new();
    interfaces::namespace::for_each_name(sys::namespace(), MANAGER_PATH, |name| {
        names.push(alloc::string::String::from(name));
        Ok(())
    })?;
    Ok(names)
}

pub fn spaces_are_listed_under_the_manager() -> Result<()> {
    let stage = Stage::new(&STORE_PAGES, false)?;
    let second = stage.factory.create_space()?;
    let listed = listed_spaces()?;
    // Bound by name: a new reference to the same space.
    let bound = sys::namespace()
        .bind("/sys/vm/space-2", 0)?
        .query::<IVmSpace>()?;
    let reserved = bound.reserve(0, PAGE)?;
    let same = second.reserve(reserved, PAGE);
    let status = stage.space.status()?;
    let missing = (
        sys::namespace().bind("/sys/vm/space-3", 0).map(|_| ()),
        sys::namespace().bind("/sys/vm/space-02", 0).map(|_| ()),
    );
    if listed != ["space-1", "space-2"]
        || same != Err(Status::ALREADY_EXISTS)
        || status.regions != 1
        || missing != (Err(Status::NOT_FOUND), Err(Status::NOT_FOUND))
    {
        return fail(format_args!(
            "listed {listed:?}; a second reserve {same:?}; space-1 {status:?}; missing {missing:?}"
        ));
    }
    // Everything but the bound space goes, the factory included: the
    // manager keeps its name while the space lives, and lists it alone.
    drop((stage, second));
    sys::collect_idle();
    let left = listed_spaces()?;
    drop(bound);
    sys::collect_idle();
    let loaded = sys::loaded("vm");
    let after = listed_spaces();
    if left != ["space-2"] || loaded || after.is_ok() {
        return fail(format_args!(
            "with one space left {left:?}; after it, vmm loaded: {loaded}, /sys/vm lists {after:?}"
        ));
    }
    Ok(())
}

/// A space's checked copies (what the IPC copies a caller's buffers
/// with): a range crossing two regions is checked in one call, and a
/// copy any byte of which its regions refuse copies nothing.
pub fn checked_copies_are_all_or_nothing() -> Result<()> {
    let stage = Stage::new(&STORE_PAGES, false)?;
    let space = &stage.space;
    // Three pages: one writable, one read-only, one reserved but unmapped.
    let at = space.reserve(0, 3 * PAGE)?;
    let writable = stage.factory.create_zero_mapping(PAGE)?;
    let read_only = stage.factory.create_zero_mapping(PAGE)?;
    read_only.write(0, &[5; 8])?;
    let both = protection::READ | protection::WRITE;
    space.map(at, writable.as_unknown(), 0, PAGE, both)?;
    space.map(at + PAGE, read_only.as_unknown(), 0, PAGE, protection::READ)?;
    let answers = [
        space.check_access(at, 2 * PAGE, protection::READ),
        space.check_access(at + 8, 0, both),
        space.check_access(at, 2 * PAGE, protection::WRITE),
        space.check_access(at + PAGE, 2 * PAGE, protection::READ),
        space.check_access(stage.code, 4, protection::WRITE),
        space.check_access(0x8020_0000, 8, protection::READ),
        space.check_access(u64::MAX - 4, 8, protection::READ),
    ];
    let expected = [
        Ok(()),
        Ok(()),
        Err(Status::ACCESS_DENIED),
        Err(Status::OUT_OF_RANGE),
        Err(Status::ACCESS_DENIED),
        Err(Status::OUT_OF_RANGE),
        Err(Status::OUT_OF_RANGE),
    ];
    if answers != expected {
        return fail(format_args!("check_access answered {answers:?}"));
    }
    // Straddling the writable and the read-only page: nothing written.
    let refused = space.write_checked(at + PAGE - 4, &[9; 8]);
    let mut left = [1u8; 8];
    space.read_checked(at + PAGE - 4, &mut left)?;
    if refused != Err(Status::ACCESS_DENIED) || left != [0, 0, 0, 0, 5, 5, 5, 5] {
        return fail(format_args!(
            "a refused write gave {refused:?}, left {left:?}"
        ));
    }
    // Straddling the read-only page and the unmapped one: nothing read.
    let mut untouched = [1u8; 8];
    let refused = space.read_checked(at + 2 * PAGE - 4, &mut untouched);
    if refused != Err(Status::OUT_OF_RANGE) || untouched != [1; 8] {
        return fail(format_args!(
            "a refused read gave {refused:?}, {untouched:?}"
        ));
    }
    space.write_checked(at + PAGE - 8, &[3; 8])?;
    let mut back = [0u8; 16];
    space.read_checked(at + PAGE - 8, &mut back)?;
    if back != [3, 3, 3, 3, 3, 3, 3, 3, 5, 5, 5, 5, 5, 5, 5, 5] {
        return fail(format_args!("read back {back:?}"));
    }
    drop((writable, read_only));
    finish(stage)
}
