//! `cargo xtask bench`: the figures, measured under QEMU `-icount shift=0`
//! (instructions) and from the ELF (bytes), as a table and as JSON.

use std::fs;

use anyhow::{Context, Result};

use crate::figures::{self, KernelSize};
use crate::image::{self, Profile};
use crate::machine::Machine;
use crate::qemu;

/// One measured figure.
struct Figure {
    name: &'static str,
    value: u64,
    unit: &'static str,
}

/// Builds the release kernel, measures every figure and reports them.
pub fn run() -> Result<()> {
    let built = image::build(Profile::Release)?;
    let kernel = built.kernel;
    qemu::ensure_installed()?;
    let (mut machine, banner) = Machine::boot(&kernel)?;
    let boot =
        figures::boot_instructions(&banner).context("the boot banner has no instruction count")?;
    machine.send_line("poweroff")?;
    let size = KernelSize::of(&kernel)?;
    let hello = built
        .components
        .iter()
        .find(|component| component.name == "hello")
        .context("the hello component is missing")?
        .report;
    let results = [
        Figure {
            name: "boot: kernel entry to shell",
            value: boot,
            unit: "instructions",
        },
        Figure {
            name: "kernel text (code + rodata)",
            value: size.text,
            unit: "bytes",
        },
        Figure {
            name: "kernel data",
            value: size.data,
            unit: "bytes",
        },
        Figure {
            name: "kernel bss",
            value: size.bss,
            unit: "bytes",
        },
        Figure {
            name: "kernel boot stack",
            value: size.stack,
            unit: "bytes",
        },
    ];
    print_table(&results);
    let json = image::output_directory()?.join("bench.json");
    fs::write(&json, to_json(&results)).with_context(|| format!("writing {}", json.display()))?;
    println!("\nxtask: wrote {}", json.display());
    Ok(())
}

fn print_table(results: &[Figure]) {
    let width = results
        .iter()
        .map(|figure| figure.name.len())
        .max()
        .unwrap_or(0);
    println!("\n{:width$}  {:>12}  unit", "figure", "value");
    for figure in results {
        println!(
            "{:width$}  {:>12}  {}",
            figure.name, figure.value, figure.unit
        );
    }
}

fn to_json(results: &[Figure]) -> String {
    let entries: Vec<String> = results
        .iter()
        .map(|figure| {
            format!(
                "  {{\"name\": \"{}\", \"value\": {}, \"unit\": \"{}\"}}",
                figure.name, figure.value, figure.unit
            )
        })
        .collect();
    format!("[\n{}\n]\n", entries.join(",\n"))
}
