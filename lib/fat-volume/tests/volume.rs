//! The FAT volume over a disk in memory: files and directories round
//! trip, the disk fills up cleanly, and corrupt volumes fail with errors.

#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::{Arc, Mutex};

use com::Status;
use fat_volume::{BlockDevice, BlockStream, Blocks, Entry, Kind, Volume};
use lamfat::{FatType, FormatVolumeOptions, format_volume};

const BLOCK: usize = 512;

/// A disk in memory whose bytes the test can still look at.
#[derive(Clone)]
struct MemoryDisk(Arc<Mutex<Vec<u8>>>);

impl MemoryDisk {
    fn range(&self, first: u64, length: usize) -> Result<std::ops::Range<usize>, Status> {
        let start = usize::try_from(first).unwrap() * BLOCK;
        let end = start + length;
        if !length.is_multiple_of(BLOCK) || end > self.0.lock().unwrap().len() {
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

/// A freshly formatted disk of `kib` KiB (FAT12 when small).
fn formatted(kib: usize) -> MemoryDisk {
    formatted_with(kib, FormatVolumeOptions::new())
}

fn formatted_with(kib: usize, options: FormatVolumeOptions) -> MemoryDisk {
    let disk = MemoryDisk(Arc::new(Mutex::new(vec![0u8; kib * 1024])));
    let blocks = Arc::new(spin::Mutex::new(Blocks::new(disk.clone(), false).unwrap()));
    format_volume(
        &mut BlockStream::new(blocks),
        options.volume_label(*b"TESSERATEST"),
    )
    .unwrap();
    disk
}

fn names(entries: &[Entry]) -> Vec<&str> {
    let mut names: Vec<&str> = entries.iter().map(|entry| entry.name.as_str()).collect();
    names.sort_unstable();
    names
}

#[test]
fn files_and_directories_round_trip_through_an_unmount() {
    let disk = formatted(1024);
    let volume = Volume::mount(disk.clone(), false).unwrap();
    volume.create_directory("docs").unwrap();
    volume
        .create_file("docs/a rather long file name.txt")
        .unwrap();
    volume
        .write("docs/a rather long file name.txt", 0, b"hello, disk")
        .unwrap();
    volume.create_file("big").unwrap();
    let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    volume.write("big", 0, &big).unwrap();
    volume.unmount().unwrap();

    let volume = Volume::mount(disk, false).unwrap();
    assert_eq!(names(&volume.list("/").unwrap()), ["big", "docs"]);
    assert_eq!(
        names(&volume.list("docs").unwrap()),
        ["a rather long file name.txt"]
    );
    assert_eq!(volume.kind("docs").unwrap(), Kind::Directory);
    assert_eq!(volume.kind("/").unwrap(), Kind::Directory);
    assert_eq!(volume.kind("BIG").unwrap(), Kind::File(100_000));
    let mut text = [0u8; 64];
    let read = volume
        .read("docs/a rather long file name.txt", 7, &mut text)
        .unwrap();
    assert_eq!(&text[..read], b"disk");
    let mut back = vec![0u8; 100_000];
    assert_eq!(volume.read("big", 0, &mut back).unwrap(), 100_000);
    assert_eq!(back, big);
    assert_eq!(volume.read("big", 100_000, &mut back).unwrap(), 0);
    assert_eq!(volume.kind("nothing"), Err(Status::NOT_FOUND));
}

#[test]
fn fragmented_files_read_right_piece_by_piece_and_after_changes() {
    let volume = Volume::mount(formatted(1024), false).unwrap();
    volume.create_file("a").unwrap();
    volume.create_file("b").unwrap();
    // Written in turns, the two files' clusters interleave.
    let piece = |file: u8, index: u32| -> Vec<u8> {
        (0..3000u32)
            .map(|i| (i + index * 7 + u32::from(file)).to_le_bytes()[0])
            .collect()
    };
    for index in 0..10 {
        volume
            .write("a", u64::from(index) * 3000, &piece(1, index))
            .unwrap();
        volume
            .write("b", u64::from(index) * 3000, &piece(2, index))
            .unwrap();
    }
    let expected: Vec<u8> = (0..10).flat_map(|index| piece(1, index)).collect();
    let mut back = vec![0u8; expected.len()];
    for (chunk, start) in back.chunks_mut(777).zip((0..).step_by(777)) {
        assert_eq!(volume.read("a", start, chunk).unwrap(), chunk.len());
    }
    assert_eq!(back, expected);
    // A change after a read is seen by the next read.
    volume.write("a", 1, b"XY").unwrap();
    let mut head = [0u8; 4];
    volume.read("a", 0, &mut head).unwrap();
    assert_eq!(&head[1..3], b"XY");
    volume.set_size("a", 2).unwrap();
    assert_eq!(volume.read("a", 0, &mut head).unwrap(), 2);
}

#[test]
fn writing_past_the_end_fills_zeros_and_set_size_cuts_and_grows() {
    let volume = Volume::mount(formatted(1024), false).unwrap();
    volume.create_file("f").unwrap();
    volume.write("f", 4, b"tail").unwrap();
    let mut bytes = [0xffu8; 16];
    assert_eq!(volume.read("f", 0, &mut bytes).unwrap(), 8);
    assert_eq!(&bytes[..8], b"\0\0\0\0tail");
    volume.set_size("f", 6).unwrap();
    assert_eq!(volume.kind("f").unwrap(), Kind::File(6));
    volume.set_size("f", 10).unwrap();
    assert_eq!(volume.read("f", 0, &mut bytes).unwrap(), 10);
    assert_eq!(&bytes[..10], b"\0\0\0\0ta\0\0\0\0");
}

#[test]
fn names_are_unique_and_only_empty_directories_go() {
    let volume = Volume::mount(formatted(1024), false).unwrap();
    volume.create_directory("d").unwrap();
    volume.create_file("d/x").unwrap();
    assert_eq!(volume.create_file("d/x"), Err(Status::ALREADY_EXISTS));
    assert_eq!(volume.create_directory("D"), Err(Status::ALREADY_EXISTS));
    assert_eq!(volume.remove("d"), Err(Status::NOT_EMPTY));
    volume.remove("d/x").unwrap();
    volume.remove("d").unwrap();
    assert!(volume.list("/").unwrap().is_empty());
    assert_eq!(volume.remove("d"), Err(Status::NOT_FOUND));
}

#[test]
fn a_full_disk_fails_cleanly_and_keeps_what_was_written() {
    let volume = Volume::mount(formatted(256), false).unwrap();
    volume.create_file("keep").unwrap();
    volume.write("keep", 0, b"kept").unwrap();
    volume.create_file("huge").unwrap();
    let chunk = vec![7u8; 16 * 1024];
    let mut offset = 0u64;
    let failure = loop {
        match volume.write("huge", offset, &chunk) {
            Ok(count) => offset += count as u64,
            Err(status) => break status,
        }
        assert!(offset < 1 << 20, "a 256 KiB disk took a MiB");
    };
    assert_eq!(failure, Status::DISK_FULL);
    let mut kept = [0u8; 4];
    volume.read("keep", 0, &mut kept).unwrap();
    assert_eq!(&kept, b"kept");
    volume.remove("huge").unwrap();
    volume.create_file("again").unwrap();
    volume.write("again", 0, &chunk).unwrap();
}

#[test]
fn a_read_only_volume_refuses_every_change() {
    let disk = formatted(1024);
    let volume = Volume::mount(disk.clone(), false).unwrap();
    volume.create_file("f").unwrap();
    volume.unmount().unwrap();
    let image = disk.0.lock().unwrap().clone();
    let volume = Volume::mount(disk.clone(), true).unwrap();
    assert_eq!(volume.write("f", 0, b"x"), Err(Status::ACCESS_DENIED));
    assert_eq!(volume.create_file("g"), Err(Status::ACCESS_DENIED));
    assert_eq!(volume.create_directory("g"), Err(Status::ACCESS_DENIED));
    assert_eq!(volume.remove("f"), Err(Status::ACCESS_DENIED));
    assert_eq!(volume.set_size("f", 0), Err(Status::ACCESS_DENIED));
    assert_eq!(names(&volume.list("").unwrap()), ["f"]);
    volume.unmount().unwrap();
    assert!(*disk.0.lock().unwrap() == image, "a read-only mount wrote");
}

#[test]
fn a_disk_without_a_file_system_is_a_bad_image() {
    let disk = MemoryDisk(Arc::new(Mutex::new(vec![0u8; 64 * 1024])));
    assert_eq!(Volume::mount(disk, false).err(), Some(Status::BAD_IMAGE));
}

/// The FAT16 layout of a disk formatted as FAT16: where the FAT and the root
/// directory start, in bytes.
struct Layout {
    fat: usize,
    root: usize,
}

fn layout(image: &[u8]) -> Layout {
    let word = |at: usize| usize::from(u16::from_le_bytes([image[at], image[at + 1]]));
    let bytes_per_sector = word(11);
    let reserved = word(14);
    let fats = usize::from(image[16]);
    let fat_sectors = word(22);
    Layout {
        fat: reserved * bytes_per_sector,
        root: (reserved + fats * fat_sectors) * bytes_per_sector,
    }
}

/// The first cluster of the root directory's entry whose short name is `name`.
fn first_cluster(image: &[u8], name: &[u8; 11]) -> usize {
    let root = layout(image).root;
    let entry = (0..512)
        .map(|index| root + index * 32)
        .find(|&at| &image[at..at + 11] == name)
        .unwrap();
    usize::from(u16::from_le_bytes([image[entry + 26], image[entry + 27]]))
}

/// A volume with a directory `LOOP` whose first cluster is full of
/// entries (so no end mark stops a listing there) and whose FAT entry is
/// `chain(first cluster)` instead of the next cluster.
fn volume_with_directory_chain(chain: impl Fn(usize) -> u16) -> Volume<MemoryDisk> {
    let disk = formatted_with(
        4096,
        FormatVolumeOptions::new()
            .fat_type(FatType::Fat16)
            .bytes_per_cluster(512),
    );
    let volume = Volume::mount(disk.clone(), false).unwrap();
    volume.create_directory("LOOP").unwrap();
    // More short-named files than one cluster of entries holds.
    for index in 0..200 {
        volume.create_file(&format!("LOOP/F{index}")).unwrap();
    }
    volume.unmount().unwrap();
    {
        let mut image = disk.0.lock().unwrap();
        let cluster = first_cluster(&image, b"LOOP       ");
        let at = layout(&image).fat + 2 * cluster;
        image[at..at + 2].copy_from_slice(&chain(cluster).to_le_bytes());
    }
    Volume::mount(disk, false).unwrap()
}

#[test]
fn a_directory_chain_that_loops_is_a_bad_image_not_a_hang() {
    let volume = volume_with_directory_chain(|cluster| u16::try_from(cluster).unwrap());
    assert_eq!(volume.list("LOOP"), Err(Status::BAD_IMAGE));
    assert_eq!(volume.kind("LOOP/missing"), Err(Status::BAD_IMAGE));
    // The rest of the volume still works.
    volume.create_file("after").unwrap();
    assert!(names(&volume.list("").unwrap()).contains(&"after"));
}

#[test]
fn a_cluster_out_of_range_is_an_error_not_a_crash() {
    let volume = volume_with_directory_chain(|_| 0xfff0);
    assert!(volume.list("LOOP").is_err());
    assert!(volume.list("").is_ok());
}
