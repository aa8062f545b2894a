//! The mounted volume as a `file_tree::Tree` (whose objects the
//! namespace binds), and the listener that unmounts it at power-off.

use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use com::{ComObject, ComPtr, IUnknown, Result, Status, class};
use component::threads::Lock;
use fat_volume::{BlockDevice, Volume};
use file_tree::{Kind, Tree};
use interfaces::filesystem::mount_flags;
use interfaces::power::SHUTDOWN_PATH;
use interfaces::{IBlockDevice, INamespace, IShutdown, IShutdownListener, IShutdownListenerImpl};
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
    Ok(file_tree::root(mounted))
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

impl Tree for Mounted {
    fn kind(&self, path: &str) -> Result<Kind> {
        Ok(match self.with(|volume| volume.kind(path))? {
            fat_volume::Kind::Directory => Kind::Directory,
            fat_volume::Kind::File(size) => Kind::File(size),
        })
    }

    fn list(&self, path: &str) -> Result<Vec<String>> {
        let entries = self.with(|volume| volume.list(path))?;
        Ok(entries.into_iter().map(|entry| entry.name).collect())
    }

    fn read(&self, path: &str, offset: u64, buffer: &mut [u8]) -> Result<usize> {
        self.with(|volume| volume.read(path, offset, buffer))
    }

    fn write(&self, path: &str, offset: u64, data: &[u8]) -> Result<usize> {
        self.with(|volume| volume.write(path, offset, data))
    }

    fn set_size(&self, path: &str, size: u64) -> Result<()> {
        self.with(|volume| volume.set_size(path, size))
    }

    /// A file's writes reach the disk with the volume's.
    fn flush(&self, _path: &str) -> Result<()> {
        self.sync()
    }

    fn create_file(&self, path: &str) -> Result<()> {
        self.with(|volume| volume.create_file(path))
    }

    fn create_directory(&self, path: &str) -> Result<()> {
        self.with(|volume| volume.create_directory(path))
    }

    fn remove(&self, path: &str) -> Result<()> {
        self.with(|volume| volume.remove(path))
    }

    fn sync(&self) -> Result<()> {
        self.with(|volume| volume.sync())
    }

    /// Unmounts the volume (once) and stops listening for the power-off.
    fn unmount(&self) -> Result<()> {
        if let Some(listener) = self.listener.lock().take() {
            let _ = shutdown().and_then(|shutdown| shutdown.forget(&listener));
        }
        let volume = self.volume.lock().take().ok_or(Status::NOT_FOUND)?;
        volume.unmount()
    }

    fn read_only(&self) -> bool {
        self.read_only
    }
}
