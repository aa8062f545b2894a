//! `munger`: the command line around the munger library.
//!
//! ```text
//! munger <component.elf> --def <module.def> [--import <exporter.def>]... -o <image>
//! ```

use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use image::def::{self, ModuleDef};

const USAGE: &str =
    "usage: munger <component.elf> --def <module.def> [--import <exporter.def>]... -o <image>";

struct Arguments {
    elf: PathBuf,
    def: PathBuf,
    imports: Vec<PathBuf>,
    output: PathBuf,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("munger: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let arguments = parse_arguments(std::env::args().skip(1))?;
    let elf =
        fs::read(&arguments.elf).with_context(|| format!("reading {}", arguments.elf.display()))?;
    let module = read_def(&arguments.def)?;
    let imported = arguments
        .imports
        .iter()
        .map(read_def)
        .collect::<Result<Vec<_>>>()?;
    let munged = munger::munge(&elf, &module, &imported)
        .with_context(|| format!("munging {} ({})", arguments.elf.display(), module.name))?;
    fs::write(&arguments.output, &munged.image)
        .with_context(|| format!("writing {}", arguments.output.display()))?;
    let report = munged.report;
    println!(
        "munger: {}: {} bytes loaded (ELF span {} bytes), image {} bytes, {} relocations, {} imports, {} exports",
        module.name,
        report.memory_size,
        report.elf_span,
        munged.image.len(),
        report.relocations,
        report.imports,
        report.exports
    );
    Ok(())
}

fn read_def(path: &PathBuf) -> Result<ModuleDef> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    def::parse(&text).map_err(|error| anyhow!("{}: {error}", path.display()))
}

fn parse_arguments(mut words: impl Iterator<Item = String>) -> Result<Arguments> {
    let (mut elf, mut def, mut output, mut imports) = (None, None, None, Vec::new());
    while let Some(word) = words.next() {
        let mut value = || {
            words
                .next()
                .map(PathBuf::from)
                .ok_or_else(|| anyhow!("{word} needs a value\n{USAGE}"))
        };
        match word.as_str() {
            "--def" => def = Some(value()?),
            "--import" => imports.push(value()?),
            "-o" => output = Some(value()?),
            flag if flag.starts_with('-') => bail!("unknown option {flag}\n{USAGE}"),
            _ if elf.is_none() => elf = Some(PathBuf::from(&word)),
            _ => bail!("more than one input ELF\n{USAGE}"),
        }
    }
    let missing = |what: &str| anyhow!("missing {what}\n{USAGE}");
    Ok(Arguments {
        elf: elf.ok_or_else(|| missing("the input ELF"))?,
        def: def.ok_or_else(|| missing("--def"))?,
        imports,
        output: output.ok_or_else(|| missing("-o"))?,
    })
}
