//! What every build step shares: where the workspace and xtask's output
//! are, which cargo runs, the kernel's target and the build profile.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The kernel's target triple.
pub const TARGET: &str = "riscv64gc-unknown-none-elf";

/// Which cargo profile the kernel is built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// `dev`: unoptimized, with debug assertions.
    Debug,
    /// `release`: optimized for size, as the figures are measured.
    Release,
    /// `minimal`: `release` optimized harder for size (`opt-level = "z"`),
    /// for the minimal kernels, whose size is their point.
    Minimal,
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.directory())
    }
}

impl Profile {
    /// The directory cargo writes this profile's artifacts to.
    pub fn directory(self) -> &'static str {
        match self {
            Profile::Debug => "debug",
            Profile::Release => "release",
            Profile::Minimal => "minimal",
        }
    }

    /// The profile's name for cargo's `--profile`.
    pub fn cargo_name(self) -> &'static str {
        match self {
            Profile::Debug => "dev",
            Profile::Release => "release",
            Profile::Minimal => "minimal",
        }
    }
}

/// The repository's root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Where xtask writes what it makes (the RomFS image, bench results).
pub fn output_directory() -> Result<PathBuf> {
    let directory = workspace_root().join("target/tessera");
    fs::create_dir_all(&directory).with_context(|| format!("creating {}", directory.display()))?;
    Ok(directory)
}

/// The cargo that runs xtask (so the pinned toolchain builds the kernel too).
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}
