//! The virtio network card driver: the first card the kernel lists (`/sys/devices/virtio-net0`) as an `INetworkDevice`, over `virtio-drivers`; a network stack is its client.
//!
//! Binding `/virtio-net` loads it: the constructor finds the card the
//! kernel listed, attaches its interrupt, brings the card up over the
//! legacy or the modern virtio-mmio transport, and fills its receive
//! queue. Its object is the card.
//!
//! Nothing polls. Sending hands a frame to the card and returns; receiving
//! takes a frame the card already holds, or none. A client with nothing
//! to do calls `wait_until`, which sleeps on the card's interrupt (raised
//! when a frame arrives or a sent one's buffer comes back) or until its
//! deadline — the client's next timer.
//!
//! Releasing the last reference unloads the driver: the card is reset,
//! its queues and buffers freed and its interrupt given back.
//!
//! Depends on `com`, `component`, `interfaces` and `virtio-hal` (the
//! shared `Hal` and the card's buffers).

#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

use core::sync::atomic::{AtomicBool, Ordering};

use com::{ComObject, ComPtr, IUnknown, Result, Status, class};
use component::threads::Lock;
use interfaces::device::virtio;
use interfaces::{IInterruptSource, INetworkDevice, INetworkDeviceImpl, ReceivedFrame};
use virtio_hal::net::NetworkCard;

/// The device this driver drives, under `/sys/devices`.
const DEVICE: &str = "virtio-net0";

/// The card.
#[class(INetworkDevice)]
struct Card {
    card: Lock<NetworkCard>,
    /// The card's interrupt (the transport holds it too).
    interrupt: ComPtr<IInterruptSource>,
    mac_address: u64,
    /// Set by `wake`: the wait under way ends whatever the card says.
    woken: AtomicBool,
}

impl INetworkDeviceImpl for Card {
    fn mac_address(&self) -> Result<u64> {
        Ok(self.mac_address)
    }

    fn send(&self, frame: &[u8]) -> Result<()> {
        self.card.lock().send(frame)
    }

    fn receive(&self, buffer: &mut [u8]) -> Result<ReceivedFrame> {
        let (length, sum) = self.card.lock().receive(buffer)?.unwrap_or((0, 0));
        Ok(ReceivedFrame {
            length: u32::try_from(length).map_err(|_| Status::FAILED)?,
            sum: u32::from(sum),
        })
    }

    fn receive_following(&self, headers: &mut [u8], room: &mut [u8]) -> Result<u32> {
        let appended = self.card.lock().receive_following(headers, room)?;
        u32::try_from(appended).map_err(|_| Status::FAILED)
    }

    /// Sent frames' buffers are taken back first (their interrupt says no
    /// more than that, and ends no wait unless the client ran out of
    /// them), and the interrupt is acknowledged at the card before it is
    /// looked at: news that comes after raises the line again, which the
    /// wait sees (the source is re-armed as the wait begins), so none is
    /// lost.
    fn wait_until(&self, deadline: u64) -> Result<()> {
        loop {
            if self.woken.swap(false, Ordering::AcqRel) {
                return Ok(());
            }
            {
                let mut card = self.card.lock();
                card.ack_interrupt();
                if card.has_work()? {
                    return Ok(());
                }
            }
            self.interrupt.wait_until(deadline)?;
        }
    }

    fn wake(&self) -> Result<()> {
        self.woken.store(true, Ordering::Release);
        self.interrupt.raise()
    }
}

/// The six bytes of `mac` in the low 48 bits of a number, first highest.
fn mac_number(mac: [u8; 6]) -> u64 {
    mac.iter()
        .fold(0, |number, &byte| (number << 8) | u64::from(byte))
}

fn construct() -> Result<ComPtr<IUnknown>> {
    let namespace = component::namespace()?;
    let (transport, interrupt) = virtio_hal::open(&namespace, DEVICE, virtio::NETWORK)?;
    let card = NetworkCard::new(transport)?;
    let card = Card {
        mac_address: mac_number(card.mac_address()),
        card: Lock::new(card)?,
        interrupt,
        woken: AtomicBool::new(false),
    };
    Ok(ComObject::create::<INetworkDevice>(card).to_unknown())
}

component::component!(construct);
