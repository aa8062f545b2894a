//! The manager's state: the frame pool, the spaces with their page tables
//! and mapped regions, the mappings with their pages, and the figures.
//! One lock guards all of it ([`STATE`]); the COM objects hold ids into
//! it, counted, and the last release of the last space removes the
//! manager from the kernel and gives the pool back.
//!
//! Mappings and spaces form a graph without cycles: a shadow, a shared
//! window (`share`) and a space's clone hold what they show, and `map`
//! refuses to map into a space anything that shows that space.

use alloc::vec::Vec;

use com::{ComPtr, Result, Status};
use interfaces::vm::{access, protection};
use interfaces::{IFile, IVmKernel, SpaceStatus, VmStatus};
use sv39::{GIGAPAGE, LOWER_HALF_END, PAGE_SIZE, flags};
use sync::Mutex;

use frame_pool::{FRAME_BYTES, Frames};

/// The manager, while a space or mapping exists (none before the first
/// and after the last).
pub static STATE: Mutex<Option<Manager>> = Mutex::new(None);

/// Where U-mode ranges start: above the kernel's gigapages (devices at
/// 0-1 GiB, RAM at 2-4 GiB).
pub const USER_START: u64 = 4 * GIGAPAGE;
/// Where they end: the top of Sv39's lower half.
pub const USER_END: u64 = LOWER_HALF_END;

/// The gigapages every space maps for the kernel, at their physical
/// addresses, supervisor-only and global: the devices, then RAM.
const KERNEL_GIGAPAGES: [(u64, u64); 3] = [
    (0, flags::R | flags::W | flags::G | flags::A | flags::D),
    (
        2 * GIGAPAGE,
        flags::R | flags::W | flags::X | flags::G | flags::A | flags::D,
    ),
    (
        3 * GIGAPAGE,
        flags::R | flags::W | flags::X | flags::G | flags::A | flags::D,
    ),
];

/// `satp` for an Sv39 root table in frame `root`.
pub fn satp(root: u64) -> u64 {
    (8 << 60) | root
}

/// Ids of spaces and mappings: their slots.
pub type Id = usize;

/// Where pages of a mapping come from on first touch.
enum Source {
    /// Zeros.
    Zero,
    /// A file, read a page at a time.
    File(ComPtr<IFile>),
    /// Another mapping, from a page offset: read as it until written.
    Shadow { of: Id, first_page: u64 },
    /// Another mapping's own pages, from a page offset (`share`).
    Window { of: Id, first_page: u64 },
    /// The pages a space shows, from a page of its addresses (`share` and
    /// `restrict` of a space): as far as its regions allow.
    Space { of: Id, first_page: u64 },
}

impl Source {
    /// True for mappings whose pages are another's (no frames of their own).
    fn shows_another(&self) -> bool {
        matches!(self, Source::Window { .. } | Source::Space { .. })
    }
}

/// A mapping: its pages in memory, and where missing ones come from.
struct MappingData {
    /// References: COM objects, regions mapping it, mappings showing it.
    references: u32,
    source: Source,
    pages: u64,
    /// One slot per page: 0 while the page is not in memory, else its
    /// frame's number, with [`DIRTY`] once written since it came in (what
    /// `CLEAN` writes back). Made whole with the mapping, so a fault never
    /// allocates from the heap; none for a mapping showing another's pages.
    slots: Vec<u64>,
}

/// A slot's mark of a written page.
const DIRTY: u64 = 1 << 63;

impl MappingData {
    fn pages(&self) -> u64 {
        self.pages
    }

    /// Its page showing page `index` of mapping `of`, if one does (a page
    /// of `of` that changes changes here too): as a window on it, or a
    /// shadow that has not copied that page yet.
    fn shows(&self, of: Id, index: u64) -> Option<u64> {
        let (source, first_page) = match self.source {
            Source::Window { of, first_page } => (of, first_page),
            Source::Shadow { of, first_page } => (of, first_page),
            _ => return None,
        };
        let own = index
            .checked_sub(first_page)
            .filter(|&own| own < self.pages)?;
        (source == of && self.frame(own).is_none()).then_some(own)
    }

    /// The page of it showing `address` of space `space`, if it is a clone
    /// of that space covering the address.
    fn shows_space(&self, space: Id, address: u64) -> Option<u64> {
        let Source::Space { of, first_page } = self.source else {
            return None;
        };
        let own = (address / PAGE_SIZE)
            .checked_sub(first_page)
            .filter(|&own| own < self.pages)?;
        (of == space).then_some(own)
    }

    /// The frame of page `index`, if in memory.
    fn frame(&self, index: u64) -> Option<u64> {
        let slot = *self.slots.get(usize::try_from(index).ok()?)?;
        (slot != 0).then_some(slot & !DIRTY)
    }

    fn slot(&mut self, index: u64) -> Option<&mut u64> {
        self.slots.get_mut(usize::try_from(index).ok()?)
    }

    /// Pages in memory.
    fn resident(&self) -> u64 {
        self.slots.iter().filter(|&&slot| slot != 0).count() as u64
    }

    /// The written pages among `pages`, with their frames.
    fn written(&self, pages: core::ops::Range<u64>) -> Vec<(u64, u64)> {
        pages
            .filter_map(|index| {
                let slot = *self.slots.get(usize::try_from(index).ok()?)?;
                (slot & DIRTY != 0).then_some((index, slot & !DIRTY))
            })
            .collect()
    }
}

/// A range of a space showing a mapping.
#[derive(Clone, Copy)]
struct Region {
    start: u64,
    pages: u64,
    mapping: Id,
    first_page: u64,
    protection: u32,
}

impl Region {
    fn end(&self) -> u64 {
        self.start + self.pages * PAGE_SIZE
    }

    fn holds(&self, address: u64) -> bool {
        (self.start..self.end()).contains(&address)
    }
}

/// An address space.
struct SpaceData {
    /// References: COM objects and views.
    references: u32,
    /// Its root table's frame.
    root: u64,
    regions: Vec<Region>,
    reservations: Vec<(u64, u64)>,
}

/// Everything the manager keeps.
pub struct Manager {
    kernel: ComPtr<IVmKernel>,
    /// The factory registered at `/sys/vm`, held while the manager lives
    /// (the namespace then keeps the name, which lists the spaces).
    #[allow(
        dead_code,
        reason = "held, never read: dropping it lets the factory go"
    )]
    factory: Option<ComPtr<com::IUnknown>>,
    frames: Frames,
    spaces: Vec<Option<SpaceData>>,
    mappings: Vec<Option<MappingData>>,
    figures: VmStatus,
}

/// Copies `length` bytes of `from` at `at` into `to` at `to_at`.
/// Checked through `get`, never by slicing: the panic paths of bounds
/// that can fail cost this module a kilobyte (docs/vm.md, Figures).
fn copy_bytes(from: &[u8], at: usize, to: &mut [u8], to_at: usize, length: usize) -> Result<()> {
    let source = from.get(at..at + length).ok_or(Status::FAILED)?;
    let target = to.get_mut(to_at..to_at + length).ok_or(Status::FAILED)?;
    // By words where it can (the kernel's `memcpy`), not byte by byte.
    target.copy_from_slice(source);
    Ok(())
}

/// Puts `value` in the first free slot of `slots`; its id.
fn insert<T>(slots: &mut Vec<Option<T>>, value: T) -> Result<Id> {
    if let Some(free) = slots.iter().position(Option::is_none)
        && let Some(slot) = slots.get_mut(free)
    {
        *slot = Some(value);
        return Ok(free);
    }
    slots.try_reserve(1).map_err(|_| Status::OUT_OF_MEMORY)?;
    slots.push(Some(value));
    Ok(slots.len() - 1)
}

/// Bytes rounded up to whole pages, as a page count.
pub fn pages_of(bytes: u64) -> Result<u64> {
    bytes
        .checked_add(PAGE_SIZE - 1)
        .map(|rounded| rounded / PAGE_SIZE)
        .filter(|&pages| pages > 0)
        .ok_or(Status::INVALID_ARGUMENT)
}

/// The PTE bits for a page of a region allowing `allowed`, mapped
/// writable only when `writable` (the page is the mapping's own and has
/// been written).
fn entry_bits(allowed: u32, writable: bool) -> u64 {
    let mut bits = flags::U | flags::A;
    if allowed & (protection::READ | protection::WRITE) != 0 {
        bits |= flags::R;
    }
    if allowed & protection::EXECUTE != 0 {
        bits |= flags::X;
    }
    if writable && allowed & protection::WRITE != 0 {
        bits |= flags::W | flags::D;
    }
    bits
}

/// True when `allowed` permits `wanted` (`access::*`).
fn permits(allowed: u32, wanted: u32) -> bool {
    allowed & wanted == wanted
}

impl Manager {
    /// A manager over the pool `kernel` handed out (the handler is
    /// installed already).
    pub fn new(
        kernel: ComPtr<IVmKernel>,
        frames: Frames,
        factory: Option<ComPtr<com::IUnknown>>,
    ) -> Manager {
        let figures = VmStatus {
            frames_total: frames.total() as u64,
            ..VmStatus::default()
        };
        Manager {
            kernel,
            factory,
            frames,
            spaces: Vec::new(),
            mappings: Vec::new(),
            figures,
        }
    }

    /// The kernel's side, to call outside the lock.
    pub fn kernel(&self) -> ComPtr<IVmKernel> {
        self.kernel.clone()
    }

    /// The figures now.
    pub fn status(&self) -> VmStatus {
        let mut figures = self.figures;
        let count = |live: usize| u32::try_from(live).unwrap_or(u32::MAX);
        figures.spaces = count(self.spaces.iter().flatten().count());
        figures.mappings = count(self.mappings.iter().flatten().count());
        figures.resident_pages = self
            .mappings
            .iter()
            .flatten()
            .map(MappingData::resident)
            .sum();
        figures.wired_pages = self
            .spaces
            .iter()
            .flatten()
            .flat_map(|space| &space.regions)
            .filter(|region| region.protection & protection::WIRED != 0)
            .map(|region| region.pages)
            .sum();
        figures.frames_free = self.frames.free_count() as u64;
        figures
    }

    /// True once no space and no mapping is left.
    pub fn is_empty(&self) -> bool {
        self.spaces.iter().all(Option::is_none) && self.mappings.iter().all(Option::is_none)
    }

    // ----- spaces -----

    /// A new space with the kernel mapped; its id.
    pub fn create_space(&mut self) -> Result<Id> {
        let root = self.frames.allocate_zeroed().ok_or(Status::OUT_OF_MEMORY)?;
        for (address, bits) in KERNEL_GIGAPAGES {
            // A fresh root in the pool: mapping a gigapage cannot fail.
            let _ = sv39::map_identity_gigapage(&mut self.frames, root, address, bits);
        }
        let space = SpaceData {
            references: 1,
            root,
            regions: Vec::new(),
            reservations: Vec::new(),
        };
        insert(&mut self.spaces, space).inspect_err(|_| self.frames.free(root))
    }

    fn space(&mut self, id: Id) -> Result<&mut SpaceData> {
        self.spaces
            .get_mut(id)
            .and_then(Option::as_mut)
            .ok_or(Status::INVALID_ARGUMENT)
    }

    /// `satp` of space `id`.
    pub fn space_view(&mut self, id: Id) -> Result<u64> {
        Ok(satp(self.space(id)?.root))
    }

    /// The space whose view is `view`.
    pub fn space_of_view(&self, view: u64) -> Option<Id> {
        self.spaces
            .iter()
            .position(|space| space.as_ref().is_some_and(|space| satp(space.root) == view))
    }

    /// One more reference to space `id` (not to one being destroyed).
    pub fn hold_space(&mut self, id: Id) -> Result<()> {
        let space = self.space(id)?;
        if space.references == 0 {
            return Err(Status::INVALID_ARGUMENT);
        }
        space.references += 1;
        Ok(())
    }

    /// One reference to space `id` fewer. After the last the space is
    /// dying: [`Manager::dying_space`] names it to whoever then waits for
    /// its threads and calls [`Manager::destroy_space`].
    pub fn release_space(&mut self, id: Id) {
        if let Ok(space) = self.space(id) {
            space.references = space.references.saturating_sub(1);
        }
    }

    /// A space nothing refers to any more, and its view.
    pub fn dying_space(&self) -> Option<(Id, u64)> {
        self.spaces.iter().enumerate().find_map(|(id, space)| {
            let space = space.as_ref()?;
            (space.references == 0).then_some((id, satp(space.root)))
        })
    }

    /// The spaces alive (not dying), in id order, after `after` (all, with
    /// none).
    pub fn live_spaces(&self, after: Option<Id>) -> impl Iterator<Item = Id> + '_ {
        let first = after.map_or(0, |after| after + 1);
        self.spaces
            .iter()
            .enumerate()
            .skip(first)
            .filter(|(_, space)| space.as_ref().is_some_and(|space| space.references > 0))
            .map(|(id, _)| id)
    }

    /// Space `id`'s figures.
    pub fn space_status(&mut self, id: Id) -> Result<SpaceStatus> {
        let space = self
            .spaces
            .get(id)
            .and_then(Option::as_ref)
            .ok_or(Status::INVALID_ARGUMENT)?;
        let mut status = SpaceStatus {
            regions: u32::try_from(space.regions.len()).unwrap_or(u32::MAX),
            ..SpaceStatus::default()
        };
        for region in &space.regions {
            if region.protection & protection::WIRED != 0 {
                status.wired_pages += region.pages;
            }
            for page in 0..region.pages {
                let address = region.start + page * PAGE_SIZE;
                if sv39::lookup(&mut self.frames, space.root, address).is_some() {
                    status.resident_pages += 1;
                }
            }
        }
        Ok(status)
    }

    /// Frees space `id`: its regions let go of their mappings, its tables
    /// go back to the pool.
    pub fn destroy_space(&mut self, id: Id) {
        let Some(space) = self.spaces.get_mut(id).and_then(Option::take) else {
            return;
        };
        sv39::free_tables(&mut self.frames, space.root, USER_START, USER_END);
        self.frames.free(space.root);
        for region in space.regions {
            self.release_mapping(region.mapping);
        }
    }

    /// Keeps `[address, address + size)` of space `id` (0: anywhere).
    pub fn reserve(&mut self, id: Id, address: u64, size: u64) -> Result<u64> {
        let pages = pages_of(size)?;
        let start = self.place(id, address, pages)?;
        let space = self.space(id)?;
        space
            .reservations
            .try_reserve(1)
            .map_err(|_| Status::OUT_OF_MEMORY)?;
        space.reservations.push((start, start + pages * PAGE_SIZE));
        Ok(start)
    }

    /// Where `pages` pages go in space `id`: at `address` if that is free
    /// (neither a region nor a reservation touches it), else — for 0 — the
    /// first free gap.
    fn place(&mut self, id: Id, address: u64, pages: u64) -> Result<u64> {
        let length = pages
            .checked_mul(PAGE_SIZE)
            .ok_or(Status::INVALID_ARGUMENT)?;
        let space = self.space(id)?;
        let taken: Vec<(u64, u64)> = space
            .regions
            .iter()
            .map(|region| (region.start, region.end()))
            .chain(space.reservations.iter().copied())
            .collect();
        let free = |start: u64| {
            start.checked_add(length).is_some_and(|end| {
                start >= USER_START
                    && end <= USER_END
                    && taken.iter().all(|&(from, to)| end <= from || start >= to)
            })
        };
        if address != 0 {
            if !address.is_multiple_of(PAGE_SIZE) {
                return Err(Status::INVALID_ARGUMENT);
            }
            return free(address)
                .then_some(address)
                .ok_or(Status::ALREADY_EXISTS);
        }
        core::iter::once(USER_START)
            .chain(taken.iter().map(|&(_, to)| to))
            .filter(|&start| free(start))
            .min()
            .ok_or(Status::OUT_OF_MEMORY)
    }

    /// Maps `pages` pages of mapping `mapping` from `first_page` at
    /// `address` of space `id`: inside one reservation, or where nothing is.
    pub fn map(
        &mut self,
        id: Id,
        address: u64,
        mapping: Id,
        first_page: u64,
        pages: u64,
        allowed: u32,
    ) -> Result<u64> {
        if allowed & protection::WRITE != 0 && allowed & protection::EXECUTE != 0 {
            return Err(Status::INVALID_ARGUMENT);
        }
        if self.reaches_space(mapping, id) {
            // The space would show itself: a cycle nothing could release.
            return Err(Status::INVALID_ARGUMENT);
        }
        let mapping_pages = self.mapping(mapping)?.pages();
        if first_page
            .checked_add(pages)
            .is_none_or(|end| end > mapping_pages)
        {
            return Err(Status::OUT_OF_RANGE);
        }
        let start = self.region_start(id, address, pages)?;
        let region = Region {
            start,
            pages,
            mapping,
            first_page,
            protection: allowed & !protection::WIRED,
        };
        let space = self.space(id)?;
        space
            .regions
            .try_reserve(1)
            .map_err(|_| Status::OUT_OF_MEMORY)?;
        space.regions.push(region);
        self.hold_mapping(mapping)?;
        if allowed & protection::WIRED != 0 {
            let wired = self.protect(id, start, pages * PAGE_SIZE, allowed);
            if let Err(status) = wired {
                self.delete(id, start, pages * PAGE_SIZE)?;
                return Err(status);
            }
        }
        Ok(start)
    }

    /// Where a region of `pages` pages at `address` (0: anywhere) starts:
    /// inside a reservation it fits, or in free space.
    fn region_start(&mut self, id: Id, address: u64, pages: u64) -> Result<u64> {
        let length = pages
            .checked_mul(PAGE_SIZE)
            .ok_or(Status::INVALID_ARGUMENT)?;
        let space = self.space(id)?;
        let in_reservation = address != 0
            && space.reservations.iter().any(|&(from, to)| {
                address >= from && address.checked_add(length).is_some_and(|end| end <= to)
            });
        if in_reservation {
            let end = address + length;
            let overlaps = space
                .regions
                .iter()
                .any(|region| end > region.start && address < region.end());
            return if overlaps || !address.is_multiple_of(PAGE_SIZE) {
                Err(Status::ALREADY_EXISTS)
            } else {
                Ok(address)
            };
        }
        self.place(id, address, pages)
    }

    /// Removes every region and reservation inside `[address, address +
    /// size)` of space `id`; one that sticks out refuses it.
    pub fn delete(&mut self, id: Id, address: u64, size: u64) -> Result<()> {
        let end = address.checked_add(size).ok_or(Status::INVALID_ARGUMENT)?;
        let inside = |from: u64, to: u64| from >= address && to <= end;
        let crosses = |from: u64, to: u64| to > address && from < end && !inside(from, to);
        let space = self.space(id)?;
        let sticks_out = space
            .regions
            .iter()
            .any(|region| crosses(region.start, region.end()))
            || space
                .reservations
                .iter()
                .any(|&(from, to)| crosses(from, to));
        if sticks_out {
            return Err(Status::INVALID_ARGUMENT);
        }
        space.reservations.retain(|&(from, to)| !inside(from, to));
        let (gone, kept): (Vec<Region>, Vec<Region>) = space
            .regions
            .drain(..)
            .partition(|region| inside(region.start, region.end()));
        space.regions = kept;
        let root = space.root;
        for region in gone {
            for page in 0..region.pages {
                sv39::unmap(&mut self.frames, root, region.start + page * PAGE_SIZE);
            }
            sv39::prune(&mut self.frames, root, region.start, region.end());
            self.unmap_clones(id, &region);
            self.release_mapping(region.mapping);
        }
        let _ = self.kernel.flush();
        Ok(())
    }

    /// Changes what the regions inside `[address, address + size)` of space
    /// `id` allow; with `WIRED`, brings every page in and maps it, all or
    /// nothing.
    pub fn protect(&mut self, id: Id, address: u64, size: u64, allowed: u32) -> Result<()> {
        if allowed & protection::WRITE != 0 && allowed & protection::EXECUTE != 0 {
            return Err(Status::INVALID_ARGUMENT);
        }
        let end = address.checked_add(size).ok_or(Status::INVALID_ARGUMENT)?;
        let indices: Vec<usize> = self
            .space(id)?
            .regions
            .iter()
            .enumerate()
            .filter(|(_, region)| region.start >= address && region.end() <= end)
            .map(|(index, _)| index)
            .collect();
        if allowed & protection::WIRED != 0 {
            self.wire(id, &indices, allowed)?;
        }
        let space = self.space(id)?;
        let root = space.root;
        let regions: Vec<Region> = indices
            .iter()
            .filter_map(|&index| {
                let region = space.regions.get_mut(index)?;
                region.protection = allowed;
                Some(*region)
            })
            .collect();
        for region in regions {
            self.refresh_entries(root, &region);
            self.unmap_clones(id, &region);
        }
        let _ = self.kernel.flush();
        Ok(())
    }

    /// Rewrites the entries of `region`'s mapped pages for its protection.
    fn refresh_entries(&mut self, root: u64, region: &Region) {
        for page in 0..region.pages {
            let address = region.start + page * PAGE_SIZE;
            let Some(entry) = sv39::lookup(&mut self.frames, root, address) else {
                continue;
            };
            let writable = entry & flags::W != 0;
            let bits = entry_bits(region.protection, writable);
            let _ = sv39::map(
                &mut self.frames,
                root,
                address,
                sv39::entry_ppn(entry),
                bits,
            );
        }
    }

    /// Brings in and maps every page of the regions `indices` of space `id`
    /// as `allowed` permits; on running out of frames, undoes what it did.
    fn wire(&mut self, id: Id, indices: &[usize], allowed: u32) -> Result<()> {
        let space = self.space(id)?;
        let root = space.root;
        let regions: Vec<Region> = indices
            .iter()
            .filter_map(|&index| space.regions.get(index).copied())
            .collect();
        let mut done: Vec<(u64, Id, u64, bool)> = Vec::new();
        for region in &regions {
            for page in 0..region.pages {
                let address = region.start + page * PAGE_SIZE;
                if sv39::lookup(&mut self.frames, root, address).is_some() {
                    continue;
                }
                let index = region.first_page + page;
                let wants_write = allowed & protection::WRITE != 0;
                let made = !self.is_resident(region.mapping, index);
                let outcome =
                    self.page_for(region.mapping, index, wants_write)
                        .and_then(|(frame, own)| {
                            let bits = entry_bits(allowed, own && wants_write);
                            sv39::map(&mut self.frames, root, address, frame, bits)
                                .map_err(|_| Status::OUT_OF_MEMORY)
                        });
                if done.try_reserve(1).is_err() || outcome.is_err() {
                    self.unwire(root, &done, &regions);
                    return Err(outcome.err().unwrap_or(Status::OUT_OF_MEMORY));
                }
                done.push((address, region.mapping, index, made));
            }
        }
        Ok(())
    }

    /// Undoes a wiring of `regions` that failed: unmaps what it mapped,
    /// drops the pages it made and frees the tables it made.
    fn unwire(&mut self, root: u64, done: &[(u64, Id, u64, bool)], regions: &[Region]) {
        for &(address, mapping, index, made) in done {
            sv39::unmap(&mut self.frames, root, address);
            if made {
                self.drop_page(mapping, index);
            }
        }
        for region in regions {
            sv39::prune(&mut self.frames, root, region.start, region.end());
        }
        let _ = self.kernel.flush();
    }

    /// The region of space `id` holding `address`: its status.
    pub fn query(&mut self, id: Id, address: u64) -> Result<interfaces::RegionStatus> {
        let space = self.space(id)?;
        let root = space.root;
        let region = *space
            .regions
            .iter()
            .find(|region| region.holds(address))
            .ok_or(Status::NOT_FOUND)?;
        let resident = (0..region.pages)
            .filter(|page| {
                sv39::lookup(&mut self.frames, root, region.start + page * PAGE_SIZE).is_some()
            })
            .count();
        Ok(interfaces::RegionStatus {
            start: region.start,
            size: region.pages * PAGE_SIZE,
            protection: region.protection,
            resident_pages: u32::try_from(resident).unwrap_or(u32::MAX),
        })
    }

    /// The mapping shown at `address` of space `id`, and the page of it there.
    pub fn mapping_at(&mut self, id: Id, address: u64) -> Result<(Id, u64)> {
        let (mapping, page, _) = self.region_at(id, address)?;
        Ok((mapping, page))
    }

    /// The mapping shown at `address` of space `id`, the page of it there,
    /// and what the region allows.
    fn region_at(&mut self, id: Id, address: u64) -> Result<(Id, u64, u32)> {
        let region = *self
            .space(id)?
            .regions
            .iter()
            .find(|region| region.holds(address))
            .ok_or(Status::NOT_FOUND)?;
        Ok((
            region.mapping,
            region.first_page + (address - region.start) / PAGE_SIZE,
            region.protection,
        ))
    }

    /// An error unless every byte of `[address, address + length)` of
    /// space `id` lies in regions allowing all of `wanted`: `OUT_OF_RANGE`
    /// where none is, `ACCESS_DENIED` where one allows less.
    pub fn check_access(&mut self, id: Id, address: u64, length: u64, wanted: u32) -> Result<()> {
        let end = address.checked_add(length).ok_or(Status::OUT_OF_RANGE)?;
        let regions = &self.space(id)?.regions;
        let mut at = address;
        while at < end {
            let region = regions
                .iter()
                .find(|region| region.holds(at))
                .ok_or(Status::OUT_OF_RANGE)?;
            if region.protection & wanted != wanted {
                return Err(Status::ACCESS_DENIED);
            }
            at = region.end();
        }
        Ok(())
    }

    /// Fills `buffer` from space `id` at `address` when
    /// [`Manager::check_access`] allows reading every byte, else fails as
    /// it does.
    pub fn read_checked(&mut self, id: Id, address: u64, buffer: &mut [u8]) -> Result<()> {
        self.check_access(id, address, buffer.len() as u64, protection::READ)?;
        match self.read_space(id, address, buffer)? {
            read if read == buffer.len() => Ok(()),
            _ => Err(Status::OUT_OF_RANGE),
        }
    }

    /// Copies `data` to space `id` at `address` when
    /// [`Manager::check_access`] allows writing every byte, else fails as
    /// it does.
    pub fn write_checked(&mut self, id: Id, address: u64, data: &[u8]) -> Result<()> {
        self.check_access(id, address, data.len() as u64, protection::WRITE)?;
        match self.write_space(id, address, data)? {
            written if written == data.len() => Ok(()),
            _ => Err(Status::OUT_OF_RANGE),
        }
    }

    /// Copies from space `id` at `address` into `buffer`, through the
    /// mappings its regions show; how many bytes (up to the first address
    /// no region maps). `OUT_OF_RANGE` when none is mapped at `address`.
    pub fn read_space(&mut self, id: Id, address: u64, buffer: &mut [u8]) -> Result<usize> {
        let readable = protection::READ | protection::WRITE;
        self.copy_in_space(
            id,
            address,
            buffer.len(),
            readable,
            |manager, mapping, offset, range| {
                let part = buffer.get_mut(range).ok_or(Status::FAILED)?;
                manager.read(mapping, offset, part)
            },
        )
    }

    /// Copies `data` into space `id` at `address`, through the mappings its
    /// regions show; how many bytes. A region that does not allow writing
    /// stops the copy (`ACCESS_DENIED` if it is the first).
    pub fn write_space(&mut self, id: Id, address: u64, data: &[u8]) -> Result<usize> {
        self.copy_in_space(
            id,
            address,
            data.len(),
            protection::WRITE,
            |manager, mapping, offset, range| {
                manager.write(mapping, offset, data.get(range).ok_or(Status::FAILED)?)
            },
        )
    }

    /// Runs `copy(manager, mapping, offset in it, range of the caller's
    /// bytes)` a page at a time over `length` bytes of space `id` from
    /// `address`, while regions show mappings there that allow one of
    /// `wanted`.
    fn copy_in_space(
        &mut self,
        id: Id,
        address: u64,
        length: usize,
        wanted: u32,
        mut copy: impl FnMut(&mut Manager, Id, u64, core::ops::Range<usize>) -> Result<usize>,
    ) -> Result<usize> {
        let mut done = 0;
        while done < length {
            let at = address
                .checked_add(done as u64)
                .ok_or(Status::OUT_OF_RANGE)?;
            let found = self.region_at(id, at);
            let (mapping, page, allowed) = match found {
                Ok(found) => found,
                Err(_) if done > 0 => break,
                Err(_) => return Err(Status::OUT_OF_RANGE),
            };
            if allowed & wanted == 0 {
                if done > 0 {
                    break;
                }
                return Err(Status::ACCESS_DENIED);
            }
            let within = at % PAGE_SIZE;
            let step = usize::try_from(PAGE_SIZE - within)
                .unwrap_or(FRAME_BYTES)
                .min(length - done);
            let copied = copy(self, mapping, page * PAGE_SIZE + within, done..done + step)?;
            if copied == 0 {
                break;
            }
            done += copied;
        }
        Ok(done)
    }

    /// Pages the range of space `id` in, out, or writes it back.
    pub fn cache_control(&mut self, id: Id, address: u64, size: u64, operation: u32) -> Result<()> {
        use interfaces::vm::cache;
        let end = address.checked_add(size).ok_or(Status::INVALID_ARGUMENT)?;
        let regions: Vec<Region> = self
            .space(id)?
            .regions
            .iter()
            .filter(|region| region.start < end && region.end() > address)
            .copied()
            .collect();
        for region in regions {
            let pages = region.first_page..region.first_page + region.pages;
            match operation {
                cache::PAGE_IN => {
                    for page in 0..region.pages {
                        let address = region.start + page * PAGE_SIZE;
                        self.resolve(id, address, access::READ)?;
                    }
                }
                cache::CLEAN => self.clean(region.mapping, pages)?,
                cache::PAGE_OUT => {
                    self.clean(region.mapping, pages.clone())?;
                    self.page_out(region.mapping, pages);
                }
                _ => return Err(Status::INVALID_ARGUMENT),
            }
        }
        Ok(())
    }

    // ----- faults -----

    /// Resolves a fault at `address` of space `id` wanting `wanted`: maps
    /// the page, made as its mapping makes pages, or refuses with
    /// `ACCESS_VIOLATION` when no region allows that access there.
    pub fn resolve(&mut self, id: Id, address: u64, wanted: u32) -> Result<()> {
        self.figures.faults += 1;
        let space = self.space(id)?;
        let root = space.root;
        let region = *space
            .regions
            .iter()
            .find(|region| region.holds(address))
            .ok_or(Status::ACCESS_VIOLATION)?;
        if !permits(region.protection, wanted) {
            return Err(Status::ACCESS_VIOLATION);
        }
        let page_address = address & !(PAGE_SIZE - 1);
        let index = region.first_page + (page_address - region.start) / PAGE_SIZE;
        let writing = wanted & access::WRITE != 0;
        let (frame, own) = self.page_for(region.mapping, index, writing)?;
        let bits = entry_bits(region.protection, own && writing);
        sv39::map(&mut self.frames, root, page_address, frame, bits)
            .map_err(|_| Status::OUT_OF_MEMORY)
    }

    // ----- mappings -----

    /// A mapping of `pages` pages whose pages come from `source`; its id.
    /// (Out of line: three constructors share it.)
    #[inline(never)]
    fn create_mapping(&mut self, pages: u64, source: Source) -> Result<Id> {
        let count = match source.shows_another() {
            true => 0,
            false => usize::try_from(pages).map_err(|_| Status::OUT_OF_MEMORY)?,
        };
        let mut slots = Vec::new();
        slots
            .try_reserve_exact(count)
            .map_err(|_| Status::OUT_OF_MEMORY)?;
        slots.resize(count, 0);
        let mapping = MappingData {
            references: 1,
            source,
            pages,
            slots,
        };
        insert(&mut self.mappings, mapping)
    }

    /// A mapping of `size` bytes of zeros.
    pub fn create_zero_mapping(&mut self, size: u64) -> Result<Id> {
        self.create_mapping(pages_of(size)?, Source::Zero)
    }

    /// A mapping of `file`'s pages.
    pub fn create_file_mapping(&mut self, file: ComPtr<IFile>, size: u64) -> Result<Id> {
        self.create_mapping(pages_of(size.max(1))?, Source::File(file))
    }

    /// A copy-on-write shadow of mapping `of` from page `first_page`.
    pub fn create_shadow(&mut self, of: Id, first_page: u64) -> Result<Id> {
        let pages = self
            .mapping(of)?
            .pages()
            .checked_sub(first_page)
            .filter(|&pages| pages > 0)
            .ok_or(Status::OUT_OF_RANGE)?;
        self.hold_mapping(of)?;
        self.create_mapping(pages, Source::Shadow { of, first_page })
            .inspect_err(|_| self.release_mapping(of))
    }

    /// A mapping of `pages` pages of mapping `of`'s from `first_page`:
    /// the same pages, not copies.
    pub fn create_window(&mut self, of: Id, first_page: u64, pages: u64) -> Result<Id> {
        let available = self.mapping(of)?.pages();
        if first_page
            .checked_add(pages)
            .is_none_or(|end| end > available)
        {
            return Err(Status::OUT_OF_RANGE);
        }
        self.hold_mapping(of)?;
        self.create_mapping(pages, Source::Window { of, first_page })
            .inspect_err(|_| self.release_mapping(of))
    }

    /// A mapping of the pages space `of` shows from page `first_page` of
    /// its addresses, `pages` of them.
    pub fn create_space_clone(&mut self, of: Id, first_page: u64, pages: u64) -> Result<Id> {
        if first_page
            .checked_add(pages)
            .is_none_or(|end| end > USER_END / PAGE_SIZE)
        {
            return Err(Status::OUT_OF_RANGE);
        }
        self.hold_space(of)?;
        self.create_mapping(pages, Source::Space { of, first_page })
            .inspect_err(|_| self.release_space(of))
    }

    /// True when mapping `mapping` shows pages of space `space`, itself or
    /// through what it shows (the graph has no cycles, so this ends).
    fn reaches_space(&self, mapping: Id, space: Id) -> bool {
        let Some(data) = self.mappings.get(mapping).and_then(Option::as_ref) else {
            return false;
        };
        match data.source {
            Source::Space { of, .. } => {
                of == space
                    || self
                        .spaces
                        .get(of)
                        .and_then(Option::as_ref)
                        .is_some_and(|shown| {
                            shown
                                .regions
                                .iter()
                                .any(|region| self.reaches_space(region.mapping, space))
                        })
            }
            Source::Window { of, .. } | Source::Shadow { of, .. } => self.reaches_space(of, space),
            Source::Zero | Source::File(_) => false,
        }
    }

    fn mapping(&mut self, id: Id) -> Result<&mut MappingData> {
        self.mappings
            .get_mut(id)
            .and_then(Option::as_mut)
            .ok_or(Status::INVALID_ARGUMENT)
    }

    /// Mapping `id`'s size in bytes.
    pub fn mapping_size(&mut self, id: Id) -> Result<u64> {
        Ok(self.mapping(id)?.pages() * PAGE_SIZE)
    }

    /// One more reference to mapping `id`.
    pub fn hold_mapping(&mut self, id: Id) -> Result<()> {
        self.mapping(id)?.references += 1;
        Ok(())
    }

    /// One reference to mapping `id` fewer; the last frees its pages (a
    /// shadow then lets go of what it shadows).
    pub fn release_mapping(&mut self, id: Id) {
        let Ok(mapping) = self.mapping(id) else {
            return;
        };
        mapping.references = mapping.references.saturating_sub(1);
        if mapping.references > 0 {
            return;
        }
        let Some(mapping) = self.mappings.get_mut(id).and_then(Option::take) else {
            return;
        };
        for &slot in mapping.slots.iter().filter(|&&slot| slot != 0) {
            self.frames.free(slot & !DIRTY);
        }
        match mapping.source {
            Source::Shadow { of, .. } | Source::Window { of, .. } => self.release_mapping(of),
            // A space it leaves dying is destroyed by the caller.
            Source::Space { of, .. } => self.release_space(of),
            Source::Zero | Source::File(_) => {}
        }
    }

    fn is_resident(&mut self, id: Id, index: u64) -> bool {
        self.mapping(id)
            .is_ok_and(|mapping| mapping.frame(index).is_some())
    }

    fn mark_dirty(&mut self, id: Id, index: u64) {
        if let Some(slot) = self
            .mapping(id)
            .ok()
            .and_then(|mapping| mapping.slot(index))
            .filter(|slot| **slot != 0)
        {
            *slot |= DIRTY;
        }
    }

    /// Page `index` of mapping `id`, made if missing: its frame, and
    /// whether the frame is the mapping's own (a shadow's page not yet
    /// written is its source's, to map read-only). With `for_write`, a
    /// shadow copies the page first.
    ///
    /// A page written (`for_write`) is marked so; a shadow's page copied
    /// leaves every space that showed its source's page.
    fn page_for(&mut self, id: Id, index: u64, for_write: bool) -> Result<(u64, bool)> {
        let mapping = self.mapping(id)?;
        if index >= mapping.pages() {
            return Err(Status::OUT_OF_RANGE);
        }
        match mapping.source {
            Source::Window { of, first_page } => {
                return self.page_for(of, first_page + index, for_write);
            }
            Source::Space { of, first_page } => {
                return self.page_of_space(of, (first_page + index) * PAGE_SIZE, for_write);
            }
            _ => {}
        }
        if let Some(frame) = mapping.frame(index) {
            if for_write {
                self.mark_dirty(id, index);
            }
            return Ok((frame, true));
        }
        let frame = match &mapping.source {
            Source::Zero => {
                let frame = self.frames.allocate_zeroed().ok_or(Status::OUT_OF_MEMORY)?;
                self.figures.zero_fills += 1;
                frame
            }
            Source::File(file) => {
                let file = file.clone();
                self.read_page(&file, index)?
            }
            &Source::Shadow { of, first_page } => {
                let (source, _) = self.page_for(of, first_page + index, false)?;
                if !for_write {
                    return Ok((source, false));
                }
                let copy = self.copy_page(source)?;
                self.unmap_everywhere(id, index);
                copy
            }
            Source::Window { .. } | Source::Space { .. } => return Err(Status::FAILED),
        };
        if let Some(slot) = self.mapping(id)?.slot(index) {
            *slot = if for_write { frame | DIRTY } else { frame };
        }
        Ok((frame, true))
    }

    /// The page space `space` shows at `address`, as [`Manager::page_for`]
    /// gives it, when the region there allows the access: the page is
    /// writable only where the region allows writing.
    fn page_of_space(&mut self, space: Id, address: u64, for_write: bool) -> Result<(u64, bool)> {
        let region = *self
            .space(space)?
            .regions
            .iter()
            .find(|region| region.holds(address))
            .ok_or(Status::ACCESS_VIOLATION)?;
        let needed = match for_write {
            true => protection::WRITE,
            false => protection::READ | protection::WRITE,
        };
        if region.protection & needed == 0 {
            return Err(Status::ACCESS_VIOLATION);
        }
        let index = region.first_page + (address - region.start) / PAGE_SIZE;
        let (frame, own) = self.page_for(region.mapping, index, for_write)?;
        Ok((frame, own && region.protection & protection::WRITE != 0))
    }

    /// A new frame holding page `index` of `file` (zeros past its end).
    fn read_page(&mut self, file: &ComPtr<IFile>, index: u64) -> Result<u64> {
        let frame = self.frames.allocate_zeroed().ok_or(Status::OUT_OF_MEMORY)?;
        let bytes = self.frames.bytes(frame).ok_or(Status::FAILED)?;
        match file.read_at(index * PAGE_SIZE, bytes) {
            Ok(_) => {
                self.figures.file_reads += 1;
                Ok(frame)
            }
            Err(status) => {
                self.frames.free(frame);
                Err(status)
            }
        }
    }

    /// A new frame holding what frame `source` holds.
    fn copy_page(&mut self, source: u64) -> Result<u64> {
        let frame = self.frames.allocate().ok_or(Status::OUT_OF_MEMORY)?;
        if !self.frames.copy(source, frame) {
            self.frames.free(frame);
            return Err(Status::FAILED);
        }
        self.figures.copies += 1;
        Ok(frame)
    }

    /// Drops page `index` of mapping `id` from memory.
    fn drop_page(&mut self, id: Id, index: u64) {
        let Ok(mapping) = self.mapping(id) else {
            return;
        };
        let slot = mapping.slot(index).map(core::mem::take).unwrap_or(0);
        if slot != 0 {
            self.frames.free(slot & !DIRTY);
        }
    }

    /// Removes every entry showing page `index` of mapping `id`, in every
    /// space (the page is about to change or go). So does every mapping
    /// showing that page (a window, a shadow that has not copied it, a
    /// clone of a space showing it), in turn.
    fn unmap_everywhere(&mut self, id: Id, index: u64) {
        let mut shown: Vec<(Id, u64)> = Vec::new();
        for space in 0..self.spaces.len() {
            let Some(data) = self.spaces.get(space).and_then(Option::as_ref) else {
                continue;
            };
            let root = data.root;
            let addresses: Vec<u64> = data
                .regions
                .iter()
                .filter(|region| {
                    region.mapping == id
                        && (region.first_page..region.first_page + region.pages).contains(&index)
                })
                .map(|region| region.start + (index - region.first_page) * PAGE_SIZE)
                .collect();
            for address in addresses {
                sv39::unmap(&mut self.frames, root, address);
                self.clones_showing(space, address, &mut shown);
            }
        }
        for (other, mapping) in self.mappings.iter().enumerate() {
            let page = mapping
                .as_ref()
                .and_then(|mapping| mapping.shows(id, index));
            if let Some(page) = page.filter(|_| shown.try_reserve(1).is_ok()) {
                shown.push((other, page));
            }
        }
        for (other, page) in shown {
            self.unmap_everywhere(other, page);
        }
    }

    /// Adds to `shown` the clones of space `space` showing `address`, each
    /// with its page there.
    fn clones_showing(&self, space: Id, address: u64, shown: &mut Vec<(Id, u64)>) {
        for (clone, mapping) in self.mappings.iter().enumerate() {
            let page = mapping
                .as_ref()
                .and_then(|mapping| mapping.shows_space(space, address));
            if let Some(page) = page.filter(|_| shown.try_reserve(1).is_ok()) {
                shown.push((clone, page));
            }
        }
    }

    /// Removes every entry showing `region` of space `space` through a
    /// clone of the space (the region changed or went).
    fn unmap_clones(&mut self, space: Id, region: &Region) {
        let mut shown = Vec::new();
        for page in 0..region.pages {
            self.clones_showing(space, region.start + page * PAGE_SIZE, &mut shown);
        }
        for (clone, page) in shown {
            self.unmap_everywhere(clone, page);
        }
    }

    /// Writes the written pages of mapping `id` among `pages` back to its
    /// file (nothing for other mappings), and maps them read-only again so
    /// the next write is seen.
    fn clean(&mut self, id: Id, pages: core::ops::Range<u64>) -> Result<()> {
        let mapping = self.mapping(id)?;
        let Source::File(file) = &mapping.source else {
            return Ok(());
        };
        let file = file.clone();
        let written = mapping.written(pages);
        for (index, frame) in written {
            let bytes = self.frames.bytes(frame).ok_or(Status::FAILED)?;
            file.write_at(index * PAGE_SIZE, bytes)?;
            if let Some(slot) = self.mapping(id)?.slot(index) {
                *slot &= !DIRTY;
            }
            self.unmap_everywhere(id, index);
        }
        let _ = self.kernel.flush();
        Ok(())
    }

    /// Drops the pages `pages` of mapping `id` that can come back (a
    /// file's), unmapping them everywhere.
    fn page_out(&mut self, id: Id, pages: core::ops::Range<u64>) {
        let Ok(mapping) = self.mapping(id) else {
            return;
        };
        if !matches!(mapping.source, Source::File(_)) {
            return;
        }
        let resident: Vec<u64> = pages
            .filter(|&index| mapping.frame(index).is_some())
            .collect();
        for index in resident {
            self.unmap_everywhere(id, index);
            self.drop_page(id, index);
        }
        let _ = self.kernel.flush();
    }

    /// Copies from mapping `id` at `offset` into `buffer`; how many bytes.
    pub fn read(&mut self, id: Id, offset: u64, buffer: &mut [u8]) -> Result<usize> {
        let size = self.mapping_size(id)?;
        let mut done = 0;
        while done < buffer.len() && offset + (done as u64) < size {
            let at = offset + done as u64;
            let (frame, _) = self.page_for(id, at / PAGE_SIZE, false)?;
            let within = (at % PAGE_SIZE) as usize;
            let length = (FRAME_BYTES - within).min(buffer.len() - done);
            let bytes = self.frames.bytes(frame).ok_or(Status::FAILED)?;
            copy_bytes(&bytes[..], within, &mut buffer[..], done, length)?;
            done += length;
        }
        Ok(done)
    }

    /// Copies `data` into mapping `id` at `offset`; how many bytes.
    pub fn write(&mut self, id: Id, offset: u64, data: &[u8]) -> Result<usize> {
        let size = self.mapping_size(id)?;
        let mut done = 0;
        while done < data.len() && offset + (done as u64) < size {
            let at = offset + done as u64;
            let (frame, _) = self.page_for(id, at / PAGE_SIZE, true)?;
            let within = (at % PAGE_SIZE) as usize;
            let length = (FRAME_BYTES - within).min(data.len() - done);
            let bytes = self.frames.bytes(frame).ok_or(Status::FAILED)?;
            copy_bytes(data, done, &mut bytes[..], within, length)?;
            done += length;
        }
        let _ = self.kernel.flush();
        Ok(done)
    }
}
