//! Tessera's build driver: builds the boot image, boots it in QEMU, runs the tests and benchmarks.
//!
//! `cargo xtask <command>` (the alias lives in `.cargo/config.toml`):
//!
//! - `build [--release]`: packs the boot RomFS and builds the kernel;
//! - `run [--release]`: builds, then boots QEMU with the console on this terminal;
//! - `test`: the host unit tests, then the QEMU integration tests;
//! - `bench`: the figures (instructions and bytes), as a table and as JSON;
//! - `lint`: formatting and clippy, on the host and the kernel's target;
//! - `fuzz <target>`: a coverage-guided fuzz target (nightly, cargo-fuzz);
//! - `fuzz-corpus`: writes the `load` fuzz target's seeds.
//!
//! It installs what it needs: the RISC-V target through rustup and QEMU
//! through apt-get (when running as root). Depends on `romfs` (the packer),
//! `interfaces` (the prompt it waits for), `object` (ELF sizes) and `anyhow`.

mod bench;
mod components;
mod console;
mod figures;
mod fuzz;
mod image;
mod integration;
mod lint;
mod machine;
mod qemu;

use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

use image::Profile;

const USAGE: &str = "\
usage: cargo xtask <command> [--release]

commands:
  build   pack the boot RomFS and build the kernel
  run     build, then boot Tessera in QEMU with its console on this terminal
  test    run the host unit tests and the QEMU integration tests
  bench   measure instruction counts and image sizes (QEMU -icount shift=0)
  lint    check formatting and run clippy on every crate, host and target
  fuzz    `fuzz <target> [--time <s> | --runs <n>]`: run a fuzz target
          (image, romfs, def, load; needs nightly and cargo-fuzz, installed if missing)
  fuzz-corpus  write the load fuzz target's seeds (fuzz/corpus/load) from the components

--release builds the optimized kernel (test and bench always do).";

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
    let (command, options) = arguments
        .split_first()
        .map_or(("help", &[][..]), |(c, o)| (c.as_str(), o));
    let profile = match options {
        [] => Profile::Debug,
        [flag] if flag == "--release" => Profile::Release,
        _ => bail!("unexpected arguments {options:?}\n\n{USAGE}"),
    };
    match command {
        "build" => image::build(profile).map(drop),
        "run" => boot_interactively(profile),
        "test" => test(),
        "bench" => bench::run(),
        "lint" => lint::run(),
        "fuzz-corpus" => fuzz::write_load_corpus(),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown command '{other}'\n\n{USAGE}"),
    }
}

/// `cargo xtask run`.
fn boot_interactively(profile: Profile) -> Result<()> {
    let kernel = image::build(profile)?.kernel;
    qemu::ensure_installed()?;
    println!("xtask: booting Tessera in QEMU (type `poweroff`, or press Ctrl-A then X, to leave)");
    let status = console::run(&kernel)?;
    match status.code() {
        Some(0) => Ok(()),
        Some(code) => bail!(
            "QEMU exited with status {code} ({})",
            qemu::exit_meaning(code)
        ),
        None => bail!("QEMU was killed by a signal"),
    }
}

/// `cargo xtask test`.
fn test() -> Result<()> {
    println!("xtask: host unit tests");
    let status = Command::new(image::cargo())
        .current_dir(image::workspace_root())
        .arg("test")
        .status()
        .context("running cargo test")?;
    if !status.success() {
        bail!("host unit tests failed");
    }
    let kernel = image::build(Profile::Release)?.kernel;
    qemu::ensure_installed()?;
    let boot = integration::run_all(&kernel)?;
    integration::typed_ahead_script_runs_completely()?;
    integration::run_configurations(&image::build_configurations()?)?;
    // The fuzz targets run briefly, as a smoke test (nightly and cargo-fuzz
    // are installed if missing; without them the test fails).
    fuzz::smoke(10)?;
    let size = figures::KernelSize::of(&kernel)?;
    println!(
        "figure: boot: {boot} instructions from kernel entry to the shell (QEMU -icount shift=0)"
    );
    println!("figure: kernel image: {size}");
    Ok(())
}
