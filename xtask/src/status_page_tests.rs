//! The QEMU tests of the status page (`httpd`): a host client reads
//! `/status.json` and the page through the forwarded port, sends broken
//! and oversized requests, and headless Chromium renders the page.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;

use crate::machine::Machine;
use crate::network_tests::{Hosts, NetworkTest, Setup};
use crate::storage_tests::{expect, heap_used, power_off};
use crate::workspace::output_directory;

/// The machine of every test here: the network card with an entropy
/// device, on the legacy transport.
const SETUP: Setup = Setup {
    modern_virtio: false,
    entropy: true,
    peer: false,
    capture: false,
};

/// The test that needs the browser, which `integration::run` installs
/// before tests run side by side.
pub const BROWSER_TEST: &str = "status_page_renders_in_headless_chromium";

/// Every status page test, by name.
pub const TESTS: &[(&str, Setup, NetworkTest)] = &[
    (
        "status_page_serves_json_listing_what_mods_lists",
        SETUP,
        json_lists_the_modules,
    ),
    (
        "status_page_refuses_bad_requests_and_goes_on",
        SETUP,
        bad_requests_are_refused,
    ),
    (BROWSER_TEST, SETUP, the_browser_renders_the_modules),
];

/// How long the server keeps an idle connection open.
const IDLE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the host waits for a response.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

/// Starts the server and waits for the stack's address (a connection
/// that comes before DHCP has answered finds no one at 10.0.2.15).
fn start_server(machine: &mut Machine) -> Result<()> {
    expect(
        machine,
        "httpd",
        &["httpd: serving the status page on port 80"],
    )?;
    expect(machine, "ifconfig", &["inet 10.0.2.15/24"])?;
    Ok(())
}

/// The host port forwarded to guest port 80.
fn page_port(hosts: &Hosts) -> Result<u16> {
    hosts
        .forwards
        .iter()
        .find(|forward| forward.guest == 80)
        .map(|forward| forward.host)
        .context("no host port is forwarded to guest port 80")
}

/// One response as the host read it.
#[derive(Debug)]
struct Response {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Response {
    /// The value of header field `name`, if present.
    fn field(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (field, value) = line.split_once(':')?;
            field.eq_ignore_ascii_case(name).then_some(value.trim())
        })
    }
}

/// Sends `request` on a new connection and reads until the server
/// closes it; the bytes read (none if the connection was dropped).
fn exchange(port: u16, request: &[u8]) -> Result<Vec<u8>> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
        .with_context(|| format!("connecting to 127.0.0.1:{port}"))?;
    stream.set_read_timeout(Some(RESPONSE_TIMEOUT))?;
    // A server that refuses a request may close before it is all sent:
    // what it answered is still read.
    let _ = stream.write_all(request);
    let mut received = Vec::new();
    match stream.read_to_end(&mut received) {
        Ok(_) => {}
        Err(error) if error.kind() == ErrorKind::ConnectionReset => {}
        Err(error) => return Err(error).context("reading the response"),
    }
    Ok(received)
}

/// The responses in `bytes`, one after the other (each with its
/// Content-Length); HEAD responses, which have none, are not read here.
fn responses(mut bytes: &[u8]) -> Result<Vec<Response>> {
    let mut all = Vec::new();
    while !bytes.is_empty() {
        let end = bytes
            .windows(4)
            .position(|window| window == b"\r\n\r\n")
            .with_context(|| format!("no end of head in {:?}", String::from_utf8_lossy(bytes)))?;
        let head = String::from_utf8(bytes[..end].to_vec()).context("the head is not UTF-8")?;
        let status = head
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
            .with_context(|| format!("no HTTP/1.1 status line in {head:?}"))?;
        let mut response = Response {
            status,
            head,
            body: Vec::new(),
        };
        let length: usize = response
            .field("content-length")
            .and_then(|length| length.parse().ok())
            .with_context(|| format!("no Content-Length in {:?}", response.head))?;
        let body = bytes
            .get(end + 4..end + 4 + length)
            .context("the body is shorter than its Content-Length")?;
        response.body = body.to_vec();
        bytes = &bytes[end + 4 + length..];
        all.push(response);
    }
    Ok(all)
}

/// `GET path` on a connection of its own.
fn get(port: u16, path: &str) -> Result<Response> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    let received = exchange(port, request.as_bytes())?;
    let mut all = responses(&received).with_context(|| format!("GET {path}"))?;
    ensure!(all.len() == 1, "GET {path} got {} responses", all.len());
    Ok(all.remove(0))
}

/// `/status.json`, parsed.
fn read_status(port: u16) -> Result<Value> {
    let response = get(port, "/status.json")?;
    ensure!(
        response.status == 200,
        "/status.json: status {}",
        response.status
    );
    ensure!(
        response.field("content-type") == Some("application/json"),
        "/status.json is not JSON: {:?}",
        response.head
    );
    serde_json::from_slice(&response.body).with_context(|| {
        format!(
            "/status.json does not parse: {}",
            String::from_utf8_lossy(&response.body)
        )
    })
}

/// The module names `mods` lists (`/sys/modules/…: module NAME at …`).
fn listed_modules(machine: &mut Machine) -> Result<Vec<String>> {
    let listing = machine.run("mods")?;
    let names: Vec<String> = listing
        .lines()
        .filter_map(|line| line.split_once(": module ")?.1.split_once(" at "))
        .map(|(name, _)| name.to_owned())
        .collect();
    ensure!(!names.is_empty(), "mods lists no module: {listing:?}");
    Ok(names)
}

/// `/status.json` parses on the host and holds every section, the
/// modules `mods` lists among its modules (with their sizes); `/` is the
/// page, HEAD its head alone, another path 404; two requests on one
/// connection are both answered; `httpd stop` stops it, the heap back
/// where it was, and it starts again.
fn json_lists_the_modules(machine: &mut Machine, hosts: &Hosts) -> Result<()> {
    let port = page_port(hosts)?;
    let before = heap_used(machine)?;
    start_server(machine)?;
    let status = read_status(port)?;
    let modules = status["modules"].as_array().context("no modules array")?;
    for name in listed_modules(machine)? {
        let module = modules
            .iter()
            .find(|module| module["name"] == name.as_str())
            .with_context(|| format!("mods lists {name}, /status.json does not: {status}"))?;
        ensure!(
            module["size"].as_u64().is_some_and(|size| size > 0),
            "{name} has no size: {module}"
        );
    }
    check_sections(&status)?;
    serves_the_page_and_404(port)?;
    keeps_the_connection_for_another_request(port)?;
    stops_while_a_client_keeps_its_connection(machine, port)?;
    expect(machine, "mods", &["no modules loaded besides the shell"])?;
    let after = heap_used(machine)?;
    ensure!(
        after == before,
        "the heap held {before} bytes before httpd started and {after} after it stopped"
    );
    start_server(machine)?;
    read_status(port).context("after a restart")?;
    power_off(machine)
}

/// The sections besides the modules hold what the shell shows.
fn check_sections(status: &Value) -> Result<()> {
    let threads = status["threads"].as_array().context("no threads array")?;
    ensure!(
        threads
            .iter()
            .any(|thread| thread["name"].as_str().is_some() && thread["state"].is_string()),
        "no named thread with a state: {status}"
    );
    ensure!(
        status["heap"]["used"].as_u64().is_some_and(|used| used > 0),
        "no heap figures: {status}"
    );
    ensure!(
        status["scheduler"]["policy"].as_str() == Some("builtin"),
        "the scheduler's policy is not builtin: {status}"
    );
    ensure!(
        status["vm"].is_null(),
        "the VM manager is not loaded, yet: {status}"
    );
    Ok(())
}

fn serves_the_page_and_404(port: u16) -> Result<()> {
    let page = get(port, "/")?;
    ensure!(page.status == 200, "/: status {}", page.status);
    let text = String::from_utf8_lossy(&page.body);
    ensure!(
        text.contains("fetch(\"/status.json\"") && text.contains("<table id=\"modules\">"),
        "/ is not the page: {text}"
    );
    let head = exchange(
        port,
        b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    )?;
    let head = String::from_utf8_lossy(&head);
    ensure!(
        head.starts_with("HTTP/1.1 200 OK\r\n")
            && head.contains(&format!("Content-Length: {}\r\n", page.body.len()))
            && head.ends_with("\r\n\r\n"),
        "HEAD / got {head:?}"
    );
    let missing = get(port, "/nothing")?;
    ensure!(missing.status == 404, "/nothing: status {}", missing.status);
    Ok(())
}

fn keeps_the_connection_for_another_request(port: u16) -> Result<()> {
    let received = exchange(
        port,
        b"GET /status.json HTTP/1.1\r\nHost: a\r\n\r\n\
          GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )?;
    let answered = responses(&received)?;
    let statuses: Vec<u16> = answered.iter().map(|response| response.status).collect();
    ensure!(
        statuses == [200, 200],
        "two requests on one connection got {statuses:?}"
    );
    ensure!(
        answered[0].field("connection") == Some("keep-alive")
            && answered[1].field("connection") == Some("close"),
        "the connection options are not answered: {answered:?}"
    );
    Ok(())
}

/// A client that keeps its connection open (as a browser does between
/// refreshes) does not hold up `httpd stop`: it ends well before the
/// connection's idle timeout.
fn stops_while_a_client_keeps_its_connection(machine: &mut Machine, port: u16) -> Result<()> {
    let mut client = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    client.set_read_timeout(Some(RESPONSE_TIMEOUT))?;
    client.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")?;
    let mut first = [0u8; 16];
    client.read_exact(&mut first)?;
    ensure!(first.starts_with(b"HTTP/1.1 200"), "GET / got {first:?}");
    let started = Instant::now();
    expect(machine, "httpd stop", &["httpd: stopped"])?;
    ensure!(
        started.elapsed() < IDLE_TIMEOUT / 2,
        "httpd stop took {:?} with a connection open",
        started.elapsed()
    );
    Ok(())
}

/// Each broken or oversized request gets its error status (or, for a
/// silent client, a closed connection), a flood of connections is all
/// served in turn, and the server goes on; stopped, the heap is back
/// where it was.
fn bad_requests_are_refused(machine: &mut Machine, hosts: &Hosts) -> Result<()> {
    let port = page_port(hosts)?;
    let before = heap_used(machine)?;
    start_server(machine)?;
    let long_target = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(3000));
    let long_field = format!(
        "GET / HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\n\r\n",
        "b".repeat(3000)
    );
    let many_fields = format!(
        "GET / HTTP/1.1\r\nHost: a\r\n{}\r\n",
        "X-F: 1\r\n".repeat(100)
    );
    let huge_head = format!(
        "GET / HTTP/1.1\r\nHost: a\r\n{}\r\n",
        "X-Field: 0123456789012345678901234567890123456789\r\n".repeat(300)
    );
    let cases: [(&str, &[u8], u16); 10] = [
        ("no Host", b"GET / HTTP/1.1\r\n\r\n", 400),
        ("bare LF", b"GET / HTTP/1.1\nHost: a\n\n", 400),
        (
            "binary",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
            400,
        ),
        ("POST", b"POST / HTTP/1.1\r\nHost: a\r\n\r\n", 501),
        ("HTTP/2.0", b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
        (
            "a long body",
            b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n",
            413,
        ),
        ("a long target", long_target.as_bytes(), 414),
        ("a long field", long_field.as_bytes(), 431),
        ("many fields", many_fields.as_bytes(), 431),
        ("a huge head", huge_head.as_bytes(), 431),
    ];
    for (what, request, expected) in cases {
        let received = exchange(port, request).context(what)?;
        let answered = responses(&received).context(what)?;
        let statuses: Vec<u16> = answered.iter().map(|response| response.status).collect();
        ensure!(
            statuses == [expected],
            "{what}: expected [{expected}], got {statuses:?}"
        );
        ensure!(
            answered[0].field("connection") == Some("close"),
            "{what}: the connection stays open after an error"
        );
    }
    slow_and_silent_clients_are_timed_out(port)?;
    a_flood_of_connections_is_served_in_turn(port)?;
    read_status(port).context("after the bad requests")?;
    expect(machine, "httpd stop", &["httpd: stopped"])?;
    let after = heap_used(machine)?;
    ensure!(
        after == before,
        "the heap held {before} bytes before httpd started and {after} after it stopped"
    );
    power_off(machine)
}

/// Half a request then silence gets 408; a connection with nothing on
/// it is closed; neither keeps the server from others meanwhile.
fn slow_and_silent_clients_are_timed_out(port: u16) -> Result<()> {
    let mut silent = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    let mut slow = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    slow.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n")?;
    read_status(port).context("while two clients dawdle")?;
    for stream in [&mut silent, &mut slow] {
        stream.set_read_timeout(Some(RESPONSE_TIMEOUT))?;
    }
    let started = Instant::now();
    let mut answer = Vec::new();
    slow.read_to_end(&mut answer)?;
    let answered = responses(&answer)?;
    ensure!(
        answered.len() == 1 && answered[0].status == 408,
        "a half request got {:?}",
        String::from_utf8_lossy(&answer)
    );
    let mut nothing = Vec::new();
    silent.read_to_end(&mut nothing)?;
    ensure!(
        nothing.is_empty(),
        "a silent client got {:?}",
        String::from_utf8_lossy(&nothing)
    );
    ensure!(
        started.elapsed() < RESPONSE_TIMEOUT,
        "the timeouts took {:?}",
        started.elapsed()
    );
    Ok(())
}

/// Connections opened at once, beyond the workers and the backlog: the
/// stack holds the requests it has no listening socket for rather than
/// refuse them, and each is served in turn.
fn a_flood_of_connections_is_served_in_turn(port: u16) -> Result<()> {
    const FLOOD: usize = 24;
    let started = Instant::now();
    let clients: Vec<_> = (0..FLOOD)
        .map(|_| {
            thread::spawn(move || {
                exchange(
                    port,
                    b"GET /status.json HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                )
            })
        })
        .collect();
    for client in clients {
        let received = client
            .join()
            .map_err(|_| anyhow::anyhow!("a client thread panicked"))?
            .context("a flooding client")?;
        let got = responses(&received)?;
        ensure!(
            got.len() == 1 && got[0].status == 200,
            "a flooding client got {:?} after {:?}",
            String::from_utf8_lossy(&received),
            started.elapsed()
        );
    }
    Ok(())
}

/// Whether headless Chromium can run here: installed (or installed now
/// with apt-get), or why not.
static BROWSER: OnceLock<Result<(), String>> = OnceLock::new();

/// The browser's command and Debian package.
const CHROMIUM: &str = "chromium";

/// Installs Chromium if missing, once, before the tests run side by
/// side. Only a machine that truly cannot have it — not root and without
/// it, or no such package in its apt sources — makes the browser test
/// skip; a failed install of an available package is an error.
pub fn ensure_browser() -> Result<()> {
    let verdict = match browser_availability() {
        Ok(()) => Ok(()),
        Err(Unavailable::Truly(why)) => Err(why),
        Err(Unavailable::Failed(error)) => return Err(error),
    };
    let _ = BROWSER.set(verdict);
    Ok(())
}

enum Unavailable {
    /// The machine cannot have it.
    Truly(String),
    /// It could, but installing it failed.
    Failed(anyhow::Error),
}

fn browser_availability() -> Result<(), Unavailable> {
    if runs(CHROMIUM) {
        return Ok(());
    }
    if !crate::qemu::running_as_root() {
        return Err(Unavailable::Truly(format!(
            "{CHROMIUM} is not installed and xtask is not root to install it \
             (sudo apt-get install -y {CHROMIUM})"
        )));
    }
    let _ = Command::new("apt-get")
        .arg("update")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(Stdio::null())
        .status();
    let policy = Command::new("apt-cache")
        .args(["policy", CHROMIUM])
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
        .unwrap_or_default();
    if !policy.contains("Candidate:") || policy.contains("Candidate: (none)") {
        return Err(Unavailable::Truly(format!(
            "no {CHROMIUM} package in this machine's apt sources"
        )));
    }
    crate::qemu::ensure_package(CHROMIUM, CHROMIUM).map_err(Unavailable::Failed)
}

fn runs(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Headless Chromium loads the page; once its script has fetched
/// `/status.json`, the DOM lists every module `mods` lists.
fn the_browser_renders_the_modules(machine: &mut Machine, hosts: &Hosts) -> Result<()> {
    match BROWSER.get() {
        Some(Ok(())) => {}
        Some(Err(why)) => {
            println!("xtask: {BROWSER_TEST}: SKIPPED, no browser: {why}");
            return power_off(machine);
        }
        None => bail!("the browser's availability was not checked before the tests"),
    }
    let port = page_port(hosts)?;
    start_server(machine)?;
    let names = listed_modules(machine)?;
    let dom = render(port)?;
    let table = dom
        .split_once("<table id=\"modules\">")
        .and_then(|(_, rest)| rest.split_once("</table>"))
        .map(|(table, _)| table)
        .with_context(|| format!("no modules table in the DOM: {dom}"))?;
    for name in names {
        ensure!(
            table.contains(&format!("<td>{name}</td>")),
            "the rendered page does not list {name}: {table}"
        );
    }
    ensure!(
        dom.contains("<p id=\"state\">Up "),
        "the script did not say it refreshed: {dom}"
    );
    power_off(machine)
}

/// The page's DOM after Chromium ran its script (three seconds of the
/// page's virtual time).
fn render(port: u16) -> Result<String> {
    let profile = output_directory()?.join(format!("chromium-{port}"));
    let mut browser = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=3000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("http://127.0.0.1:{port}/"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {CHROMIUM}"))?;
    let mut stdout = browser.stdout.take().context("no stdout")?;
    let reader = thread::spawn(move || {
        let mut dom = String::new();
        stdout.read_to_string(&mut dom).map(|_| dom)
    });
    let status = wait_for(&mut browser, Duration::from_secs(120))?;
    let dom = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reader panicked"))??;
    let _ = std::fs::remove_dir_all(&profile);
    ensure!(status, "{CHROMIUM} failed");
    Ok(dom)
}

/// Waits for `child` at most `timeout` (then kills it); true when it
/// exited successfully.
fn wait_for(child: &mut std::process::Child, timeout: Duration) -> Result<bool> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status.success());
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{CHROMIUM} still running after {timeout:?}");
        }
        thread::sleep(Duration::from_millis(50));
    }
}
