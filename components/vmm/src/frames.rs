//! The frame pool the kernel hands the manager while its page-fault
//! handler is installed: page tables and pages come from here, never from
//! the heap, so running out of frames is an error for one space.

use alloc::vec::Vec;

use com::{Result, Status};
use interfaces::FramePool;
use sv39::{PAGE_SIZE, Table, TableFrames};

/// Bytes in a frame.
pub const FRAME_BYTES: usize = 4096;

/// One frame: a page of memory, aligned as a page.
#[repr(C, align(4096))]
pub struct Frame(pub [u64; 512]);

/// The pool, and which of its frames are free.
pub struct Frames {
    pool: &'static mut [Frame],
    /// The physical page number of the pool's first frame.
    first_ppn: u64,
    /// Indices of the free frames (the next one handed out last).
    free: Vec<u32>,
}

impl Frames {
    /// The frames of `pool`; `INVALID_ARGUMENT` for an empty or misaligned
    /// pool, `OUT_OF_MEMORY` when the free list cannot be made.
    pub fn take(pool: FramePool) -> Result<Frames> {
        let start = usize::try_from(pool.start).map_err(|_| Status::INVALID_ARGUMENT)?;
        let size = usize::try_from(pool.size).map_err(|_| Status::INVALID_ARGUMENT)?;
        let count = size / FRAME_BYTES;
        if start == 0 || start % FRAME_BYTES != 0 || size % FRAME_BYTES != 0 || count == 0 {
            return Err(Status::INVALID_ARGUMENT);
        }
        let count32 = u32::try_from(count).map_err(|_| Status::INVALID_ARGUMENT)?;
        let mut free = Vec::new();
        free.try_reserve_exact(count)
            .map_err(|_| Status::OUT_OF_MEMORY)?;
        free.extend((0..count32).rev());
        Ok(Frames {
            pool: pool_frames(start, count),
            first_ppn: pool.start / PAGE_SIZE,
            free,
        })
    }

    /// Frames in the pool.
    pub fn total(&self) -> usize {
        self.pool.len()
    }

    /// Frames free now.
    pub fn free_count(&self) -> usize {
        self.free.len()
    }

    /// A frame with whatever it held; its physical page number.
    pub fn allocate(&mut self) -> Option<u64> {
        self.free
            .pop()
            .map(|index| self.first_ppn + u64::from(index))
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
        if let Some(index) = self.index(ppn) {
            self.free.push(index);
        }
    }

    /// Frame `ppn`, if it is the pool's.
    pub fn frame(&mut self, ppn: u64) -> Option<&mut Frame> {
        let index = self.index(ppn)?;
        self.pool.get_mut(index as usize)
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

/// Fills `frame` with zeros, eight words a step.
fn zero(frame: &mut Frame) {
    for words in frame.0.chunks_exact_mut(8) {
        words.copy_from_slice(&[0; 8]);
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
    // `Frames::take` is called once per successful install, and the
    // manager drops the slice (with its `Frames`) before it removes the
    // handler. Addresses are physical and identity-mapped in every view;
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
