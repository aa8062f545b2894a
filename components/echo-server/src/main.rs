//! A TCP echo service (RFC 862) on threads of its own: binding `/echo-server` loads it as an `IService`, and the shell's `echo-server PORT` starts it and holds it.
//!
//! `start` listens on the port (through `/net/tcp`, which loads the
//! stack) and starts [`WORKERS`] threads; each accepts a connection,
//! sends back everything it receives until the peer closes its side, and
//! accepts the next. Connections beyond those being served wait in the
//! listening socket's backlog. `stop` — or releasing the last reference —
//! closes the listening socket and the connections being served, which
//! ends every thread's wait, and returns once the threads have ended:
//! then nothing holds the stack, and it unloads if nothing else does.
//!
//! Depends on `com`, `component`, `interfaces` and `sync`.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

use alloc::sync::Arc;
use alloc::vec::Vec;

use com::{ComObject, ComPtr, IUnknown, Result, Status, class};
use interfaces::socket::{FOREVER, TCP_PATH};
use interfaces::{IService, IServiceImpl, ISocket, ISocketFactory, IThread};
use sync::Mutex;

/// Threads serving connections at once.
const WORKERS: usize = 4;
/// Connections waiting to be served.
const BACKLOG: u32 = 8;
/// Each thread's stack, in bytes (its copy buffer is on it).
const THREAD_STACK: u64 = 16 * 1024;
/// The bytes one receive takes.
const CHUNK: usize = 4096;

/// What the threads of a running service share.
struct Running {
    listener: ComPtr<ISocket>,
    /// The connection each thread serves, so `stop` can close it.
    serving: Mutex<[Option<ComPtr<ISocket>>; WORKERS]>,
}

/// The service running now, for its threads (which start with a number).
static RUNNING: Mutex<Option<Arc<Running>>> = Mutex::new(None);

/// A service started: its port and its threads.
struct Started {
    port: u32,
    running: Arc<Running>,
    threads: Vec<ComPtr<IThread>>,
}

/// The service.
#[class(IService)]
struct EchoServer {
    started: Mutex<Option<Started>>,
}

impl IServiceImpl for EchoServer {
    fn start(&self, port: u32) -> Result<()> {
        let mut started = self.started.lock();
        if started.is_some() {
            return Err(Status::ALREADY_EXISTS);
        }
        let factory = component::namespace()?
            .bind(TCP_PATH, 0)?
            .query::<ISocketFactory>()?;
        let listener = factory.create()?;
        listener.bind(0, port)?;
        listener.listen(BACKLOG)?;
        let running = Arc::new(Running {
            listener,
            serving: Mutex::new([const { None }; WORKERS]),
        });
        *RUNNING.lock() = Some(running.clone());
        let mut service = Started {
            port,
            running,
            threads: Vec::new(),
        };
        for worker in 0..WORKERS {
            match component::threads::spawn(serve, worker as u64, THREAD_STACK) {
                Ok(thread) => service.threads.push(thread),
                Err(status) => {
                    end(service);
                    return Err(status);
                }
            }
        }
        *started = Some(service);
        Ok(())
    }

    fn stop(&self) -> Result<()> {
        let service = self.started.lock().take().ok_or(Status::NOT_CONNECTED)?;
        end(service);
        Ok(())
    }

    fn port(&self) -> Result<u32> {
        Ok(self
            .started
            .lock()
            .as_ref()
            .map_or(0, |service| service.port))
    }
}

/// Closes the service's sockets, which ends its threads' waits, and
/// waits for the threads.
fn end(service: Started) {
    let _ = service.running.listener.close();
    for connection in service.running.serving.lock().iter().flatten() {
        let _ = connection.close();
    }
    for thread in service.threads {
        let _ = thread.wait();
    }
    RUNNING.lock().take();
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        if let Some(service) = self.started.lock().take() {
            end(service);
        }
    }
}

/// One thread of the service: accepts connections and echoes each until
/// the listening socket is closed.
extern "C" fn serve(worker: u64) {
    let Some(running) = RUNNING.lock().clone() else {
        return;
    };
    let slot = usize::try_from(worker).unwrap_or(0) % WORKERS;
    while let Ok(connection) = running.listener.accept(FOREVER) {
        running.serving.lock()[slot] = Some(connection.clone());
        // Stopped between the accept and the line above: `end` closed
        // the listening socket before it looked at the connections.
        if running.listener.status().is_err() {
            let _ = connection.close();
            break;
        }
        // A peer that resets or a service stopping ends the echo early;
        // either way the connection is closed and the next one served.
        let _ = echo(&connection);
        let _ = connection.close();
        running.serving.lock()[slot] = None;
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
