//! Building the components `system.toml` lists: cargo builds each Rust
//! crate for the kernel's target (clang each C one), the munger turns each
//! ELF into an image, and broken copies of them test the loader's checks.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, anyhow, bail};
use com::Guid;
use image::def::{self, ModuleDef};
use image::format::{IMPORT_MODULE_SIZE, header};
use image::{ExportTableSpec, ImageBuilder, ImportModuleSpec};

use crate::workspace::{Profile, TARGET, cargo, output_directory, workspace_root};
use crate::{keys, manifest};

/// A component image and the munger's figures for it.
pub struct Component {
    /// The module's name.
    pub name: String,
    /// Where it is bound, without the leading `/`: its image is
    /// `/boot/<path>`.
    pub path: String,
    /// The image's bytes.
    pub image: Vec<u8>,
    /// What the munger measured.
    pub report: munger::Report,
    /// The linked ELF it was munged from (its symbols, for profiles).
    pub elf: PathBuf,
    /// Its `.def` asks for the paged layout.
    pub paged: bool,
}

/// Builds and munges `listed` (from the manifest): the Rust crates, then
/// the C components; signs each image with the development key.
pub fn build(profile: Profile, listed: &[manifest::Component]) -> Result<Vec<Component>> {
    let (rust, c): (Vec<_>, Vec<_>) = listed.iter().partition(|component| component.is_rust());
    let mut defs = vec![read_def(&workspace_root().join("kernel/kernel.def"))?];
    for component in listed {
        defs.push(read_def(&def_path(component))?);
    }
    let mut components = build_rust(profile, &rust, &defs)?;
    components.extend(build_c(&c, &defs)?);
    let key = keys::development_key()?;
    for component in &mut components {
        key.sign(&mut component.image)
            .map_err(|error| anyhow!("signing {}: {error}", component.name))?;
    }
    Ok(components)
}

/// Compiles each C component with clang, links it with rust-lld as the
/// Rust ones are linked, and munges it.
/// `defs` are every listed module's, for resolving imports.
fn build_c(listed: &[&manifest::Component], defs: &[ModuleDef]) -> Result<Vec<Component>> {
    if listed.is_empty() {
        return Ok(Vec::new());
    }
    crate::qemu::ensure_package("clang", "clang")?;
    let names: Vec<&str> = listed
        .iter()
        .map(|component| component.name.as_str())
        .collect();
    println!("xtask: building the C components: {}", names.join(", "));
    let linker = rust_lld()?;
    let out = output_directory()?.join("c");
    fs::create_dir_all(&out)?;
    listed
        .iter()
        .map(|&component| {
            let name = &component.name;
            let source = workspace_root()
                .join(&component.directory)
                .join(format!("{}.c", component.stem()));
            let object = out.join(format!("{name}.o"));
            let elf = out.join(name);
            let include = workspace_root().join("include");
            run(Command::new("clang")
                .args([
                    "--target=riscv64-unknown-elf",
                    "-march=rv64gc",
                    "-mabi=lp64d",
                    "-mcmodel=medany",
                    "-mno-relax",
                ])
                .args([
                    "-ffreestanding",
                    "-fno-builtin",
                    "-nostdlib",
                    "-O2",
                    "-Wall",
                    "-Werror",
                    "-c",
                ])
                .arg("-I")
                .arg(&include)
                .arg(&source)
                .arg("-o")
                .arg(&object))
            .with_context(|| format!("compiling {}", source.display()))?;
            run(Command::new(&linker)
                .args([
                    "-flavor",
                    "gnu",
                    "--emit-relocs",
                    "--no-relax",
                    "--unresolved-symbols=ignore-all",
                ])
                .args([
                    "--entry=tessera_entry",
                    "--undefined=tessera_can_unload",
                    "--gc-sections",
                ])
                .arg(&object)
                .arg("-o")
                .arg(&elf))
            .with_context(|| format!("linking {name}"))?;
            let module = read_def(&def_path(component))?;
            let bytes = fs::read(&elf).with_context(|| format!("reading {}", elf.display()))?;
            let munged =
                munger::munge(&bytes, &module, defs).with_context(|| format!("munging {name}"))?;
            println!(
                "xtask: munged {name} (C): {} bytes loaded (ELF span {} bytes)",
                munged.report.memory_size, munged.report.elf_span
            );
            Ok(Component {
                name: name.clone(),
                path: component.path.clone(),
                image: munged.image,
                report: munged.report,
                elf,
                paged: module.paged,
            })
        })
        .collect()
}

/// Runs `command`, failing if it does.
fn run(command: &mut Command) -> Result<()> {
    if !command.status().context("starting it")?.success() {
        bail!("it failed");
    }
    Ok(())
}

/// The rust-lld that ships with the toolchain (the Rust components' linker).
fn rust_lld() -> Result<PathBuf> {
    let output = |arguments: &[&str]| -> Result<String> {
        let output = Command::new("rustc")
            .args(arguments)
            .output()
            .context("running rustc")?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let sysroot = output(&["--print", "sysroot"])?;
    let version = output(&["-vV"])?;
    let host = version
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .context("rustc names no host")?;
    let linker = PathBuf::from(sysroot.trim())
        .join("lib/rustlib")
        .join(host)
        .join("bin/rust-lld");
    if !linker.exists() {
        bail!(
            "{} is missing; `rustup component add rust-src` does not bring it, but a full toolchain does",
            linker.display()
        );
    }
    Ok(linker)
}

/// Builds and munges the Rust components `listed`; `defs` are every
/// listed module's, for resolving imports.
fn build_rust(
    profile: Profile,
    listed: &[&manifest::Component],
    defs: &[ModuleDef],
) -> Result<Vec<Component>> {
    let names: Vec<&str> = listed
        .iter()
        .map(|component| component.name.as_str())
        .collect();
    println!(
        "xtask: building the components ({profile}): {}",
        names.join(", ")
    );
    let mut command = Command::new(cargo());
    command
        .current_dir(workspace_root())
        .args(["build", "--target", TARGET]);
    for &component in listed {
        command.args(["--package", component.stem()]);
    }
    if profile == Profile::Release {
        command.arg("--release");
    }
    if !command.status().context("running cargo build")?.success() {
        bail!("building the components failed");
    }
    let elf_directory = workspace_root()
        .join("target")
        .join(TARGET)
        .join(profile.to_string());
    listed
        .iter()
        .map(|&component| {
            let name = &component.name;
            let elf_path = elf_directory.join(component.stem());
            let elf = fs::read(&elf_path).with_context(|| format!("reading {}", elf_path.display()))?;
            let module = read_def(&def_path(component))?;
            let munged = munger::munge(&elf, &module, defs).with_context(|| format!("munging {name}"))?;
            let report = munged.report;
            println!(
                "xtask: munged {name}: {} bytes loaded (ELF span {} bytes), {} relocations, {} imports, {} exports",
                report.memory_size, report.elf_span, report.relocations, report.imports, report.exports
            );
            Ok(Component {
                name: name.clone(),
                path: component.path.clone(),
                image: munged.image,
                report,
                elf: elf_path,
                paged: module.paged,
            })
        })
        .collect()
}

fn def_path(component: &manifest::Component) -> PathBuf {
    workspace_root()
        .join(&component.directory)
        .join(format!("{}.def", component.stem()))
}

fn read_def(path: &Path) -> Result<ModuleDef> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    def::parse(&text).map_err(|error| anyhow!("{}: {error}", path.display()))
}

/// Deliberately broken images, each failing one check of the loader:
/// `(name under /boot/<directory>, bytes)`; the import cycles among them
/// name each other as `<directory>/<name>`.
pub fn broken(components: &[Component], directory: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let image_of = |name: &str| {
        components
            .iter()
            .find(|component| component.name == name)
            .map(|component| component.image.clone())
    };
    let hello = image_of("hello").ok_or_else(|| anyhow!("the hello component is missing"))?;
    let greeter = image_of("greeter").ok_or_else(|| anyhow!("the greeter component is missing"))?;

    // Half the body, then the signature section: the reader finds the
    // section and then the content cut short.
    let section = hello.len() - image::format::signature::SIZE;
    let truncated = [&hello[..section / 2], &hello[section..]].concat();
    let mut bad_magic = hello.clone();
    bad_magic[..8].copy_from_slice(b"NOTANIMG");
    let mut bad_relocation = hello.clone();
    let relocations = field(&hello, header::RELOCATIONS);
    put(&mut bad_relocation, relocations, 0x00ff_fff0);

    let hello_import = import_module_record(&greeter, "hello")?;
    let mut unknown_table = greeter.clone();
    unknown_table[hello_import + 15] ^= 0xff;
    let mut missing_dependency = greeter.clone();
    let name_at = field(&greeter, header::STRINGS) + field(&greeter, hello_import + 16) + 4;
    missing_dependency[name_at] = b'p';

    // Asks for almost the most memory an image may: one instance fits in
    // the test machine's heap, a second does not.
    let mut huge = hello.clone();
    put(&mut huge, header::MEMORY_SIZE, HUGE_MEMORY_SIZE);

    let key = keys::development_key()?;
    let cycle = |name: &str, imported: &str| -> Result<(String, Vec<u8>)> {
        let mut image = importer(name, &[&format!("{directory}/{imported}")]);
        key.sign(&mut image)
            .map_err(|error| anyhow!("signing {name}: {error}"))?;
        Ok((name.to_owned(), image))
    };
    let mut images = vec![
        ("huge".into(), huge),
        cycle("cycle-a", "cycle-b")?,
        cycle("cycle-b", "cycle-a")?,
        cycle("ring-a", "ring-b")?,
        cycle("ring-b", "ring-c")?,
        cycle("ring-c", "ring-a")?,
        ("truncated".into(), truncated),
        ("bad-magic".into(), bad_magic),
        ("bad-relocation".into(), bad_relocation),
        ("unknown-table".into(), unknown_table),
        ("missing-dependency".into(), missing_dependency),
    ];
    images.extend(signature_test_images(&hello, &key)?);
    let apptest = image_of("apptest").ok_or_else(|| anyhow!("the apptest component is missing"))?;
    images.extend(refused_application_images(&apptest)?);
    images.push(("signed-4k".into(), signed_4k_image(&key)?));
    Ok(images)
}

/// An image of exactly 4 KiB signed with `key`: what the `signature
/// check` benchmark checks.
fn signed_4k_image(key: &signing::SigningKey) -> Result<Vec<u8>> {
    const SIZE: usize = 4096;
    let with_content = |size: usize| {
        let end = u32::try_from(size).unwrap_or(u32::MAX);
        ImageBuilder {
            name: "signed-4k".into(),
            content: vec![0x13; size],
            memory_size: end,
            text_size: end,
            read_only_end: end,
            align: 4,
            entry: 0,
            ..ImageBuilder::default()
        }
        .build()
    };
    let overhead = with_content(0).len();
    let mut image = (0..=SIZE - overhead)
        .rev()
        .map(with_content)
        .find(|image| image.len() == SIZE)
        .ok_or_else(|| anyhow!("no content makes a {SIZE}-byte image"))?;
    key.sign(&mut image)
        .map_err(|error| anyhow!("signing signed-4k: {error}"))?;
    Ok(image)
}

/// The module the signature tests load from outside `/boot`: hello's
/// code under its own name (so `/boot` has no image of that name).
pub const OUTSIDE_MODULE: &str = "outside";

/// For the signature tests, which copy them to `/disk` or `/host`:
/// hello renamed [`OUTSIDE_MODULE`] and signed, and copies of it each
/// refused for its own reason — a flipped bit, a key not trusted, a
/// signature section cut short, the unsigned format 1 — and one never
/// signed, which loads only from a directory the policy exempts.
fn signature_test_images(
    hello: &[u8],
    key: &signing::SigningKey,
) -> Result<Vec<(String, Vec<u8>)>> {
    let mut outside = renamed(hello, OUTSIDE_MODULE)?;
    let unsigned = outside.clone();
    key.sign(&mut outside)
        .map_err(|error| anyhow!("signing {OUTSIDE_MODULE}: {error}"))?;
    let mut flipped = outside.clone();
    flipped[field(&outside, header::CONTENT_OFFSET) + 5] ^= 0x10;
    let mut untrusted = outside.clone();
    signing::SigningKey::from_seed([0x55; 32])
        .sign(&mut untrusted)
        .map_err(|error| anyhow!("signing {OUTSIDE_MODULE}: {error}"))?;
    let cut = outside[..outside.len() - 20].to_vec();
    let mut old_format = outside[..outside.len() - image::format::signature::SIZE].to_vec();
    old_format[header::VERSION] = 1;
    let name = |suffix: &str| format!("{OUTSIDE_MODULE}{suffix}");
    Ok(vec![
        (name(""), outside),
        (name("-flipped"), flipped),
        (name("-untrusted"), untrusted),
        (name("-cut"), cut),
        (name("-v1"), old_format),
        (name("-unsigned"), unsigned),
    ])
}

/// For running an application from outside `/boot`, copies of apptest
/// (signed, as every component is) each refused for its own reason: a bit
/// of its code flipped after signing, a key not trusted, no signature
/// (the unsigned format 1).
fn refused_application_images(apptest: &[u8]) -> Result<Vec<(String, Vec<u8>)>> {
    let mut flipped = apptest.to_vec();
    flipped[field(apptest, header::CONTENT_OFFSET) + 5] ^= 0x10;
    let mut untrusted = apptest.to_vec();
    signing::SigningKey::from_seed([0x55; 32])
        .sign(&mut untrusted)
        .map_err(|error| anyhow!("signing apptest: {error}"))?;
    let mut unsigned = apptest[..apptest.len() - image::format::signature::SIZE].to_vec();
    unsigned[header::VERSION] = 1;
    Ok(vec![
        ("apptest-flipped".into(), flipped),
        ("apptest-untrusted".into(), untrusted),
        ("apptest-unsigned".into(), unsigned),
    ])
}

/// `image` rebuilt under the module name `name` (unsigned).
fn renamed(image: &[u8], name: &str) -> Result<Vec<u8>> {
    let parsed = image::Image::parse(image).map_err(|error| anyhow!("{error}"))?;
    let imports = parsed
        .import_modules()
        .map(|module| ImportModuleSpec {
            name: module.name.into(),
            uuid: module.uuid,
            symbols: (module.first_symbol..module.first_symbol + module.symbol_count)
                .filter_map(|index| parsed.import_symbol(index))
                .map(|symbol| (symbol.ordinal, symbol.name.into()))
                .collect(),
        })
        .collect();
    let exports = parsed
        .export_tables()
        .map(|table| ExportTableSpec {
            uuid: table.uuid,
            exports: table
                .entries()
                .map(|export| (export.ordinal, export.name.into(), export.offset))
                .collect(),
        })
        .collect();
    Ok(ImageBuilder {
        name: name.into(),
        content: parsed.content().to_vec(),
        memory_size: parsed.memory_size(),
        text_size: parsed.text_size(),
        read_only_end: parsed.read_only_end(),
        align: parsed.align(),
        entry: parsed.entry(),
        can_unload: parsed.can_unload(),
        relocations: parsed.relocations().collect(),
        imports,
        exports,
        paged: false,
    }
    .build())
}

/// The memory size of the `huge` test image.
pub const HUGE_MEMORY_SIZE: u32 = image::format::MAX_MEMORY_SIZE - (64 << 10);

/// The export table the import-cycle test images share.
const CYCLE_TABLE: Guid = Guid::from_u128(0x6c2f_0b1e_93a4_4d57_8e61_2a7c_5d09_b3f4);

/// A test image named `name` that imports one function from each of
/// `imports` (names below `/boot`) and exports one. Binding it never runs
/// its code: in the cycles the tests build, its imports fail first.
fn importer(name: &str, imports: &[&str]) -> Vec<u8> {
    const RET: u32 = 0x0000_8067;
    let function = String::from("function");
    ImageBuilder {
        name: name.into(),
        content: RET.to_le_bytes().to_vec(),
        memory_size: 4,
        text_size: 4,
        read_only_end: 4,
        align: 4,
        entry: 0,
        can_unload: None,
        relocations: Vec::new(),
        imports: imports
            .iter()
            .map(|module| ImportModuleSpec {
                name: (*module).into(),
                uuid: CYCLE_TABLE,
                symbols: vec![(1, function.clone())],
            })
            .collect(),
        exports: vec![ExportTableSpec {
            uuid: CYCLE_TABLE,
            exports: vec![(1, function.clone(), 0)],
        }],
        paged: false,
    }
    .build()
}

/// The file offset of `image`'s import-module record for `module`.
fn import_module_record(image: &[u8], module: &str) -> Result<usize> {
    let parsed = image::Image::parse(image).map_err(|error| anyhow!("{error}"))?;
    let index = parsed
        .import_modules()
        .position(|import| import.name == module)
        .ok_or_else(|| anyhow!("the image does not import {module}"))?;
    Ok(field(image, header::IMPORT_MODULES) + index * IMPORT_MODULE_SIZE)
}

fn field(image: &[u8], at: usize) -> usize {
    u32::from_le_bytes(image[at..at + 4].try_into().unwrap_or_default()) as usize
}

fn put(image: &mut [u8], at: usize, value: u32) {
    image[at..at + 4].copy_from_slice(&value.to_le_bytes());
}
