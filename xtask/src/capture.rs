//! A reader of the packet captures QEMU writes for a test's network card
//! (`filter-dump`, the classic pcap format): which bytes of a TCP
//! connection the guest never put on the wire — frames it made and lost
//! before the card took them.

use std::collections::HashMap;

use anyhow::{Result, ensure};

/// The capture file's header, and each frame's record header, in bytes.
const FILE_HEADER: usize = 24;
const RECORD_HEADER: usize = 16;
/// The capture's magic number as QEMU writes it (microsecond times, in
/// the host's byte order, little-endian here).
const MAGIC: u32 = 0xa1b2_c3d4;
const ETHERNET_HEADER: usize = 14;
const TCP: u8 = 6;

/// A run of sequence numbers a connection skipped: the guest sent bytes
/// from `after` on before any from `from`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gap {
    /// The guest's port of the connection.
    pub port: u16,
    /// Where the bytes already on the wire ended.
    pub from: u32,
    /// Where the next segment on the wire started, past `from`.
    pub to: u32,
}

/// One TCP segment with data, as the capture has it.
struct Segment {
    source: [u8; 4],
    ports: (u16, u16),
    sequence: u32,
    length: u32,
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The TCP segment with data that `frame` carries, if it does.
fn segment(frame: &[u8]) -> Option<Segment> {
    if frame.get(12..14)? != [0x08, 0x00] || *frame.get(ETHERNET_HEADER + 9)? != TCP {
        return None;
    }
    let ip_header = usize::from(frame.get(ETHERNET_HEADER)? & 0x0f) * 4;
    let ip_length = usize::from(u16_at(frame, ETHERNET_HEADER + 2)?);
    let tcp = ETHERNET_HEADER + ip_header;
    let tcp_header = usize::from(frame.get(tcp + 12)? >> 4) * 4;
    let length = ip_length.checked_sub(ip_header + tcp_header)?;
    (length > 0).then_some(())?;
    Some(Segment {
        source: frame
            .get(ETHERNET_HEADER + 12..ETHERNET_HEADER + 16)?
            .try_into()
            .ok()?,
        ports: (u16_at(frame, tcp)?, u16_at(frame, tcp + 2)?),
        sequence: u32_at(frame, tcp + 4)?,
        length: u32::try_from(length).ok()?,
    })
}

/// The frames of a capture, in order.
fn frames(capture: &[u8]) -> Result<Vec<&[u8]>> {
    let magic = capture
        .get(..4)
        .map(|m| u32::from_le_bytes([m[0], m[1], m[2], m[3]]));
    ensure!(magic == Some(MAGIC), "not a pcap capture QEMU wrote");
    let mut frames = Vec::new();
    let mut at = FILE_HEADER;
    // A record cut short (QEMU still writing) ends the list.
    while let Some(record) = capture.get(at..at + RECORD_HEADER) {
        let length = u32::from_le_bytes([record[8], record[9], record[10], record[11]]) as usize;
        let Some(frame) = capture.get(at + RECORD_HEADER..at + RECORD_HEADER + length) else {
            break;
        };
        frames.push(frame);
        at += RECORD_HEADER + length;
    }
    Ok(frames)
}

/// Every run of bytes that a TCP connection from `source` skipped on the
/// wire: a segment that starts past every byte sent before it on its
/// connection. Sending a segment again (a retransmission) is no gap; a
/// frame the guest made and lost before the card took it is.
pub fn gaps(capture: &[u8], source: [u8; 4]) -> Result<Vec<Gap>> {
    let mut sent_up_to: HashMap<(u16, u16), u32> = HashMap::new();
    let mut gaps = Vec::new();
    for segment in frames(capture)?.into_iter().filter_map(segment) {
        if segment.source != source {
            continue;
        }
        let end = segment.sequence.wrapping_add(segment.length);
        let Some(up_to) = sent_up_to.get_mut(&segment.ports) else {
            sent_up_to.insert(segment.ports, end);
            continue;
        };
        // Sequence numbers wrap: compared by their difference.
        let ahead = segment.sequence.wrapping_sub(*up_to) as i32;
        if ahead > 0 {
            gaps.push(Gap {
                port: segment.ports.0,
                from: *up_to,
                to: segment.sequence,
            });
        }
        if end.wrapping_sub(*up_to) as i32 > 0 {
            *up_to = end;
        }
    }
    Ok(gaps)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUEST: [u8; 4] = [10, 0, 2, 15];
    const HOST: [u8; 4] = [10, 0, 2, 2];

    /// A frame with a TCP segment of `length` bytes of data.
    fn frame(source: [u8; 4], sequence: u32, length: usize) -> Vec<u8> {
        let mut frame = vec![0u8; ETHERNET_HEADER + 20 + 20 + length];
        frame[12..14].copy_from_slice(&[0x08, 0x00]);
        let ip = ETHERNET_HEADER;
        frame[ip] = 0x45;
        let total = u16::try_from(40 + length).expect("a short frame");
        frame[ip + 2..ip + 4].copy_from_slice(&total.to_be_bytes());
        frame[ip + 9] = TCP;
        frame[ip + 12..ip + 16].copy_from_slice(&source);
        let tcp = ip + 20;
        frame[tcp..tcp + 2].copy_from_slice(&7u16.to_be_bytes());
        frame[tcp + 2..tcp + 4].copy_from_slice(&40000u16.to_be_bytes());
        frame[tcp + 4..tcp + 8].copy_from_slice(&sequence.to_be_bytes());
        frame[tcp + 12] = 5 << 4;
        frame
    }

    fn capture(frames: &[Vec<u8>]) -> Vec<u8> {
        let mut capture = MAGIC.to_le_bytes().to_vec();
        capture.resize(FILE_HEADER, 0);
        for frame in frames {
            let mut record = [0u8; RECORD_HEADER];
            let length = u32::try_from(frame.len())
                .expect("a short frame")
                .to_le_bytes();
            record[8..12].copy_from_slice(&length);
            record[12..16].copy_from_slice(&length);
            capture.extend_from_slice(&record);
            capture.extend_from_slice(frame);
        }
        capture
    }

    #[test]
    fn segments_in_order_and_sent_again_leave_no_gap() {
        let frames = [
            frame(GUEST, 1000, 100),
            frame(GUEST, 1100, 100),
            frame(GUEST, 1000, 100),
            frame(GUEST, 1200, 50),
            frame(HOST, 9000, 10),
        ];
        assert_eq!(gaps(&capture(&frames), GUEST).expect("a capture"), []);
    }

    #[test]
    fn a_segment_lost_before_the_wire_is_a_gap() {
        let frames = [
            frame(GUEST, 1000, 100),
            frame(GUEST, 1300, 100),
            frame(GUEST, 1100, 200),
        ];
        let found = gaps(&capture(&frames), GUEST).expect("a capture");
        assert_eq!(
            found,
            [Gap {
                port: 7,
                from: 1100,
                to: 1300
            }]
        );
    }

    #[test]
    fn sequence_numbers_wrap() {
        let frames = [frame(GUEST, u32::MAX - 49, 100), frame(GUEST, 50, 100)];
        assert_eq!(gaps(&capture(&frames), GUEST).expect("a capture"), []);
    }

    #[test]
    fn a_record_cut_short_ends_the_capture() {
        let mut bytes = capture(&[frame(GUEST, 1000, 100), frame(GUEST, 1300, 100)]);
        bytes.truncate(bytes.len() - 10);
        assert_eq!(gaps(&bytes, GUEST).expect("a capture"), []);
    }
}
