//! `cargo xtask lint`: `system.toml` against the workspace, then formatting
//! and clippy over every crate, host and target, and over the kernel of
//! each minimal configuration.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::image;
use crate::manifest::{self, Manifest};
use crate::workspace::{TARGET, cargo, workspace_root};

/// Crates that build only for the kernel's target.
const TARGET_CRATES: &[&str] = &["kernel", "component"];

/// Checks that `system.toml` agrees with the workspace, checks formatting,
/// then runs clippy with warnings as errors on the host crates and on the
/// target crates (the kernel and every Rust component the manifest lists).
pub fn run() -> Result<()> {
    println!("xtask: {} against the workspace", manifest::FILE);
    manifest::check()?;
    step(
        "formatting",
        Command::new(cargo()).args(["fmt", "--all", "--check"]),
    )?;
    step(
        "clippy (host)",
        Command::new(cargo()).args(["clippy", "--all-targets", "--", "-D", "warnings"]),
    )?;
    let manifest = Manifest::load()?;
    let mut clippy = target_clippy(&manifest)?;
    let rust_components: Vec<String> = manifest
        .test_image()
        .into_iter()
        .filter(manifest::Component::is_rust)
        .map(|component| component.stem().to_owned())
        .collect();
    for name in TARGET_CRATES
        .iter()
        .copied()
        .chain(rust_components.iter().map(String::as_str))
    {
        clippy.args(["--package", name]);
    }
    step("clippy (target)", clippy.args(["--", "-D", "warnings"]))?;
    // Code only a minimal kernel compiles (its built-in startup program)
    // is checked in its own configuration.
    for configuration in &manifest.minimal {
        let mut clippy = target_clippy(&manifest)?;
        clippy.args(["--package", "kernel", "--no-default-features"]);
        if !configuration.features.is_empty() {
            clippy.args(["--features", &configuration.features.join(",")]);
        }
        step(
            &format!("clippy (the {} kernel)", configuration.name),
            clippy.args(["--", "-D", "warnings"]),
        )?;
    }
    Ok(())
}

/// Clippy for the kernel's target. The kernel embeds a RomFS, so one must
/// exist (any will do), and it is told its startup program's name.
fn target_clippy(manifest: &Manifest) -> Result<Command> {
    let mut clippy = Command::new(cargo());
    clippy
        .args(["clippy", "--target", TARGET])
        .env("TESSERA_ROMFS", image::empty_romfs()?)
        .env("TESSERA_STARTUP_PROGRAM", &manifest.startup);
    Ok(clippy)
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
