//! `cargo xtask fuzz <target> [--time <seconds> | --runs <count>]`: runs one
//! coverage-guided fuzz target (`fuzz/`, cargo-fuzz on the nightly
//! toolchain) over a copy of its committed seed corpus, and reports how
//! many inputs it ran and the crashes it found. `cargo xtask fuzz-corpus`
//! writes the `load` target's seeds.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use image::{ImageBuilder, ImportModuleSpec, Relocation, RelocationKind};

use crate::components;
use crate::manifest::Manifest;
use crate::workspace::{Profile, output_directory, workspace_root};

/// The fuzz targets: the parsers of untrusted bytes, and the loader.
pub const TARGETS: &[&str] = &[
    "image",
    "romfs",
    "def",
    "load",
    "devicetree",
    "fat",
    "ninep",
    "signature",
    "marshal",
    "http",
    "frames",
    "ring",
];

/// The cargo-fuzz `cargo xtask` installs when it is missing.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// How long a run goes on.
#[derive(Clone, Copy, Debug)]
pub enum Budget {
    /// At most this many seconds.
    Seconds(u64),
    /// This many inputs.
    Runs(u64),
}

/// What a run did.
struct Outcome {
    /// Inputs executed.
    executions: u64,
    /// The inputs libFuzzer wrote out for crashes (a crash stops the run).
    crashes: Vec<PathBuf>,
}

/// Targets fuzzed with overflow checks off, as the product is built: `fat`
/// runs `lamfat`, which computes a corrupt directory entry's cluster
/// offset with a plain subtraction. Built as the product is, it wraps,
/// and the volume refuses the read it leads to (out of range); with
/// overflow checks on, the crate itself would stop the run there first.
/// Every other target keeps cargo-fuzz's overflow checks.
const AS_BUILT: &[&str] = &["fat"];

/// Runs every target whose test name (`fuzz_smoke_<target>`) contains
/// `filter` briefly, as `cargo xtask test` does; fails if the tools cannot
/// be had (a target that did not run never passes) or if any target finds
/// a crash.
pub fn smoke(seconds: u64, filter: &str) -> Result<()> {
    let selected: Vec<&str> = TARGETS
        .iter()
        .copied()
        .filter(|target| format!("fuzz_smoke_{target}").contains(filter))
        .collect();
    if selected.is_empty() {
        return Ok(());
    }
    ensure_tools()?;
    let mut crashed = Vec::new();
    for target in selected {
        let crashes = run_target(target, Budget::Seconds(seconds))?.crashes;
        let verdict = if crashes.is_empty() { "ok" } else { "FAILED" };
        println!("test fuzz_smoke_{target} ... {verdict}");
        if !crashes.is_empty() {
            crashed.push(target);
        }
    }
    if !crashed.is_empty() {
        bail!("fuzz targets found crashes: {}", crashed.join(", "));
    }
    Ok(())
}

/// Runs `target` within `budget`; fails if it finds a crash.
pub fn run(target: &str, budget: Budget) -> Result<()> {
    if !TARGETS.contains(&target) {
        bail!(
            "unknown fuzz target '{target}' (targets: {})",
            TARGETS.join(", ")
        );
    }
    ensure_tools()?;
    if !run_target(target, budget)?.crashes.is_empty() {
        bail!("fuzz target {target} found a crash");
    }
    Ok(())
}

/// Installs what fuzzing needs, or says what is missing.
fn ensure_tools() -> Result<()> {
    if !nightly_installed() {
        println!("xtask: installing the nightly toolchain (fuzzing needs it)");
        let installed = Command::new("rustup")
            .args(["toolchain", "install", "nightly", "--profile", "minimal"])
            .status()
            .is_ok_and(|status| status.success());
        if !installed || !nightly_installed() {
            bail!(
                "fuzzing needs the nightly toolchain, which is missing and could not be \
                 installed; run `rustup toolchain install nightly`"
            );
        }
    }
    let cargo_fuzz_present = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    if cargo_fuzz_present {
        return Ok(());
    }
    println!("xtask: installing cargo-fuzz {CARGO_FUZZ_VERSION}");
    let status = Command::new("cargo")
        .args(["install", "cargo-fuzz", "--locked", "--version"])
        .arg(CARGO_FUZZ_VERSION)
        .status()
        .context("running cargo install")?;
    if !status.success() {
        bail!(
            "fuzzing needs cargo-fuzz, which is missing and could not be installed; \
             run `cargo install cargo-fuzz --locked`"
        );
    }
    Ok(())
}

/// True when the nightly toolchain cargo-fuzz needs is installed.
fn nightly_installed() -> bool {
    Command::new("rustup")
        .args(["run", "nightly", "cargo", "--version"])
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Runs `target` over a copy of its seeds and prints what it did.
fn run_target(target: &str, budget: Budget) -> Result<Outcome> {
    let directory = output_directory()?.join("fuzz");
    let corpus = directory.join(target);
    copy_seeds(target, &corpus)?;
    let log_path = directory.join(format!("{target}.log"));
    let log =
        fs::File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
    let limit = match budget {
        Budget::Seconds(seconds) => format!("-max_total_time={seconds}"),
        Budget::Runs(runs) => format!("-runs={runs}"),
    };
    println!(
        "xtask: fuzzing {target} ({limit}; log in {})",
        log_path.display()
    );
    // One process on one core; libFuzzer writes its report to stderr.
    let mut command = Command::new("cargo");
    command
        .current_dir(workspace_root().join("fuzz"))
        .args(["+nightly", "fuzz", "run", target]);
    if AS_BUILT.contains(&target) {
        command.arg("--release");
    }
    let status = command
        .arg(&corpus)
        .args(["--", &limit, "-print_final_stats=1"])
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .context("running cargo fuzz")?;
    let text = fs::read_to_string(&log_path)?;
    let outcome = Outcome {
        executions: executions(&text).unwrap_or(0),
        crashes: crashes(&text),
    };
    let count = outcome.crashes.len();
    println!(
        "xtask: fuzz {target}: {} executions, {count} crash{}{}",
        outcome.executions,
        if count == 1 { "" } else { "es" },
        outcome
            .crashes
            .iter()
            .map(|path| format!(" {}", path.display()))
            .collect::<String>()
    );
    if !status.success() && count == 0 {
        bail!("fuzz target {target} did not run:\n{}", tail(&text, 40));
    }
    if count > 0 {
        println!("{}", tail(&text, 60));
    } else if executions(&text).is_none() {
        bail!("libFuzzer did not say how many inputs {target} ran");
    }
    Ok(outcome)
}

/// Copies the committed seeds of `target` into `corpus` (a run adds its
/// finds there, so the committed corpus stays a small set of seeds).
fn copy_seeds(target: &str, corpus: &Path) -> Result<()> {
    fs::create_dir_all(corpus).with_context(|| format!("creating {}", corpus.display()))?;
    let seeds = workspace_root().join("fuzz/corpus").join(target);
    for seed in fs::read_dir(&seeds).with_context(|| format!("reading {}", seeds.display()))? {
        let seed = seed?.path();
        let copy = corpus.join(seed.file_name().unwrap_or_default());
        fs::copy(&seed, &copy).with_context(|| format!("copying {}", seed.display()))?;
    }
    Ok(())
}

/// The inputs libFuzzer ran: its final statistics, else its `DONE` line.
fn executions(log: &str) -> Option<u64> {
    let stat = log.lines().rev().find_map(|line| {
        line.strip_prefix("stat::number_of_executed_units:")?
            .trim()
            .parse()
            .ok()
    });
    stat.or_else(|| {
        log.lines().rev().find_map(|line| {
            let (count, rest) = line.strip_prefix('#')?.split_once(char::is_whitespace)?;
            if rest.trim_start().starts_with("DONE") {
                count.parse().ok()
            } else {
                None
            }
        })
    })
}

/// The inputs libFuzzer wrote out for crashes, leaks, timeouts and running
/// out of memory (not the merely slow ones it also writes).
fn crashes(log: &str) -> Vec<PathBuf> {
    log.lines()
        .filter_map(|line| line.split_once("Test unit written to "))
        .map(|(_, path)| PathBuf::from(path.trim()))
        .filter(|path| {
            !path
                .file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("slow-unit-"))
        })
        .collect()
}

/// The last `count` lines of `text`.
fn tail(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

/// Where the `load` seeds put their module: in the kernel's heap.
const BASE: u64 = 0x8040_0000;
/// An import below the module, as the kernel's exports are.
const NEAR: i64 = -(1 << 20);
/// An import far beyond the ±2 GiB a direct call reaches.
const FAR: i64 = 1 << 36;

/// One `load` input (its layout is in `fuzz/fuzz_targets/load.rs`): flags
/// (bit 0: calls through slots; bits 1, 2: the first, second allocation
/// fails), the base, the import offsets from it, and the image.
fn load_input(flags: u8, base: u64, offsets: &[i64], image: &[u8]) -> Vec<u8> {
    let mut input = vec![flags];
    input.extend_from_slice(&base.to_le_bytes());
    input.push(u8::try_from(offsets.len()).unwrap_or(u8::MAX));
    for offset in offsets {
        input.extend_from_slice(&offset.to_le_bytes());
    }
    input.extend_from_slice(image);
    input
}

/// `cargo xtask fuzz-corpus`: writes `fuzz/corpus/load/` afresh, from the
/// real components (built here) and from crafted images that reach every
/// relocation kind, far imports and failed allocations.
pub fn write_load_corpus() -> Result<()> {
    let directory = workspace_root().join("fuzz/corpus/load");
    if directory.exists() {
        fs::remove_dir_all(&directory)
            .with_context(|| format!("removing {}", directory.display()))?;
    }
    fs::create_dir_all(&directory)?;
    let mut seeds = Vec::new();
    for component in components::build(Profile::Release, &Manifest::load()?.test_image())? {
        let variants: [(&str, u8, &[i64]); 4] = [
            ("near", 0, &[NEAR]),
            ("slots", 1, &[NEAR]),
            ("far", 0, &[FAR]),
            ("mixed", 0, &[NEAR, FAR]),
        ];
        for (variant, flags, offsets) in variants {
            let name = format!("{}-{variant}", component.name);
            seeds.push((name, load_input(flags, BASE, offsets, &component.image)));
        }
    }
    seeds.extend(crafted_seeds());
    for (name, bytes) in &seeds {
        let path = directory.join(name);
        fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    println!(
        "xtask: wrote {} seeds to {}",
        seeds.len(),
        directory.display()
    );
    Ok(())
}

/// Crafted `load` seeds, each named by what it reaches.
fn crafted_seeds() -> Vec<(String, Vec<u8>)> {
    let every_kind = every_kind_image();
    let calls = calls_image();
    let seed = |name: &str, image: &[u8], flags, base, offsets: &[i64]| {
        (name.to_owned(), load_input(flags, base, offsets, image))
    };
    vec![
        seed("every-kind-near", &every_kind, 0, BASE, &[NEAR]),
        seed("every-kind-slots", &every_kind, 1, BASE, &[NEAR]),
        // Calls fall back to slots, then the PC-relative address fails.
        seed("every-kind-far", &every_kind, 0, BASE, &[FAR]),
        // Only import 0's plain call is far: the fallback succeeds.
        seed(
            "every-kind-far-call",
            &every_kind,
            0,
            BASE,
            &[FAR, NEAR, NEAR],
        ),
        seed("every-kind-no-memory", &every_kind, 2, BASE, &[NEAR]),
        seed(
            "every-kind-no-slots-memory",
            &every_kind,
            4,
            BASE,
            &[FAR, NEAR, NEAR],
        ),
        seed("every-kind-top", &every_kind, 1, u64::MAX - 0xffff, &[NEAR]),
        // Imports below address 0 wrap to the top, still in reach.
        seed("every-kind-bottom", &every_kind, 0, 0, &[-0x1000]),
        seed("calls-near", &calls, 0, BASE, &[NEAR]),
        seed("calls-far", &calls, 0, BASE, &[FAR]),
        seed("calls-far-slots", &calls, 1, BASE, &[FAR, -FAR]),
    ]
}

/// `auipc ra, 0` / `jalr ra, 0(ra)`: a call the loader points at an import.
const CALL: [u32; 2] = [0x0000_0097, 0x0000_80e7];
/// `auipc a0, 0` / `addi a0, a0, 0` / `sd a1, 0(a0)`: an import's address.
const PCREL: [u32; 3] = [0x0000_0517, 0x0005_0513, 0x00b5_3023];
/// `ret`.
const RET: u32 = 0x0000_8067;

/// A module with every relocation kind over three imports from two
/// modules, whose memory does not end on a slot boundary.
fn every_kind_image() -> Vec<u8> {
    let code = [
        CALL[0], CALL[1], CALL[0], CALL[1], PCREL[0], PCREL[1], PCREL[2], RET,
    ];
    let relocation = |offset, kind, index, addend| Relocation {
        offset,
        kind,
        index,
        addend,
    };
    crafted_image(
        &code,
        &[0x40, 0],
        36,
        4,
        vec![
            relocation(0, RelocationKind::CallImport, 0, 0),
            relocation(8, RelocationKind::CallImport, 1, 8),
            relocation(16, RelocationKind::PcrelHi20Import, 2, 16),
            relocation(20, RelocationKind::PcrelLo12IImport, 2, 0),
            relocation(24, RelocationKind::PcrelLo12SImport, 2, 0),
            relocation(32, RelocationKind::Rebase64, 0, 0),
            relocation(40, RelocationKind::Abs64Import, 0, -8),
        ],
    )
}

/// A byte-aligned module that only calls its three imports.
fn calls_image() -> Vec<u8> {
    let code = [CALL[0], CALL[1], CALL[0], CALL[1], CALL[0], CALL[1], RET];
    let relocations = (0..3)
        .map(|index| Relocation {
            offset: index * 8,
            kind: RelocationKind::CallImport,
            index,
            addend: 0,
        })
        .collect();
    crafted_image(&code, &[], 3, 1, relocations)
}

/// An image of `code`, then `data`, then `zeroes` bytes of memory,
/// importing two symbols from `kernel` and one from `greeter`.
fn crafted_image(
    code: &[u32],
    data: &[u64],
    zeroes: u32,
    align: u32,
    relocations: Vec<Relocation>,
) -> Vec<u8> {
    let mut content: Vec<u8> = code.iter().flat_map(|word| word.to_le_bytes()).collect();
    content.extend(data.iter().flat_map(|word| word.to_le_bytes()));
    let size = u32::try_from(content.len()).unwrap_or(u32::MAX);
    let module = |name: &str, symbols: &[&str]| ImportModuleSpec {
        name: name.into(),
        symbols: (1..)
            .zip(symbols.iter().map(|&symbol| symbol.into()))
            .collect(),
        ..Default::default()
    };
    ImageBuilder {
        name: "crafted".into(),
        content,
        memory_size: size + zeroes,
        text_size: size,
        read_only_end: size,
        align,
        entry: 0,
        can_unload: None,
        relocations,
        imports: vec![
            module("kernel", &["first", "second"]),
            module("greeter", &["third"]),
        ],
        exports: Vec::new(),
        paged: false,
    }
    .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The end of a libFuzzer run that found a crash, as it writes it.
    const CRASHED: &str = "\
#65536\tpulse  cov: 410 ft: 1500 corp: 300/40Kb exec/s: 21845 rss: 90Mb
artifact_prefix='/w/fuzz/artifacts/load/'; Test unit written to /w/fuzz/artifacts/load/slow-unit-0a
==7== ERROR: libFuzzer: deadly signal
artifact_prefix='/w/fuzz/artifacts/load/'; Test unit written to /w/fuzz/artifacts/load/crash-9f
stat::number_of_executed_units: 70011
stat::average_exec_per_sec:     21000
";

    #[test]
    fn a_run_reports_its_executions_and_crashes_but_not_slow_inputs() {
        assert_eq!(executions(CRASHED), Some(70011));
        assert_eq!(
            crashes(CRASHED),
            [PathBuf::from("/w/fuzz/artifacts/load/crash-9f")]
        );
    }

    #[test]
    fn without_final_statistics_the_done_line_counts() {
        let log = "#4096\tpulse  cov: 1 ft: 1\n#10000000\tDONE   cov: 410 ft: 1500 corp: 300/40Kb\nDone 10000000 runs in 480 second(s)\n";
        assert_eq!(executions(log), Some(10_000_000));
        assert!(crashes(log).is_empty());
        assert_eq!(executions("INFO: Seed: 1\n#2\tINITED cov: 4\n"), None);
    }

    #[test]
    fn a_load_input_puts_the_header_before_the_image() {
        let input = load_input(5, 0x1122, &[-1], b"TSRIMAGE");
        assert_eq!(input[0], 5);
        assert_eq!(input[1..9], 0x1122u64.to_le_bytes());
        assert_eq!(input[9], 1);
        assert_eq!(input[10..18], [0xff; 8]);
        assert_eq!(&input[18..], b"TSRIMAGE");
    }
}
