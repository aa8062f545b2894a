//! The network card as `smoltcp` drives it: a `phy::Device` whose frames
//! go through the driver's `INetworkDevice` (copied once each way) — but
//! for frames to the stack's own address, which loop back (a connection
//! to 10.0.2.15 from the machine itself): frames to the card's own MAC
//! address, and the ARP request that asks for it.
//!
//! A frame the driver has no transmit buffer for (every one in flight)
//! is kept, not lost: it goes first once the card gives buffers back, and
//! until then the stack makes no new ones (`transmit` gives it no token)
//! and its thread sleeps on the card. Losing it instead cost the
//! connection a retransmission timeout each time, and a run of them a
//! reset (docs/network.md, "Figures").
//!
//! A connection request to a listening port whose pool has no socket
//! listening is held here, not refused, and goes to `smoltcp` once a
//! socket listens again ([`Card::admit`]).
//!
//! The checksums are ours (`net-frames`, eight bytes at a time), not
//! smoltcp's: a frame whose checksums fail is dropped before smoltcp sees
//! it, and each frame smoltcp makes gets them as it goes out. A frame from
//! the card comes with the sum of its bytes past the Ethernet header, which
//! the driver took as it copied it: a TCP or UDP payload is not read again
//! to be checked. The segments the driver merges after a TCP segment
//! (`INetworkDevice::receive_following`) it checked as it merged them.

use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;

use com::{ComPtr, Status};
use interfaces::INetworkDevice;
use net_frames::{
    ConnectionRequest, checksums_hold, checksums_hold_summed, fill_checksums, is_for_itself,
};
use smoltcp::phy::{self, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::time::{Duration, Instant};

/// The longest Ethernet frame, without its checksum.
const MAX_FRAME: usize = 1514;
/// What smoltcp is told is the longest frame (its "MTU" for an Ethernet
/// device), 4 bytes short of the longest: the TCP segments it asks for
/// (1,456 bytes, the MSS it offers) are then a multiple of 8 bytes, so
/// each lands in the socket's buffer where the last ended, at the same
/// alignment as in the frame — and is copied a word at a time. Frames
/// received are taken whatever their length.
const STACK_MTU: usize = MAX_FRAME - 4;
/// Where a frame received starts past an 8-byte boundary, as the
/// driver's own buffers place it (`virtio_hal::net::FRAME_ALIGNMENT`):
/// the copy between the two goes a word at a time, and a TCP payload
/// after 54 bytes of headers starts on a boundary.
const FRAME_ALIGNMENT: usize = 2;
/// The most frames waiting to loop back; more are lost, as on a wire.
const MAX_LOOPED: usize = 64;
/// The most frames kept while the card has no transmit buffer free:
/// the one `transmit` was given a token for, and the answers to the
/// frames received meanwhile (the driver holds 16). More are lost, as on
/// a wire.
const MAX_UNSENT: usize = 32;

/// The most connection requests held at once, for every port together;
/// more are dropped (their peers ask again).
const MAX_HELD: usize = 64;
/// How long a connection request is held: about when its peer asks
/// again (which replaces it), so a peer that gave up is not answered
/// long after.
const HELD_FOR: Duration = Duration::from_secs(1);

/// The longest frame of TCP segments merged: a receive buffer's worth of
/// data (the sockets' are 32 KiB; a peer sends no more than the window)
/// and a frame's headers.
const MAX_MERGED: usize = 32 * 1024 + MAX_FRAME;

/// The card, with a buffer for each direction.
pub struct Card {
    device: ComPtr<INetworkDevice>,
    mac: [u8; 6],
    /// Room for a frame received, or for TCP segments merged into one,
    /// from `received_at` ([`FRAME_ALIGNMENT`]).
    received: Vec<u8>,
    received_at: usize,
    sending: [u8; MAX_FRAME],
    /// Frames the stack sent to itself, oldest first.
    looped: VecDeque<Vec<u8>>,
    /// Frames the driver had no transmit buffer for, oldest first: they
    /// go before any other.
    unsent: VecDeque<Vec<u8>>,
    /// Each listening port and the connection requests it can still take
    /// in this poll ([`Card::admit`]).
    admitting: Vec<(u16, usize)>,
    /// Connection requests that found no socket listening, oldest first.
    held: VecDeque<HeldRequest>,
}

/// A connection request (a SYN frame, its checksums checked) waiting for
/// a socket to listen on its port.
struct HeldRequest {
    since: Instant,
    request: ConnectionRequest,
    frame: Vec<u8>,
}

impl Card {
    /// The card the driver's `device` is, whose MAC address is `mac`.
    pub fn new(device: ComPtr<INetworkDevice>, mac: [u8; 6]) -> Card {
        let received = vec![0; MAX_MERGED + 7];
        let received_at = (FRAME_ALIGNMENT + 8 - received.as_ptr().addr() % 8) % 8;
        Card {
            device,
            mac,
            received,
            received_at,
            sending: [0; MAX_FRAME],
            looped: VecDeque::new(),
            unsent: VecDeque::new(),
            admitting: Vec::new(),
            held: VecDeque::new(),
        }
    }

    /// Sets how many connection requests (SYN segments) each listening
    /// port can take in the poll that starts `now`: as many as its pool
    /// has sockets listening. A request beyond is held, not handed to
    /// `smoltcp` (which would refuse it with a reset), until a socket
    /// listens again — at most [`HELD_FOR`], about when its peer asks
    /// again — as a full listen queue makes a peer wait elsewhere. A port
    /// nobody listens on is still refused.
    pub fn admit(&mut self, listeners: impl Iterator<Item = (u16, usize)>, now: Instant) {
        self.admitting.clear();
        self.admitting.extend(listeners);
        while self
            .held
            .front()
            .is_some_and(|held| now - held.since >= HELD_FOR)
        {
            self.held.pop_front();
        }
        if self.held.is_empty() && self.held.capacity() != 0 {
            // An idle stack holds no memory for requests.
            self.held = VecDeque::new();
        }
    }

    /// Connection requests wait for a socket: an `accept` that makes
    /// room should let the stack poll.
    pub fn holds_requests(&self) -> bool {
        !self.held.is_empty()
    }

    /// Whether the stack takes in the frame received, `length` bytes:
    /// anything but a connection request to a listening port that can
    /// take no more in this poll, which is held ([`Card::admit`]).
    fn admits(&mut self, length: usize, now: Instant) -> bool {
        if self.admitting.is_empty() {
            return true;
        }
        let Some(request) = self
            .received(length)
            .and_then(net_frames::connection_request)
        else {
            return true;
        };
        if self.take_admission(request.port) {
            return true;
        }
        // Asked again: the new request replaces the one held.
        self.held.retain(|held| held.request != request);
        if self.held.len() < MAX_HELD
            && let Some(frame) = self.received(length).and_then(copied)
            && self.held.try_reserve(1).is_ok()
        {
            self.held.push_back(HeldRequest {
                since: now,
                request,
                frame,
            });
        }
        false
    }

    /// Whether a connection request to `port` goes to `smoltcp` now: the
    /// port has a socket listening left in this poll (one fewer after
    /// this), or nobody listens on it (`smoltcp` refuses it).
    fn take_admission(&mut self, port: u16) -> bool {
        match self
            .admitting
            .iter_mut()
            .find(|(listening, _)| *listening == port)
        {
            Some((_, 0)) => false,
            Some((_, left)) => {
                *left -= 1;
                true
            }
            None => true,
        }
    }

    /// Copies the oldest held connection request that a socket listens
    /// for now into `received`: its length.
    fn take_held(&mut self) -> Option<usize> {
        let mut at = 0;
        let held = loop {
            let port = self.held.get(at)?.request.port;
            if self.take_admission(port) {
                break self.held.remove(at)?;
            }
            at += 1;
        };
        let into = self.received.get_mut(self.received_at..)?;
        into.get_mut(..held.frame.len())?
            .copy_from_slice(&held.frame);
        Some(held.frame.len())
    }

    /// Frames the stack sent to itself wait: poll again at once.
    pub fn has_looped(&self) -> bool {
        !self.looped.is_empty()
    }

    /// Frames wait for a transmit buffer: the stack's thread sleeps until
    /// the card gives one back (its wait ends then) rather than poll.
    pub fn is_backed_up(&self) -> bool {
        !self.unsent.is_empty()
    }

    /// Hands the driver the frames it had no buffer for, oldest first, as
    /// far as it takes them: true once none is left.
    fn send_unsent(&mut self) -> bool {
        if self.unsent.is_empty() {
            return true;
        }
        while let Some(frame) = self.unsent.front() {
            if self.device.send(frame) == Err(Status::RETRY) {
                return false;
            }
            // Sent, or refused for good (lost, as on a wire).
            self.unsent.pop_front();
        }
        // An idle stack holds no memory for frames not sent.
        self.unsent = VecDeque::new();
        true
    }

    /// The next frame whose checksums hold (others are dropped, as a
    /// card that checked them would): one looped back first, else one
    /// from the card — with the data of
    /// the TCP segments after it merged in ([`Card::merge_following`]).
    fn next_frame(&mut self, now: Instant) -> Option<usize> {
        let (length, from_card) = self.next_checked_frame(now)?;
        Some(if from_card {
            self.merge_following(length)
        } else {
            length
        })
    }

    /// The next frame whose checksums hold and that the stack admits
    /// (a connection request held first), and whether it came from the
    /// card.
    fn next_checked_frame(&mut self, now: Instant) -> Option<(usize, bool)> {
        if !self.held.is_empty()
            && let Some(length) = self.take_held()
        {
            return Some((length, false));
        }
        loop {
            if let Some(frame) = self.looped.pop_front() {
                let into = self.received.get_mut(self.received_at..)?;
                into.get_mut(..frame.len())?.copy_from_slice(&frame);
                if self.looped.is_empty() {
                    // An idle stack holds no memory for its loop.
                    self.looped = VecDeque::new();
                }
                let length = frame.len();
                if self.received(length).is_some_and(checksums_hold) && self.admits(length, now) {
                    return Some((length, false));
                }
                continue;
            }
            let (length, past_header) = self.take_from_card()?;
            let frame = self.received(length)?;
            if checksums_hold_summed(frame, past_header) && self.admits(length, now) {
                return Some((length, true));
            }
        }
    }

    /// Copies the card's next frame into `received`: its length and the
    /// sum of its bytes past the Ethernet header (the driver sums them as
    /// it copies), or `None` when none waits. (A frame the driver could
    /// not hand over, too long, is dropped there.)
    fn take_from_card(&mut self) -> Option<(usize, u16)> {
        let room = self
            .received
            .get_mut(self.received_at..)?
            .get_mut(..MAX_FRAME)?;
        let frame = self.device.receive(room).ok()?;
        let length = usize::try_from(frame.length)
            .ok()
            .filter(|&length| length != 0)?;
        Some((length, u16::try_from(frame.sum).ok()?))
    }

    /// Merges into the frame just received from the card (`length`
    /// bytes), if it is a TCP segment with data, the data of the segments
    /// the card holds after it that follow on, as a card's receive offload
    /// does (`INetworkDevice::receive_following`): `smoltcp` then takes in
    /// one segment where the peer sent many, and does its work for each
    /// once. The frame's new length.
    fn merge_following(&mut self, length: usize) -> usize {
        let start = self.received_at;
        let Some(segment) = self.received(length).and_then(net_frames::segment) else {
            return length;
        };
        // Room for a receive buffer's worth of data in all.
        let Some(frame) = self.received.get_mut(start..start + MAX_MERGED) else {
            return length;
        };
        let (headers, room) = frame.split_at_mut(length);
        let appended = self
            .device
            .receive_following(&mut headers[..segment.header], room)
            .unwrap_or(0);
        length + usize::try_from(appended).unwrap_or(0)
    }

    /// The first `length` bytes of the frame received.
    fn received(&self, length: usize) -> Option<&[u8]> {
        self.received.get(self.received_at..)?.get(..length)
    }

    fn sending(&mut self) -> Sending<'_> {
        Sending {
            device: &self.device,
            mac: self.mac,
            buffer: &mut self.sending,
            looped: &mut self.looped,
            unsent: &mut self.unsent,
        }
    }
}

/// A frame received, for smoltcp to read.
pub struct Received<'a>(&'a [u8]);

/// Room for a frame to send.
pub struct Sending<'a> {
    device: &'a INetworkDevice,
    mac: [u8; 6],
    buffer: &'a mut [u8; MAX_FRAME],
    looped: &'a mut VecDeque<Vec<u8>>,
    unsent: &'a mut VecDeque<Vec<u8>>,
}

impl phy::Device for Card {
    type RxToken<'a> = Received<'a>;
    type TxToken<'a> = Sending<'a>;

    /// A frame received, and room for the answer, which waits behind the
    /// frames not sent yet if there are any.
    fn receive(&mut self, now: Instant) -> Option<(Received<'_>, Sending<'_>)> {
        self.send_unsent();
        let length = self.next_frame(now)?;
        let sending = Sending {
            device: &self.device,
            mac: self.mac,
            buffer: &mut self.sending,
            looped: &mut self.looped,
            unsent: &mut self.unsent,
        };
        let frame = self
            .received
            .get(self.received_at..)
            .and_then(|received| received.get(..length))
            .filter(|frame| !frame.is_empty())?;
        Some((Received(frame), sending))
    }

    /// Room for a frame, once the card has taken the frames it had no
    /// buffer for: until then, none (`smoltcp` sends nothing more).
    fn transmit(&mut self, _: Instant) -> Option<Sending<'_>> {
        self.send_unsent().then(|| self.sending())
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut capabilities = DeviceCapabilities::default();
        capabilities.medium = Medium::Ethernet;
        capabilities.max_transmission_unit = STACK_MTU;
        // Checked and filled in here, not by smoltcp.
        capabilities.checksum = ChecksumCapabilities::ignored();
        capabilities
    }
}

impl phy::RxToken for Received<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

/// A copy of `frame`, or `None` when the heap has no room for one (the
/// frame is then lost, as on a wire, rather than the stack stopped).
fn copied(frame: &[u8]) -> Option<Vec<u8>> {
    let mut copy = Vec::new();
    copy.try_reserve_exact(frame.len()).ok()?;
    copy.extend_from_slice(frame);
    Some(copy)
}

/// Puts a copy of `frame` at the end of `queue`, if the heap has room.
fn keep(queue: &mut VecDeque<Vec<u8>>, frame: &[u8]) {
    if let Some(copy) = copied(frame)
        && queue.try_reserve(1).is_ok()
    {
        queue.push_back(copy);
    }
}

impl phy::TxToken for Sending<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, length: usize, f: F) -> R {
        let frame = &mut self.buffer[..length.min(MAX_FRAME)];
        let result = f(frame);
        fill_checksums(frame);
        if is_for_itself(frame, self.mac) {
            if self.looped.len() < MAX_LOOPED {
                keep(self.looped, frame);
            }
            return result;
        }
        // In order: behind the frames not sent yet, if any.
        let refused = !self.unsent.is_empty() || self.device.send(frame) == Err(Status::RETRY);
        if refused && self.unsent.len() < MAX_UNSENT {
            keep(self.unsent, frame);
        }
        result
    }
}
