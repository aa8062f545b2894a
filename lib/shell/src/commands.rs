//! The shell's commands: a table of names, usages and functions.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use com::{ComPtr, Status};
use interfaces::namespace::{flags, for_each_name};
use interfaces::threads::state_name;
use interfaces::vm::MANAGER_PATH;
use interfaces::{IFile, IHeap, INamespace, IPower, IScheduler, IThreads, IVmFactory, IVmSpace};
use private_interfaces::{IBenchmarks, ISelfTests};

use crate::context::{Context, Failure, Held, Outcome, SCHEDULER_PATH, failed, service};
use crate::{Exit, Output, filters, modules, network, processes, storage, trust};

/// Where `mem` finds the kernel heap.
pub const HEAP_PATH: &str = "/sys/heap";
/// Where `ps` finds the threads.
pub const THREADS_PATH: &str = "/sys/threads";
/// Where `selftest` finds the system's checks (the test component
/// `selftest`, demand-loaded from the test image).
pub const SELFTEST_PATH: &str = "/selftest";
/// Where `bench` finds the system's measurements (the test component
/// `benchmarks`, demand-loaded from the test image).
pub const BENCH_PATH: &str = "/benchmarks";
/// Where `poweroff` finds the machine's power control.
pub const POWER_PATH: &str = "/dev/power";

struct Command {
    name: &'static str,
    usage: &'static str,
    summary: &'static str,
    run: fn(&mut Context<'_>, &[&str]) -> Outcome,
}

const COMMANDS: &[Command] = &[
    Command {
        name: "help",
        usage: "help",
        summary: "list the commands",
        run: help,
    },
    Command {
        name: "ls",
        usage: "ls [path]",
        summary: "list the names under a path (default /)",
        run: ls,
    },
    Command {
        name: "cat",
        usage: "cat <file>",
        summary: "print a file",
        run: cat,
    },
    Command {
        name: "mem",
        usage: "mem",
        summary: "show the kernel heap's figures",
        run: mem,
    },
    Command {
        name: "vm",
        usage: "vm",
        summary: "show the virtual-memory manager's figures and spaces (loads it)",
        run: vm,
    },
    Command {
        name: "echo",
        usage: "echo [text...]",
        summary: "print the arguments",
        run: echo,
    },
    Command {
        name: "bind",
        usage: "bind [--keep] <name>",
        summary: "bind a name (loading its module) and hold it",
        run: modules::bind,
    },
    Command {
        name: "release",
        usage: "release <name>",
        summary: "release a name bound or loaded here",
        run: modules::release,
    },
    Command {
        name: "mods",
        usage: "mods",
        summary: "list the loaded modules",
        run: modules::mods,
    },
    Command {
        name: "call",
        usage: "call <name>",
        summary: "call IHello::greet on a name",
        run: modules::call,
    },
    Command {
        name: "sym",
        usage: "sym <module> <name> | sym <module> <uuid> <ordinal>",
        summary: "print the address of a module's export",
        run: modules::sym,
    },
    Command {
        name: "load",
        usage: "load [--indirect] <image>",
        summary: "load a separate instance of an image",
        run: modules::load,
    },
    Command {
        name: "ps",
        usage: "ps",
        summary: "list the threads, and the background processes with their spaces",
        run: ps,
    },
    Command {
        name: "run",
        usage: "run [--only] [--grant <name>]... <image> [args...] [&]",
        summary: "run an application in its own address space (granted /dev/console, unless --only, and the names given)",
        run: processes::run,
    },
    Command {
        name: "call-echo",
        usage: "call-echo <name> [timeout-ms]",
        summary: "call the IEcho at a name from the shell (a process's: by proxy)",
        run: processes::call_echo,
    },
    Command {
        name: "call-relay",
        usage: "call-relay <name>",
        summary: "have the IRelay at a name make a counter, call and release it",
        run: processes::call_relay,
    },
    Command {
        name: "kill",
        usage: "kill <pid>",
        summary: "end a background process",
        run: processes::kill,
    },
    Command {
        name: "move",
        usage: "move <name> <pid>",
        summary: "move a mutable object into a process that hosts objects (apptest host); the name forwards to it",
        run: processes::move_object,
    },
    Command {
        name: "sched",
        usage: "sched [policy]",
        summary: "show the scheduling policy, or switch to another (builtin, sched-rr, ...)",
        run: sched,
    },
    Command {
        name: "trace",
        usage: "trace <name>",
        summary: "log every call of the object (through the interposer) until untrace",
        run: filters::trace,
    },
    Command {
        name: "untrace",
        usage: "untrace <name>",
        summary: "stop tracing the object",
        run: filters::untrace,
    },
    Command {
        name: "readonly",
        usage: "readonly <name>",
        summary: "refuse the object's write-class methods until readwrite",
        run: filters::readonly,
    },
    Command {
        name: "readwrite",
        usage: "readwrite <name>",
        summary: "let the object be written again",
        run: filters::readwrite,
    },
    Command {
        name: "write",
        usage: "write <file> <text...>",
        summary: "make a file hold the text (and a line end)",
        run: storage::write,
    },
    Command {
        name: "cp",
        usage: "cp <from> <to>",
        summary: "copy a file",
        run: storage::cp,
    },
    Command {
        name: "mkdir",
        usage: "mkdir <path>",
        summary: "make a directory",
        run: storage::mkdir,
    },
    Command {
        name: "rm",
        usage: "rm <path>",
        summary: "remove a file or an empty directory",
        run: storage::rm,
    },
    Command {
        name: "mount",
        usage: "mount [-r] [<device> <path>]",
        summary: "mount a disk's FAT volume (default: virtio-blk at /disk; -r read-only) or virtio-9p",
        run: storage::mount,
    },
    Command {
        name: "umount",
        usage: "umount <path>",
        summary: "write a volume back and take it out of the namespace",
        run: storage::umount,
    },
    Command {
        name: "sync",
        usage: "sync [<path>]",
        summary: "write a volume's changes to its disk (default /disk)",
        run: storage::sync,
    },
    Command {
        name: "blocks",
        usage: "blocks <device> [read <n> | write <n> <text> | flush]",
        summary: "show a block device (virtio-blk), a block of it, or write one",
        run: storage::blocks,
    },
    Command {
        name: "ifconfig",
        usage: "ifconfig",
        summary: "show the network stack's card and address (loads it; DHCP)",
        run: network::ifconfig,
    },
    Command {
        name: "arping",
        usage: "arping <a.b.c.d>",
        summary: "ask the network card's link who has an IPv4 address (ARP)",
        run: network::arping,
    },
    Command {
        name: "httpd",
        usage: "httpd [stop]",
        summary: "serve the status page on port 80 in the background, or stop it",
        run: network::httpd,
    },
    Command {
        name: "netstat",
        usage: "netstat",
        summary: "list the network stack's sockets and their states",
        run: network::netstat,
    },
    Command {
        name: "nc",
        usage: "nc <a.b.c.d> <port> [text...]",
        summary: "send a line over TCP and print the answer until the peer closes",
        run: network::nc,
    },
    Command {
        name: "echo-server",
        usage: "echo-server <port> | echo-server stop",
        summary: "start a TCP echo service in the background, or stop it",
        run: network::echo_server,
    },
    Command {
        name: "trust",
        usage: "trust [allow|require <directory>]",
        summary: "show which images load without a signature, or change it",
        run: trust::trust,
    },
    Command {
        name: "selftest",
        usage: "selftest",
        summary: "run the system's checks (test image only)",
        run: selftest,
    },
    Command {
        name: "bench",
        usage: "bench [name part]",
        summary: "run the system's measurements, or those whose names hold the words (test image only)",
        run: bench,
    },
    Command {
        name: "poweroff",
        usage: "poweroff",
        summary: "switch the machine off",
        run: poweroff,
    },
];

/// Runs one command line; returns `Some` when the shell should stop.
pub fn execute(
    namespace: &INamespace,
    output: &mut Output,
    held: &mut Held,
    line: &str,
) -> Option<Exit> {
    let words: Vec<&str> = line.split_ascii_whitespace().collect();
    let (&name, arguments) = words.split_first()?;
    let Some(command) = COMMANDS.iter().find(|command| command.name == name) else {
        let _ = writeln!(output, "error: unknown command '{name}' (type 'help')");
        return None;
    };
    let mut context = Context {
        namespace,
        output,
        held,
    };
    match (command.run)(&mut context, arguments) {
        Ok(exit) => exit,
        Err(Failure::Usage) => {
            let _ = writeln!(
                context.output,
                "error: {name}: bad arguments (usage: {})",
                command.usage
            );
            None
        }
        Err(Failure::Status(subject, status)) => {
            let _ = writeln!(
                context.output,
                "error: {name}: {subject}: {}",
                status.message()
            );
            None
        }
    }
}

fn help(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    if !arguments.is_empty() {
        return Err(Failure::Usage);
    }
    for command in COMMANDS {
        let _ = writeln!(
            context.output,
            "  {:<16} {}",
            command.usage, command.summary
        );
    }
    Ok(None)
}

fn ls(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    let directory = match arguments {
        [] => "/",
        [path] => path,
        _ => return Err(Failure::Usage),
    };
    let namespace = context.namespace;
    let output = &mut context.output;
    for_each_name(namespace, directory, |name| {
        let path = join(directory, name);
        let kind = namespace.capabilities(&path).unwrap_or(0);
        let slash = if kind & flags::DIRECTORY != 0 {
            "/"
        } else {
            ""
        };
        let _ = writeln!(output, "{path}{slash}");
        Ok(())
    })
    .map_err(failed(directory))?;
    Ok(None)
}

/// `directory/name`, without doubling the root's slash.
fn join(directory: &str, name: &str) -> String {
    match directory.strip_suffix('/') {
        Some(parent) => format!("{parent}/{name}"),
        None => format!("{directory}/{name}"),
    }
}

fn cat(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    let [path] = arguments else {
        return Err(Failure::Usage);
    };
    let file: ComPtr<IFile> = service::<IFile>(context.namespace, path, flags::READ)?;
    let mut buffer = [0u8; 512];
    let mut offset = 0u64;
    loop {
        let read = file.read_at(offset, &mut buffer).map_err(failed(path))?;
        let Some(chunk) = buffer.get(..read).filter(|chunk| !chunk.is_empty()) else {
            return Ok(None);
        };
        print_bytes(context.output, chunk);
        offset += read as u64;
    }
}

/// Prints file bytes as text, with terminal line endings.
fn print_bytes(output: &mut Output, bytes: &[u8]) {
    for piece in bytes.utf8_chunks() {
        output.print(piece.valid());
        if !piece.invalid().is_empty() {
            output.print("\u{fffd}");
        }
    }
}

fn mem(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    if !arguments.is_empty() {
        return Err(Failure::Usage);
    }
    let heap = service::<IHeap>(context.namespace, HEAP_PATH, flags::READ)?;
    let status = heap.status().map_err(failed(HEAP_PATH))?;
    let _ = writeln!(
        context.output,
        "heap: reserved={} committed={} used={} max_used={}",
        status.reserved, status.committed, status.used, status.max_used
    );
    Ok(None)
}

fn vm(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    if !arguments.is_empty() {
        return Err(Failure::Usage);
    }
    let manager = service::<IVmFactory>(context.namespace, MANAGER_PATH, flags::READ)?;
    let status = manager.status().map_err(failed(MANAGER_PATH))?;
    let _ = writeln!(
        context.output,
        "vm: spaces={} mappings={} resident={} wired={} faults={} zero-fills={} \
         file-reads={} copies={} view-switches={} frames-free={}/{}",
        status.spaces,
        status.mappings,
        status.resident_pages,
        status.wired_pages,
        status.faults,
        status.zero_fills,
        status.file_reads,
        status.copies,
        status.view_switches,
        status.frames_free,
        status.frames_total
    );
    // Each live space, as the manager lists them under its name.
    let mut spaces = Vec::new();
    for_each_name(context.namespace, MANAGER_PATH, |name| {
        spaces.push(format!("{MANAGER_PATH}/{name}"));
        Ok(())
    })
    .map_err(failed(MANAGER_PATH))?;
    for path in spaces {
        let space = service::<IVmSpace>(context.namespace, &path, flags::READ)?;
        let status = space.status().map_err(failed(&path))?;
        let _ = writeln!(
            context.output,
            "  {}: regions={} resident={} wired={}",
            path.trim_start_matches(MANAGER_PATH)
                .trim_start_matches('/'),
            status.regions,
            status.resident_pages,
            status.wired_pages
        );
    }
    Ok(None)
}

fn echo(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    let _ = writeln!(context.output, "{}", arguments.join(" "));
    Ok(None)
}

fn ps(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    if !arguments.is_empty() {
        return Err(Failure::Usage);
    }
    let threads = service::<IThreads>(context.namespace, THREADS_PATH, 0)?;
    if let Ok(scheduler) = service::<IScheduler>(context.namespace, SCHEDULER_PATH, 0) {
        let mut name = [0u8; 64];
        let length = scheduler.policy_name(&mut name).unwrap_or(0);
        let name = core::str::from_utf8(name.get(..length).unwrap_or_default()).unwrap_or("?");
        let _ = writeln!(context.output, "policy: {name}");
    }
    let _ = writeln!(
        context.output,
        "{:>4}  {:<16} {:<8} {:>12} {:>14}",
        "id", "name", "state", "cpu ticks", "stack used"
    );
    for index in 0..threads.count().map_err(failed(THREADS_PATH))? {
        let Ok(thread) = threads.status(index) else {
            // The thread exited and was joined meanwhile.
            continue;
        };
        let name = thread
            .name
            .get(..thread.name_length as usize)
            .unwrap_or_default();
        let state = state_name(thread.state);
        let stack = if thread.stack_size == 0 {
            String::from("boot stack")
        } else {
            format!("{}/{}", thread.stack_used, thread.stack_size)
        };
        let _ = writeln!(
            context.output,
            "{:>4}  {:<16} {:<8} {:>12} {:>14}",
            thread.id,
            core::str::from_utf8(name).unwrap_or("?"),
            state,
            thread.cpu_ticks,
            stack
        );
    }
    processes::list(context);
    Ok(None)
}

fn sched(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    let scheduler = service::<IScheduler>(context.namespace, SCHEDULER_PATH, 0)?;
    match arguments {
        [] => {}
        [policy] => scheduler.use_policy(policy).map_err(failed(policy))?,
        _ => return Err(Failure::Usage),
    }
    let mut name = [0u8; 64];
    let length = scheduler
        .policy_name(&mut name)
        .map_err(failed(SCHEDULER_PATH))?;
    let name = core::str::from_utf8(name.get(..length).unwrap_or_default()).unwrap_or("?");
    let _ = writeln!(context.output, "policy: {name}");
    Ok(None)
}

/// A component only the test image holds: where it is missing, the error
/// says where to find it.
fn test_component<I: com::Interface>(
    namespace: &INamespace,
    path: &str,
) -> Result<ComPtr<I>, Failure> {
    service::<I>(namespace, path, 0).map_err(|failure| match failure {
        Failure::Status(_, Status::NOT_FOUND) => Failure::Status(
            alloc::format!("{path} (a test component: `cargo xtask run --test-image`)"),
            Status::NOT_FOUND,
        ),
        other => other,
    })
}

fn selftest(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    if !arguments.is_empty() {
        return Err(Failure::Usage);
    }
    let checks = test_component::<ISelfTests>(context.namespace, SELFTEST_PATH)?;
    let (mut passed, mut failed_count) = (0, 0);
    for index in 0..checks.count().map_err(failed(SELFTEST_PATH))? {
        let mut name = [0u8; 64];
        let length = checks
            .name(index, &mut name)
            .map_err(failed(SELFTEST_PATH))?;
        let name = core::str::from_utf8(name.get(..length).unwrap_or_default()).unwrap_or("?");
        let verdict = match checks.run(index) {
            Ok(()) => {
                passed += 1;
                "ok"
            }
            Err(Status::NOT_SUPPORTED) => "skipped (the current policy cannot run it)",
            Err(_) => {
                failed_count += 1;
                "FAILED"
            }
        };
        let _ = writeln!(context.output, "test {name} ... {verdict}");
    }
    let _ = writeln!(
        context.output,
        "selftest: {passed} passed, {failed_count} failed"
    );
    Ok(None)
}

fn bench(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    let filter = match arguments {
        [] => String::new(),
        words => words.join(" "),
    };
    let benchmarks = test_component::<IBenchmarks>(context.namespace, BENCH_PATH)?;
    for index in 0..benchmarks.count().map_err(failed(BENCH_PATH))? {
        let mut name = [0u8; 64];
        let length = benchmarks
            .name(index, &mut name)
            .map_err(failed(BENCH_PATH))?;
        let name = core::str::from_utf8(name.get(..length).unwrap_or_default()).unwrap_or("?");
        if !name.contains(filter.as_str()) {
            continue;
        }
        match benchmarks.run(index) {
            Ok(figure) => {
                let _ = writeln!(context.output, "bench: {name}: {figure} instructions");
            }
            // What it measures is not there (the storage figures, on a
            // machine without the benchmark disk).
            Err(Status::NOT_FOUND) => {
                let _ = writeln!(context.output, "bench: {name}: skipped: not found");
            }
            Err(status) => return Err(Failure::Status(name.into(), status)),
        }
    }
    Ok(None)
}

fn poweroff(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    if !arguments.is_empty() {
        return Err(Failure::Usage);
    }
    let power = service::<IPower>(context.namespace, POWER_PATH, 0)?;
    power.power_off(0).map_err(failed(POWER_PATH))?;
    Ok(Some(Exit::PowerOff))
}
