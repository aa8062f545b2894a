//! The network figures: a TCP connection made, accepted and closed on
//! both sides (over the stack's loop, to its own address), and the
//! receive of 1 MiB from a sender on the host, in instructions per KiB.
//! They need the network card `cargo xtask bench` gives the machine (and,
//! for the receive, its sender on the host, which connects to port
//! [`RECEIVE_PORT`] and sends 1 MiB once it reads a byte); without a card
//! they report `NOT_FOUND` and the shell skips them.
//!
//! Both count the work, not the waiting: under `-icount shift=0` the
//! instruction counter goes on at one per nanosecond while the machine
//! idles (a 200 ms sleep reads as 200 million), and the receive waits
//! on the host's sender; the counter the meter reads
//! (`IScheduler::instructions`) leaves out what it advanced while the
//! hart was halted.

use alloc::vec;

use com::{ComPtr, Result, Status};
use interfaces::network::STACK_PATH;
use interfaces::socket::{FOREVER, TCP_PATH};
use interfaces::{INetworkStack, ISocket, ISocketFactory};

use crate::{Meter, RUNS};

/// The port the connection figure listens on.
const LOOP_PORT: u32 = 5001;
/// The port the receive figure listens on (forwarded from the host).
pub const RECEIVE_PORT: u32 = 7;
/// How much the receive figure reads.
const TOTAL: usize = 1 << 20;
/// The size of each receive.
const CHUNK: usize = 16 * 1024;
/// How long a figure waits for DHCP or for its peer, in seconds.
const PATIENCE_S: u64 = 20;

/// The TCP socket factory, with the stack configured: its address.
fn configured_factory(meter: &Meter) -> Result<(ComPtr<ISocketFactory>, u32)> {
    let namespace = component::namespace()?;
    let factory = namespace.bind(TCP_PATH, 0)?.query::<ISocketFactory>()?;
    let stack = namespace.bind(STACK_PATH, 0)?.query::<INetworkStack>()?;
    let configuration = stack.wait_configured(deadline(meter)?)?;
    Ok((factory, configuration.address))
}

/// The kernel's time [`PATIENCE_S`] from now.
fn deadline(meter: &Meter) -> Result<u64> {
    let scheduler = meter.scheduler();
    let per_second = scheduler.ticks_per_second()?;
    Ok(scheduler.now()? + PATIENCE_S * per_second)
}

/// A socket listening on `port` of every address.
fn listener(factory: &ISocketFactory, port: u32) -> Result<ComPtr<ISocket>> {
    let socket = factory.create()?;
    socket.bind(0, port)?;
    socket.listen(1)?;
    Ok(socket)
}

/// Reads until the peer has closed its side.
fn drain(socket: &ISocket) -> Result<()> {
    let mut buffer = [0u8; 64];
    while socket.receive(&mut buffer, FOREVER)? != 0 {}
    Ok(())
}

pub fn connect_accept_close(meter: &Meter) -> Result<u64> {
    let (factory, address) = configured_factory(meter)?;
    let listening = listener(&factory, LOOP_PORT)?;
    let mut fastest = u64::MAX;
    for _ in 0..RUNS {
        let start = meter.now();
        let client = factory.create()?;
        client.connect(address, LOOP_PORT, FOREVER)?;
        let server = listening.accept(FOREVER)?;
        // Closed on both sides: each reads the other's end.
        client.shutdown()?;
        drain(&server)?;
        server.close()?;
        drain(&client)?;
        client.close()?;
        fastest = fastest.min(meter.now() - start);
    }
    Ok(fastest)
}

pub fn receive(meter: &Meter) -> Result<u64> {
    let (factory, _) = configured_factory(meter)?;
    let listening = listener(&factory, RECEIVE_PORT)?;
    let mut buffer = vec![0u8; CHUNK];
    let mut fastest = u64::MAX;
    for _ in 0..RUNS {
        let connection = listening.accept(deadline(meter)?)?;
        let start = meter.now();
        // The sender starts once it reads this byte: nothing it sent
        // was taken in before the count began.
        connection.send(b"g", FOREVER)?;
        let mut received = 0;
        while received < TOTAL {
            match connection.receive(&mut buffer, FOREVER)? {
                0 => return Err(Status::CONNECTION_RESET),
                count => received += count,
            }
        }
        fastest = fastest.min(meter.now() - start);
        connection.close()?;
    }
    Ok(fastest / (TOTAL as u64 / 1024))
}
