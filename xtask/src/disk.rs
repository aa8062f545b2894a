//! Disks for the machine: what `--disk PATH[:ro]` attaches, and the FAT
//! image `cargo xtask run` makes on first use when no disk is given.
//!
//! A disk is attached as QEMU's virtio block device (`virtio-blk-device`),
//! which the kernel lists as `/sys/devices/virtio-blk0` and the
//! `virtio-blk` driver component drives.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::components::Component;
use crate::qemu;
use crate::workspace::output_directory;

/// The default disk's size in KiB (16 MiB: FAT16).
const DEFAULT_SIZE_KIB: u32 = 16 * 1024;
/// The component copied onto the default disk, as a demonstration.
const DEMO_COMPONENT: &str = "hello";
/// The default disk's README.
const README: &str = "\
This is Tessera's disk: target/tessera/disk.img, a FAT file system that
`cargo xtask run` made on first use and attaches as a virtio block device.
What the system writes here stays. Delete the file for a fresh one, or
attach your own image with `cargo xtask run --disk PATH` (`PATH:ro`:
read-only).

In the shell:

    ls /sys/devices            the devices the kernel found
    blocks virtio-blk          the disk, through its driver
    blocks virtio-blk read 0   its first block (the FAT boot sector)

The file `hello` beside this one is a component image, as in /boot.
";

/// A disk image attached to the machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disk {
    /// The image file (raw).
    pub path: PathBuf,
    /// Attached read-only: the guest cannot write it.
    pub read_only: bool,
}

impl Disk {
    /// `PATH` or `PATH:ro`, as `--disk` takes it.
    pub fn parse(argument: &str) -> Result<Disk> {
        let (path, read_only) = match argument.strip_suffix(":ro") {
            Some(path) => (path, true),
            None => (argument, false),
        };
        if path.is_empty() {
            bail!("--disk takes a path to a disk image (PATH or PATH:ro)");
        }
        let path = PathBuf::from(path);
        if !path.is_file() {
            bail!("--disk {}: no such file", path.display());
        }
        Ok(Disk { path, read_only })
    }

    /// QEMU's options that attach the disk.
    pub fn qemu_arguments(&self) -> Vec<OsString> {
        // QEMU's option syntax doubles a comma inside a value.
        let path = self.path.to_string_lossy().replace(',', ",,");
        let read_only = if self.read_only { ",readonly=on" } else { "" };
        vec![
            "-drive".into(),
            format!("if=none,format=raw,id=hd0,file={path}{read_only}").into(),
            "-device".into(),
            "virtio-blk-device,drive=hd0".into(),
        ]
    }
}

/// The disk `cargo xtask run` attaches when none is given:
/// `target/tessera/disk.img`, made on first use — a FAT file system with
/// a README and a demonstration component — and kept afterwards, with
/// whatever the system wrote on it.
pub fn default_disk(components: &[Component]) -> Result<Disk> {
    let path = output_directory()?.join("disk.img");
    if !path.exists() {
        make_fat_image(&path, components)?;
        println!("xtask: made the disk {} (FAT16, 16 MiB)", path.display());
    }
    Ok(Disk {
        path,
        read_only: false,
    })
}

/// The disk `cargo xtask bench` measures storage on, made afresh: a
/// 16 MiB FAT16 volume with 16 KiB clusters holding `bench.bin`, 1 MiB of
/// varied bytes (the `benchmarks` component reads it).
pub fn bench_disk() -> Result<Disk> {
    ensure_fat_tools()?;
    let path = output_directory()?.join("bench-disk.img");
    let _ = fs::remove_file(&path);
    run(Command::new("mkfs.fat")
        .args(["-C", "-s", "32", "-n", "BENCH"])
        .arg(&path)
        .arg(DEFAULT_SIZE_KIB.to_string()))?;
    write_in(&path, &bench_content(), "bench.bin")?;
    Ok(Disk {
        path,
        read_only: false,
    })
}

/// The directory `cargo xtask bench` shares over 9P, made afresh:
/// `bench.bin`, the same 1 MiB as on the bench disk.
pub fn bench_share() -> Result<PathBuf> {
    let directory = output_directory()?.join("bench-share");
    let _ = fs::remove_dir_all(&directory);
    fs::create_dir_all(&directory)?;
    fs::write(directory.join("bench.bin"), bench_content())?;
    Ok(directory)
}

/// 1 MiB of varied bytes, for the storage figures.
fn bench_content() -> Vec<u8> {
    (0..1u32 << 20)
        .map(|index| index.wrapping_mul(2_654_435_761).to_le_bytes()[3])
        .collect()
}

/// Makes sure `mkfs.fat`, `fsck.fat` (dosfstools) and mtools are
/// installed, as QEMU is.
pub fn ensure_fat_tools() -> Result<()> {
    qemu::ensure_package("mkfs.fat", "dosfstools")?;
    qemu::ensure_package("mcopy", "mtools")
}

/// Writes a fresh FAT image at `path`, with the README and the demo
/// component on it when `components` has it.
pub fn make_fat_image(path: &Path, components: &[Component]) -> Result<()> {
    ensure_fat_tools()?;
    let partial = path.with_extension("img.partial");
    let _ = fs::remove_file(&partial);
    run(Command::new("mkfs.fat")
        .args(["-C", "-n", "TESSERA"])
        .arg(&partial)
        .arg(DEFAULT_SIZE_KIB.to_string()))?;
    write_in(&partial, README.as_bytes(), "README")?;
    if let Some(demo) = components
        .iter()
        .find(|component| component.name == DEMO_COMPONENT)
    {
        write_in(&partial, &demo.image, DEMO_COMPONENT)?;
    }
    fs::rename(&partial, path).with_context(|| format!("moving the disk to {}", path.display()))
}

/// Writes `bytes` into the FAT image `image` as `/name`.
pub fn write_in(image: &Path, bytes: &[u8], name: &str) -> Result<()> {
    let staged = image.with_extension(format!("{name}.staged"));
    fs::write(&staged, bytes).with_context(|| format!("writing {}", staged.display()))?;
    let copied = copy_in(image, &staged, name);
    let _ = fs::remove_file(&staged);
    copied
}

/// Copies the host file `source` into the FAT image `image` as `/name`.
pub fn copy_in(image: &Path, source: &Path, name: &str) -> Result<()> {
    run(Command::new("mcopy")
        .arg("-i")
        .arg(image)
        .arg(source)
        .arg(format!("::{name}")))
}

fn run(command: &mut Command) -> Result<()> {
    let output = command
        .output()
        .with_context(|| format!("running {command:?}"))?;
    if !output.status.success() {
        bail!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ro_suffix_attaches_read_only_and_commas_are_doubled() {
        let file = std::env::temp_dir().join("xtask-disk,test.img");
        fs::write(&file, [0u8; 512]).expect("a temporary file");
        let disk = Disk::parse(&format!("{}:ro", file.display())).expect("the disk parses");
        assert!(disk.read_only);
        assert_eq!(disk.path, file);
        let arguments = disk.qemu_arguments();
        let drive = arguments[1].to_string_lossy().into_owned();
        assert!(drive.contains("disk,,test.img"), "{drive}");
        assert!(drive.ends_with(",readonly=on"), "{drive}");
        let writable = Disk::parse(&file.display().to_string()).expect("the disk parses");
        assert!(!writable.read_only);
        let _ = fs::remove_file(&file);
    }

    #[test]
    fn a_missing_disk_is_refused() {
        assert!(Disk::parse("/nonexistent/disk.img").is_err());
        assert!(Disk::parse(":ro").is_err());
    }
}
