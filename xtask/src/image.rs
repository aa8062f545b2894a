//! Building the boot image: the RomFS packed from `kernel/romfs/` and the
//! kernel ELF that embeds it.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, anyhow, bail};

use crate::components::{self, Component};

/// The kernel's target triple.
pub const TARGET: &str = "riscv64gc-unknown-none-elf";

/// Which cargo profile the kernel is built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// `dev`: unoptimized, with debug assertions.
    Debug,
    /// `release`: optimized for size, as the figures are measured.
    Release,
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.directory())
    }
}

impl Profile {
    /// The directory cargo writes this profile's artifacts to.
    fn directory(self) -> &'static str {
        match self {
            Profile::Debug => "debug",
            Profile::Release => "release",
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

/// What `build` made.
pub struct Built {
    /// The kernel ELF.
    pub kernel: PathBuf,
    /// The components in its boot RomFS.
    pub components: Vec<Component>,
}

/// Builds the components, packs the RomFS and builds the kernel.
pub fn build(profile: Profile) -> Result<Built> {
    ensure_target()?;
    let components = components::build(profile)?;
    let mut extra: Vec<(String, Vec<u8>)> = components
        .iter()
        .map(|component| (format!("/{}", component.name), component.image.clone()))
        .collect();
    extra.extend(
        components::broken(&components)?
            .into_iter()
            .map(|(name, bytes)| (format!("/test/{name}"), bytes)),
    );
    let romfs = output_directory()?.join("romfs.img");
    let files = pack_romfs(&workspace_root().join("kernel/romfs"), &extra, &romfs)?;
    println!("xtask: packed {files} files into {}", romfs.display());
    let kernel = build_kernel(profile, &romfs, &[])?;
    Ok(Built { kernel, components })
}

/// The minimal kernels (the seed's FIG. 1B): a name, and the cargo
/// arguments that select it. The full kernel is the default build.
pub const CONFIGURATIONS: &[(&str, &[&str])] = &[
    ("single-threaded", &["--no-default-features"]),
    (
        "multithreaded",
        &["--no-default-features", "--features", "threads"],
    ),
];

/// Builds the kernel with the RomFS at `romfs` and the cargo `features`
/// arguments; returns the ELF's path.
fn build_kernel(profile: Profile, romfs: &Path, features: &[&str]) -> Result<PathBuf> {
    println!(
        "xtask: building the kernel ({profile}{}{})",
        if features.is_empty() { "" } else { " " },
        features.join(" ")
    );
    let mut cargo = Command::new(cargo());
    cargo
        .current_dir(workspace_root())
        .args(["build", "--package", "kernel", "--target", TARGET])
        .args(features);
    if profile == Profile::Release {
        cargo.arg("--release");
    }
    let status = cargo
        .env("TESSERA_ROMFS", romfs)
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("building the kernel failed");
    }
    Ok(workspace_root()
        .join("target")
        .join(TARGET)
        .join(profile.directory())
        .join("kernel"))
}

/// Builds each minimal kernel (release) beside the full one, which must be
/// built first; returns each one's name and a copy of its ELF. The full
/// kernel is built again last, so `target/` ends as it was.
pub fn build_configurations() -> Result<Vec<(&'static str, PathBuf)>> {
    let romfs = output_directory()?.join("romfs.img");
    let mut kernels = Vec::new();
    for &(name, features) in CONFIGURATIONS {
        let elf = build_kernel(Profile::Release, &romfs, features)?;
        let copy = output_directory()?.join(format!("kernel-{name}"));
        fs::copy(&elf, &copy).with_context(|| format!("copying {}", elf.display()))?;
        kernels.push((name, copy));
    }
    build_kernel(Profile::Release, &romfs, &[])?;
    Ok(kernels)
}

/// Installs the kernel's target through rustup when it is missing.
fn ensure_target() -> Result<()> {
    let installed = Command::new("rustup")
        .current_dir(workspace_root())
        .args(["target", "list", "--installed"])
        .output();
    let Ok(installed) = installed else {
        // No rustup: the toolchain came some other way and must bring the target.
        return Ok(());
    };
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|line| line.trim() == TARGET)
    {
        return Ok(());
    }
    println!("xtask: installing the {TARGET} target with rustup");
    let status = Command::new("rustup")
        .current_dir(workspace_root())
        .args(["target", "add", TARGET])
        .status()
        .context("running rustup")?;
    if !status.success() {
        bail!("rustup could not install {TARGET}; try `rustup target add {TARGET}`");
    }
    Ok(())
}

/// Packs the directory tree `source` and the `extra` files (path, bytes)
/// into a RomFS image at `image`; returns the number of files.
pub fn pack_romfs(source: &Path, extra: &[(String, Vec<u8>)], image: &Path) -> Result<usize> {
    let mut builder = romfs::Builder::new();
    let mut files = add_tree(&mut builder, source, "")?;
    for (path, bytes) in extra {
        builder
            .add_file(path, bytes)
            .map_err(|error| anyhow!("{path}: {error}"))?;
        files += 1;
    }
    fs::write(image, builder.build()).with_context(|| format!("writing {}", image.display()))?;
    Ok(files)
}

/// Adds the contents of `directory` under the RomFS path `prefix`.
fn add_tree(builder: &mut romfs::Builder, directory: &Path, prefix: &str) -> Result<usize> {
    let mut entries = fs::read_dir(directory)
        .with_context(|| format!("reading {}", directory.display()))?
        .collect::<std::io::Result<Vec<_>>>()?;
    entries.sort_by_key(fs::DirEntry::file_name);
    let mut files = 0;
    for entry in entries {
        let name = entry.file_name();
        let name = name
            .to_str()
            .ok_or_else(|| anyhow!("{}: name is not UTF-8", entry.path().display()))?;
        let path = format!("{prefix}/{name}");
        let romfs_error = |error: romfs::Error| anyhow!("{}: {error}", entry.path().display());
        if entry.file_type()?.is_dir() {
            builder.add_dir(&path).map_err(romfs_error)?;
            files += add_tree(builder, &entry.path(), &path)?;
        } else {
            let data = fs::read(entry.path())
                .with_context(|| format!("reading {}", entry.path().display()))?;
            builder.add_file(&path, &data).map_err(romfs_error)?;
            files += 1;
        }
    }
    Ok(files)
}
