//! Virtual memory: the manager's interfaces (`IVmFactory`, `IVmSpace`,
//! `IVmMapping`, `IVmView`, served by the `vmm` component), what the
//! kernel offers a manager (`IVmKernel` at `/sys/vm-kernel`), and what the
//! manager installs in the kernel (`IVmHooks`: its page-fault and
//! view-switch hooks). docs/vm.md tells how they fit.
//!
//! The kernel knows nothing of page tables. A thread's view is the `satp`
//! value the manager built (0: the physical address space); the kernel
//! switches `satp`, and tells the view-switch hook, when the next thread's
//! view differs from the running one's, and sends every page fault from
//! U-mode to the page-fault hook.

use com::{ComPtr, IUnknown, Record, Result, interface};

use crate::IThread;

/// Where the kernel serves `IVmKernel`.
pub const KERNEL_PATH: &str = "/sys/vm-kernel";
/// The name that loads the virtual-memory manager (its `IVmFactory`).
pub const MANAGER_PATH: &str = "/sys/vm";
/// The name that loads the image mapper (`IVmImageMapper`).
pub const IMAGE_MAPPER_PATH: &str = "/sys/vm-image";

/// What a range of a space allows (`IVmSpace::map`, `protect`): the
/// access bits of [`access`], and [`WIRED`](protection::WIRED).
pub mod protection {
    pub use super::access::{EXECUTE, READ, WRITE};
    /// Every page is in memory and mapped now, and never faults (with
    /// `protect`: made so at once, or not at all).
    pub const WIRED: u32 = 8;
}

/// `IVmSpace::cache_control` operations.
pub mod cache {
    /// Brings every page of the range in now (without wiring it).
    pub const PAGE_IN: u32 = 1;
    /// Writes the range's written pages of a file-backed mapping back to
    /// its file, then drops every page of the range that can come back
    /// (file-backed ones); pages that exist only in memory stay.
    pub const PAGE_OUT: u32 = 2;
    /// Writes the range's written pages of a file-backed mapping back to
    /// its file.
    pub const CLEAN: u32 = 3;
}

/// The manager's figures, for the shell's `vm`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Record)]
#[repr(C)]
pub struct VmStatus {
    /// Address spaces alive.
    pub spaces: u32,
    /// Mappings alive (mapped or held).
    pub mappings: u32,
    /// Pages in memory, over every mapping.
    pub resident_pages: u64,
    /// Pages wired, over every space.
    pub wired_pages: u64,
    /// Page faults resolved or refused since the manager loaded.
    pub faults: u64,
    /// Pages filled with zeros on first touch.
    pub zero_fills: u64,
    /// Pages read from a file on first touch.
    pub file_reads: u64,
    /// Pages copied on a write to a shadow.
    pub copies: u64,
    /// Switches between two threads of different views (or of a thread
    /// to another view) since the manager loaded, as its view-switch hook
    /// saw them.
    pub view_switches: u64,
    /// Frames of the pool free now, and in all.
    pub frames_free: u64,
    /// Frames of the pool in all.
    pub frames_total: u64,
}

/// One mapped range of a space (`IVmSpace::query_region`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Record)]
#[repr(C)]
pub struct RegionStatus {
    /// Its first address.
    pub start: u64,
    /// Its size in bytes.
    pub size: u64,
    /// What it allows (`protection::*`).
    pub protection: u32,
    /// Its pages in memory and mapped in this space.
    pub resident_pages: u32,
}

/// One space's figures (`IVmSpace::status`, the shell's `vm`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Record)]
#[repr(C)]
pub struct SpaceStatus {
    /// Its mapped ranges.
    pub regions: u32,
    /// Pages mapped in it now.
    pub resident_pages: u64,
    /// Pages of its wired ranges.
    pub wired_pages: u64,
}

#[interface("3c9e1f7a-52b8-4d06-a1e4-8b7c2d9f0e31")]
/// The manager's constructors (the object `/sys/vm` binds to). It is an
/// `INamespace` too: the namespace lists the live spaces under `/sys/vm`
/// (`space-1`, ...), and binding one gives a new reference to it.
pub trait IVmFactory {
    /// A new, empty address space (only the kernel in it, supervisor-only).
    fn create_space(&self) -> Result<ComPtr<IVmSpace>>;
    /// A mapping of `size` bytes (rounded up to pages) of zeros, each page
    /// made on its first touch.
    fn create_zero_mapping(&self, size: u64) -> Result<ComPtr<IVmMapping>>;
    /// A mapping of the file bound at `path` (an `IFile`), each page read
    /// from it on its first touch; as long as the file, in whole pages.
    fn create_file_mapping(&self, path: &str) -> Result<ComPtr<IVmMapping>>;
    /// A view of `space` (an `IVmSpace` of this manager), for threads.
    fn create_view(&self, space: &IUnknown) -> Result<ComPtr<IVmView>>;
    /// The manager's figures.
    fn status(&self) -> Result<VmStatus>;
}

#[interface("4d8b2e6a-1f7c-4a93-b0d5-6c2e9a1f3b57")]
/// An address space: ranges of the lower half mapped for U-mode, beside
/// the kernel every space maps supervisor-only. A space answers as an
/// `IVmMapping` too: its offsets are the space's addresses (its size, the
/// lower half's end), read and written through the mappings shown there
/// as far as their regions allow. Its `share` and `restrict` give mappings
/// of the pages it shows, which other spaces can map.
pub trait IVmSpace {
    /// Keeps `[address, address + size)` for later mappings (address 0:
    /// anywhere free); returns where. `ALREADY_EXISTS` when it overlaps.
    fn reserve(&self, address: u64, size: u64) -> Result<u64>;
    /// Unmaps and frees `[address, address + size)`: every mapping and
    /// reservation inside it goes (ranges must be whole).
    fn delete(&self, address: u64, size: u64) -> Result<()>;
    /// Maps `size` bytes of `mapping` (an `IVmMapping` of this manager)
    /// from `offset` at `address` (0: anywhere free) with `protection`,
    /// inside a reservation or free space; returns where. Writable and
    /// executable at once is refused (W^X).
    fn map(
        &self,
        address: u64,
        mapping: &IUnknown,
        offset: u64,
        size: u64,
        protection: u32,
    ) -> Result<u64>;
    /// Changes what the mapped ranges in `[address, address + size)`
    /// allow; with `WIRED`, every page is brought in and mapped now —
    /// or, when frames run out, nothing changes (`OUT_OF_MEMORY`).
    fn protect(&self, address: u64, size: u64, protection: u32) -> Result<()>;
    /// Pages the range in or out, or writes it back (`cache::*`).
    fn cache_control(&self, address: u64, size: u64, operation: u32) -> Result<()>;
    /// The mapped range holding `address`; `NOT_FOUND` when none does.
    fn query_region(&self, address: u64) -> Result<RegionStatus>;
    /// A copy-on-write shadow of the mapping at `address`: it reads as
    /// that mapping does until a page of it is written, which copies the
    /// page first.
    fn create_shadow(&self, address: u64) -> Result<ComPtr<IVmMapping>>;
    /// Its figures now.
    fn status(&self) -> Result<SpaceStatus>;
    /// An error unless every byte of `[address, address + length)` lies in
    /// regions allowing all of `access` (`protection::*`): `OUT_OF_RANGE`
    /// where no region is, `ACCESS_DENIED` where one allows less. One call
    /// however many regions the range crosses (an IPC checks a caller's
    /// buffer with it).
    fn check_access(&self, address: u64, length: u64, access: u32) -> Result<()>;
    /// Copies `buffer.len()` bytes from `address` when `check_access`
    /// allows reading them all, else copies nothing and fails as it does.
    fn read_checked(&self, address: u64, buffer: &mut [u8]) -> Result<()>;
    /// Copies `data` to `address` when `check_access` allows writing it
    /// all, else copies nothing and fails as it does.
    fn write_checked(&self, address: u64, data: &[u8]) -> Result<()>;
}

#[interface("b7d41e2c-93a8-4f6b-8c15-0e4a7d2f9b86")]
/// Pages: zero-filled, read from a file, a shadow of another mapping, or
/// another mapping's or a space's own pages, shared.
pub trait IVmMapping {
    /// Its size in bytes (whole pages).
    fn size(&self) -> Result<u64>;
    /// Copies bytes from `offset` into `buffer` (pages made as they would
    /// be on a touch); returns how many (fewer at the end).
    fn read(&self, offset: u64, buffer: &mut [u8]) -> Result<usize>;
    /// Copies `data` in at `offset`; returns how many bytes (fewer at the
    /// end). `ACCESS_DENIED` on a mapping that does not allow writing.
    fn write(&self, offset: u64, data: &[u8]) -> Result<usize>;
    /// What it allows at most (`protection::READ | WRITE | EXECUTE`).
    fn query_access(&self) -> Result<u32>;
    /// The same pages, allowing at most `protection` (a subset of its own).
    fn restrict(&self, protection: u32) -> Result<ComPtr<IVmMapping>>;
    /// A mapping of `size` bytes of this one's pages from `offset` (page
    /// aligned): the same pages, not copies — a store through either is
    /// seen through both — allowing at most `protection`. Of a space: the
    /// pages its ranges show from that address, as far as they allow.
    fn share(&self, offset: u64, size: u64, protection: u32) -> Result<ComPtr<IVmMapping>>;
}

#[interface("c6d0b2a9-8e17-4a3f-b5c8-2e9d4f1a7b63")]
/// How threads enter a space.
pub trait IVmView {
    /// The calling thread now runs in the view's space: the kernel stays
    /// where it was, and the space's ranges are U-mode-only.
    fn switch_to(&self) -> Result<()>;
    /// Resolves the page at `address` now as a fault wanting `access`
    /// would.
    fn fault(&self, address: u64, access: u32) -> Result<()>;
    /// Makes `space` (an `IVmSpace` of this manager) the view's space.
    fn set_mapping(&self, space: &IUnknown) -> Result<()>;
    /// The view's space.
    fn get_mapping(&self) -> Result<ComPtr<IVmSpace>>;
    /// Starts a thread in U-mode in the view's space at `entry`, with
    /// `argument` and its stack pointer at `stack`; see
    /// `IVmKernel::start_user_thread` for how it ends.
    fn start_thread(&self, entry: u64, argument: u64, stack: u64) -> Result<ComPtr<IThread>>;
}

/// The access a page fault wanted (`IVmHooks::page_fault`).
pub mod access {
    /// A load.
    pub const READ: u32 = 1;
    /// A store (or an atomic memory operation).
    pub const WRITE: u32 = 2;
    /// An instruction fetch.
    pub const EXECUTE: u32 = 4;
}

/// Physical RAM the kernel set aside at boot for a manager's page tables
/// and pages, apart from the heap: page-aligned, `size` bytes from `start`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Record)]
#[repr(C)]
pub struct FramePool {
    /// Its first byte's physical address.
    pub start: u64,
    /// Its size in bytes (a multiple of 4 KiB; 0 on a kernel with none).
    pub size: u64,
}

#[interface("5b0c2f1e-7d4a-4c8e-9f3b-2a6d8e1c4b70")]
/// The kernel's hooks for a virtual-memory manager, and U-mode threads.
pub trait IVmKernel {
    /// Installs `handler` (an object answering `IVmHooks`) as the
    /// page-fault and view-switch hooks and hands the caller the frame
    /// pool, which is its until [`remove`](IVmKernel::remove).
    /// `ALREADY_EXISTS` while a handler is installed.
    fn install(&self, handler: &IUnknown) -> Result<FramePool>;
    /// Removes the handler (both hooks) and takes the frame pool back. `REFUSED` while a
    /// thread that has not finished has a view other than 0.
    fn remove(&self) -> Result<()>;
    /// Starts a thread in U-mode at `entry` with `argument` in `a0` and its
    /// stack pointer at `stack`, all as `view` sees them (0: physical
    /// addresses, and `entry` must lie in loaded code). Returning from
    /// `entry` ends the thread; any exception other than a page fault the
    /// handler resolves ends it with a named error (`ILLEGAL_INSTRUCTION`,
    /// `ACCESS_VIOLATION`, `MISALIGNED_ACCESS`, `UNHANDLED_TRAP`, or the
    /// handler's), which `IThread::wait` returns. A view other than 0 must
    /// be Sv39 with its root table in the frame pool, and needs a handler.
    fn start_user_thread(
        &self,
        entry: u64,
        argument: u64,
        stack: u64,
        view: u64,
    ) -> Result<ComPtr<IThread>>;
    /// Makes `view` the calling thread's view, at once (the same rules as
    /// for a U-mode thread's).
    fn set_view(&self, view: u64) -> Result<()>;
    /// The calling thread's view.
    fn view(&self) -> Result<u64>;
    /// How many threads that have not finished have `view`.
    fn view_users(&self, view: u64) -> Result<u32>;
    /// Forgets what the processor's TLB holds of every view (after a
    /// mapping was removed or narrowed).
    fn flush(&self) -> Result<()>;
}

#[interface("c7a91e54-3b2d-4f6a-9e08-5d1c2b7f4a93")]
/// The hooks a virtual-memory manager installs in the kernel: its
/// page-fault hook and its view-switch hook.
pub trait IVmHooks {
    /// A U-mode thread in `view` faulted at `address` wanting `access`
    /// (`access::*`). Called on the thread's kernel stack with interrupts
    /// enabled (it may block and read files). `Ok` resumes the thread at
    /// the faulting instruction; an error ends the thread with it.
    fn page_fault(&self, view: u64, address: u64, access: u32) -> Result<()>;
    /// The processor has just left view `from` for view `to` (`satp`
    /// values; 0 is the physical address space): a context switch between
    /// threads of different views, or a thread's own `set_view`. Called
    /// only when the two differ, with interrupts disabled, inside the
    /// context switch: it must not block, take a lock that can, or call
    /// the kernel; what it returns is ignored.
    fn view_switched(&self, from: u64, to: u64) -> Result<()>;
}

/// Where a component image was mapped in a space
/// (`IVmImageMapper::map_image`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Record)]
#[repr(C)]
pub struct MappedImage {
    /// Its first address: the first page of its code.
    pub base: u64,
    /// The address of its entry point.
    pub entry: u64,
    /// Bytes it takes from `base` (whole pages).
    pub size: u64,
}

#[interface("e2b6c4a1-7d3f-4b8e-a915-6f0d2c8b3e47")]
/// Maps component images into address spaces with their sections'
/// permissions: code read and executed, never written; read-only data
/// only read; data read and written, never executed.
pub trait IVmImageMapper {
    /// Maps the component image at `path` (a file in the namespace, such
    /// as `/boot/user-wx`) into `space` (an `IVmSpace` of the manager) at
    /// `address` (0: anywhere free), relocated for where it lands, and
    /// returns where. The image must be paged (`layout paged` in its
    /// `.def`) and import nothing — code in a space runs in U-mode, where
    /// it cannot call the kernel: `NOT_SUPPORTED` otherwise, `BAD_IMAGE`
    /// for an image the reader refuses. An image from a directory the
    /// trust policy (`/sys/trust`) wants signed (anything outside
    /// `/boot`, by default) is `BAD_SIGNATURE` unless the verifier
    /// accepts it. On an error nothing stays mapped.
    fn map_image(&self, space: &IUnknown, address: u64, path: &str) -> Result<MappedImage>;
}
