//! Building the system images `system.toml` describes: each one's boot
//! RomFS and the kernel ELF that embeds it; and the minimal kernels.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, anyhow, bail};

use crate::components::{self, Component};
use crate::keys;
use crate::manifest::{Configuration, Manifest};
use crate::workspace::{Profile, TARGET, cargo, output_directory, workspace_root};

/// The two system images `system.toml` describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Image {
    /// What `cargo xtask run` boots: the kernel and the boot components.
    Product,
    /// What the tests and benchmarks boot: the same kernel, the boot
    /// components, the test-only ones and the broken images.
    Test,
}

impl fmt::Display for Image {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Image::Product => "product",
            Image::Test => "test",
        })
    }
}

/// What `build` made.
pub struct Built {
    /// The kernel ELF (a copy under `target/tessera/`).
    pub kernel: PathBuf,
    /// The components in its boot RomFS.
    pub components: Vec<Component>,
}

/// Builds `image` as `system.toml` describes it: its components, its boot
/// RomFS, and the kernel that embeds it.
pub fn build(profile: Profile, image: Image) -> Result<Built> {
    ensure_target()?;
    let manifest = Manifest::load()?;
    let listed = match image {
        Image::Product => manifest.boot.clone(),
        Image::Test => manifest.test_image(),
    };
    let components = components::build(profile, &listed)?;
    let mut extra: Vec<(String, Vec<u8>)> = components
        .iter()
        .map(|component| (format!("/{}", component.path), component.image.clone()))
        .collect();
    if image == Image::Test {
        let directory = &manifest.broken_images;
        extra.extend(
            components::broken(&components, directory)?
                .into_iter()
                .map(|(name, bytes)| (format!("/{directory}/{name}"), bytes)),
        );
    }
    extra.push(keys::trust_file(&manifest)?);
    let romfs = output_directory()?.join(format!("romfs-{image}.img"));
    let files = pack_romfs(
        Some(&workspace_root().join(&manifest.boot_files)),
        &extra,
        &romfs,
    )?;
    println!("xtask: packed {files} files into {}", romfs.display());
    // The kernels of the two images differ only in their RomFS: each
    // builds in its own target directory, or each switch would rebuild it.
    let target_directory = match image {
        Image::Product => workspace_root().join("target"),
        Image::Test => side_target_directory()?,
    };
    let kernel = build_kernel(
        profile,
        Some(&romfs),
        &manifest.startup,
        &manifest.kernel_features,
        &image.to_string(),
        &target_directory,
    )?;
    Ok(Built { kernel, components })
}

/// The cargo target directory of the kernels other than the product's
/// (the minimal kernels differ in features, which cargo keeps apart).
fn side_target_directory() -> Result<PathBuf> {
    Ok(output_directory()?.join("build"))
}

/// Builds the kernel in `target_directory` with the RomFS at `romfs` (none
/// for a minimal kernel), the
/// startup program named `startup` and exactly the cargo `features`; returns a copy of the ELF named after
/// `name` under `target/tessera/`.
fn build_kernel(
    profile: Profile,
    romfs: Option<&Path>,
    startup: &str,
    features: &[String],
    name: &str,
    target_directory: &Path,
) -> Result<PathBuf> {
    println!("xtask: building the {name} kernel ({profile}, features: {features:?})");
    let mut cargo = Command::new(cargo());
    cargo
        .current_dir(workspace_root())
        .args(["build", "--package", "kernel", "--target", TARGET])
        .arg("--target-dir")
        .arg(target_directory)
        .arg("--no-default-features");
    if !features.is_empty() {
        cargo.args(["--features", &features.join(",")]);
    }
    if let Some(romfs) = romfs {
        cargo.env("TESSERA_ROMFS", romfs);
    }
    let status = cargo
        .args(["--profile", profile.cargo_name()])
        .env("TESSERA_STARTUP_PROGRAM", startup)
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("building the kernel failed");
    }
    let elf = target_directory
        .join(TARGET)
        .join(profile.directory())
        .join("kernel");
    let copy = output_directory()?.join(match profile {
        Profile::Release | Profile::Minimal => format!("kernel-{name}"),
        Profile::Debug => format!("kernel-{name}-debug"),
    });
    // Copied aside, then renamed: a QEMU starting on the old copy (as the
    // parallel tests do while the typed-ahead test builds) never sees half.
    let partial = copy.with_extension(format!("partial-{}", std::process::id()));
    fs::copy(&elf, &partial).with_context(|| format!("copying {}", elf.display()))?;
    fs::rename(&partial, &copy).with_context(|| format!("renaming to {}", copy.display()))?;
    Ok(copy)
}

/// Builds each minimal kernel (profile `minimal`: release at
/// `opt-level = "z"`); they carry no boot RomFS. Returns each
/// configuration and its kernel's ELF.
pub fn build_configurations(manifest: &Manifest) -> Result<Vec<(&Configuration, PathBuf)>> {
    ensure_target()?;
    let target_directory = side_target_directory()?;
    manifest
        .minimal
        .iter()
        .map(|configuration| {
            let kernel = build_kernel(
                Profile::Minimal,
                None,
                &manifest.startup,
                &configuration.features,
                &configuration.name,
                &target_directory,
            )?;
            Ok((configuration, kernel))
        })
        .collect()
}

/// An empty RomFS image, for checking the full kernel without packing an
/// image (`cargo xtask lint`); returns its path.
pub fn empty_romfs() -> Result<PathBuf> {
    let romfs = output_directory()?.join("romfs-empty.img");
    pack_romfs(None, &[], &romfs)?;
    Ok(romfs)
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

/// Packs the directory tree `source` (if any) and the `extra` files (path,
/// bytes) into a RomFS image at `image`, unless it already holds exactly
/// that (so cargo sees no change); returns the number of files.
pub fn pack_romfs(
    source: Option<&Path>,
    extra: &[(String, Vec<u8>)],
    image: &Path,
) -> Result<usize> {
    let mut builder = romfs::Builder::new();
    let mut files = match source {
        Some(source) => add_tree(&mut builder, source, "")?,
        None => 0,
    };
    for (path, bytes) in extra {
        builder
            .add_file(path, bytes)
            .map_err(|error| anyhow!("{path}: {error}"))?;
        files += 1;
    }
    let bytes = builder.build();
    if fs::read(image).ok().as_deref() != Some(&bytes[..]) {
        fs::write(image, bytes).with_context(|| format!("writing {}", image.display()))?;
    }
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
