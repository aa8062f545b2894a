//! The status page: an HTTP/1.1 server that listens on a TCP port through `/net/tcp` and serves `/` (an HTML page) and `/status.json` (threads, modules, heap, scheduler, VM spaces); binding `/httpd` loads it as an `IService`, which the shell's `httpd` starts and `httpd stop` stops.
//!
//! `start` binds the TCP socket factory (loading the network stack),
//! listens, and starts [`WORKERS`] threads. They take turns accepting
//! (one waits in `accept` at a time, under a lock) and each serves the
//! connection it accepted, request after request while the client keeps
//! it open, so a few browsers and scripts are served at once and a
//! silent client holds up only its own worker, until its timeout.
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
//! Depends on `com`, `component`, `http`, `interfaces` and `sync`.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

mod connection;
mod status;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use com::{ComObject, ComPtr, IUnknown, Result, Status, class};
use component::threads::Lock;
use interfaces::socket::TCP_PATH;
use interfaces::{
    INamespace, IScheduler, IService, IServiceImpl, ISocket, ISocketFactory, IThread,
};

/// How many connections are served at once.
const WORKERS: usize = 4;
/// How many connections may wait to be accepted.
const BACKLOG: u32 = 8;
/// A worker's stack, in bytes (its buffers are on the heap).
const THREAD_STACK: u64 = 16 * 1024;
/// The longest a worker waits in `accept` before looking whether the
/// server stops, in milliseconds: closing the listener ends the wait
/// too, this only bounds it should the stack not end it.
const ACCEPT_WAIT_MS: u64 = 1000;
/// How long a worker rests after `accept` failed for another reason
/// than time (the stack out of sockets), so that it does not spin.
const ACCEPT_RETRY_MS: u64 = 100;

/// What the workers share.
struct Shared {
    namespace: ComPtr<INamespace>,
    scheduler: ComPtr<IScheduler>,
    listener: ComPtr<ISocket>,
    /// Taken by the worker waiting in `accept`.
    accepting: Lock<()>,
    /// The connection each worker serves, for `stop` to close: that
    /// ends a wait in `receive` at once.
    serving: sync::Mutex<[Option<ComPtr<ISocket>>; WORKERS]>,
    /// Set when the server stops: the workers end.
    stopping: AtomicBool,
}

impl Shared {
    /// The kernel's time `ms` milliseconds from now, in ticks.
    fn deadline_in(&self, ms: u64) -> u64 {
        let now = self.scheduler.now().unwrap_or(0);
        let per_second = self.scheduler.ticks_per_second().unwrap_or(1);
        now.saturating_add(per_second.saturating_mul(ms) / 1000)
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// Notes the connection worker `slot` serves (`None`: none).
    fn serve(&self, slot: usize, connection: Option<ComPtr<ISocket>>) {
        if let Some(entry) = self.serving.lock().get_mut(slot) {
            *entry = connection;
        }
    }
}

/// The server while it runs.
struct Running {
    shared: Arc<Shared>,
    port: u32,
    workers: Vec<ComPtr<IThread>>,
}

/// The server the workers run (they start with a number, not a pointer).
static SERVING: sync::Mutex<Option<Arc<Shared>>> = sync::Mutex::new(None);

/// The service, as the shell holds it.
#[class(IService)]
struct Server {
    running: Lock<Option<Running>>,
}

impl IServiceImpl for Server {
    fn start(&self, port: u32) -> Result<()> {
        let mut running = self.running.lock();
        if running.is_some() {
            return Err(Status::ALREADY_EXISTS);
        }
        let namespace = component::namespace()?;
        let factory = namespace.bind(TCP_PATH, 0)?.query::<ISocketFactory>()?;
        let listener = factory.create()?;
        listener.bind(0, port)?;
        listener.listen(BACKLOG)?;
        let shared = Arc::new(Shared {
            namespace,
            scheduler: component::threads::scheduler()?,
            listener,
            accepting: Lock::new(())?,
            serving: sync::Mutex::new([const { None }; WORKERS]),
            stopping: AtomicBool::new(false),
        });
        *SERVING.lock() = Some(shared.clone());
        let mut started = Running {
            shared,
            port,
            workers: Vec::new(),
        };
        for index in 0..WORKERS {
            match component::threads::spawn(work, index as u64, THREAD_STACK) {
                Ok(worker) => started.workers.push(worker),
                Err(status) => {
                    stop(started);
                    return Err(status);
                }
            }
        }
        *running = Some(started);
        Ok(())
    }

    fn stop(&self) -> Result<()> {
        let running = self.running.lock().take().ok_or(Status::NOT_CONNECTED)?;
        stop(running);
        Ok(())
    }

    fn port(&self) -> Result<u32> {
        Ok(self
            .running
            .lock()
            .as_ref()
            .map_or(0, |running| running.port))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(running) = self.running.lock().take() {
            stop(running);
        }
    }
}

/// Stops the workers and waits for them; nothing of the server runs
/// after.
fn stop(running: Running) {
    running.shared.stopping.store(true, Ordering::Release);
    // Ends the wait of the worker in `accept`, and of those in `receive`
    // or `send`; a worker between the two sees the flag.
    let _ = running.shared.listener.close();
    for connection in running.shared.serving.lock().iter().flatten() {
        let _ = connection.close();
    }
    for worker in running.workers {
        let _ = worker.wait();
    }
    SERVING.lock().take();
}

/// A worker: accepts connections in turn with the others and serves
/// each, until the server stops.
extern "C" fn work(worker: u64) {
    let Some(shared) = SERVING.lock().clone() else {
        return;
    };
    let slot = usize::try_from(worker).unwrap_or(0) % WORKERS;
    let mut buffer = alloc::vec![0u8; connection::BUFFER];
    while !shared.stopping() {
        let accepted = {
            let _turn = shared.accepting.lock();
            if shared.stopping() {
                break;
            }
            shared.listener.accept(shared.deadline_in(ACCEPT_WAIT_MS))
        };
        match accepted {
            Ok(socket) => {
                shared.serve(slot, Some(socket.clone()));
                // Stopped before the line above: `stop` did not see it.
                if !shared.stopping() {
                    connection::serve(&shared, &socket, &mut buffer);
                }
                shared.serve(slot, None);
            }
            Err(Status::TIMED_OUT) => {}
            Err(_) if shared.stopping() => break,
            Err(_) => {
                let _ = shared
                    .scheduler
                    .sleep_until(shared.deadline_in(ACCEPT_RETRY_MS));
            }
        }
    }
}

fn construct() -> Result<ComPtr<IUnknown>> {
    let server = Server {
        running: Lock::new(None)?,
    };
    Ok(ComObject::create::<IService>(server).to_unknown())
}

component::component!(construct);
