//! FAT volumes: a mount of any disk image, then a walk over every
//! directory and file, and changes (create, write, resize, remove,
//! unmount), as the FAT component makes them. Errors are fine; a crash
//! or a hang is not.

#![no_main]

use std::sync::{Arc, Mutex};

use com::Status;
use fat_volume::{BlockDevice, Kind, Volume};
use libfuzzer_sys::fuzz_target;

const BLOCK: usize = 512;
/// Images are cut to this (the walk reads all of them, maybe several times).
const MAX_IMAGE: usize = 512 * 1024;

/// A disk in memory.
#[derive(Clone)]
struct MemoryDisk(Arc<Mutex<Vec<u8>>>);

impl MemoryDisk {
    fn range(&self, first: u64, length: usize) -> Result<std::ops::Range<usize>, Status> {
        let start = usize::try_from(first)
            .ok()
            .and_then(|first| first.checked_mul(BLOCK))
            .ok_or(Status::OUT_OF_RANGE)?;
        let end = start.checked_add(length).ok_or(Status::OUT_OF_RANGE)?;
        if length % BLOCK != 0 || end > self.0.lock().unwrap().len() {
            return Err(Status::OUT_OF_RANGE);
        }
        Ok(start..end)
    }
}

impl BlockDevice for MemoryDisk {
    fn block_size(&self) -> usize {
        BLOCK
    }
    fn block_count(&self) -> u64 {
        (self.0.lock().unwrap().len() / BLOCK) as u64
    }
    fn read_blocks(&mut self, first: u64, buffer: &mut [u8]) -> Result<(), Status> {
        let range = self.range(first, buffer.len())?;
        buffer.copy_from_slice(&self.0.lock().unwrap()[range]);
        Ok(())
    }
    fn write_blocks(&mut self, first: u64, data: &[u8]) -> Result<(), Status> {
        let range = self.range(first, data.len())?;
        self.0.lock().unwrap()[range].copy_from_slice(data);
        Ok(())
    }
    fn flush(&mut self) -> Result<(), Status> {
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let mut image = data[..data.len().min(MAX_IMAGE)].to_vec();
    image.resize(image.len().div_ceil(BLOCK) * BLOCK, 0);
    let Ok(volume) = Volume::mount(MemoryDisk(Arc::new(Mutex::new(image))), false) else {
        return;
    };
    walk(&volume, "", 0);
    if volume.create_directory("fuzzdir").is_ok() {
        let _ = volume.create_file("fuzzdir/a long file name.txt");
        let _ = volume.write("fuzzdir/a long file name.txt", 3, b"some bytes");
        let _ = volume.set_size("fuzzdir/a long file name.txt", 1);
        let _ = volume.remove("fuzzdir/a long file name.txt");
        let _ = volume.remove("fuzzdir");
    }
    let _ = volume.sync();
    let _ = volume.unmount();
});

/// Lists `path`, reads each file and walks each directory below it.
fn walk(volume: &Volume<MemoryDisk>, path: &str, depth: usize) {
    if depth > 8 {
        return;
    }
    let Ok(entries) = volume.list(path) else {
        return;
    };
    for entry in entries.iter().take(64) {
        let child = format!("{path}/{}", entry.name);
        match volume.kind(&child) {
            Ok(Kind::Directory) => walk(volume, &child, depth + 1),
            Ok(Kind::File(_)) => {
                let mut buffer = [0u8; 4096];
                let _ = volume.read(&child, 0, &mut buffer);
                let _ = volume.read(&child, 5000, &mut buffer);
            }
            Err(_) => {}
        }
    }
}
