//! The QEMU integration tests: each boots a fresh machine and drives its
//! shell through the serial console.

use std::path::Path;

use anyhow::{Context, Result, bail, ensure};

use crate::figures;
use crate::machine::{Machine, STEP_TIMEOUT};

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
        "poweroff_exits_qemu_with_status_0",
        poweroff_exits_qemu_with_status_0,
    ),
];

/// Runs every test against `kernel`; returns the boot figure (instructions
/// from kernel entry to the shell). Fails if any test failed.
pub fn run_all(kernel: &Path) -> Result<u64> {
    println!("\nrunning {} QEMU integration tests", TESTS.len());
    let mut failed = Vec::new();
    let mut boot_instructions = None;
    for &(name, test) in TESTS {
        let outcome = Machine::boot(kernel).and_then(|(mut machine, banner)| {
            boot_instructions = figures::boot_instructions(&banner);
            test(&mut machine, &banner)
                .map_err(|error| error.context(format!("console log:\n{}", machine.log())))
        });
        match outcome {
            Ok(()) => println!("test {name} ... ok"),
            Err(error) => {
                println!("test {name} ... FAILED\n{error:?}\n");
                failed.push(name);
            }
        }
    }
    let passed = TESTS.len() - failed.len();
    let verdict = if failed.is_empty() { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {verdict}. {passed} passed, {} failed\n",
        failed.len()
    );
    if !failed.is_empty() {
        bail!("integration tests failed: {}", failed.join(", "));
    }
    boot_instructions.context("the boot banner has no instruction count")
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
    let output = machine.expect(shell::PROMPT, STEP_TIMEOUT)?;
    let result = output.lines().last().unwrap_or_default().trim();
    ensure!(
        result == "edited",
        "the edited line ran as something else: {output:?}"
    );
    Ok(())
}

fn mem_reports_used_bytes_and_nothing_leaks(machine: &mut Machine, _: &str) -> Result<()> {
    let used = |machine: &mut Machine| -> Result<u64> {
        let report = machine.run("mem")?;
        figures::field(&report, "used=").with_context(|| format!("no used=<bytes> in {report:?}"))
    };
    let first = used(machine)?;
    ensure!(first > 0, "the heap reports nothing used");
    machine.run("ls /boot")?;
    machine.run("cat /boot/README")?;
    let second = used(machine)?;
    ensure!(
        first == second,
        "heap use grew from {first} to {second} bytes across commands"
    );
    Ok(())
}

fn poweroff_exits_qemu_with_status_0(machine: &mut Machine, _: &str) -> Result<()> {
    machine.send_line("poweroff")?;
    let code = machine.wait_exit(STEP_TIMEOUT)?;
    ensure!(code == 0, "QEMU exited with status {code}");
    Ok(())
}
