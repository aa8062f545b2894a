//! The status page: an HTTP/1.1 server that listens on a TCP port through `/net/tcp` and serves `/` (an HTML page) and `/status.json` (threads, modules, heap, scheduler, VM spaces); binding `/httpd` loads it as an `IService`, which the shell's `httpd` starts and `httpd stop` stops.
//!
//! `start` binds the TCP socket factory (loading the network stack),
//! listens, and starts four worker threads (`tcp-service`, the accept
//! and serve loop it shares with `echo-server`). They take turns
//! accepting and each serves the connection it accepted, request after
//! request while the client keeps it open, so a few browsers and scripts
//! are served at once and a silent client holds up only its own worker,
//! until its timeout.
//! Requests are parsed by `http` (lib/http), strictly and within its
//! limits: a broken or oversized one is answered with its error status
//! and the connection closed; the server goes on.
//!
//! `stop` (or releasing the last reference) closes the listening socket
//! and the connections being served, which ends the workers' waits in
//! `accept` and `receive` at once (a browser's open connection does not
//! hold the server up), and waits for the workers; the stack is released
//! and the module can unload.
//!
//! Depends on `com`, `component`, `http`, `interfaces` and `tcp-service`.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

mod connection;
mod status;

use alloc::vec::Vec;

use com::{ComObject, ComPtr, IUnknown, Result, class};
use interfaces::{INamespace, IService, IServiceImpl, ISocket};
use tcp_service::{Context, Handler, ServiceSlot, Settings};

/// Connections served at once (a worker thread each), connections that
/// may wait to be accepted, and a worker's stack (its buffer is on the
/// heap).
const SETTINGS: Settings = Settings {
    workers: 4,
    backlog: 8,
    thread_stack: 16 * 1024,
};

/// What serving a connection needs: the service's deadlines and whether
/// it stops, and the namespace the status is read through.
struct Shared<'a> {
    context: &'a Context,
    namespace: &'a INamespace,
}

impl Shared<'_> {
    /// The kernel's time `ms` milliseconds from now, in ticks.
    fn deadline_in(&self, ms: u64) -> u64 {
        self.context.deadline_in(ms)
    }

    fn stopping(&self) -> bool {
        self.context.stopping()
    }
}

/// What the service does with a connection: answers its requests.
struct Pages {
    namespace: ComPtr<INamespace>,
}

impl Handler for Pages {
    /// The buffer a worker reads requests into.
    type Worker = Vec<u8>;

    fn worker(&self) -> Vec<u8> {
        alloc::vec![0u8; connection::BUFFER]
    }

    fn serve(&self, buffer: &mut Vec<u8>, socket: &ISocket, context: &Context) {
        let shared = Shared {
            context,
            namespace: &self.namespace,
        };
        connection::serve(&shared, socket, buffer);
    }
}

/// The service, as the shell holds it.
#[class(IService)]
struct Server {
    slot: ServiceSlot,
}

impl IServiceImpl for Server {
    fn start(&self, port: u32) -> Result<()> {
        let pages = Pages {
            namespace: component::namespace()?,
        };
        self.slot.start(port, SETTINGS, pages)
    }

    fn stop(&self) -> Result<()> {
        self.slot.stop()
    }

    fn port(&self) -> Result<u32> {
        Ok(self.slot.port())
    }
}

fn construct() -> Result<ComPtr<IUnknown>> {
    let server = Server {
        slot: ServiceSlot::new()?,
    };
    Ok(ComObject::create::<IService>(server).to_unknown())
}

component::component!(construct);
