//! `cargo xtask lint`: formatting and clippy over every crate, host and target.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::image::{self, Profile, TARGET, cargo, workspace_root};

/// Crates that build only for the kernel's target.
const TARGET_CRATES: &[&str] = &["kernel", "component"];

/// Checks formatting, then runs clippy with warnings as errors on the host
/// crates and on the target crates (the kernel and every component).
pub fn run() -> Result<()> {
    step(
        "formatting",
        Command::new(cargo()).args(["fmt", "--all", "--check"]),
    )?;
    step(
        "clippy (host)",
        Command::new(cargo()).args(["clippy", "--all-targets", "--", "-D", "warnings"]),
    )?;
    // The kernel embeds the RomFS, so it needs one to exist.
    let built = image::build(Profile::Debug)?;
    let romfs = image::output_directory()?.join("romfs.img");
    let mut clippy = Command::new(cargo());
    clippy
        .args(["clippy", "--target", TARGET])
        .env("TESSERA_ROMFS", romfs);
    let rust_components = built
        .components
        .iter()
        .filter(|component| component.rust)
        .map(|component| component.name.as_str());
    for name in TARGET_CRATES.iter().copied().chain(rust_components) {
        clippy.args(["--package", name]);
    }
    step("clippy (target)", clippy.args(["--", "-D", "warnings"]))
}

fn step(what: &str, command: &mut Command) -> Result<()> {
    println!("xtask: {what}");
    let status = command
        .current_dir(workspace_root())
        .status()
        .with_context(|| format!("running {what}"))?;
    if !status.success() {
        bail!("{what} failed");
    }
    Ok(())
}
