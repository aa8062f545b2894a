//! The network card as `smoltcp` drives it: a `phy::Device` whose frames
//! go through the driver's `INetworkDevice` (copied once each way).

use com::ComPtr;
use interfaces::INetworkDevice;
use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// The longest Ethernet frame, without its checksum: what smoltcp calls
/// the MTU of an Ethernet device.
const MAX_FRAME: usize = 1514;

/// The card, with a buffer for each direction.
pub struct Card {
    device: ComPtr<INetworkDevice>,
    received: [u8; MAX_FRAME],
    sending: [u8; MAX_FRAME],
}

impl Card {
    /// The card the driver's `device` is.
    pub fn new(device: ComPtr<INetworkDevice>) -> Card {
        Card {
            device,
            received: [0; MAX_FRAME],
            sending: [0; MAX_FRAME],
        }
    }
}

/// A frame received, for smoltcp to read.
pub struct Received<'a>(&'a [u8]);

/// Room for a frame to send.
pub struct Sending<'a> {
    device: &'a INetworkDevice,
    buffer: &'a mut [u8; MAX_FRAME],
}

impl phy::Device for Card {
    type RxToken<'a> = Received<'a>;
    type TxToken<'a> = Sending<'a>;

    fn receive(&mut self, _: Instant) -> Option<(Received<'_>, Sending<'_>)> {
        // A frame the driver could not hand over (too long) is dropped
        // there: smoltcp sees the next one, or none.
        let length = self.device.receive(&mut self.received).ok()?;
        let frame = self
            .received
            .get(..length)
            .filter(|frame| !frame.is_empty())?;
        Some((
            Received(frame),
            Sending {
                device: &self.device,
                buffer: &mut self.sending,
            },
        ))
    }

    fn transmit(&mut self, _: Instant) -> Option<Sending<'_>> {
        Some(Sending {
            device: &self.device,
            buffer: &mut self.sending,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut capabilities = DeviceCapabilities::default();
        capabilities.medium = Medium::Ethernet;
        capabilities.max_transmission_unit = MAX_FRAME;
        capabilities
    }
}

impl phy::RxToken for Received<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

impl phy::TxToken for Sending<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, length: usize, f: F) -> R {
        let frame = &mut self.buffer[..length.min(MAX_FRAME)];
        let result = f(frame);
        // A frame the card has no room for is lost, as on a wire: TCP
        // sends it again, DHCP asks again.
        let _ = self.device.send(frame);
        result
    }
}
