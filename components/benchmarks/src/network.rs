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
//! on the host's sender. So the time the idle thread had the processor
//! (`IThreads`), in nanoseconds, is taken away from the count.

use alloc::vec;

use com::{ComPtr, Result, Status};
use interfaces::network::STACK_PATH;
use interfaces::socket::{FOREVER, TCP_PATH};
use interfaces::{INetworkStack, ISocket, ISocketFactory, IThreads};

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

/// Where the threads' figures are.
const THREADS_PATH: &str = "/sys/threads";
/// The kernel's idle thread, by name.
const IDLE: &[u8] = b"idle";

/// The machine's instruction count less the idle thread's time, in
/// nanoseconds: instructions of work, since `-icount shift=0` makes one
/// instruction one nanosecond.
struct Work {
    threads: ComPtr<IThreads>,
    nanoseconds_per_tick: u64,
}

impl Work {
    fn new(meter: &Meter) -> Result<Work> {
        let per_second = meter.scheduler().ticks_per_second()?.max(1);
        Ok(Work {
            threads: component::namespace()?
                .bind(THREADS_PATH, 0)?
                .query::<IThreads>()?,
            nanoseconds_per_tick: 1_000_000_000 / per_second,
        })
    }

    /// The count now.
    fn now(&self, meter: &Meter) -> Result<u64> {
        let threads = &self.threads;
        for index in 0..threads.count()? {
            let status = threads.status(index)?;
            let name = status.name.get(..status.name_length as usize);
            if name == Some(IDLE) {
                let idle = status.cpu_ticks * self.nanoseconds_per_tick;
                return Ok(meter.now().saturating_sub(idle));
            }
        }
        Err(Status::NOT_FOUND)
    }
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
    let work = Work::new(meter)?;
    let mut fastest = u64::MAX;
    for _ in 0..RUNS {
        let start = work.now(meter)?;
        let client = factory.create()?;
        client.connect(address, LOOP_PORT, FOREVER)?;
        let server = listening.accept(FOREVER)?;
        // Closed on both sides: each reads the other's end.
        client.shutdown()?;
        drain(&server)?;
        server.close()?;
        drain(&client)?;
        client.close()?;
        fastest = fastest.min(work.now(meter)? - start);
    }
    Ok(fastest)
}

pub fn receive(meter: &Meter) -> Result<u64> {
    let (factory, _) = configured_factory(meter)?;
    let listening = listener(&factory, RECEIVE_PORT)?;
    let mut buffer = vec![0u8; CHUNK];
    let work = Work::new(meter)?;
    let mut fastest = u64::MAX;
    for _ in 0..RUNS {
        let connection = listening.accept(deadline(meter)?)?;
        let start = work.now(meter)?;
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
        fastest = fastest.min(work.now(meter)? - start);
        connection.close()?;
    }
    Ok(fastest / (TOTAL as u64 / 1024))
}
