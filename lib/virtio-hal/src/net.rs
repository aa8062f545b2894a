//! A virtio network card without spinning: its receive queue is kept full
//! of buffers the device fills whenever a frame arrives, frames are sent
//! without waiting for the device to take them, and the driver sleeps on
//! the card's interrupt between the two ([`PostedTransport`]).
//!
//! The buffers the device holds live here, each owned by the slot of the
//! queue token it went out with, so that no caller can touch a buffer the
//! device may still write.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use com::{Result, Status};
use net_frames::Appended;
use virtio_drivers::device::net::VirtIONetRaw;

use crate::{PostedTransport, TesseraHal, status};

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

/// One buffer a queue lends the device.
type Buffer = Box<[u8]>;

/// A virtio network card, its receive buffers and its frames in flight.
pub struct NetworkCard {
    // Declared first, dropped first: the device lets go of the queues
    // (and is reset) before the buffers below are freed.
    device: VirtIONetRaw<TesseraHal, PostedTransport, QUEUE_SIZE>,
    /// The buffer lent to the device under each receive token, and
    /// where in it the part lent starts.
    receiving: [Option<(Buffer, usize)>; QUEUE_SIZE],
    /// The buffer in flight under each transmit token, and the length
    /// of it that went out (virtio header and frame).
    sending: [Option<(Buffer, usize)>; QUEUE_SIZE],
    /// Transmit buffers not in flight, for the next frames: all of them
    /// are made with the card, so traffic never moves the heap.
    spare: Vec<Buffer>,
    /// A frame was refused for want of a transmit buffer: the client
    /// wants to hear when one comes back.
    starved: bool,
    /// The length of the virtio header before each frame.
    header: usize,
    /// A frame taken from the device that did not follow on
    /// ([`NetworkCard::receive_following`]): the next one received.
    held: Option<Received>,
}

/// A frame the device received, in the buffer it was lent.
struct Received {
    buffer: Buffer,
    /// Where the frame lies in `buffer`.
    frame: core::ops::Range<usize>,
}

impl Received {
    fn frame(&self) -> Option<&[u8]> {
        self.buffer.get(self.frame.clone())
    }
}

impl NetworkCard {
    /// Brings the card up over `transport` and fills its receive queue.
    pub fn new(transport: PostedTransport) -> Result<NetworkCard> {
        let device = VirtIONetRaw::new(transport).map_err(status)?;
        let header = device
            .fill_buffer_header(&mut [0; MIN_FRAME])
            .map_err(status)?;
        let mut card = NetworkCard {
            device,
            receiving: [const { None }; QUEUE_SIZE],
            sending: [const { None }; QUEUE_SIZE],
            spare: Vec::with_capacity(QUEUE_SIZE),
            starved: false,
            header,
            held: None,
        };
        for _ in 0..QUEUE_SIZE {
            card.lend_receive_buffer(vec![0; BUFFER_SIZE].into_boxed_slice())?;
            card.spare.push(vec![0; BUFFER_SIZE].into_boxed_slice());
        }
        Ok(card)
    }

    /// The card's MAC address.
    pub fn mac_address(&self) -> [u8; 6] {
        self.device.mac_address()
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
        let copied = received.frame().ok_or(Status::FAILED).and_then(|frame| {
            net_frames::copy_and_sum(buffer, frame).ok_or(Status::INVALID_ARGUMENT)
        });
        self.lend_receive_buffer(received.buffer)?;
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
            let frame = received.frame().ok_or(Status::FAILED)?;
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
            self.lend_receive_buffer(received.buffer)?;
        }
        Ok(appended)
    }

    /// The frame held back by [`NetworkCard::receive_following`], else
    /// the oldest the device has received (its buffer taken back from the
    /// device), else `None`.
    fn take_received(&mut self) -> Result<Option<Received>> {
        if let Some(held) = self.held.take() {
            return Ok(Some(held));
        }
        let Some(token) = self.device.poll_receive() else {
            return Ok(None);
        };
        let (mut buffer, start) = self
            .receiving
            .get_mut(usize::from(token))
            .and_then(Option::take)
            .ok_or(Status::FAILED)?;
        let lent = buffer.get_mut(start..).ok_or(Status::FAILED)?;
        // SAFETY: `lent` is the part of the buffer that went out under
        // `token` (each slot holds the buffer of its token and where the
        // part lent starts), untouched since.
        let received = unsafe { self.device.receive_complete(token, lent) };
        match received {
            Ok((header, length)) => Ok(Some(Received {
                buffer,
                frame: start + header..start + header + length,
            })),
            Err(error) => {
                self.lend_receive_buffer(buffer)?;
                Err(status(error))
            }
        }
    }

    /// Hands `frame` (an Ethernet frame without its checksum, of
    /// [`MIN_FRAME`] to [`MAX_FRAME`] bytes) to the device, without waiting
    /// for it to go out: `RETRY` when every transmit buffer is in flight.
    pub fn send(&mut self, frame: &[u8]) -> Result<()> {
        if !(MIN_FRAME..=MAX_FRAME).contains(&frame.len()) {
            return Err(Status::INVALID_ARGUMENT);
        }
        self.reclaim_sent()?;
        // The queue is asked first: a buffer taken when it had no room
        // would be dropped, and the card would have one fewer for good.
        let room = self.device.can_send();
        let Some(mut buffer) = self.spare.pop_if(|_| room) else {
            self.starved = true;
            return Err(Status::RETRY);
        };
        let header = self
            .device
            .fill_buffer_header(&mut buffer)
            .map_err(status)?;
        let end = header + frame.len();
        buffer
            .get_mut(header..end)
            .ok_or(Status::INVALID_ARGUMENT)?
            .copy_from_slice(frame);
        let outgoing = buffer.get(..end).ok_or(Status::FAILED)?;
        // SAFETY: the buffer is kept in `sending` under its token, and
        // neither read nor written, until the device gives it back
        // (`reclaim_sent`); dropping the card resets the device first.
        let token = unsafe { self.device.transmit_begin(outgoing) }.map_err(status)?;
        let slot = self
            .sending
            .get_mut(usize::from(token))
            .ok_or(Status::FAILED)?;
        *slot = Some((buffer, end));
        Ok(())
    }

    /// Takes back the buffers of the frames the device has sent; true
    /// when a frame is waiting, or when buffers came back after a frame
    /// was refused for want of one: the driver's client has something to
    /// do before it sleeps. (Buffers coming back otherwise are no news.)
    pub fn has_work(&mut self) -> Result<bool> {
        let reclaimed = self.reclaim_sent()?;
        let room_again = reclaimed > 0 && core::mem::take(&mut self.starved);
        Ok(room_again || self.held.is_some() || self.device.poll_receive().is_some())
    }

    /// Acknowledges the card's interrupt, before looking for work and
    /// sleeping again (so an interrupt raised after this is not lost).
    pub fn ack_interrupt(&mut self) {
        self.device.ack_interrupt();
    }

    /// Takes back the buffers of every frame the device has sent: how
    /// many.
    fn reclaim_sent(&mut self) -> Result<usize> {
        let mut reclaimed = 0;
        while let Some(token) = self.device.poll_transmit() {
            let (buffer, length) = self
                .sending
                .get_mut(usize::from(token))
                .and_then(Option::take)
                .ok_or(Status::FAILED)?;
            let sent = buffer.get(..length).ok_or(Status::FAILED)?;
            // SAFETY: `sent` is the part of `buffer` that went out under
            // `token` (the slot of its token), untouched since.
            unsafe { self.device.transmit_complete(token, sent) }.map_err(status)?;
            self.spare.push(buffer);
            reclaimed += 1;
        }
        Ok(reclaimed)
    }

    /// Lends `buffer` to the device's receive queue, from where the
    /// frame after the virtio header lands [`FRAME_ALIGNMENT`] bytes past
    /// an 8-byte boundary.
    fn lend_receive_buffer(&mut self, mut buffer: Buffer) -> Result<()> {
        let frame_at = buffer.as_ptr().addr() + self.header;
        let start = (FRAME_ALIGNMENT + 8 - frame_at % 8) % 8;
        let lent = buffer.get_mut(start..).ok_or(Status::FAILED)?;
        // SAFETY: the buffer is kept in `receiving` under its token, and
        // neither read nor written, until the device gives it back
        // (`receive`); dropping the card resets the device first.
        let token = unsafe { self.device.receive_begin(lent) }.map_err(status)?;
        let slot = self
            .receiving
            .get_mut(usize::from(token))
            .ok_or(Status::FAILED)?;
        *slot = Some((buffer, start));
        Ok(())
    }
}
