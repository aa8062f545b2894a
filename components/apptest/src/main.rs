//! Test application: runs in U-mode in its own address space and calls kernel-space objects through proxies, serves or calls objects of other processes, or misbehaves on purpose, as its arguments say.
//!
//! `run [--grant NAME]... apptest WHAT` (the shell grants it
//! `/dev/console` and each NAME; the modes below that bind `/counter` need
//! `--grant /counter`):
//!
//! - `counter N`: adds N to the counter at `/counter` and prints the
//!   total; exits with 0.
//! - `add N`: adds N to the counter at `/counter` and exits with 0,
//!   printing nothing (the selftest's thousand cycles).
//! - `add-many N`: adds 1 to the counter at `/counter` N times, pausing
//!   1 ms after every 16, then prints how many additions succeeded and the
//!   versions that answered first and last; exits with 0 if all did.
//! - `add-until-fails`: adds 1 to the counter at `/counter` every 5 ms
//!   until an addition fails (its object moved into a host that was then
//!   killed, say), prints the failure's status and exits with 0.
//! - `heap N`: collects N numbers in a `Vec`, formats a `String`, boxes
//!   their sum and fills a 256 KiB vector (past the heap's first growth),
//!   prints what it made; exits with 0.
//! - `exit N`: exits with code N at once.
//! - `fault`: stores to an address nothing maps: the process ends with
//!   `ACCESS_VIOLATION`.
//! - `write-rodata`: stores to its own read-only data: the process ends
//!   with `ACCESS_VIOLATION` (the image is mapped W^X, read-only data
//!   read-only).
//! - `hostile`: makes every kind of bad call (bad pointers, overflowing
//!   lengths, bad handles and method numbers, an unknown service, a name
//!   not granted) and prints each refusal; exits with how many were not
//!   refused as they should be.
//! - `waits`: waits on a word of its own memory — a value that differs
//!   (refused at once), a timeout, a wake with no waiter, and hostile
//!   addresses — printing each answer; exits with how many were wrong.
//! - `wait-forever`: waits on [`SHARED_WORD`] with no timeout, until
//!   killed.
//! - `wake-shared`: wakes every waiter on [`SHARED_WORD`] — the same
//!   address as in every other apptest process, but of its own space — and
//!   exits with how many it woke.
//! - `spin`: loops until killed.
//! - `serve NAME`: serves an `IEcho` under NAME (which it must be
//!   granted) until killed; `serve-hang NAME`: the same, but its
//!   `nothing` never returns; `serve-fault NAME`: its `nothing` stores
//!   to an address nothing maps.
//! - `serve-fp NAME`: the same, but its `nothing` fails unless every
//!   floating-point register (and `fcsr`) starts zero, then fills them
//!   all with values of its own.
//! - `client-fp NAME`: fills every floating-point register and `fcsr`,
//!   calls `nothing` at NAME in the same `asm!` block, and prints whether
//!   the call succeeded (the server saw zeros) and how many of the 33 came
//!   back as they were; exits with how many did not, or the call's status.
//! - `serve-counter NAME`: serves an `ICounter` under NAME until killed.
//! - `host NAME`: serves an `IObjectHost` under NAME until killed: the IPC
//!   moves a kernel-space counter into it (`move` in the shell), and it
//!   builds a counter of its own from the counter's state, which answers
//!   `version` with `HOSTED_VERSION` (3).
//! - `confined NAME`: run granted only NAME (`run --only --grant NAME`,
//!   no console): adds to the `ICounter` at NAME, then tries what it was
//!   not given — binding `/dev/console`, `/counter`, the mutation service
//!   `/mutate`, the process manager `/sys/ipc`; registering over NAME and
//!   under `/dev/console`; `ecall` services nobody installed — and exits
//!   with a bit set for each answer that was not the refusal expected
//!   (0: all refused; it cannot print).
//! - `client NAME`: calls the `IEcho` another process serves at NAME: a
//!   null call and 64-byte buffers in and out, and prints what came back.
//! - `client-hang NAME`: calls `nothing` at NAME and prints how the call
//!   ended (the server is killed meanwhile), then how a second call does.
//! - `client-timeout NAME`: the same with a 200 ms timeout on the import.
//! - `relay-serve NAME`: serves an `IRelay` under NAME until killed: it
//!   calls back the `ICallback` it is lent, and makes counters (also
//!   callbacks) its callers own.
//! - `callback NAME`: lends the `IRelay` at NAME a callback that counts
//!   its calls, then one that calls the relay again from inside, has it
//!   make a counter and uses it, asks the counter's
//!   proxy for `ICallback` (and for `IEcho`, which it lacks), lends that
//!   proxy back to the relay, releases both and prints the relay's count
//!   of live counters after each step.
//! - `callback-hang NAME`: lends the relay at NAME a callback that prints
//!   and then never returns; prints how the relay call ended (the server
//!   is killed meanwhile).
//! - `names COUNTER NAME`: through its namespace (`app::namespace()`):
//!   lists every name it sees; binds the `ICounter` at COUNTER and adds 2;
//!   binds `/counter` (not granted); registers that counter under NAME,
//!   again over it, and an object of its own; unregisters COUNTER (not
//!   its) and NAME, and registers NAME again; prints each answer, then
//!   waits until killed.
//! - `hold-made NAME`: has the `IRelay` at NAME make a counter, prints
//!   that it holds it and waits until killed, never releasing it.
//! - `null-call N`, `buffers N`: the instructions of one round trip of
//!   `IEcho::nothing`, or of `IEcho::echo` with 64-byte buffers in and
//!   out, through the proxy of `/bench/echo` — the least of N — as its
//!   exit code (for the benchmarks, which serve the object).

#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use app::{Proxy, ecall};
use com::{ComObject, ComPtr, InOut, Interface, Result, Status, class};
use interfaces::IConsole;
use interfaces::ipc::ecall as service;
use private_interfaces::counter::{CounterStateV1, FORMAT_V1, HOSTED_VERSION};
use private_interfaces::{
    ICallback, ICallbackImpl, ICounter, ICounterImpl, IEcho, IEchoImpl, IHello, IObjectHost,
    IObjectHostImpl, IRelay,
};
use relay_objects::Relay;

mod fp;

app::application!(main);

fn main(arguments: &'static str) -> i32 {
    let mut words = arguments.split_whitespace();
    let what = words.next().unwrap_or("");
    let number = words
        .next()
        .and_then(|word| word.parse().ok())
        .unwrap_or(0u64);
    match what {
        "counter" => counter(number).map_or_else(|status| status.0, |()| 0),
        "add" => add(number).map_or_else(|status| status.0, |()| 0),
        "add-many" => add_many(number).map_or_else(|status| status.0, |()| 0),
        "add-until-fails" => add_until_fails().map_or_else(|status| status.0, |()| 0),
        "heap" => heap(number).map_or_else(|status| status.0, |()| 0),
        "exit" => i32::try_from(number).unwrap_or(i32::MAX),
        "fault" => fault(),
        "write-rodata" => write_read_only(),
        "hostile" => hostile(),
        "waits" => waits(),
        "wait-forever" => {
            let at = address_of(&SHARED_WORD);
            let (a0, _) = ecall(service::WAIT, 0, [at, 0, u64::MAX, 0, 0, 0, 0, 0]);
            status_of(a0).0
        }
        "wake-shared" => {
            let at = address_of(&SHARED_WORD);
            let (a0, woken) = ecall(service::WAKE, 0, [at, u64::MAX, 0, 0, 0, 0, 0, 0]);
            status_of(a0).check().map_or_else(
                |status| status.0,
                |()| i32::try_from(woken).unwrap_or(i32::MAX),
            )
        }
        "spin" => loop {
            core::hint::spin_loop();
        },
        "serve" | "serve-hang" | "serve-hang-exit" | "serve-fault" | "serve-fp" => {
            serve(words_after(arguments), what)
        }
        "client-fp" => fp::client(words_after(arguments)),
        "serve-counter" => serve_counter(words_after(arguments)),
        "host" => host(words_after(arguments)),
        "confined" => confined(words_after(arguments)),
        "client" => client(words_after(arguments)).map_or_else(|status| status.0, |()| 0),
        "client-hang" | "client-timeout" => {
            client_hang(words_after(arguments), what == "client-timeout")
                .map_or_else(|status| status.0, |()| 0)
        }
        "relay-serve" => relay_serve(words_after(arguments)),
        "callback" => callback(words_after(arguments)).map_or_else(|status| status.0, |()| 0),
        "callback-hang" => {
            callback_hang(words_after(arguments)).map_or_else(|status| status.0, |()| 0)
        }
        "names" => {
            let mut names = arguments.split_whitespace().skip(1);
            let (counter, name) = (names.next().unwrap_or(""), names.next().unwrap_or(""));
            names_through_the_view(counter, name).map_or_else(|status| status.0, |()| 0)
        }
        "hold-made" => hold_made(words_after(arguments)).map_or_else(|status| status.0, |()| 0),
        "null-call" => timed(number, |echo| echo.nothing()),
        "buffers" => timed(number, |echo| {
            let data = [7u8; 64];
            let mut out = [0u8; 64];
            let copied = echo.echo(&data, &mut out)?;
            if copied != 64 || out != data {
                return Err(Status::FAILED);
            }
            Ok(())
        }),
        _ => Status::INVALID_ARGUMENT.0,
    }
}

/// The second word of `arguments` (a name).
fn words_after(arguments: &str) -> &str {
    arguments.split_whitespace().nth(1).unwrap_or("")
}

/// The `IEcho` a process serves.
#[class(IEcho)]
struct Echo {
    /// `nothing` never returns.
    hang: bool,
    /// `nothing` stores where nothing is mapped.
    fault: bool,
    /// `nothing` checks the floating-point registers start zero and
    /// leaves values of its own in them.
    fp: bool,
}

impl IEchoImpl for Echo {
    fn nothing(&self) -> Result<()> {
        if self.fault {
            fault();
        }
        if self.fp {
            return fp::serve();
        }
        if self.hang {
            loop {
                core::hint::spin_loop();
            }
        }
        Ok(())
    }

    fn echo(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        let length = data.len().min(out.len());
        out[..length].copy_from_slice(&data[..length]);
        // Marks what the server wrote past the copy, so the client sees
        // the whole out buffer came back.
        for byte in &mut out[length..] {
            *byte = 0xee;
        }
        Ok(length)
    }

    fn reverse(&self, mut data: InOut<'_>) -> Result<()> {
        data.reverse();
        Ok(())
    }

    fn characters(&self, text: &str) -> Result<u32> {
        Ok(u32::try_from(text.chars().count()).unwrap_or(u32::MAX))
    }
}

/// Serves an `Echo` under `name` until killed; `how` is the mode's name.
fn serve(name: &str, how: &str) -> i32 {
    let Ok(console) = Proxy::<IConsole>::bind("/dev/console") else {
        return 100;
    };
    let echo = ComObject::unboxed(Echo {
        hang: how.starts_with("serve-hang"),
        fault: how == "serve-fault",
        fp: how == "serve-fp",
    });
    match app::register(name, echo.interface::<IEcho>()) {
        Ok(_) => print(&console, format_args!("apptest: serving {name}")),
        Err(status) => {
            print(
                &console,
                format_args!("apptest: register {name}: {}", status.0),
            );
            return status.0;
        }
    }
    if how == "serve-hang-exit" {
        // Ends its process half a second on, whatever call hangs in it.
        let word = core::sync::atomic::AtomicU32::new(0);
        let (a0, _) = ecall(
            service::WAIT,
            0,
            [address_of(&word), 0, 500_000, 0, 0, 0, 0, 0],
        );
        return if status_of(a0) == Status::TIMED_OUT {
            7
        } else {
            8
        };
    }
    app::serve().0
}

/// The `ICounter` a process serves, or hosts for a counter moved in.
#[class(ICounter)]
struct Counter {
    total: core::sync::atomic::AtomicU64,
    /// What `version` answers.
    version: u32,
}

impl ICounterImpl for Counter {
    fn add(&self, amount: u64) -> Result<u64> {
        use core::sync::atomic::Ordering;
        Ok(self.total.fetch_add(amount, Ordering::Relaxed) + amount)
    }

    fn total(&self) -> Result<u64> {
        Ok(self.total.load(core::sync::atomic::Ordering::Relaxed))
    }

    fn version(&self) -> Result<u32> {
        Ok(self.version)
    }
}

/// Serves a `Counter` under `name` until killed.
fn serve_counter(name: &str) -> i32 {
    let Ok(console) = Proxy::<IConsole>::bind("/dev/console") else {
        return 100;
    };
    let counter = ComObject::unboxed(Counter {
        total: core::sync::atomic::AtomicU64::new(0),
        version: 1,
    });
    if let Err(status) = app::register(name, counter.interface::<ICounter>()) {
        return status.0;
    }
    print(
        &console,
        format_args!("apptest: serving a counter at {name}"),
    );
    app::serve().0
}

/// The `IObjectHost` a process serves: counters moved in become its own.
#[class(IObjectHost)]
struct Host;

impl IObjectHostImpl for Host {
    fn adopt(&self, layout: &com::Guid, state: &[u8]) -> Result<ComPtr<ICounter>> {
        if *layout != <CounterStateV1 as com::PublishedState>::ID {
            return Err(Status::NOT_SUPPORTED);
        }
        let (format, total) =
            CounterStateV1::from_carried(state).ok_or(Status::INVALID_ARGUMENT)?;
        if format != FORMAT_V1 {
            return Err(Status::NOT_SUPPORTED);
        }
        Ok(ComObject::create(Counter {
            total: AtomicU64::new(total),
            version: HOSTED_VERSION,
        }))
    }
}

/// Serves a `Host` under `name` until killed.
fn host(name: &str) -> i32 {
    let Ok(console) = Proxy::<IConsole>::bind("/dev/console") else {
        return 100;
    };
    let host = ComObject::unboxed(Host);
    if let Err(status) = app::register(name, host.interface::<IObjectHost>()) {
        return status.0;
    }
    print(
        &console,
        format_args!("apptest: serving {name}, an object host"),
    );
    app::serve().0
}

/// What a process granted only `name` (an `ICounter`) may do: call it,
/// and nothing else. A bit of the exit code for each check that went
/// otherwise (it has no console to say so).
fn confined(name: &str) -> i32 {
    let added = Proxy::<ICounter>::bind(name).and_then(|counter| {
        let total = counter.get().add(5)?;
        Ok(total >= 5 && counter.get().total()? == total)
    });
    let mut checks = [false; 9];
    checks[0] = added == Ok(true);
    checks[1] = Proxy::<IConsole>::bind("/dev/console").err() == Some(Status::ACCESS_DENIED);
    checks[2] = Proxy::<ICounter>::bind("/counter").err() == Some(Status::ACCESS_DENIED);
    checks[3] = bind_iid("/mutate", &interfaces::IMutate::IID) == Status::ACCESS_DENIED;
    checks[4] = bind_iid("/sys/ipc", &interfaces::IProcessManager::IID) == Status::ACCESS_DENIED;
    let counter = ComObject::unboxed(Counter {
        total: core::sync::atomic::AtomicU64::new(0),
        version: 1,
    });
    let object = counter.interface::<ICounter>();
    checks[5] = app::register(name, object).err() == Some(Status::ALREADY_EXISTS);
    checks[6] = app::register("/dev/console", object).err() == Some(Status::ACCESS_DENIED);
    for (check, number) in checks[7..]
        .iter_mut()
        .zip([service::FIRST_UNDEFINED, 0x1234_5678])
    {
        let (a0, _) = ecall(number, 0, [0; 8]);
        *check = status_of(a0) == Status::NOT_SUPPORTED;
    }
    checks
        .iter()
        .enumerate()
        .map(|(bit, &passed)| i32::from(!passed) << bit)
        .sum()
}

/// The status of binding `name` for the interface `iid` by `ecall`.
fn bind_iid(name: &str, iid: &com::Guid) -> Status {
    let (a0, handle) = ecall(
        service::BIND,
        0,
        [
            name.as_ptr() as u64,
            name.len() as u64,
            core::ptr::from_ref(iid).addr() as u64,
            0,
            0,
            0,
            0,
            0,
        ],
    );
    if status_of(a0).is_ok() {
        ecall(service::RELEASE, 0, [handle, 0, 0, 0, 0, 0, 0, 0]);
    }
    status_of(a0)
}

/// Calls the `IEcho` served at `name`: a null call, then buffers.
fn client(name: &str) -> Result<()> {
    let console = Proxy::<IConsole>::bind("/dev/console")?;
    let echo = Proxy::<IEcho>::bind(name)?;
    echo.get().nothing()?;
    let data: [u8; 64] = core::array::from_fn(|index| u8::try_from(index).unwrap_or(0));
    let mut out = [0u8; 80];
    let copied = echo.get().echo(&data, &mut out)?;
    let same = out[..64] == data && out[64..].iter().all(|&byte| byte == 0xee);
    // An in-out buffer goes to the server and comes back changed.
    let mut both_ways: [u8; 16] = core::array::from_fn(|index| u8::try_from(index).unwrap_or(0));
    echo.get().reverse(InOut(&mut both_ways))?;
    let reversed = both_ways.iter().rev().copied().eq(0..16);
    print(
        &console,
        format_args!(
            "apptest: null call ok; echoed {copied} bytes, out buffer intact: {same}, in-out reversed: {reversed}"
        ),
    );
    Ok(())
}

/// Calls `nothing` at `name` (which never returns) and prints how the
/// call ended, then how a second call ends.
fn client_hang(name: &str, timeout: bool) -> Result<()> {
    let console = Proxy::<IConsole>::bind("/dev/console")?;
    let echo = Proxy::<IEcho>::bind(name)?;
    if timeout {
        app::set_timeout(&echo, 200)?;
    }
    print(&console, format_args!("apptest: calling {name}"));
    let first = echo.get().nothing().err().unwrap_or(Status::OK);
    print(&console, format_args!("apptest: call ended: {}", first.0));
    let second = echo.get().nothing().err().unwrap_or(Status::OK);
    print(&console, format_args!("apptest: next call: {}", second.0));
    Ok(())
}

/// Serves a `Relay` under `name` until killed.
fn relay_serve(name: &str) -> i32 {
    let Ok(console) = Proxy::<IConsole>::bind("/dev/console") else {
        return 100;
    };
    let relay = ComObject::unboxed(Relay::new());
    if let Err(status) = app::register(name, relay.interface::<IRelay>()) {
        print(
            &console,
            format_args!("apptest: register {name}: {}", status.0),
        );
        return status.0;
    }
    print(&console, format_args!("apptest: serving {name}"));
    app::serve().0
}

/// The callback a client lends: counts its calls and doubles what it is
/// given; or, hanging, prints and never returns.
#[class(ICallback)]
struct Counted {
    calls: AtomicU32,
    hang: bool,
}

impl ICallbackImpl for Counted {
    fn called(&self, value: u64) -> Result<u64> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if self.hang {
            let console = Proxy::<IConsole>::bind("/dev/console")?;
            print(&console, format_args!("apptest: in the callback"));
            loop {
                core::hint::spin_loop();
            }
        }
        Ok(value * 2)
    }
}

/// A callback that calls the relay at `relay` in turn: the thread goes
/// client, server, client, server, and comes back out the same way.
#[class(ICallback)]
struct Nesting {
    relay: &'static str,
}

impl ICallbackImpl for Nesting {
    fn called(&self, value: u64) -> Result<u64> {
        let relay = Proxy::<IRelay>::bind(self.relay)?;
        Ok(value + u64::from(relay.get().live()?))
    }
}

/// Interface pointers both ways through the relay at `name`.
fn callback(name: &'static str) -> Result<()> {
    let console = Proxy::<IConsole>::bind("/dev/console")?;
    let relay = Proxy::<IRelay>::bind(name)?;
    let counted = ComObject::unboxed(Counted {
        calls: AtomicU32::new(0),
        hang: false,
    });
    // Lent out: the server calls it back, here.
    let sum = relay.get().relay(counted.interface::<ICallback>(), 10, 3)?;
    let calls = counted.value().calls.load(Ordering::Relaxed);
    print(
        &console,
        format_args!("apptest: relay gave {sum} after {calls} callbacks"),
    );
    // A callback that calls the server again, nested three deep.
    let nesting = ComObject::unboxed(Nesting { relay: name });
    let nested = relay
        .get()
        .relay(nesting.interface::<ICallback>(), 100, 1)?;
    print(
        &console,
        format_args!("apptest: nested callback gave {nested}"),
    );
    // Made by the server, owned here.
    let made = relay.get().make(5)?;
    let total = made.add(3)?;
    let live = relay.get().live()?;
    print(
        &console,
        format_args!("apptest: made counter total {total}, live {live}"),
    );
    // Asked for another interface the object has, and for one it lacks.
    let as_callback = made.query::<ICallback>()?;
    let added = as_callback.called(2)?;
    let lacking = made.query::<IEcho>().err().unwrap_or(Status::OK);
    print(
        &console,
        format_args!("apptest: queried callback {added}, echo {}", lacking.0),
    );
    // A proxy lent back to the server that made its object.
    let through = relay.get().relay(&as_callback, 1, 2)?;
    print(
        &console,
        format_args!("apptest: relay through a proxy {through}"),
    );
    drop(as_callback);
    let live = relay.get().live()?;
    drop(made);
    let gone = relay.get().live()?;
    print(
        &console,
        format_args!("apptest: live {live} then {gone} after release"),
    );
    // A borrowed pointer the server kept past the call is revoked.
    relay.get().keep(counted.interface::<ICallback>())?;
    let kept = relay.get().call_kept(1).err().unwrap_or(Status::OK);
    print(&console, format_args!("apptest: kept callback: {}", kept.0));
    bad_interface_pointers(&console, &relay);
    Ok(())
}

/// Interface pointers that are neither the caller's memory nor its
/// proxies of the interface, each refused with its status.
fn bad_interface_pointers(console: &Proxy<IConsole>, relay: &Proxy<IRelay>) {
    let forged = Proxy::<ICallback>::with_handle(12345);
    let checks = [
        ("unmapped", 0x7_0000_0000),
        ("kernel", 0x8020_0000),
        ("null", 0),
        ("forged proxy", core::ptr::from_ref(forged.get()) as u64),
        (
            "another interface's proxy",
            core::ptr::from_ref(console.get()) as u64,
        ),
    ];
    for (what, pointer) in checks {
        // `IRelay::relay` (method 0): the callback, a value, a count, the
        // result's out pointer.
        let mut result = 0u64;
        let out = core::ptr::from_mut(&mut result) as u64;
        let registers = [relay.handle(), pointer, 1, 1, out, 0, 0, 0];
        let (a0, _) = ecall(service::CALL, 0, registers);
        print(
            console,
            format_args!("apptest: lent {what}: {}", status_of(a0).0),
        );
    }
}

/// Lends the relay at `name` a callback that never returns.
fn callback_hang(name: &str) -> Result<()> {
    let console = Proxy::<IConsole>::bind("/dev/console")?;
    let relay = Proxy::<IRelay>::bind(name)?;
    let counted = ComObject::unboxed(Counted {
        calls: AtomicU32::new(0),
        hang: true,
    });
    let ended = relay
        .get()
        .relay(counted.interface::<ICallback>(), 1, 1)
        .err()
        .unwrap_or(Status::OK);
    print(&console, format_args!("apptest: relay ended: {}", ended.0));
    Ok(())
}

/// What `names COUNTER NAME` does (see the crate's documentation).
fn names_through_the_view(counter: &str, name: &str) -> Result<()> {
    let console = Proxy::<IConsole>::bind("/dev/console")?;
    let view = app::namespace()?;
    let mut seen = String::new();
    every_name(view.get(), "/", &mut seen)?;
    print(&console, format_args!("apptest: sees{seen}"));
    let held = view.get().bind(counter, 0)?;
    let total = held.query::<ICounter>()?.add(2)?;
    print(
        &console,
        format_args!("apptest: through the view: total {total}"),
    );
    let code = |result: Result<()>| result.err().unwrap_or(Status::OK).0;
    let other = view.get().bind("/counter", 0).map(drop);
    print(&console, format_args!("apptest: /counter: {}", code(other)));
    let registered = view.get().register(name, &held, 0);
    let again = view.get().register(name, &held, 0);
    let own = ComObject::unboxed(Counter {
        total: core::sync::atomic::AtomicU64::new(0),
        version: 1,
    });
    let own = view
        .get()
        .register("/svc/mine/own", own.interface::<ICounter>().as_unknown(), 0);
    print(
        &console,
        format_args!(
            "apptest: registered {}, again {}, its own {}",
            code(registered),
            code(again),
            code(own)
        ),
    );
    let theirs = view.get().unregister(counter);
    let mine = view.get().unregister(name);
    let anew = view.get().register(name, &held, 0);
    print(
        &console,
        format_args!(
            "apptest: unregistered theirs {}, mine {}, anew {}",
            code(theirs),
            code(mine),
            code(anew)
        ),
    );
    let at = address_of(&SHARED_WORD);
    status_of(ecall(service::WAIT, 0, [at, 0, u64::MAX, 0, 0, 0, 0, 0]).0).check()
}

/// Appends every name under `directory` in `view` to `line`, going into
/// directories.
fn every_name(view: &interfaces::INamespace, directory: &str, line: &mut String) -> Result<()> {
    let mut entries = Vec::new();
    interfaces::namespace::for_each_name(view, directory, |entry| {
        entries.push(String::from(entry));
        Ok(())
    })?;
    for entry in entries {
        let path = alloc::format!("{}/{entry}", directory.trim_end_matches('/'));
        let capabilities = view.capabilities(&path).unwrap_or(0);
        if capabilities & interfaces::namespace::flags::DIRECTORY != 0 {
            every_name(view, &path, line)?;
        } else {
            let _ = write!(line, " {path}");
        }
    }
    Ok(())
}

/// Has the relay at `name` make a counter and holds it until killed.
fn hold_made(name: &str) -> Result<()> {
    let console = Proxy::<IConsole>::bind("/dev/console")?;
    let made = Proxy::<IRelay>::bind(name)?.get().make(1)?;
    print(&console, format_args!("apptest: holding a counter"));
    let at = address_of(&SHARED_WORD);
    let (a0, _) = ecall(service::WAIT, 0, [at, 0, u64::MAX, 0, 0, 0, 0, 0]);
    drop(made);
    status_of(a0).check()
}

/// A line of text on the stack.
struct Line {
    bytes: [u8; 160],
    length: usize,
}

impl Line {
    fn new() -> Line {
        Line {
            bytes: [0; 160],
            length: 0,
        }
    }
}

impl Write for Line {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        let room = self.bytes.len() - self.length;
        let take = text.len().min(room);
        self.bytes[self.length..self.length + take].copy_from_slice(&text.as_bytes()[..take]);
        self.length += take;
        Ok(())
    }
}

/// Prints one line on the console (through a proxy of `/dev/console`).
fn print(console: &Proxy<IConsole>, arguments: core::fmt::Arguments<'_>) {
    let mut line = Line::new();
    let _ = line.write_fmt(arguments);
    let _ = line.write_str("\n");
    let _ = console.get().write(&line.bytes[..line.length]);
}

fn counter(amount: u64) -> Result<()> {
    let console = Proxy::<IConsole>::bind("/dev/console")?;
    let counter = Proxy::<ICounter>::bind("/counter")?;
    let total = counter.get().add(amount)?;
    let read = counter.get().total()?;
    let version = counter.get().version()?;
    print(
        &console,
        format_args!(
            "apptest: added {amount}, total {total} (read back {read}), counter v{version}"
        ),
    );
    // QueryInterface on the proxy of an object in the kernel's space: an
    // interface it has (a new import), and one it lacks.
    let mine = ComPtr::from_ref(counter.get());
    let again = mine.query::<ICounter>()?.total()?;
    let hello = mine.query::<IHello>().err().unwrap_or(Status::OK);
    print(
        &console,
        format_args!(
            "apptest: queried the counter: total {again}, hello {}",
            hello.0
        ),
    );
    Ok(())
}

fn add(amount: u64) -> Result<()> {
    Proxy::<ICounter>::bind("/counter")?
        .get()
        .add(amount)
        .map(drop)
}

fn add_many(count: u64) -> Result<()> {
    let console = Proxy::<IConsole>::bind("/dev/console")?;
    let counter = Proxy::<ICounter>::bind("/counter")?;
    let first = counter.get().version()?;
    let pause = AtomicU32::new(0);
    let mut added = 0;
    for addition in 0..count {
        added += u64::from(counter.get().add(1).is_ok());
        if addition % 16 == 15 {
            sleep_us(&pause, 1_000);
        }
    }
    let last = counter.get().version()?;
    print(
        &console,
        format_args!("apptest: added 1 {added} times of {count}, answered by v{first} to v{last}"),
    );
    if added == count {
        Ok(())
    } else {
        Err(Status::FAILED)
    }
}

/// Sleeps `microseconds`: waits on `word` (0), which nobody wakes.
fn sleep_us(word: &AtomicU32, microseconds: u64) {
    ecall(
        service::WAIT,
        0,
        [address_of(word), 0, microseconds, 0, 0, 0, 0, 0],
    );
}

fn add_until_fails() -> Result<()> {
    let console = Proxy::<IConsole>::bind("/dev/console")?;
    let counter = Proxy::<ICounter>::bind("/counter")?;
    print(&console, format_args!("apptest: adding until it fails"));
    let pause = AtomicU32::new(0);
    let status = loop {
        if let Err(status) = counter.get().add(1) {
            break status;
        }
        // Sleeps 5 ms: waits on a word nobody wakes.
        ecall(
            service::WAIT,
            0,
            [address_of(&pause), 0, 5_000, 0, 0, 0, 0, 0],
        );
    };
    print(&console, format_args!("apptest: add failed: {}", status.0));
    Ok(())
}

/// Uses the process's heap: a vector, a string, a box, and a block
/// larger than the heap's first growth.
fn heap(count: u64) -> Result<()> {
    let console = Proxy::<IConsole>::bind("/dev/console")?;
    let values: Vec<u64> = (1..=count).collect();
    let sum = Box::new(values.iter().sum::<u64>());
    let mut text = String::new();
    let _ = write!(text, "{} values", values.len());
    let big = alloc::vec![1u8; 256 * 1024];
    let ones = big.iter().map(|&byte| u64::from(byte)).sum::<u64>();
    drop(big);
    print(
        &console,
        format_args!("apptest: heap: {text}, sum {sum}, {ones} bytes of ones"),
    );
    Ok(())
}

fn fault() -> i32 {
    // An address in the lower half that no region of the space maps.
    let nowhere = core::ptr::with_exposed_provenance_mut::<u64>(0x7_0000_0000);
    // The store is the test: the process must end here.
    #[allow(unsafe_code)]
    // SAFETY: deliberately not: the store faults and the kernel ends the
    // process; nothing after it runs.
    unsafe {
        nowhere.write_volatile(1)
    };
    0
}

/// Read-only data: a table the store below must not change.
static READ_ONLY: [u64; 4] = [1, 2, 3, 4];

fn write_read_only() -> i32 {
    let table = core::ptr::from_ref(&READ_ONLY).cast::<u64>().cast_mut();
    // The store is the test: the process must end here.
    #[allow(unsafe_code)]
    // SAFETY: deliberately not: the page is mapped read-only, so the
    // store faults and the kernel ends the process; nothing after it runs.
    unsafe {
        core::hint::black_box(table).write_volatile(5)
    };
    i32::try_from(READ_ONLY[0]).unwrap_or(0)
}

/// Every kind of bad call, each expected to be refused with its status.
fn hostile() -> i32 {
    let Ok(console) = Proxy::<IConsole>::bind("/dev/console") else {
        return 100;
    };
    let handle = console.handle();
    let write = 0; // IConsole::write's method number
    let checks: [(&str, u64, u64, [u64; 8], Status); 10] = [
        (
            "unmapped buffer",
            service::CALL,
            write,
            [handle, 0x7_0000_0000, 8, 0, 0, 0, 0, 0],
            Status::OUT_OF_RANGE,
        ),
        (
            "kernel address",
            service::CALL,
            write,
            [handle, 0x8020_0000, 8, 0, 0, 0, 0, 0],
            Status::OUT_OF_RANGE,
        ),
        (
            "overflowing length",
            service::CALL,
            write,
            [handle, 0x1_0000_0000, u64::MAX, 0, 0, 0, 0, 0],
            Status::OUT_OF_RANGE,
        ),
        (
            "null buffer",
            service::CALL,
            write,
            [handle, 0, 8, 0, 0, 0, 0, 0],
            Status::NULL_POINTER,
        ),
        (
            "out buffer in code",
            service::CALL,
            1,
            [handle, 0x1_0000_0000, 8, 0, 0, 0, 0, 0],
            Status::ACCESS_DENIED,
        ),
        (
            "bad handle",
            service::CALL,
            write,
            [12345, 0, 0, 0, 0, 0, 0, 0],
            Status::INVALID_ARGUMENT,
        ),
        (
            "bad method",
            service::CALL,
            99,
            [handle, 0, 0, 0, 0, 0, 0, 0],
            Status::INVALID_ARGUMENT,
        ),
        ("unknown service", 77, 0, [0; 8], Status::NOT_SUPPORTED),
        (
            "name not granted",
            service::BIND,
            0,
            [
                b"/sys/heap".as_ptr() as u64,
                9,
                0x1_0000_0000,
                0,
                0,
                0,
                0,
                0,
            ],
            Status::ACCESS_DENIED,
        ),
        (
            "bad name pointer",
            service::BIND,
            0,
            [0x7_0000_0000, 9, 0, 0, 0, 0, 0, 0],
            Status::OUT_OF_RANGE,
        ),
    ];
    let mut failures = 0;
    for (what, number, method, registers, expected) in checks {
        let (a0, _) = ecall(number, method, registers);
        let got = status_of(a0);
        let verdict = if got == expected {
            "refused"
        } else {
            "NOT REFUSED"
        };
        failures += i32::from(got != expected);
        print(
            &console,
            format_args!("apptest: {what}: {verdict} ({})", got.0),
        );
    }
    // A released handle is stale, even once its slot holds another import.
    let counter = Proxy::<ICounter>::bind("/counter");
    let stale = counter.as_ref().map(|proxy| proxy.handle()).unwrap_or(0);
    drop(counter);
    let again = Proxy::<ICounter>::bind("/counter");
    let (a0, _) = ecall(service::CALL, 1, [stale, 0, 0, 0, 0, 0, 0, 0]);
    let got = status_of(a0);
    failures += i32::from(got != Status::STALE_HANDLE || again.is_err());
    print(&console, format_args!("apptest: stale handle: {}", got.0));
    print(
        &console,
        format_args!("apptest: hostile done, {failures} not refused"),
    );
    failures
}

/// A word of the image's data: at the same address in every apptest
/// process, each its own.
static SHARED_WORD: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

/// The address of `word`, for an `ecall`.
fn address_of(word: &core::sync::atomic::AtomicU32) -> u64 {
    core::ptr::from_ref(word).addr() as u64
}

/// `WAIT` and `WAKE` on words of its own memory, and on addresses that
/// are not: each answer against the one expected.
fn waits() -> i32 {
    let Ok(console) = Proxy::<IConsole>::bind("/dev/console") else {
        return 100;
    };
    let word = core::sync::atomic::AtomicU32::new(7);
    let at = address_of(&word);
    let checks: [(&str, u64, [u64; 3], Status); 8] = [
        (
            "value differs",
            service::WAIT,
            [at, 8, u64::MAX],
            Status::RETRY,
        ),
        ("timeout", service::WAIT, [at, 7, 20_000], Status::TIMED_OUT),
        (
            "wake, nobody waiting",
            service::WAKE,
            [at, 1, 0],
            Status::OK,
        ),
        (
            "unmapped",
            service::WAIT,
            [0x7_0000_0000, 0, 1],
            Status::OUT_OF_RANGE,
        ),
        (
            "kernel address",
            service::WAIT,
            [0x8020_0000, 0, 1],
            Status::OUT_OF_RANGE,
        ),
        (
            "misaligned",
            service::WAIT,
            [at + 1, 7, 1],
            Status::INVALID_ARGUMENT,
        ),
        ("null", service::WAIT, [0, 0, 1], Status::NULL_POINTER),
        (
            "wake unmapped",
            service::WAKE,
            [0x7_0000_0000, 1, 0],
            Status::OUT_OF_RANGE,
        ),
    ];
    let mut wrong = 0;
    for (what, number, [a0, a1, a2], expected) in checks {
        let (status, _) = ecall(number, 0, [a0, a1, a2, 0, 0, 0, 0, 0]);
        let got = status_of(status);
        wrong += i32::from(got != expected);
        print(&console, format_args!("apptest: wait {what}: {}", got.0));
    }
    print(&console, format_args!("apptest: waits done, {wrong} wrong"));
    wrong
}

/// The least instructions of `rounds` runs of `call` on the proxy of
/// `/bench/echo`, as an exit code (or the first failure's status).
fn timed(rounds: u64, call: impl Fn(&IEcho) -> Result<()>) -> i32 {
    let Ok(echo) = Proxy::<IEcho>::bind("/bench/echo") else {
        return Status::NOT_FOUND.0;
    };
    let mut least = u64::MAX;
    for _ in 0..rounds.max(1) {
        let before = instret();
        if let Err(status) = call(echo.get()) {
            return status.0;
        }
        least = least.min(instret() - before);
    }
    i32::try_from(least).unwrap_or(i32::MAX)
}

/// The status an `ecall` returned (sign-extended in `a0`).
fn status_of(a0: u64) -> Status {
    Status(i32::try_from(a0.cast_signed()).unwrap_or(Status::FAILED.0))
}

/// Instructions retired so far (the kernel lets U-mode read the counter).
fn instret() -> u64 {
    let count: u64;
    #[allow(unsafe_code)]
    // SAFETY: reading a counter has no effect.
    unsafe {
        core::arch::asm!("rdinstret {}", out(reg) count, options(nomem, nostack))
    };
    count
}
