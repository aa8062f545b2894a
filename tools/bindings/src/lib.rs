//! Generates the declarations written once elsewhere: the kernel's exports for Rust and C from kernel.def, and the C vtables, IIDs and status codes from the object model's tables.
//!
//! Every generated file is committed, so a reader finds it in the tree;
//! `cargo run -p bindings` rewrites them, and this crate's test fails,
//! naming the file and that command, when one is stale. What comes from
//! where (see `docs/abi.md`):
//!
//! | generated file | from |
//! | --- | --- |
//! | `lib/com/src/kernel.rs` (the `extern "C"` block every module calls) | `kernel/kernel.def` |
//! | `include/tessera/kernel.h` (the C prototypes) | `kernel/kernel.def` |
//! | `include/tessera/interfaces.h` (C vtables, IIDs, record structs) | the `#[interface]` and `#[derive(Record)]` signature tables |
//! | `include/tessera/status.h` (the `TSR_…` status codes) | `com::Status::NAMED` |
//!
//! The kernel's own export table is not here: its build script generates it
//! from `kernel.def` and checks each function's signature against it.
//!
//! Depends on `image` (the `.def` parser), `com`, `interfaces` and
//! `private-interfaces` (the signature tables, read on the host); used by
//! nothing.

mod c_interfaces;
mod kernel_exports;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

pub use c_interfaces::{TEST_ONLY, names as header_interfaces};

/// The command that rewrites every generated file.
pub const REFRESH: &str = "cargo run -p bindings";

/// One generated file: where it lives and what it must hold.
pub struct GeneratedFile {
    /// Its path, relative to the workspace root.
    pub path: &'static str,
    /// Its full contents.
    pub contents: String,
}

/// The workspace root (this crate lives in `tools/bindings`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every generated file, built in memory from the sources in `root`.
pub fn generate(root: &Path) -> Result<Vec<GeneratedFile>> {
    let def_path = root.join(kernel_exports::KERNEL_DEF);
    let text = std::fs::read_to_string(&def_path)
        .with_context(|| format!("reading {}", def_path.display()))?;
    let kernel = image::def::parse(&text).context(kernel_exports::KERNEL_DEF)?;
    Ok(vec![
        GeneratedFile {
            path: "lib/com/src/kernel.rs",
            contents: kernel_exports::rust(&kernel)?,
        },
        GeneratedFile {
            path: "include/tessera/kernel.h",
            contents: kernel_exports::c(&kernel)?,
        },
        GeneratedFile {
            path: "include/tessera/interfaces.h",
            contents: c_interfaces::header(),
        },
        GeneratedFile {
            path: "include/tessera/status.h",
            contents: c_interfaces::status_header(),
        },
    ])
}
