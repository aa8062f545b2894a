//! A virtio network card without spinning: its receive queue is kept full
//! of buffers the device fills whenever a frame arrives, frames are sent
//! without waiting for the device to take them, and the driver sleeps on
//! the card's interrupt between the two ([`PostedTransport`]).
//!
//! Both queues are [`Ring`]s: each buffer is lent to the device for
//! good, taken back and lent again frame after frame, and only a buffer
//! the device has given back can be read or written. The card is brought
//! up here too (features, MAC address, queues), since `virtio-drivers`'
//! `VirtIONetRaw` sets up queues of its own.

use alloc::vec::Vec;

use bitflags::bitflags;
use com::{Result, Status};
use net_frames::Appended;
use virtio_drivers::transport::Transport;

use crate::PostedTransport;
use crate::ring::{Buffers, Held, Ring};

/// How many buffers each queue holds (receive and transmit alike).
pub const QUEUE_SIZE: usize = 16;
/// The size of every buffer: a whole Ethernet frame (1,514 bytes without
/// its checksum), the virtio header before it and up to 7 bytes skipped
/// to place the frame ([`FRAME_ALIGNMENT`]).
const BUFFER_SIZE: usize = 1544;
/// Where each frame received starts, past an 8-byte boundary: its IPv4
/// header 4-byte aligned and a TCP payload after a 40-byte header 8-byte
/// aligned, so that copying it into a client's buffer placed alike
/// (and then into a socket's, 8 bytes at a time) is word by word.
pub const FRAME_ALIGNMENT: usize = 2;
/// The shortest frame [`NetworkCard::send`] takes: an Ethernet header.
pub const MIN_FRAME: usize = 14;
/// The longest frame [`NetworkCard::send`] takes (Ethernet header and
/// payload, no checksum): what a buffer holds after the longest header.
pub const MAX_FRAME: usize = 1514;

/// The queues of a network card (virtio 5.1.2).
const RECEIVE_QUEUE: u16 = 0;
const TRANSMIT_QUEUE: u16 = 1;

bitflags! {
    /// The features the driver takes when the card offers them (virtio
    /// 5.1.3, 6): its MAC address, the event index, the 1.0 interface.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct Features: u64 {
        const MAC = 1 << 5;
        const EVENT_INDEX = 1 << 29;
        const VERSION_1 = 1 << 32;
    }
}

/// The virtio header before each frame: 12 bytes with the 1.0 interface
/// (`num_buffers` included), 10 without (virtio 5.1.6).
const HEADER: usize = 12;
const LEGACY_HEADER: usize = 10;

/// A virtio network card, with a receive queue kept full and a transmit
/// queue, each of [`QUEUE_SIZE`] buffers of its own ([`Ring`]).
pub struct NetworkCard {
    transport: PostedTransport,
    receiving: Ring<QUEUE_SIZE>,
    sending: Ring<QUEUE_SIZE>,
    /// Transmit buffers not in flight, for the next frames.
    spare: Vec<Held>,
    /// A frame was refused for want of a transmit buffer: the client
    /// wants to hear when one comes back.
    starved: bool,
    /// The length of the virtio header before each frame.
    header: usize,
    mac: [u8; 6],
    /// A frame taken from the device that did not follow on
    /// ([`NetworkCard::receive_following`]): the next one received.
    held: Option<Held>,
}

impl Drop for NetworkCard {
    fn drop(&mut self) {
        // The device lets go of the queues before their memory is freed
        // (the transport resets it as it drops, after).
        self.transport.queue_unset(RECEIVE_QUEUE);
        self.transport.queue_unset(TRANSMIT_QUEUE);
    }
}

/// Where the part lent of each buffer starts, so that the frame after a
/// virtio header of `header` bytes lands [`FRAME_ALIGNMENT`] bytes past
/// an 8-byte boundary (buffers start on one).
fn placed(header: usize) -> Buffers {
    Buffers {
        stride: BUFFER_SIZE,
        lent_at: (FRAME_ALIGNMENT + 8 - header % 8) % 8,
    }
}

impl NetworkCard {
    /// Brings the card up over `transport` and fills its receive queue.
    pub fn new(mut transport: PostedTransport) -> Result<NetworkCard> {
        let features = transport.begin_init(Features::all());
        if !features.contains(Features::MAC) {
            return Err(Status::NOT_SUPPORTED);
        }
        let mac = transport
            .read_config_space::<[u8; 6]>(0)
            .map_err(crate::status)?;
        let header = if features.contains(Features::VERSION_1) {
            HEADER
        } else {
            LEGACY_HEADER
        };
        let event_index = features.contains(Features::EVENT_INDEX);
        let layout = placed(header);
        let (receiving, to_receive) =
            Ring::new(&mut transport, RECEIVE_QUEUE, layout, true, event_index)?;
        let sending = Ring::new(&mut transport, TRANSMIT_QUEUE, layout, false, event_index);
        let (sending, spare) = match sending {
            Ok(ring) => ring,
            Err(error) => {
                // The device lets go of the receive queue before it drops.
                transport.queue_unset(RECEIVE_QUEUE);
                return Err(error);
            }
        };
        transport.finish_init();
        let mut card = NetworkCard {
            transport,
            receiving,
            sending,
            spare,
            starved: false,
            header,
            mac,
            held: None,
        };
        for buffer in to_receive {
            card.receiving
                .lend(&mut card.transport, buffer, BUFFER_SIZE);
        }
        Ok(card)
    }

    /// The card's MAC address.
    pub fn mac_address(&self) -> [u8; 6] {
        self.mac
    }

    /// Copies the oldest frame the card received into `buffer` and gives
    /// its buffer back to the device: the frame's length and the sum of
    /// its bytes past the Ethernet header, summed in the copy's loop
    /// (`net_frames::copy_and_sum`; by words when `buffer` starts
    /// [`FRAME_ALIGNMENT`] bytes past an 8-byte boundary, as the frame
    /// does here), or `None` when no frame is waiting. A frame longer than
    /// `buffer` is dropped (`INVALID_ARGUMENT`); one of [`MAX_FRAME`] bytes
    /// always fits.
    pub fn receive(&mut self, buffer: &mut [u8]) -> Result<Option<(usize, u16)>> {
        let Some(received) = self.take_received()? else {
            return Ok(None);
        };
        let copied = self.frame(&received).and_then(|frame| {
            net_frames::copy_and_sum(buffer, frame).ok_or(Status::INVALID_ARGUMENT)
        });
        self.receiving
            .lend(&mut self.transport, received, BUFFER_SIZE);
        copied.map(Some)
    }

    /// Appends to the TCP segment whose headers are `headers` the data of
    /// the frames received after it that follow on, into `room`, as a
    /// card's receive offload does (`net_frames::append_following`): each
    /// such frame is copied once, from its buffer to where its data goes,
    /// and its buffer goes back to the device at once; one that follows
    /// on but fails its checksums is dropped; the first that does not
    /// follow on is held, not copied, for [`NetworkCard::receive`]. The
    /// bytes appended (none for `headers` that are no such segment's).
    pub fn receive_following(&mut self, headers: &mut [u8], room: &mut [u8]) -> Result<usize> {
        let Some((mut segment, mut length)) = net_frames::headers_segment(headers) else {
            return Ok(0);
        };
        let mut appended = 0;
        while let Some(received) = self.take_received()? {
            let Ok(frame) = self.frame(&received) else {
                // Shorter than its virtio header: no frame, but the
                // buffer goes back all the same.
                self.receiving
                    .lend(&mut self.transport, received, BUFFER_SIZE);
                continue;
            };
            let rest = room.get_mut(appended..).unwrap_or_default();
            match net_frames::append_following(headers, &mut segment, length, frame, rest) {
                Appended::Data(data) => {
                    appended += data;
                    length += data;
                }
                Appended::Dropped => {}
                Appended::NotFollowing => {
                    self.held = Some(received);
                    break;
                }
            }
            self.receiving
                .lend(&mut self.transport, received, BUFFER_SIZE);
        }
        Ok(appended)
    }

    /// The frame in a buffer received: past its virtio header.
    fn frame<'a>(&'a self, received: &'a Held) -> Result<&'a [u8]> {
        self.receiving
            .bytes(received)
            .get(self.header..)
            .ok_or(Status::FAILED)
    }

    /// The frame held back by [`NetworkCard::receive_following`], else
    /// the oldest the device has received, else `None`.
    fn take_received(&mut self) -> Result<Option<Held>> {
        if let Some(held) = self.held.take() {
            return Ok(Some(held));
        }
        self.receiving.take()
    }

    /// Hands `frame` (an Ethernet frame without its checksum, of
    /// [`MIN_FRAME`] to [`MAX_FRAME`] bytes) to the device, without waiting
    /// for it to go out: `RETRY` when every transmit buffer is in flight.
    pub fn send(&mut self, frame: &[u8]) -> Result<()> {
        if !(MIN_FRAME..=MAX_FRAME).contains(&frame.len()) {
            return Err(Status::INVALID_ARGUMENT);
        }
        self.reclaim_sent()?;
        let Some(mut buffer) = self.spare.pop() else {
            self.starved = true;
            return Err(Status::RETRY);
        };
        // The virtio header before the frame stays all zeros (no offload
        // asked for), as the buffer was made.
        let end = self.header + frame.len();
        let copied = self
            .sending
            .bytes_mut(&mut buffer)
            .get_mut(self.header..end)
            .map(|room| room.copy_from_slice(frame));
        if copied.is_none() {
            self.spare.push(buffer);
            return Err(Status::INVALID_ARGUMENT);
        }
        self.sending.lend(&mut self.transport, buffer, end);
        Ok(())
    }

    /// Takes back the buffers of the frames the device has sent; true
    /// when a frame is waiting, or when buffers came back after a frame
    /// was refused for want of one: the driver's client has something to
    /// do before it sleeps. (Buffers coming back otherwise are no news.)
    pub fn has_work(&mut self) -> Result<bool> {
        let reclaimed = self.reclaim_sent()?;
        let room_again = reclaimed > 0 && core::mem::take(&mut self.starved);
        Ok(room_again || self.held.is_some() || self.receiving.has_used())
    }

    /// Acknowledges the card's interrupt, before looking for work and
    /// sleeping again (so an interrupt raised after this is not lost).
    pub fn ack_interrupt(&mut self) {
        self.transport.ack_interrupt();
    }

    /// Takes back the buffers of every frame the device has sent: how
    /// many.
    fn reclaim_sent(&mut self) -> Result<usize> {
        let mut reclaimed = 0;
        while let Some(buffer) = self.sending.take()? {
            self.spare.push(buffer);
            reclaimed += 1;
        }
        Ok(reclaimed)
    }
}
