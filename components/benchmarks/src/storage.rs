//! The storage figures, in instructions per KiB read: a 1 MiB read of
//! the disk's blocks through the virtio block driver, and sequential
//! reads of a 1 MiB file of the FAT volume at `/disk` and of the host's
//! directory at `/host` (over 9P). They need the disk and the directory
//! `cargo xtask bench` gives the machine; without them they report
//! `NOT_FOUND` and the shell skips them.

use alloc::vec;

use com::{Result, Status};
use interfaces::{IBlockDevice, IFile};

use crate::{Meter, RUNS};

/// How much each figure reads.
const TOTAL: usize = 1 << 20;
/// The size of each read.
const CHUNK: usize = 64 * 1024;
/// The file `cargo xtask bench` puts on its disk.
pub const FILE: &str = "/disk/bench.bin";

/// The fastest of `RUNS` runs of `read_all`, per KiB.
fn per_kib(meter: &Meter, mut read_all: impl FnMut(&mut [u8]) -> Result<()>) -> Result<u64> {
    let mut buffer = vec![0u8; CHUNK];
    let mut fastest = u64::MAX;
    for _ in 0..RUNS {
        let start = meter.now();
        read_all(&mut buffer)?;
        fastest = fastest.min(meter.now() - start);
    }
    Ok(fastest / (TOTAL as u64 / 1024))
}

pub fn block_read(meter: &Meter) -> Result<u64> {
    let disk = component::namespace()?
        .bind("/virtio-blk", 0)?
        .query::<IBlockDevice>()?;
    let block_size = u64::from(disk.block_size()?);
    per_kib(meter, |buffer| {
        let blocks_per_chunk = CHUNK as u64 / block_size;
        for chunk in 0..(TOTAL / CHUNK) as u64 {
            disk.read_blocks(chunk * blocks_per_chunk, buffer)?;
        }
        Ok(())
    })
}

pub fn fat_sequential_read(meter: &Meter) -> Result<u64> {
    file_read(meter, FILE)
}

/// Reads the first MiB of the file at `path` in pieces, per KiB.
fn file_read(meter: &Meter, path: &str) -> Result<u64> {
    let file = component::namespace()?.bind(path, 0)?.query::<IFile>()?;
    if file.size()? < TOTAL as u64 {
        return Err(Status::OUT_OF_RANGE);
    }
    per_kib(meter, |buffer| {
        for chunk in 0..(TOTAL / CHUNK) as u64 {
            if file.read_at(chunk * CHUNK as u64, buffer)? != CHUNK {
                return Err(Status::OUT_OF_RANGE);
            }
        }
        Ok(())
    })
}

/// The file `cargo xtask bench` shares from the host.
pub const HOST_FILE: &str = "/host/bench.bin";

pub fn nine_p_sequential_read(meter: &Meter) -> Result<u64> {
    file_read(meter, HOST_FILE)
}
