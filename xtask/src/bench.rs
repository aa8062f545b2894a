//! `cargo xtask bench`: the figures, measured under QEMU `-icount shift=0`
//! (instructions, by the kernel's `bench` command) and from the images
//! (bytes), as a table and as JSON, each checked against its target.

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::disk;
use crate::doc_figures;
use crate::figures::{self, KernelSize};
use crate::image::{self, Image};
use crate::machine::{BOOT_TIMEOUT, Machine, STEP_TIMEOUT};
use crate::manifest::Manifest;
use crate::network_tests;
use crate::qemu;
use crate::workspace::{self, Profile};

/// The storage figures' `bench` output, on a machine with a FAT disk and
/// a shared directory, each holding a 1 MiB file: the loader's figures
/// stay measured on a heap no mount has churned.
fn storage_figures(kernel: &Path) -> Result<String> {
    let devices = qemu::Devices {
        disk: Some(disk::bench_disk()?),
        modern_virtio: false,
        share: Some(disk::bench_share()?),
        network: None,
        trace: None,
    };
    let (mut machine, _) = Machine::boot_with(kernel, &devices)?;
    let mut output = String::new();
    for figure in PER_KIB {
        output += &machine.run(&format!("bench {figure}"))?;
    }
    machine.send_line("poweroff")?;
    Ok(output)
}

/// The network figures' `bench` output, on their machine
/// ([`boot_network_machine`]).
fn network_figures(kernel: &Path) -> Result<String> {
    let (mut machine, sender) = boot_network_machine(kernel, None, BOOT_TIMEOUT)?;
    let mut output = String::new();
    for figure in NETWORK_FIGURES {
        output += &machine.run(&format!("bench {figure}"))?;
    }
    drop(sender);
    machine.send_line("poweroff")?;
    Ok(output)
}

/// Boots the machine the network figures are measured on (QEMU logging
/// its blocks to `trace` if given), allowing the boot `timeout`: a
/// network card whose guest port 7 the returned [`Sender`] on the host
/// connects to, again and again.
pub fn boot_network_machine(
    kernel: &Path,
    trace: Option<PathBuf>,
    timeout: Duration,
) -> Result<(Machine, Sender)> {
    let (mut devices, hosts) = network_tests::devices(network_tests::BENCH)?;
    devices.trace = trace;
    let forward = hosts
        .forwards
        .iter()
        .find(|forward| forward.guest == 7)
        .context("no forward to guest port 7")?;
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, forward.host));
    let (machine, _) = Machine::boot_within(kernel, &devices, timeout)?;
    Ok((machine, Sender::start(address)))
}

/// The network figures' sender on the host: once the guest sends a byte,
/// it sends 1 MiB and waits for the guest to close; it stops when
/// dropped.
pub struct Sender {
    done: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Sender {
    /// Starts sending to the guest's port at `address`.
    fn start(address: SocketAddr) -> Sender {
        let done = Arc::new(AtomicBool::new(false));
        let thread = {
            let done = done.clone();
            thread::spawn(move || send_mebibytes(address, &done))
        };
        Sender {
            done,
            thread: Some(thread),
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Sends 1 MiB to the guest's port at `address` each time the guest
/// asks (a byte), until `done`. A connection the guest refuses (nothing
/// listens yet) is tried again a little later.
fn send_mebibytes(address: SocketAddr, done: &AtomicBool) {
    let data = vec![0x5a_u8; 1 << 20];
    while !done.load(Ordering::Relaxed) {
        let sent = TcpStream::connect(address).and_then(|mut stream| {
            stream.set_read_timeout(Some(Duration::from_secs(60)))?;
            let mut go = [0u8];
            stream.read_exact(&mut go)?;
            stream.write_all(&data)?;
            stream.shutdown(Shutdown::Write)?;
            let mut rest = Vec::new();
            stream.read_to_end(&mut rest)
        });
        if sent.is_err() {
            thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The figures measured on the machine with the network card.
const CONNECTION_FIGURE: &str = "TCP connect + accept + close";
const RECEIVE_FIGURE: &str = "TCP receive";
const NETWORK_FIGURES: [&str; 2] = [CONNECTION_FIGURE, RECEIVE_FIGURE];

/// The figure of the disk's blocks.
const BLOCK_FIGURE: &str = "virtio-blk raw read";
/// The figure measured with the disk's volume mounted.
const FILE_SYSTEM_FIGURE: &str = "FAT sequential read";
/// The figure measured with the host's directory mounted.
const HOST_FIGURE: &str = "9P sequential read";
/// The figures that are instructions per KiB read.
const PER_KIB: [&str; 3] = [BLOCK_FIGURE, FILE_SYSTEM_FIGURE, HOST_FIGURE];

/// One measured figure.
struct Figure {
    name: String,
    value: u64,
    unit: &'static str,
}

/// A target a figure must meet: a description and whether it holds.
struct Target {
    description: String,
    met: bool,
}

/// Builds the release test image and the minimal kernels, measures every
/// figure and reports them.
pub fn run() -> Result<()> {
    let built = image::build(Profile::Release, Image::Test)?;
    qemu::ensure_installed()?;
    let (mut machine, banner) = Machine::boot(&built.kernel)?;
    let boot =
        figures::boot_instructions(&banner).context("the boot banner has no instruction count")?;
    let memory = machine.run("mem")?;
    let full_used = figures::field(&memory, "used=").context("no used=<bytes> from mem")?;
    // Without a disk or a shared directory, the storage figures are
    // skipped here: they are measured on a machine of their own.
    machine.send_line("bench")?;
    let mut output = machine
        .expect(interfaces::program::PROMPT, STEP_TIMEOUT * 4)
        .context("running `bench`")?;
    machine.send_line("poweroff")?;
    output += &storage_figures(&built.kernel)?;
    output += &network_figures(&built.kernel)?;

    let mut results = vec![figure("boot: kernel entry to shell", boot, "instructions")];
    results.extend(kernel_benchmarks(&output)?);
    let size = KernelSize::of(&built.kernel)?;
    results.extend([
        figure("kernel text (code + rodata)", size.text, "bytes"),
        figure("kernel data", size.data, "bytes"),
        figure("kernel bss", size.bss, "bytes"),
        figure("kernel boot stack", size.stack, "bytes"),
        figure("test image: boot RomFS", size.boot_romfs, "bytes"),
        figure("full kernel proper (code + data)", size.proper(), "bytes"),
    ]);
    let (loaded, spans) = built
        .components
        .iter()
        .fold((0, 0), |(loaded, spans), component| {
            (
                loaded + component.report.memory_size,
                spans + component.report.elf_span,
            )
        });
    results.push(figure("all components: loaded size", loaded, "bytes"));
    results.push(figure(
        "all components: page-aligned ELF spans",
        spans,
        "bytes",
    ));
    for component in &built.components {
        let name = &component.name;
        results.push(figure(
            &format!("{name}: loaded size"),
            component.report.memory_size,
            "bytes",
        ));
        results.push(figure(
            &format!("{name}: page-aligned ELF span"),
            component.report.elf_span,
            "bytes",
        ));
    }
    results.push(figure(
        "full kernel: heap in use at the prompt",
        full_used,
        "bytes",
    ));
    for (configuration, kernel) in image::build_configurations(&Manifest::load()?)? {
        let name = &configuration.name;
        let size = KernelSize::of(&kernel)?;
        let (mut machine, _) = Machine::boot(&kernel)?;
        machine.send_line("mem")?;
        let report = machine.expect(interfaces::program::PROMPT, STEP_TIMEOUT)?;
        machine.send_line("poweroff")?;
        let used = figures::field(&report, "used=").context("no used=<bytes> from mem")?;
        results.push(figure(&format!("{name} kernel: text"), size.text, "bytes"));
        results.push(figure(
            &format!("{name} kernel: data + bss"),
            size.data + size.bss,
            "bytes",
        ));
        results.push(figure(
            &format!("{name} kernel: heap in use at the prompt"),
            used,
            "bytes",
        ));
        results.push(figure(
            &format!("{name} kernel proper (code + data)"),
            size.proper(),
            "bytes",
        ));
    }
    print_table(&results);
    let json = workspace::output_directory()?.join("bench.json");
    fs::write(&json, to_json(&results)).with_context(|| format!("writing {}", json.display()))?;
    println!("\nxtask: wrote {}", json.display());
    let measured: Vec<(&str, u64)> = results
        .iter()
        .map(|figure| (figure.name.as_str(), figure.value))
        .collect();
    doc_figures::update(&workspace::workspace_root().join("docs"), &measured)?;
    check_targets(&results)
}

fn figure(name: &str, value: u64, unit: &'static str) -> Figure {
    Figure {
        name: name.to_owned(),
        value,
        unit,
    }
}

/// The `bench: <name>: <n> instructions` lines the kernel printed.
fn kernel_benchmarks(output: &str) -> Result<Vec<Figure>> {
    let figures: Vec<Figure> = output
        .lines()
        .filter_map(|line| line.trim().strip_prefix("bench: "))
        .filter_map(|rest| {
            let (name, value) = rest.rsplit_once(": ")?;
            let unit = if PER_KIB.contains(&name) || name == RECEIVE_FIGURE {
                "instructions/KiB"
            } else {
                "instructions"
            };
            Some(figure(
                name,
                value.strip_suffix(" instructions")?.parse().ok()?,
                unit,
            ))
        })
        .collect();
    if figures.is_empty() {
        bail!("the kernel printed no measurements:\n{output}");
    }
    Ok(figures)
}

/// Checks the targets; fails when one is missed.
fn check_targets(results: &[Figure]) -> Result<()> {
    let value = |name: &str| {
        results
            .iter()
            .find(|figure| figure.name == name)
            .map(|figure| figure.value)
    };
    let (
        Some(direct),
        Some(interface),
        Some(bind),
        Some(loaded),
        Some(span),
        Some(yield_one_way),
        Some(mutex),
    ) = (
        value("direct call"),
        value("interface call (vtable)"),
        value("bind of a registered name"),
        value("hello: loaded size"),
        value("hello: page-aligned ELF span"),
        value("yield to another ready thread (one way)"),
        value("mutex lock and unlock, uncontended"),
    )
    else {
        bail!("a figure the targets need is missing");
    };
    let (Some(local), Some(short_cut)) = (
        value("call within a module"),
        value("imported call, short-cut"),
    ) else {
        bail!("the call figures are missing");
    };
    let (Some(load), Some(unload)) = (
        value("demand-load and construct hello"),
        value("release and unload hello"),
    ) else {
        bail!("the loading figures are missing");
    };
    let (Some(raw_read), Some(fat_read)) = (value(BLOCK_FIGURE), value(FILE_SYSTEM_FIGURE)) else {
        bail!("the storage figures are missing");
    };
    let (Some(gated), Some(mutate_idle)) = (
        value("interface call through a mutation gate (vtable)"),
        value("MutateVtable, idle object"),
    ) else {
        bail!("the mutation figures are missing");
    };
    let (Some(zero_fill), Some(across), Some(vmm_load)) = (
        value("zero-fill page fault"),
        value("thread switch across spaces"),
        value("vmm load + first space + first mapping"),
    ) else {
        bail!("the virtual-memory figures are missing");
    };
    let Some(null_call) = value("cross-space null call") else {
        bail!("the cross-space call figures are missing");
    };
    let Some(tcp_receive) = value(RECEIVE_FIGURE) else {
        bail!("the network figures are missing");
    };
    let targets = [
        Target {
            description: format!("interface call {interface} <= direct call {direct} + 3"),
            met: interface <= direct + 3,
        },
        Target {
            description: format!("bind of a registered name {bind} <= 300"),
            met: bind <= 300,
        },
        Target {
            description: format!("hello loaded {loaded} bytes <= ELF span {span} / 4"),
            met: loaded * 4 <= span,
        },
        Target {
            description: format!("yield to another thread {yield_one_way} <= 150"),
            met: yield_one_way <= 150,
        },
        Target {
            description: format!("mutex lock + unlock {mutex} <= 30"),
            met: mutex <= 30,
        },
        Target {
            description: format!(
                "short-cut imported call {short_cut} == call within a module {local}"
            ),
            met: short_cut == local,
        },
        Target {
            description: format!(
                "call through a mutation gate {gated} <= interface call {interface} + 4"
            ),
            met: gated <= interface + 4,
        },
        Target {
            description: format!("MutateVtable on an idle object {mutate_idle} <= 1000"),
            met: mutate_idle <= 1000,
        },
        Target {
            description: format!("demand-load and construct hello {load} <= 20000"),
            met: load <= 20_000,
        },
        Target {
            description: format!("release and unload hello {unload} <= 5000"),
            met: unload <= 5_000,
        },
        Target {
            description: format!("zero-fill page fault {zero_fill} <= 1500"),
            met: zero_fill <= 1_500,
        },
        Target {
            description: format!(
                "thread switch across spaces {across} <= yield {yield_one_way} + 50"
            ),
            met: across <= yield_one_way + 50,
        },
        Target {
            description: format!("vmm load + first space + first mapping {vmm_load} <= 60000"),
            met: vmm_load <= 60_000,
        },
        Target {
            description: format!("cross-space null call {null_call} <= 600"),
            met: null_call <= 600,
        },
        Target {
            description: format!("virtio-blk raw read {raw_read} <= 400 instructions/KiB"),
            met: raw_read <= 400,
        },
        Target {
            description: format!("FAT sequential read {fat_read} <= 400 instructions/KiB"),
            met: fat_read <= 400,
        },
        Target {
            description: format!("TCP receive {tcp_receive} <= 2000 instructions/KiB"),
            met: tcp_receive <= 2_000,
        },
    ];
    println!();
    for target in &targets {
        println!(
            "target: {} ... {}",
            target.description,
            if target.met { "met" } else { "MISSED" }
        );
    }
    if targets.iter().any(|target| !target.met) {
        bail!("a benchmark target was missed");
    }
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
