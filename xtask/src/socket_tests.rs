//! The QEMU tests of the sockets, with a client on the host: the echo
//! service (`echo-server 7` in the guest) reached through the forwarded
//! port, byte for byte; many connections, a flood and resets that leave
//! the heap where it was; the stack unloading and loading again.

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use crate::capture;
use crate::machine::Machine;
use crate::network_tests::Hosts;
use crate::qemu::PEER_ADDRESS;
use crate::storage_tests::{expect, heap_used, power_off};

/// The guest port of the echo service.
const ECHO_PORT: u16 = 7;
/// The guest's address on QEMU's user network.
const GUEST_ADDRESS: [u8; 4] = [10, 0, 2, 15];
/// How long the host waits on one connection.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// The host port forwarded to the guest's `guest` port.
fn host_port(hosts: &Hosts, guest: u16) -> Result<SocketAddr> {
    let forward = hosts
        .forwards
        .iter()
        .find(|forward| forward.guest == guest)
        .with_context(|| format!("no host port is forwarded to guest port {guest}"))?;
    Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, forward.host)))
}

/// A connection to the guest through the forward, with timeouts.
fn connect(address: SocketAddr) -> Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&address, IO_TIMEOUT)
        .with_context(|| format!("connecting to {address}"))?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(stream)
}

/// `length` bytes that are not one byte repeated (a xorshift sequence),
/// so a lost, doubled or reordered chunk shows.
fn pattern(length: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// Sends `data` through the echo service (writing from another thread
/// while this one reads) and returns what came back once the service
/// closed its side after the host closed its own.
fn echo(address: SocketAddr, data: &[u8]) -> Result<Vec<u8>> {
    let stream = connect(address)?;
    let mut reader = stream.try_clone()?;
    thread::scope(|scope| {
        let writer = scope.spawn(|| -> Result<()> {
            let mut stream = &stream;
            stream.write_all(data).context("sending")?;
            stream
                .shutdown(Shutdown::Write)
                .context("closing the sending side")?;
            Ok(())
        });
        let mut back = Vec::with_capacity(data.len());
        reader.read_to_end(&mut back).context("receiving")?;
        writer
            .join()
            .map_err(|_| anyhow::anyhow!("the sender panicked"))??;
        Ok(back)
    })
}

/// The guest put each byte it sent on the wire in order, as far as the
/// capture of the card's frames shows: no segment it made was lost on
/// the way to the card (which would cost the connection a retransmission
/// timeout, a second or more, and several in a row a reset).
fn every_segment_reached_the_wire(hosts: &Hosts) -> Result<()> {
    let file = hosts.capture.as_ref().context("the test has no capture")?;
    let capture = fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let gaps = capture::gaps(&capture, GUEST_ADDRESS)?;
    ensure!(
        gaps.is_empty(),
        "segments the guest sent never reached the wire ({} gaps, the first {:?}; capture {})",
        gaps.len(),
        gaps.first(),
        file.display()
    );
    Ok(())
}

/// Starts the echo service on its port.
fn start_echo(machine: &mut Machine) -> Result<String> {
    expect(
        machine,
        "echo-server 7",
        &["echo-server: listening on port 7"],
    )
}

/// Waits until `netstat` lists no connection but the listening socket:
/// every connection the guest had has closed and been dropped.
fn settle(machine: &mut Machine) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let listing = machine.run("netstat")?;
        let sockets = listing
            .lines()
            .filter(|line| line.starts_with("tcp"))
            .count();
        if sockets == 1 {
            return Ok(listing);
        }
        if Instant::now() >= deadline {
            bail!("connections still open after 30 s: {listing:?}");
        }
        thread::sleep(Duration::from_millis(200));
    }
}

/// One MiB through the echo service comes back byte for byte; `netstat`
/// shows the service listening; stopped, the service, the stack and the
/// drivers unload with the heap back where it was, and started again
/// they load and echo again.
pub fn a_mebibyte_echoes_byte_for_byte(machine: &mut Machine, hosts: &Hosts) -> Result<()> {
    let address = host_port(hosts, ECHO_PORT)?;
    let before = heap_used(machine)?;
    for round in 0..2 {
        start_echo(machine)?;
        let listing = expect(machine, "netstat", &["LISTEN"])?;
        ensure!(
            listing.contains("tcp   0.0.0.0:7 "),
            "netstat does not show the service listening on port 7: {listing:?}"
        );
        let data = pattern(if round == 0 { 1 << 20 } else { 4096 });
        let back = echo(address, &data)?;
        ensure!(
            back.len() == data.len(),
            "sent {} bytes, {} came back",
            data.len(),
            back.len()
        );
        if let Some(at) = data.iter().zip(&back).position(|(a, b)| a != b) {
            bail!("the echo differs from byte {at} on");
        }
        every_segment_reached_the_wire(hosts)?;
        settle(machine)?;
        expect(machine, "echo-server stop", &["echo-server: stopped"])?;
        expect(
            machine,
            "netstat",
            &["no sockets (the stack is not loaded)"],
        )?;
        expect(machine, "mods", &["no modules loaded besides the shell"])?;
        let after = heap_used(machine)?;
        ensure!(
            after == before,
            "the heap held {before} bytes before the service started and {after} after it stopped"
        );
    }
    power_off(machine)
}

/// A thousand connections opened, used and closed leave the heap where
/// it was (after a first few, which give the stack its caches).
pub fn a_thousand_connections_leave_no_drift(machine: &mut Machine, hosts: &Hosts) -> Result<()> {
    let address = host_port(hosts, ECHO_PORT)?;
    start_echo(machine)?;
    let connect_and_close = |count: usize| -> Result<()> {
        for n in 0..count {
            let back = echo(address, b"x").with_context(|| format!("connection {n}"))?;
            ensure!(back == b"x", "connection {n} echoed {back:?}");
        }
        Ok(())
    };
    connect_and_close(10)?;
    settle(machine)?;
    let before = heap_used(machine)?;
    connect_and_close(1000)?;
    settle(machine)?;
    let after = heap_used(machine)?;
    ensure!(
        after == before,
        "the heap held {before} bytes before 1,000 connections and {after} after"
    );
    power_off(machine)
}

/// The guest connects to a peer on the host (through `guestfwd`, the one
/// way out `restrict=on` leaves) and to itself (the echo service at its
/// own address, over the stack's loop); a port nobody listens on
/// refuses the connection.
pub fn the_guest_connects_out_and_to_itself(machine: &mut Machine, hosts: &Hosts) -> Result<()> {
    let listener = hosts.peer.as_ref().context("the test has no peer")?;
    let (mut peer, _) = listener
        .accept()
        .context("QEMU did not connect to the peer")?;
    peer.set_read_timeout(Some(IO_TIMEOUT))?;
    let host = thread::spawn(move || -> Result<String> {
        let mut line = Vec::new();
        let mut byte = [0u8];
        while line.last() != Some(&b'\n') {
            peer.read_exact(&mut byte)
                .context("reading the guest's line")?;
            line.push(byte[0]);
        }
        peer.write_all(b"hello from the host\n")?;
        Ok(String::from_utf8_lossy(&line).into_owned())
    });
    expect(
        machine,
        &format!("nc {PEER_ADDRESS} 7 hello from the guest"),
        &["hello from the host"],
    )?;
    let heard = host
        .join()
        .map_err(|_| anyhow::anyhow!("the peer panicked"))??;
    ensure!(
        heard == "hello from the guest\n",
        "the peer heard {heard:?}"
    );
    start_echo(machine)?;
    expect(
        machine,
        "nc 10.0.2.15 7 round the loop",
        &["round the loop"],
    )?;
    expect(
        machine,
        "nc 10.0.2.15 9 nobody",
        &["error: nc: 10.0.2.15: connection refused"],
    )?;
    expect(machine, "echo-server stop", &["echo-server: stopped"])?;
    power_off(machine)
}

/// More connections at once than the stack has sockets, and peers that
/// reset theirs: the extra ones are refused or wait, the rest are served,
/// and once they are gone the heap is where it was and the service
/// still echoes.
pub fn a_flood_and_resets_do_no_harm(machine: &mut Machine, hosts: &Hosts) -> Result<()> {
    let address = host_port(hosts, ECHO_PORT)?;
    start_echo(machine)?;
    ensure!(echo(address, b"warm")? == b"warm", "the first echo failed");
    settle(machine)?;
    let before = heap_used(machine)?;
    // A flood: far more connections than the stack's sockets, all open
    // at once, each sending a little without reading.
    let flood: Vec<TcpStream> = (0..120).filter_map(|_| connect(address).ok()).collect();
    for mut stream in &flood {
        let _ = stream.write_all(b"flood");
    }
    thread::sleep(Duration::from_secs(2));
    let listing = machine.run("netstat")?;
    ensure!(
        listing.contains("LISTEN"),
        "netstat during the flood: {listing:?}"
    );
    drop(flood);
    // Peers that reset: data echoed back and left unread makes the
    // host's close a reset.
    for _ in 0..10 {
        let mut stream = connect(address)?;
        stream.write_all(&pattern(64 * 1024))?;
        thread::sleep(Duration::from_millis(100));
        drop(stream);
    }
    settle(machine)?;
    let data = pattern(64 * 1024);
    ensure!(
        echo(address, &data)? == data,
        "the echo after the flood differs"
    );
    settle(machine)?;
    let after = heap_used(machine)?;
    ensure!(
        after == before,
        "the heap held {before} bytes before the flood and {after} after"
    );
    power_off(machine)
}
