//! Address translation: the `satp` register a thread's view sets, and the
//! frame pool a virtual-memory manager builds its tables and pages in.
//!
//! A view is the `satp` value a virtual-memory manager built (Sv39, with
//! its root table in the frame pool); [`View::BARE`] is the physical
//! address space every thread starts in. The kernel writes `satp` only
//! when the view changes, and then tells the manager's view-switch hook.
//! The frame pool is RAM set aside at boot, apart from the heap, so that a
//! manager running out of frames is an error for the space that wanted
//! one, never a heap exhausted for the whole kernel.

use core::ops::Range;
use core::sync::atomic::{AtomicUsize, Ordering};

use com::ComPtr;
use interfaces::IVmHooks;

use super::interrupt_mask::{self, Exclusive};

/// `satp.MODE` for Sv39, in place.
const SV39: u64 = 8 << 60;
/// `satp.PPN`: the root table's physical page number.
const PPN_MASK: u64 = (1 << 44) - 1;
/// Bytes per page (and per frame).
pub const PAGE_SIZE: usize = 4096;

/// The frame pool's bounds (both 0 until boot sets it aside).
static POOL_START: AtomicUsize = AtomicUsize::new(0);
static POOL_END: AtomicUsize = AtomicUsize::new(0);

/// Records `pool` (page-aligned RAM no one else uses) as the frame pool;
/// the heap's boot code calls it once.
pub(super) fn set_frame_pool(pool: Range<usize>) {
    POOL_START.store(pool.start, Ordering::Relaxed);
    POOL_END.store(pool.end, Ordering::Relaxed);
}

/// The frame pool: page-aligned physical RAM outside the heap (empty on a
/// kernel that keeps none).
pub fn frame_pool() -> Range<usize> {
    POOL_START.load(Ordering::Relaxed)..POOL_END.load(Ordering::Relaxed)
}

/// A thread's translation: Bare, or an Sv39 root table in the frame pool.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct View(u64);

impl View {
    /// No translation: the physical address space.
    pub const BARE: View = View(0);

    /// The view whose `satp` value is `value`: 0 for Bare, or Sv39 with no
    /// address-space id and its root table in the frame pool. Whoever holds
    /// the pool promises its tables map the kernel — RAM and the devices —
    /// at their physical addresses, supervisor-only, so the kernel runs on
    /// unchanged in every view.
    pub fn from_satp(value: u64) -> Option<View> {
        if value == 0 {
            return Some(View::BARE);
        }
        let root = usize::try_from((value & PPN_MASK) * PAGE_SIZE as u64).ok()?;
        let pool = frame_pool();
        (value & !PPN_MASK == SV39 && pool.contains(&root) && root + PAGE_SIZE <= pool.end)
            .then_some(View(value))
    }

    /// Its `satp` value.
    pub fn satp(self) -> u64 {
        self.0
    }
}

/// The installed view-switch hook (the manager's `IVmHooks`): told of
/// each change of view. Read with interrupts disabled, inside the context
/// switch, so held where no lock is needed.
static SWITCH_HOOK: Exclusive<Option<ComPtr<IVmHooks>>> = Exclusive::new(None);

/// Installs (or, with `None`, removes) the view-switch hook; returns the
/// one it replaced, for the caller to release (with interrupts enabled:
/// it may be its module's last object).
pub fn set_switch_hook(hook: Option<ComPtr<IVmHooks>>) -> Option<ComPtr<IVmHooks>> {
    interrupt_mask::without(|| SWITCH_HOOK.with(|slot| core::mem::replace(slot, hook))).flatten()
}

/// Leaves view `from` for `to` (they differ): writes `satp`, then tells
/// the view-switch hook. Interrupts are disabled.
pub fn switch_view(from: View, to: View) {
    use_view(to);
    SWITCH_HOOK.with(|slot| {
        if let Some(hook) = slot {
            let _ = hook.view_switched(from.0, to.0);
        }
    });
}

/// Makes `view` the processor's translation and forgets what the TLB held
/// of the old one.
fn use_view(view: View) {
    // SAFETY: a `View` is Bare or a root in the frame pool, whose holder
    // maps the kernel identically in every table (`View::from_satp`), so
    // the code and data the kernel uses stay where they are.
    unsafe {
        core::arch::asm!("csrw satp, {}", "sfence.vma", in(reg) view.0, options(nostack));
    }
}

/// Forgets what the TLB holds of every view.
pub fn flush() {
    // SAFETY: `sfence.vma` only drops cached translations.
    unsafe { core::arch::asm!("sfence.vma", options(nostack)) };
}

/// Forgets what the TLB holds of the page at `address`, in every view
/// (after an entry for it became valid: a hart may have kept it invalid).
pub fn flush_page(address: u64) {
    // SAFETY: `sfence.vma` only drops cached translations.
    unsafe { core::arch::asm!("sfence.vma {}, zero", in(reg) address, options(nostack)) };
}
