//! The checksums of the Ethernet frames the network stack (`components/netstack`) receives and sends, summed eight bytes at a time — checked on the way in (summed as the card's driver, `virtio-hal`, copies the frame out), filled in on the way out, in place of `smoltcp`'s two bytes at a time — which TCP segments merge into one (the receive offload the card's driver does for the stack, copying and checking each following segment's data as it merges it), and which frames the stack sends itself.
//!
//! The Internet checksum (RFC 1071) is a ones'-complement sum of 16-bit
//! words; such a sum is the same whatever the width of the words added
//! and their byte order, once folded back to 16 bits and put in order.
//! So the aligned middle of the data is added as native 64-bit words
//! (one load each) with the carries folded back in, and only the few
//! bytes before and after it two at a time.

#![no_std]
#![deny(unsafe_code)]

#[cfg(test)]
mod tests;

use core::sync::atomic::{AtomicU64, Ordering};

use zerocopy::FromBytes;

/// An Ethernet header: destination, source, EtherType.
const ETHERNET_HEADER: usize = 14;
const ETHERTYPE_IPV4: [u8; 2] = [0x08, 0x00];
const ETHERTYPE_ARP: [u8; 2] = [0x08, 0x06];
/// IP protocol numbers.
const ICMP: u8 = 1;
const TCP: u8 = 6;
const UDP: u8 = 17;
/// The first 8-byte boundary of a frame placed as the card's driver
/// places it, 2 bytes past one: where word-by-word work on it starts.
const WORDS_FROM: usize = 6;
/// The shortest IPv4 header.
const IPV4_HEADER: usize = 20;
/// Where each protocol keeps its checksum, from the start of its header.
const IPV4_CHECKSUM: usize = 10;
const ICMP_CHECKSUM: usize = 2;
const TCP_CHECKSUM: usize = 16;
const UDP_CHECKSUM: usize = 6;

/// Adds two ones'-complement sums.
fn add(a: u16, b: u16) -> u16 {
    let sum = u32::from(a) + u32::from(b);
    // At most 0xffff: two 16-bit halves of at most 0x1fffe.
    u16::try_from((sum & 0xffff) + (sum >> 16)).unwrap_or(u16::MAX)
}

/// Folds a 64-bit ones'-complement sum down to 16 bits.
fn fold(sum: u64) -> u16 {
    // Four steps, no loop (which the compiler keeps as one): below 2^33,
    // then 2^18, then 0x10002, then at most 0xffff.
    let sum = (sum & 0xffff_ffff) + (sum >> 32);
    let sum = (sum & 0xffff) + (sum >> 16);
    let sum = (sum & 0xffff) + (sum >> 16);
    u16::try_from((sum & 0xffff) + (sum >> 16)).unwrap_or(u16::MAX)
}

/// The sum of `data` as big-endian 16-bit words, two bytes at a time (a
/// last odd byte is the high byte of a word).
fn sum_pairs(data: &[u8]) -> u16 {
    let mut pairs = data.chunks_exact(2);
    let mut sum: u64 = 0;
    for pair in &mut pairs {
        sum += u64::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    if let [last] = pairs.remainder() {
        sum += u64::from(*last) << 8;
    }
    fold(sum)
}

/// Adds `word` to a 64-bit ones'-complement sum, its carry folded back in.
fn add_word(sum: u64, word: u64) -> u64 {
    let (total, carry) = sum.overflowing_add(word);
    total + u64::from(carry)
}

/// The 64-bit ones'-complement sum of `words`, four a step: a load and
/// three instructions a word, the loop's own few shared by four.
fn sum_words(words: &[u64]) -> u64 {
    let mut quads = words.chunks_exact(4);
    let mut wide: u64 = 0;
    for quad in &mut quads {
        if let &[a, b, c, d] = quad {
            wide = add_word(add_word(add_word(add_word(wide, a), b), c), d);
        }
    }
    quads
        .remainder()
        .iter()
        .fold(wide, |sum, &word| add_word(sum, word))
}

/// The bytes of `data` (at most 8) as a native word whose bytes from
/// `lane` on (wrapping round) they are, the others zero: the part of an
/// aligned word that `data` holds, placed as it is in memory.
fn partial_word(data: &[u8], lane: usize) -> u64 {
    let mut little_endian: u64 = 0;
    for (index, &byte) in data.iter().enumerate() {
        little_endian |= u64::from(byte) << (8 * ((lane + index) % 8));
    }
    u64::from_le(little_endian)
}

/// The 64-bit ones'-complement sum of `data` as the native words of
/// memory it lies in (the bytes before and after its aligned middle
/// in their places in their words, the rest zero), not folded: one fold
/// for the whole, none for its ends.
fn wide_sum(data: &[u8]) -> u64 {
    let head = data.as_ptr().align_offset(8).min(data.len());
    let (start, rest) = data.split_at(head);
    let (aligned, end) = rest.split_at(rest.len() / 8 * 8);
    let Ok(words) = <[u64]>::ref_from_bytes(aligned) else {
        return partial_sum(data);
    };
    let wide = add_word(sum_words(words), partial_word(start, 8 - head));
    add_word(wide, partial_word(end, 0))
}

/// [`wide_sum`] of data whose middle could not be taken as words
/// (which never happens to 8-byte-aligned bytes): summed two bytes at a
/// time, as [`in_order`] puts it back.
fn partial_sum(data: &[u8]) -> u64 {
    let sum = sum_pairs(data);
    let sum = if data.as_ptr().addr() % 2 == 1 {
        sum.swap_bytes()
    } else {
        sum
    };
    u64::from(sum.to_be())
}

/// A sum of native words ([`wide_sum`]) of data starting at `address`
/// as the sum of its big-endian 16-bit words: folded, put in order, and
/// swapped after an odd start (every 16-bit word of the data then
/// straddles two of memory's).
fn in_order(wide: u64, address: usize) -> u16 {
    let sum = u16::from_be(fold(wide));
    if address % 2 == 1 {
        sum.swap_bytes()
    } else {
        sum
    }
}

/// The ones'-complement sum of `data` as big-endian 16-bit words (not
/// complemented): its 8-byte-aligned middle a word of eight at a time,
/// the bytes around it as the parts of words they are.
pub fn sum(data: &[u8]) -> u16 {
    in_order(wide_sum(data), data.as_ptr().addr())
}

/// Stores `value` in `word` and adds it to the 64-bit ones'-complement
/// sum `wide`. A relaxed atomic store is a plain store (`sd`), but one
/// the compiler does not turn back into a call to `memcpy` — which would
/// leave the sum a loop of its own, loading every word again.
fn store_adding(word: &AtomicU64, value: u64, wide: u64) -> u64 {
    word.store(value, Ordering::Relaxed);
    add_word(wide, value)
}

/// Copies eight words and adds them to the 64-bit ones'-complement sum
/// `wide`, written out (the compiler unrolls no loop at `opt-level =
/// "s"`).
#[inline(always)]
fn copy_sum_octet(into: &[AtomicU64; 8], from: &[u64; 8], mut wide: u64) -> u64 {
    let [i0, i1, i2, i3, i4, i5, i6, i7] = into;
    let &[f0, f1, f2, f3, f4, f5, f6, f7] = from;
    wide = store_adding(i0, f0, wide);
    wide = store_adding(i1, f1, wide);
    wide = store_adding(i2, f2, wide);
    wide = store_adding(i3, f3, wide);
    wide = store_adding(i4, f4, wide);
    wide = store_adding(i5, f5, wide);
    wide = store_adding(i6, f6, wide);
    store_adding(i7, f7, wide)
}

/// Copies the 64-bit words of `from` into `into` and returns their
/// 64-bit ones'-complement sum: the checksum's loads are the copy's, so
/// summing costs three instructions a word more than copying — sixteen
/// words a step, then eight once, then one at a time.
fn copy_sum_words(into: &[AtomicU64], from: &[u64]) -> u64 {
    let (into_octets, into_rest) = into.as_chunks::<8>();
    let (from_octets, from_rest) = from.as_chunks::<8>();
    let (into_pairs, into_odd) = into_octets.as_chunks::<2>();
    let (from_pairs, from_odd) = from_octets.as_chunks::<2>();
    let mut wide: u64 = 0;
    for ([into_a, into_b], [from_a, from_b]) in into_pairs.iter().zip(from_pairs) {
        wide = copy_sum_octet(into_a, from_a, wide);
        wide = copy_sum_octet(into_b, from_b, wide);
    }
    for (into, from) in into_odd.iter().zip(from_odd) {
        wide = copy_sum_octet(into, from, wide);
    }
    for (word, &value) in into_rest.iter().zip(from_rest) {
        wide = store_adding(word, value, wide);
    }
    wide
}

/// Copies `from` into `into` (of the same length) when both start on an
/// 8-byte boundary and returns the 64-bit ones'-complement sum of `from`
/// ([`wide_sum`]), summed as it is copied; else copies nothing: `None`.
fn copy_sum_aligned(into: &mut [u8], from: &[u8]) -> Option<u64> {
    if into.len() != from.len() {
        return None;
    }
    let middle = from.len() / 8 * 8;
    let (into_words, into_end) = into.split_at_mut(middle);
    let (from_words, from_end) = from.split_at(middle);
    let into_words = <[AtomicU64]>::mut_from_bytes(into_words).ok()?;
    let from_words = <[u64]>::ref_from_bytes(from_words).ok()?;
    let wide = copy_sum_words(into_words, from_words);
    // No call to `memcpy` for the usual nothing (a frame of whole words).
    if !from_end.is_empty() {
        into_end.copy_from_slice(from_end);
    }
    Some(add_word(wide, partial_word(from_end, 0)))
}

/// Copies `from` into `into` (of the same length; else nothing is
/// copied and the sum is `None`) and returns the sum of `from` as
/// [`sum`] gives it, summed as it is copied when both start on an 8-byte
/// boundary, else after.
fn copy_and_sum_piece(into: &mut [u8], from: &[u8]) -> Option<u16> {
    if let Some(wide) = copy_sum_aligned(into, from) {
        return Some(in_order(wide, from.as_ptr().addr()));
    }
    if into.len() != from.len() {
        return None;
    }
    into.copy_from_slice(from);
    Some(sum(from))
}

/// [`copy_and_sum`] of a frame placed as the card's driver places it, in
/// both: 2 bytes past an 8-byte boundary. Its first 6 bytes are copied
/// by loads and stores in line, the rest by words as they are summed —
/// from [`WORDS_FROM`], so the first word summed holds the Ethernet
/// header's last 8 bytes, which are taken out of the sum again (adding
/// their complement). `None`, copying nothing, for a frame placed
/// otherwise or shorter than [`WORDS_FROM`] and a word.
fn copy_and_sum_placed(into: &mut [u8], from: &[u8]) -> Option<u16> {
    let (into_start, into_words) = into.split_at_mut_checked(WORDS_FROM)?;
    let (from_start, from_words) = from.split_at_checked(WORDS_FROM)?;
    let into_start = <&mut [u8; WORDS_FROM]>::try_from(into_start).ok()?;
    let from_start = <&[u8; WORDS_FROM]>::try_from(from_start).ok()?;
    let first = *<[u64]>::ref_from_bytes(from_words.get(..8)?)
        .ok()?
        .first()?;
    let wide = copy_sum_aligned(into_words, from_words)?;
    *into_start = *from_start;
    Some(in_order(add_word(wide, !first), 0))
}

/// Copies the frame `from` into `into` (as long or longer) and returns
/// its length and the sum of its bytes past the Ethernet header (what
/// [`checksums_hold_summed`] takes; a sum of 0 may come as `0xffff`, its
/// other form), summed in the copy's own loop when the frame is placed
/// alike in both, 2 bytes past an 8-byte boundary; `None`, copying nothing, when `into` is too short.
pub fn copy_and_sum(into: &mut [u8], from: &[u8]) -> Option<(usize, u16)> {
    let into = into.get_mut(..from.len())?;
    if let Some(sum) = copy_and_sum_placed(into, from) {
        return Some((from.len(), sum));
    }
    let header = ETHERNET_HEADER.min(from.len());
    let (into_header, into_rest) = into.split_at_mut(header);
    let (from_header, from_rest) = from.split_at(header);
    into_header.copy_from_slice(from_header);
    Some((from.len(), copy_and_sum_piece(into_rest, from_rest)?))
}

/// An IPv4 packet in a frame: where its header and payload are, and its
/// protocol; `None` for a frame that is not IPv4 or whose lengths do not
/// fit. `whole` is false for a fragment (its payload's checksum covers
/// more than it holds).
struct Ipv4 {
    header_end: usize,
    end: usize,
    protocol: u8,
    whole: bool,
}

fn ipv4(frame: &[u8]) -> Option<Ipv4> {
    if frame.get(12..14)? != ETHERTYPE_IPV4 {
        return None;
    }
    let header = frame.get(ETHERNET_HEADER..)?;
    let version_and_length = *header.first()?;
    let header_length = usize::from(version_and_length & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*header.get(2)?, *header.get(3)?]));
    if version_and_length >> 4 != 4 || header_length < IPV4_HEADER || total < header_length {
        return None;
    }
    let flags_and_offset = u16::from_be_bytes([*header.get(6)?, *header.get(7)?]);
    let end = ETHERNET_HEADER
        .checked_add(total)
        .filter(|&end| end <= frame.len())?;
    Some(Ipv4 {
        header_end: ETHERNET_HEADER + header_length,
        end,
        protocol: *header.get(9)?,
        // More fragments (0x2000) or a fragment offset.
        whole: flags_and_offset & 0x3fff == 0,
    })
}

/// Where the payload's checksum is, from its start, and whether the
/// addresses count (a pseudo-header), for the protocols summed here.
fn checksum_field(protocol: u8) -> Option<(usize, bool)> {
    match protocol {
        ICMP => Some((ICMP_CHECKSUM, false)),
        TCP => Some((TCP_CHECKSUM, true)),
        UDP => Some((UDP_CHECKSUM, true)),
        _ => None,
    }
}

/// The sum of a TCP or UDP payload's pseudo-header: the addresses, the
/// protocol and the payload's length.
fn pseudo_header(frame: &[u8], packet: &Ipv4) -> u16 {
    let addresses = frame
        .get(ETHERNET_HEADER + 12..ETHERNET_HEADER + 20)
        .map_or(0, sum_pairs);
    let length = (packet.end - packet.header_end) as u64;
    add(addresses, fold(u64::from(packet.protocol) + length))
}

/// The sum over a packet's payload that must come to `0xffff`: with its
/// pseudo-header if the protocol has one. `payload` is the payload's own
/// sum, if known.
fn payload_sum(frame: &[u8], packet: &Ipv4, with_addresses: bool, payload: Option<u16>) -> u16 {
    let payload = payload.unwrap_or_else(|| sum(&frame[packet.header_end..packet.end]));
    if with_addresses {
        add(pseudo_header(frame, packet), payload)
    } else {
        payload
    }
}

/// Whether a frame received may go to the stack: any frame but IPv4,
/// and IPv4 whose header checksum holds and, for a whole ICMP, TCP or UDP
/// packet, its payload's checksum too (a UDP checksum of 0 is none). A
/// frame shorter than its headers say fails.
pub fn checksums_hold(frame: &[u8]) -> bool {
    checks_pass(frame, None)
}

/// [`checksums_hold`], given `past_header`, the sum of the frame's bytes
/// past its Ethernet header (as [`copy_and_sum`] gives it): the payload of
/// a whole TCP or UDP packet that ends where the frame does is not summed
/// again. Its IPv4 header's sum, once it holds, is `0xffff`, a zero in
/// ones' complement, so `past_header` is the payload's sum but for which
/// of the two zeros it is — which the pseudo-header, never zero, makes
/// no difference to. (An ICMP payload has no pseudo-header: summed
/// again.)
pub fn checksums_hold_summed(frame: &[u8], past_header: u16) -> bool {
    checks_pass(frame, Some(past_header))
}

/// The bytes of a word that lie below or above its middle (byte `k` of
/// a word is bits `8k..8k + 8` here, little-endian).
const LOW_HALF: u64 = 0x0000_0000_ffff_ffff;
const HIGH_HALF: u64 = 0xffff_ffff_0000_0000;

/// [`checks_pass`] of a whole TCP or UDP packet with no IPv4 options that
/// fills a frame placed as the card's driver places it (2 bytes past an
/// 8-byte boundary), given `past_header` as a 64-bit sum of native words
/// from an even address ([`wide_sum`], not folded): its IPv4 header
/// (bytes 14–33) and addresses (26–33) are summed as the parts of three
/// aligned words they are, and the payload's check is one fold of it all.
/// (A fold is `0xffff` exactly for a sum that is a ones'-complement zero
/// but not 0, whatever the byte order; neither sum here is 0, as the
/// header's version and the pseudo-header's protocol are not.) `None` for
/// any other frame, which the general checks take.
fn placed_checks_pass(frame: &[u8], past_header: u64) -> Option<bool> {
    let total = usize::from(u16::from_be_bytes([*frame.get(16)?, *frame.get(17)?]));
    let protocol = *frame.get(ETHERNET_HEADER + 9)?;
    let (field, _) = checksum_field(protocol).filter(|_| protocol != ICMP)?;
    let whole =
        frame.get(ETHERNET_HEADER + 6)? & 0x3f == 0 && *frame.get(ETHERNET_HEADER + 7)? == 0;
    let payload = total.checked_sub(IPV4_HEADER)?;
    if frame.get(12..15)? != [0x08, 0x00, 0x45]
        || ETHERNET_HEADER + total != frame.len()
        || !whole
        || payload < field + 2
    {
        return None;
    }
    let checksum_at = ETHERNET_HEADER + IPV4_HEADER + field;
    if protocol == UDP && frame.get(checksum_at..checksum_at + 2)? == [0, 0] {
        return placed_header_holds(frame);
    }
    placed_sums_hold(frame, protocol, past_header)
}

/// Whether the IPv4 header's checksum holds in a frame placed as the
/// card's driver places it, with no IPv4 options: its bytes 14–33 summed
/// as the parts of three aligned words they are. `None` for a frame
/// placed otherwise.
fn placed_header_holds(frame: &[u8]) -> Option<bool> {
    let words = <[u64]>::ref_from_bytes(frame.get(WORDS_FROM..WORDS_FROM + 32)?).ok()?;
    let &[_, first, second, third] = words else {
        return None;
    };
    let header = add_word(add_word(first, second), third & u64::from_le(LOW_HALF));
    Some(fold(header) == 0xffff)
}

/// [`placed_checks_pass`]'s sums, of a frame whose headers it (or
/// [`append_following`]) found to be those of a whole IPv4 packet of
/// `protocol` with no options, filling the frame, placed as the driver
/// places it: the IPv4 header's checksum, then the payload's from
/// `past_header` and the pseudo-header's addresses (bytes 26–33).
fn placed_sums_hold(frame: &[u8], protocol: u8, past_header: u64) -> Option<bool> {
    let words = <[u64]>::ref_from_bytes(frame.get(WORDS_FROM..WORDS_FROM + 32)?).ok()?;
    let &[_, first, second, third] = words else {
        return None;
    };
    let header = add_word(add_word(first, second), third & u64::from_le(LOW_HALF));
    if fold(header) != 0xffff {
        return Some(false);
    }
    let payload = frame.len().checked_sub(ETHERNET_HEADER + IPV4_HEADER)?;
    let addresses = add_word(
        second & u64::from_le(HIGH_HALF),
        third & u64::from_le(LOW_HALF),
    );
    let length = u16::try_from(payload).ok()?;
    let protocol_and_length =
        u64::from(as_big_endian(u16::from(protocol))) + u64::from(as_big_endian(length));
    let pseudo = add_word(addresses, protocol_and_length);
    Some(fold(add_word(pseudo, past_header)) == 0xffff)
}

/// A 16-bit number as memory holds it big-endian, read as a native word.
fn as_big_endian(number: u16) -> u16 {
    number.to_be()
}

/// A ones'-complement sum in order ([`sum`]) as a sum of native words
/// from an even address ([`wide_sum`]).
fn as_wide(sum: u16) -> u64 {
    u64::from(as_big_endian(sum))
}

/// [`checksums_hold`], with the sum past the Ethernet header if known.
fn checks_pass(frame: &[u8], past_header: Option<u16>) -> bool {
    if let Some(pass) = past_header.and_then(|sum| placed_checks_pass(frame, as_wide(sum))) {
        return pass;
    }
    if frame.get(12..14) != Some(&ETHERTYPE_IPV4) {
        return frame.len() >= ETHERNET_HEADER;
    }
    let Some(packet) = ipv4(frame) else {
        return false;
    };
    if sum(&frame[ETHERNET_HEADER..packet.header_end]) != 0xffff {
        return false;
    }
    let Some((field, with_addresses)) = checksum_field(packet.protocol) else {
        return true;
    };
    if !packet.whole {
        return true;
    }
    let Some(checksum) = frame.get(packet.header_end + field..packet.header_end + field + 2) else {
        return false;
    };
    if packet.end < packet.header_end + field + 2 {
        return false;
    }
    if packet.protocol == UDP && checksum == [0, 0] {
        return true;
    }
    let payload = past_header.filter(|_| with_addresses && packet.end == frame.len());
    payload_sum(frame, &packet, with_addresses, payload) == 0xffff
}

/// Writes `value` at `at` in `frame`.
fn put(frame: &mut [u8], at: usize, value: u16) {
    if let Some(field) = frame.get_mut(at..at + 2) {
        field.copy_from_slice(&value.to_be_bytes());
    }
}

/// Fills in the checksums of a frame the stack made: the IPv4 header's
/// and, for a whole ICMP, TCP or UDP packet, its payload's. True when the
/// frame was such a packet and got both.
pub fn fill_checksums(frame: &mut [u8]) -> bool {
    let Some(packet) = ipv4(frame) else {
        return false;
    };
    put(frame, ETHERNET_HEADER + IPV4_CHECKSUM, 0);
    let header = !sum(&frame[ETHERNET_HEADER..packet.header_end]);
    put(frame, ETHERNET_HEADER + IPV4_CHECKSUM, header);
    let Some((field, with_addresses)) = checksum_field(packet.protocol) else {
        return false;
    };
    let at = packet.header_end + field;
    if !packet.whole || packet.end < at + 2 {
        return false;
    }
    put(frame, at, 0);
    let checksum = !payload_sum(frame, &packet, with_addresses, None);
    // A UDP checksum that comes to 0 is sent as its other form: 0 says
    // there is none.
    let checksum = if checksum == 0 && packet.protocol == UDP {
        0xffff
    } else {
        checksum
    };
    put(frame, at, checksum);
    true
}

/// TCP's flags that a segment merged with others may carry: ACK (which
/// it must) and PSH.
const TCP_ACK: u8 = 0x10;
const TCP_PSH: u8 = 0x08;
/// The flag that opens a connection.
const TCP_SYN: u8 = 0x02;
/// Where the IPv4 source address is, from the start of the frame.
const IPV4_SOURCE: usize = ETHERNET_HEADER + 12;
/// Where TCP keeps its fields, from the start of its header.
const TCP_SEQUENCE: usize = 4;
const TCP_ACKNOWLEDGMENT: usize = 8;
const TCP_OFFSET: usize = 12;
const TCP_FLAGS: usize = 13;
const TCP_WINDOW: usize = 14;
const TCP_OPTIONS: usize = 20;
/// The IPv4 total length, from the start of the frame.
const IPV4_LENGTH: usize = ETHERNET_HEADER + 2;

/// A TCP segment in a frame that the data of the segments after it may
/// be merged into (as a card's "receive offload" merges them): a whole
/// IPv4 packet filling its frame, with data, and no flag but ACK and PSH.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// The bytes of headers before the data (Ethernet, IPv4, TCP): where
    /// the data starts in the frame.
    pub header: usize,
    /// Where the TCP header starts in the frame.
    tcp: usize,
    /// The sequence number just after the data.
    end_sequence: u32,
}

/// The big-endian 32-bit number at `at` in `frame`.
fn number_at(frame: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(frame.get(at..at + 4)?.try_into().ok()?))
}

/// `frame` as a [`Segment`], if it is one that others may be merged into.
pub fn segment(frame: &[u8]) -> Option<Segment> {
    let (segment, length) = headers_segment(frame)?;
    (length == frame.len()).then_some(segment)
}

/// The TCP segment whose frame starts with `headers` (its Ethernet, IPv4
/// and TCP headers, and perhaps more), as a [`Segment`] others may be
/// merged into, with the length of its whole frame as its IPv4 length
/// says: a whole IPv4 packet with data and no flag but ACK and PSH.
pub fn headers_segment(headers: &[u8]) -> Option<(Segment, usize)> {
    if headers.get(12..14)? != ETHERTYPE_IPV4 {
        return None;
    }
    let version_and_length = *headers.get(ETHERNET_HEADER)?;
    let ip_header = usize::from(version_and_length & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*headers.get(16)?, *headers.get(17)?]));
    let flags_and_offset = u16::from_be_bytes([*headers.get(20)?, *headers.get(21)?]);
    let whole = flags_and_offset & 0x3fff == 0;
    if version_and_length >> 4 != 4
        || ip_header < IPV4_HEADER
        || total < ip_header
        || *headers.get(ETHERNET_HEADER + 9)? != TCP
        || !whole
    {
        return None;
    }
    let tcp = ETHERNET_HEADER + ip_header;
    let offset = usize::from(*headers.get(tcp + TCP_OFFSET)? >> 4) * 4;
    let flags = *headers.get(tcp + TCP_FLAGS)?;
    let header = tcp + offset;
    if offset < TCP_OPTIONS || flags & !(TCP_ACK | TCP_PSH) != 0 || flags & TCP_ACK == 0 {
        return None;
    }
    let length = ETHERNET_HEADER + total;
    let data = length.checked_sub(header).filter(|&data| data > 0)?;
    let sequence = number_at(headers, tcp + TCP_SEQUENCE)?;
    let segment = Segment {
        header,
        tcp,
        end_sequence: sequence.wrapping_add(u32::try_from(data).ok()?),
    };
    Some((segment, length))
}

/// The bytes of each word from [`WORDS_FROM`] that two segments merged
/// must have the same, for an IPv4 header without options (TCP from byte
/// 34): byte `k` of a word is bits `8k..8k + 8` here (little-endian).
/// Left out: the IPv4 length and id (bytes 16–19) and checksum (24–25),
/// and the TCP sequence number (38–41), flags, window, checksum and
/// urgent pointer (47–53) — as in [`merge`]'s ranges. TCP options, past
/// byte 54, are all compared.
const SAME_LANES: [u64; 6] = [
    u64::MAX,
    0xffff_0000_0000_ffff,
    0xffff_ffff_0000_ffff,
    u64::MAX,
    0xffff_ffff_0000_0000,
    0x0000_0000_0000_00ff,
];

/// Whether `headers` (a segment's, TCP from byte 34) and the start of
/// `next` are the same where [`merge`] asks them to be, compared as
/// aligned words from byte [`WORDS_FROM`] — `None` when the frames are not
/// placed for that (or `next` ends within the last word), for the byte
/// ranges to decide.
fn same_by_words(headers: &[u8], next: &[u8]) -> Option<bool> {
    let compared = headers.len().checked_sub(WORDS_FROM)?;
    let end = WORDS_FROM + compared.div_ceil(8) * 8;
    let ours = <[u64]>::ref_from_bytes(headers.get(WORDS_FROM..)?.get(..compared / 8 * 8)?).ok()?;
    let theirs = <[u64]>::ref_from_bytes(next.get(WORDS_FROM..end)?).ok()?;
    // The first 6 bytes, three aligned 16-bit words.
    let first = (
        <[u16]>::ref_from_bytes(headers.get(..WORDS_FROM)?),
        <[u16]>::ref_from_bytes(next.get(..WORDS_FROM)?),
    );
    let (Ok(ours_first), Ok(theirs_first)) = first else {
        return None;
    };
    let mut differ = ours_first
        .iter()
        .zip(theirs_first)
        .fold(0, |differ, (a, b)| differ | u64::from(a ^ b));
    for (index, (a, b)) in ours.iter().zip(theirs).enumerate() {
        let lanes = SAME_LANES.get(index).copied().unwrap_or(u64::MAX);
        differ |= (a ^ b) & u64::from_le(lanes);
    }
    // The last bytes of the headers, short of a word.
    let rest = compared % 8;
    if rest != 0 {
        let at = WORDS_FROM + compared / 8 * 8;
        let ours = partial_word(headers.get(at..)?, 0);
        let theirs = theirs.last().copied().unwrap_or(0) & u64::from_le((1 << (8 * rest)) - 1);
        differ |= ours ^ theirs;
    }
    Some(differ == 0)
}

/// Merges `next`, a frame received after `merged` (whose checksums were
/// checked: they are not made again), into `merged`'s headers — the
/// `segment.header` bytes that start `merged`, a frame of `length` bytes
/// — when its data follows on: the same Ethernet, IPv4 and TCP headers
/// but for the IPv4 length, id and checksum and the TCP sequence number,
/// PSH flag, window and checksum, and a sequence number where `merged`'s
/// data ends. The headers then say `merged` holds `next`'s data too
/// (which the caller puts after its own): the IPv4 length, PSH if `next`
/// has it and `next`'s window. Returns the length of `next`'s data, or
/// `None` (nothing changed) when it does not merge.
pub fn merge(
    merged: &mut [u8],
    segment: &mut Segment,
    length: usize,
    next: &[u8],
) -> Option<usize> {
    let headers = merged.get_mut(..segment.header)?;
    let following = following(headers, segment, next)?;
    join(headers, segment, length, next, following)
}

/// `next` as the segment after `segment` (whose headers are `headers`),
/// if its data follows on and it may merge ([`merge`]); nothing changed.
fn following(headers: &[u8], segment: &Segment, next: &[u8]) -> Option<Segment> {
    let data = match placed_follower(headers, segment, next) {
        Some(data) => data?,
        None => follower(headers, segment, next)?,
    };
    (number_at(next, segment.tcp + TCP_SEQUENCE) == Some(segment.end_sequence)).then(|| Segment {
        end_sequence: segment
            .end_sequence
            .wrapping_add(u32::try_from(data).unwrap_or(0)),
        ..*segment
    })
}

/// Makes `headers` (those of `segment`, a frame of `length` bytes) say
/// that the data of `next` (the `following` segment) joined theirs: the
/// IPv4 length, PSH if `next` has it and `next`'s window. The length of
/// `next`'s data, or `None` (nothing changed) when the total would not
/// fit an IPv4 length.
fn join(
    headers: &mut [u8],
    segment: &mut Segment,
    length: usize,
    next: &[u8],
    following: Segment,
) -> Option<usize> {
    let tcp = segment.tcp;
    let data = next.len() - following.header;
    let total = u16::try_from(length + data - ETHERNET_HEADER).ok()?;
    put(headers, IPV4_LENGTH, total);
    *headers.get_mut(tcp + TCP_FLAGS)? |= next.get(tcp + TCP_FLAGS)? & TCP_PSH;
    headers
        .get_mut(tcp + TCP_WINDOW..tcp + TCP_WINDOW + 2)?
        .copy_from_slice(next.get(tcp + TCP_WINDOW..tcp + TCP_WINDOW + 2)?);
    segment.end_sequence = following.end_sequence;
    Some(data)
}

/// Copies `data` into `into` (of the same length; else nothing, `None`)
/// and returns the sum of `between` and `data` together — the headers
/// past Ethernet and the data after them, a whole number of 4-byte words,
/// so the data's sum adds to theirs as it is — as native words from an
/// even address ([`wide_sum`], not folded). In a frame placed as the
/// driver places it, with no options, both start on an 8-byte boundary
/// and `between` is five words: summed as words.
fn copy_and_sum_following(into: &mut [u8], data: &[u8], between: &[u8]) -> Option<u64> {
    if let Ok(words) = <[u64]>::ref_from_bytes(between)
        && let Some(wide) = copy_sum_aligned(into, data)
    {
        return Some(add_word(sum_words(words), wide));
    }
    let sum = add(sum(between), copy_and_sum_piece(into, data)?);
    Some(as_wide(sum))
}

/// What [`append_following`] did with a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Appended {
    /// Its data joined the segment's: this many bytes.
    Data(usize),
    /// It followed on but its checksums failed: dropped, as a card that
    /// checked them would drop it.
    Dropped,
    /// It does not follow on (or its data does not fit): nothing done,
    /// the frame is for the stack as it is.
    NotFollowing,
}

/// Appends the data of `next`, a whole frame received, to the TCP
/// segment whose headers are `headers` (`segment`, its frame `length`
/// bytes long) when it follows on ([`merge`]) and its data fits in
/// `room` (where the segment's data ends): its data is copied there,
/// summed as it is copied, its checksums checked from that sum, and the
/// headers then say the segment holds it too. The work of a card's
/// receive offload, done where the frame was received, so that a frame
/// that merges is copied once and one that does not is not copied here.
pub fn append_following(
    headers: &mut [u8],
    segment: &mut Segment,
    length: usize,
    next: &[u8],
    room: &mut [u8],
) -> Appended {
    let Some(following) = headers
        .get(..segment.header)
        .and_then(|headers| following(headers, segment, next))
    else {
        return Appended::NotFollowing;
    };
    let data = next.get(following.header..).unwrap_or_default();
    let Some(into) = room.get_mut(..data.len()) else {
        return Appended::NotFollowing;
    };
    let between = next
        .get(ETHERNET_HEADER..following.header)
        .unwrap_or_default();
    let Some(past_header) = copy_and_sum_following(into, data, between) else {
        return Appended::NotFollowing;
    };
    // Its headers are the segment's where it matters: IPv4 carrying TCP.
    let placed = (segment.tcp == ETHERNET_HEADER + IPV4_HEADER)
        .then(|| placed_sums_hold(next, TCP, past_header))
        .flatten();
    let holds = placed.unwrap_or_else(|| checks_pass(next, Some(in_order(past_header, 0))));
    if !holds {
        return Appended::Dropped;
    }
    match join(headers, segment, length, next, following) {
        Some(data) => Appended::Data(data),
        None => Appended::NotFollowing,
    }
}

/// The length of the data of `next`, a segment to merge into `headers`
/// (those of `segment`): with the same headers but for the fields
/// [`merge`] ignores.
fn follower(headers: &[u8], segment: &Segment, next: &[u8]) -> Option<usize> {
    let following = self::segment(next)
        .filter(|following| following.header == segment.header && following.tcp == segment.tcp)?;
    let tcp = segment.tcp;
    let same = [
        0..IPV4_LENGTH,
        ETHERNET_HEADER + 6..ETHERNET_HEADER + IPV4_CHECKSUM,
        ETHERNET_HEADER + 12..tcp + TCP_SEQUENCE,
        tcp + TCP_ACKNOWLEDGMENT..tcp + TCP_FLAGS,
        tcp + TCP_OPTIONS..segment.header,
    ];
    let differ = same
        .iter()
        .any(|range| headers.get(range.clone()) != next.get(range.clone()));
    (!differ).then(|| next.len() - following.header)
}

/// [`follower`] for frames placed as the driver places them, with no
/// IPv4 options: the headers compared by words ([`same_by_words`]) — and,
/// once they match, `next` is known to be IPv4 carrying TCP, whole, with
/// the same header lengths, so what is left to check is what may differ:
/// its length, flags and data. The length of its data; `None` for frames
/// placed otherwise (for [`follower`]); `Some(None)` when `next` does not
/// follow.
fn placed_follower(headers: &[u8], segment: &Segment, next: &[u8]) -> Option<Option<usize>> {
    if segment.tcp != ETHERNET_HEADER + IPV4_HEADER {
        return None;
    }
    if !same_by_words(headers, next)? {
        return Some(None);
    }
    let total = usize::from(u16::from_be_bytes([*next.get(16)?, *next.get(17)?]));
    let flags = *next.get(segment.tcp + TCP_FLAGS)?;
    let data = next.len().saturating_sub(segment.header);
    let follows = ETHERNET_HEADER + total == next.len()
        && flags & !(TCP_ACK | TCP_PSH) == 0
        && flags & TCP_ACK != 0
        && data > 0;
    Some(follows.then_some(data))
}

/// A TCP segment that asks to open a connection (SYN without ACK).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionRequest {
    /// The port it asks for.
    pub port: u16,
    /// Who asks: the peer's IPv4 address and port, as they are in the
    /// frame.
    pub peer: ([u8; 4], [u8; 2]),
}

/// `frame` as a [`ConnectionRequest`], if it is one (in a whole IPv4
/// packet).
pub fn connection_request(frame: &[u8]) -> Option<ConnectionRequest> {
    if frame.get(12..14)? != ETHERTYPE_IPV4 || *frame.get(ETHERNET_HEADER + 9)? != TCP {
        return None;
    }
    let ip_header = usize::from(*frame.get(ETHERNET_HEADER)? & 0x0f) * 4;
    let tcp = ETHERNET_HEADER + ip_header;
    let flags = *frame.get(tcp + TCP_FLAGS)?;
    if ip_header < IPV4_HEADER || flags & (TCP_SYN | TCP_ACK) != TCP_SYN {
        return None;
    }
    let ports = frame.get(tcp..tcp + 4)?;
    let address = frame.get(IPV4_SOURCE..IPV4_SOURCE + 4)?;
    Some(ConnectionRequest {
        port: u16::from_be_bytes([ports[2], ports[3]]),
        peer: (address.try_into().ok()?, [ports[0], ports[1]]),
    })
}

/// Where an ARP request's fields lie in its frame.
const ARP_OPERATION: core::ops::Range<usize> = 20..22;
const ARP_SENDER_ADDRESS: core::ops::Range<usize> = 28..32;
const ARP_TARGET_ADDRESS: core::ops::Range<usize> = 38..42;

/// Is `frame` for the stack itself, whose card has MAC address `mac`: to
/// that address, or an ARP request whose sender asks for its own address
/// (the stack asking who has its address, to reach itself)?
pub fn is_for_itself(frame: &[u8], mac: [u8; 6]) -> bool {
    if frame.get(..6) == Some(&mac) {
        return true;
    }
    let sender = frame.get(ARP_SENDER_ADDRESS);
    frame.get(12..14) == Some(&ETHERTYPE_ARP)
        && frame.get(ARP_OPERATION) == Some(&[0, 1])
        && sender.is_some()
        && sender == frame.get(ARP_TARGET_ADDRESS)
}
