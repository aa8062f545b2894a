//! `cargo xtask profile`: where the instructions of one shell command go.
//!
//! Boots the release test image (the one `cargo xtask bench` measures)
//! with QEMU logging every block it translates and runs
//! (`-d in_asm,exec,nochain`), runs the command, and weighs each block's
//! runs by its instructions. The trace is cut at each entry of the
//! benchmarks' meter (`IScheduler::instructions`, which every
//! `Meter::now()` calls); the last `2 × runs` cuts pair up as the start
//! and end of the measured runs, and the fastest run — the one the
//! bench reports — is shown by component, by function and by MMIO
//! access. Components are placed where the loader put them by finding
//! the code that ran in their ELFs ([`symbols`]).

mod symbols;
mod trace;

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::bench;
use crate::doc_figures::with_separators;
use crate::image::{self, Built, Image};
use crate::machine::Machine;
use crate::qemu::{self, Devices};
use crate::workspace::{Profile, output_directory};
use symbols::{Module, Symbol, Symbols};
use trace::{Executions, Trace};

/// The kernel function every reading of the benchmarks' meter enters:
/// `IScheduler::instructions`, through its vtable.
const MARKER: &str = "interfaces::scheduler::ISchedulerVtbl::build::instructions";
/// Where QEMU `virt`'s RAM starts, and the firmware with it.
const FIRMWARE: u64 = 0x8000_0000;
/// Runs each figure takes (the benchmarks' `RUNS`).
const DEFAULT_RUNS: usize = 5;
/// Functions listed.
const DEFAULT_TOP: usize = 25;
/// QEMU logging every block runs many times slower than without.
const TRACED_BOOT_TIMEOUT: Duration = Duration::from_secs(600);
const TRACED_COMMAND_TIMEOUT: Duration = Duration::from_secs(3600);

const USAGE: &str =
    "usage: cargo xtask profile [--machine plain|network] [--runs N] [--top K] -- <command...>";

/// Which machine the command runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Setup {
    /// No devices but the console (the kernel's figures).
    Plain,
    /// The network figures' machine, with the host's sender.
    Network,
}

/// What `cargo xtask profile` was asked.
#[derive(Debug, PartialEq, Eq)]
pub struct Options {
    setup: Setup,
    runs: usize,
    top: usize,
    command: String,
}

impl Options {
    /// Reads `[--machine M] [--runs N] [--top K] -- <command...>`.
    pub fn parse(arguments: &[String]) -> Result<Options> {
        let mut options = Options {
            setup: Setup::Plain,
            runs: DEFAULT_RUNS,
            top: DEFAULT_TOP,
            command: String::new(),
        };
        let mut left = arguments.iter();
        while let Some(argument) = left.next() {
            let mut value = || {
                left.next()
                    .with_context(|| format!("{argument} takes a value"))
            };
            match argument.as_str() {
                "--machine" => {
                    options.setup = match value()?.as_str() {
                        "plain" => Setup::Plain,
                        "network" => Setup::Network,
                        other => bail!("--machine {other}: expected plain or network"),
                    }
                }
                "--runs" => options.runs = count(argument, value()?)?,
                "--top" => options.top = count(argument, value()?)?,
                "--" => {
                    options.command = left.map(String::as_str).collect::<Vec<_>>().join(" ");
                    break;
                }
                other => bail!("unexpected argument {other:?}\n{USAGE}"),
            }
        }
        if options.command.is_empty() {
            bail!("no command to profile\n{USAGE}");
        }
        Ok(options)
    }
}

fn count(option: &str, text: &str) -> Result<usize> {
    text.parse::<usize>()
        .ok()
        .filter(|&count| count > 0)
        .with_context(|| format!("{option} takes a positive count, not {text:?}"))
}

/// Removes the trace when dropped, however the profile ends.
struct Removed(PathBuf);

impl Drop for Removed {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// `cargo xtask profile`.
pub fn run(options: &Options) -> Result<()> {
    let built = image::build(Profile::Release, Image::Test)?;
    qemu::ensure_installed()?;
    let (kernel_symbols, kernel_code) = symbols::kernel(&built.kernel)?;
    let marker = kernel_symbols
        .iter()
        .find(|symbol| symbol.name == MARKER)
        .with_context(|| format!("the kernel has no function {MARKER}"))?
        .start;
    let path = output_directory()?.join("profile.trace");
    let removed = Removed(path.clone());
    println!(
        "xtask: running `{}` with QEMU tracing to {}",
        options.command,
        path.display()
    );
    let output = record(&built.kernel, options, &path)?;
    print!("{output}");
    let size = fs::metadata(&path).map_or(0, |metadata| metadata.len());
    println!("xtask: reading the trace ({} MB)", size >> 20);
    let file = File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let trace = trace::parse(BufReader::new(file), marker)?;
    drop(removed);
    let window = fastest_run(&trace, options.runs)?;
    let symbols = place_components(&built, (kernel_symbols, kernel_code), &trace, &window)?;
    report(&trace, &window, &symbols, options.top);
    Ok(())
}

/// Boots the machine `options` asks for with QEMU tracing to `path`, runs
/// the command, powers off; returns what the command printed.
fn record(kernel: &Path, options: &Options, path: &Path) -> Result<String> {
    let trace = Some(path.to_owned());
    let (mut machine, sender) = match options.setup {
        Setup::Plain => {
            let devices = Devices {
                trace,
                ..Devices::default()
            };
            (
                Machine::boot_within(kernel, &devices, TRACED_BOOT_TIMEOUT)?.0,
                None,
            )
        }
        Setup::Network => {
            let (machine, sender) =
                bench::boot_network_machine(kernel, trace, TRACED_BOOT_TIMEOUT)?;
            (machine, Some(sender))
        }
    };
    let output = machine.run_within(&options.command, TRACED_COMMAND_TIMEOUT)?;
    drop(sender);
    machine.send_line("poweroff")?;
    // QEMU writes the end of its log as it exits.
    machine.wait_exit(TRACED_BOOT_TIMEOUT)?;
    Ok(output)
}

/// The measured runs and the fastest of them.
struct Window {
    /// (interval, instructions) of each run.
    runs: Vec<(usize, u64)>,
    /// The fastest run's interval.
    fastest: usize,
    /// The fastest of the `runs` windows before the runs, if the trace
    /// has them: where `Meter::measure` reads the meter twice with nothing
    /// between, the cost of a reading, which it subtracts.
    reading: Option<u64>,
}

/// The runs between the last `count` pairs of cuts, the fastest, and
/// the fastest of the `count` windows before them.
fn fastest_run(trace: &Trace, count: usize) -> Result<Window> {
    let cuts = trace.intervals.len() - 1;
    if cuts < 2 * count {
        bail!(
            "the meter was read {cuts} times; {count} measured runs need {} readings \
             (is the command a `bench`? see --runs)",
            2 * count
        );
    }
    let instructions = |interval: usize| trace.instructions(&trace.intervals[interval].runs);
    let runs: Vec<(usize, u64)> = (cuts + 1 - 2 * count..cuts)
        .step_by(2)
        .map(|interval| (interval, instructions(interval)))
        .collect();
    let fastest = runs
        .iter()
        .min_by_key(|&&(_, count)| count)
        .map_or(0, |&(interval, _)| interval);
    let reading = (cuts + 1)
        .checked_sub(4 * count)
        .filter(|&first| first > 0)
        .and_then(|first| {
            (first..cuts + 1 - 2 * count)
                .step_by(2)
                .map(instructions)
                .min()
        });
    Ok(Window {
        runs,
        fastest,
        reading,
    })
}

/// The kernel's symbols and those of every component found in the run's
/// code, at the place it was found.
fn place_components(
    built: &Built,
    (kernel, kernel_range): (Vec<Symbol>, (u64, u64, String)),
    trace: &Trace,
    window: &Window,
) -> Result<Symbols> {
    let kernel_code = kernel_range.0..kernel_range.1;
    let modules = built
        .components
        .iter()
        .map(|component| Module::read(&component.name, &component.elf, component.paged))
        .collect::<Result<Vec<_>>>()?;
    let outside = trace.intervals[window.fastest]
        .runs
        .keys()
        .map(|&block| &trace.blocks[block])
        .filter(|block| !kernel_code.contains(&block.pc));
    let mut all = kernel;
    // The firmware QEMU's `-bios default` loads at the start of RAM,
    // below the kernel: OpenSBI, which the kernel calls (`ecall`) to set
    // the timer.
    let firmware = (FIRMWARE, kernel_range.0, "firmware".into());
    let mut ranges = vec![kernel_range, firmware];
    let mut found = Vec::new();
    for (number, base) in symbols::load_addresses(&modules, outside) {
        let (symbols, range) = modules[number].at(base);
        all.extend(symbols);
        ranges.push(range);
        found.push(format!("{} at {base:#x}", modules[number].name));
    }
    println!(
        "components found in the code that ran: {}",
        found.join(", ")
    );
    Ok(Symbols::new(all, ranges))
}

/// Instructions by component, by function (with calls: runs of its
/// first instruction) and MMIO accesses, of the window's fastest run.
fn report(trace: &Trace, window: &Window, symbols: &Symbols, top: usize) {
    let runs: Vec<String> = window
        .runs
        .iter()
        .map(|&(interval, count)| {
            let mark = if interval == window.fastest {
                " (fastest)"
            } else {
                ""
            };
            format!("{}{mark}", with_separators(count))
        })
        .collect();
    println!(
        "measured runs (instructions between readings of the meter): {}",
        runs.join(", ")
    );
    let interval = &trace.intervals[window.fastest];
    let total = trace.instructions(&interval.runs);
    println!(
        "fastest run: {} instructions (the operation and one reading of the meter)",
        with_separators(total)
    );
    if let Some(reading) = window.reading {
        println!(
            "a figure of `Meter::measure` subtracts a reading (the fastest of the {} windows \
             before the runs, {}): {}",
            window.runs.len(),
            with_separators(reading),
            with_separators(total.saturating_sub(reading))
        );
    }
    let profile = Breakdown::of(trace, &interval.runs, symbols);
    print_table(
        "component",
        &profile.components,
        &HashMap::new(),
        total,
        usize::MAX,
    );
    print_table(
        "function (component)",
        &profile.functions,
        &profile.calls,
        total,
        top,
    );
    print_mmio(trace, &interval.mmio, symbols);
}

/// A run's instructions by component and by function.
struct Breakdown {
    components: HashMap<String, u64>,
    /// By "function (component)".
    functions: HashMap<String, u64>,
    /// Runs of each function's first instruction.
    calls: HashMap<String, u64>,
}

impl Breakdown {
    fn of(trace: &Trace, runs: &Executions, symbols: &Symbols) -> Breakdown {
        let mut profile = Breakdown {
            components: HashMap::new(),
            functions: HashMap::new(),
            calls: HashMap::new(),
        };
        for (&block, &count) in runs {
            let block = &trace.blocks[block];
            let instructions = block.pcs.len() as u64 * count;
            let (component, function) = symbols.lookup(block.pc);
            *profile.components.entry(component.into()).or_default() += instructions;
            let key = format!("{function} ({component})");
            *profile.functions.entry(key).or_default() += instructions;
            if let Some(entered) = symbols.starting_at(block.pc) {
                let key = format!("{} ({})", entered.name, entered.component);
                *profile.calls.entry(key).or_default() += count;
            }
        }
        profile
    }
}

/// The `top` largest of `counts`, with each one's share of `total` and,
/// where `calls` has it, its calls.
fn print_table(
    title: &str,
    counts: &HashMap<String, u64>,
    calls: &HashMap<String, u64>,
    total: u64,
    top: usize,
) {
    let mut rows: Vec<(&String, &u64)> = counts.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    rows.truncate(top);
    println!(
        "\n{:>12} {:>6} {:>7}  {title}",
        "instructions", "share", "calls"
    );
    for (name, &count) in rows {
        let share = count as f64 * 100.0 / total.max(1) as f64;
        let called = calls
            .get(name)
            .map_or(String::new(), |&n| with_separators(n));
        println!(
            "{:>12} {share:>5.1}% {called:>7}  {name}",
            with_separators(count)
        );
    }
}

/// Each MMIO access of the run: the instruction a block cut at an I/O
/// access ends with, and how often it ran.
fn print_mmio(trace: &Trace, mmio: &Executions, symbols: &Symbols) {
    let mut accesses: Vec<(u64, &trace::Block)> = mmio
        .iter()
        .map(|(&block, &count)| (count, &trace.blocks[block]))
        .collect();
    if accesses.is_empty() {
        return;
    }
    accesses.sort_by_key(|&(count, block)| (std::cmp::Reverse(count), block.pc));
    println!(
        "\n{:>12}  MMIO access (instruction, function, component)",
        "runs"
    );
    for (count, block) in accesses {
        let last = block.pcs.last().copied().unwrap_or(block.pc);
        let (component, function) = symbols.lookup(last);
        println!(
            "{:>12}  {last:#x} {}  {function} ({component})",
            with_separators(count),
            block.last
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arguments(text: &str) -> Vec<String> {
        text.split(' ').map(String::from).collect()
    }

    #[test]
    fn options_take_the_command_after_the_dashes() {
        let options = Options::parse(&arguments(
            "--machine network --runs 3 --top 10 -- bench TCP receive",
        ))
        .expect("the options parse");
        assert_eq!(
            options,
            Options {
                setup: Setup::Network,
                runs: 3,
                top: 10,
                command: "bench TCP receive".into(),
            }
        );
        assert!(Options::parse(&arguments("--runs 0 -- bench")).is_err());
        assert!(Options::parse(&arguments("--machine disk -- bench")).is_err());
        assert!(Options::parse(&arguments("--runs 3")).is_err());
    }

    /// A trace whose intervals ran one block of one instruction `counts`
    /// times each.
    fn trace_of(counts: &[u64]) -> Trace {
        Trace {
            blocks: vec![trace::Block {
                pcs: vec![0x8020_0000],
                ..trace::Block::default()
            }],
            intervals: counts
                .iter()
                .map(|&count| trace::Interval {
                    runs: Executions::from([(0, count)]),
                    ..trace::Interval::default()
                })
                .collect(),
        }
    }

    #[test]
    fn the_last_pairs_of_readings_are_the_runs() {
        // Before the first reading; two readings with nothing between,
        // twice (19 and 20); two runs (300 and 250); after the last.
        let trace = trace_of(&[5000, 20, 7, 19, 8, 300, 9, 250, 4000]);
        let window = fastest_run(&trace, 2).expect("two runs");
        assert_eq!(window.runs, [(5, 300), (7, 250)]);
        assert_eq!(window.fastest, 7);
        assert_eq!(window.reading, Some(19));
        let window = fastest_run(&trace, 3).expect("three runs");
        assert_eq!(window.runs, [(3, 19), (5, 300), (7, 250)]);
        assert_eq!(window.reading, None);
        assert!(fastest_run(&trace, 5).is_err());
    }
}
