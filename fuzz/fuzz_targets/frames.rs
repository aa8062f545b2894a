//! The network stack's receive path: any bytes as Ethernet frames, checked
//! by `net-frames` as the stack's card checks them and handed to `smoltcp`
//! (configured as `components/netstack` configures it: our checksums, a
//! listening TCP socket and a bound UDP socket) when they pass; the wide
//! checksum against a plain one at every alignment, and the sum a frame's
//! copy takes (`copy_and_sum`, as the card's driver copies frames) and the
//! check from it against checking from scratch — where the frame lies and
//! placed as the driver places frames, where the copy, the checks and the
//! merge's comparison of headers go by words (a merge placed so must agree
//! with one that is not), and the driver's merge of the frames after a
//! segment (`append_following`) against `merge`; filled checksums must
//! hold. Errors are fine; a crash, a hang or a wrong sum is not.
//!
//! An input is a mode byte, then frames, each a 2-byte little-endian
//! length and its bytes. Mode bit 0: each frame gets its checksums filled
//! in first, so smoltcp sees frames that pass (the fuzzer cannot make
//! checksums hold by chance).

#![no_main]

use libfuzzer_sys::fuzz_target;
use net_frames::{
    Appended, Segment, append_following, checksums_hold, checksums_hold_summed, connection_request,
    copy_and_sum, fill_checksums, merge, segment, sum,
};
use smoltcp::iface::{Config, Interface, SocketSet};
use smoltcp::phy::{self, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::socket::{tcp, udp};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, Ipv4Address};

/// The sum two bytes at a time, as RFC 1071 defines it.
fn plain_sum(data: &[u8]) -> u16 {
    let mut total: u32 = 0;
    for pair in data.chunks(2) {
        let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
        total += u32::from(word);
        total = (total & 0xffff) + (total >> 16);
    }
    total as u16
}

/// `frame` copied `offset` bytes past an 8-byte boundary of `buffer`.
fn placed<'a>(buffer: &'a mut Vec<u8>, offset: usize, frame: &[u8]) -> &'a mut [u8] {
    *buffer = vec![0u8; frame.len() + 16];
    let start = (offset + 8 - buffer.as_ptr() as usize % 8) % 8;
    let room = &mut buffer[start..start + frame.len()];
    room.copy_from_slice(frame);
    room
}

/// Whether a frame received passes, checked as the stack's card checks
/// it (with the sum the driver takes as it copies the frame) — which must
/// agree with checking it from scratch, both where the frame lies and
/// placed as the driver places frames (2 bytes past an 8-byte boundary,
/// where the copy and the checks go by words). The copy's sum may give
/// either form of a ones'-complement zero.
fn holds(frame: &[u8]) -> bool {
    let plain = checksums_hold(frame);
    let expected = plain_sum(frame.get(14..).unwrap_or(&[]));
    let (mut from_buffer, mut into_buffer) = (Vec::new(), Vec::new());
    for offset in [0, 2] {
        let from = &*placed(&mut from_buffer, offset, frame);
        let copy = placed(&mut into_buffer, offset, &vec![0u8; frame.len()]);
        let (length, past_header) = copy_and_sum(copy, from).expect("room for the frame");
        assert_eq!(length, frame.len());
        assert_eq!(&*copy, frame, "the copy differs");
        let zero = [0, 0xffff];
        assert!(
            past_header == expected || zero.contains(&past_header) && zero.contains(&expected),
            "the copy's sum is wrong"
        );
        assert_eq!(
            checksums_hold_summed(from, past_header),
            plain,
            "the summed check differs"
        );
    }
    plain
}

/// Frames to take in, one at a time; what the stack sends is dropped.
struct Wire {
    /// The frames still to come, the next last.
    frames: Vec<Vec<u8>>,
    fill: bool,
}

struct Rx(Vec<u8>);
struct Tx;

impl phy::RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for Tx {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, length: usize, f: F) -> R {
        let mut frame = vec![0u8; length];
        let result = f(&mut frame);
        fill_checksums(&mut frame);
        assert!(
            checksums_hold(&frame),
            "a frame the stack sent fails its checksums"
        );
        result
    }
}

impl Wire {
    /// The next frame as the card would hand it over (checksums filled
    /// in, in mode 1), whatever its checksums.
    fn next_any(&mut self) -> Option<Vec<u8>> {
        let mut frame = self.frames.pop()?;
        if self.fill {
            fill_checksums(&mut frame);
        }
        Some(frame)
    }

    /// The next frame that passes.
    fn next_passing(&mut self) -> Option<Vec<u8>> {
        loop {
            let frame = self.next_any()?;
            if holds(&frame) {
                return Some(frame);
            }
        }
    }

    /// Merges the data of the frames after `frame` into it, as the card's
    /// driver does (`append_following`: a frame that follows on but fails
    /// its checksums dropped, the first that does not follow on left for
    /// next time), with the frames placed as the driver places them and
    /// not: both must agree with `merge` of a frame that passes, and the
    /// merged frame must still be a segment to merge into, with the same
    /// headers.
    fn merge_following(&mut self, frame: &mut Vec<u8>) {
        let Some(mut segment) = segment(frame) else {
            return;
        };
        while let Some(next) = self.next_any() {
            let length = frame.len();
            let passes = holds(&next);
            let mut merged = frame.clone();
            let mut merged_segment = segment;
            let merges = merge(&mut merged, &mut merged_segment, length, &next);
            let mut appended = None;
            for offset in [0, 2] {
                let (outcome, headers, room) = append_placed(frame, segment, &next, offset);
                match (merges, outcome) {
                    (Some(data), Appended::Data(added)) if passes => {
                        assert_eq!(added, data, "appended otherwise than merged");
                        assert_eq!(headers, merged[..length], "headers differ from merge's");
                        assert_eq!(room[..data], next[next.len() - data..], "data copied wrong");
                    }
                    (Some(_), Appended::Dropped) if !passes => {}
                    (None, Appended::NotFollowing) => {}
                    (None, Appended::Dropped) if !passes => {}
                    (merges, outcome) => {
                        panic!("appended {outcome:?}, merged {merges:?}, passes {passes}")
                    }
                }
                assert!(
                    appended.is_none_or(|earlier| earlier == outcome),
                    "placed and not differ"
                );
                appended = Some(outcome);
            }
            match appended {
                Some(Appended::Data(data)) => {
                    frame.copy_from_slice(&merged[..length]);
                    frame.extend_from_slice(&next[next.len() - data..]);
                    segment = merged_segment;
                }
                Some(Appended::Dropped) => continue,
                _ => {
                    self.frames.push(next);
                    return;
                }
            }
            assert_eq!(
                net_frames::segment(frame).map(|merged| merged.header),
                Some(segment.header),
                "a merged frame is no segment"
            );
        }
    }
}

/// `append_following` of `next` after `frame` (the segment `segment`),
/// both placed `offset` bytes past an 8-byte boundary, with room for
/// `next`'s data after `frame`'s: what it did, `frame`'s first bytes
/// after and the room.
fn append_placed(
    frame: &[u8],
    mut segment: Segment,
    next: &[u8],
    offset: usize,
) -> (Appended, Vec<u8>, Vec<u8>) {
    let length = frame.len();
    let mut with_room = frame.to_vec();
    with_room.resize(length + next.len(), 0);
    let (mut buffer, mut next_buffer) = (Vec::new(), Vec::new());
    let placed_frame = placed(&mut buffer, offset, &with_room);
    let placed_next = placed(&mut next_buffer, offset, next);
    let (headers, room) = placed_frame.split_at_mut(length);
    let outcome = append_following(
        &mut headers[..segment.header],
        &mut segment,
        length,
        placed_next,
        room,
    );
    (outcome, headers.to_vec(), room.to_vec())
}

impl phy::Device for Wire {
    type RxToken<'a>
        = Rx
    where
        Self: 'a;
    type TxToken<'a>
        = Tx
    where
        Self: 'a;

    fn receive(&mut self, _: Instant) -> Option<(Rx, Tx)> {
        let mut frame = self.next_passing()?;
        self.merge_following(&mut frame);
        Some((Rx(frame), Tx))
    }

    fn transmit(&mut self, _: Instant) -> Option<Tx> {
        Some(Tx)
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut capabilities = DeviceCapabilities::default();
        capabilities.medium = Medium::Ethernet;
        capabilities.max_transmission_unit = 1514;
        capabilities.checksum = ChecksumCapabilities::ignored();
        capabilities
    }
}

/// The frames of an input after its mode byte.
fn frames(mut data: &[u8]) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    while let [low, high, rest @ ..] = data {
        let length = usize::from(u16::from_le_bytes([*low, *high])).min(rest.len());
        let (frame, after) = rest.split_at(length);
        frames.push(frame.to_vec());
        data = after;
    }
    frames.reverse();
    frames
}

fuzz_target!(|data: &[u8]| {
    for start in 0..data.len().min(8) {
        assert_eq!(
            sum(&data[start..]),
            plain_sum(&data[start..]),
            "start {start}"
        );
    }
    // Any bytes: an answer or none, never a read past the end.
    let _ = connection_request(data);
    let mut copy = data.to_vec();
    if fill_checksums(&mut copy) {
        assert!(checksums_hold(&copy), "filled checksums fail");
    }
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut wire = Wire {
        frames: frames(rest),
        fill: mode & 1 == 1,
    };
    let mac = EthernetAddress([0x52, 0x54, 0, 0x12, 0x34, 0x56]);
    let mut interface = Interface::new(
        Config::new(HardwareAddress::Ethernet(mac)),
        &mut wire,
        Instant::ZERO,
    );
    interface.update_ip_addrs(|addresses| {
        let _ = addresses.push(IpCidr::new(
            IpAddress::Ipv4(Ipv4Address::new(10, 0, 2, 15)),
            24,
        ));
    });
    let mut sockets = SocketSet::new(Vec::new());
    let mut listening = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; 4096]),
        tcp::SocketBuffer::new(vec![0; 4096]),
    );
    let _ = listening.listen(7);
    let listening = sockets.add(listening);
    let mut datagrams = udp::Socket::new(
        udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 4], vec![0; 4096]),
        udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 4], vec![0; 4096]),
    );
    let _ = datagrams.bind(7);
    let datagrams = sockets.add(datagrams);
    let mut time = 0;
    while !wire.frames.is_empty() {
        time += 10;
        interface.poll(Instant::from_millis(time), &mut wire, &mut sockets);
        // Echo what came, as the echo service does.
        let socket = sockets.get_mut::<tcp::Socket>(listening);
        let mut buffer = [0u8; 512];
        if let Ok(count) = socket.recv_slice(&mut buffer) {
            let _ = socket.send_slice(&buffer[..count]);
        }
        let socket = sockets.get_mut::<udp::Socket>(datagrams);
        if let Ok((count, meta)) = socket.recv_slice(&mut buffer) {
            let _ = socket.send_slice(&buffer[..count], meta.endpoint);
        }
    }
});
