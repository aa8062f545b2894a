//! A TCP service on worker threads of its own — it listens on a port through `/net/tcp`, its workers take turns accepting and each serves the connection it accepted — the accept and serve loop that `components/echo-server` and `components/httpd` share.
//!
//! [`Service::start`] binds the TCP socket factory (loading the network
//! stack), listens with a backlog, and starts the workers. One waits in
//! `accept` at a time, under a lock, for at most [`ACCEPT_WAIT_MS`]; the
//! connection it gets is served by the [`Handler`] on that worker, and
//! closed after, so a slow or silent peer holds up only its own worker.
//! An `accept` that fails for another reason than time (the stack out of
//! sockets) makes the worker rest [`ACCEPT_RETRY_MS`], so that it does
//! not spin.
//!
//! [`Service::stop`] (or dropping the service) closes the listening
//! socket and the connections being served, which ends the workers'
//! waits in `accept`, `receive` and `send` at once, and waits for the
//! workers: nothing of the service runs after, and nothing holds the
//! stack.
//!
//! Depends on `com`, `component`, `interfaces` and `sync`.

#![no_std]
#![deny(unsafe_code)]

extern crate alloc;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use com::{ComPtr, Result, Status};
use component::threads::Lock;
use interfaces::socket::TCP_PATH;
use interfaces::{IScheduler, ISocket, ISocketFactory, IThread};

/// The longest a worker waits in `accept` before looking whether the
/// service stops, in milliseconds: closing the listener ends the wait
/// too, this only bounds it should the stack not end it.
pub const ACCEPT_WAIT_MS: u64 = 1000;
/// How long a worker rests after `accept` failed for another reason
/// than time, in milliseconds.
pub const ACCEPT_RETRY_MS: u64 = 100;

/// How a service runs.
#[derive(Clone, Copy)]
pub struct Settings {
    /// Connections served at once: one worker thread each.
    pub workers: usize,
    /// Connections that may wait to be accepted.
    pub backlog: u32,
    /// Each worker's stack, in bytes.
    pub thread_stack: u64,
}

/// What a service does with each connection.
pub trait Handler: Send + Sync + 'static {
    /// What a worker keeps from one connection to the next (its buffers).
    type Worker;
    /// A worker's state, made as it starts.
    fn worker(&self) -> Self::Worker;
    /// Serves `connection` until done with it (the service closes it
    /// after); a long wait should end when `service` stops.
    fn serve(&self, worker: &mut Self::Worker, connection: &ISocket, service: &Context);
}

/// What a handler may ask of the service it runs in.
pub struct Context {
    scheduler: ComPtr<IScheduler>,
    stopping: AtomicBool,
}

impl Context {
    /// The kernel's time `ms` milliseconds from now, in ticks: a deadline
    /// for the sockets' calls.
    pub fn deadline_in(&self, ms: u64) -> u64 {
        let now = self.scheduler.now().unwrap_or(0);
        let per_second = self.scheduler.ticks_per_second().unwrap_or(1);
        now.saturating_add(per_second.saturating_mul(ms) / 1000)
    }

    /// Whether the service is stopping: its workers end.
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }
}

/// What the workers of one service share.
struct Shared<H> {
    context: Context,
    listener: ComPtr<ISocket>,
    /// Taken by the worker waiting in `accept`.
    accepting: Lock<()>,
    /// The connection each worker serves, for `stop` to close: that
    /// ends a wait in `receive` at once.
    serving: sync::Mutex<Vec<Option<ComPtr<ISocket>>>>,
    handler: H,
}

/// A service's workers' loop, whatever its handler.
trait Workers: Send + Sync {
    /// Runs worker `slot` until the service stops.
    fn run(&self, slot: usize);
    /// Tells the workers to stop and ends their waits.
    fn end(&self);
}

impl<H: Handler> Shared<H> {
    /// Notes the connection worker `slot` serves (`None`: none).
    fn note(&self, slot: usize, connection: Option<ComPtr<ISocket>>) {
        if let Some(entry) = self.serving.lock().get_mut(slot) {
            *entry = connection;
        }
    }

    /// Waits in `accept`, in turn with the other workers: `None` when
    /// the service stops first.
    fn accept(&self) -> Option<Result<ComPtr<ISocket>>> {
        let _turn = self.accepting.lock();
        if self.context.stopping() {
            return None;
        }
        Some(
            self.listener
                .accept(self.context.deadline_in(ACCEPT_WAIT_MS)),
        )
    }
}

impl<H: Handler> Workers for Shared<H> {
    fn run(&self, slot: usize) {
        let mut worker = self.handler.worker();
        while let Some(accepted) = self.accept() {
            match accepted {
                Ok(connection) => {
                    self.note(slot, Some(connection.clone()));
                    // Stopped before the line above: `end` did not see it.
                    if !self.context.stopping() {
                        self.handler.serve(&mut worker, &connection, &self.context);
                    }
                    let _ = connection.close();
                    self.note(slot, None);
                }
                Err(Status::TIMED_OUT) => {}
                Err(_) if self.context.stopping() => break,
                Err(_) => {
                    let rest = self.context.deadline_in(ACCEPT_RETRY_MS);
                    let _ = self.context.scheduler.sleep_until(rest);
                }
            }
        }
    }

    fn end(&self) {
        self.context.stopping.store(true, Ordering::Release);
        // Ends the wait of the worker in `accept`, and of those in
        // `receive` or `send`; a worker between the two sees the flag.
        let _ = self.listener.close();
        for connection in self.serving.lock().iter().flatten() {
            let _ = connection.close();
        }
    }
}

/// The service an `IService` object may be running: `start`, `stop` and
/// `port` mean the same in every service.
pub struct ServiceSlot(Lock<Option<Service>>);

impl ServiceSlot {
    /// A slot with no service running.
    pub fn new() -> Result<ServiceSlot> {
        Ok(ServiceSlot(Lock::new(None)?))
    }

    /// Starts serving `port` with `handler`; `ALREADY_EXISTS` while the
    /// slot's service runs.
    pub fn start<H: Handler>(&self, port: u32, settings: Settings, handler: H) -> Result<()> {
        let mut running = self.0.lock();
        if running.is_some() {
            return Err(Status::ALREADY_EXISTS);
        }
        *running = Some(Service::start(port, settings, handler)?);
        Ok(())
    }

    /// Stops the service and waits for its workers; `NOT_CONNECTED` when
    /// none runs.
    pub fn stop(&self) -> Result<()> {
        let service = self.0.lock().take().ok_or(Status::NOT_CONNECTED)?;
        service.stop();
        Ok(())
    }

    /// The port served, 0 when none is.
    pub fn port(&self) -> u32 {
        self.0.lock().as_ref().map_or(0, Service::port)
    }
}

/// The services running, by number: a worker starts with a number (its
/// service's and its slot), not a pointer.
static SERVICES: sync::Mutex<Vec<(u32, Arc<dyn Workers>)>> = sync::Mutex::new(Vec::new());
/// The next service's number.
static NEXT: AtomicU32 = AtomicU32::new(0);

/// A service running: its port and its workers.
pub struct Service {
    number: u32,
    port: u32,
    shared: Arc<dyn Workers>,
    workers: Vec<ComPtr<IThread>>,
}

impl Service {
    /// Listens on `port` and starts the workers, each serving the
    /// connections it accepts with `handler`.
    pub fn start<H: Handler>(port: u32, settings: Settings, handler: H) -> Result<Service> {
        let factory = component::namespace()?
            .bind(TCP_PATH, 0)?
            .query::<ISocketFactory>()?;
        let listener = factory.create()?;
        listener.bind(0, port)?;
        listener.listen(settings.backlog)?;
        let mut serving = Vec::new();
        serving.resize_with(settings.workers, || None);
        let shared: Arc<dyn Workers> = Arc::new(Shared {
            context: Context {
                scheduler: component::threads::scheduler()?,
                stopping: AtomicBool::new(false),
            },
            listener,
            accepting: Lock::new(())?,
            serving: sync::Mutex::new(serving),
            handler,
        });
        let number = NEXT.fetch_add(1, Ordering::Relaxed);
        SERVICES.lock().push((number, shared.clone()));
        let mut service = Service {
            number,
            port,
            shared,
            workers: Vec::with_capacity(settings.workers),
        };
        for slot in 0..settings.workers {
            let argument = (u64::from(number) << 32) | slot as u64;
            // A failure drops `service`, which stops the workers started.
            service.workers.push(component::threads::spawn(
                work,
                argument,
                settings.thread_stack,
            )?);
        }
        Ok(service)
    }

    /// The port the service listens on.
    pub fn port(&self) -> u32 {
        self.port
    }

    /// Stops the workers and waits for them (as dropping the service does).
    pub fn stop(self) {}
}

impl Drop for Service {
    fn drop(&mut self) {
        self.shared.end();
        for worker in self.workers.drain(..) {
            let _ = worker.wait();
        }
        let mut services = SERVICES.lock();
        services.retain(|(number, _)| *number != self.number);
        if services.is_empty() {
            // Its room freed too: a module unloading runs no destructor
            // of its statics, so none may keep memory.
            *services = Vec::new();
        }
    }
}

/// A worker: finds its service by number and runs its loop.
extern "C" fn work(argument: u64) {
    let number = u32::try_from(argument >> 32).unwrap_or(u32::MAX);
    let slot = usize::try_from(argument & 0xffff_ffff).unwrap_or(usize::MAX);
    let shared = SERVICES
        .lock()
        .iter()
        .find(|(known, _)| *known == number)
        .map(|(_, shared)| shared.clone());
    if let Some(shared) = shared {
        shared.run(slot);
    }
}
