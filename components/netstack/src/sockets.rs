//! The stack's sockets as their clients see them: a table of endpoints
//! (created, bound, listening with a pool of `smoltcp` sockets, connected,
//! UDP), each owned by one `ISocket` object by its index, over `smoltcp`'s
//! socket set. Every operation here is one step that never waits; the
//! objects (`objects.rs`) wait between steps.

use alloc::vec;
use alloc::vec::Vec;

use com::{Result, Status};
use interfaces::socket::{PROTOCOL_TCP, PROTOCOL_UDP};
use interfaces::{Datagram, SocketAddress, SocketStatus};
use smoltcp::iface::{Interface, SocketHandle, SocketSet};
use smoltcp::socket::{tcp, udp};
use smoltcp::time::Duration;
use smoltcp::wire::{IpAddress, IpEndpoint, IpListenEndpoint, Ipv4Address};

/// Bytes of each TCP socket's receive buffer and of its send buffer.
const TCP_BUFFER: usize = 32 * 1024;
/// Datagrams each UDP socket queues each way, and their bytes.
const UDP_DATAGRAMS: usize = 8;
const UDP_BUFFER: usize = 16 * 1024;
/// The most `smoltcp` TCP sockets at once — listening, connected, and
/// closing after their object let go: connection attempts beyond find no
/// listening socket and are refused.
pub const MAX_TCP: usize = 48;
/// The most UDP sockets at once.
pub const MAX_UDP: usize = 16;
/// The longest backlog a listening socket keeps.
const MAX_BACKLOG: usize = 16;
/// How long a connection whose object let go may take to close before it
/// is dropped (a peer gone silent), and how long any connection may go
/// without hearing from its peer while it has data to send.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);
/// Where ports the stack chooses start (RFC 6335's dynamic ports).
const EPHEMERAL_FIRST: u16 = 49152;

/// A TCP endpoint.
enum Tcp {
    /// Created, and bound when the port is not 0.
    Unconnected { local: SocketAddress },
    /// Listening: `pool` holds up to `backlog` `smoltcp` sockets, listening
    /// or holding a connection not accepted yet.
    Listening {
        local: SocketAddress,
        backlog: usize,
        pool: Vec<SocketHandle>,
    },
    /// A connection (or an attempt at one); `shut_down` once this side has
    /// closed its half.
    Connected {
        handle: SocketHandle,
        shut_down: bool,
    },
}

/// A UDP endpoint: its `smoltcp` socket and where `send` sends.
struct Udp {
    handle: SocketHandle,
    peer: Option<IpEndpoint>,
}

enum Endpoint {
    Tcp(Tcp),
    Udp(Udp),
}

/// The sockets of the stack.
pub struct Sockets {
    endpoints: Vec<Option<Endpoint>>,
    /// Connections whose object let go, closing.
    closing: Vec<SocketHandle>,
    tcp_sockets: usize,
    udp_sockets: usize,
    next_port: u16,
    /// A socket was dropped since the pools were last refilled: there may
    /// be room for them now ([`Sockets::collect`]).
    room_freed: bool,
}

/// The first byte highest, as the interface carries addresses.
fn address_of(ip: IpAddress) -> u32 {
    match ip {
        IpAddress::Ipv4(address) => address.to_bits(),
    }
}

fn socket_address(endpoint: Option<IpEndpoint>) -> SocketAddress {
    endpoint.map_or_else(SocketAddress::default, |endpoint| SocketAddress {
        address: address_of(endpoint.addr),
        port: u32::from(endpoint.port),
    })
}

/// A port number from the interface's `u32`.
fn port_of(port: u32) -> Result<u16> {
    u16::try_from(port).map_err(|_| Status::INVALID_ARGUMENT)
}

/// A peer's endpoint: neither its address nor its port may be 0.
fn peer_of(address: u32, port: u32) -> Result<IpEndpoint> {
    let port = port_of(port)?;
    if address == 0 || port == 0 {
        return Err(Status::INVALID_ARGUMENT);
    }
    Ok(IpEndpoint::new(
        IpAddress::Ipv4(Ipv4Address::from_bits(address)),
        port,
    ))
}

fn listen_endpoint(local: SocketAddress) -> IpListenEndpoint {
    IpListenEndpoint {
        addr: (local.address != 0).then(|| IpAddress::Ipv4(Ipv4Address::from_bits(local.address))),
        port: u16::try_from(local.port).unwrap_or(0),
    }
}

/// The index of `state` in `STATE_NAMES` (RFC 793's order).
fn state_index(state: tcp::State) -> u32 {
    use tcp::State::*;
    match state {
        Closed => 0,
        Listen => 1,
        SynSent => 2,
        SynReceived => 3,
        Established => 4,
        FinWait1 => 5,
        FinWait2 => 6,
        CloseWait => 7,
        Closing => 8,
        LastAck => 9,
        TimeWait => 10,
    }
}

/// A connection waiting in a listening pool has been made (or was made
/// and has ended already: accepted, it reads the end or the reset).
fn connected(socket: &tcp::Socket<'_>) -> bool {
    !matches!(socket.state(), tcp::State::Listen | tcp::State::SynReceived)
}

fn saturating_u32(count: usize) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

fn status_of(socket: &tcp::Socket<'_>) -> SocketStatus {
    SocketStatus {
        protocol: PROTOCOL_TCP,
        state: state_index(socket.state()),
        local: socket_address(socket.local_endpoint()),
        peer: socket_address(socket.remote_endpoint()),
        receive_queued: saturating_u32(socket.recv_queue()),
        send_queued: saturating_u32(socket.send_queue()),
    }
}

impl Sockets {
    /// No sockets; ports the stack chooses start at a place from `seed`.
    pub fn new(seed: u64) -> Sockets {
        let span = u64::from(u16::MAX - EPHEMERAL_FIRST);
        Sockets {
            // Room for as many endpoints as sockets from the start, so
            // connections come and go without the heap moving.
            endpoints: Vec::with_capacity(MAX_TCP + MAX_UDP),
            closing: Vec::new(),
            tcp_sockets: 0,
            udp_sockets: 0,
            next_port: EPHEMERAL_FIRST + u16::try_from(seed % span).unwrap_or(0),
            room_freed: false,
        }
    }

    /// A new endpoint of `protocol`: its index.
    pub fn create(&mut self, set: &mut SocketSet<'static>, protocol: u32) -> Result<usize> {
        let endpoint = match protocol {
            PROTOCOL_TCP => Endpoint::Tcp(Tcp::Unconnected {
                local: SocketAddress::default(),
            }),
            _ => {
                if self.udp_sockets >= MAX_UDP {
                    return Err(Status::OUT_OF_MEMORY);
                }
                let buffer = || {
                    udp::PacketBuffer::new(
                        vec![udp::PacketMetadata::EMPTY; UDP_DATAGRAMS],
                        vec![0; UDP_BUFFER],
                    )
                };
                self.udp_sockets += 1;
                let handle = set.add(udp::Socket::new(buffer(), buffer()));
                Endpoint::Udp(Udp { handle, peer: None })
            }
        };
        let free = self.endpoints.iter().position(Option::is_none);
        let index = free.unwrap_or(self.endpoints.len());
        if free.is_none() {
            self.endpoints.push(None);
        }
        self.endpoints[index] = Some(endpoint);
        Ok(index)
    }

    fn endpoint(&mut self, index: usize) -> Result<&mut Endpoint> {
        self.endpoints
            .get_mut(index)
            .and_then(Option::as_mut)
            .ok_or(Status::NOT_CONNECTED)
    }

    /// A new `smoltcp` TCP socket, if the limit allows.
    fn add_tcp(&mut self, set: &mut SocketSet<'static>) -> Option<SocketHandle> {
        if self.tcp_sockets >= MAX_TCP {
            return None;
        }
        self.tcp_sockets += 1;
        let mut socket = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; TCP_BUFFER]),
            tcp::SocketBuffer::new(vec![0; TCP_BUFFER]),
        );
        socket.set_timeout(Some(CLOSE_TIMEOUT));
        Some(set.add(socket))
    }

    /// Is `port` of `protocol` taken by an endpoint that binds it?
    fn port_taken(&self, set: &SocketSet<'static>, udp: bool, port: u16) -> bool {
        self.endpoints
            .iter()
            .flatten()
            .any(|endpoint| match endpoint {
                Endpoint::Tcp(Tcp::Unconnected { local } | Tcp::Listening { local, .. }) => {
                    !udp && local.port == u32::from(port)
                }
                Endpoint::Tcp(Tcp::Connected { handle, .. }) => {
                    let socket = set.get::<tcp::Socket>(*handle);
                    !udp && socket.local_endpoint().is_some_and(|at| at.port == port)
                        && socket.listen_endpoint().port == 0
                }
                Endpoint::Udp(endpoint) => {
                    udp && set.get::<udp::Socket>(endpoint.handle).endpoint().port == port
                }
            })
    }

    /// A port of the dynamic range that no endpoint has.
    fn choose_port(&mut self, set: &SocketSet<'static>, udp: bool) -> Result<u16> {
        for _ in EPHEMERAL_FIRST..=u16::MAX {
            let port = self.next_port;
            self.next_port = port.checked_add(1).unwrap_or(EPHEMERAL_FIRST);
            if !self.port_taken(set, udp, port) {
                return Ok(port);
            }
        }
        Err(Status::ADDRESS_IN_USE)
    }

    pub fn bind(
        &mut self,
        set: &mut SocketSet<'static>,
        index: usize,
        address: u32,
        port: u32,
    ) -> Result<()> {
        let udp = matches!(self.endpoint(index)?, Endpoint::Udp(_));
        let port = match port_of(port)? {
            0 => self.choose_port(set, udp)?,
            port if self.port_taken(set, udp, port) => return Err(Status::ADDRESS_IN_USE),
            port => port,
        };
        let local = SocketAddress {
            address,
            port: u32::from(port),
        };
        match self.endpoint(index)? {
            Endpoint::Tcp(Tcp::Unconnected { local: bound }) if bound.port == 0 => {
                *bound = local;
                Ok(())
            }
            Endpoint::Udp(endpoint) => set
                .get_mut::<udp::Socket>(endpoint.handle)
                .bind(listen_endpoint(local))
                .map_err(|_| Status::INVALID_ARGUMENT),
            _ => Err(Status::INVALID_ARGUMENT),
        }
    }

    pub fn listen(
        &mut self,
        set: &mut SocketSet<'static>,
        index: usize,
        backlog: u32,
    ) -> Result<()> {
        let Endpoint::Tcp(Tcp::Unconnected { local }) = self.endpoint(index)? else {
            return Err(Status::INVALID_ARGUMENT);
        };
        if local.port == 0 {
            return Err(Status::INVALID_ARGUMENT);
        }
        let local = *local;
        let backlog = (backlog as usize).clamp(1, MAX_BACKLOG);
        *self.endpoint(index)? = Endpoint::Tcp(Tcp::Listening {
            local,
            backlog,
            pool: Vec::new(),
        });
        self.refill(set, index);
        Ok(())
    }

    /// Tops a listening endpoint's pool up to its backlog, as far as the
    /// limit allows.
    fn refill(&mut self, set: &mut SocketSet<'static>, index: usize) {
        loop {
            let Ok(Endpoint::Tcp(Tcp::Listening {
                local,
                backlog,
                pool,
            })) = self.endpoint(index)
            else {
                return;
            };
            if pool.len() >= *backlog {
                return;
            }
            let local = *local;
            let Some(handle) = self.add_tcp(set) else {
                return;
            };
            let listening = set
                .get_mut::<tcp::Socket>(handle)
                .listen(listen_endpoint(local));
            if listening.is_err() {
                self.release(set, handle);
                return;
            }
            if let Ok(Endpoint::Tcp(Tcp::Listening { pool, .. })) = self.endpoint(index) {
                pool.push(handle);
            }
        }
    }

    /// Each listening endpoint's port and how many of its pool's sockets
    /// still listen: the connection requests it can take now.
    pub fn listeners<'a>(
        &'a self,
        set: &'a SocketSet<'static>,
    ) -> impl Iterator<Item = (u16, usize)> + 'a {
        self.endpoints.iter().flatten().filter_map(|endpoint| {
            let Endpoint::Tcp(Tcp::Listening { local, pool, .. }) = endpoint else {
                return None;
            };
            let listening = pool
                .iter()
                .filter(|&&handle| set.get::<tcp::Socket>(handle).state() == tcp::State::Listen)
                .count();
            Some((u16::try_from(local.port).ok()?, listening))
        })
    }

    /// Drops a `smoltcp` socket and its buffers.
    fn release(&mut self, set: &mut SocketSet<'static>, handle: SocketHandle) {
        self.room_freed = true;
        match set.remove(handle) {
            smoltcp::socket::Socket::Tcp(_) => self.tcp_sockets -= 1,
            smoltcp::socket::Socket::Udp(_) => self.udp_sockets -= 1,
            _ => {}
        }
    }

    /// The next connection made to a listening endpoint, as a new
    /// endpoint, if one is waiting.
    pub fn accept(&mut self, set: &mut SocketSet<'static>, index: usize) -> Result<Option<usize>> {
        self.refill(set, index);
        let Endpoint::Tcp(Tcp::Listening { pool, .. }) = self.endpoint(index)? else {
            return Err(Status::INVALID_ARGUMENT);
        };
        let Some(at) = pool
            .iter()
            .position(|&handle| connected(set.get::<tcp::Socket>(handle)))
        else {
            return Ok(None);
        };
        let handle = pool.remove(at);
        let accepted = self.create(set, PROTOCOL_TCP)?;
        *self.endpoint(accepted)? = Endpoint::Tcp(Tcp::Connected {
            handle,
            shut_down: false,
        });
        self.refill(set, index);
        Ok(Some(accepted))
    }

    /// Starts a TCP connection (true), or sets a UDP socket's peer.
    pub fn connect(
        &mut self,
        interface: &mut Interface,
        set: &mut SocketSet<'static>,
        index: usize,
        address: u32,
        port: u32,
    ) -> Result<bool> {
        let peer = peer_of(address, port)?;
        let local = match self.endpoint(index)? {
            Endpoint::Udp(endpoint) => {
                endpoint.peer = Some(peer);
                return Ok(false);
            }
            Endpoint::Tcp(Tcp::Unconnected { local }) => *local,
            Endpoint::Tcp(_) => return Err(Status::INVALID_ARGUMENT),
        };
        let port = match local.port {
            0 => self.choose_port(set, false)?,
            port => port_of(port)?,
        };
        let handle = self.add_tcp(set).ok_or(Status::OUT_OF_MEMORY)?;
        let socket = set.get_mut::<tcp::Socket>(handle);
        if socket.connect(interface.context(), peer, port).is_err() {
            self.release(set, handle);
            return Err(Status::INVALID_ARGUMENT);
        }
        *self.endpoint(index)? = Endpoint::Tcp(Tcp::Connected {
            handle,
            shut_down: false,
        });
        Ok(true)
    }

    /// The TCP connection of an endpoint, and whether this side shut down.
    fn connection<'s>(
        &mut self,
        set: &'s mut SocketSet<'static>,
        index: usize,
    ) -> Result<(&'s mut tcp::Socket<'static>, bool)> {
        match self.endpoint(index)? {
            Endpoint::Tcp(Tcp::Connected { handle, shut_down }) => {
                Ok((set.get_mut::<tcp::Socket>(*handle), *shut_down))
            }
            _ => Err(Status::NOT_CONNECTED),
        }
    }

    /// Whether a connection attempt has been answered: `Ok` once it is
    /// made, `CONNECTION_REFUSED` when the peer refused it.
    pub fn connect_outcome(
        &mut self,
        set: &mut SocketSet<'static>,
        index: usize,
    ) -> Result<Option<()>> {
        let (socket, _) = self.connection(set, index)?;
        match socket.state() {
            tcp::State::SynSent | tcp::State::SynReceived => Ok(None),
            tcp::State::Closed => Err(Status::CONNECTION_REFUSED),
            _ => Ok(Some(())),
        }
    }

    /// Why a connection that is closed can do nothing: the peer reset it
    /// (or went silent) unless this side closed it.
    fn ended(socket: &tcp::Socket<'_>, shut_down: bool) -> Status {
        if socket.state() == tcp::State::Closed && !shut_down {
            Status::CONNECTION_RESET
        } else {
            Status::NOT_CONNECTED
        }
    }

    /// Queues what of `data` fits: `None` when nothing does yet.
    pub fn send(
        &mut self,
        set: &mut SocketSet<'static>,
        index: usize,
        data: &[u8],
    ) -> Result<Option<usize>> {
        if let Endpoint::Udp(Udp { peer, .. }) = self.endpoint(index)? {
            let peer = peer.ok_or(Status::NOT_CONNECTED)?;
            return self.send_to(set, index, data, peer);
        }
        let (socket, shut_down) = self.connection(set, index)?;
        if !socket.may_send() || shut_down {
            return match socket.state() {
                tcp::State::SynSent | tcp::State::SynReceived if !shut_down => Ok(None),
                _ => Err(Self::ended(socket, shut_down)),
            };
        }
        match socket.send_slice(data) {
            Ok(0) if !data.is_empty() => Ok(None),
            Ok(sent) => Ok(Some(sent)),
            Err(_) => Err(Self::ended(socket, shut_down)),
        }
    }

    /// Reads what has come: `None` when nothing has yet, 0 at the end.
    /// Also says whether the stack should be told at once (the window
    /// it offered was small and has opened).
    pub fn receive(
        &mut self,
        set: &mut SocketSet<'static>,
        index: usize,
        buffer: &mut [u8],
    ) -> Result<Option<(usize, bool)>> {
        if let Endpoint::Udp(_) = self.endpoint(index)? {
            let datagram = self.receive_from(set, index, buffer)?;
            return Ok(
                datagram.map(|datagram| (usize::try_from(datagram.length).unwrap_or(0), false))
            );
        }
        let (socket, shut_down) = self.connection(set, index)?;
        let queued = socket.recv_queue();
        if queued == 0 {
            return match socket.state() {
                tcp::State::SynSent | tcp::State::SynReceived => Ok(None),
                _ if socket.may_recv() => Ok(None),
                tcp::State::Closed if !shut_down => Err(Status::CONNECTION_RESET),
                _ => Ok(Some((0, false))),
            };
        }
        let read = socket.recv_slice(buffer).unwrap_or(0);
        let window_was_small = queued * 2 >= socket.recv_capacity();
        Ok(Some((read, window_was_small)))
    }

    /// Queues one datagram to `peer`.
    fn send_to(
        &mut self,
        set: &mut SocketSet<'static>,
        index: usize,
        data: &[u8],
        peer: IpEndpoint,
    ) -> Result<Option<usize>> {
        let Endpoint::Udp(endpoint) = self.endpoint(index)? else {
            return Err(Status::INVALID_ARGUMENT);
        };
        let handle = endpoint.handle;
        if set.get::<udp::Socket>(handle).endpoint().port == 0 {
            let port = self.choose_port(set, true)?;
            let local = SocketAddress {
                address: 0,
                port: u32::from(port),
            };
            let _ = set
                .get_mut::<udp::Socket>(handle)
                .bind(listen_endpoint(local));
        }
        match set.get_mut::<udp::Socket>(handle).send_slice(data, peer) {
            Ok(()) => Ok(Some(data.len())),
            Err(udp::SendError::BufferFull) if data.len() <= UDP_BUFFER => Ok(None),
            Err(_) => Err(Status::INVALID_ARGUMENT),
        }
    }

    /// [`Sockets::send_to`] with the interface's address and port.
    pub fn send_datagram(
        &mut self,
        set: &mut SocketSet<'static>,
        index: usize,
        data: &[u8],
        address: u32,
        port: u32,
    ) -> Result<Option<usize>> {
        self.send_to(set, index, data, peer_of(address, port)?)
    }

    /// The next datagram, cut to `buffer`, if one has come.
    pub fn receive_from(
        &mut self,
        set: &mut SocketSet<'static>,
        index: usize,
        buffer: &mut [u8],
    ) -> Result<Option<Datagram>> {
        let Endpoint::Udp(endpoint) = self.endpoint(index)? else {
            return Err(Status::INVALID_ARGUMENT);
        };
        let socket = set.get_mut::<udp::Socket>(endpoint.handle);
        let Ok((data, meta)) = socket.recv() else {
            return Ok(None);
        };
        let length = data.len().min(buffer.len());
        buffer[..length].copy_from_slice(&data[..length]);
        Ok(Some(Datagram {
            length: length as u64,
            sender: socket_address(Some(meta.endpoint)),
        }))
    }

    /// Closes this side of a connection: the peer reads the end.
    pub fn shutdown(&mut self, set: &mut SocketSet<'static>, index: usize) -> Result<()> {
        match self.endpoint(index)? {
            Endpoint::Tcp(Tcp::Connected { handle, shut_down }) => {
                *shut_down = true;
                set.get_mut::<tcp::Socket>(*handle).close();
                Ok(())
            }
            _ => Err(Status::NOT_CONNECTED),
        }
    }

    /// Ends an endpoint: a connection closes on its own (its socket is
    /// dropped once closed, or after [`CLOSE_TIMEOUT`]), everything else
    /// goes at once.
    pub fn close(&mut self, set: &mut SocketSet<'static>, index: usize) {
        let Some(endpoint) = self.endpoints.get_mut(index).and_then(Option::take) else {
            return;
        };
        match endpoint {
            Endpoint::Tcp(Tcp::Unconnected { .. }) => {}
            Endpoint::Tcp(Tcp::Listening { pool, .. }) => {
                for handle in pool {
                    // A connection not accepted is reset, not left open.
                    let socket = set.get_mut::<tcp::Socket>(handle);
                    if connected(socket) {
                        socket.abort();
                        self.closing.push(handle);
                    } else {
                        self.release(set, handle);
                    }
                }
            }
            Endpoint::Tcp(Tcp::Connected { handle, .. }) => {
                set.get_mut::<tcp::Socket>(handle).close();
                self.closing.push(handle);
            }
            Endpoint::Udp(endpoint) => self.release(set, endpoint.handle),
        }
        // The table shrinks back when its last entries go.
        while self.endpoints.last().is_some_and(Option::is_none) {
            self.endpoints.pop();
        }
    }

    /// Drops the closing connections that have closed; refills the
    /// listening pools if that, or anything since the last time, freed
    /// room under the socket limit. After each poll.
    pub fn collect(&mut self, set: &mut SocketSet<'static>) {
        let mut at = 0;
        while let Some(&handle) = self.closing.get(at) {
            let state = set.get::<tcp::Socket>(handle).state();
            if matches!(state, tcp::State::Closed | tcp::State::TimeWait) {
                self.closing.swap_remove(at);
                self.release(set, handle);
            } else {
                at += 1;
            }
        }
        if self.closing.is_empty() {
            self.closing = Vec::new();
        }
        if core::mem::take(&mut self.room_freed) {
            for index in 0..self.endpoints.len() {
                self.refill(set, index);
            }
        }
    }

    /// An endpoint as `netstat` shows it.
    pub fn status(&self, set: &SocketSet<'static>, index: usize) -> Result<SocketStatus> {
        let endpoint = self.endpoints.get(index).and_then(Option::as_ref);
        Ok(match endpoint.ok_or(Status::NOT_CONNECTED)? {
            Endpoint::Tcp(Tcp::Unconnected { local }) => SocketStatus {
                protocol: PROTOCOL_TCP,
                local: *local,
                ..SocketStatus::default()
            },
            Endpoint::Tcp(Tcp::Listening { local, .. }) => SocketStatus {
                protocol: PROTOCOL_TCP,
                state: state_index(tcp::State::Listen),
                local: *local,
                ..SocketStatus::default()
            },
            Endpoint::Tcp(Tcp::Connected { handle, .. }) => status_of(set.get(*handle)),
            Endpoint::Udp(endpoint) => {
                let socket = set.get::<udp::Socket>(endpoint.handle);
                let bound = socket.endpoint();
                SocketStatus {
                    protocol: PROTOCOL_UDP,
                    state: u32::from(bound.port != 0),
                    local: SocketAddress {
                        address: bound.addr.map_or(0, address_of),
                        port: u32::from(bound.port),
                    },
                    peer: socket_address(endpoint.peer),
                    ..SocketStatus::default()
                }
            }
        })
    }

    /// The `n`th socket of `protocol`: the endpoints in order, then the
    /// connections closing (TCP).
    pub fn nth_status(
        &self,
        set: &SocketSet<'static>,
        protocol: u32,
        n: usize,
    ) -> Result<SocketStatus> {
        let statuses = (0..self.endpoints.len())
            .filter_map(|index| self.status(set, index).ok())
            .filter(|status| status.protocol == protocol);
        let closing = self
            .closing
            .iter()
            .filter(|_| protocol == PROTOCOL_TCP)
            .map(|&handle| status_of(set.get(handle)));
        let mut all = statuses.chain(closing);
        all.nth(n).ok_or(Status::NO_MORE_ENTRIES)
    }
}
