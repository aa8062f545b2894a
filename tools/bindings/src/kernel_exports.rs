//! The kernel's exports as components call them, from the typed entries
//! of `kernel/kernel.def`: a Rust `extern "C"` block and C prototypes.

use std::fmt::Write;

use anyhow::{Result, anyhow};
use image::def::{ExportDef, ExportTableDef, FnSignature, ModuleDef};

/// Where the kernel's exports are declared, relative to the workspace root.
pub const KERNEL_DEF: &str = "kernel/kernel.def";

/// `lib/com/src/kernel.rs`: one `unsafe extern "C"` block per export table.
pub fn rust(kernel: &ModuleDef) -> Result<String> {
    let mut out = format!(
        "//! The kernel's exports, as every module calls them.\n\
         //!\n\
         //! Generated from `{KERNEL_DEF}` by `{}`: edit that file, not this one.\n\
         //! A component's calls become import relocations that the loader binds;\n\
         //! the kernel's own calls (from `com`) link its functions directly.\n",
        crate::REFRESH
    );
    for table in &kernel.exports {
        let declarations: String = typed(table)?
            .into_iter()
            .map(|(export, signature)| {
                let doc = doc_comment(export, "    ///");
                format!("{doc}{}\n", rust_declaration(export, signature))
            })
            .collect();
        let _ = write!(
            out,
            "\n// Table {} of module `{}`.\nunsafe extern \"C\" {{\n{declarations}}}\n",
            table.uuid, kernel.name
        );
    }
    Ok(out)
}

/// `include/tessera/kernel.h`: the C prototypes, included by `tessera.h`.
pub fn c(kernel: &ModuleDef) -> Result<String> {
    let mut out = format!(
        "/*\n * The kernel's exports, for components written in C.\n *\n \
         * Generated from {KERNEL_DEF} by `{}`: edit that file, not this\n \
         * one. Included by tessera.h; include that.\n */\n\
         #ifndef TESSERA_KERNEL_H\n#define TESSERA_KERNEL_H\n",
        crate::REFRESH
    );
    for table in &kernel.exports {
        let prototypes: String = typed(table)?
            .into_iter()
            .map(|(export, signature)| {
                let doc = doc_comment(export, " *");
                format!("\n/*\n{doc} */\n{};\n", signature.c_prototype(&export.name))
            })
            .collect();
        let _ = write!(
            out,
            "\n/* Table {} of module {}. */\n{prototypes}",
            table.uuid, kernel.name
        );
    }
    out.push_str("\n#endif\n");
    Ok(out)
}

/// The declaration in an `extern` block, laid out as rustfmt would (one
/// parameter a line when a single line is over 100 columns), so that
/// `cargo fmt --check` accepts the generated file.
fn rust_declaration(export: &ExportDef, signature: &FnSignature) -> String {
    let safety = if signature.safe { "safe " } else { "" };
    let line = format!(
        "    pub {safety}fn {}{};",
        export.name,
        signature.rust_parameters()
    );
    if line.len() <= 100 {
        return line;
    }
    let mut out = format!("    pub {safety}fn {}(\n", export.name);
    for param in &signature.params {
        let _ = writeln!(out, "        {}: {},", param.name, param.ty.rust());
    }
    let returns = signature.returns.rust().map(|ty| format!(" -> {ty}"));
    let _ = write!(out, "    ){};", returns.unwrap_or_default());
    out
}

/// Each export of `table` with its signature; all must have one.
fn typed(table: &ExportTableDef) -> Result<Vec<(&ExportDef, &FnSignature)>> {
    table
        .symbols
        .iter()
        .map(|export| {
            export
                .signature
                .as_ref()
                .map(|signature| (export, signature))
                .ok_or_else(|| {
                    anyhow!(
                        "{KERNEL_DEF}: {} declares no signature; every kernel export does",
                        export.name
                    )
                })
        })
        .collect()
}

/// The export's documentation, ending with its ordinal: one line each,
/// after `prefix` (and a space, unless the line is empty).
fn doc_comment(export: &ExportDef, prefix: &str) -> String {
    let ordinal = format!("Ordinal {}.", export.ordinal);
    let mut lines: Vec<&str> = export.doc.lines().collect();
    if !lines.is_empty() {
        lines.push("");
    }
    lines.push(&ordinal);
    lines
        .iter()
        .map(|line| match *line {
            "" => format!("{prefix}\n"),
            line => format!("{prefix} {line}\n"),
        })
        .collect()
}
