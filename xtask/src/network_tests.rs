//! The QEMU tests of networking: a machine with a virtio network card on
//! QEMU's user network (`restrict=on`: nothing leaves it but the
//! forwarded ports on 127.0.0.1), whose forwarded host ports are free
//! ports chosen for the test, so tests running side by side never collide.

use std::fs;
use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;

use anyhow::{Context, Result, ensure};

use crate::machine::Machine;
use crate::qemu::{Devices, Forward, Network};
use crate::socket_tests;
use crate::storage_tests::{expect, heap_used, power_off};
use crate::workspace::output_directory;

/// One network test: a machine at its first prompt, and what the host
/// has for it.
pub type NetworkTest = fn(&mut Machine, &Hosts) -> Result<()>;

/// The host's side of a test machine's network.
pub struct Hosts {
    /// The host ports forwarded to the guest's.
    pub forwards: Vec<Forward>,
    /// What listens on the host port the guest reaches as 10.0.2.100
    /// port 7, when the test asked for a peer.
    pub peer: Option<TcpListener>,
    /// The capture of the card's frames, when the test asked for one.
    pub capture: Option<PathBuf>,
}

/// How a network test's machine is set up.
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    /// The virtio devices use the modern transport.
    pub modern_virtio: bool,
    /// An entropy device comes with the card.
    pub entropy: bool,
    /// A peer on the host listens for the guest's connections.
    pub peer: bool,
    /// QEMU writes the card's frames to a capture ([`Hosts::capture`]).
    pub capture: bool,
}

/// The machine `cargo xtask bench` measures the network figures on.
pub const BENCH: Setup = LEGACY;

const LEGACY: Setup = Setup {
    modern_virtio: false,
    entropy: true,
    peer: false,
    capture: false,
};

/// Every network test, by name.
pub const TESTS: &[(&str, Setup, NetworkTest)] = &[
    (
        "virtio_net_sends_and_receives_frames_legacy",
        LEGACY,
        frames_go_out_and_come_in,
    ),
    (
        "virtio_net_sends_and_receives_frames_modern",
        Setup {
            modern_virtio: true,
            ..LEGACY
        },
        frames_go_out_and_come_in,
    ),
    (
        "network_stack_configures_itself_by_dhcp_and_unloads",
        LEGACY,
        the_stack_is_configured_by_dhcp,
    ),
    (
        "network_stack_without_an_entropy_device_says_its_seed_is_weak",
        Setup {
            entropy: false,
            ..LEGACY
        },
        the_seed_is_weak_without_an_entropy_device,
    ),
    (
        "sockets_echo_a_mebibyte_and_the_stack_unloads_and_reloads",
        Setup {
            capture: true,
            ..LEGACY
        },
        socket_tests::a_mebibyte_echoes_byte_for_byte,
    ),
    (
        "sockets_a_thousand_connections_leave_no_drift_in_mem",
        LEGACY,
        socket_tests::a_thousand_connections_leave_no_drift,
    ),
    (
        "sockets_the_guest_connects_to_a_host_peer_and_to_itself",
        Setup {
            peer: true,
            ..LEGACY
        },
        socket_tests::the_guest_connects_out_and_to_itself,
    ),
    (
        "sockets_a_flood_and_peer_resets_do_no_harm",
        LEGACY,
        socket_tests::a_flood_and_resets_do_no_harm,
    ),
];

/// The guest ports a test machine's host forwards to: the status page's
/// and the echo service's.
const GUEST_PORTS: [u16; 2] = [80, 7];

/// The devices of a test's machine: a network card whose guest ports are
/// reached from free host ports, and a peer the guest reaches if asked.
pub fn devices(setup: Setup) -> Result<(Devices, Hosts)> {
    let forwards = GUEST_PORTS
        .iter()
        .map(|&guest| {
            Ok(Forward {
                host: free_host_port()?,
                guest,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let peer = match setup.peer {
        true => {
            Some(TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("listening for the guest")?)
        }
        false => None,
    };
    let peer_port = match &peer {
        Some(listener) => Some(listener.local_addr()?.port()),
        None => None,
    };
    let capture = match setup.capture {
        true => Some(capture_file(&forwards)?),
        false => None,
    };
    let devices = Devices {
        modern_virtio: setup.modern_virtio,
        network: Some(Network {
            forwards: forwards.clone(),
            entropy: setup.entropy,
            peer: peer_port,
            capture: capture.clone(),
        }),
        ..Devices::default()
    };
    Ok((
        devices,
        Hosts {
            forwards,
            peer,
            capture,
        },
    ))
}

/// A fresh file for a test machine's capture, named after its first
/// forwarded host port (tests side by side have different ones).
fn capture_file(forwards: &[Forward]) -> Result<PathBuf> {
    let directory = output_directory()?.join("test-captures");
    fs::create_dir_all(&directory)?;
    let port = forwards.first().map_or(0, |forward| forward.host);
    let file = directory.join(format!("{port}.pcap"));
    if file.exists() {
        fs::remove_file(&file).with_context(|| format!("removing {}", file.display()))?;
    }
    Ok(file)
}

/// A TCP port of 127.0.0.1 that nothing listens on now (the system picks
/// it; QEMU takes it a moment later).
fn free_host_port() -> Result<u16> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free host port")?;
    Ok(listener.local_addr()?.port())
}

/// The kernel lists the card; the driver loads on demand, sends an ARP
/// probe that QEMU's gateway and name server answer (through the receive
/// queue and the card's interrupt), gives up on an address nobody has
/// after its timeout (a wait with a deadline), and unloads with the heap
/// back where it was.
fn frames_go_out_and_come_in(machine: &mut Machine, _: &Hosts) -> Result<()> {
    let listing = machine.run("ls /sys/devices")?;
    let devices: Vec<&str> = listing.lines().map(str::trim).collect();
    ensure!(
        devices == ["/sys/devices/virtio-net0", "/sys/devices/virtio-rng0"],
        "/sys/devices lists {listing:?}, not just the card and the entropy device"
    );
    let before = heap_used(machine)?;
    expect(
        machine,
        "arping 10.0.2.2",
        &["10.0.2.2 is at 52:55:0a:00:02:02"],
    )?;
    expect(
        machine,
        "arping 10.0.2.3",
        &["10.0.2.3 is at 52:55:0a:00:02:03"],
    )?;
    expect(
        machine,
        "arping 10.0.2.99",
        &["error: arping: 10.0.2.99: timed out"],
    )?;
    expect(machine, "arping 10.0.2", &["usage: arping"])?;
    expect(machine, "mods", &["no modules loaded besides the shell"])?;
    let after = heap_used(machine)?;
    ensure!(
        after == before,
        "the heap held {before} bytes before the driver loaded and {after} after it unloaded"
    );
    power_off(machine)
}

/// Binding the stack loads it and the card's driver, and the entropy
/// device's for its seed; DHCP gives it QEMU's guest address (no
/// gateway: the network is restricted); released, all unload with the
/// heap back where it was, and the next bind loads them again and gets
/// the address again.
fn the_stack_is_configured_by_dhcp(machine: &mut Machine, _: &Hosts) -> Result<()> {
    let before = heap_used(machine)?;
    for _ in 0..2 {
        expect(
            machine,
            "ifconfig",
            &["/net: ether 52:54:00:12:34:56 inet 10.0.2.15/24 \
                 (DHCP from 10.0.2.2; seed from the entropy device)"],
        )?;
        expect(machine, "mods", &["no modules loaded besides the shell"])?;
        let after = heap_used(machine)?;
        ensure!(
            after == before,
            "the heap held {before} bytes before the stack loaded and {after} after it unloaded"
        );
    }
    power_off(machine)
}

/// Without an entropy device the stack still comes up, on the weak seed,
/// and says so.
fn the_seed_is_weak_without_an_entropy_device(machine: &mut Machine, _: &Hosts) -> Result<()> {
    expect(
        machine,
        "ifconfig",
        &["inet 10.0.2.15/24 (DHCP from 10.0.2.2; seed from the clock (weak))"],
    )?;
    power_off(machine)
}
