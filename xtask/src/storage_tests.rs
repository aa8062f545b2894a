//! The QEMU tests of storage: the devices the kernel lists and the
//! virtio-blk driver, each on a disk image made for the test, which the
//! host reads back after the machine is off.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, ensure};

use crate::disk::{self, Disk};
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
    /// The disk holds a FAT file system (with [`HOST_FILE`]) rather than
    /// zeros and [`MARK`].
    pub fat: bool,
    /// A disk is attached.
    pub disk: bool,
    /// A host directory is shared over 9P (with [`HOST_FILE`]), beside
    /// the disk's image (`.share`).
    pub share: bool,
}

const LEGACY: Setup = Setup {
    read_only: false,
    modern_virtio: false,
    fat: false,
    disk: true,
    share: false,
};

const FAT: Setup = Setup {
    fat: true,
    ..LEGACY
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
    (
        "fat_files_written_in_tessera_pass_fsck_and_mtools",
        FAT,
        fat_files_round_trip_with_the_host,
    ),
    (
        "fat_create_write_delete_cycles_do_not_drift",
        FAT,
        fat_cycles_do_not_drift,
    ),
    (
        "fat_mounted_read_only_changes_nothing",
        FAT,
        fat_mounted_read_only_changes_nothing,
    ),
    (
        "host_files_over_9p_read_written_and_loaded",
        Setup {
            disk: false,
            share: true,
            ..LEGACY
        },
        host_files_over_9p,
    ),
    (
        "signed_images_load_from_disk_and_host_and_others_are_refused",
        Setup {
            fat: true,
            share: true,
            ..LEGACY
        },
        signed_images_load_and_others_are_refused,
    ),
    (
        "signed_applications_run_from_the_disk_and_others_are_refused",
        FAT,
        signed_applications_run_and_others_are_refused,
    ),
    (
        "the_trust_policy_exempts_a_directory_only_through_its_control",
        Setup {
            disk: false,
            share: true,
            ..LEGACY
        },
        trust_policy_exempts_a_directory,
    ),
    (
        "host_files_over_9p_modern_transport",
        Setup {
            disk: false,
            share: true,
            modern_virtio: true,
            ..LEGACY
        },
        host_files_over_9p,
    ),
];

/// The file the host puts on a FAT disk, and what it holds.
const HOST_FILE: &str = "from-host.txt";
const HOST_TEXT: &str = "written on the host\n";

/// The disk's size in blocks of 512 bytes (4 MiB).
const DISK_BLOCKS: usize = 8192;
/// What the fresh disk holds at block [`MARKED_BLOCK`].
const MARK: &[u8] = b"TESSERA BLOCK THREE";
const MARKED_BLOCK: usize = 3;

/// A fresh disk for the test `name`: FAT with [`HOST_FILE`], or zeros
/// and the mark.
pub fn fresh_disk(name: &str, setup: Setup) -> Result<PathBuf> {
    let directory = output_directory()?.join("test-disks");
    fs::create_dir_all(&directory)?;
    let path = directory.join(format!("{name}.img"));
    if setup.fat {
        disk::make_fat_image(&path, &[])?;
        disk::write_in(&path, HOST_TEXT.as_bytes(), HOST_FILE)?;
        return Ok(path);
    }
    let mut bytes = vec![0u8; DISK_BLOCKS * 512];
    let at = MARKED_BLOCK * 512;
    bytes[at..at + MARK.len()].copy_from_slice(MARK);
    fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// The devices of a test's machine; a shared directory is made afresh.
pub fn devices(setup: Setup, disk: &Path) -> Result<Devices> {
    let share = if setup.share {
        let directory = shared_directory(disk);
        let _ = fs::remove_dir_all(&directory);
        fs::create_dir_all(directory.join("sub"))?;
        fs::write(directory.join(HOST_FILE), HOST_TEXT)?;
        Some(directory)
    } else {
        None
    };
    Ok(Devices {
        disk: setup.disk.then(|| Disk {
            path: disk.to_owned(),
            read_only: setup.read_only,
        }),
        modern_virtio: setup.modern_virtio,
        share,
        network: None,
        trace: None,
    })
}

/// The directory a test shares, beside its disk image.
fn shared_directory(disk: &Path) -> PathBuf {
    disk.with_extension("share")
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

/// Runs `line` at the shell; fails unless its output holds every text of
/// `expected`.
pub fn expect(machine: &mut Machine, line: &str, expected: &[&str]) -> Result<String> {
    let output = machine.run(line)?;
    for text in expected {
        ensure!(
            output.contains(text),
            "`{line}` printed {output:?}, without {text:?}"
        );
    }
    Ok(output)
}

/// The heap's used bytes, as `mem` prints them.
pub fn heap_used(machine: &mut Machine) -> Result<u64> {
    let report = machine.run("mem")?;
    figures::field(&report, "used=").with_context(|| format!("no used=<bytes> in {report:?}"))
}

/// Powers the machine off from the shell; fails unless QEMU exits with 0.
pub fn power_off(machine: &mut Machine) -> Result<()> {
    machine.send_line("poweroff")?;
    let code = machine.wait_exit(STEP_TIMEOUT)?;
    ensure!(code == 0, "QEMU exited with status {code}");
    Ok(())
}

/// The kernel lists the disk; a mount of it (no file system) fails with a
/// clear error and the system goes on; the driver loads on demand, reads what the
/// host wrote, writes what the host then reads, refuses a block past the
/// end, and unloads with the heap back where it was.
fn blocks_are_read_and_written(machine: &mut Machine, disk: &Path) -> Result<()> {
    let listing = machine.run("ls /sys/devices")?;
    ensure!(
        listing.trim() == "/sys/devices/virtio-blk0",
        "/sys/devices lists {listing:?}, not just the disk"
    );
    // No file system on it: the shell's mount failed, and says why.
    expect(machine, "mount", &["error: mount: /virtio-blk: bad image"])?;
    expect(machine, "ls /disk", &["not found"])?;
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

/// `fsck.fat -n` finds nothing wrong, the dirty flag included.
fn fsck_is_clean(image: &Path) -> Result<()> {
    let output = Command::new("fsck.fat")
        .arg("-n")
        .arg(image)
        .output()
        .context("running fsck.fat")?;
    let report = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    ensure!(
        output.status.success() && !report.to_lowercase().contains("dirty"),
        "fsck.fat -n finds the volume unclean: {report}"
    );
    Ok(())
}

/// The FAT file `name` as mtools reads it on the host.
fn file_on_host(image: &Path, name: &str) -> Result<String> {
    let mut command = Command::new("mtype");
    let output = command
        .arg("-i")
        .arg(image)
        .arg(format!("::{name}"))
        .output()
        .context("running mtype")?;
    ensure!(
        output.status.success(),
        "mtype ::{name}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The shell mounts the disk at `/disk`; files the host wrote are read,
/// files and directories written in Tessera (long names included) are
/// read back on the host with mtools, a component copied onto the disk
/// demand-loads from it, and `poweroff` leaves a volume `fsck.fat` finds
/// clean.
fn fat_files_round_trip_with_the_host(machine: &mut Machine, disk: &Path) -> Result<()> {
    expect(machine, "ls /disk", &["/disk/from-host.txt"])?;
    expect(machine, "cat /disk/from-host.txt", &["written on the host"])?;
    expect(machine, "write /disk/note.txt written in tessera", &[])?;
    expect(machine, "cat /disk/note.txt", &["written in tessera"])?;
    expect(machine, "mkdir /disk/docs", &[])?;
    expect(machine, "write /disk/docs/inner.txt a nested file", &[])?;
    expect(
        machine,
        "cp /boot/README /disk/docs/a-long-readme-name.txt",
        &[],
    )?;
    expect(
        machine,
        "ls /disk",
        &["/disk/docs/", "/disk/from-host.txt", "/disk/note.txt"],
    )?;
    expect(
        machine,
        "rm /disk/docs",
        &["error: rm: /disk/docs: directory not empty"],
    )?;
    expect(
        machine,
        &format!("cp /boot/test/{OUTSIDE} /disk/{OUTSIDE}"),
        &[],
    )?;
    expect(
        machine,
        &format!("bind {OUTSIDE}"),
        &[
            &format!("module {OUTSIDE}"),
            &format!("from /disk/{OUTSIDE}"),
        ],
    )?;
    expect(machine, &format!("call {OUTSIDE}"), &["greeting #1"])?;
    expect(machine, &format!("release {OUTSIDE}"), &[])?;
    expect(machine, &format!("rm /disk/{OUTSIDE}"), &[])?;
    power_off(machine)?;
    fsck_is_clean(disk)?;
    ensure!(file_on_host(disk, "note.txt")? == "written in tessera\n");
    ensure!(file_on_host(disk, "docs/inner.txt")? == "a nested file\n");
    let readme =
        fs::read_to_string(crate::workspace::workspace_root().join("kernel/romfs/README"))?;
    ensure!(
        file_on_host(disk, "docs/a-long-readme-name.txt")? == readme,
        "the copied README differs on the host"
    );
    ensure!(
        file_on_host(disk, OUTSIDE).is_err(),
        "the removed file is still on the disk"
    );
    Ok(())
}

/// 1,000 files created, written and removed: the heap ends where it
/// started and the volume is clean.
fn fat_cycles_do_not_drift(machine: &mut Machine, disk: &Path) -> Result<()> {
    const CYCLES: usize = 1000;
    // The first cycle warms the caches the later ones reuse.
    expect(machine, "write /disk/cycle.txt warm", &[])?;
    expect(machine, "rm /disk/cycle.txt", &[])?;
    let before = heap_used(machine)?;
    for cycle in 0..CYCLES {
        let name = format!("/disk/file-{}.txt", cycle % 7);
        let written = machine.run(&format!("write {name} cycle {cycle}"))?;
        ensure!(written.trim().is_empty(), "cycle {cycle}: {written:?}");
        if cycle % 100 == 0 {
            expect(
                machine,
                &format!("cat {name}"),
                &[&format!("cycle {cycle}")],
            )?;
        }
        let removed = machine.run(&format!("rm {name}"))?;
        ensure!(removed.trim().is_empty(), "cycle {cycle}: {removed:?}");
    }
    let after = heap_used(machine)?;
    ensure!(
        before == after,
        "the heap went from {before} to {after} bytes over {CYCLES} cycles"
    );
    expect(machine, "ls /disk", &["/disk/from-host.txt"])?;
    power_off(machine)?;
    fsck_is_clean(disk)
}

/// After `umount` the FAT component and the disk driver unload; `mount
/// -r` loads them again, and the volume reads but refuses every change,
/// leaving the image exactly as it was.
fn fat_mounted_read_only_changes_nothing(machine: &mut Machine, disk: &Path) -> Result<()> {
    expect(machine, "umount /disk", &[])?;
    expect(machine, "ls /disk", &["not found"])?;
    // Unmounted and released, the file system and the driver unload; the
    // mount below loads them again.
    expect(machine, "mods", &["no modules loaded besides the shell"])?;
    let image = fs::read(disk)?;
    expect(
        machine,
        "mount -r",
        &["mounted /virtio-blk at /disk (read-only)"],
    )?;
    expect(machine, "cat /disk/from-host.txt", &["written on the host"])?;
    expect(machine, "write /disk/new.txt text", &["access denied"])?;
    expect(machine, "rm /disk/from-host.txt", &["access denied"])?;
    expect(machine, "mkdir /disk/d", &["access denied"])?;
    power_off(machine)?;
    ensure!(
        fs::read(disk)? == image,
        "a read-only mount changed the image"
    );
    fsck_is_clean(disk)
}

/// The shell mounts the host's directory at `/host`: a file the host
/// wrote is read, files and directories made in Tessera appear on the
/// host (and go again), a component put there demand-loads from it, and
/// after `umount` the 9P component unloads.
fn host_files_over_9p(machine: &mut Machine, disk: &Path) -> Result<()> {
    let share = shared_directory(disk);
    let listing = machine.run("ls /sys/devices")?;
    ensure!(
        listing.trim() == "/sys/devices/virtio-9p0",
        "/sys/devices lists {listing:?}, not just the 9P transport"
    );
    expect(machine, "ls /host", &["/host/from-host.txt", "/host/sub/"])?;
    expect(machine, "cat /host/from-host.txt", &["written on the host"])?;
    expect(machine, "write /host/sub/note.txt written in tessera", &[])?;
    ensure!(
        fs::read_to_string(share.join("sub/note.txt"))? == "written in tessera\n",
        "the host does not see the file written in Tessera"
    );
    expect(machine, "mkdir /host/made", &[])?;
    ensure!(share.join("made").is_dir(), "the host has no /made");
    expect(machine, "rm /host/sub", &["not empty"])?;
    expect(machine, "rm /host/made", &[])?;
    ensure!(!share.join("made").exists(), "/made is still on the host");
    expect(
        machine,
        &format!("cp /boot/test/{OUTSIDE} /host/{OUTSIDE}"),
        &[],
    )?;
    ensure!(
        fs::metadata(share.join(OUTSIDE))?.len() > 0,
        "the component did not reach the host"
    );
    expect(
        machine,
        &format!("bind {OUTSIDE}"),
        &[
            &format!("module {OUTSIDE}"),
            &format!("from /host/{OUTSIDE}"),
        ],
    )?;
    expect(machine, &format!("call {OUTSIDE}"), &["greeting #1"])?;
    expect(machine, &format!("release {OUTSIDE}"), &[])?;
    expect(machine, "cat /host/missing", &["not found"])?;
    expect(machine, "umount /host", &[])?;
    only_the_verifier_is_loaded(machine)?;
    power_off(machine)
}

/// The signed test image's module, copied to `/disk` and `/host`.
const OUTSIDE: &str = crate::components::OUTSIDE_MODULE;

/// Nothing is loaded but the signature verifier, which stays (with its
/// cache of accepted images) once an image from outside `/boot` was
/// checked.
fn only_the_verifier_is_loaded(machine: &mut Machine) -> Result<()> {
    let listing = machine.run("mods")?;
    ensure!(
        listing
            .lines()
            .filter(|line| !line.trim().is_empty())
            .count()
            == 1
            && listing.contains("module verifier"),
        "mods lists {listing:?}, not just the verifier"
    );
    Ok(())
}

/// A signed image loads from `/disk` and from `/host`; copies of it with
/// a flipped bit (swapped in after the first load), a signature by a key
/// not trusted, a signature section cut short, and the unsigned format 1
/// are each refused with their own reason, as is a signed image renamed
/// into another module's place — and each refusal leaves nothing
/// registered and the heap as it was.
fn signed_images_load_and_others_are_refused(machine: &mut Machine, _: &Path) -> Result<()> {
    for directory in ["disk", "host"] {
        expect(
            machine,
            &format!("cp /boot/test/{OUTSIDE} /{directory}/{OUTSIDE}"),
            &[],
        )?;
        expect(
            machine,
            &format!("bind {OUTSIDE}"),
            &[&format!("from /{directory}/{OUTSIDE}")],
        )?;
        expect(machine, &format!("call {OUTSIDE}"), &["greeting #1"])?;
        expect(machine, &format!("release {OUTSIDE}"), &[])?;
        if directory == "disk" {
            expect(machine, &format!("rm /disk/{OUTSIDE}"), &[])?;
        }
    }
    let refusals = [
        (
            "-flipped",
            "bad signature: the image was changed after signing",
        ),
        ("-untrusted", "signed by an untrusted key (id "),
        ("-cut", "the signature section is missing or truncated"),
        ("-v1", "unsigned image, format v1"),
    ];
    for (suffix, reason) in refusals {
        // Swapped on the host after the image there was loaded and checked.
        expect(
            machine,
            &format!("cp /boot/test/{OUTSIDE}{suffix} /host/{OUTSIDE}"),
            &[],
        )?;
        refused(
            machine,
            OUTSIDE,
            &format!("loader: /host/{OUTSIDE}: {reason}"),
        )?;
    }
    expect(machine, "cp /boot/hello /host/twin", &[])?;
    refused(
        machine,
        "twin",
        "loader: /host/twin: the image is module hello, not twin: renamed?",
    )?;
    // The drivers of the disk and the host stay while mounted; the
    // verifier stays; nothing of the refused images does.
    let listing = machine.run("mods")?;
    ensure!(
        listing.contains("module verifier")
            && !listing.contains(&format!("module {OUTSIDE}"))
            && !listing.contains("module hello"),
        "mods lists {listing:?}"
    );
    power_off(machine)
}

/// An application image on the disk runs once its signature passes
/// (`run /disk/app`); one with a bit flipped after signing, one signed by
/// a key not trusted and one never signed are refused with
/// `BAD_SIGNATURE` before anything of them is mapped, and each refusal
/// leaves the heap as it was.
fn signed_applications_run_and_others_are_refused(machine: &mut Machine, _: &Path) -> Result<()> {
    for (from, to) in [
        ("/boot/apptest", "app"),
        ("/boot/test/apptest-flipped", "flipped"),
        ("/boot/test/apptest-untrusted", "untrusted"),
        ("/boot/test/apptest-unsigned", "unsigned"),
    ] {
        expect(machine, &format!("cp {from} /disk/{to}"), &[])?;
    }
    // The first check loads the verifier, which stays (as the loader's).
    expect(
        machine,
        "run /disk/app exit 7",
        &["[1] /disk/app: exited with 7"],
    )?;
    let before = heap_used(machine)?;
    for name in ["flipped", "untrusted", "unsigned"] {
        expect(
            machine,
            &format!("run /disk/{name} exit 7"),
            &[&format!("error: run: /disk/{name}: signature refused")],
        )?;
    }
    expect(
        machine,
        "run /disk/app exit 5",
        &["/disk/app: exited with 5"],
    )?;
    let listing = machine.run("mods")?;
    ensure!(
        !listing.contains("module ipc") && !listing.contains("module vm-image"),
        "the IPC or the image mapper stayed loaded: {listing:?}"
    );
    let after = heap_used(machine)?;
    ensure!(
        after == before,
        "the heap went from {before} to {after} bytes over refused and run applications"
    );
    power_off(machine)
}

/// The signature policy (`/sys/trust`): an image never signed is refused
/// from `/host` until the shell, which holds the policy's control, exempts
/// that directory (`trust allow /host`); it loads then, and is refused
/// again once the directory needs signatures again. `/boot` and `/` cannot
/// be changed.
fn trust_policy_exempts_a_directory(machine: &mut Machine, _: &Path) -> Result<()> {
    let everything_else =
        "images from anywhere else: need a signature by a key in /boot/trusted-keys";
    expect(
        machine,
        "trust",
        &[
            "images from /boot: load without a signature",
            everything_else,
            "this shell holds the control",
        ],
    )?;
    expect(
        machine,
        &format!("cp /boot/test/{OUTSIDE}-unsigned /host/{OUTSIDE}"),
        &[],
    )?;
    let never_signed = format!("loader: /host/{OUTSIDE}: the image was never signed");
    // The first refusal loads the verifier, which stays; the next changes
    // nothing.
    expect(machine, &format!("bind {OUTSIDE}"), &[&never_signed])?;
    refused(machine, OUTSIDE, &never_signed)?;
    expect(
        machine,
        "trust allow /host",
        &[
            "images from /host: load without a signature",
            everything_else,
        ],
    )?;
    expect(
        machine,
        &format!("bind {OUTSIDE}"),
        &[&format!("from /host/{OUTSIDE}")],
    )?;
    expect(machine, &format!("call {OUTSIDE}"), &["greeting #1"])?;
    expect(machine, &format!("release {OUTSIDE}"), &[])?;
    let listing = machine.run("trust require /host")?;
    ensure!(
        !listing.contains("images from /host"),
        "/host is still exempt: {listing:?}"
    );
    refused(machine, OUTSIDE, &never_signed)?;
    for directory in ["/boot", "/"] {
        expect(
            machine,
            &format!("trust require {directory}"),
            &[&format!("error: trust: {directory}: invalid argument")],
        )?;
    }
    power_off(machine)
}

/// Binding `name` prints `reason` and fails with "signature refused";
/// nothing is registered and the heap is unchanged.
fn refused(machine: &mut Machine, name: &str, reason: &str) -> Result<()> {
    let before = heap_used(machine)?;
    expect(
        machine,
        &format!("bind {name}"),
        &[reason, &format!("error: bind: /{name}: signature refused")],
    )?;
    let listing = machine.run("ls /")?;
    ensure!(
        !listing.contains(&format!("/{name}\n"))
            && !listing
                .lines()
                .any(|line| line.trim() == format!("/{name}")),
        "/{name} is registered after a refused load: {listing:?}"
    );
    let after = heap_used(machine)?;
    ensure!(
        after == before,
        "the heap went from {before} to {after} bytes used over a refused load of /{name}"
    );
    Ok(())
}
