//! The QEMU tests of the sockets, with a client on the host: the echo
//! service (`echo-server 7` in the guest) reached through the forwarded
//! port, byte for byte; many connections, a flood and resets that leave
//! the heap where it was; the stack unloading and loading again.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use crate::machine::Machine;
use crate::qemu::Forward;
use crate::storage_tests::{expect, heap_used, power_off};

/// The guest port of the echo service.
const ECHO_PORT: u16 = 7;
/// How long the host waits on one connection.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// The host port forwarded to the guest's `guest` port.
fn host_port(forwards: &[Forward], guest: u16) -> Result<SocketAddr> {
    let forward = forwards
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
pub fn a_mebibyte_echoes_byte_for_byte(machine: &mut Machine, forwards: &[Forward]) -> Result<()> {
    let address = host_port(forwards, ECHO_PORT)?;
    let before = heap_used(machine)?;
    for round in 0..2 {
        expect(
            machine,
            "echo-server 7",
            &["echo-server: listening on port 7"],
        )?;
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
pub fn a_thousand_connections_leave_no_drift(
    machine: &mut Machine,
    forwards: &[Forward],
) -> Result<()> {
    let address = host_port(forwards, ECHO_PORT)?;
    expect(
        machine,
        "echo-server 7",
        &["echo-server: listening on port 7"],
    )?;
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
