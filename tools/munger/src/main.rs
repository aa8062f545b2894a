//! `munger`: the command line around the munger library.
//!
//! ```text
//! munger <component.elf> --def <module.def> [--import <exporter.def>]... --key <key> -o <image>
//! ```
//!
//! `--key` names a signing key file (64 hex digits of seed, as `cargo xtask
//! keygen` writes): every image the munger writes is signed.

use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use image::def::{self, ModuleDef};

const USAGE: &str = "usage: munger <component.elf> --def <module.def> [--import <exporter.def>]... --key <key> -o <image>";

struct Arguments {
    elf: PathBuf,
    def: PathBuf,
    imports: Vec<PathBuf>,
    key: PathBuf,
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
    let mut munged = munger::munge(&elf, &module, &imported)
        .with_context(|| format!("munging {} ({})", arguments.elf.display(), module.name))?;
    read_key(&arguments.key)?
        .sign(&mut munged.image)
        .map_err(|error| anyhow!("signing {}: {error}", module.name))?;
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

fn read_key(path: &PathBuf) -> Result<signing::SigningKey> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    signing::SigningKey::from_hex(&text)
        .ok_or_else(|| anyhow!("{}: not a key (64 hex digits)", path.display()))
}

fn parse_arguments(mut words: impl Iterator<Item = String>) -> Result<Arguments> {
    let (mut elf, mut def, mut key, mut output, mut imports) = (None, None, None, None, Vec::new());
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
            "--key" => key = Some(value()?),
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
        key: key.ok_or_else(|| missing("--key"))?,
        output: output.ok_or_else(|| missing("-o"))?,
    })
}
