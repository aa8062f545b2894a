//! `ISocket`: one TCP or UDP endpoint of the network stack, in the shape of
//! BSD sockets; `ISocketFactory`: what `/net/tcp` and `/net/udp` are, making
//! sockets and listing them (the shell's `netstat`).
//!
//! Times are the kernel's (`IScheduler::now`, in ticks). A blocking call
//! sleeps until the stack has what it waits for or its `deadline` passes
//! (`TIMED_OUT`); [`FOREVER`] never passes and [`NOW`] never sleeps.

use com::{ComPtr, Record, Result, interface};

/// Where the TCP socket factory is bound (under the stack, `/net`).
pub const TCP_PATH: &str = "/net/tcp";
/// Where the UDP socket factory is bound.
pub const UDP_PATH: &str = "/net/udp";

/// A deadline that never passes: the call waits as long as it takes.
pub const FOREVER: u64 = u64::MAX;
/// A deadline already past: the call does what it can without sleeping.
pub const NOW: u64 = 0;

/// An IPv4 address and port. Addresses have the first byte highest
/// (`0x0a00_020f` for 10.0.2.15); address 0 is any (when binding) and port
/// 0 lets the stack choose one.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Record)]
pub struct SocketAddress {
    /// The IPv4 address.
    pub address: u32,
    /// The port.
    pub port: u32,
}

/// The protocol of a socket ([`SocketStatus::protocol`]).
pub const PROTOCOL_TCP: u32 = 6;
/// The protocol of a UDP socket.
pub const PROTOCOL_UDP: u32 = 17;

/// The TCP states, in RFC 793's order ([`SocketStatus::state`]); a UDP
/// socket is `STATE_CLOSED` until bound and `STATE_LISTEN` after.
pub const STATE_NAMES: [&str; 11] = [
    "CLOSED",
    "LISTEN",
    "SYN-SENT",
    "SYN-RECEIVED",
    "ESTABLISHED",
    "FIN-WAIT-1",
    "FIN-WAIT-2",
    "CLOSE-WAIT",
    "CLOSING",
    "LAST-ACK",
    "TIME-WAIT",
];

/// One socket as `netstat` shows it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Record)]
pub struct SocketStatus {
    /// [`PROTOCOL_TCP`] or [`PROTOCOL_UDP`].
    pub protocol: u32,
    /// An index into [`STATE_NAMES`].
    pub state: u32,
    /// The local address and port (0: not bound yet).
    pub local: SocketAddress,
    /// The peer (0: none).
    pub peer: SocketAddress,
    /// Bytes received and not read yet.
    pub receive_queued: u32,
    /// Bytes written and not acknowledged yet.
    pub send_queued: u32,
}

/// What one datagram receive gave.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Record)]
pub struct Datagram {
    /// The bytes written into the buffer (a longer datagram is cut).
    pub length: u64,
    /// Who sent it.
    pub sender: SocketAddress,
}

#[interface("15d8d8e9-a5a8-4983-98fd-6c564eaae455")]
/// A factory of sockets of one protocol (`/net/tcp`, `/net/udp`).
pub trait ISocketFactory {
    /// A new socket, neither bound nor connected.
    fn create(&self) -> Result<ComPtr<ISocket>>;
    /// The status of the `index`th open socket of this protocol
    /// (`NO_MORE_ENTRIES` past the last).
    fn socket_status(&self, index: u32) -> Result<SocketStatus>;
}

#[interface("61d3f300-f5e3-4333-8374-6e7ed090a680")]
/// One socket. Releasing the last reference closes it.
pub trait ISocket {
    /// Gives the socket its local address and port (address 0: any;
    /// `ADDRESS_IN_USE` when taken).
    fn bind(&self, address: u32, port: u32) -> Result<()>;
    /// Makes a bound TCP socket accept connections, with up to `backlog`
    /// of them waiting to be accepted.
    fn listen(&self, backlog: u32) -> Result<()>;
    /// The next connection to a listening socket, as a new connected
    /// socket.
    fn accept(&self, deadline: u64) -> Result<ComPtr<ISocket>>;
    /// Connects a TCP socket to `address` and `port` (`CONNECTION_REFUSED`
    /// when nothing listens); on a UDP socket, sets where `send` sends.
    fn connect(&self, address: u32, port: u32, deadline: u64) -> Result<()>;
    /// Sends from `data`; returns the bytes taken (at least one unless
    /// `data` is empty, or `TIMED_OUT` when none could be by `deadline`).
    fn send(&self, data: &[u8], deadline: u64) -> Result<usize>;
    /// Receives into `buffer`; returns the bytes read, 0 once the peer
    /// has closed its side and everything it sent was read.
    fn receive(&self, buffer: &mut [u8], deadline: u64) -> Result<usize>;
    /// Sends one UDP datagram to `address` and `port`.
    fn send_to(&self, data: &[u8], address: u32, port: u32) -> Result<usize>;
    /// Receives one UDP datagram and says who sent it.
    fn receive_from(&self, buffer: &mut [u8], deadline: u64) -> Result<Datagram>;
    /// Ends the sending side: the peer reads the end of the stream.
    fn shutdown(&self) -> Result<()>;
    /// Closes the socket now; later calls fail with `NOT_CONNECTED`.
    fn close(&self) -> Result<()>;
    /// The socket as `netstat` shows it.
    fn status(&self) -> Result<SocketStatus>;
}
