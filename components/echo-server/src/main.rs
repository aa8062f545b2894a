//! A TCP echo service (RFC 862) on threads of its own: binding `/echo-server` loads it as an `IService`, and the shell's `echo-server PORT` starts it and holds it.
//!
//! `start` listens on the port (through `/net/tcp`, which loads the
//! stack) and starts [`WORKERS`] threads (`tcp-service`, the accept and
//! serve loop it shares with `httpd`); each sends back everything the
//! connection it accepted receives until the peer closes its side, then
//! accepts the next. Connections beyond those being served wait in the
//! listening socket's backlog. `stop` — or releasing the last reference —
//! closes the listening socket and the connections being served, which
//! ends every thread's wait, and returns once the threads have ended:
//! then nothing holds the stack, and it unloads if nothing else does.
//!
//! Depends on `com`, `component`, `interfaces` and `tcp-service`.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

use com::{ComObject, ComPtr, IUnknown, Result, Status, class};
use interfaces::socket::FOREVER;
use interfaces::{IService, IServiceImpl, ISocket};
use tcp_service::{Context, Handler, ServiceSlot, Settings};

/// Threads serving connections at once, connections waiting to be
/// served, and each thread's stack (its copy buffer is on it).
const SETTINGS: Settings = Settings {
    workers: 4,
    backlog: 8,
    thread_stack: 16 * 1024,
};
/// The bytes one receive takes.
const CHUNK: usize = 4096;

/// The service.
#[class(IService)]
struct EchoServer {
    slot: ServiceSlot,
}

impl IServiceImpl for EchoServer {
    fn start(&self, port: u32) -> Result<()> {
        self.slot.start(port, SETTINGS, Echo)
    }

    fn stop(&self) -> Result<()> {
        self.slot.stop()
    }

    fn port(&self) -> Result<u32> {
        Ok(self.slot.port())
    }
}

/// What the service does with a connection: echoes it.
struct Echo;

impl Handler for Echo {
    type Worker = ();

    fn worker(&self) {}

    /// A peer that resets or a service stopping ends the echo early;
    /// either way the connection is closed and the next one served.
    fn serve(&self, _: &mut (), connection: &ISocket, _: &Context) {
        let _ = echo(connection);
    }
}

/// Sends back everything the peer sends, then closes this side.
fn echo(connection: &ISocket) -> Result<()> {
    let mut buffer = [0u8; CHUNK];
    loop {
        let received = connection.receive(&mut buffer, FOREVER)?;
        if received == 0 {
            return connection.shutdown();
        }
        let mut rest = buffer.get(..received).ok_or(Status::FAILED)?;
        while !rest.is_empty() {
            let sent = connection.send(rest, FOREVER)?;
            rest = rest.get(sent..).ok_or(Status::FAILED)?;
        }
    }
}

fn construct() -> Result<ComPtr<IUnknown>> {
    let service: ComPtr<IService> = ComObject::create(EchoServer {
        slot: ServiceSlot::new()?,
    });
    Ok(service.to_unknown())
}

component::component!(construct);
