//! The TCP/IP stack: `smoltcp` over the network card (`/virtio-net`), configured by DHCP at start and answering ICMP echo; binding `/net` loads it as an `INetworkStack` (the shell's `ifconfig`).
//!
//! One thread of the component runs the stack, from the first call on
//! the stack (the kernel starts no thread in a module still being
//! constructed): it polls `smoltcp`, then
//! sleeps on the card (`INetworkDevice::wait_until`) until a frame comes
//! or the stack's next timer is due — nothing polls while nothing
//! happens. The stack's state is under a kernel lock that clients take
//! too; a DHCP answer is signalled on a condition of that lock.
//!
//! Releasing the last reference stops the thread (the card's `wake` ends
//! its wait), which drops the card: the driver unloads after the stack.
//!
//! Entropy: the stack's random seed (TCP initial sequence numbers, DHCP
//! transaction ids, ephemeral ports) comes from the entropy device
//! (`/virtio-rng`, QEMU's `virtio-rng-device`). A machine without one
//! gets a weak seed instead: the card's MAC address mixed with the time
//! since reset in microseconds, predictable by whoever knows the boot
//! time; `ifconfig` says which.
//!
//! Depends on `com`, `component`, `interfaces`, `net-frames`, `smoltcp`,
//! `sync` and `zerocopy`.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

mod card;
mod objects;
mod sockets;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use com::{ComObject, ComPtr, IUnknown, Result, Status, class};
use component::threads::{Condition, Lock};
use interfaces::namespace::flags;
use interfaces::network::STACK_PATH;
use interfaces::socket::{PROTOCOL_TCP, PROTOCOL_UDP};
use interfaces::{
    IEntropySource, INamespace, INamespaceImpl, INetworkDevice, INetworkStack, INetworkStackImpl,
    IScheduler, ISocketFactory, IThread, NetworkConfiguration,
};
use smoltcp::iface::{Config, Interface, PollResult, SocketHandle, SocketSet};
use smoltcp::socket::dhcpv4;
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, Ipv4Address, Ipv4Cidr};

use card::Card;
use objects::{Factory, Held};
use sockets::{MAX_TCP, Sockets};

/// The card's driver.
const CARD_PATH: &str = "/virtio-net";
/// The entropy device's driver.
const ENTROPY_PATH: &str = "/virtio-rng";
/// The stack thread's stack, in bytes.
const THREAD_STACK: u64 = 32 * 1024;
/// The longest the thread sleeps without looking at the stack (smoltcp
/// says when its timers are due; this bounds a wait it does not bound).
const MAX_SLEEP_US: u64 = 1_000_000;

/// The socket factories' names under `/net`, and their protocols.
const FACTORIES: [(&str, u32); 2] = [("tcp", PROTOCOL_TCP), ("udp", PROTOCOL_UDP)];

/// What the stack's thread and its clients share.
struct Shared {
    stack: Lock<Stack>,
    /// Broadcast after each poll of the stack: sockets and DHCP may have
    /// news for whoever waits.
    changed: Condition,
    /// The card, for the thread's waits outside the lock.
    device: ComPtr<INetworkDevice>,
    scheduler: ComPtr<IScheduler>,
}

/// The stack's state.
struct Stack {
    interface: Interface,
    set: SocketSet<'static>,
    /// The sockets' endpoints over `set`.
    table: Sockets,
    card: Card,
    dhcp: SocketHandle,
    configuration: NetworkConfiguration,
    /// Set when the stack's object is released: the thread ends.
    stopping: bool,
}

/// The stack the thread runs (it starts with a number, not a pointer).
static RUNNING: sync::Mutex<Option<Arc<Shared>>> = sync::Mutex::new(None);

/// The address of the stack's object, as the constructor returned it
/// (the object the namespace registers at `/net`).
static OBJECT: AtomicUsize = AtomicUsize::new(0);

/// The stack, as its clients hold it; as a namespace, its socket
/// factories (`/net/tcp`, `/net/udp`).
#[class(INetworkStack, INamespace)]
struct NetworkStack {
    shared: Arc<Shared>,
    /// The stack's thread, once started.
    thread: Lock<Option<ComPtr<IThread>>>,
}

impl NetworkStack {
    /// Starts the stack's thread if it is not running yet. Not from the
    /// constructor: the kernel starts threads only in code it has finished
    /// loading, and a module is loaded once its constructor has returned.
    fn start(&self) -> Result<()> {
        let mut thread = self.thread.lock();
        if thread.is_none() {
            *RUNNING.lock() = Some(self.shared.clone());
            match component::threads::spawn(run, 0, THREAD_STACK) {
                Ok(started) => *thread = Some(started),
                Err(status) => {
                    RUNNING.lock().take();
                    return Err(status);
                }
            }
        }
        Ok(())
    }
}

impl INetworkStackImpl for NetworkStack {
    fn configuration(&self) -> Result<NetworkConfiguration> {
        self.start()?;
        Ok(self.shared.stack.lock().configuration)
    }

    fn wait_configured(&self, deadline: u64) -> Result<NetworkConfiguration> {
        self.start()?;
        let mut stack = self.shared.stack.lock();
        while stack.configuration.address == 0 {
            let (guard, timed_out) = self.shared.changed.wait_until(stack, deadline);
            stack = guard;
            if timed_out && stack.configuration.address == 0 {
                return Err(Status::TIMED_OUT);
            }
        }
        Ok(stack.configuration)
    }
}

/// The address of `object`'s identity.
fn identity(object: &IUnknown) -> usize {
    core::ptr::from_ref(object).addr()
}

impl NetworkStack {
    /// The stack's object as the namespace has it registered at `/net`,
    /// for a factory to hold. Bound by name: a method has only the state.
    fn registered(&self) -> Result<ComPtr<IUnknown>> {
        let object = component::namespace()?.bind(STACK_PATH, 0)?;
        let ours = identity(object.as_unknown()) == OBJECT.load(Ordering::Relaxed);
        ours.then_some(object).ok_or(Status::NOT_FOUND)
    }
}

/// The factory's protocol for its name (`/tcp`, with or without `/`).
fn factory_named(name: &str) -> Result<u32> {
    let name = name.strip_prefix('/').unwrap_or(name);
    FACTORIES
        .iter()
        .find(|(known, _)| *known == name)
        .map(|&(_, protocol)| protocol)
        .ok_or(Status::NOT_FOUND)
}

/// Writes the name of the factory after `after` (none: the first).
fn list_factory(directory: &str, after: Option<&str>, buffer: &mut [u8]) -> Result<usize> {
    if directory != "/" {
        return Err(Status::NOT_FOUND);
    }
    let next = match after {
        None => 0,
        Some(previous) => {
            let previous = previous.strip_prefix('/').unwrap_or(previous);
            1 + FACTORIES
                .iter()
                .position(|(name, _)| *name == previous)
                .ok_or(Status::NOT_FOUND)?
        }
    };
    let (name, _) = FACTORIES.get(next).ok_or(Status::NO_MORE_ENTRIES)?;
    com::copy_text(name, buffer)
}

impl INamespaceImpl for NetworkStack {
    fn register(&self, _name: &str, _object: &IUnknown, _flags: u32) -> Result<()> {
        Err(Status::ACCESS_DENIED)
    }

    fn unregister(&self, _name: &str) -> Result<()> {
        Err(Status::ACCESS_DENIED)
    }

    /// A new factory of the protocol named, holding the stack.
    fn bind(&self, name: &str, _flags: u32) -> Result<ComPtr<IUnknown>> {
        let protocol = factory_named(name)?;
        self.start()?;
        let held = Arc::new(Held {
            shared: self.shared.clone(),
            _stack: self.registered()?,
        });
        let factory: ComPtr<ISocketFactory> = ComObject::create(Factory { held, protocol });
        Ok(factory.to_unknown())
    }

    fn find_first(&self, directory: &str, buffer: &mut [u8]) -> Result<usize> {
        list_factory(directory, None, buffer)
    }

    fn find_next(&self, directory: &str, previous: &str, buffer: &mut [u8]) -> Result<usize> {
        list_factory(directory, Some(previous), buffer)
    }

    fn capabilities(&self, name: &str) -> Result<u32> {
        if name == "/" {
            return Ok(flags::READ | flags::DIRECTORY);
        }
        factory_named(name).map(|_| flags::READ)
    }
}

impl Drop for NetworkStack {
    fn drop(&mut self) {
        let Some(thread) = self.thread.lock().take() else {
            return;
        };
        self.shared.stack.lock().stopping = true;
        // Neither fails for a card and a thread still held; the thread is
        // waited for either way, so nothing runs in the component after.
        let _ = self.shared.device.wake();
        let _ = thread.wait();
    }
}

/// The time for smoltcp.
fn now() -> Instant {
    Instant::from_micros(i64::try_from(component::now_us()).unwrap_or(i64::MAX))
}

/// Runs the stack until its object is released.
extern "C" fn run(_: u64) {
    let Some(shared) = RUNNING.lock().take() else {
        return;
    };
    loop {
        let delay_us = {
            let mut stack = shared.stack.lock();
            if stack.stopping {
                return;
            }
            let changed = stack.poll();
            // Every time: a connection closed without a word (already
            // reset when its object let go) is dropped all the same.
            let Stack { set, table, .. } = &mut *stack;
            table.collect(set);
            if changed {
                shared.changed.broadcast();
            }
            stack.delay_us()
        };
        if delay_us == 0 {
            continue;
        }
        let deadline = shared.deadline_after(delay_us);
        // A timeout is the stack's timer coming due: poll again. A card
        // that fails its wait is not waited on again before the deadline
        // (sleeping instead), so a broken card never makes this spin.
        match shared.device.wait_until(deadline) {
            Ok(()) | Err(Status::TIMED_OUT) => {}
            Err(_) => {
                let _ = shared.scheduler.sleep_until(deadline);
            }
        }
    }
}

impl Shared {
    /// The kernel's time `delay_us` from now, in ticks.
    fn deadline_after(&self, delay_us: u64) -> u64 {
        let now = self.scheduler.now().unwrap_or(0);
        let per_second = self.scheduler.ticks_per_second().unwrap_or(1);
        let ticks = delay_us.saturating_mul(per_second) / 1_000_000;
        now.saturating_add(ticks)
    }
}

impl Stack {
    /// Lets the stack take in and send out what it can, and follows
    /// DHCP: true when a socket or the configuration may have changed
    /// (a frame came or went, DHCP spoke) — news for whoever waits.
    fn poll(&mut self) -> bool {
        let now = now();
        self.card.admit(self.table.listeners(&self.set), now);
        let result = self.interface.poll(now, &mut self.card, &mut self.set);
        let event = self.set.get_mut::<dhcpv4::Socket>(self.dhcp).poll();
        let changed = result == PollResult::SocketStateChanged || event.is_some();
        match event {
            Some(dhcpv4::Event::Configured(config)) => {
                let address = config.address;
                let router = config.router;
                let server = config.server.address;
                self.configure(Some(address), router, server);
            }
            Some(dhcpv4::Event::Deconfigured) => {
                self.configure(None, None, Ipv4Address::UNSPECIFIED);
            }
            None => {}
        }
        changed
    }

    /// Takes (or, with `None`, drops) the address DHCP gave.
    fn configure(
        &mut self,
        address: Option<Ipv4Cidr>,
        router: Option<Ipv4Address>,
        server: Ipv4Address,
    ) {
        self.interface.update_ip_addrs(|addresses| {
            addresses.clear();
            if let Some(address) = address {
                let _ = addresses.push(IpCidr::Ipv4(address));
            }
        });
        let routes = self.interface.routes_mut();
        routes.remove_default_ipv4_route();
        if let Some(router) = router {
            let _ = routes.add_default_ipv4_route(router);
        }
        self.configuration.address = address.map_or(0, |cidr| cidr.address().to_bits());
        self.configuration.prefix_length = address.map_or(0, |cidr| u32::from(cidr.prefix_len()));
        self.configuration.gateway = router.map_or(0, Ipv4Address::to_bits);
        self.configuration.dhcp_server = server.to_bits();
    }

    /// How long the thread may sleep before the stack's next timer.
    fn delay_us(&mut self) -> u64 {
        if self.card.has_looped() {
            return 0;
        }
        // Whatever smoltcp has to send waits for the card: its wait ends
        // when a transmit buffer comes back.
        if self.card.is_backed_up() {
            return MAX_SLEEP_US;
        }
        self.interface
            .poll_delay(now(), &self.set)
            .map_or(MAX_SLEEP_US, |delay| delay.total_micros().min(MAX_SLEEP_US))
    }
}

/// A seed from the entropy device, if the machine has one (its driver
/// unloads once read).
fn device_seed(namespace: &INamespace) -> Option<u64> {
    let source = namespace
        .bind(ENTROPY_PATH, 0)
        .and_then(|object| object.query::<IEntropySource>())
        .ok()?;
    let mut seed = [0u8; 8];
    source.fill(&mut seed).ok()?;
    Some(u64::from_le_bytes(seed))
}

fn construct() -> Result<ComPtr<IUnknown>> {
    let namespace = component::namespace()?;
    let device = namespace.bind(CARD_PATH, 0)?.query::<INetworkDevice>()?;
    let mac_address = device.mac_address()?;
    let mac_bytes = mac_address.to_be_bytes();
    let mac: [u8; 6] = mac_bytes
        .get(2..)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(Status::FAILED)?;
    let mut card = Card::new(device.clone(), mac);
    let hardware = EthernetAddress::from_bytes(&mac);
    let mut config = Config::new(HardwareAddress::Ethernet(hardware));
    let seed = device_seed(&namespace);
    config.random_seed = seed.unwrap_or(mac_address ^ component::now_us().rotate_left(24));
    let config_seed = config.random_seed;
    let interface = Interface::new(config, &mut card, now());
    // Room for every socket from the start: the set never grows, so
    // connections come and go without the heap moving.
    let mut set = SocketSet::new(Vec::with_capacity(MAX_TCP + 1 + sockets::MAX_UDP));
    let dhcp = set.add(dhcpv4::Socket::new());
    let stack = Lock::new(Stack {
        interface,
        set,
        table: Sockets::new(config_seed),
        card,
        dhcp,
        configuration: NetworkConfiguration {
            mac_address,
            seed_from_device: u32::from(seed.is_some()),
            ..NetworkConfiguration::default()
        },
        stopping: false,
    })?;
    let shared = Arc::new(Shared {
        changed: stack.condition()?,
        stack,
        device,
        scheduler: component::threads::scheduler()?,
    });
    let stack = NetworkStack {
        shared,
        thread: Lock::new(None)?,
    };
    let object = ComObject::create::<INetworkStack>(stack).to_unknown();
    OBJECT.store(identity(&object), Ordering::Relaxed);
    Ok(object)
}

component::component!(construct);
