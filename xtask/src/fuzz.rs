//! `cargo xtask fuzz <target> [--time <seconds>]`: runs one coverage-guided
//! fuzz target (`fuzz/`, cargo-fuzz on the nightly toolchain) over a copy
//! of its committed seed corpus, and reports how many inputs it ran.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::image::{output_directory, workspace_root};

/// The fuzz targets, each a parser of untrusted bytes.
pub const TARGETS: &[&str] = &["image", "romfs", "def"];

/// True when the nightly toolchain cargo-fuzz needs is installed.
pub fn available() -> bool {
    Command::new("rustup")
        .args(["run", "nightly", "cargo", "--version"])
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Installs cargo-fuzz when it is missing.
fn ensure_cargo_fuzz() -> Result<()> {
    let present = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    if present {
        return Ok(());
    }
    println!("xtask: installing cargo-fuzz");
    let status = Command::new("cargo")
        .args(["install", "cargo-fuzz", "--locked"])
        .status()
        .context("running cargo install")?;
    if !status.success() {
        bail!("installing cargo-fuzz failed; try `cargo install cargo-fuzz`");
    }
    Ok(())
}

/// Runs every target for `seconds`, as `cargo xtask test` does: skipped
/// (saying why) where the toolchain for it cannot be had, failed if a
/// target finds a crash.
pub fn smoke(seconds: u64) -> Result<()> {
    if !available() {
        println!("xtask: fuzz targets skipped: the nightly toolchain is not installed");
        return Ok(());
    }
    if let Err(error) = ensure_cargo_fuzz() {
        println!("xtask: fuzz targets skipped: {error:#}");
        return Ok(());
    }
    TARGETS
        .iter()
        .try_for_each(|target| run(target, seconds).map(drop))
}

/// Runs `target` for `seconds`; returns the number of inputs it ran.
pub fn run(target: &str, seconds: u64) -> Result<u64> {
    if !TARGETS.contains(&target) {
        bail!(
            "unknown fuzz target '{target}' (targets: {})",
            TARGETS.join(", ")
        );
    }
    if !available() {
        bail!("fuzzing needs the nightly toolchain: `rustup toolchain install nightly`");
    }
    ensure_cargo_fuzz()?;
    // Work on a copy: the committed corpus stays a small set of seeds.
    let corpus = output_directory()?.join("fuzz").join(target);
    fs::create_dir_all(&corpus).with_context(|| format!("creating {}", corpus.display()))?;
    let seeds = workspace_root().join("fuzz/corpus").join(target);
    for seed in fs::read_dir(&seeds).with_context(|| format!("reading {}", seeds.display()))? {
        let seed = seed?.path();
        let copy: PathBuf = corpus.join(seed.file_name().unwrap_or_default());
        fs::copy(&seed, &copy).with_context(|| format!("copying {}", seed.display()))?;
    }
    println!("xtask: fuzzing {target} for {seconds} s");
    let output = Command::new("cargo")
        .current_dir(workspace_root().join("fuzz"))
        .args(["+nightly", "fuzz", "run", target])
        .arg(&corpus)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .output()
        .context("running cargo fuzz")?;
    let log = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!("fuzz target {target} failed:\n{log}");
    }
    let runs = log
        .lines()
        .find_map(|line| {
            line.strip_prefix("Done ")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .context("cargo fuzz did not say how many inputs it ran")?;
    println!("xtask: {target}: {runs} inputs, no crash");
    Ok(runs)
}
