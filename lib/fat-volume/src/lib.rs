//! A FAT file system (FAT12/16/32, long names, read and write) over a block device, on the `lamfat` crate; used by `components/fat` and its fuzz target.
//!
//! `lamfat` works on a seekable byte stream: [`BlockStream`] makes one of
//! a [`BlockDevice`], with a small write-back cache of blocks for the
//! crate's small reads and writes and straight transfers between the
//! device and the caller's buffer for whole blocks. Every operation runs
//! on a budget of bytes (a few times the volume's size): the crate follows
//! cluster chains without checking for loops, so a corrupt volume whose
//! chain comes back on itself would otherwise keep an operation going
//! for ever; past the budget it fails with `BAD_IMAGE`.
//!
//! [`Volume`] offers the operations by path (`"docs/readme.txt"`, from
//! the root, `/`-separated): listing, reading and writing at an offset,
//! resizing, creating, removing, syncing and unmounting. A `Volume` has
//! one owner — the crate's files borrow the file system — so its user
//! serializes access (the component holds it under a lock).
//!
//! Depends on `com` (status codes) and `lamfat`.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod cache;

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use spin::Mutex;

use com::Status;
use lamfat::{
    DefaultTimeProvider, Dir, FileSystem, FsOptions, LossyOemCpConverter, Seek, SeekFrom, Write,
};

pub use cache::{BlockStream, Blocks, StreamError};

/// What the file system needs of a disk.
pub trait BlockDevice {
    /// The size of one block in bytes.
    fn block_size(&self) -> usize;
    /// How many blocks the device holds.
    fn block_count(&self) -> u64;
    /// Reads whole blocks from `first` into `buffer`.
    fn read_blocks(&mut self, first: u64, buffer: &mut [u8]) -> Result<(), Status>;
    /// Writes whole blocks from `first`.
    fn write_blocks(&mut self, first: u64, data: &[u8]) -> Result<(), Status>;
    /// Returns once what was written is on the medium.
    fn flush(&mut self) -> Result<(), Status>;
}

/// An entry of a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its name (the long name where it has one).
    pub name: String,
    /// True for a directory.
    pub is_directory: bool,
    /// A file's size in bytes (0 for a directory).
    pub size: u64,
}

/// What a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A directory (the root included).
    Directory,
    /// A file of this many bytes.
    File(u64),
}

type Fs<D> = FileSystem<BlockStream<D>>;
type Directory<'a, D> = Dir<'a, BlockStream<D>, DefaultTimeProvider, LossyOemCpConverter>;
type FatError = lamfat::Error<StreamError>;

/// The most entries a FAT directory can have (its index is 16 bits); a
/// listing past it is going round a loop.
const MAX_DIRECTORY_ENTRIES: usize = 65_536;
/// How many times the volume's size one operation may read and write
/// before it is taken for a cluster loop.
const BUDGET_VOLUMES: u64 = 4;
/// And a floor, for small volumes.
const BUDGET_FLOOR: u64 = 1 << 20;

/// A mounted FAT volume.
pub struct Volume<D: BlockDevice> {
    fs: Fs<D>,
    /// The cache under `fs`'s stream.
    blocks: Arc<Mutex<Blocks<D>>>,
    read_only: bool,
    budget: u64,
    /// Where the file read last lies on the device, until the next change.
    last_read: Mutex<Option<Layout>>,
}

/// Where a file's bytes lie on the device.
struct Layout {
    /// The file's path, as [`trim`] leaves it.
    path: String,
    /// Its bytes that lie on the device (its size, unless its chain is cut short).
    size: u64,
    /// Runs of bytes that lie one after the other on the device, in file order.
    runs: Vec<Run>,
}

/// Bytes of a file that lie one after the other on the device.
#[derive(Clone, Copy)]
struct Run {
    /// Where they start in the file.
    file: u64,
    /// Where they start on the device.
    device: u64,
    length: u64,
}

impl<D: BlockDevice> Volume<D> {
    /// Mounts the FAT file system on `device`; `BAD_IMAGE` if the device
    /// holds none (or a damaged one).
    pub fn mount(device: D, read_only: bool) -> Result<Volume<D>, Status> {
        let mut blocks = Blocks::new(device, read_only).ok_or(Status::NOT_SUPPORTED)?;
        let budget = blocks
            .size()
            .saturating_mul(BUDGET_VOLUMES)
            .max(BUDGET_FLOOR);
        blocks.refill(budget);
        let blocks = Arc::new(Mutex::new(blocks));
        let fs =
            FileSystem::new(BlockStream::new(blocks.clone()), FsOptions::new()).map_err(status)?;
        Ok(Volume {
            fs,
            blocks,
            read_only,
            budget,
            last_read: Mutex::new(None),
        })
    }

    /// True when mounted read-only.
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// Starts an operation with a full budget.
    fn begin(&self) {
        self.blocks.lock().refill(self.budget);
    }

    /// Fails with `ACCESS_DENIED` on a read-only volume; else forgets
    /// where the file read last lies, which the change may move.
    fn writable(&self) -> Result<(), Status> {
        if self.read_only {
            return Err(Status::ACCESS_DENIED);
        }
        *self.last_read.lock() = None;
        Ok(())
    }

    /// The directory at `path` ("" is the root).
    fn directory(&self, path: &str) -> Result<Directory<'_, D>, Status> {
        let path = trim(path);
        let root = self.fs.root_dir();
        if path.is_empty() {
            return Ok(root);
        }
        root.open_dir(path).map_err(status)
    }

    /// The entries of the directory at `path`, without `.` and `..`.
    pub fn list(&self, path: &str) -> Result<Vec<Entry>, Status> {
        self.begin();
        let mut entries = Vec::new();
        for entry in self.directory(path)?.iter() {
            let entry = entry.map_err(status)?;
            let name = entry.file_name();
            if name == "." || name == ".." {
                continue;
            }
            if entries.len() == MAX_DIRECTORY_ENTRIES {
                return Err(Status::BAD_IMAGE);
            }
            entries.push(Entry {
                is_directory: entry.is_dir(),
                size: if entry.is_dir() { 0 } else { entry.len() },
                name,
            });
        }
        Ok(entries)
    }

    /// What `path` names.
    pub fn kind(&self, path: &str) -> Result<Kind, Status> {
        self.begin();
        let path = trim(path);
        if path.is_empty() {
            return Ok(Kind::Directory);
        }
        let (parent, name) = split(path);
        let entry = self
            .directory(parent)?
            .iter()
            .map(|entry| entry.map_err(status))
            .find(|entry| {
                entry.as_ref().map_or(true, |entry| {
                    // FAT names compare without case, long or short.
                    entry.file_name().eq_ignore_ascii_case(name)
                        || entry.short_file_name().eq_ignore_ascii_case(name)
                })
            })
            .ok_or(Status::NOT_FOUND)??;
        Ok(if entry.is_dir() {
            Kind::Directory
        } else {
            Kind::File(entry.len())
        })
    }

    /// Reads from `offset` of the file at `path` into `buffer`; returns
    /// the bytes read (0 at the end).
    ///
    /// The bytes go straight from the device (through the block cache),
    /// run by run: where the file lies is worked out once — a walk of its
    /// cluster chain — and kept until the next change to the volume, so a
    /// file read piece by piece walks its chain once.
    pub fn read(&self, path: &str, offset: u64, buffer: &mut [u8]) -> Result<usize, Status> {
        self.begin();
        let path = trim(path);
        let mut last_read = self.last_read.lock();
        if last_read.as_ref().is_none_or(|layout| layout.path != path) {
            *last_read = None;
            *last_read = Some(self.layout(path)?);
        }
        let layout = last_read.as_ref().ok_or(Status::FAILED)?;
        let left = layout.size.saturating_sub(offset);
        let wanted = usize::try_from(left).map_or(buffer.len(), |left| left.min(buffer.len()));
        let mut done = 0;
        while done < wanted {
            let position = offset + done as u64;
            let run = *layout
                .runs
                .get(
                    layout
                        .runs
                        .partition_point(|run| run.file + run.length <= position),
                )
                .ok_or(Status::BAD_IMAGE)?;
            let within = position - run.file;
            let count = usize::try_from(run.length - within)
                .map_or(wanted - done, |length| length.min(wanted - done));
            self.blocks
                .lock()
                .read_exact_at(run.device + within, &mut buffer[done..done + count])
                .map_err(stream_status)?;
            done += count;
        }
        Ok(done)
    }

    /// Where the file at `path` lies on the device. A chain longer than
    /// the volume has clusters is a loop: `BAD_IMAGE`.
    fn layout(&self, path: &str) -> Result<Layout, Status> {
        let mut file = self.directory("")?.open_file(path).map_err(status)?;
        let cluster_size = u64::from(self.fs.cluster_size());
        let most_clusters = self.blocks.lock().size() / cluster_size.max(1) + 1;
        let mut runs: Vec<Run> = Vec::new();
        let mut size = 0u64;
        for (index, extent) in file.extents().enumerate() {
            let extent = extent.map_err(status)?;
            if extent.size == 0 {
                break;
            }
            if index as u64 >= most_clusters {
                return Err(Status::BAD_IMAGE);
            }
            let length = u64::from(extent.size);
            match runs.last_mut() {
                Some(last) if last.device + last.length == extent.offset => last.length += length,
                _ => {
                    runs.try_reserve(1).map_err(|_| Status::OUT_OF_MEMORY)?;
                    runs.push(Run {
                        file: size,
                        device: extent.offset,
                        length,
                    });
                }
            }
            size += length;
        }
        Ok(Layout {
            path: path.into(),
            size,
            runs,
        })
    }

    /// Writes `data` at `offset` of the file at `path` (a gap after its
    /// end is filled with zeros); returns the bytes written.
    pub fn write(&self, path: &str, offset: u64, data: &[u8]) -> Result<usize, Status> {
        self.writable()?;
        self.begin();
        let mut file = self.directory("")?.open_file(trim(path)).map_err(status)?;
        let size = file.seek(SeekFrom::End(0)).map_err(status)?;
        if offset > size {
            fill_zeros(&mut file, offset - size)?;
        }
        file.seek(SeekFrom::Start(offset)).map_err(status)?;
        file.write_all(data).map_err(status)?;
        file.flush().map_err(status)?;
        Ok(data.len())
    }

    /// Makes the file at `path` `size` bytes long: cut, or grown with zeros.
    pub fn set_size(&self, path: &str, size: u64) -> Result<(), Status> {
        self.writable()?;
        self.begin();
        let mut file = self.directory("")?.open_file(trim(path)).map_err(status)?;
        let current = file.seek(SeekFrom::End(0)).map_err(status)?;
        if size > current {
            fill_zeros(&mut file, size - current)?;
        } else {
            file.seek(SeekFrom::Start(size)).map_err(status)?;
            file.truncate().map_err(status)?;
        }
        file.flush().map_err(status)
    }

    /// Creates an empty file at `path`; `ALREADY_EXISTS` if the name is taken.
    pub fn create_file(&self, path: &str) -> Result<(), Status> {
        self.writable()?;
        if self.kind(path).is_ok() {
            return Err(Status::ALREADY_EXISTS);
        }
        self.begin();
        let mut file = self
            .directory("")?
            .create_file(trim(path))
            .map_err(status)?;
        file.flush().map_err(status)
    }

    /// Creates a directory at `path`; `ALREADY_EXISTS` if the name is taken.
    pub fn create_directory(&self, path: &str) -> Result<(), Status> {
        self.writable()?;
        if self.kind(path).is_ok() {
            return Err(Status::ALREADY_EXISTS);
        }
        self.begin();
        self.directory("")?
            .create_dir(trim(path))
            .map(drop)
            .map_err(status)
    }

    /// Removes the file or empty directory at `path`.
    pub fn remove(&self, path: &str) -> Result<(), Status> {
        self.writable()?;
        self.begin();
        let path = trim(path);
        if path.is_empty() {
            return Err(Status::ACCESS_DENIED);
        }
        self.directory("")?.remove(path).map_err(status)
    }

    /// Writes everything changed to the device and flushes it. The volume
    /// stays marked as in use until it is unmounted.
    pub fn sync(&self) -> Result<(), Status> {
        self.blocks.lock().sync().map_err(stream_status)
    }

    /// Marks the volume clean, writes everything back, flushes the device
    /// and lets it go.
    pub fn unmount(self) -> Result<(), Status> {
        self.begin();
        let Volume { fs, blocks, .. } = self;
        fs.unmount().map_err(status)?;
        // The file system is gone; the cache is the volume's last user.
        let mut blocks = blocks.lock();
        blocks.sync().map_err(stream_status)
    }
}

/// Appends `count` zero bytes at the file's position.
fn fill_zeros<F: Write<Error = FatError>>(file: &mut F, count: u64) -> Result<(), Status> {
    let zeros = [0u8; 512];
    let mut left = count;
    while left > 0 {
        let chunk = usize::try_from(left.min(512)).unwrap_or(512);
        file.write_all(&zeros[..chunk]).map_err(status)?;
        left -= chunk as u64;
    }
    Ok(())
}

/// `path` without leading or trailing slashes.
fn trim(path: &str) -> &str {
    path.trim_matches('/')
}

/// The parent directory and the last name of a trimmed path.
fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

/// The status for a failure of the crate.
pub fn status(error: FatError) -> Status {
    use lamfat::Error;
    match error {
        Error::Io(error) => stream_status(error),
        Error::NotFound => Status::NOT_FOUND,
        Error::AlreadyExists => Status::ALREADY_EXISTS,
        Error::DirectoryIsNotEmpty => Status::NOT_EMPTY,
        Error::NotEnoughSpace => Status::DISK_FULL,
        Error::InvalidFileNameLength | Error::UnsupportedFileNameCharacter => Status::INVALID_NAME,
        Error::InvalidInput => Status::INVALID_ARGUMENT,
        Error::CorruptedFileSystem | Error::UnexpectedEof => Status::BAD_IMAGE,
        Error::WriteZero => Status::DISK_FULL,
        _ => Status::FAILED,
    }
}

/// The status for a failure of the byte stream.
fn stream_status(error: StreamError) -> Status {
    match error {
        StreamError::Device(status) => status,
        StreamError::ReadOnly => Status::ACCESS_DENIED,
        StreamError::Loop | StreamError::UnexpectedEof | StreamError::BadSeek => Status::BAD_IMAGE,
        StreamError::WriteZero => Status::DISK_FULL,
    }
}
