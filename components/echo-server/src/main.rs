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
//! Depends on `com`, `component`, `interfaces`, `sync` and `tcp-service`.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

use com::{ComObject, ComPtr, IUnknown, Result, Status, class};
use interfaces::socket::FOREVER;
use interfaces::{IService, IServiceImpl, ISocket};
use sync::Mutex;
use tcp_service::{Context, Handler, Service, Settings};

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
    started: Mutex<Option<Service>>,
}

impl IServiceImpl for EchoServer {
    fn start(&self, port: u32) -> Result<()> {
        let mut started = self.started.lock();
        if started.is_some() {
            return Err(Status::ALREADY_EXISTS);
        }
        *started = Some(Service::start(port, SETTINGS, Echo)?);
        Ok(())
    }

    fn stop(&self) -> Result<()> {
        let service = self.started.lock().take().ok_or(Status::NOT_CONNECTED)?;
        service.stop();
        Ok(())
    }

    fn port(&self) -> Result<u32> {
        Ok(self.started.lock().as_ref().map_or(0, Service::port))
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
        started: Mutex::new(None),
    });
    Ok(service.to_unknown())
}

component::component!(construct);
