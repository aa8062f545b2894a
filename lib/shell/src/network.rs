//! The network commands: `ifconfig` (the stack's address, loading the
//! stack, which asks DHCP for it), `arping` (asks the network card's
//! link who has an IPv4 address, with ARP, straight through the card's
//! driver), `netstat` (the stack's sockets), `nc` (a TCP client),
//! `echo-server` (starts or stops the echo service, which runs on threads
//! of its own) and `httpd` (starts and stops the status page's server).

use core::fmt::Write;

use alloc::string::String;

use com::Status;
use interfaces::network::STACK_PATH;
use interfaces::socket::{STATE_NAMES, TCP_PATH, UDP_PATH};
use interfaces::{
    INetworkDevice, INetworkStack, IScheduler, IService, ISocketFactory, SocketAddress,
};

use crate::context::{Context, Failure, Outcome, SCHEDULER_PATH, failed, service};

/// The network card's driver, which `arping` talks to.
pub const CARD_PATH: &str = "/virtio-net";
/// The status page's server, which `httpd` starts and holds.
pub const HTTPD_PATH: &str = "/httpd";
/// The port it serves on.
const HTTP_PORT: u32 = 80;
/// How long `arping` waits for the answer, in milliseconds.
const ARP_TIMEOUT_MS: u64 = 1000;
/// How long `ifconfig` waits for DHCP, in milliseconds.
const DHCP_TIMEOUT_MS: u64 = 5000;
/// An Ethernet frame of an IPv4 ARP message: 14 bytes of Ethernet header
/// and 28 of ARP.
const ARP_FRAME: usize = 42;
/// The longest frame the card hands over.
const MAX_FRAME: usize = 1514;

/// `arping <a.b.c.d>`: sends an ARP probe (sender address 0.0.0.0, so it
/// claims no address) for the address from the card, and prints the MAC
/// address of whoever answers within a second.
pub fn arping(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    let [address] = arguments else {
        return Err(Failure::Usage);
    };
    let target = parse_ipv4(address).ok_or(Failure::Usage)?;
    let card = service::<INetworkDevice>(context.namespace, CARD_PATH, 0)?;
    let scheduler = service::<IScheduler>(context.namespace, SCHEDULER_PATH, 0)?;
    let mac = card.mac_address().map_err(failed(CARD_PATH))?;
    let start = scheduler.now().map_err(failed(SCHEDULER_PATH))?;
    let per_second = scheduler
        .ticks_per_second()
        .map_err(failed(SCHEDULER_PATH))?;
    let deadline = deadline_in(&scheduler, ARP_TIMEOUT_MS).map_err(failed(SCHEDULER_PATH))?;
    card.send(&arp_probe(mac_bytes(mac), target))
        .map_err(failed(CARD_PATH))?;
    let mut frame = [0u8; MAX_FRAME];
    loop {
        let received = card.receive(&mut frame).map_err(failed(CARD_PATH))?;
        let length = usize::try_from(received.length).unwrap_or(0);
        if length == 0 {
            card.wait_until(deadline).map_err(failed(address))?;
        } else if let Some(answer) = frame.get(..length).and_then(|f| arp_answer(f, target)) {
            let now = scheduler.now().map_err(failed(SCHEDULER_PATH))?;
            let ms = now.saturating_sub(start).saturating_mul(1000) / per_second.max(1);
            let _ = writeln!(
                context.output,
                "{address} is at {} ({ms} ms)",
                MacAddress(answer)
            );
            return Ok(None);
        }
        // Other traffic goes on while the answer does not come.
        if scheduler.now().map_err(failed(SCHEDULER_PATH))? >= deadline {
            return Err(failed(address)(Status::TIMED_OUT));
        }
    }
}

/// `ifconfig`: the stack's card and the address DHCP gave it, waiting
/// for DHCP a while if the stack has just loaded.
pub fn ifconfig(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    if !arguments.is_empty() {
        return Err(Failure::Usage);
    }
    let stack = service::<INetworkStack>(context.namespace, STACK_PATH, 0)?;
    let scheduler = service::<IScheduler>(context.namespace, SCHEDULER_PATH, 0)?;
    let deadline = deadline_in(&scheduler, DHCP_TIMEOUT_MS).map_err(failed(SCHEDULER_PATH))?;
    let configuration = stack
        .wait_configured(deadline)
        .map_err(failed(STACK_PATH))?;
    let _ = write!(
        context.output,
        "{STACK_PATH}: ether {} inet {}/{}",
        MacAddress(mac_bytes(configuration.mac_address)),
        Ipv4(configuration.address),
        configuration.prefix_length,
    );
    // QEMU's restricted user network names no gateway.
    if configuration.gateway != 0 {
        let _ = write!(context.output, " gateway {}", Ipv4(configuration.gateway));
    }
    let seed = if configuration.seed_from_device != 0 {
        "the entropy device"
    } else {
        "the clock (weak)"
    };
    let _ = writeln!(
        context.output,
        " (DHCP from {}; seed from {seed})",
        Ipv4(configuration.dhcp_server)
    );
    Ok(None)
}

/// `httpd`: starts the status page's server, which serves in the
/// background while the shell holds it; `httpd stop` stops it and lets
/// it (and the network stack, if nothing else holds it) unload.
pub fn httpd(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    match arguments {
        [] => {
            if context.held.contains(HTTPD_PATH) {
                return Err(Failure::Status(HTTPD_PATH.into(), Status::ALREADY_EXISTS));
            }
            let server = service::<IService>(context.namespace, HTTPD_PATH, 0)?;
            let subject = alloc::format!("{HTTPD_PATH} on port {HTTP_PORT}");
            server.start(HTTP_PORT).map_err(failed(&subject))?;
            let _ = writeln!(
                context.output,
                "httpd: serving the status page on port {HTTP_PORT} (`httpd stop` stops it)"
            );
            context.held.put(HTTPD_PATH.into(), server.to_unknown());
        }
        ["stop"] => {
            let server = context
                .held
                .take(HTTPD_PATH)
                .ok_or(Failure::Status(HTTPD_PATH.into(), Status::NOT_CONNECTED))?;
            server
                .query::<IService>()
                .and_then(|server| server.stop())
                .map_err(failed(HTTPD_PATH))?;
            let _ = writeln!(context.output, "httpd: stopped");
        }
        _ => return Err(Failure::Usage),
    }
    Ok(None)
}

/// How long `nc` may take, in milliseconds.
const NC_TIMEOUT_MS: u64 = 5000;
/// Where `echo-server` finds the echo service.
pub const ECHO_PATH: &str = "/echo-server";

/// `netstat`: every socket of the stack, TCP then UDP, with its state;
/// the stack is not loaded for it.
pub fn netstat(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    if !arguments.is_empty() {
        return Err(Failure::Usage);
    }
    if context.namespace.capabilities(STACK_PATH).is_err() {
        let _ = writeln!(context.output, "no sockets (the stack is not loaded)");
        return Ok(None);
    }
    let _ = writeln!(
        context.output,
        "proto local                 peer                  state        recv-q send-q"
    );
    for (path, protocol) in [(TCP_PATH, "tcp"), (UDP_PATH, "udp")] {
        let factory = service::<ISocketFactory>(context.namespace, path, 0)?;
        for index in 0.. {
            let status = match factory.socket_status(index) {
                Err(Status::NO_MORE_ENTRIES) => break,
                status => status.map_err(failed(path))?,
            };
            let state = STATE_NAMES.get(status.state as usize).unwrap_or(&"?");
            let _ = writeln!(
                context.output,
                "{protocol:<5} {:<21} {:<21} {state:<12} {:>6} {:>6}",
                Endpoint(status.local),
                Endpoint(status.peer),
                status.receive_queued,
                status.send_queued,
            );
        }
    }
    Ok(None)
}

/// `echo-server <port>`: starts the echo service on the port and holds
/// it (it runs on its own threads); `echo-server stop` stops it.
pub fn echo_server(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    match arguments {
        ["stop"] => {
            let held = context.held.take(ECHO_PATH);
            let echo = held.ok_or(Failure::Status(ECHO_PATH.into(), Status::NOT_CONNECTED))?;
            let echo = echo.query::<IService>().map_err(failed(ECHO_PATH))?;
            echo.stop().map_err(failed(ECHO_PATH))?;
            let _ = writeln!(context.output, "echo-server: stopped");
        }
        [port] => {
            let port: u16 = port.parse().map_err(|_| Failure::Usage)?;
            let echo = service::<IService>(context.namespace, ECHO_PATH, 0)?;
            echo.start(u32::from(port)).map_err(failed(ECHO_PATH))?;
            if !context.held.contains(ECHO_PATH) {
                context.held.put(String::from(ECHO_PATH), echo.to_unknown());
            }
            let _ = writeln!(
                context.output,
                "echo-server: listening on port {port} ('echo-server stop' stops it)"
            );
        }
        _ => return Err(Failure::Usage),
    }
    Ok(None)
}

/// `nc <a.b.c.d> <port> [text...]`: connects over TCP, sends the text
/// and a newline, closes its sending side, and prints what the peer
/// sends back until it closes — all within [`NC_TIMEOUT_MS`].
pub fn nc(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    let [address, port, words @ ..] = arguments else {
        return Err(Failure::Usage);
    };
    let peer = u32::from_be_bytes(parse_ipv4(address).ok_or(Failure::Usage)?);
    let port: u16 = port.parse().map_err(|_| Failure::Usage)?;
    let factory = service::<ISocketFactory>(context.namespace, TCP_PATH, 0)?;
    let scheduler = service::<IScheduler>(context.namespace, SCHEDULER_PATH, 0)?;
    let deadline = deadline_in(&scheduler, NC_TIMEOUT_MS).map_err(failed(SCHEDULER_PATH))?;
    let socket = factory.create().map_err(failed(TCP_PATH))?;
    socket
        .connect(peer, u32::from(port), deadline)
        .map_err(failed(address))?;
    let mut text = words.join(" ");
    text.push('\n');
    let mut rest = text.as_bytes();
    while !rest.is_empty() {
        let sent = socket.send(rest, deadline).map_err(failed(address))?;
        rest = rest.get(sent..).unwrap_or_default();
    }
    socket.shutdown().map_err(failed(address))?;
    let mut buffer = [0u8; 512];
    loop {
        let received = socket
            .receive(&mut buffer, deadline)
            .map_err(failed(address))?;
        let Some(piece) = buffer.get(..received).filter(|piece| !piece.is_empty()) else {
            return Ok(None);
        };
        let _ = context.output.write_str(&String::from_utf8_lossy(piece));
    }
}

/// An address and port, printed `a.b.c.d:port`.
struct Endpoint(SocketAddress);

impl core::fmt::Display for Endpoint {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let text = alloc::format!("{}:{}", Ipv4(self.0.address), self.0.port);
        formatter.pad(&text)
    }
}

/// The kernel's time `ms` milliseconds from now.
fn deadline_in(scheduler: &IScheduler, ms: u64) -> com::Result<u64> {
    let per_second = scheduler.ticks_per_second()?;
    Ok(scheduler
        .now()?
        .saturating_add(per_second.saturating_mul(ms) / 1000))
}

/// An IPv4 address held with its first byte highest, printed `a.b.c.d`.
struct Ipv4(u32);

impl core::fmt::Display for Ipv4 {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let [a, b, c, d] = self.0.to_be_bytes();
        write!(formatter, "{a}.{b}.{c}.{d}")
    }
}

/// `a.b.c.d` as four bytes.
fn parse_ipv4(text: &str) -> Option<[u8; 4]> {
    let mut address = [0u8; 4];
    let mut parts = text.split('.');
    for byte in &mut address {
        *byte = parts.next()?.parse().ok()?;
    }
    parts.next().is_none().then_some(address)
}

/// The six bytes of a MAC address held in the low 48 bits of `number`.
fn mac_bytes(number: u64) -> [u8; 6] {
    let bytes = number.to_be_bytes();
    [bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7]]
}

/// A MAC address, printed as `52:54:00:12:34:56`.
struct MacAddress([u8; 6]);

impl core::fmt::Display for MacAddress {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let [a, b, c, d, e, f] = self.0;
        write!(formatter, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{f:02x}")
    }
}

/// EtherType of ARP.
const ETHERTYPE_ARP: [u8; 2] = [0x08, 0x06];
/// The fixed start of an IPv4-over-Ethernet ARP message: hardware type 1
/// (Ethernet), protocol 0x0800 (IPv4), address lengths 6 and 4.
const ARP_IPV4_ETHERNET: [u8; 6] = [0, 1, 0x08, 0x00, 6, 4];
/// ARP operations.
const ARP_REQUEST: [u8; 2] = [0, 1];
const ARP_REPLY: [u8; 2] = [0, 2];

/// The broadcast frame of an ARP probe from `mac` for `target`.
fn arp_probe(mac: [u8; 6], target: [u8; 4]) -> [u8; ARP_FRAME] {
    let mut frame = [0u8; ARP_FRAME];
    let fields: [&[u8]; 9] = [
        &[0xff; 6],
        &mac,
        &ETHERTYPE_ARP,
        &ARP_IPV4_ETHERNET,
        &ARP_REQUEST,
        &mac,
        &[0; 4],
        &[0; 6],
        &target,
    ];
    let mut at = 0;
    for field in fields {
        frame[at..at + field.len()].copy_from_slice(field);
        at += field.len();
    }
    frame
}

/// The sender's MAC address, if `frame` is an ARP reply from `target`.
fn arp_answer(frame: &[u8], target: [u8; 4]) -> Option<[u8; 6]> {
    let is_reply = frame.get(12..14)? == ETHERTYPE_ARP
        && frame.get(14..20)? == ARP_IPV4_ETHERNET
        && frame.get(20..22)? == ARP_REPLY
        && frame.get(28..32)? == target;
    if !is_reply {
        return None;
    }
    frame.get(22..28)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x52, 0x54, 0, 0x12, 0x34, 0x56];
    const GATEWAY: [u8; 4] = [10, 0, 2, 2];
    const GATEWAY_MAC: [u8; 6] = [0x52, 0x55, 10, 0, 2, 2];

    /// The reply QEMU's user network gives the probe.
    fn reply() -> [u8; ARP_FRAME] {
        let mut frame = arp_probe(MAC, GATEWAY);
        frame[..6].copy_from_slice(&MAC);
        frame[6..12].copy_from_slice(&GATEWAY_MAC);
        frame[20..22].copy_from_slice(&ARP_REPLY);
        frame[22..28].copy_from_slice(&GATEWAY_MAC);
        frame[28..32].copy_from_slice(&GATEWAY);
        frame[32..38].copy_from_slice(&MAC);
        frame[38..42].copy_from_slice(&[0; 4]);
        frame
    }

    #[test]
    fn the_probe_is_a_broadcast_arp_request_claiming_no_address() {
        let frame = arp_probe(MAC, GATEWAY);
        assert_eq!(&frame[..6], &[0xff; 6]);
        assert_eq!(&frame[6..12], &MAC);
        assert_eq!(&frame[12..14], &ETHERTYPE_ARP);
        assert_eq!(&frame[14..22], &[0, 1, 8, 0, 6, 4, 0, 1]);
        assert_eq!(&frame[22..28], &MAC);
        assert_eq!(&frame[28..32], &[0; 4]);
        assert_eq!(&frame[38..42], &GATEWAY);
    }

    #[test]
    fn the_answer_names_the_target_s_mac_address() {
        assert_eq!(arp_answer(&reply(), GATEWAY), Some(GATEWAY_MAC));
    }

    #[test]
    fn other_frames_are_no_answer() {
        assert_eq!(arp_answer(&reply(), [10, 0, 2, 3]), None);
        assert_eq!(arp_answer(&arp_probe(MAC, GATEWAY), GATEWAY), None);
        assert_eq!(arp_answer(&reply()[..30], GATEWAY), None);
        let mut ipv4 = reply();
        ipv4[12..14].copy_from_slice(&[0x08, 0x00]);
        assert_eq!(arp_answer(&ipv4, GATEWAY), None);
    }

    #[test]
    fn addresses_parse_and_print() {
        assert_eq!(parse_ipv4("10.0.2.2"), Some(GATEWAY));
        assert_eq!(parse_ipv4("10.0.2"), None);
        assert_eq!(parse_ipv4("10.0.2.2.1"), None);
        assert_eq!(parse_ipv4("10.0.2.256"), None);
        assert_eq!(mac_bytes(0x5254_0012_3456), MAC);
        assert_eq!(alloc::format!("{}", Ipv4(0x0a00_020f)), "10.0.2.15");
        assert_eq!(
            alloc::format!("{}", MacAddress(GATEWAY_MAC)),
            "52:55:0a:00:02:02"
        );
    }
}
