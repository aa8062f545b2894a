//! Finding (or installing) QEMU and the command lines that boot Tessera in it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use interfaces::power::exit_code;

use crate::disk::Disk;

/// The emulator.
pub const QEMU: &str = "qemu-system-riscv64";
/// The Debian package that brings it (and OpenSBI for `-bios default`).
const PACKAGE: &str = "qemu-system-misc";

/// Makes sure QEMU is on the PATH, installing it with apt-get when running
/// as root; otherwise says exactly how to install it.
pub fn ensure_installed() -> Result<()> {
    ensure_package(QEMU, PACKAGE)
}

/// Makes sure `program` runs, installing Debian's `package` with apt-get
/// when running as root; otherwise says exactly how to install it.
pub fn ensure_package(program: &str, package: &str) -> Result<()> {
    if Command::new(program).arg("--version").output().is_ok() {
        return Ok(());
    }
    if !running_as_root() {
        bail!(
            "{program} is not installed; install it with:\n    sudo apt-get update && sudo apt-get install -y {package}"
        );
    }
    println!("xtask: {program} is missing; installing {package} with apt-get");
    for arguments in [
        &["update"][..],
        &["install", "-y", "--no-install-recommends", package][..],
    ] {
        let status = Command::new("apt-get")
            .args(arguments)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .context("running apt-get")?;
        if !status.success() {
            bail!("`apt-get {}` failed", arguments.join(" "));
        }
    }
    Command::new(program)
        .arg("--version")
        .output()
        .with_context(|| format!("{program} is still missing"))?;
    Ok(())
}

/// True when xtask may install packages itself.
pub fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// The machine every run uses. `-icount shift=0` makes one instruction one
/// nanosecond of guest time, so `rdinstret` is exact and runs repeat.
fn machine(kernel: &Path) -> Command {
    let mut qemu = Command::new(QEMU);
    qemu.args([
        "-machine", "virt", "-bios", "default", "-m", "128M", "-smp", "1",
    ])
    .args(["-icount", "shift=0", "-no-reboot", "-kernel"])
    .arg(kernel);
    qemu
}

/// The devices a machine has besides its console.
#[derive(Clone, Debug, Default)]
pub struct Devices {
    /// A disk, as a virtio block device.
    pub disk: Option<Disk>,
    /// Virtio devices use the modern virtio-mmio transport (version 2)
    /// instead of QEMU's default, the legacy one.
    pub modern_virtio: bool,
    /// A host directory, shared as QEMU's virtio 9P device (tag `host`).
    pub share: Option<PathBuf>,
    /// A network card on QEMU's user network, with ports forwarded.
    pub network: Option<Network>,
    /// A file QEMU logs every block it translates and every block it runs
    /// to (`-d in_asm,exec,nochain`), for `cargo xtask profile`.
    pub trace: Option<PathBuf>,
}

/// A virtio network card on QEMU's user network (the guest is 10.0.2.15,
/// the gateway 10.0.2.2), always `restrict=on`: the guest reaches only
/// QEMU's own user network and the forwarded ports, never an outside
/// address.
#[derive(Clone, Debug, Default)]
pub struct Network {
    /// TCP ports forwarded from the host's 127.0.0.1 to the guest.
    pub forwards: Vec<Forward>,
    /// A virtio entropy device (QEMU's built-in random source) comes
    /// with the card, to seed the network stack.
    pub entropy: bool,
    /// A port of the host's 127.0.0.1 that the guest reaches as
    /// [`PEER_ADDRESS`] port 7 (`guestfwd`: QEMU connects to it as it
    /// starts, so something must listen there first).
    pub peer: Option<u16>,
    /// A file QEMU writes every frame the card sends and receives to (a
    /// pcap capture, `filter-dump`), for a test to read.
    pub capture: Option<PathBuf>,
}

/// The address under which the guest reaches [`Network::peer`].
pub const PEER_ADDRESS: &str = "10.0.2.100";

/// A TCP port of the host's 127.0.0.1 forwarded to a port of the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Forward {
    /// The port on the host's 127.0.0.1.
    pub host: u16,
    /// The port on the guest.
    pub guest: u16,
}

/// What `cargo xtask run` forwards: the status page and the echo service.
pub const DEFAULT_FORWARDS: [Forward; 2] = [
    Forward {
        host: 8480,
        guest: 80,
    },
    Forward {
        host: 8407,
        guest: 7,
    },
];

impl Forward {
    /// `HOST:GUEST`, as `--forward` takes it.
    pub fn parse(text: &str) -> Result<Forward> {
        let (host, guest) = text
            .split_once(':')
            .with_context(|| format!("--forward {text}: expected HOST:GUEST"))?;
        let port = |text: &str| {
            text.parse::<u16>()
                .ok()
                .filter(|&port| port != 0)
                .with_context(|| format!("--forward: {text:?} is not a port"))
        };
        Ok(Forward {
            host: port(host)?,
            guest: port(guest)?,
        })
    }
}

impl Network {
    /// QEMU's options for the card, its user network and the entropy
    /// device.
    fn arguments(&self) -> Vec<OsString> {
        let mut netdev = String::from("user,id=n0,restrict=on");
        for forward in &self.forwards {
            netdev += &format!(",hostfwd=tcp:127.0.0.1:{}-:{}", forward.host, forward.guest);
        }
        if let Some(port) = self.peer {
            netdev += &format!(",guestfwd=tcp:{PEER_ADDRESS}:7-tcp:127.0.0.1:{port}");
        }
        let mut arguments: Vec<OsString> = vec![
            "-netdev".into(),
            netdev.into(),
            "-device".into(),
            "virtio-net-device,netdev=n0".into(),
        ];
        if self.entropy {
            arguments.extend(["-device".into(), "virtio-rng-device".into()]);
        }
        if let Some(file) = &self.capture {
            // QEMU's option syntax doubles a comma inside a value.
            let file = file.to_string_lossy().replace(',', ",,");
            arguments.extend([
                "-object".into(),
                format!("filter-dump,id=capture,netdev=n0,file={file}").into(),
            ]);
        }
        arguments
    }
}

impl Devices {
    /// QEMU's options for them.
    fn arguments(&self) -> Vec<OsString> {
        let mut arguments = Vec::new();
        if self.modern_virtio {
            arguments.extend(["-global".into(), "virtio-mmio.force-legacy=false".into()]);
        }
        if let Some(disk) = &self.disk {
            arguments.extend(disk.qemu_arguments());
        }
        if let Some(network) = &self.network {
            arguments.extend(network.arguments());
        }
        if let Some(directory) = &self.share {
            // QEMU's option syntax doubles a comma inside a value.
            let path = directory.to_string_lossy().replace(',', ",,");
            arguments.extend([
                "-fsdev".into(),
                format!("local,id=h0,path={path},security_model=none").into(),
                "-device".into(),
                "virtio-9p-device,fsdev=h0,mount_tag=host".into(),
            ]);
        }
        if let Some(file) = &self.trace {
            // `nochain`: every block's run is logged, not only the first
            // of a chain of blocks QEMU links together.
            arguments.extend(["-d".into(), "in_asm,exec,nochain".into(), "-D".into()]);
            arguments.push(file.into());
        }
        arguments
    }
}

/// QEMU with the console (and its monitor, behind Ctrl-A) on this terminal.
pub fn interactive(kernel: &Path, devices: &Devices) -> Command {
    let mut qemu = machine(kernel);
    qemu.arg("-nographic").args(devices.arguments());
    qemu
}

/// QEMU with the console on stdin/stdout and nothing else, for tests.
pub fn headless(kernel: &Path, devices: &Devices) -> Command {
    let mut qemu = machine(kernel);
    qemu.args(["-display", "none", "-serial", "stdio", "-monitor", "none"])
        .args(devices.arguments());
    qemu
}

/// What the kernel meant by exiting with `code`.
pub fn exit_meaning(code: i32) -> &'static str {
    match u32::try_from(code) {
        Ok(exit_code::SUCCESS) => "powered off",
        Ok(exit_code::PANIC) => "kernel panic",
        Ok(exit_code::EXCEPTION) => "kernel stopped on an exception",
        Ok(exit_code::BOOT_FAILURE) => "boot failed",
        _ => "exit code given to poweroff",
    }
}
