//! The byte stream `lamfat` reads and writes, over a device of blocks: a
//! small write-back cache of blocks, transfers of whole blocks straight
//! between the device and the caller's buffer, and a budget that stops an
//! operation going round a cluster loop.
//!
//! The cache ([`Blocks`]) is shared between the stream the crate owns and
//! the volume, which syncs it and refills its budget; one owner uses the
//! volume at a time, so its lock is never contended.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;

use spin::Mutex;

use com::Status;
use lamfat::{IoBase, IoError, Read, Seek, SeekFrom, Write};

use crate::BlockDevice;

/// How many blocks the cache holds (16 KiB of 512-byte blocks).
const CACHE_BLOCKS: usize = 32;
/// A block number no cache slot holds.
const EMPTY: u64 = u64::MAX;

/// Why the byte stream failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamError {
    /// The device refused the transfer.
    Device(Status),
    /// A write to a volume mounted read-only.
    ReadOnly,
    /// The operation read more than its budget: the file system's chains
    /// loop.
    Loop,
    /// The stream ended inside a structure.
    UnexpectedEof,
    /// The device took no more bytes.
    WriteZero,
    /// A seek before the start or past the end.
    BadSeek,
}

impl IoError for StreamError {
    fn is_interrupted(&self) -> bool {
        false
    }

    fn new_unexpected_eof_error() -> Self {
        StreamError::UnexpectedEof
    }

    fn new_write_zero_error() -> Self {
        StreamError::WriteZero
    }
}

/// One cached block.
struct Slot {
    block: u64,
    dirty: bool,
    /// When it was last used (a counter), to evict the least recent.
    used: u64,
    data: Box<[u8]>,
}

/// A device's blocks, with a cache of them.
pub struct Blocks<D: BlockDevice> {
    device: D,
    block_size: usize,
    /// The device's size in bytes.
    size: u64,
    slots: Vec<Slot>,
    clock: u64,
    read_only: bool,
    /// Bytes the current operation may still move; [`Blocks::refill`]
    /// resets it.
    budget: u64,
}

/// The blocks as the crate sees them: a seekable byte stream.
pub struct BlockStream<D: BlockDevice> {
    blocks: Arc<Mutex<Blocks<D>>>,
    position: u64,
}

impl<D: BlockDevice> BlockStream<D> {
    /// A stream over `blocks`, at its start.
    pub fn new(blocks: Arc<Mutex<Blocks<D>>>) -> BlockStream<D> {
        BlockStream {
            blocks,
            position: 0,
        }
    }
}

impl<D: BlockDevice> Blocks<D> {
    /// The blocks of `device`; `None` if its block size is not a power of
    /// two from 512 to 4096 bytes or its size does not fit in bytes.
    pub fn new(device: D, read_only: bool) -> Option<Blocks<D>> {
        let block_size = device.block_size();
        if !block_size.is_power_of_two() || !(512..=4096).contains(&block_size) {
            return None;
        }
        let size = device
            .block_count()
            .checked_mul(u64::try_from(block_size).ok()?)?;
        // Every slot is made now, so the cache's memory stays the same
        // for as long as the volume is mounted.
        let slots = (0..CACHE_BLOCKS)
            .map(|_| Slot {
                block: EMPTY,
                dirty: false,
                used: 0,
                data: alloc::vec![0u8; block_size].into_boxed_slice(),
            })
            .collect();
        Some(Blocks {
            device,
            block_size,
            size,
            slots,
            clock: 0,
            read_only,
            budget: u64::MAX,
        })
    }

    /// The device's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Sets how many bytes the next operation may read and write before it
    /// is taken for a loop (the crate follows cluster chains unchecked).
    pub fn refill(&mut self, budget: u64) {
        self.budget = budget;
    }

    /// Writes every changed block back, then asks the device to flush.
    pub fn sync(&mut self) -> Result<(), StreamError> {
        if self.read_only {
            return Ok(());
        }
        self.write_back(0, u64::MAX)?;
        self.device.flush().map_err(StreamError::Device)
    }

    /// Writes back the changed blocks in `first..end`, in block order.
    fn write_back(&mut self, first: u64, end: u64) -> Result<(), StreamError> {
        let mut dirty: Vec<usize> = (0..self.slots.len())
            .filter(|&index| {
                let slot = &self.slots[index];
                slot.dirty && (first..end).contains(&slot.block)
            })
            .collect();
        dirty.sort_unstable_by_key(|&index| self.slots[index].block);
        for index in dirty {
            let slot = &mut self.slots[index];
            self.device
                .write_blocks(slot.block, &slot.data)
                .map_err(StreamError::Device)?;
            slot.dirty = false;
        }
        Ok(())
    }

    /// Takes `bytes` from the budget.
    fn spend(&mut self, bytes: usize) -> Result<(), StreamError> {
        let bytes = u64::try_from(bytes).map_err(|_| StreamError::Loop)?;
        self.budget = self.budget.checked_sub(bytes).ok_or(StreamError::Loop)?;
        Ok(())
    }

    /// The block under `position` and the offset in it.
    fn locate(&self, position: u64) -> (u64, usize) {
        let size = self.block_size as u64;
        (
            position / size,
            usize::try_from(position % size).unwrap_or(0),
        )
    }

    /// The slot holding `block`, read from the device if it is not cached.
    fn slot(&mut self, block: u64) -> Result<&mut Slot, StreamError> {
        self.clock += 1;
        let clock = self.clock;
        if let Some(index) = self.slots.iter().position(|slot| slot.block == block) {
            let slot = &mut self.slots[index];
            slot.used = clock;
            return Ok(slot);
        }
        // The least recently used slot (an empty one has never been).
        let index = (0..self.slots.len())
            .min_by_key(|&index| self.slots[index].used)
            .ok_or(StreamError::Device(Status::OUT_OF_MEMORY))?;
        let evicted = self.slots[index].block;
        if evicted != EMPTY {
            self.write_back(evicted, evicted.saturating_add(1))?;
        }
        let slot = &mut self.slots[index];
        slot.block = EMPTY;
        self.device
            .read_blocks(block, &mut slot.data)
            .map_err(StreamError::Device)?;
        slot.block = block;
        slot.used = clock;
        Ok(slot)
    }

    /// How many whole blocks from `position` a transfer of `length` bytes
    /// can move straight to or from the device (0 if `position` is inside
    /// a block or less than a block is asked for).
    fn whole_blocks(&self, position: u64, length: usize) -> usize {
        let (_, offset) = self.locate(position);
        if offset == 0 {
            length / self.block_size
        } else {
            0
        }
    }

    /// The length of a transfer from `position`, cut at the device's end.
    fn available(&self, position: u64, length: usize) -> usize {
        let left = self.size.saturating_sub(position);
        usize::try_from(left).map_or(length, |left| length.min(left))
    }

    /// Fills `buffer` from `position`; `UnexpectedEof` past the device's end.
    pub fn read_exact_at(&mut self, position: u64, buffer: &mut [u8]) -> Result<(), StreamError> {
        let mut done = 0;
        while done < buffer.len() {
            match self.read_at(position + done as u64, &mut buffer[done..])? {
                0 => return Err(StreamError::UnexpectedEof),
                count => done += count,
            }
        }
        Ok(())
    }

    /// Reads from `position` into `buffer`; returns the bytes read.
    fn read_at(&mut self, position: u64, buffer: &mut [u8]) -> Result<usize, StreamError> {
        let length = self.available(position, buffer.len());
        if length == 0 {
            return Ok(0);
        }
        self.spend(length)?;
        let (block, offset) = self.locate(position);
        let blocks = self.whole_blocks(position, length);
        let count = if blocks > 0 {
            let count = blocks * self.block_size;
            // Cached blocks the device has not seen yet go first.
            self.write_back(block, block + blocks as u64)?;
            self.device
                .read_blocks(block, &mut buffer[..count])
                .map_err(StreamError::Device)?;
            count
        } else {
            let block_size = self.block_size;
            let slot = self.slot(block)?;
            let count = length.min(block_size - offset);
            buffer[..count].copy_from_slice(&slot.data[offset..offset + count]);
            count
        };
        Ok(count)
    }

    /// Writes `data` at `position`; returns the bytes written.
    fn write_at(&mut self, position: u64, data: &[u8]) -> Result<usize, StreamError> {
        if self.read_only {
            return Err(StreamError::ReadOnly);
        }
        let length = self.available(position, data.len());
        if length == 0 {
            return Ok(0);
        }
        self.spend(length)?;
        let (block, offset) = self.locate(position);
        let blocks = self.whole_blocks(position, length);
        let count = if blocks > 0 {
            let count = blocks * self.block_size;
            let end = block + blocks as u64;
            // The cached copies of these blocks are overwritten whole.
            for slot in &mut self.slots {
                if (block..end).contains(&slot.block) {
                    slot.block = EMPTY;
                    slot.dirty = false;
                    slot.used = 0;
                }
            }
            self.device
                .write_blocks(block, &data[..count])
                .map_err(StreamError::Device)?;
            count
        } else {
            let block_size = self.block_size;
            let slot = self.slot(block)?;
            let count = length.min(block_size - offset);
            slot.data[offset..offset + count].copy_from_slice(&data[..count]);
            slot.dirty = true;
            count
        };
        Ok(count)
    }
}

impl<D: BlockDevice> IoBase for BlockStream<D> {
    type Error = StreamError;
}

impl<D: BlockDevice> Read for BlockStream<D> {
    fn read(&mut self, buffer: &mut [u8]) -> Result<usize, StreamError> {
        let count = self.blocks.lock().read_at(self.position, buffer)?;
        self.position += count as u64;
        Ok(count)
    }
}

impl<D: BlockDevice> Write for BlockStream<D> {
    fn write(&mut self, data: &[u8]) -> Result<usize, StreamError> {
        let count = self.blocks.lock().write_at(self.position, data)?;
        self.position += count as u64;
        Ok(count)
    }

    /// Only the cache: the device is asked to flush by [`Blocks::sync`].
    fn flush(&mut self) -> Result<(), StreamError> {
        self.blocks.lock().write_back(0, u64::MAX)
    }
}

impl<D: BlockDevice> Seek for BlockStream<D> {
    fn seek(&mut self, position: SeekFrom) -> Result<u64, StreamError> {
        let size = self.blocks.lock().size;
        let target = match position {
            SeekFrom::Start(offset) => Some(offset),
            SeekFrom::End(offset) => size.checked_add_signed(offset),
            SeekFrom::Current(offset) => self.position.checked_add_signed(offset),
        };
        self.position = target
            .filter(|&target| target <= size)
            .ok_or(StreamError::BadSeek)?;
        Ok(self.position)
    }
}

impl<D: BlockDevice> Drop for Blocks<D> {
    /// What is still changed in the cache reaches the device; a failure
    /// here has no one left to tell (unmount and sync report theirs).
    fn drop(&mut self) {
        let _ = self.sync();
    }
}
