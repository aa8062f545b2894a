//! Links the kernel with its layout, embeds the boot RomFS that
//! `cargo xtask` packed for the image it builds (product or test; its path
//! arrives in `TESSERA_ROMFS`; the minimal kernels carry none), names the
//! startup program (`TESSERA_STARTUP_PROGRAM`, from `system.toml`), and
//! turns `kernel.def` into the kernel's export tables.

use std::env;
use std::fmt::Write;
use std::path::PathBuf;

fn main() {
    let manifest =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let script = manifest.join("link.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    println!("cargo:rustc-link-arg-bins=-T{}", script.display());
    boot_romfs();
    startup_program();
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(
        out.join("export_tables.rs"),
        export_tables(&manifest.join("kernel.def")),
    )
    .unwrap_or_else(|error| fail(&format!("writing the export tables: {error}")));
}

/// Rust source for the tables `kernel.def` declares: each symbol must be a
/// function of `crate::exports` with the signature `kernel.def` gives it, so
/// a missing function or one whose signature differs fails the build.
fn export_tables(def: &std::path::Path) -> String {
    println!("cargo:rerun-if-changed={}", def.display());
    let text = std::fs::read_to_string(def)
        .unwrap_or_else(|error| fail(&format!("reading kernel.def: {error}")));
    let module =
        image::def::parse(&text).unwrap_or_else(|error| fail(&format!("kernel.def: {error}")));
    let mut checks = String::new();
    let mut source = String::from(
        "/// The export tables of `kernel.def`.\npub static TABLES: &[KernelTable] = &[\n",
    );
    for table in &module.exports {
        let _ = writeln!(
            source,
            "    KernelTable {{\n        uuid: com::Guid::from_u128({:#034x}),\n        exports: &[",
            table.uuid.to_u128()
        );
        for export in &table.symbols {
            let Some(signature) = &export.signature else {
                fail(&format!(
                    "kernel.def: {} declares no signature (`@ {} fn(...)`); every kernel export does",
                    export.name, export.ordinal
                ));
            };
            let _ = writeln!(
                checks,
                "const _: {} = crate::abi::exports::{};",
                signature.rust_fn_pointer(),
                export.name
            );
            let _ = writeln!(
                source,
                "            KernelExport {{ ordinal: {}, address: || crate::abi::exports::{} as *const () as usize }},",
                export.ordinal, export.name
            );
        }
        source.push_str("        ],\n    },\n");
    }
    source.push_str("];\n\n// Each export has the signature kernel.def declares.\n");
    source + &checks
}

/// Checks that a kernel with the loader was given its boot RomFS
/// (`TESSERA_ROMFS`), which `boot_image.rs` embeds; a minimal kernel, built
/// without the `loader` feature, carries none.
fn boot_romfs() {
    println!("cargo:rerun-if-env-changed=TESSERA_ROMFS");
    if env::var_os("CARGO_FEATURE_LOADER").is_none() {
        return;
    }
    if env::var("TESSERA_ROMFS")
        .map(|romfs| println!("cargo:rerun-if-changed={romfs}"))
        .is_err()
    {
        fail("TESSERA_ROMFS is not set; build the kernel with `cargo xtask build`");
    }
}

/// The namespace name the kernel starts as its startup program, from
/// `TESSERA_STARTUP_PROGRAM` (xtask sets it from `system.toml`); the kernel
/// reads it as `env!("TESSERA_STARTUP_PROGRAM")`.
fn startup_program() {
    println!("cargo:rerun-if-env-changed=TESSERA_STARTUP_PROGRAM");
    let Ok(name) = env::var("TESSERA_STARTUP_PROGRAM") else {
        fail("TESSERA_STARTUP_PROGRAM is not set; build the kernel with `cargo xtask build`");
    };
    if !name.starts_with('/') {
        fail(&format!(
            "TESSERA_STARTUP_PROGRAM must be an absolute namespace name, not {name:?}"
        ));
    }
    println!("cargo:rustc-env=TESSERA_STARTUP_PROGRAM={name}");
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}
