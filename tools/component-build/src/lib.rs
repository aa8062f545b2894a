//! Build-script support for Tessera components: link arguments derived from the component's `.def` file.
//!
//! A component's `build.rs` is one line, `component_build::link("hello.def")`.
//! It asks rust-lld for an ELF the munger can take apart:
//!
//! - `--emit-relocs`: keep every relocation, so the munger can move sections;
//! - `--no-relax`: keep every instruction the compiler emitted, so each
//!   relocation still describes the bytes it sits on;
//! - `--unresolved-symbols=ignore-all`: calls into other modules stay
//!   undefined, to become imports;
//! - the entry point and every exported symbol as roots, so `--gc-sections`
//!   keeps them.
//!
//! Depends on `image` (the `.def` parser); each crate under `components/`
//! uses it as a build dependency.

use std::path::Path;

/// The entry point every component defines (with `component::component!`).
const ENTRY: &str = "tessera_entry";
/// The unload check every component defines.
const CAN_UNLOAD: &str = "tessera_can_unload";

/// Prints the link arguments for the component described by `def` (a path
/// relative to the crate). Does nothing when building for the host.
pub fn link(def: &str) {
    println!("cargo:rerun-if-changed={def}");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("none") {
        return;
    }
    let text = std::fs::read_to_string(Path::new(def))
        .unwrap_or_else(|error| fail(&format!("reading {def}: {error}")));
    let module = image::def::parse(&text).unwrap_or_else(|error| fail(&format!("{def}: {error}")));
    for argument in [
        "--emit-relocs",
        "--no-relax",
        "--unresolved-symbols=ignore-all",
    ] {
        println!("cargo:rustc-link-arg-bins={argument}");
    }
    println!("cargo:rustc-link-arg-bins=--entry={ENTRY}");
    let exported = module
        .exports
        .iter()
        .flat_map(|table| table.symbols.iter().map(|export| export.name.as_str()));
    for symbol in exported.chain([CAN_UNLOAD]) {
        println!("cargo:rustc-link-arg-bins=--undefined={symbol}");
    }
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}
