//! The QEMU tests of storage: the devices the kernel lists and the
//! virtio-blk driver, each on a disk image made for the test, which the
//! host reads back after the machine is off.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};

use crate::disk::Disk;
use crate::figures;
use crate::machine::{Machine, STEP_TIMEOUT};
use crate::qemu::Devices;
use crate::workspace::output_directory;

/// One storage test: a machine at its first prompt with the disk at the
/// path attached.
pub type DiskTest = fn(&mut Machine, &Path) -> Result<()>;

/// How a storage test's machine is set up.
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    /// The disk is attached read-only.
    pub read_only: bool,
    /// The virtio devices use the modern transport.
    pub modern_virtio: bool,
}

const LEGACY: Setup = Setup {
    read_only: false,
    modern_virtio: false,
};

/// Every storage test, by name.
pub const TESTS: &[(&str, Setup, DiskTest)] = &[
    (
        "virtio_blk_reads_and_writes_blocks_legacy",
        LEGACY,
        blocks_are_read_and_written,
    ),
    (
        "virtio_blk_reads_and_writes_blocks_modern",
        Setup {
            modern_virtio: true,
            ..LEGACY
        },
        blocks_are_read_and_written,
    ),
    (
        "a_read_only_disk_refuses_writes",
        Setup {
            read_only: true,
            ..LEGACY
        },
        a_read_only_disk_refuses_writes,
    ),
];

/// The disk's size in blocks of 512 bytes (4 MiB).
const DISK_BLOCKS: usize = 8192;
/// What the fresh disk holds at block [`MARKED_BLOCK`].
const MARK: &[u8] = b"TESSERA BLOCK THREE";
const MARKED_BLOCK: usize = 3;

/// A fresh disk for the test `name`: zeros, and the mark.
pub fn fresh_disk(name: &str) -> Result<PathBuf> {
    let directory = output_directory()?.join("test-disks");
    fs::create_dir_all(&directory)?;
    let path = directory.join(format!("{name}.img"));
    let mut bytes = vec![0u8; DISK_BLOCKS * 512];
    let at = MARKED_BLOCK * 512;
    bytes[at..at + MARK.len()].copy_from_slice(MARK);
    fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// The devices of a test's machine.
pub fn devices(setup: Setup, disk: &Path) -> Devices {
    Devices {
        disk: Some(Disk {
            path: disk.to_owned(),
            read_only: setup.read_only,
        }),
        modern_virtio: setup.modern_virtio,
    }
}

/// Block `index` of the image at `path`.
fn block_on_host(path: &Path, index: usize) -> Result<Vec<u8>> {
    let bytes = fs::read(path)?;
    let at = index * 512;
    Ok(bytes
        .get(at..at + 512)
        .context("the image is too short")?
        .to_vec())
}

fn expect(machine: &mut Machine, line: &str, expected: &[&str]) -> Result<String> {
    let output = machine.run(line)?;
    for text in expected {
        ensure!(
            output.contains(text),
            "`{line}` printed {output:?}, without {text:?}"
        );
    }
    Ok(output)
}

fn heap_used(machine: &mut Machine) -> Result<u64> {
    let report = machine.run("mem")?;
    figures::field(&report, "used=").with_context(|| format!("no used=<bytes> in {report:?}"))
}

fn power_off(machine: &mut Machine) -> Result<()> {
    machine.send_line("poweroff")?;
    let code = machine.wait_exit(STEP_TIMEOUT)?;
    ensure!(code == 0, "QEMU exited with status {code}");
    Ok(())
}

/// The kernel lists the disk; the driver loads on demand, reads what the
/// host wrote, writes what the host then reads, refuses a block past the
/// end, and unloads with the heap back where it was.
fn blocks_are_read_and_written(machine: &mut Machine, disk: &Path) -> Result<()> {
    let listing = machine.run("ls /sys/devices")?;
    ensure!(
        listing.trim() == "/sys/devices/virtio-blk0",
        "/sys/devices lists {listing:?}, not just the disk"
    );
    let before = heap_used(machine)?;
    expect(
        machine,
        "blocks virtio-blk",
        &["/virtio-blk: 8192 blocks of 512 bytes, read-write"],
    )?;
    expect(
        machine,
        "blocks virtio-blk read 3",
        &["|TESSERA BLOCK TH|", "|REE.............|"],
    )?;
    expect(machine, "blocks virtio-blk write 5 written by tessera", &[])?;
    expect(machine, "blocks virtio-blk flush", &[])?;
    expect(machine, "blocks virtio-blk read 5", &["|written by tesse|"])?;
    expect(
        machine,
        "blocks virtio-blk read 8192",
        &["error: blocks: /virtio-blk: out of range"],
    )?;
    expect(machine, "mods", &["no modules loaded besides the shell"])?;
    let after = heap_used(machine)?;
    ensure!(
        before == after,
        "the driver's unload left the heap at {after} bytes, from {before}"
    );
    power_off(machine)?;
    let written = block_on_host(disk, 5)?;
    ensure!(
        written.starts_with(b"written by tessera\0"),
        "block 5 on the host holds {:?}",
        String::from_utf8_lossy(&written[..32])
    );
    Ok(())
}

/// A disk attached read-only is reported so, a write fails with a clear
/// error, and the image is unchanged.
fn a_read_only_disk_refuses_writes(machine: &mut Machine, disk: &Path) -> Result<()> {
    let image = fs::read(disk)?;
    expect(
        machine,
        "blocks virtio-blk",
        &["/virtio-blk: 8192 blocks of 512 bytes, read-only"],
    )?;
    expect(
        machine,
        "blocks virtio-blk write 5 refused",
        &["error: blocks: /virtio-blk: access denied"],
    )?;
    expect(machine, "blocks virtio-blk read 3", &["|TESSERA BLOCK TH|"])?;
    power_off(machine)?;
    ensure!(fs::read(disk)? == image, "the read-only image changed");
    Ok(())
}
