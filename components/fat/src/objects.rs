//! The mounted volume's objects: directories, files, and the listener
//! that unmounts the volume at power-off.

use alloc::format;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use com::{ComObject, ComPtr, IUnknown, Result, Status, class};
use component::threads::Lock;
use fat_volume::{BlockDevice, Entry, Kind, Volume};
use interfaces::filesystem::mount_flags;
use interfaces::namespace::flags;
use interfaces::power::SHUTDOWN_PATH;
use interfaces::{
    IBlockDevice, IDirectory, IDirectoryImpl, IFile, IFileImpl, INamespace, INamespaceImpl,
    IShutdown, IShutdownListener, IShutdownListenerImpl, IVolume, IVolumeImpl,
};
use spin::Mutex;

/// The block device under a volume.
struct Disk {
    device: ComPtr<IBlockDevice>,
    block_size: usize,
    block_count: u64,
}

impl BlockDevice for Disk {
    fn block_size(&self) -> usize {
        self.block_size
    }

    fn block_count(&self) -> u64 {
        self.block_count
    }

    fn read_blocks(&mut self, first: u64, buffer: &mut [u8]) -> Result<()> {
        self.device.read_blocks(first, buffer)
    }

    fn write_blocks(&mut self, first: u64, data: &[u8]) -> Result<()> {
        self.device.write_blocks(first, data)
    }

    fn flush(&mut self) -> Result<()> {
        self.device.flush()
    }
}

/// What every object of a mounted volume shares.
struct Mounted {
    /// The volume; `None` once unmounted.
    volume: Lock<Option<Volume<Disk>>>,
    read_only: bool,
    /// The listener at `/sys/shutdown`, until the volume is unmounted.
    listener: Mutex<Option<ComPtr<IUnknown>>>,
}

impl Mounted {
    /// Runs `operation` on the volume, if it is still mounted.
    fn with<T>(&self, operation: impl FnOnce(&Volume<Disk>) -> Result<T>) -> Result<T> {
        let volume = self.volume.lock();
        operation(volume.as_ref().ok_or(Status::NOT_FOUND)?)
    }

    /// Unmounts the volume (once) and stops listening for the power-off.
    fn unmount(&self) -> Result<()> {
        if let Some(listener) = self.listener.lock().take() {
            let _ = shutdown().and_then(|shutdown| shutdown.forget(&listener));
        }
        let volume = self.volume.lock().take().ok_or(Status::NOT_FOUND)?;
        volume.unmount()
    }
}

impl Drop for Mounted {
    /// Released without an unmount: unmount now (nothing is lost).
    fn drop(&mut self) {
        let _ = self.unmount();
    }
}

/// `/sys/shutdown`.
fn shutdown() -> Result<ComPtr<IShutdown>> {
    component::namespace()?
        .bind(SHUTDOWN_PATH, 0)?
        .query::<IShutdown>()
}

/// Mounts the FAT volume on `device`; returns its root directory.
pub fn mount(device: &IUnknown, mount_flags: u32) -> Result<ComPtr<INamespace>> {
    let device = device.query::<IBlockDevice>()?;
    let read_only = mount_flags & mount_flags::READ_ONLY != 0 || device.read_only()?;
    let disk = Disk {
        block_size: usize::try_from(device.block_size()?).map_err(|_| Status::NOT_SUPPORTED)?,
        block_count: device.block_count()?,
        device,
    };
    let volume = Volume::mount(disk, read_only)?;
    let mounted = Arc::new(Mounted {
        volume: Lock::new(Some(volume))?,
        read_only,
        listener: Mutex::new(None),
    });
    let listener = ComObject::create::<IShutdownListener>(Unmounter(Arc::downgrade(&mounted)));
    shutdown()?.listen(listener.as_unknown())?;
    *mounted.listener.lock() = Some(listener.to_unknown());
    Ok(ComObject::create::<INamespace>(Directory {
        mounted,
        path: String::new(),
    }))
}

/// Unmounts the volume when the machine powers off.
#[class(IShutdownListener)]
struct Unmounter(Weak<Mounted>);

impl IShutdownListenerImpl for Unmounter {
    fn shutting_down(&self) -> Result<()> {
        match self.0.upgrade() {
            Some(mounted) => mounted.unmount(),
            None => Ok(()),
        }
    }
}

/// `path`, a directory's path from the root (`""`, `/docs`), with `name`
/// (`/a.txt`, or `a.txt`) below it; names with empty, `.` or `..`
/// segments are refused.
fn join(path: &str, name: &str) -> Result<String> {
    let name = name.trim_start_matches('/');
    if name.is_empty() {
        return Ok(path.into());
    }
    if name
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..")
    {
        return Err(Status::INVALID_NAME);
    }
    Ok(format!("{path}/{name}"))
}

/// A directory of the volume (the root's path is `""`).
#[class(INamespace, IDirectory, IVolume)]
struct Directory {
    mounted: Arc<Mounted>,
    path: String,
}

impl Directory {
    /// The entries of the directory `name` below this one, in name order.
    fn entries(&self, name: &str) -> Result<Vec<Entry>> {
        let path = join(&self.path, name)?;
        let mut entries = self.mounted.with(|volume| volume.list(&path))?;
        entries.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }
}

/// Copies the name of the first of `entries` after `previous` into `buffer`.
fn entry_after(entries: &[Entry], previous: Option<&str>, buffer: &mut [u8]) -> Result<usize> {
    let entry = entries
        .iter()
        .find(|entry| previous.is_none_or(|previous| entry.name.as_str() > previous))
        .ok_or(Status::NO_MORE_ENTRIES)?;
    let bytes = entry.name.as_bytes();
    buffer
        .get_mut(..bytes.len())
        .ok_or(Status::BUFFER_TOO_SMALL)?
        .copy_from_slice(bytes);
    Ok(bytes.len())
}

impl INamespaceImpl for Directory {
    /// Files are made with `IDirectory::create_file`, not registered.
    fn register(&self, _name: &str, _object: &IUnknown, _flags: u32) -> Result<()> {
        Err(Status::NOT_SUPPORTED)
    }

    fn unregister(&self, _name: &str) -> Result<()> {
        Err(Status::NOT_SUPPORTED)
    }

    fn bind(&self, name: &str, _flags: u32) -> Result<ComPtr<IUnknown>> {
        let path = join(&self.path, name)?;
        let mounted = self.mounted.clone();
        Ok(match self.mounted.with(|volume| volume.kind(&path))? {
            Kind::Directory => {
                ComObject::create::<INamespace>(Directory { mounted, path }).to_unknown()
            }
            Kind::File(_) => ComObject::create::<IFile>(File { mounted, path }).to_unknown(),
        })
    }

    fn find_first(&self, directory: &str, buffer: &mut [u8]) -> Result<usize> {
        entry_after(&self.entries(directory)?, None, buffer)
    }

    fn find_next(&self, directory: &str, previous: &str, buffer: &mut [u8]) -> Result<usize> {
        entry_after(&self.entries(directory)?, Some(previous), buffer)
    }

    fn capabilities(&self, name: &str) -> Result<u32> {
        let path = join(&self.path, name)?;
        let write = if self.mounted.read_only {
            0
        } else {
            flags::WRITE
        };
        Ok(match self.mounted.with(|volume| volume.kind(&path))? {
            Kind::Directory => flags::READ | write | flags::DIRECTORY,
            Kind::File(_) => flags::READ | write,
        })
    }
}

impl IDirectoryImpl for Directory {
    fn create_file(&self, name: &str) -> Result<()> {
        let path = join(&self.path, name)?;
        self.mounted.with(|volume| volume.create_file(&path))
    }

    fn create_directory(&self, name: &str) -> Result<()> {
        let path = join(&self.path, name)?;
        self.mounted.with(|volume| volume.create_directory(&path))
    }

    fn remove(&self, name: &str) -> Result<()> {
        let path = join(&self.path, name)?;
        self.mounted.with(|volume| volume.remove(&path))
    }
}

impl IVolumeImpl for Directory {
    fn sync(&self) -> Result<()> {
        self.mounted.with(|volume| volume.sync())
    }

    fn unmount(&self) -> Result<()> {
        self.mounted.unmount()
    }

    fn read_only(&self) -> Result<bool> {
        Ok(self.mounted.read_only)
    }
}

/// A file of the volume.
#[class(IFile)]
struct File {
    mounted: Arc<Mounted>,
    path: String,
}

impl IFileImpl for File {
    fn read_at(&self, offset: u64, buffer: &mut [u8]) -> Result<usize> {
        self.mounted
            .with(|volume| volume.read(&self.path, offset, buffer))
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> Result<usize> {
        self.mounted
            .with(|volume| volume.write(&self.path, offset, data))
    }

    fn size(&self) -> Result<u64> {
        match self.mounted.with(|volume| volume.kind(&self.path))? {
            Kind::File(size) => Ok(size),
            Kind::Directory => Err(Status::NOT_FOUND),
        }
    }

    fn set_size(&self, size: u64) -> Result<()> {
        self.mounted
            .with(|volume| volume.set_size(&self.path, size))
    }

    fn flush(&self) -> Result<()> {
        self.mounted.with(|volume| volume.sync())
    }
}
