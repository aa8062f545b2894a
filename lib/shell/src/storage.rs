//! The storage commands: `blocks` (a block device's blocks), `mount`,
//! `umount`, `sync`, and the file commands `write`, `cp`, `mkdir`, `rm`;
//! and mounting the first disk as the shell starts.

use alloc::string::String;
use alloc::vec;
use core::fmt::Write;

use com::{ComPtr, Result, Status};
use interfaces::filesystem::mount_flags;
use interfaces::namespace::flags as namespace_flags;
use interfaces::{IBlockDevice, IDirectory, IFile, IFileSystem, INamespace, IVolume};

use crate::Output;
use crate::context::{Context, Failure, Outcome, absolute, failed, service};

/// How many bytes of a block `blocks read` shows.
const SHOWN_BYTES: usize = 64;

/// `blocks <device> [read <n> | write <n> <text...> | flush]`.
pub fn blocks(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    let (name, rest) = arguments.split_first().ok_or(Failure::Usage)?;
    let request = match rest {
        [] => Request::Describe,
        ["read", block] => Request::Read(block.parse().map_err(|_| Failure::Usage)?),
        ["write", block, text @ ..] if !text.is_empty() => {
            Request::Write(block.parse().map_err(|_| Failure::Usage)?, text.join(" "))
        }
        ["flush"] => Request::Flush,
        _ => return Err(Failure::Usage),
    };
    let path = absolute(name);
    let device = service::<IBlockDevice>(context.namespace, &path, 0)?;
    serve(context.output, &path, &device, request).map_err(failed(&path))?;
    Ok(None)
}

/// What `blocks` was asked to do.
enum Request {
    Describe,
    Read(u64),
    Write(u64, String),
    Flush,
}

fn serve(output: &mut Output, path: &str, device: &IBlockDevice, request: Request) -> Result<()> {
    match request {
        Request::Describe => {
            let access = if device.read_only()? {
                "read-only"
            } else {
                "read-write"
            };
            let _ = writeln!(
                output,
                "{path}: {} blocks of {} bytes, {access}",
                device.block_count()?,
                device.block_size()?
            );
        }
        Request::Read(block) => {
            let mut buffer = vec![0u8; block_size(device)?];
            device.read_blocks(block, &mut buffer)?;
            show(output, buffer.get(..SHOWN_BYTES).unwrap_or(&buffer));
        }
        Request::Write(block, text) => {
            let mut buffer = vec![0u8; block_size(device)?];
            let length = text.len().min(buffer.len());
            buffer[..length].copy_from_slice(&text.as_bytes()[..length]);
            device.write_blocks(block, &buffer)?;
        }
        Request::Flush => device.flush()?,
    }
    Ok(())
}

fn block_size(device: &IBlockDevice) -> Result<usize> {
    usize::try_from(device.block_size()?).map_err(|_| com::Status::OUT_OF_RANGE)
}

/// Prints `bytes` as lines of 16 in hexadecimal and as text.
fn show(output: &mut Output, bytes: &[u8]) {
    for (line, chunk) in bytes.chunks(16).enumerate() {
        let _ = write!(output, "{:04x} ", line * 16);
        for byte in chunk {
            let _ = write!(output, " {byte:02x}");
        }
        let text: String = chunk
            .iter()
            .map(|&byte| {
                if byte.is_ascii_graphic() || byte == b' ' {
                    char::from(byte)
                } else {
                    '.'
                }
            })
            .collect();
        let _ = writeln!(output, "  |{text}|");
    }
}

/// Where `mount` puts a volume and which device it mounts by default.
pub const DISK_PATH: &str = "/disk";
/// The default device of `mount`: the virtio block driver's disk.
pub const DISK_DEVICE: &str = "/virtio-blk";
/// The file system component `mount` uses.
pub const FAT_PATH: &str = "/fat";
/// The kernel's entry for the first disk: when it is there, the shell
/// mounts that disk at [`DISK_PATH`] as it starts.
const FIRST_DISK: &str = "/sys/devices/virtio-blk0";
/// Where the shell mounts the host's shared directory.
pub const HOST_PATH: &str = "/host";
/// The component serving it over 9P, whose object is its root.
pub const HOST_DEVICE: &str = "/virtio-9p";
/// The kernel's entry for the 9P transport: when it is there, the shell
/// mounts the host's directory at [`HOST_PATH`] as it starts.
const FIRST_SHARE: &str = "/sys/devices/virtio-9p0";
/// The size of the pieces `cp` copies.
const COPY_CHUNK: usize = 4096;

/// Mounts what the machine has, saying so (or why not): the first disk
/// at [`DISK_PATH`], the host's shared directory at [`HOST_PATH`].
pub fn mount_devices(namespace: &INamespace, output: &mut Output) {
    if namespace.capabilities(FIRST_DISK).is_ok() {
        let mounted = mount_volume(namespace, DISK_DEVICE, DISK_PATH, 0);
        report_mount(output, mounted, DISK_DEVICE, DISK_PATH);
    }
    if namespace.capabilities(FIRST_SHARE).is_ok() {
        let mounted = mount_volume(namespace, HOST_DEVICE, HOST_PATH, 0);
        report_mount(output, mounted, HOST_DEVICE, HOST_PATH);
    }
}

fn report_mount(
    output: &mut Output,
    mounted: core::result::Result<(), Failure>,
    device: &str,
    path: &str,
) {
    match mounted {
        Ok(()) => {
            let _ = writeln!(output, "mounted {device} at {path}");
        }
        Err(Failure::Status(subject, status)) => {
            let _ = writeln!(
                output,
                "error: mount: {subject}: {} ({path} is not mounted)",
                status.message()
            );
        }
        Err(Failure::Usage) => {}
    }
}

/// Mounts the FAT volume on `device` at `path` with `flags`.
/// Mounts `device` at `path`: a block device's FAT volume (with
/// `flags`), or a tree that is a namespace already (the host's, over 9P).
fn mount_volume(
    namespace: &INamespace,
    device: &str,
    path: &str,
    flags: u32,
) -> core::result::Result<(), Failure> {
    let device_object = namespace.bind(device, 0).map_err(failed(device))?;
    let root = match device_object.query::<IBlockDevice>() {
        Ok(_) => service::<IFileSystem>(namespace, FAT_PATH, 0)?
            .mount(&device_object, flags)
            .map_err(failed(device))?,
        Err(_) if flags & mount_flags::READ_ONLY != 0 => {
            return Err(Failure::Status(device.into(), Status::NOT_SUPPORTED));
        }
        Err(_) => device_object
            .query::<INamespace>()
            .map_err(failed(device))?,
    };
    namespace
        .register(
            path,
            root.as_unknown(),
            namespace_flags::EXTENSION | namespace_flags::FAIL_IF_EXISTS,
        )
        .map_err(failed(path))?;
    Ok(())
}

/// `mount [-r] [<device> <path>]`: the FAT volume on a block device (by
/// default `virtio-blk` at `/disk`; `-r` mounts it read-only), or the
/// host's directory (`mount virtio-9p /host`).
pub fn mount(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    let (flags, rest) = match arguments {
        ["-r", rest @ ..] => (mount_flags::READ_ONLY, rest),
        rest => (0, rest),
    };
    let (device, path) = match rest {
        [] => (String::from(DISK_DEVICE), String::from(DISK_PATH)),
        [device, path] => (absolute(device), absolute(path)),
        _ => return Err(Failure::Usage),
    };
    mount_volume(context.namespace, &device, &path, flags)?;
    let access = if flags & mount_flags::READ_ONLY != 0 {
        "read-only"
    } else {
        "read-write"
    };
    let _ = writeln!(context.output, "mounted {device} at {path} ({access})");
    Ok(None)
}

/// `umount <path>`: writes the volume back, marks it clean, and takes it
/// out of the namespace.
pub fn umount(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    let [path] = arguments else {
        return Err(Failure::Usage);
    };
    let path = absolute(path);
    let volume = service::<IVolume>(context.namespace, &path, 0)?;
    volume.unmount().map_err(failed(&path))?;
    drop(volume);
    context.namespace.unregister(&path).map_err(failed(&path))?;
    Ok(None)
}

/// `sync [<path>]`: writes a volume's changes to its device (by default `/disk`).
pub fn sync(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    let path = match arguments {
        [] => String::from(DISK_PATH),
        [path] => absolute(path),
        _ => return Err(Failure::Usage),
    };
    let volume = service::<IVolume>(context.namespace, &path, 0)?;
    volume.sync().map_err(failed(&path))?;
    Ok(None)
}

/// The directory holding `path` and the name in it.
fn parent_of(path: &str) -> core::result::Result<(&str, &str), Failure> {
    match path.rsplit_once('/') {
        Some((_, "")) | None => Err(Failure::Usage),
        Some(("", name)) => Ok(("/", name)),
        Some(parent_and_name) => Ok(parent_and_name),
    }
}

/// The directory holding `path`, as an `IDirectory`, and the name in it.
fn directory_of<'p>(
    namespace: &INamespace,
    path: &'p str,
) -> core::result::Result<(ComPtr<IDirectory>, &'p str), Failure> {
    let (parent, name) = parent_of(path)?;
    Ok((service::<IDirectory>(namespace, parent, 0)?, name))
}

/// The file at `path`, made empty (created if it is not there).
fn empty_file(namespace: &INamespace, path: &str) -> core::result::Result<ComPtr<IFile>, Failure> {
    let (directory, name) = directory_of(namespace, path)?;
    match directory.create_file(name) {
        Ok(()) | Err(Status::ALREADY_EXISTS) => {}
        Err(status) => return Err(Failure::Status(path.into(), status)),
    }
    let file = service::<IFile>(namespace, path, namespace_flags::WRITE)?;
    file.set_size(0).map_err(failed(path))?;
    Ok(file)
}

/// `write <file> <text...>`: the file holds the text and a line end.
pub fn write(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    let [name, text @ ..] = arguments else {
        return Err(Failure::Usage);
    };
    if text.is_empty() {
        return Err(Failure::Usage);
    }
    let path = absolute(name);
    let file = empty_file(context.namespace, &path)?;
    let mut content = text.join(" ");
    content.push('\n');
    file.write_at(0, content.as_bytes())
        .map_err(failed(&path))?;
    Ok(None)
}

/// `cp <from> <to>`: copies a file (from any file system) to a new or
/// emptied file.
pub fn cp(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    let [from, to] = arguments else {
        return Err(Failure::Usage);
    };
    let (from, to) = (absolute(from), absolute(to));
    let source = service::<IFile>(context.namespace, &from, namespace_flags::READ)?;
    let target = empty_file(context.namespace, &to)?;
    let mut buffer = vec![0u8; COPY_CHUNK];
    let mut offset = 0u64;
    loop {
        let count = source.read_at(offset, &mut buffer).map_err(failed(&from))?;
        let Some(chunk) = buffer.get(..count).filter(|chunk| !chunk.is_empty()) else {
            break;
        };
        target.write_at(offset, chunk).map_err(failed(&to))?;
        offset += count as u64;
    }
    Ok(None)
}

/// `mkdir <path>`.
pub fn mkdir(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    let [path] = arguments else {
        return Err(Failure::Usage);
    };
    let path = absolute(path);
    let (directory, name) = directory_of(context.namespace, &path)?;
    directory.create_directory(name).map_err(failed(&path))?;
    Ok(None)
}

/// `rm <path>`: a file or an empty directory.
pub fn rm(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    let [path] = arguments else {
        return Err(Failure::Usage);
    };
    let path = absolute(path);
    let (directory, name) = directory_of(context.namespace, &path)?;
    directory.remove(name).map_err(failed(&path))?;
    Ok(None)
}
