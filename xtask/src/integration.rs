//! The QEMU integration tests: each boots a fresh machine (the test image,
//! the product image or a minimal kernel) and drives its shell through the
//! serial console. They run in parallel, up to one per core.

use std::num::NonZero;
use std::path::{Path, PathBuf};
use std::sync::mpsc::channel;
use std::sync::{Mutex, PoisonError};
use std::thread;

use anyhow::{Context, Result, bail, ensure};

use crate::figures;
use crate::machine::{Machine, SELFTEST_TIMEOUT, STEP_TIMEOUT};
use crate::manifest::Manifest;
use crate::network_tests::{self, NetworkTest};
use crate::process_tests;
use crate::status_page_tests;
use crate::storage_tests::{self, DiskTest};

/// One test: gets a machine sitting at its first prompt and the boot output.
type Test = fn(&mut Machine, &str) -> Result<()>;

const TESTS: &[(&str, Test)] = &[
    ("boots_to_prompt", boots_to_prompt),
    ("ls_root_shows_boot", ls_root_shows_boot),
    ("cat_prints_a_romfs_file", cat_prints_a_romfs_file),
    (
        "errors_are_reported_and_the_shell_goes_on",
        errors_are_reported_and_the_shell_goes_on,
    ),
    (
        "line_editing_handles_backspace",
        line_editing_handles_backspace,
    ),
    (
        "mem_reports_used_bytes_and_nothing_leaks",
        mem_reports_used_bytes_and_nothing_leaks,
    ),
    (
        "bind_loads_hello_and_release_unloads_it",
        bind_loads_hello_and_release_unloads_it,
    ),
    (
        "greeter_pulls_in_its_imports_and_all_unload_together",
        greeter_pulls_in_its_imports_and_all_unload_together,
    ),
    (
        "broken_images_each_give_their_own_error",
        broken_images_each_give_their_own_error,
    ),
    (
        "import_cycles_fail_at_once_and_leave_nothing",
        import_cycles_fail_at_once_and_leave_nothing,
    ),
    (
        "out_of_memory_in_a_load_is_reported_and_loses_nothing",
        out_of_memory_in_a_load_is_reported_and_loses_nothing,
    ),
    (
        "unloading_follows_the_last_release_without_waiting_for_input",
        unloading_follows_the_last_release_without_waiting_for_input,
    ),
    (
        "keep_flag_keeps_a_module_cached",
        keep_flag_keeps_a_module_cached,
    ),
    (
        "an_image_loads_twice_as_separate_instances",
        an_image_loads_twice_as_separate_instances,
    ),
    (
        "bind_release_cycles_leave_the_heap_where_it_started",
        bind_release_cycles_leave_the_heap_where_it_started,
    ),
    ("ps_lists_the_threads", ps_lists_the_threads),
    ("thread_selftests_pass", thread_selftests_pass),
    (
        "scheduling_policies_switch_live",
        scheduling_policies_switch_live,
    ),
    (
        "sym_finds_exports_by_name_and_ordinal",
        sym_finds_exports_by_name_and_ordinal,
    ),
    (
        "calls_between_modules_work_short_cut_or_through_slots",
        calls_between_modules_work_short_cut_or_through_slots,
    ),
    (
        "a_c_component_calls_and_is_called_by_rust",
        a_c_component_calls_and_is_called_by_rust,
    ),
    (
        "calls_are_traced_until_untrace",
        calls_are_traced_until_untrace,
    ),
    (
        "a_component_upgrades_live_and_the_old_version_unloads",
        a_component_upgrades_live_and_the_old_version_unloads,
    ),
    (
        "the_uart_driver_takes_the_console_over",
        the_uart_driver_takes_the_console_over,
    ),
    (
        "vm_loads_the_manager_and_it_unloads_with_the_heap_back",
        vm_loads_the_manager_and_it_unloads_with_the_heap_back,
    ),
    (
        "a_fault_in_the_kernel_is_reported_and_stops_it",
        a_fault_in_the_kernel_is_reported_and_stops_it,
    ),
    (
        "poweroff_exits_qemu_with_status_0",
        poweroff_exits_qemu_with_status_0,
    ),
];

/// The script of `typed_ahead_script_runs_completely`: typed, or piped,
/// before the system is up. The first command's first byte is the one
/// the firmware used to swallow.
const TYPED_AHEAD: &str = "ls /\nmem\nbind hello\nrelease hello\nmods\nmem\n";
/// Typed once the system has waited a while for input: its bytes come as
/// console interrupts taken by the idle thread.
const TYPED_LATER: &str = "ps\npoweroff\n";
/// How long the typist pauses before typing again.
const TYPING_PAUSE: std::time::Duration = std::time::Duration::from_secs(2);

/// What a QEMU test boots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Boots {
    /// The test image.
    TestImage,
    /// The product image.
    ProductImage,
    /// The minimal kernel of the manifest's configuration at this index.
    Minimal(usize),
}

/// One QEMU test: its name, what it boots, and what it does.
pub struct QemuTest {
    /// Its name, which `cargo xtask test <filter>` matches.
    pub name: String,
    /// What it boots.
    pub boots: Boots,
    body: Body,
}

#[derive(Clone, Copy)]
enum Body {
    /// Drives the shell of a machine sitting at its first prompt.
    Shell(Test),
    /// `product_image_holds_only_the_boot_components`.
    ProductListing,
    /// `typed_ahead_script_runs_completely`.
    TypedAhead,
    /// `minimal_kernel_<name>`, on a kernel with threads or without.
    Minimal { threads: bool },
    /// A storage test, on a machine with a fresh disk of its own.
    Disk(storage_tests::Setup, DiskTest),
    /// A network test, on a machine with a network card of its own.
    Network(network_tests::Setup, NetworkTest),
}

/// The tests whose names contain `filter` (all of them for "").
pub fn select(tests: Vec<QemuTest>, filter: &str) -> Vec<QemuTest> {
    tests
        .into_iter()
        .filter(|test| test.name.contains(filter))
        .collect()
}

/// The kernels the selected tests boot (release builds).
#[derive(Default)]
pub struct Kernels {
    /// The test image's kernel.
    pub test: Option<PathBuf>,
    /// The product image's kernel.
    pub product: Option<PathBuf>,
    /// Each minimal configuration's kernel, in the manifest's order.
    pub minimal: Vec<PathBuf>,
}

/// Every QEMU test, in the order they start.
pub fn catalogue(manifest: &Manifest) -> Vec<QemuTest> {
    // The slowest first, so the run ends when the rest end.
    let mut tests = vec![
        QemuTest {
            name: "typed_ahead_script_runs_completely".into(),
            boots: Boots::ProductImage,
            body: Body::TypedAhead,
        },
        QemuTest {
            name: "product_image_holds_only_the_boot_components".into(),
            boots: Boots::ProductImage,
            body: Body::ProductListing,
        },
    ];
    tests.extend(TESTS.iter().map(|&(name, test)| QemuTest {
        name: name.into(),
        boots: Boots::TestImage,
        body: Body::Shell(test),
    }));
    tests.extend(process_tests::TESTS.iter().map(|&(name, test)| QemuTest {
        name: name.into(),
        boots: Boots::TestImage,
        body: Body::Shell(test),
    }));
    tests.extend(
        storage_tests::TESTS
            .iter()
            .map(|&(name, setup, test)| QemuTest {
                name: name.into(),
                boots: Boots::TestImage,
                body: Body::Disk(setup, test),
            }),
    );
    tests.extend(
        network_tests::TESTS
            .iter()
            .map(|&(name, setup, test)| QemuTest {
                name: name.into(),
                boots: Boots::TestImage,
                body: Body::Network(setup, test),
            }),
    );
    tests.extend(
        status_page_tests::TESTS
            .iter()
            .map(|&(name, setup, test)| QemuTest {
                name: name.into(),
                boots: Boots::TestImage,
                body: Body::Network(setup, test),
            }),
    );
    tests.extend(
        manifest
            .minimal
            .iter()
            .enumerate()
            .map(|(index, configuration)| QemuTest {
                name: format!("minimal_kernel_{}", configuration.name),
                boots: Boots::Minimal(index),
                body: Body::Minimal {
                    threads: configuration.has_threads(),
                },
            }),
    );
    tests
}

/// Runs `tests` in parallel, up to one per core, printing one line per
/// test as it finishes and each failure's report; returns the boot figure
/// (instructions from kernel entry to the shell) if a test-image test
/// read it. Fails if any test failed.
pub fn run(tests: Vec<QemuTest>, kernels: &Kernels, manifest: &Manifest) -> Result<Option<u64>> {
    // Installed once, before tests that make FAT images run side by side
    // (two apt-gets at once would fight over dpkg's lock).
    if tests.iter().any(|test| match test.body {
        Body::Disk(setup, _) => setup.fat,
        Body::TypedAhead => true,
        _ => false,
    }) {
        crate::disk::ensure_fat_tools()?;
    }
    if tests
        .iter()
        .any(|test| test.name == status_page_tests::BROWSER_TEST)
    {
        status_page_tests::ensure_browser()?;
    }
    let total = tests.len();
    let workers = thread::available_parallelism()
        .map_or(1, NonZero::get)
        .min(total);
    println!("\nrunning {total} QEMU tests, {workers} at a time");
    let queue = Mutex::new(tests.into_iter());
    let (sender, finished) = channel();
    let mut failed = Vec::new();
    let mut boot_figure = None;
    thread::scope(|scope| {
        for _ in 0..workers {
            let sender = sender.clone();
            let queue = &queue;
            scope.spawn(move || {
                loop {
                    let next = queue.lock().unwrap_or_else(PoisonError::into_inner).next();
                    let Some(test) = next else { break };
                    let outcome = test.run(kernels, manifest);
                    if sender.send((test.name, outcome)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        for (name, outcome) in finished {
            match outcome {
                Ok(figure) => {
                    boot_figure = boot_figure.or(figure);
                    println!("test {name} ... ok");
                }
                Err(error) => {
                    println!("test {name} ... FAILED\n{error:#}\n");
                    failed.push(name);
                }
            }
        }
    });
    println!(
        "\ntest result: {}. {} passed, {} failed\n",
        if failed.is_empty() { "ok" } else { "FAILED" },
        total - failed.len(),
        failed.len()
    );
    if !failed.is_empty() {
        bail!("QEMU tests failed: {}", failed.join(", "));
    }
    Ok(boot_figure)
}

impl QemuTest {
    /// Runs the test; returns the boot figure if it read one.
    fn run(&self, kernels: &Kernels, manifest: &Manifest) -> Result<Option<u64>> {
        let kernel = match self.boots {
            Boots::TestImage => kernels.test.as_ref(),
            Boots::ProductImage => kernels.product.as_ref(),
            Boots::Minimal(index) => kernels.minimal.get(index),
        }
        .with_context(|| format!("{:?} was not built", self.boots))?;
        match self.body {
            Body::TypedAhead => typed_ahead().map(|()| None),
            Body::Shell(test) => self.on_machine(kernel, test),
            Body::Minimal { threads } => self.on_machine(kernel, |machine, _| {
                minimal_kernel_runs_its_shell(machine, threads)
            }),
            Body::ProductListing => self.on_machine(kernel, |machine, _| {
                product_image_holds_only_the_boot_components(machine, manifest)
            }),
            Body::Disk(setup, test) => {
                let disk = storage_tests::fresh_disk(&self.name, setup)?;
                let devices = storage_tests::devices(setup, &disk)?;
                let (mut machine, _) = Machine::boot_with(kernel, &devices)?;
                test(&mut machine, &disk).map_err(|error| failure(error, &mut machine))?;
                Ok(None)
            }
            Body::Network(setup, test) => {
                let (devices, hosts) = network_tests::devices(setup)?;
                let (mut machine, _) = Machine::boot_with(kernel, &devices)?;
                test(&mut machine, &hosts).map_err(|error| failure(error, &mut machine))?;
                Ok(None)
            }
        }
    }

    /// Boots `kernel` and runs `test` on it; a failure reports the
    /// console's tail. Returns the boot figure of a test-image boot.
    fn on_machine(
        &self,
        kernel: &Path,
        test: impl FnOnce(&mut Machine, &str) -> Result<()>,
    ) -> Result<Option<u64>> {
        let (mut machine, banner) = Machine::boot(kernel)?;
        test(&mut machine, &banner).map_err(|error| failure(error, &mut machine))?;
        Ok(figures::boot_instructions(&banner).filter(|_| self.boots == Boots::TestImage))
    }
}

/// `printf '…' | cargo xtask run --release`, as a user runs it: every
/// command arrives, and unloading follows the release though the shell
/// never waits for a key.
fn typed_ahead() -> Result<()> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    // The newcomer's command as the README gives it: the debug kernel,
    // whose deeper frames a release build would hide.
    let mut run = Command::new(std::env::current_exe()?)
        .arg("run")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting `cargo xtask run`")?;
    let mut input = run.stdin.take().context("no stdin")?;
    let console = read_in_background(run.stdout.take().context("no stdout")?);
    input.write_all(TYPED_AHEAD.as_bytes())?;
    input.flush()?;
    wait_until_idle_at_the_prompt(&console)?;
    input.write_all(TYPED_LATER.as_bytes())?;
    drop(input);
    let status = run.wait()?;
    let text = console.lock().map(|text| text.clone()).unwrap_or_default();
    ensure!(
        status.success(),
        "`cargo xtask run` failed; it printed:\n{text}"
    );
    // At the first prompt, `run` says where the status page is, and
    // prompts again: the typed-ahead commands follow that prompt.
    let notice = "\r\nxtask: type `httpd` to serve the status page at http://127.0.0.1:8480/\r\n";
    let after_boot = text
        .split_once(&format!(
            "{PROMPT}{notice}{PROMPT}",
            PROMPT = interfaces::program::PROMPT
        ))
        .map_or("", |(_, rest)| rest);
    ensure!(
        !after_boot.contains("unknown command") && after_boot.starts_with("ls /"),
        "a typed-ahead byte was lost, or the status page's address was not given at the \
         first prompt; the console showed:\n{text}"
    );
    ensure!(
        !text.contains("overflowed its stack") && !text.contains("panic"),
        "a thread overflowed its stack or the kernel panicked; the console showed:\n{text}"
    );
    let used: Vec<u64> = after_boot
        .split("heap:")
        .skip(1)
        .filter_map(|report| figures::field(report, "used="))
        .collect();
    // `cargo xtask run` attaches its disk, which the shell mounts: the
    // FAT component and the disk driver stay loaded, hello must not.
    let listing = after_boot
        .split_once(&format!("{}mods", interfaces::program::PROMPT))
        .and_then(|(_, rest)| rest.split(interfaces::program::PROMPT).next())
        .unwrap_or("module hello");
    ensure!(
        !listing.contains("module hello") && used.len() == 2 && used[0] == used[1],
        "hello was not unloaded after its release (heap used {used:?}); the console showed:\n{text}"
    );
    Ok(())
}

/// Collects what `output` prints, as it comes, on a thread of its own.
fn read_in_background(
    mut output: impl std::io::Read + Send + 'static,
) -> std::sync::Arc<std::sync::Mutex<String>> {
    let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let shared = text.clone();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(count @ 1..) = output.read(&mut buffer) {
            if let (Ok(mut text), Some(bytes)) = (shared.lock(), buffer.get(..count)) {
                text.push_str(&String::from_utf8_lossy(bytes));
            }
        }
    });
    text
}

/// Waits until the typed-ahead script has run (its second heap report is
/// out and the prompt is back), then a pause, in which the system idles.
fn wait_until_idle_at_the_prompt(console: &std::sync::Mutex<String>) -> Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    loop {
        let done = console.lock().is_ok_and(|text| {
            text.matches("heap:").count() >= 2
                && text
                    .trim_end()
                    .ends_with(interfaces::program::PROMPT.trim_end())
        });
        if done {
            std::thread::sleep(TYPING_PAUSE);
            return Ok(());
        }
        ensure!(
            std::time::Instant::now() < deadline,
            "the typed-ahead script did not finish"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// How many lines of the console a failure report shows.
const LOG_LINES: usize = 80;

/// A failed test's report: why, the end of the console log, and why again
/// (a CI excerpt that keeps only the start and the end shows the reason).
fn failure(error: anyhow::Error, machine: &mut Machine) -> anyhow::Error {
    let log = machine.log();
    let lines: Vec<&str> = log.lines().filter(|line| !line.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(LOG_LINES)..].join("\n");
    anyhow::anyhow!(
        "reason: {error:#}\nthe console's last {} lines:\n{tail}\nreason: {error:#}",
        lines.len().min(LOG_LINES)
    )
}

/// What `ls /boot` lists for the image packed at `/boot/<path>`: the image,
/// or the directory its path begins with.
fn boot_entry(path: &str) -> String {
    match path.split_once('/') {
        Some((directory, _)) => format!("/boot/{directory}/"),
        None => format!("/boot/{path}"),
    }
}

/// The product image's `/boot`: the README, the trusted keys and every
/// boot component, and neither a test-only component nor the broken images.
fn product_image_holds_only_the_boot_components(
    machine: &mut Machine,
    manifest: &Manifest,
) -> Result<()> {
    let listing = machine.run("ls /boot")?;
    let entries: Vec<&str> = listing.lines().map(str::trim).collect();
    let mut expected = vec![
        "/boot/README".to_owned(),
        format!("/boot{}", crate::keys::TRUST_FILE_IN_BOOT),
    ];
    expected.extend(manifest.boot.iter().map(|c| boot_entry(&c.path)));
    // Components below one directory (`/sys/vm`, `/sys/verifier`) list it once.
    expected.sort();
    expected.dedup();
    for entry in &expected {
        ensure!(
            entries.contains(&entry.as_str()),
            "`ls /boot` lacks {entry}: {listing:?}"
        );
    }
    let mut unwanted = vec![format!("/boot/{}/", manifest.broken_images)];
    unwanted.extend(manifest.test.iter().map(|c| boot_entry(&c.path)));
    for entry in &unwanted {
        ensure!(
            !entries.contains(&entry.as_str()),
            "the product image holds {entry}: {listing:?}"
        );
    }
    ensure!(
        entries.len() == expected.len(),
        "`ls /boot` lists more than the README, the trusted keys and the boot components: {listing:?}"
    );
    expect_output(
        machine,
        "bind failing",
        &["error: bind: /failing: not found"],
    )?;
    expect_output(
        machine,
        "selftest",
        &[
            "error: selftest: /selftest (a test component: `cargo xtask run --test-image`): not found",
        ],
    )?;
    Ok(())
}

/// The startup program on a minimal kernel: the shell works, threads are
/// there or not as configured, and there is no loader and no boot RomFS.
fn minimal_kernel_runs_its_shell(machine: &mut Machine, threads: bool) -> Result<()> {
    expect_output(machine, "echo startup program", &["startup program"])?;
    ensure!(heap_used(machine)? > 0, "the heap reports nothing used");
    let boot = machine.run("ls /boot")?;
    ensure!(
        !boot.contains("/boot/"),
        "a minimal kernel carries a boot RomFS: {boot:?}"
    );
    // A minimal kernel tells a status by its code (it has no messages).
    let not_found =
        |path: &str| format!("error: cat: {path}: failure ({})", com::Status::NOT_FOUND.0);
    expect_output(machine, "cat /boot/README", &[&not_found("/boot/README")])?;
    if threads {
        expect_output(
            machine,
            "help",
            &["commands: help echo mem cat ps poweroff"],
        )?;
        expect_output(machine, "ps", &["policy: builtin", "main", "idle"])?;
        // What serves components comes with the loader.
        for service in ["/sys/process", "/sys/interrupts"] {
            expect_output(machine, &format!("cat {service}"), &[&not_found(service)])?;
        }
    } else {
        // No threads: no `ps`, and nothing at `/sys/threads`.
        expect_output(machine, "help", &["commands: help echo mem cat poweroff"])?;
        expect_output(
            machine,
            "ps",
            &["error: unknown command 'ps' (type 'help')"],
        )?;
        expect_output(machine, "cat /sys/threads", &[&not_found("/sys/threads")])?;
    }
    // No loader: a component's name binds to nothing.
    expect_output(machine, "cat /hello", &[&not_found("/hello")])?;
    machine.send_line("poweroff")?;
    let code = machine.wait_exit(STEP_TIMEOUT)?;
    ensure!(code == 0, "QEMU exited with status {code}");
    Ok(())
}

fn boots_to_prompt(_: &mut Machine, banner: &str) -> Result<()> {
    ensure!(banner.contains("Tessera "), "no banner in {banner:?}");
    ensure!(banner.contains("MiB RAM"), "no RAM size in {banner:?}");
    ensure!(
        figures::boot_instructions(banner).is_some(),
        "no boot figure in {banner:?}"
    );
    Ok(())
}

fn ls_root_shows_boot(machine: &mut Machine, _: &str) -> Result<()> {
    let listing = machine.run("ls /")?;
    for entry in ["/boot/", "/dev/", "/sys/"] {
        ensure!(
            listing.lines().any(|line| line.trim() == entry),
            "`ls /` lacks {entry}: {listing:?}"
        );
    }
    let boot = machine.run("ls /boot")?;
    ensure!(
        boot.contains("/boot/README"),
        "`ls /boot` lacks README: {boot:?}"
    );
    Ok(())
}

fn cat_prints_a_romfs_file(machine: &mut Machine, _: &str) -> Result<()> {
    let text = machine.run("cat /boot/README")?;
    ensure!(
        text.contains("Welcome to Tessera."),
        "unexpected contents: {text:?}"
    );
    Ok(())
}

fn errors_are_reported_and_the_shell_goes_on(machine: &mut Machine, _: &str) -> Result<()> {
    let cases = [
        (
            "frobnicate",
            "error: unknown command 'frobnicate' (type 'help')",
        ),
        ("cat", "error: cat: bad arguments"),
        ("cat /boot/missing", "error: cat: /boot/missing: "),
        ("ls /boot//README", "error: ls: /boot//README: "),
    ];
    for (line, expected) in cases {
        let output = machine.run(line)?;
        ensure!(
            output.trim_end().lines().count() == 1,
            "`{line}` printed more than one line: {output:?}"
        );
        ensure!(
            output.contains(expected),
            "`{line}` printed {output:?}, expected {expected:?}"
        );
    }
    let echo = machine.run("echo still here")?;
    ensure!(
        echo.trim() == "still here",
        "the shell stopped working: {echo:?}"
    );
    Ok(())
}

fn line_editing_handles_backspace(machine: &mut Machine, _: &str) -> Result<()> {
    // Type "ecoh", erase two characters, then finish the command.
    machine.send(b"ecoh\x7f\x7fho edited\r")?;
    let output = machine.expect(interfaces::program::PROMPT, STEP_TIMEOUT)?;
    let result = output.lines().last().unwrap_or_default().trim();
    ensure!(
        result == "edited",
        "the edited line ran as something else: {output:?}"
    );
    Ok(())
}

fn mem_reports_used_bytes_and_nothing_leaks(machine: &mut Machine, _: &str) -> Result<()> {
    let first = heap_used(machine)?;
    ensure!(first > 0, "the heap reports nothing used");
    machine.run("ls /boot")?;
    machine.run("cat /boot/README")?;
    let second = heap_used(machine)?;
    ensure!(
        first == second,
        "heap use grew from {first} to {second} bytes across commands"
    );
    Ok(())
}

/// The heap's `used` figure, from `mem`.
pub fn heap_used(machine: &mut Machine) -> Result<u64> {
    let report = machine.run("mem")?;
    figures::field(&report, "used=").with_context(|| format!("no used=<bytes> in {report:?}"))
}

/// Runs `line` and checks its output contains each of `expected`.
pub fn expect_output(machine: &mut Machine, line: &str, expected: &[&str]) -> Result<String> {
    let timeout = if line == "selftest" {
        SELFTEST_TIMEOUT
    } else {
        STEP_TIMEOUT
    };
    let output = machine.run_within(line, timeout)?;
    for text in expected {
        ensure!(
            output.contains(text),
            "`{line}` printed {output:?}, which lacks {text:?}"
        );
    }
    Ok(output)
}

pub fn no_modules_and_heap_back_at(machine: &mut Machine, before: u64) -> Result<()> {
    expect_output(machine, "mods", &["no modules loaded"])?;
    let after = heap_used(machine)?;
    ensure!(
        after == before,
        "heap use is {after} bytes, not the {before} from before loading"
    );
    Ok(())
}

fn bind_loads_hello_and_release_unloads_it(machine: &mut Machine, _: &str) -> Result<()> {
    let before = heap_used(machine)?;
    expect_output(
        machine,
        "bind hello",
        &[
            "bound /hello (object 0x",
            "): module hello at 0x",
            "from /boot/hello",
        ],
    )?;
    expect_output(
        machine,
        "mods",
        &["hello: module hello at 0x", "references 2"],
    )?;
    expect_output(
        machine,
        "call hello",
        &["hello from the hello module at 0x", "greeting #1"],
    )?;
    expect_output(machine, "call hello", &["greeting #2"])?;
    expect_output(machine, "release hello", &["released /hello"])?;
    no_modules_and_heap_back_at(machine, before)
}

fn greeter_pulls_in_its_imports_and_all_unload_together(
    machine: &mut Machine,
    _: &str,
) -> Result<()> {
    let before = heap_used(machine)?;
    expect_output(machine, "bind greeter", &["bound /greeter (object 0x"])?;
    expect_output(
        machine,
        "mods",
        &[
            "greeter: module greeter",
            "hello: module hello",
            "versioned: module versioned",
        ],
    )?;
    expect_output(machine, "call hello", &["greeting #1"])?;
    expect_output(
        machine,
        "call greeter",
        &["greeter: hello has greeted 1 times; versioned speaks ABI v2"],
    )?;
    expect_output(machine, "release greeter", &["released /greeter"])?;
    no_modules_and_heap_back_at(machine, before)
}

fn broken_images_each_give_their_own_error(machine: &mut Machine, _: &str) -> Result<()> {
    let before = heap_used(machine)?;
    let cases = [
        (
            "truncated",
            "truncated or corrupt image: the content lies past its end",
            "bad image",
        ),
        ("bad-magic", "not a Tessera image (bad magic)", "bad image"),
        (
            "bad-relocation",
            "relocation 0 is invalid or points outside the module",
            "bad image",
        ),
        (
            "unknown-table",
            "hello has no export table 337f4e2c-d4e5-43a3-be2b-4e60c6b70765",
            "not supported",
        ),
        (
            "missing-dependency",
            "it imports from hellp, which cannot be loaded: not found",
            "not found",
        ),
    ];
    for (name, reason, status) in cases {
        let loader = format!("loader: /boot/test/{name}: {reason}");
        let shell = format!("error: bind: /test/{name}: {status}");
        expect_output(machine, &format!("bind test/{name}"), &[&loader, &shell])?;
        expect_output(machine, "call hello", &["hello from the hello module"])?;
    }
    let failing = [
        "loader: /boot/failing: its entry point failed",
        "error: bind: /failing: not supported",
    ];
    expect_output(machine, "bind failing", &failing)?;
    no_modules_and_heap_back_at(machine, before)
}

fn import_cycles_fail_at_once_and_leave_nothing(machine: &mut Machine, _: &str) -> Result<()> {
    let before = heap_used(machine)?;
    let two = [
        "loader: import cycle: test/cycle-a -> test/cycle-b -> test/cycle-a",
        "loader: /boot/test/cycle-b: it imports from test/cycle-a, which cannot be loaded: import cycle",
        "loader: /boot/test/cycle-a: it imports from test/cycle-b, which cannot be loaded: import cycle",
        "error: bind: /test/cycle-a: import cycle",
    ];
    expect_output(machine, "bind test/cycle-a", &two)?;
    let three = [
        "loader: import cycle: test/ring-b -> test/ring-c -> test/ring-a -> test/ring-b",
        "error: bind: /test/ring-b: import cycle",
    ];
    expect_output(machine, "bind test/ring-b", &three)?;
    // Nothing was left marked as loading: the same bind fails the same way.
    expect_output(machine, "bind test/cycle-a", &two)?;
    no_modules_and_heap_back_at(machine, before)
}

fn out_of_memory_in_a_load_is_reported_and_loses_nothing(
    machine: &mut Machine,
    _: &str,
) -> Result<()> {
    let before = heap_used(machine)?;
    expect_output(machine, "bind test/huge", &["bound /test/huge"])?;
    let holding = heap_used(machine)?;
    let bytes = crate::components::HUGE_MEMORY_SIZE;
    let reported = format!("loader: /boot/test/huge: out of memory: {bytes} bytes for the module");
    expect_output(
        machine,
        "load /boot/test/huge",
        &[&reported, "error: load: /boot/test/huge: out of memory"],
    )?;
    let after = heap_used(machine)?;
    ensure!(
        after == holding,
        "a failed load left the heap at {after} bytes, not {holding}"
    );
    expect_output(machine, "call test/huge", &["hello from the hello module"])?;
    expect_output(machine, "release test/huge", &["released /test/huge"])?;
    no_modules_and_heap_back_at(machine, before)
}

/// The commands arrive together, as piped input does: the shell never
/// waits for a key between them, and the module must go all the same.
fn unloading_follows_the_last_release_without_waiting_for_input(
    machine: &mut Machine,
    _: &str,
) -> Result<()> {
    machine.send(b"mem\rbind hello\rrelease hello\rmods\rmem\r")?;
    let mut outputs = Vec::new();
    for _ in 0..5 {
        outputs.push(machine.expect(interfaces::program::PROMPT, STEP_TIMEOUT)?);
    }
    let used = |output: &str| figures::field(output, "used=").context("no used= in mem's output");
    let (first, last) = (used(&outputs[0])?, used(&outputs[4])?);
    ensure!(
        outputs[1].contains("bound /hello"),
        "bind printed {:?}",
        outputs[1]
    );
    ensure!(
        outputs[3].contains("no modules loaded"),
        "mods still lists a module: {:?}",
        outputs[3]
    );
    ensure!(first == last, "heap use went from {first} to {last} bytes");
    Ok(())
}

fn keep_flag_keeps_a_module_cached(machine: &mut Machine, _: &str) -> Result<()> {
    expect_output(machine, "bind --keep hello", &["bound /hello"])?;
    expect_output(machine, "release hello", &["released /hello"])?;
    expect_output(machine, "mods", &["hello: module hello", "references 1"])?;
    expect_output(machine, "call hello", &["greeting #1"])?;
    expect_output(machine, "call hello", &["greeting #2"])?;
    Ok(())
}

fn an_image_loads_twice_as_separate_instances(machine: &mut Machine, _: &str) -> Result<()> {
    let before = heap_used(machine)?;
    let first = expect_output(
        machine,
        "load /boot/hello",
        &["loaded /boot/hello as hello@"],
    )?;
    let second = expect_output(
        machine,
        "load /boot/hello",
        &["loaded /boot/hello as hello@"],
    )?;
    let instance = |output: &str| {
        output
            .split_whitespace()
            .nth(3)
            .map(|name| name.trim_end_matches(':').to_owned())
    };
    let address = |output: &str| {
        output
            .split(" at ")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .map(str::to_owned)
    };
    let (Some(one), Some(two)) = (instance(&first), instance(&second)) else {
        bail!("no instance names in {first:?} and {second:?}");
    };
    ensure!(
        one != two && address(&first) != address(&second),
        "the two loads share a module: {first:?} {second:?}"
    );
    let listing = machine.run("mods")?;
    ensure!(
        listing.contains(&one) && listing.contains(&two),
        "`mods` lacks an instance: {listing:?}"
    );
    expect_output(machine, &format!("release {one}"), &["released"])?;
    expect_output(machine, &format!("release {two}"), &["released"])?;
    no_modules_and_heap_back_at(machine, before)
}

fn bind_release_cycles_leave_the_heap_where_it_started(
    machine: &mut Machine,
    _: &str,
) -> Result<()> {
    const CYCLES: usize = 1000;
    let before = heap_used(machine)?;
    for cycle in 0..CYCLES {
        // Each bind loads hello afresh: the release before it let it unload.
        let bound = machine.run("bind hello")?;
        ensure!(
            bound.contains("): module hello at 0x"),
            "cycle {cycle}: {bound:?}"
        );
        machine.run("release hello")?;
        if cycle % 100 == 99 {
            // A fresh load starts its counter again: proof the module was unloaded.
            expect_output(machine, "call hello", &["greeting #1"])?;
        }
    }
    no_modules_and_heap_back_at(machine, before)
}

fn ps_lists_the_threads(machine: &mut Machine, _: &str) -> Result<()> {
    let listing = expect_output(
        machine,
        "ps",
        &["policy: builtin", "main", "running", "boot stack", "idle"],
    )?;
    ensure!(
        listing.lines().count() == 4,
        "`ps` should list the policy, a header, main and idle: {listing:?}"
    );
    Ok(())
}

fn thread_selftests_pass(machine: &mut Machine, _: &str) -> Result<()> {
    let before = heap_used(machine)?;
    let report = expect_output(machine, "selftest", &["selftest: 54 passed, 0 failed"])?;
    ensure!(!report.contains("FAILED"), "a check failed: {report:?}");
    every_printed_line_once_in_order(&report)?;
    let after = heap_used(machine)?;
    ensure!(
        after == before,
        "threads left {} bytes behind",
        after.abs_diff(before)
    );
    Ok(())
}

/// Printing threads in the console takeover check, and lines each prints.
const PRINTERS: usize = 8;
const PRINTED_LINES: usize = 50;

/// The lines the printing threads wrote (`console line <printer>.<number>`)
/// while the UART driver took the console over: each exactly once, whole,
/// and in its printer's order.
fn every_printed_line_once_in_order(report: &str) -> Result<()> {
    let mut printed = vec![Vec::new(); PRINTERS];
    for line in report.lines().map(str::trim_end) {
        let Some(label) = line.strip_prefix("console line ") else {
            ensure!(!line.contains("console line"), "a torn line: {line:?}");
            continue;
        };
        let parsed = label
            .split_once('.')
            .and_then(|(printer, number)| Some((printer.parse().ok()?, number.parse().ok()?)));
        let Some((printer, number)) =
            parsed.filter(|&(printer, _): &(usize, usize)| printer < PRINTERS)
        else {
            bail!("a torn line: {line:?}");
        };
        printed[printer].push(number);
    }
    let expected: Vec<usize> = (0..PRINTED_LINES).collect();
    for (printer, numbers) in printed.iter().enumerate() {
        ensure!(
            *numbers == expected,
            "printer {printer}'s lines came out as {numbers:?}"
        );
    }
    Ok(())
}

fn scheduling_policies_switch_live(machine: &mut Machine, _: &str) -> Result<()> {
    let before = heap_used(machine)?;
    expect_output(machine, "sched sched-rr", &["policy: sched-rr"])?;
    expect_output(machine, "mods", &["sched-rr: module sched-rr"])?;
    expect_output(machine, "selftest", &["selftest: 54 passed, 0 failed"])?;
    expect_output(machine, "sched sched-null", &["policy: sched-null"])?;
    expect_output(
        machine,
        "selftest",
        &[
            "is preempted ... skipped",
            "moves into a process under 8 adders ... ok",
            "selftest: 53 passed, 0 failed",
        ],
    )?;
    expect_output(
        machine,
        "sched nonexistent",
        &["error: sched: nonexistent: not found"],
    )?;
    expect_output(machine, "sched builtin", &["policy: builtin"])?;
    no_modules_and_heap_back_at(machine, before)
}

fn vm_loads_the_manager_and_it_unloads_with_the_heap_back(
    machine: &mut Machine,
    _: &str,
) -> Result<()> {
    let before = heap_used(machine)?;
    expect_output(
        machine,
        "vm",
        &["vm: spaces=0 mappings=0 resident=0 wired=0 faults=0"],
    )?;
    no_modules_and_heap_back_at(machine, before)
}

fn sym_finds_exports_by_name_and_ordinal(machine: &mut Machine, _: &str) -> Result<()> {
    let by_name = expect_output(
        machine,
        "sym hello hello_greetings",
        &["hello_greetings = 0x", "(module hello)"],
    )?;
    let v2 = "02f70845-305d-4f06-a7ed-93696647224c";
    expect_output(
        machine,
        &format!("sym versioned {v2} 1"),
        &[&format!("{v2} @ 1 = 0x")],
    )?;
    expect_output(
        machine,
        &format!("sym versioned {v2} 9"),
        &[&format!("error: sym: {v2} @ 9: not found")],
    )?;
    expect_output(
        machine,
        "sym hello nosuch",
        &["error: sym: nosuch: not found"],
    )?;
    expect_output(machine, "sym hello", &["error: sym: bad arguments"])?;
    ensure!(
        by_name.trim_end().lines().count() == 1,
        "one line expected: {by_name:?}"
    );
    expect_output(machine, "mods", &["no modules loaded"])?;
    Ok(())
}

fn calls_between_modules_work_short_cut_or_through_slots(
    machine: &mut Machine,
    _: &str,
) -> Result<()> {
    let before = heap_used(machine)?;
    let size = |output: &str| {
        output
            .split(", ")
            .nth(1)
            .and_then(|field| field.strip_suffix(" bytes"))
            .and_then(|bytes| bytes.parse::<u64>().ok())
    };
    let indirect = expect_output(
        machine,
        "load --indirect /boot/greeter",
        &["loaded /boot/greeter as greeter@"],
    )?;
    let direct = expect_output(
        machine,
        "load /boot/greeter",
        &["loaded /boot/greeter as greeter@"],
    )?;
    let name = |output: &str| {
        output
            .split_whitespace()
            .nth(3)
            .map(|name| name.trim_end_matches(':').to_owned())
    };
    let (Some(indirect_name), Some(direct_name)) = (name(&indirect), name(&direct)) else {
        bail!("no instance names in {indirect:?} / {direct:?}");
    };
    // Greeter imports 6 symbols: a slot (8 bytes) and a stub (16) each.
    ensure!(
        size(&indirect) == size(&direct).map(|bytes| bytes + 6 * 24),
        "slots and stubs should add 144 bytes: {indirect:?} vs {direct:?}"
    );
    for instance in [&indirect_name, &direct_name] {
        expect_output(
            machine,
            &format!("call {instance}"),
            &["greeter: hello has greeted 0 times; versioned speaks ABI v2"],
        )?;
    }
    expect_output(machine, &format!("release {indirect_name}"), &["released"])?;
    expect_output(machine, &format!("release {direct_name}"), &["released"])?;
    no_modules_and_heap_back_at(machine, before)
}

fn a_c_component_calls_and_is_called_by_rust(machine: &mut Machine, _: &str) -> Result<()> {
    let before = heap_used(machine)?;
    // Rust (the shell) calls C, which binds and calls the Rust hello.
    let greeting = "hello from C; the Rust hello says: hello from the hello module at 0x";
    expect_output(
        machine,
        "bind chello",
        &["bound /chello (object 0x", "module chello"],
    )?;
    expect_output(machine, "call chello", &[greeting, "greeting #1"])?;
    // chello let go of hello after the call, so hello unloaded again.
    let listing = expect_output(machine, "mods", &["chello: module chello"])?;
    ensure!(
        !listing.contains("\nhello:") && !listing.starts_with("hello:"),
        "hello stayed loaded: {listing:?}"
    );
    expect_output(machine, "release chello", &["released /chello"])?;
    no_modules_and_heap_back_at(machine, before)
}

fn calls_are_traced_until_untrace(machine: &mut Machine, _: &str) -> Result<()> {
    let before = heap_used(machine)?;
    expect_output(
        machine,
        "trace hello",
        &["/hello: traced until `untrace /hello`"],
    )?;
    expect_output(
        machine,
        "call hello",
        &[
            "trace: /hello.greet(buffer=[256 bytes]) -> ok: ",
            "hello from the hello module",
        ],
    )?;
    expect_output(machine, "untrace hello", &["/hello: no longer traced"])?;
    let untraced = expect_output(machine, "call hello", &["hello from the hello module"])?;
    ensure!(
        !untraced.contains("trace:"),
        "traced after untrace: {untraced:?}"
    );
    expect_output(
        machine,
        "untrace hello",
        &["error: untrace: /hello: not found"],
    )?;
    expect_output(
        machine,
        "trace /dev/console",
        &["error: trace: /dev/console: invalid argument"],
    )?;
    no_modules_and_heap_back_at(machine, before)
}

fn a_component_upgrades_live_and_the_old_version_unloads(
    machine: &mut Machine,
    _: &str,
) -> Result<()> {
    let before = heap_used(machine)?;
    expect_output(machine, "bind counter", &["bound /counter"])?;
    expect_output(machine, "mods", &["counter: module counter "])?;
    expect_output(machine, "bind counter-v2", &["bound /counter-v2"])?;
    let listing = expect_output(machine, "mods", &["counter-v2: module counter-v2 "])?;
    ensure!(
        !listing.contains("module counter "),
        "v1 stayed loaded after the upgrade: {listing:?}"
    );
    expect_output(machine, "release counter", &["released /counter"])?;
    expect_output(machine, "release counter-v2", &["released /counter-v2"])?;
    no_modules_and_heap_back_at(machine, before)
}

fn the_uart_driver_takes_the_console_over(machine: &mut Machine, _: &str) -> Result<()> {
    expect_output(machine, "bind uart16550", &["bound /uart16550"])?;
    // The shell now reads and writes through the driver.
    expect_output(
        machine,
        "mods",
        &["uart16550: module uart16550 ", "from /boot/uart16550"],
    )?;
    expect_output(machine, "ls /boot", &["/boot/uart16550"])?;
    Ok(())
}

/// An S-mode fault (the constructor of `kernel-fault` loads from no
/// memory): the cause, `pc` and address are printed, and QEMU exits with
/// the exception's code.
fn a_fault_in_the_kernel_is_reported_and_stops_it(machine: &mut Machine, _: &str) -> Result<()> {
    machine.send_line("bind kernel-fault")?;
    machine.expect("stval=0x2000000000", STEP_TIMEOUT)?;
    let code = machine.wait_exit(STEP_TIMEOUT)?;
    let log = machine.log();
    ensure!(
        log.contains("exception: load access fault (scause=0x5) at pc=0x"),
        "no report of the fault: {log:?}"
    );
    ensure!(
        u32::try_from(code) == Ok(interfaces::power::exit_code::EXCEPTION),
        "QEMU exited with status {code}"
    );
    Ok(())
}

fn poweroff_exits_qemu_with_status_0(machine: &mut Machine, _: &str) -> Result<()> {
    machine.send_line("poweroff")?;
    let code = machine.wait_exit(STEP_TIMEOUT)?;
    ensure!(code == 0, "QEMU exited with status {code}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `cargo xtask test <filter>` selects by name: each test needs its own,
    /// and every minimal configuration its test.
    #[test]
    fn every_qemu_test_has_its_own_name() {
        let manifest = Manifest::load().expect("system.toml parses");
        let tests = catalogue(&manifest);
        let mut names: Vec<&str> = tests.iter().map(|test| test.name.as_str()).collect();
        names.sort_unstable();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count, "a name is used twice: {names:?}");
        for configuration in &manifest.minimal {
            let name = format!("minimal_kernel_{}", configuration.name);
            assert!(names.contains(&name.as_str()), "{name} is missing");
        }
    }

    /// A filter keeps the tests whose names contain it, and so decides
    /// which images get built: `minimal_kernel` boots no full image.
    #[test]
    fn a_filter_selects_by_name_and_with_it_the_images() {
        let manifest = Manifest::load().expect("system.toml parses");
        let all = catalogue(&manifest).len();
        assert_eq!(select(catalogue(&manifest), "").len(), all);
        let minimal = select(catalogue(&manifest), "minimal_kernel");
        assert_eq!(minimal.len(), manifest.minimal.len());
        assert!(
            minimal
                .iter()
                .all(|test| matches!(test.boots, Boots::Minimal(_)))
        );
        let product = select(catalogue(&manifest), "product_image");
        assert!(!product.is_empty());
        assert!(product.iter().all(|test| test.boots == Boots::ProductImage));
        assert!(select(catalogue(&manifest), "no_test_is_called_this").is_empty());
    }
}
