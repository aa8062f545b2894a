extern crate std;

use std::vec::Vec;

use super::*;

/// Bytes that are no pattern a wrong sum could agree with by chance.
fn noise(length: usize) -> Vec<u8> {
    let mut state: u32 = 0x1234_5678;
    (0..length)
        .map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            state.to_be_bytes()[1]
        })
        .collect()
}

/// An Ethernet frame of an IPv4 packet of `protocol` from 10.0.2.2 to
/// 10.0.2.15 with `payload`, its checksums 0.
fn frame(protocol: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::new();
    frame.extend_from_slice(&[0x52, 0x54, 0, 0x12, 0x34, 0x56]);
    frame.extend_from_slice(&[0x52, 0x55, 10, 0, 2, 2]);
    frame.extend_from_slice(&ETHERTYPE_IPV4);
    let total = u16::try_from(IPV4_HEADER + payload.len()).unwrap_or(u16::MAX);
    frame.extend_from_slice(&[0x45, 0]);
    frame.extend_from_slice(&total.to_be_bytes());
    frame.extend_from_slice(&[0, 1, 0x40, 0, 64, protocol, 0, 0]);
    frame.extend_from_slice(&[10, 0, 2, 2, 10, 0, 2, 15]);
    frame.extend_from_slice(payload);
    frame
}

#[test]
fn the_wide_sum_is_the_sum_of_16_bit_words_at_every_alignment() {
    let data = noise(1600);
    for start in 0..16 {
        for length in [0, 1, 2, 7, 8, 9, 63, 64, 65, 1460, 1500] {
            let piece = &data[start..start + length];
            assert_eq!(
                sum(piece),
                sum_pairs(piece),
                "start {start}, length {length}"
            );
        }
    }
}

#[test]
fn carries_out_of_every_word_of_the_unrolled_sum_are_kept() {
    // Every word all ones: each addition of the four-word steps carries.
    let data = [0xffu8; 1600];
    for start in 0..8 {
        for length in [32, 40, 1456, 1500] {
            let piece = &data[start..start + length];
            assert_eq!(sum(piece), 0xffff, "start {start}, length {length}");
            assert_eq!(sum(piece), sum_pairs(piece));
        }
    }
}

#[test]
fn rfc_1071_s_example_sums_as_it_says() {
    // RFC 1071, 3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
    assert_eq!(
        sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
        0xddf2
    );
}

#[test]
fn filled_checksums_hold_and_one_changed_byte_breaks_them() {
    for protocol in [ICMP, TCP, UDP] {
        let mut packet = frame(protocol, &noise(1000));
        assert!(!checksums_hold(&packet) || protocol == UDP);
        assert!(fill_checksums(&mut packet));
        assert!(checksums_hold(&packet), "protocol {protocol}");
        let last = packet.len() - 1;
        packet[last] ^= 0x40;
        assert!(!checksums_hold(&packet), "protocol {protocol}");
    }
}

#[test]
fn a_known_ipv4_header_checksum_is_computed() {
    // The header of Wikipedia's IPv4 checksum example: b861.
    let mut packet = std::vec![0u8; ETHERNET_HEADER];
    packet[12..14].copy_from_slice(&ETHERTYPE_IPV4);
    packet.extend_from_slice(&[
        0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0, 0, 0xc0, 0xa8, 0x00, 0x01,
        0xc0, 0xa8, 0x00, 0xc7,
    ]);
    packet.resize(ETHERNET_HEADER + 0x73, 0);
    fill_checksums(&mut packet);
    assert_eq!(&packet[24..26], &[0xb8, 0x61]);
}

#[test]
fn short_or_lying_frames_fail_and_other_frames_pass() {
    let whole = frame(TCP, &noise(40));
    assert!(!checksums_hold(&whole[..30]));
    let mut longer_than_it_is = whole.clone();
    longer_than_it_is[17] = 0xff;
    assert!(!checksums_hold(&longer_than_it_is));
    let mut arp = std::vec![0u8; 42];
    arp[12..14].copy_from_slice(&ETHERTYPE_ARP);
    assert!(checksums_hold(&arp));
    assert!(!checksums_hold(&arp[..10]));
}

#[test]
fn frames_to_itself_are_to_its_mac_or_ask_for_its_own_address() {
    let mac = [0x52, 0x54, 0, 0x12, 0x34, 0x56];
    assert!(is_for_itself(&frame(TCP, &[]), mac));
    let mut request = std::vec![0xffu8; 42];
    request[12..14].copy_from_slice(&ETHERTYPE_ARP);
    request[20..22].copy_from_slice(&[0, 1]);
    request[28..32].copy_from_slice(&[10, 0, 2, 15]);
    request[38..42].copy_from_slice(&[10, 0, 2, 15]);
    assert!(is_for_itself(&request, mac));
    request[41] = 2;
    assert!(!is_for_itself(&request, mac));
}

/// `length` bytes of `buffer` from `offset` past an 8-byte boundary.
fn placed(buffer: &mut [u8], offset: usize, length: usize) -> &mut [u8] {
    let start = (offset + 8 - buffer.as_ptr().addr() % 8) % 8;
    &mut buffer[start..start + length]
}

#[test]
fn a_copy_sums_the_frame_past_its_header_at_every_placement() {
    let data = noise(1600);
    let mut from_buffer = std::vec![0u8; 1700];
    let mut into_buffer = std::vec![0u8; 1700];
    for from_offset in 0..8 {
        for into_offset in [0, 2, 5] {
            for length in [0, 1, 13, 14, 15, 16, 22, 77, 78, 142, 1510, 1514] {
                let from = placed(&mut from_buffer, from_offset, length);
                from.copy_from_slice(&data[..length]);
                let from = &*from;
                let into = placed(&mut into_buffer, into_offset, length);
                into.fill(0);
                let (copied, summed) = copy_and_sum(into, from).expect("room");
                assert_eq!(copied, length);
                assert_eq!(into, &data[..length]);
                let expected = sum_pairs(&data[ETHERNET_HEADER.min(length)..length]);
                // 0 and 0xffff are the two forms of ones'-complement zero.
                let zero = [0, 0xffff];
                assert!(
                    summed == expected || zero.contains(&summed) && zero.contains(&expected),
                    "{from_offset} {into_offset} {length}: {summed:#x}, not {expected:#x}"
                );
            }
        }
    }
}

#[test]
fn a_copy_into_too_little_room_copies_nothing() {
    let mut into = [0u8; 10];
    assert_eq!(copy_and_sum(&mut into, &noise(20)), None);
    assert_eq!(into, [0u8; 10]);
}

/// Whether `frame` passes, checked as it is and with the sum a copy
/// takes — which must agree.
fn passes(frame: &[u8]) -> bool {
    let mut into = std::vec![0u8; frame.len()];
    let (_, past_header) = copy_and_sum(&mut into, frame).expect("room");
    let plain = checksums_hold(frame);
    assert_eq!(checksums_hold_summed(frame, past_header), plain);
    // Placed as the driver places frames, and summed as it copies them.
    let mut words = Vec::new();
    let at = placed_copy(&mut words, 2, frame);
    let placed = &zerocopy::IntoBytes::as_bytes(words.as_slice())[at];
    let mut into_words = Vec::new();
    let into_at = placed_copy(&mut into_words, 2, frame);
    let into = &mut zerocopy::IntoBytes::as_mut_bytes(into_words.as_mut_slice())[into_at];
    let (_, past_header) = copy_and_sum(into, placed).expect("room");
    assert_eq!(checksums_hold_summed(placed, past_header), plain);
    plain
}

#[test]
fn a_summed_check_drops_every_corrupted_segment_as_the_plain_one() {
    for protocol in [ICMP, TCP, UDP] {
        for length in [20, 21, 28, 1456] {
            let mut packet = frame(protocol, &noise(length));
            fill_checksums(&mut packet);
            assert!(passes(&packet), "protocol {protocol}, length {length}");
            for at in [
                ETHERNET_HEADER,
                16,
                20,
                23,
                25,
                26,
                33,
                34,
                40,
                51,
                packet.len() - 1,
            ] {
                let mut corrupted = packet.clone();
                corrupted[at] ^= 0x21;
                assert!(!passes(&corrupted), "protocol {protocol}, byte {at}");
            }
        }
    }
}

#[test]
fn a_segment_with_a_wrong_sum_given_is_dropped() {
    let mut segment = frame(TCP, &noise(1456));
    fill_checksums(&mut segment);
    let right = sum(&segment[ETHERNET_HEADER..]);
    assert!(checksums_hold_summed(&segment, right));
    assert!(!checksums_hold_summed(&segment, add(right, 1)));
}

#[test]
fn a_padded_frame_is_checked_by_its_packet_alone() {
    let mut segment = frame(TCP, &noise(20));
    fill_checksums(&mut segment);
    segment.resize(60, 0x77);
    assert!(passes(&segment));
    segment[ETHERNET_HEADER + IPV4_HEADER + 19] ^= 1;
    assert!(!passes(&segment));
}

/// A frame of a TCP segment from port 8000 to 7 with `data` from
/// `sequence` on, its flags `flags` and window `window`.
fn tcp_frame(sequence: u32, flags: u8, window: u16, data: &[u8]) -> Vec<u8> {
    let mut segment = Vec::new();
    segment.extend_from_slice(&8000u16.to_be_bytes());
    segment.extend_from_slice(&7u16.to_be_bytes());
    segment.extend_from_slice(&sequence.to_be_bytes());
    segment.extend_from_slice(&99u32.to_be_bytes());
    segment.extend_from_slice(&[5 << 4, flags]);
    segment.extend_from_slice(&window.to_be_bytes());
    segment.extend_from_slice(&[0; 4]);
    segment.extend_from_slice(data);
    let mut frame = frame(TCP, &segment);
    fill_checksums(&mut frame);
    frame
}

#[test]
fn a_segment_whose_data_follows_on_merges_and_its_headers_say_so() {
    let data = noise(3000);
    let mut merged = tcp_frame(1000, TCP_ACK, 500, &data[..1456]);
    let next = tcp_frame(2456, TCP_ACK | TCP_PSH, 700, &data[1456..2912]);
    let mut segment = segment(&merged).expect("a segment");
    assert_eq!(segment.header, 54);
    let length = merged.len();
    assert_eq!(merge(&mut merged, &mut segment, length, &next), Some(1456));
    merged.extend_from_slice(&next[54..]);
    // What smoltcp would see: one segment of both payloads, PSH and the
    // later window, its checksums made again.
    fill_checksums(&mut merged);
    assert_eq!(
        merged,
        tcp_frame(1000, TCP_ACK | TCP_PSH, 700, &data[..2912])
    );
    let third = tcp_frame(3912, TCP_ACK, 700, &data[2912..]);
    let length = merged.len();
    assert_eq!(merge(&mut merged, &mut segment, length, &third), Some(88));
}

#[test]
fn segments_that_do_not_follow_on_or_differ_do_not_merge() {
    let first = tcp_frame(1000, TCP_ACK, 500, &noise(100));
    let mut segment = segment(&first).expect("a segment");
    let mut other_port = tcp_frame(1100, TCP_ACK, 500, &noise(100));
    other_port[36] ^= 1;
    let mut other_ack = tcp_frame(1100, TCP_ACK, 500, &noise(100));
    other_ack[45] ^= 1;
    for next in [
        tcp_frame(1101, TCP_ACK, 500, &noise(100)),
        tcp_frame(1100, TCP_ACK | 0x01, 500, &noise(100)),
        tcp_frame(1100, TCP_ACK, 500, &[]),
        other_port,
        other_ack,
        frame(UDP, &noise(100)),
    ] {
        let mut merged = first.clone();
        let before = segment;
        assert_eq!(merge(&mut merged, &mut segment, first.len(), &next), None);
        assert_eq!(merged, first);
        assert_eq!(segment, before);
        assert_eq!(merges_placed(&first, &next, 2), None);
    }
}

#[test]
fn only_data_with_ack_and_psh_is_a_segment_to_merge_into() {
    assert!(segment(&tcp_frame(1, TCP_ACK | TCP_PSH, 1, &[1])).is_some());
    for flags in [
        0,
        TCP_ACK | 0x01,
        TCP_ACK | 0x02,
        TCP_ACK | 0x04,
        TCP_ACK | 0x20,
    ] {
        assert_eq!(
            segment(&tcp_frame(1, flags, 1, &[1])),
            None,
            "flags {flags:#x}"
        );
    }
    assert_eq!(segment(&tcp_frame(1, TCP_ACK, 1, &[])), None);
    let mut padded = tcp_frame(1, TCP_ACK, 1, &[1]);
    padded.push(0);
    assert_eq!(segment(&padded), None);
}

/// `frame` copied `offset` bytes past an 8-byte boundary, with room.
fn placed_copy(storage: &mut Vec<u64>, offset: usize, frame: &[u8]) -> core::ops::Range<usize> {
    *storage = std::vec![0; (offset + frame.len()).div_ceil(8) + 1];
    let bytes: &mut [u8] = zerocopy::IntoBytes::as_mut_bytes(storage.as_mut_slice());
    bytes[offset..offset + frame.len()].copy_from_slice(frame);
    offset..offset + frame.len()
}

/// Whether `next` merges into `first`, both placed `offset` bytes past
/// an 8-byte boundary.
fn merges_placed(first: &[u8], next: &[u8], offset: usize) -> Option<usize> {
    let (mut first_words, mut next_words) = (Vec::new(), Vec::new());
    let first_at = placed_copy(&mut first_words, offset, first);
    let next_at = placed_copy(&mut next_words, offset, next);
    let merged = &mut zerocopy::IntoBytes::as_mut_bytes(first_words.as_mut_slice())[first_at];
    let next = &zerocopy::IntoBytes::as_bytes(next_words.as_slice())[next_at];
    let mut segment = segment(merged)?;
    merge(merged, &mut segment, first.len(), next)
}

#[test]
fn headers_compared_by_words_agree_with_the_byte_ranges() {
    let data = noise(3000);
    let first = tcp_frame(1000, TCP_ACK, 500, &data[..1456]);
    let next = tcp_frame(2456, TCP_ACK | TCP_PSH, 700, &data[1456..2912]);
    // Placed as the driver places frames, the words decide.
    let mut words = Vec::new();
    let at = placed_copy(&mut words, 2, &first);
    let placed = &zerocopy::IntoBytes::as_bytes(words.as_slice())[at];
    let mut next_words = Vec::new();
    let next_at = placed_copy(&mut next_words, 2, &next);
    let next_placed = &zerocopy::IntoBytes::as_bytes(next_words.as_slice())[next_at];
    assert_eq!(same_by_words(&placed[..54], next_placed), Some(true));
    assert_eq!(merges_placed(&first, &next, 2), Some(1456));
    for byte in 0..54 {
        for bit in [0x01, 0x80] {
            let mut changed = next.clone();
            changed[byte] ^= bit;
            assert_eq!(
                merges_placed(&first, &changed, 2),
                merges_placed(&first, &changed, 3),
                "byte {byte}, bit {bit:#x}"
            );
        }
    }
}

#[test]
fn tcp_options_are_compared_to_their_last_byte_by_words() {
    let data = noise(3000);
    let with_options = |sequence: u32, data: &[u8], option: u8| {
        let mut segment = Vec::new();
        segment.extend_from_slice(&8000u16.to_be_bytes());
        segment.extend_from_slice(&7u16.to_be_bytes());
        segment.extend_from_slice(&sequence.to_be_bytes());
        segment.extend_from_slice(&99u32.to_be_bytes());
        segment.extend_from_slice(&[8 << 4, TCP_ACK, 1, 0, 0, 0, 0, 0]);
        segment.extend_from_slice(&[1, 1, 8, 10, 0, 0, 0, option, 0, 0, 0, 0]);
        segment.extend_from_slice(data);
        let mut frame = frame(TCP, &segment);
        fill_checksums(&mut frame);
        frame
    };
    let first = with_options(1000, &data[..1444], 1);
    assert_eq!(segment(&first).map(|segment| segment.header), Some(66));
    let same = with_options(2444, &data[1444..2888], 1);
    assert_eq!(merges_placed(&first, &same, 2), Some(1444));
    for option in [0, 2, 0x81] {
        let other = with_options(2444, &data[1444..2888], option);
        assert_eq!(merges_placed(&first, &other, 2), None, "option {option}");
    }
    let mut last_differs = same.clone();
    last_differs[65] ^= 1;
    assert_eq!(merges_placed(&first, &last_differs, 2), None);
}

/// [`append_following`] of `next` after `first`, both placed `offset`
/// bytes past an 8-byte boundary (as the driver places frames): what it
/// did, the first frame's headers after, and the bytes it put in a room
/// where `first`'s data ends.
fn appended_placed(first: &[u8], next: &[u8], offset: usize) -> (Appended, Vec<u8>, Vec<u8>) {
    let (mut first_words, mut next_words) = (Vec::new(), Vec::new());
    let mut with_room = first.to_vec();
    with_room.resize(first.len() + 1600, 0);
    let first_at = placed_copy(&mut first_words, offset, &with_room);
    let next_at = placed_copy(&mut next_words, offset, next);
    let merged = &mut zerocopy::IntoBytes::as_mut_bytes(first_words.as_mut_slice())[first_at];
    let next = &zerocopy::IntoBytes::as_bytes(next_words.as_slice())[next_at];
    let (mut segment, length) = headers_segment(merged).expect("a segment");
    assert_eq!(length, first.len());
    let (headers, room) = merged.split_at_mut(length);
    let headers = &mut headers[..segment.header];
    let appended = append_following(headers, &mut segment, length, next, room);
    (appended, headers.to_vec(), room.to_vec())
}

#[test]
fn a_following_segment_is_appended_where_the_data_ends_and_checked() {
    let data = noise(3000);
    let first = tcp_frame(1000, TCP_ACK, 500, &data[..1456]);
    let next = tcp_frame(2456, TCP_ACK | TCP_PSH, 700, &data[1456..2912]);
    let mut expected = tcp_frame(1000, TCP_ACK | TCP_PSH, 700, &data[..2912]);
    for offset in [2, 3, 0] {
        let (appended, headers, room) = appended_placed(&first, &next, offset);
        assert_eq!(appended, Appended::Data(1456), "offset {offset}");
        assert_eq!(room[..1456], data[1456..2912]);
        // The headers say so, as `merge` makes them (checksums aside).
        let mut merged = headers;
        merged.extend_from_slice(&data[..2912]);
        fill_checksums(&mut merged);
        fill_checksums(&mut expected);
        assert_eq!(merged, expected, "offset {offset}");
    }
    // A bit flipped in the data or the headers' checksummed fields, the
    // segment still following on: dropped, the headers as they were.
    for byte in [24, 50, 60, 1000, next.len() - 1] {
        let mut corrupted = next.clone();
        corrupted[byte] ^= 0x10;
        for offset in [2, 3] {
            let (appended, headers, _) = appended_placed(&first, &corrupted, offset);
            assert_eq!(appended, Appended::Dropped, "byte {byte}, offset {offset}");
            assert_eq!(headers, first[..54], "byte {byte}, offset {offset}");
        }
    }
}

#[test]
fn a_segment_that_does_not_follow_or_fit_is_left_as_it_is() {
    let data = noise(3000);
    let first = tcp_frame(1000, TCP_ACK, 500, &data[..1456]);
    let mut other_port = tcp_frame(2456, TCP_ACK, 500, &data[1456..2912]);
    other_port[36] ^= 1;
    for next in [
        tcp_frame(2457, TCP_ACK, 500, &data[1456..2912]),
        tcp_frame(2456, TCP_ACK | 0x01, 500, &data[1456..2912]),
        other_port,
        frame(UDP, &noise(100)),
    ] {
        let (appended, headers, room) = appended_placed(&first, &next, 2);
        assert_eq!(appended, Appended::NotFollowing);
        assert_eq!(headers, first[..54]);
        assert!(room.iter().all(|&byte| byte == 0), "nothing copied");
    }
    // Following on, but more data than the room holds.
    let next = tcp_frame(2456, TCP_ACK, 500, &data[1456..2912]);
    let mut words = Vec::new();
    let at = placed_copy(&mut words, 2, &first);
    let merged = &mut zerocopy::IntoBytes::as_mut_bytes(words.as_mut_slice())[at];
    let (mut segment, length) = headers_segment(merged).expect("a segment");
    let mut room = [0u8; 1000];
    assert_eq!(
        append_following(&mut merged[..54], &mut segment, length, &next, &mut room),
        Appended::NotFollowing
    );
}

#[test]
fn a_segment_is_known_from_its_headers_alone() {
    let first = tcp_frame(1000, TCP_ACK, 500, &noise(1456));
    let whole = segment(&first).expect("a segment");
    assert_eq!(headers_segment(&first[..54]), Some((whole, first.len())));
    assert_eq!(headers_segment(&first[..40]), None);
    let mut fragment = first.clone();
    fragment[20] |= 0x20;
    assert_eq!(headers_segment(&fragment[..54]), None);
}

#[test]
fn a_fold_keeps_the_sum_and_its_zeros() {
    for wide in [
        0,
        1,
        0xffff,
        0x1_0000,
        0x1_fffe,
        0xffff_ffff,
        0x1_0000_0000,
        u64::MAX,
        u64::MAX - 1,
        0x8000_0000_0000_ffff,
    ] {
        let expected = match wide % 0xffff {
            0 if wide != 0 => 0xffff,
            rest => rest,
        };
        assert_eq!(u64::from(fold(wide)), expected, "{wide:#x}");
    }
}

#[test]
fn a_connection_request_is_a_syn_without_ack_and_names_its_port() {
    let mut header = std::vec![0u8; 20];
    header[2..4].copy_from_slice(&80u16.to_be_bytes());
    header[12] = 5 << 4;
    header[13] = TCP_SYN;
    let request = ConnectionRequest {
        port: 80,
        peer: ([10, 0, 2, 2], [0x12, 0x34]),
    };
    header[..2].copy_from_slice(&[0x12, 0x34]);
    assert_eq!(connection_request(&frame(TCP, &header)), Some(request));
    header[13] = TCP_SYN | TCP_ACK;
    assert_eq!(connection_request(&frame(TCP, &header)), None);
    header[13] = TCP_ACK;
    assert_eq!(connection_request(&frame(TCP, &header)), None);
    header[13] = TCP_SYN;
    assert_eq!(connection_request(&frame(UDP, &header)), None);
    // Cut short before the port, or an IPv4 header shorter than any.
    assert_eq!(connection_request(&frame(TCP, &header)[..35]), None);
    let mut short_header = frame(TCP, &header);
    short_header[ETHERNET_HEADER] = 0x44;
    assert_eq!(connection_request(&short_header), None);
}
