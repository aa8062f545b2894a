//! The QEMU tests of processes and the IPC component: applications in
//! their own address spaces calling kernel-space objects through proxies,
//! dying of bad accesses and kills with the system going on, refusing
//! hostile arguments, and everything unloading after the last process
//! with the heap back where it was.

use std::time::Duration;

use anyhow::{Result, bail, ensure};

use crate::figures;
use crate::integration::{expect_output as expect, heap_used, no_modules_and_heap_back_at};
use crate::machine::{Machine, STEP_TIMEOUT};

/// One test: gets a machine at its first prompt and the boot output.
pub type Test = fn(&mut Machine, &str) -> Result<()>;

/// The tests, by name.
pub const TESTS: &[(&str, Test)] = &[
    (
        "a_process_calls_the_counter_through_a_proxy_and_exits",
        a_process_calls_the_counter_through_a_proxy_and_exits,
    ),
    (
        "a_faulting_or_killed_process_ends_and_the_system_goes_on",
        a_faulting_or_killed_process_ends_and_the_system_goes_on,
    ),
    (
        "hostile_ecalls_from_a_process_are_refused",
        hostile_ecalls_from_a_process_are_refused,
    ),
    (
        "a_process_waits_on_its_own_words_and_a_kill_ends_the_wait",
        a_process_waits_on_its_own_words_and_a_kill_ends_the_wait,
    ),
    (
        "a_process_allocates_in_its_own_heap_and_gives_every_frame_back",
        a_process_allocates_in_its_own_heap_and_gives_every_frame_back,
    ),
    (
        "a_process_serves_an_object_another_process_calls",
        a_process_serves_an_object_another_process_calls,
    ),
    (
        "the_shell_calls_a_process_through_a_kernel_space_proxy",
        the_shell_calls_a_process_through_a_kernel_space_proxy,
    ),
    (
        "a_server_killed_during_a_call_or_too_slow_fails_the_call",
        a_server_killed_during_a_call_or_too_slow_fails_the_call,
    ),
    (
        "interface_pointers_cross_between_processes_both_ways",
        interface_pointers_cross_between_processes_both_ways,
    ),
    (
        "interface_pointers_cross_into_the_kernels_space_both_ways",
        interface_pointers_cross_into_the_kernels_space_both_ways,
    ),
    (
        "a_process_granted_one_name_reaches_that_name_only",
        a_process_granted_one_name_reaches_that_name_only,
    ),
    (
        "a_process_sees_its_granted_names_through_its_namespace",
        a_process_sees_its_granted_names_through_its_namespace,
    ),
    (
        "floating_point_registers_stay_with_the_caller_across_a_call",
        floating_point_registers_stay_with_the_caller_across_a_call,
    ),
    (
        "an_object_moves_into_a_process_and_its_callers_keep_working",
        an_object_moves_into_a_process_and_its_callers_keep_working,
    ),
    (
        "moving_an_object_is_refused_with_a_clear_error",
        moving_an_object_is_refused_with_a_clear_error,
    ),
    (
        "ctrl_c_ends_the_foreground_process_and_keeps_typeahead",
        ctrl_c_ends_the_foreground_process_and_keeps_typeahead,
    ),
    (
        "ctrl_c_ends_the_foreground_process_under_the_uart_driver",
        ctrl_c_ends_the_foreground_process_under_the_uart_driver,
    ),
];

/// How long a background process's output may take to appear.
const OUTPUT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Runs `line` (ending in `&`) and returns the id of the process it
/// started in the background.
fn start(machine: &mut Machine, line: &str) -> Result<String> {
    start_saying(machine, line, &[])
}

/// Starts a background process with `line` and waits until it has said
/// each of `lines`, in order — before the shell's job line or after it,
/// as it happens to run; its process id.
fn start_saying(machine: &mut Machine, line: &str, lines: &[&str]) -> Result<String> {
    let output = expect(machine, line, &["] apptest"])?;
    let id = output
        .split_once('[')
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(id, _)| id.to_owned())
        .ok_or_else(|| anyhow::anyhow!("no process id in {output:?}"))?;
    said_by_now(machine, &output, lines)?;
    Ok(id)
}

/// Kills process `id` and waits until the shell says it ended and until
/// each of `lines` — what other processes print as it goes, before the
/// shell's report or after it — has come, in order.
fn kill_then_expect(machine: &mut Machine, id: &str, lines: &[&str]) -> Result<()> {
    let output = expect(machine, &format!("kill {id}"), &["ended: killed"])?;
    said_by_now(machine, &output, lines)
}

/// Waits for each of `lines` that `output` (what the last command's
/// answer held) does not hold already, in order.
fn said_by_now(machine: &mut Machine, output: &str, lines: &[&str]) -> Result<()> {
    for line in lines {
        if !output.contains(line) {
            machine.expect(line, OUTPUT_TIMEOUT)?;
        }
    }
    Ok(())
}

/// Starts `apptest MODE NAME` in the background, granted `name`, and
/// waits until it serves there; its process id.
fn start_server(machine: &mut Machine, mode: &str, name: &str) -> Result<String> {
    start_saying(
        machine,
        &format!("run --grant {name} apptest {mode} {name} &"),
        &[&format!("apptest: serving {name}")],
    )
}

fn a_process_serves_an_object_another_process_calls(machine: &mut Machine, _: &str) -> Result<()> {
    let before = heap_used(machine)?;
    let server = start_server(machine, "serve", "/svc/echo")?;
    expect(
        machine,
        "run --grant /svc/echo apptest client /svc/echo",
        &[
            "apptest: null call ok; echoed 64 bytes, out buffer intact: true, in-out reversed: true",
            "apptest: exited with 0",
        ],
    )?;
    // A second server may not register over the name; one not granted
    // the name may not register it at all.
    expect(
        machine,
        "run --grant /svc/echo apptest serve /svc/echo",
        &["register /svc/echo: -6", "exited with -6"],
    )?;
    expect(
        machine,
        "run apptest serve /svc/other",
        &["register /svc/other: -10", "exited with -10"],
    )?;
    expect(machine, &format!("kill {server}"), &["ended: killed"])?;
    // Everything the server registered went with it.
    expect(
        machine,
        "run --grant /svc/echo apptest client /svc/echo",
        &["apptest: exited with -5"],
    )?;
    no_modules_and_heap_back_at(machine, before)
}

/// What `call-echo` prints when every call through the proxy came back
/// right (`apptest serve` marks the out buffer's tail with 0xee).
const ECHOED: &str = "call-echo: null call ok; echoed 64 bytes (copied: true, tail 0xee); \
                      reversed: true; characters: 12";

fn the_shell_calls_a_process_through_a_kernel_space_proxy(
    machine: &mut Machine,
    _: &str,
) -> Result<()> {
    let before = heap_used(machine)?;
    let server = start_server(machine, "serve", "/svc/echo")?;
    // Scalars, a buffer in and one out, an in-out buffer and a string, from
    // the shell's own (kernel) thread; again with a timeout.
    expect(machine, "call-echo /svc/echo", &[ECHOED])?;
    expect(machine, "call-echo /svc/echo 500", &[ECHOED])?;
    expect(machine, &format!("kill {server}"), &["ended: killed"])?;
    expect(
        machine,
        "call-echo /svc/echo",
        &["error: call-echo: /svc/echo: not found"],
    )?;
    // A method that never returns: the call times out, and so does the next.
    let hang = start_server(machine, "serve-hang", "/svc/hang")?;
    for _ in 0..2 {
        expect(
            machine,
            "call-echo /svc/hang 200",
            &["error: call-echo: null call: timed out"],
        )?;
    }
    expect(machine, &format!("kill {hang}"), &["ended: killed"])?;
    // A server faulting in the call, and one whose own thread ends its
    // process while the call hangs in it: the caller gets `KILLED`.
    start_server(machine, "serve-fault", "/svc/fault")?;
    expect(
        machine,
        "call-echo /svc/fault",
        &["error: call-echo: null call: killed"],
    )?;
    start_server(machine, "serve-hang-exit", "/svc/exits")?;
    expect(
        machine,
        "call-echo /svc/exits",
        &["error: call-echo: null call: killed"],
    )?;
    // An owned interface a process's method gives back is a kernel-space
    // proxy too; its release runs the object's `Release` in the server.
    // Asked for another interface, the proxy asks the process's object: a
    // proxy of a new endpoint, or `NO_INTERFACE`. That proxy, an object of
    // the kernel's space, lent to the process is called back during the
    // call (runs in the server nested in the shell's call into it), and
    // one the process keeps is refused after the call.
    let relay = start_server(machine, "relay-serve", "/svc/relay")?;
    for _ in 0..2 {
        expect(
            machine,
            "call-relay /svc/relay",
            &[
                "call-relay: counter at 7",
                "call-relay: queried callback 10, echo: interface not supported; \
                 same identity: true; relay as counter: interface not supported",
                "call-relay: relay through a proxy 24; kept callback: object is gone",
                "call-relay: live 1 then 0 after release",
            ],
        )?;
    }
    // A client killed while it owns a counter the server made: freeing
    // it runs the counter's `Release` in the server.
    let holder = start_saying(
        machine,
        "run --grant /svc/relay apptest hold-made /svc/relay &",
        &["apptest: holding a counter"],
    )?;
    expect(machine, &format!("kill {holder}"), &["ended: killed"])?;
    expect(
        machine,
        "call-relay /svc/relay",
        &["call-relay: live 1 then 0 after release"],
    )?;
    expect(machine, &format!("kill {relay}"), &["ended: killed"])?;
    // `ps` lists each ended process once and lets it go.
    no_process_listed(machine)?;
    no_modules_and_heap_back_at(machine, before)
}

/// What `apptest callback NAME` prints of a relay at NAME: a callback
/// lent and called back three times, and one that calls the relay again
/// from inside the callback; a counter made by the relay and owned by
/// the client; QueryInterface on its proxy for an interface it has and
/// one it lacks (NO_INTERFACE); that proxy lent back to the relay that
/// made its object; both released, and the relay's object with them; a
/// borrowed callback the relay kept, whose call fails (STALE_HANDLE);
/// and pointers that are neither the client's memory nor its proxies of
/// the interface, refused.
const RELAY_CLIENT: &[&str] = &[
    "apptest: relay gave 66 after 3 callbacks",
    "apptest: nested callback gave 100",
    "apptest: made counter total 8, live 1",
    "apptest: queried callback 10, echo -3",
    "apptest: relay through a proxy 24",
    "apptest: live 1 then 0 after release",
    "apptest: kept callback: -32",
    "apptest: lent unmapped: -15",
    "apptest: lent kernel: -15",
    "apptest: lent null: -13",
    "apptest: lent forged proxy: -2",
    "apptest: lent another interface's proxy: -2",
    "apptest: exited with 0",
];

fn interface_pointers_cross_between_processes_both_ways(
    machine: &mut Machine,
    _: &str,
) -> Result<()> {
    let before = heap_used(machine)?;
    let relay = "run --grant /svc/relay apptest";
    let server = start_saying(
        machine,
        &format!("{relay} relay-serve /svc/relay &"),
        &["apptest: serving /svc/relay"],
    )?;
    expect(
        machine,
        &format!("{relay} callback /svc/relay"),
        RELAY_CLIENT,
    )?;
    // The client killed while its thread runs its own callback, called
    // from the server: the server serves on.
    let client = start_saying(
        machine,
        &format!("{relay} callback-hang /svc/relay &"),
        &["apptest: in the callback"],
    )?;
    expect(machine, &format!("kill {client}"), &["ended: killed"])?;
    expect(
        machine,
        &format!("{relay} callback /svc/relay"),
        &["apptest: live 1 then 0 after release", "exited with 0"],
    )?;
    // The server killed during a callback: the client's call returns
    // KILLED and the client goes on.
    start_saying(
        machine,
        &format!("{relay} callback-hang /svc/relay &"),
        &["apptest: in the callback"],
    )?;
    kill_then_expect(machine, &server, &["apptest: relay ended: -33"])?;
    no_process_listed(machine)?;
    no_modules_and_heap_back_at(machine, before)
}

/// The same client against the relay component, in the kernel's space:
/// its callbacks are kernel-space proxies of endpoints the client lends
/// for the call, the counters it makes are kernel objects the client
/// imports; the relay module is loaded by the bind and goes with the
/// process.
fn interface_pointers_cross_into_the_kernels_space_both_ways(
    machine: &mut Machine,
    _: &str,
) -> Result<()> {
    let before = heap_used(machine)?;
    for _ in 0..2 {
        expect(
            machine,
            "run --grant /relay apptest callback /relay",
            RELAY_CLIENT,
        )?;
    }
    no_process_listed(machine)?;
    no_modules_and_heap_back_at(machine, before)
}

/// A process's namespace (`app::namespace()`, its view): it lists its
/// grants, binds through it, is refused what it was not granted, and
/// registers a counter it holds under a name it may register — not over
/// it, and not an object of its own (which `REGISTER` serves) — which
/// others then reach until the process ends.
fn a_process_sees_its_granted_names_through_its_namespace(
    machine: &mut Machine,
    _: &str,
) -> Result<()> {
    let before = heap_used(machine)?;
    let server = start_saying(
        machine,
        "run --grant /svc/counter apptest serve-counter /svc/counter &",
        &["apptest: serving a counter at /svc/counter"],
    )?;
    let viewer = start_saying(
        machine,
        "run --grant /svc/counter --grant /svc/mine/ apptest names /svc/counter /svc/mine/counter &",
        &[
            "apptest: sees /dev/console /svc/counter /svc/mine",
            "apptest: through the view: total 2",
            "apptest: /counter: -10",
            "apptest: registered 0, again -6, its own -9",
            "apptest: unregistered theirs -10, mine 0, anew 0",
        ],
    )?;
    expect(
        machine,
        "bind /svc/mine/counter",
        &["bound /svc/mine/counter"],
    )?;
    machine.run("release /svc/mine/counter")?;
    expect(machine, &format!("kill {viewer}"), &["ended: killed"])?;
    expect(machine, "bind /svc/mine/counter", &["not found"])?;
    expect(machine, &format!("kill {server}"), &["ended: killed"])?;
    no_process_listed(machine)?;
    no_modules_and_heap_back_at(machine, before)
}

/// Waits (up to five seconds) until `ps` lists no process: a process that
/// ended is listed once and let go, and a killed server's own thread ends
/// at its next wake-up.
fn no_process_listed(machine: &mut Machine) -> Result<()> {
    let mut listed = String::new();
    for _ in 0..50 {
        listed = machine.run("ps")?;
        if !listed.contains("apptest") {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("a process is still listed: {listed}")
}

fn a_process_granted_one_name_reaches_that_name_only(machine: &mut Machine, _: &str) -> Result<()> {
    let before = heap_used(machine)?;
    let server = start_saying(
        machine,
        "run --grant /svc/counter apptest serve-counter /svc/counter &",
        &["apptest: serving a counter at /svc/counter"],
    )?;
    // Granted only the counter: it calls it, and every other bind,
    // register and service is refused (each check a bit of the code).
    expect(
        machine,
        "run --only --grant /svc/counter apptest confined /svc/counter",
        &["apptest: exited with 0"],
    )?;
    // Given the console too (no `--only`), binding it works (bit 1) and
    // registering under it meets the name, not the grant (bit 6,
    // `ALREADY_EXISTS`): the view is what the shell granted.
    expect(
        machine,
        "run --grant /svc/counter apptest confined /svc/counter",
        &["apptest: exited with 66"],
    )?;
    expect(machine, &format!("kill {server}"), &["ended: killed"])?;
    no_modules_and_heap_back_at(machine, before)
}

fn floating_point_registers_stay_with_the_caller_across_a_call(
    machine: &mut Machine,
    _: &str,
) -> Result<()> {
    let before = heap_used(machine)?;
    let server = start_server(machine, "serve-fp", "/svc/echo")?;
    // The server fails the call unless it starts with zeros; the client
    // counts its registers that came back.
    for _ in 0..2 {
        expect(
            machine,
            "run --grant /svc/echo apptest client-fp /svc/echo",
            &[
                "apptest: fp call: 0, registers kept: 33 of 33",
                "exited with 0",
            ],
        )?;
    }
    expect(machine, &format!("kill {server}"), &["ended: killed"])?;
    no_modules_and_heap_back_at(machine, before)
}

fn a_server_killed_during_a_call_or_too_slow_fails_the_call(
    machine: &mut Machine,
    _: &str,
) -> Result<()> {
    let before = heap_used(machine)?;
    let server = start_server(machine, "serve-hang", "/svc/echo")?;
    // A call that takes too long returns TIMED_OUT, and so does the next.
    expect(
        machine,
        "run --grant /svc/echo apptest client-timeout /svc/echo",
        &[
            "apptest: call ended: -18",
            "apptest: next call: -18",
            "exited with 0",
        ],
    )?;
    // A client killed while its thread runs in the server ends.
    let client = start_saying(
        machine,
        "run --grant /svc/echo apptest client-hang /svc/echo &",
        &["apptest: calling /svc/echo"],
    )?;
    expect(machine, &format!("kill {client}"), &["ended: killed"])?;
    // The server killed during a call: the call returns KILLED, and a
    // later call on the same import fails the same way.
    start_saying(
        machine,
        "run --grant /svc/echo apptest client-hang /svc/echo &",
        &["apptest: calling /svc/echo"],
    )?;
    // The client prints as it goes, perhaps while the shell kills.
    kill_then_expect(
        machine,
        &server,
        &["apptest: call ended: -33", "apptest: next call: -33"],
    )?;
    // A server faulting in a call is ended; the call returns KILLED and
    // the client goes on.
    start_server(machine, "serve-fault", "/svc/echo")?;
    expect(
        machine,
        "run --grant /svc/echo apptest client-hang /svc/echo",
        &[
            "apptest: call ended: -33",
            "apptest: next call: -33",
            "exited with 0",
        ],
    )?;
    // `ps` lists each ended process once and lets it go; the faulted
    // server's own thread ends at its next wake-up.
    no_process_listed(machine)?;
    no_modules_and_heap_back_at(machine, before)
}

fn a_process_calls_the_counter_through_a_proxy_and_exits(
    machine: &mut Machine,
    _: &str,
) -> Result<()> {
    // The counter loads on the first bind: hold it so the heap figure
    // compares like with like.
    machine.run("bind /counter")?;
    let before = heap_used(machine)?;
    expect(
        machine,
        "run --grant /counter apptest counter 5",
        &[
            "apptest: added 5, total 5 (read back 5), counter v1",
            "apptest: queried the counter: total 5, hello -3",
            "apptest: exited with 0",
        ],
    )?;
    expect(
        machine,
        "run --grant /counter apptest counter 3",
        &["total 8 (read back 8)", "exited with 0"],
    )?;
    expect(machine, "run apptest exit 7", &["apptest: exited with 7"])?;
    // Not granted: the bind is refused inside the process.
    expect(
        machine,
        "run apptest counter 1",
        &["apptest: exited with -10"],
    )?;
    expect(machine, "mods", &["counter"])?;
    ensure!(
        !machine.run("mods")?.contains("ipc"),
        "the IPC stayed loaded after the last process"
    );
    let after = heap_used(machine)?;
    ensure!(
        after == before,
        "heap use went from {before} to {after} bytes"
    );
    machine.run("release /counter")?;
    Ok(())
}

/// `move /counter` into a process that hosts objects: processes adding
/// around the move lose nothing, later additions go on from the same
/// total and are answered by the process (`counter v3`), `counter` v1
/// unloads; killing the host makes a holder's next call fail with
/// `KILLED`, and once the counter is released every module unloads with
/// the heap back.
fn an_object_moves_into_a_process_and_its_callers_keep_working(
    machine: &mut Machine,
    _: &str,
) -> Result<()> {
    let before = heap_used(machine)?;
    // The shell holds the counter, as any caller may.
    machine.run("bind /counter")?;
    let add = "run --grant /counter apptest";
    expect(
        machine,
        &format!("{add} counter 5"),
        &["total 5 (read back 5), counter v1"],
    )?;
    let host = start_server(machine, "host", "/svc/host")?;
    let adders = [
        start(machine, &format!("{add} add-many 3000 &"))?,
        start(machine, &format!("{add} add-many 3000 &"))?,
    ];
    expect(
        machine,
        &format!("move /counter {host}"),
        &["/counter: moved into process"],
    )?;
    every_addition_made(machine, &adders)?;
    expect(
        machine,
        &format!("{add} counter 3"),
        &["total 6008 (read back 6008), counter v3", "exited with 0"],
    )?;
    let modules = machine.run("mods")?;
    ensure!(
        !modules.contains("module counter "),
        "counter v1 stayed loaded: {modules}"
    );
    // On from that process into another, under an adder; the first host
    // may then end without taking the counter or its name along.
    let next = start_server(machine, "host", "/svc/next-host")?;
    let adder = start(machine, &format!("{add} add-many 3000 &"))?;
    expect(
        machine,
        &format!("move /counter {next}"),
        &["/counter: moved into process"],
    )?;
    every_addition_made(machine, &[adder])?;
    expect(machine, &format!("kill {host}"), &["ended: killed"])?;
    expect(
        machine,
        &format!("{add} counter 3"),
        &["total 9011 (read back 9011), counter v3", "exited with 0"],
    )?;
    start_saying(
        machine,
        &format!("{add} add-until-fails &"),
        &["apptest: adding until it fails"],
    )?;
    kill_then_expect(machine, &next, &["apptest: add failed: -33"])?;
    no_process_listed(machine)?;
    machine.run("release /counter")?;
    no_modules_and_heap_back_at(machine, before)
}

/// Waits until the adders `pids` have ended (each is listed by `ps` until
/// it has, then once more with how it ended) and checks each made every
/// addition (ended with 0).
fn every_addition_made(machine: &mut Machine, pids: &[String]) -> Result<()> {
    let mut ended = String::new();
    for _ in 0..300 {
        let listed = machine.run("ps")?;
        ended.push_str(&listed);
        if pids
            .iter()
            .all(|pid| !listed.contains(&format!("{pid:>4}  apptest")))
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for pid in pids {
        ensure!(
            ended.contains(&format!("{pid:>4}  apptest"))
                && !ended.contains("exited with -")
                && !ended.contains("ended:"),
            "adder {pid} did not end with every addition made: {ended}"
        );
    }
    Ok(())
}

/// `move` refuses, each with its reason: a process that does not exist,
/// one that hosts no objects, an object that is not mutable; everything
/// unloads after.
fn moving_an_object_is_refused_with_a_clear_error(machine: &mut Machine, _: &str) -> Result<()> {
    let before = heap_used(machine)?;
    expect(
        machine,
        "move /counter 999",
        &["error: move: /counter into 999: no such process (or name)"],
    )?;
    let echo = start_server(machine, "serve", "/svc/echo")?;
    expect(
        machine,
        &format!("move /counter {echo}"),
        &["the process hosts no objects"],
    )?;
    let host = start_server(machine, "host", "/svc/host")?;
    let not_mutable = format!("/hello into {host}: not mutable");
    expect(
        machine,
        &format!("move /hello {host}"),
        &[not_mutable.as_str()],
    )?;
    expect(machine, "move /counter", &["(usage: move <name> <pid>)"])?;
    for process in [echo, host] {
        expect(machine, &format!("kill {process}"), &["ended: killed"])?;
    }
    no_process_listed(machine)?;
    no_modules_and_heap_back_at(machine, before)
}

fn a_faulting_or_killed_process_ends_and_the_system_goes_on(
    machine: &mut Machine,
    _: &str,
) -> Result<()> {
    let before = heap_used(machine)?;
    expect(
        machine,
        "run apptest fault",
        &[
            "ended in U-mode: store page fault",
            "apptest: ended: access violation",
        ],
    )?;
    // The image is mapped W^X: its read-only data is read-only.
    expect(
        machine,
        "run apptest write-rodata",
        &[
            "ended in U-mode: store page fault",
            "apptest: ended: access violation",
        ],
    )?;
    expect(machine, "run apptest spin &", &["[", "] apptest"])?;
    let listing = expect(machine, "ps", &["apptest", "space-1", "running"])?;
    let pid = listing
        .lines()
        .find(|line| line.contains("apptest") && line.contains("space-"))
        .and_then(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no process line in {listing:?}"))?;
    expect(machine, &format!("kill {pid}"), &["ended: killed"])?;
    expect(machine, "run apptest exit 0", &["exited with 0"])?;
    no_modules_and_heap_back_at(machine, before)
}

fn hostile_ecalls_from_a_process_are_refused(machine: &mut Machine, _: &str) -> Result<()> {
    let before = heap_used(machine)?;
    let output = expect(
        machine,
        "run --grant /counter apptest hostile",
        &[
            "apptest: stale handle: -32",
            "apptest: hostile done, 0 not refused",
            "apptest: exited with 0",
        ],
    )?;
    ensure!(
        !output.contains("NOT REFUSED"),
        "a bad call went through: {output}"
    );
    no_modules_and_heap_back_at(machine, before)
}

fn a_process_allocates_in_its_own_heap_and_gives_every_frame_back(
    machine: &mut Machine,
    _: &str,
) -> Result<()> {
    let before = heap_used(machine)?;
    // A process kept running holds the manager and its frame pool, so its
    // figures carry across the one that allocates.
    expect(machine, "run apptest spin &", &["] apptest"])?;
    // By the end of a first run, the spinning process has touched the
    // pages it will use and the manager's tables have grown to what a
    // process with a heap needs: a second run must leave no drift.
    let run = "run apptest heap 1000";
    let made = "apptest: heap: 1000 values, sum 500500, 262144 bytes of ones";
    expect(machine, run, &[made, "apptest: exited with 0"])?;
    let frames = frames_free(machine)?;
    let held = heap_used(machine)?;
    expect(machine, run, &[made, "apptest: exited with 0"])?;
    let frames_after = frames_free(machine)?;
    ensure!(
        frames_after == frames,
        "free frames went from {frames} to {frames_after}"
    );
    let after = heap_used(machine)?;
    ensure!(after == held, "heap use went from {held} to {after} bytes");
    let listing = expect(machine, "ps", &["apptest", "running"])?;
    let pid = listing
        .lines()
        .find(|line| line.contains("apptest") && line.contains("running"))
        .and_then(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no process line in {listing:?}"))?;
    expect(machine, &format!("kill {pid}"), &["ended: killed"])?;
    no_modules_and_heap_back_at(machine, before)
}

fn a_process_waits_on_its_own_words_and_a_kill_ends_the_wait(
    machine: &mut Machine,
    _: &str,
) -> Result<()> {
    let before = heap_used(machine)?;
    expect(
        machine,
        "run apptest waits",
        &[
            "apptest: wait value differs: -17",
            "apptest: wait timeout: -18",
            "apptest: wait wake, nobody waiting: 0",
            "apptest: wait unmapped: -15",
            "apptest: wait kernel address: -15",
            "apptest: wait misaligned: -2",
            "apptest: wait null: -13",
            "apptest: wait wake unmapped: -15",
            "apptest: waits done, 0 wrong",
            "apptest: exited with 0",
        ],
    )?;
    // Killed while it waits with no timeout: the wait ends with it. A
    // wake of the same address by another process is of another space:
    // it wakes nobody.
    expect(machine, "run apptest wait-forever &", &["] apptest"])?;
    expect(
        machine,
        "run apptest wake-shared",
        &["apptest: exited with 0"],
    )?;
    let listing = expect(machine, "ps", &["apptest", "running"])?;
    let pid = listing
        .lines()
        .find(|line| line.contains("apptest") && line.contains("running"))
        .and_then(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no process line in {listing:?}"))?;
    expect(machine, &format!("kill {pid}"), &["ended: killed"])?;
    no_modules_and_heap_back_at(machine, before)
}

/// The frames the virtual-memory manager has free (`vm`'s `frames-free=`).
fn frames_free(machine: &mut Machine) -> Result<u64> {
    let report = machine.run("vm")?;
    figures::field(&report, "frames-free=")
        .ok_or_else(|| anyhow::anyhow!("no frames-free= in {report:?}"))
}

/// Ctrl-C, as the terminal sends it.
const CTRL_C: &[u8] = b"\x03";

fn ctrl_c_ends_the_foreground_process_and_keeps_typeahead(
    machine: &mut Machine,
    _: &str,
) -> Result<()> {
    let before = heap_used(machine)?;
    ctrl_c_kills_a_spinning_process(machine)?;
    typeahead_after_ctrl_c_runs(machine)?;
    // At the prompt, Ctrl-C still just drops the line.
    machine.send(b"mods")?;
    machine.send(CTRL_C)?;
    machine.expect("^C", STEP_TIMEOUT)?;
    machine.expect(interfaces::program::PROMPT, STEP_TIMEOUT)?;
    no_modules_and_heap_back_at(machine, before)
}

fn ctrl_c_ends_the_foreground_process_under_the_uart_driver(
    machine: &mut Machine,
    _: &str,
) -> Result<()> {
    expect(machine, "bind uart16550", &["bound /uart16550"])?;
    ctrl_c_kills_a_spinning_process(machine)?;
    typeahead_after_ctrl_c_runs(machine)
}

/// A spinning process in the foreground: Ctrl-C, once it runs, kills it
/// and gives the prompt back.
fn ctrl_c_kills_a_spinning_process(machine: &mut Machine) -> Result<()> {
    machine.send_line("run apptest spin")?;
    machine.expect("run apptest spin", STEP_TIMEOUT)?;
    // Long enough for the process to be spinning: it never prints.
    std::thread::sleep(Duration::from_millis(500));
    machine.send(CTRL_C)?;
    let output = machine.expect(interfaces::program::PROMPT, STEP_TIMEOUT)?;
    ensure!(
        output.contains("^C") && output.contains("apptest: ended: killed"),
        "Ctrl-C printed {output:?}"
    );
    Ok(())
}

/// Ctrl-C and the next command typed at once, without waiting: the
/// command, typed while the process ran, runs after it.
fn typeahead_after_ctrl_c_runs(machine: &mut Machine) -> Result<()> {
    machine.send(b"run apptest spin\r\x03run apptest exit 3\r")?;
    let output = machine.expect("apptest: exited with 3", STEP_TIMEOUT)?;
    ensure!(
        output.contains("apptest: ended: killed"),
        "the first process did not end killed: {output:?}"
    );
    machine.expect(interfaces::program::PROMPT, STEP_TIMEOUT)?;
    Ok(())
}
