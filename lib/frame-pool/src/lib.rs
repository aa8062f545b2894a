//! The frames a virtual-memory manager borrows from the kernel: the pool `IVmKernel::install` lends while the manager's page-fault handler is installed, handed out as safe page-sized frames.
//!
//! Page tables and pages come from here, never from the heap, so running
//! out of frames is an error for one space. The pool is raw memory the
//! kernel set aside at boot; this crate turns it into frames once, when
//! [`Frames::lend`] installs the handler, so the manager (`components/vmm`)
//! reaches it only through safe calls.
//!
//! Depends on `com`, `interfaces` (`IVmKernel`) and `sv39` (the page
//! tables it stores frames for).

#![no_std]

use com::{IUnknown, Result, Status};
use interfaces::{FramePool, IVmKernel};
use sv39::{PAGE_SIZE, Table, TableFrames};

/// Bytes in a frame.
pub const FRAME_BYTES: usize = 4096;

/// One frame: a page of memory, aligned as a page.
#[repr(C, align(4096))]
pub struct Frame(pub [u64; 512]);

/// The pool, and which of its frames are free: those from `untouched` on
/// were never handed out; those given back form a list through their own
/// first word (no heap, and nothing to build when the pool is taken).
pub struct Frames {
    pool: &'static mut [Frame],
    /// The physical page number of the pool's first frame.
    first_ppn: u64,
    /// The first frame never handed out.
    untouched: usize,
    /// The last frame given back (`NONE`: none), whose first word holds
    /// the one given back before it.
    given_back: u64,
    /// How many frames are free.
    free: usize,
}

/// The end of the list of frames given back.
const NONE: u64 = u64::MAX;

impl Frames {
    /// Installs `handler` as the kernel's page-fault handler and takes the
    /// frame pool the kernel lends with it; if the pool is unusable, the
    /// handler is removed again. The pool is the kernel's again once the
    /// manager removes the handler (`IVmKernel::remove`), after which it
    /// drops these frames unused.
    pub fn lend(kernel: &IVmKernel, handler: &IUnknown) -> Result<Frames> {
        let pool = kernel.install(handler)?;
        Frames::take(pool).inspect_err(|_| {
            let _ = kernel.remove();
        })
    }

    /// The frames of `pool`; `INVALID_ARGUMENT` for an empty or misaligned
    /// pool.
    fn take(pool: FramePool) -> Result<Frames> {
        let start = usize::try_from(pool.start).map_err(|_| Status::INVALID_ARGUMENT)?;
        let size = usize::try_from(pool.size).map_err(|_| Status::INVALID_ARGUMENT)?;
        let count = size / FRAME_BYTES;
        if start == 0 || start % FRAME_BYTES != 0 || size % FRAME_BYTES != 0 || count == 0 {
            return Err(Status::INVALID_ARGUMENT);
        }
        Ok(Frames {
            pool: pool_frames(start, count),
            first_ppn: pool.start / PAGE_SIZE,
            untouched: 0,
            given_back: NONE,
            free: count,
        })
    }

    /// Frames in the pool.
    pub fn total(&self) -> usize {
        self.pool.len()
    }

    /// Frames free now.
    pub fn free_count(&self) -> usize {
        self.free
    }

    /// A frame with whatever it held; its physical page number.
    pub fn allocate(&mut self) -> Option<u64> {
        let index = if self.given_back != NONE {
            let index = usize::try_from(self.given_back).ok()?;
            self.given_back = self.pool.get(index)?.0[0];
            index
        } else if self.untouched < self.pool.len() {
            self.untouched += 1;
            self.untouched - 1
        } else {
            return None;
        };
        self.free -= 1;
        Some(self.first_ppn + index as u64)
    }

    /// A frame of zeros.
    pub fn allocate_zeroed(&mut self) -> Option<u64> {
        let ppn = self.allocate()?;
        if let Some(frame) = self.frame(ppn) {
            zero(frame);
        }
        Some(ppn)
    }

    /// Gives frame `ppn` back (a frame outside the pool is ignored).
    pub fn free(&mut self, ppn: u64) {
        let Some(index) = self.index(ppn) else {
            return;
        };
        let next = self.given_back;
        if let Some(frame) = self.pool.get_mut(index as usize) {
            frame.0[0] = next;
            self.given_back = u64::from(index);
            self.free += 1;
        }
    }

    /// Frame `ppn`, if it is the pool's.
    pub fn frame(&mut self, ppn: u64) -> Option<&mut Frame> {
        let index = self.index(ppn)?;
        self.pool.get_mut(index as usize)
    }

    /// Copies frame `from` into frame `to`; false unless both are the
    /// pool's and differ. (Frame to frame, never through the stack: a
    /// copy of a `Frame` by value would link a 4 KiB `memmove`.)
    pub fn copy(&mut self, from: u64, to: u64) -> bool {
        let (Some(from), Some(to)) = (self.index(from), self.index(to)) else {
            return false;
        };
        let (from, to) = (from as usize, to as usize);
        let Some((low, high)) = self.pool.split_at_mut_checked(from.max(to)) else {
            return false;
        };
        let (source, target) = match from < to {
            true => (low.get(from), high.first_mut()),
            false => (high.first(), low.get_mut(to)),
        };
        match (source, target) {
            (Some(source), Some(target)) if from != to => {
                target.0.copy_from_slice(&source.0);
                true
            }
            _ => false,
        }
    }

    /// Frame `ppn`'s bytes, if it is the pool's.
    pub fn bytes(&mut self, ppn: u64) -> Option<&mut [u8; FRAME_BYTES]> {
        self.frame(ppn).map(frame_bytes)
    }

    fn index(&self, ppn: u64) -> Option<u32> {
        let index = u32::try_from(ppn.checked_sub(self.first_ppn)?).ok()?;
        ((index as usize) < self.pool.len()).then_some(index)
    }
}

impl TableFrames for Frames {
    fn table(&mut self, ppn: u64) -> Option<&mut Table> {
        self.frame(ppn).map(|frame| &mut frame.0)
    }

    fn allocate_table(&mut self) -> Option<u64> {
        self.allocate_zeroed()
    }

    fn free_table(&mut self, ppn: u64) {
        self.free(ppn);
    }
}

/// Fills `frame` with zeros, sixteen words a step: 18 instructions per
/// 128 bytes, where the generic `memset` spends three per word.
#[allow(
    unsafe_code,
    reason = "an unrolled loop of stores the compiler would make a memset"
)]
fn zero(frame: &mut Frame) {
    let start = frame.0.as_mut_ptr();
    // SAFETY: the stores cover exactly the frame's 4096 bytes, which the
    // `&mut` borrow makes this function's alone; the frame is 4096-byte
    // aligned, so every store is aligned.
    unsafe {
        core::arch::asm!(
            "2:",
            "sd zero, 0({p})", "sd zero, 8({p})", "sd zero, 16({p})", "sd zero, 24({p})",
            "sd zero, 32({p})", "sd zero, 40({p})", "sd zero, 48({p})", "sd zero, 56({p})",
            "sd zero, 64({p})", "sd zero, 72({p})", "sd zero, 80({p})", "sd zero, 88({p})",
            "sd zero, 96({p})", "sd zero, 104({p})", "sd zero, 112({p})", "sd zero, 120({p})",
            "addi {p}, {p}, 128",
            "bne {p}, {end}, 2b",
            p = inout(reg) start => _,
            end = in(reg) start.wrapping_add(512),
            options(nostack),
        );
    }
}

/// The `count` frames from physical address `start`.
#[allow(
    unsafe_code,
    reason = "the frame pool is RAM the kernel handed this module alone"
)]
fn pool_frames(start: usize, count: usize) -> &'static mut [Frame] {
    // SAFETY: the kernel set `[start, start + count * 4096)` aside at boot,
    // outside its image, its heap and every module, and hands it to one
    // installed page-fault handler at a time, until `IVmKernel::remove`;
    // `Frames::take` runs once per successful install (`Frames::lend`, the
    // only caller), and the manager uses the frames no more once it has
    // removed the handler. Addresses are physical and identity-mapped in every view;
    // `start` is page-aligned (checked) and any bits are a valid `Frame`.
    unsafe { core::slice::from_raw_parts_mut(start as *mut Frame, count) }
}

/// A frame's bytes.
#[allow(unsafe_code, reason = "a frame seen as bytes: same memory, no padding")]
fn frame_bytes(frame: &mut Frame) -> &mut [u8; FRAME_BYTES] {
    // SAFETY: a `Frame` is 4096 bytes of `u64`s with no padding; `u8` has
    // no alignment need and every bit pattern is valid for both types; the
    // borrow is carried over.
    unsafe { &mut *(core::ptr::from_mut(frame).cast::<[u8; FRAME_BYTES]>()) }
}
