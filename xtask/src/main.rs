//! Tessera's build driver: builds the boot image, boots it in QEMU, runs the tests and benchmarks.
//!
//! `cargo xtask <command>` (the alias lives in `.cargo/config.toml`):
//!
//! - `build [--release]`: builds the product image (`system.toml` says what it holds);
//! - `run [--release] [--disk PATH[:ro]] [--share DIR] [--forward HOST:GUEST]`: builds
//!   it, then boots QEMU with the console on this terminal, a disk (by default
//!   `target/tessera/disk.img`, a FAT image made on first use), with `--share DIR`
//!   a host directory over 9P, and a network card on QEMU's user network
//!   (`restrict=on`) with host ports 8480 and 8407 forwarded to guest ports 80
//!   and 7, and more with `--forward`, and an entropy device;
//! - `test [<filter>]`: the host unit tests, then the QEMU tests (the test
//!   image, the product image, the minimal kernels) in parallel, then the
//!   fuzz smoke; with a filter, only the tests whose names contain it;
//! - `bench`: the figures (instructions and bytes), as a table and as JSON;
//! - `profile [options] -- <command...>`: where a shell command's
//!   instructions go, by component, function and MMIO access (`profile.rs`);
//! - `lint`: `system.toml` against the workspace, formatting and clippy;
//! - `fuzz <target>`: a coverage-guided fuzz target (nightly, cargo-fuzz);
//! - `fuzz-corpus`: writes the `load` fuzz target's seeds;
//! - `keygen`: makes the development signing key if missing, and shows it;
//! - `sign PATH`: signs the component image at PATH with that key.
//!
//! It installs what it needs: the RISC-V target through rustup and QEMU
//! through apt-get (when running as root). Depends on `romfs` (the packer),
//! `interfaces` (the prompt it waits for), `object` (ELF sizes and
//! symbols), `munger` (a component's layout, for the profile),
//! `rustc-demangle` (the profile's function names), `toml` (the manifest)
//! and `anyhow`.

mod bench;
mod capture;
mod components;
mod console;
mod disk;
mod doc_figures;
mod figures;
mod fuzz;
mod image;
mod integration;
mod keys;
mod lint;
mod machine;
mod manifest;
mod network_tests;
mod process_tests;
mod profile;
mod qemu;
mod socket_tests;
mod status_page_tests;
mod storage_tests;
mod workspace;

use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

use image::Image;
use integration::{Boots, Kernels};
use manifest::Manifest;
use workspace::Profile;

const USAGE: &str = "\
usage: cargo xtask <command> [--release] [--test-image] [--disk PATH[:ro]] [--share DIR]
                            [--forward HOST:GUEST]

commands:
  build   build the product image (system.toml): its components, boot RomFS and kernel
  run     build, then boot the product image in QEMU with its console on this terminal
  test    `test [<filter>]`: the host unit tests, the QEMU tests (test image, product
          image, minimal kernels; in parallel) and the fuzz smoke; with a filter, only
          the tests whose names contain it
  bench   measure instruction counts and image sizes (QEMU -icount shift=0)
  profile `profile [--machine plain|network] [--runs N] [--top K] -- <command...>`:
          run a shell command on the bench's test image under a QEMU trace and
          show the instructions of its fastest measured run (between the
          benchmark meter's readings) by component, function and MMIO access;
          --machine network gives it the network figures' card and sender,
          --runs the runs measured (5), --top the functions listed (25)
  lint    check system.toml against the workspace, formatting, and clippy on every crate
  fuzz    `fuzz <target> [--time <s> | --runs <n>]`: run a fuzz target
          (image, signature, romfs, def, load, devicetree, fat, ninep, http, frames; needs nightly and cargo-fuzz, installed if missing)
  fuzz-corpus  write the load fuzz target's seeds (fuzz/corpus/load) from the components
  keygen  make the development signing key (target/signing/, first use) and show it
  sign    `sign PATH`: sign the component image at PATH with the development key

--release builds the optimized kernel (test and bench always do).
--test-image makes build and run use the test image: the product's components
and the test-only ones (`selftest`, `bench` at the shell) and broken images.
--disk PATH attaches a raw disk image to run as a virtio block device (PATH:ro
read-only); without it, run attaches target/tessera/disk.img, a FAT image it
makes on first use. --share DIR gives run the host directory DIR over 9P, which
the shell mounts at /host. run also gives the machine a network card on QEMU's
user network (restrict=on: the guest reaches nothing outside it) and an
entropy device (virtio-rng, which seeds the network stack), with host
127.0.0.1:8480 forwarded to guest port 80 and 127.0.0.1:8407 to port 7;
--forward HOST:GUEST forwards one more TCP port.";

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match run(&arguments) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(arguments: &[String]) -> Result<()> {
    if let [command, target, rest @ ..] = arguments
        && command == "fuzz"
    {
        let budget = match rest {
            [] => fuzz::Budget::Seconds(60),
            [flag, seconds] if flag == "--time" => {
                fuzz::Budget::Seconds(seconds.parse().context("--time takes whole seconds")?)
            }
            [flag, runs] if flag == "--runs" => {
                fuzz::Budget::Runs(runs.parse().context("--runs takes a count")?)
            }
            _ => bail!("usage: cargo xtask fuzz <target> [--time <seconds> | --runs <count>]"),
        };
        return fuzz::run(target, budget);
    }
    if let [command, path] = arguments
        && command == "sign"
    {
        return keys::sign_file(std::path::Path::new(path));
    }
    if let [command, rest @ ..] = arguments
        && command == "profile"
    {
        return profile::run(&profile::Options::parse(rest)?);
    }
    if let [command, rest @ ..] = arguments
        && command == "test"
    {
        return match rest {
            [] => test(""),
            [filter] if !filter.starts_with('-') => test(filter),
            _ => bail!("usage: cargo xtask test [<filter>]"),
        };
    }
    let (command, options) = arguments
        .split_first()
        .map_or(("help", &[][..]), |(c, o)| (c.as_str(), o));
    let mut profile = Profile::Debug;
    let mut image = Image::Product;
    let mut disk = None;
    let mut share = None;
    let mut forwards = qemu::DEFAULT_FORWARDS.to_vec();
    let mut options_left = options.iter();
    while let Some(option) = options_left.next() {
        match option.as_str() {
            "--release" => profile = Profile::Release,
            "--test-image" if matches!(command, "build" | "run") => image = Image::Test,
            "--disk" if command == "run" => {
                let path = options_left
                    .next()
                    .context("--disk takes PATH or PATH:ro")?;
                disk = Some(disk::Disk::parse(path)?);
            }
            "--share" if command == "run" => {
                let directory = options_left.next().context("--share takes a directory")?;
                let directory = std::path::PathBuf::from(directory);
                if !directory.is_dir() {
                    bail!("--share {}: no such directory", directory.display());
                }
                share = Some(directory);
            }
            "--forward" if command == "run" => {
                let forward = options_left.next().context("--forward takes HOST:GUEST")?;
                forwards.push(qemu::Forward::parse(forward)?);
            }
            _ => bail!("unexpected argument {option:?}\n\n{USAGE}"),
        }
    }
    if !options.is_empty() && !matches!(command, "build" | "run") {
        bail!("{command} takes no options\n\n{USAGE}");
    }
    match command {
        "build" => image::build(profile, image).map(drop),
        "run" => boot_interactively(profile, image, disk, share, forwards),
        "bench" => bench::run(),
        "lint" => lint::run(),
        "fuzz-corpus" => fuzz::write_load_corpus(),
        "keygen" => keys::keygen(),
        "sign" => bail!("usage: cargo xtask sign PATH"),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown command '{other}'\n\n{USAGE}"),
    }
}

/// The guest port the shell's `httpd` serves the status page on.
const STATUS_PAGE_PORT: u16 = 80;

/// `cargo xtask run`, with `disk` or the default disk, the host
/// directory `share` if given, and a network card with `forwards`.
fn boot_interactively(
    profile: Profile,
    image: Image,
    disk: Option<disk::Disk>,
    share: Option<std::path::PathBuf>,
    forwards: Vec<qemu::Forward>,
) -> Result<()> {
    let built = image::build(profile, image)?;
    let disk = match disk {
        Some(disk) => disk,
        None => disk::default_disk(&built.components)?,
    };
    qemu::ensure_installed()?;
    println!(
        "xtask: booting Tessera in QEMU with the disk {}{} (type `poweroff`, or press Ctrl-A then X, to leave)",
        disk.path.display(),
        if disk.read_only { ", read-only" } else { "" }
    );
    if let Some(directory) = &share {
        println!("xtask: sharing {} as /host", directory.display());
    }
    for forward in &forwards {
        println!(
            "xtask: host 127.0.0.1:{} reaches guest port {}",
            forward.host, forward.guest
        );
    }
    // Said once the shell is up, where the user sees it.
    let notice = forwards
        .iter()
        .find(|forward| forward.guest == STATUS_PAGE_PORT)
        .map(|forward| {
            format!(
                "type `httpd` to serve the status page at http://127.0.0.1:{}/",
                forward.host
            )
        });
    let devices = qemu::Devices {
        disk: Some(disk),
        modern_virtio: false,
        share,
        network: Some(qemu::Network {
            forwards,
            entropy: true,
            peer: None,
            capture: None,
        }),
        trace: None,
    };
    let status = console::run(&built.kernel, &devices, notice)?;
    match status.code() {
        Some(0) => Ok(()),
        Some(code) => bail!(
            "QEMU exited with status {code} ({})",
            qemu::exit_meaning(code)
        ),
        None => bail!("QEMU was killed by a signal"),
    }
}

/// `cargo xtask test [<filter>]`: every test whose name contains `filter`.
fn test(filter: &str) -> Result<()> {
    let manifest = Manifest::load()?;
    println!("xtask: host unit tests");
    let mut cargo_test = Command::new(workspace::cargo());
    cargo_test
        .current_dir(workspace::workspace_root())
        .arg("test");
    if !filter.is_empty() {
        cargo_test.arg(filter);
    }
    if !cargo_test.status().context("running cargo test")?.success() {
        bail!("host unit tests failed");
    }
    let selected = integration::select(integration::catalogue(&manifest), filter);
    let boots = |what: fn(Boots) -> bool| selected.iter().any(|test| what(test.boots));
    let mut kernels = Kernels::default();
    if boots(|boots| boots == Boots::TestImage) {
        kernels.test = Some(image::build(Profile::Release, Image::Test)?.kernel);
    }
    if boots(|boots| boots == Boots::ProductImage) {
        kernels.product = Some(image::build(Profile::Release, Image::Product)?.kernel);
    }
    if boots(|boots| matches!(boots, Boots::Minimal(_))) {
        kernels.minimal = image::build_configurations(&manifest)?
            .into_iter()
            .map(|(_, kernel)| kernel)
            .collect();
    }
    let boot_figure = if selected.is_empty() {
        None
    } else {
        qemu::ensure_installed()?;
        integration::run(selected, &kernels, &manifest)?
    };
    // The fuzz targets run briefly, as a smoke test (nightly and cargo-fuzz
    // are installed if missing; without them the test fails).
    fuzz::smoke(10, filter)?;
    if let Some(boot) = boot_figure {
        println!(
            "figure: boot: {boot} instructions from kernel entry to the shell (QEMU -icount shift=0)"
        );
    }
    if let Some(kernel) = &kernels.test {
        println!("figure: kernel image: {}", figures::KernelSize::of(kernel)?);
    }
    Ok(())
}
