//! Applications in their own address spaces: `run` (in the foreground, or
//! in the background with a trailing `&`), `kill`, `move` (an object into
//! a process), and the processes part of `ps`. The shell holds each background process as `%<id>` among the
//! objects it holds; the IPC component (`/sys/ipc`) makes them. Ctrl-C
//! ends the foreground process.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use com::{ComPtr, IUnknown, Interface, Status};
use interfaces::ipc::{MANAGER_PATH, ProcessStatus, process_state};
use interfaces::{IEndpoint, IProcessManager, IScheduler, IUserProcess};
use private_interfaces::{ICallback, ICounter, IEcho, IRelay};

use crate::context::{Context, Failure, Outcome, SCHEDULER_PATH, absolute, failed, service};
use crate::line::{CTRL_C, MAX_LINE};

/// How often the shell looks at the console and the foreground process.
const POLL_MS: u64 = 10;
/// The most bytes kept for the prompt while a foreground process runs.
const MAX_TYPEAHEAD: usize = 4 * MAX_LINE;

/// What a process is granted besides what `--grant` adds, unless `run`
/// is given `--only`.
const GRANTED_BY_DEFAULT: &str = "/dev/console";

/// `run [--only] [--grant NAME]... IMAGE [ARGS...] [&]`.
pub fn run(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    let (background, arguments) = match arguments.split_last() {
        Some((&"&", rest)) => (true, rest),
        _ => (false, arguments),
    };
    let (grants, rest) = grants(arguments);
    let (&image, words) = rest.split_first().ok_or(Failure::Usage)?;
    let manager = service::<IProcessManager>(context.namespace, MANAGER_PATH, 0)?;
    let process = manager
        .create(image, &words.join(" "), &grants)
        .map_err(failed(image))?;
    // The manager stays loaded while any process of it is held.
    drop(manager);
    let status = process.status().map_err(failed(image))?;
    if background {
        let _ = writeln!(context.output, "[{}] {image}", status.id);
        context
            .held
            .put(format!("%{}", status.id), process.to_unknown());
        return Ok(None);
    }
    let ended = wait_foreground(context, &process);
    report(context, image, status.id, ended);
    Ok(None)
}

/// The names `run`'s options grant (separated by spaces), and the
/// arguments after them: each `--grant NAME`, and [`GRANTED_BY_DEFAULT`]
/// unless `--only` is among them.
fn grants<'a, 'b>(arguments: &'a [&'b str]) -> (String, &'a [&'b str]) {
    let mut granted = Vec::new();
    let mut only = false;
    let mut rest = arguments;
    loop {
        match rest {
            ["--only", tail @ ..] => {
                only = true;
                rest = tail;
            }
            ["--grant", name, tail @ ..] => {
                granted.push(*name);
                rest = tail;
            }
            _ => break,
        }
    }
    if !only {
        granted.insert(0, GRANTED_BY_DEFAULT);
    }
    (granted.join(" "), rest)
}

/// Waits for the foreground process to end, killing it on Ctrl-C. No
/// other thread may read the console (it would take bytes the prompt
/// needs), so this thread polls: the process's state, then the input
/// already waiting, where Ctrl-C kills and every other byte is kept for
/// the prompt. Without a console that can be polled or a scheduler to
/// sleep on, it just waits, and Ctrl-C waits with the rest of the input.
fn wait_foreground(context: &mut Context<'_>, process: &IUserProcess) -> com::Result<i32> {
    let Ok(scheduler) = service::<IScheduler>(context.namespace, SCHEDULER_PATH, 0) else {
        return process.wait();
    };
    let period = scheduler.ticks_per_second()? * POLL_MS / 1000;
    let mut buffer = [0u8; 64];
    while process.status()?.state != process_state::ENDED {
        let Ok(count) = context.output.console().take_waiting(&mut buffer) else {
            return process.wait();
        };
        for &byte in buffer.get(..count).unwrap_or_default() {
            if byte == CTRL_C {
                context.output.raw(b"^C\r\n");
                // A process that has just ended refuses; the loop sees it.
                let _ = process.kill();
            } else if context.held.typeahead.len() < MAX_TYPEAHEAD {
                context.held.typeahead.push_back(byte);
            }
        }
        scheduler.sleep_until(scheduler.now()?.saturating_add(period.max(1)))?;
    }
    process.wait()
}

/// Prints how process `id` ended.
fn report(context: &mut Context<'_>, image: &str, id: u64, ended: com::Result<i32>) {
    let _ = match ended {
        Ok(code) => writeln!(context.output, "[{id}] {image}: exited with {code}"),
        Err(status) => writeln!(
            context.output,
            "[{id}] {image}: ended: {}",
            status.message()
        ),
    };
}

/// `kill ID`: ends a background process and lets it go.
pub fn kill(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    let [id] = arguments else {
        return Err(Failure::Usage);
    };
    let key = format!("%{}", id.trim_start_matches('%'));
    let object = context
        .held
        .take(&key)
        .ok_or_else(|| Failure::Status(key.clone(), Status::NOT_FOUND))?;
    let process = object.query::<IUserProcess>().map_err(failed(&key))?;
    process.kill().map_err(failed(&key))?;
    let ended = process.wait();
    let id = id.trim_start_matches('%').parse().unwrap_or(0);
    report(context, &key, id, ended);
    Ok(None)
}

/// `move NAME PID`: the object named NAME moves into process PID (an
/// object host), and NAME forwards every call to it there.
pub fn move_object(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    let [name, id] = arguments else {
        return Err(Failure::Usage);
    };
    let name = absolute(name);
    let pid: u64 = id
        .trim_start_matches('%')
        .parse()
        .map_err(|_| Failure::Usage)?;
    let manager = service::<IProcessManager>(context.namespace, MANAGER_PATH, 0)?;
    if let Err(status) = manager.move_object(&name, pid) {
        let why = match status {
            Status::NOT_FOUND => "no such process (or name)",
            Status::NO_INTERFACE => "the process hosts no objects",
            Status::ACCESS_DENIED => "not mutable",
            Status::NOT_SUPPORTED => "not mobile",
            Status::REFUSED => "the host refused it",
            _ => "not moved",
        };
        return Err(Failure::Status(format!("{name} into {pid}: {why}"), status));
    }
    let _ = writeln!(context.output, "{name}: moved into process {pid}");
    Ok(None)
}

/// The processes part of `ps`: each background process with its space;
/// those that have ended are reported once and let go.
pub fn list(context: &mut Context<'_>) {
    let mut lines: Vec<(String, ProcessStatus)> = Vec::new();
    for key in context.held.names() {
        if let Some(Ok(process)) = context
            .held
            .get(&key)
            .map(|object| object.query::<IUserProcess>())
            && let Ok(status) = process.status()
        {
            lines.push((key, status));
        }
    }
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(
        context.output,
        "{:>4}  {:<16} {:>6} {:<10} {:>7}  state",
        "pid", "name", "thread", "space", "imports"
    );
    for (key, status) in lines {
        let _ = writeln!(context.output, "{}", line(&status));
        if status.state == process_state::ENDED {
            drop(context.held.take(&key));
        }
    }
}

/// One process's line of `ps`.
fn line(status: &ProcessStatus) -> String {
    let name = status
        .name
        .get(..status.name_length as usize)
        .unwrap_or_default();
    let state = if status.state == process_state::ENDED {
        match status.exit_status {
            code if code >= 0 => format!("exited with {code}"),
            code => format!("ended: {}", Status(code).message()),
        }
    } else {
        String::from("running")
    };
    format!(
        "{:>4}  {:<16} {:>6} {:<10} {:>7}  {state}",
        status.id,
        core::str::from_utf8(name).unwrap_or("?"),
        status.thread,
        format!("space-{}", status.space),
        status.imports
    )
}

/// `call-echo NAME [MS]`: calls the `IEcho` at `NAME` from the shell's own
/// thread — for an object a process serves, through a kernel-space proxy
/// (with a timeout of `MS` milliseconds, if given) — a null call, 64
/// bytes in and 80 out, 16 bytes reversed in place and a string, and
/// prints what came back.
pub fn call_echo(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    let (name, timeout) = match arguments {
        [name] => (*name, 0),
        [name, timeout] => (*name, timeout.parse().map_err(|_| Failure::Usage)?),
        _ => return Err(Failure::Usage),
    };
    let name = absolute(name);
    let object = context.namespace.bind(&name, 0).map_err(failed(&name))?;
    let echo = match object.query::<IEndpoint>() {
        Ok(endpoint) if timeout != 0 => endpoint
            .proxy(timeout)
            .and_then(|proxy| proxy.query::<IEcho>()),
        _ => object.query::<IEcho>(),
    }
    .map_err(failed(&name))?;
    echo.nothing().map_err(failed("null call"))?;
    let data: [u8; 64] = core::array::from_fn(|index| u8::try_from(index).unwrap_or(0));
    let mut out = [0x55u8; 80];
    let echoed = echo.echo(&data, &mut out).map_err(failed("echo"))?;
    let copied = out.get(..echoed) == data.get(..echoed);
    let mut reversed: [u8; 16] = core::array::from_fn(|index| u8::try_from(index).unwrap_or(0));
    echo.reverse(com::InOut(&mut reversed))
        .map_err(failed("reverse"))?;
    let reversed = reversed.iter().rev().copied().eq(0..16u8);
    let characters = echo
        .characters("héllo, wörld")
        .map_err(failed("characters"))?;
    let _ = writeln!(
        context.output,
        "call-echo: null call ok; echoed {echoed} bytes (copied: {copied}, tail {:#04x}); reversed: {reversed}; characters: {characters}",
        out[79]
    );
    Ok(None)
}

/// `call-relay NAME`: asks the `IRelay` at `NAME` (a process's, by a
/// kernel-space proxy) for a counter starting at 5 — an owned interface
/// its process makes, which comes back as a kernel-space proxy too — and
/// adds 2 through it; asks that proxy for its other interfaces
/// ([`query_counter`]); lends the process what it gets
/// ([`lend_callback`]); then releases the counter and prints what the
/// relay counts live before and after the release.
pub fn call_relay(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    let [name] = arguments else {
        return Err(Failure::Usage);
    };
    let name = absolute(name);
    let relay = context
        .namespace
        .bind(&name, 0)
        .and_then(|object| object.query::<IRelay>())
        .map_err(failed(&name))?;
    let counter = relay.make(5).map_err(failed("make"))?;
    let total = counter.add(2).map_err(failed("add"))?;
    let _ = writeln!(context.output, "call-relay: counter at {total}");
    let callback = query_counter(context, &relay, &counter)?;
    lend_callback(context, &relay, &callback)?;
    let live = relay.live().map_err(failed("live"))?;
    drop((counter, callback));
    let after = relay.live().map_err(failed("live"))?;
    let _ = writeln!(
        context.output,
        "call-relay: live {live} then {after} after release"
    );
    Ok(None)
}

/// `QueryInterface` on kernel-space proxies: the process's counter asked
/// for `ICallback` (which the object has: a proxy of a new endpoint,
/// called), `IEcho` (which it lacks), `IUnknown` twice and `ICounter`
/// (the proxy itself); the relay asked for `ICounter`. The callback.
fn query_counter(
    context: &mut Context<'_>,
    relay: &ComPtr<IRelay>,
    counter: &ComPtr<ICounter>,
) -> Result<ComPtr<ICallback>, Failure> {
    let callback = counter
        .query::<ICallback>()
        .map_err(failed("query callback"))?;
    let called = callback.called(3).map_err(failed("called"))?;
    let echo = status_of(counter.query::<IEcho>());
    let identity = counter.query::<IUnknown>().map_err(failed("query"))?;
    let again = counter.query::<IUnknown>().map_err(failed("query"))?;
    let itself = counter.query::<ICounter>().map_err(failed("query"))?;
    let same = identity.as_raw() == again.as_raw() && itself.as_raw() == counter.as_raw();
    let relay_counter = status_of(relay.query::<ICounter>());
    let _ = writeln!(
        context.output,
        "call-relay: queried callback {called}, echo: {echo}; same identity: {same}; relay as counter: {relay_counter}"
    );
    Ok(callback)
}

/// Lends the relay's process `callback`, a kernel-space proxy of its own
/// object — an object of the kernel's space to the process, whose calls
/// of it run nested in this call, back in the process — twice during the
/// call; then to keep past the call, whose later call is refused (a
/// borrowed pointer lasts as long as the call).
fn lend_callback(
    context: &mut Context<'_>,
    relay: &ComPtr<IRelay>,
    callback: &ComPtr<ICallback>,
) -> Result<(), Failure> {
    let through = relay.relay(callback, 1, 2).map_err(failed("relay"))?;
    relay.keep(callback).map_err(failed("keep"))?;
    let kept = status_of(relay.call_kept(5));
    let _ = writeln!(
        context.output,
        "call-relay: relay through a proxy {through}; kept callback: {kept}"
    );
    Ok(())
}

/// What a call that should fail ended with.
fn status_of<T>(result: Result<T, Status>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(status) => status.message(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_are_the_console_and_each_grant_or_only_the_grants() {
        let (grants, rest) = super::grants(&["--grant", "/svc/a", "apptest", "x"]);
        assert_eq!(grants, "/dev/console /svc/a");
        assert_eq!(rest, ["apptest", "x"]);
        let (grants, rest) = super::grants(&["--grant", "/svc/a", "--only", "apptest"]);
        assert_eq!(grants, "/svc/a");
        assert_eq!(rest, ["apptest"]);
        let (grants, rest) = super::grants(&["--only", "apptest", "--grant"]);
        assert_eq!(grants, "");
        assert_eq!(rest, ["apptest", "--grant"]);
    }

    #[test]
    fn a_line_shows_the_process_its_space_and_how_it_ended() {
        let mut status = ProcessStatus {
            id: 3,
            thread: 41,
            space: 2,
            imports: 1,
            name_length: 7,
            ..ProcessStatus::default()
        };
        status.name[..7].copy_from_slice(b"apptest");
        assert_eq!(
            line(&status),
            "   3  apptest              41 space-2          1  running"
        );
        status.state = process_state::ENDED;
        status.exit_status = Status::KILLED.0;
        assert!(line(&status).ends_with("ended: killed"));
        status.exit_status = 7;
        assert!(line(&status).ends_with("exited with 7"));
    }
}
