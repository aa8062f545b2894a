//! Text across interfaces: how a method that answers with a name or a
//! message (`name`, `find_first`, `location`, ...) fills the caller's
//! buffer, and how bytes are checked to be text.

use crate::{Result, Status};

/// Copies `text` to the start of `buffer` and returns its length in bytes;
/// `BUFFER_TOO_SMALL`, with nothing written, when it does not fit (the
/// caller may try again with a larger buffer).
pub fn copy_text(text: impl AsRef<[u8]>, buffer: &mut [u8]) -> Result<usize> {
    let text = text.as_ref();
    let room = buffer
        .get_mut(..text.len())
        .ok_or(Status::BUFFER_TOO_SMALL)?;
    room.copy_from_slice(text);
    Ok(text.len())
}

/// Where each of `texts` ends once they are put one after another (with
/// `concat!`): a table of a few bytes per text, where one of string
/// slices takes 16 — for the packed message tables of the status codes
/// and of the exception causes.
#[allow(
    clippy::cast_possible_truncation,
    reason = "checked against u16::MAX just before"
)]
pub const fn text_ends<const N: usize>(texts: &[&str; N]) -> [u16; N] {
    let mut ends = [0; N];
    let mut end = 0;
    let mut index = 0;
    while index < N {
        end += texts[index].len();
        assert!(end <= u16::MAX as usize, "packed texts too long");
        ends[index] = end as u16;
        index += 1;
    }
    ends
}

/// Text `index` of `packed`, the texts [`text_ends`] measured put one
/// after another; `None` past the last.
pub fn packed_text(packed: &'static str, ends: &[u16], index: usize) -> Option<&'static str> {
    let start = match index.checked_sub(1) {
        Some(previous) => *ends.get(previous)?,
        None => 0,
    };
    packed.get(usize::from(start)..usize::from(*ends.get(index)?))
}

/// `bytes` as text, if they are UTF-8 (as `core::str::from_utf8` decides).
///
/// Names and most strings are ASCII: one pass over the bytes is far cheaper
/// than UTF-8 decoding (and than `<[u8]>::is_ascii`, whose word reads cost
/// byte loads on a core without unaligned access). Anything else is decoded
/// one sequence at a time: a few dozen instructions where `core`'s
/// validator, built for speed on long text, takes 800 bytes of code and
/// tables — most of what the minimal kernels would spend on text.
pub fn utf8(bytes: &[u8]) -> Option<&str> {
    if !bytes.iter().all(u8::is_ascii) && !is_utf8(bytes) {
        return None;
    }
    // SAFETY: the bytes are ASCII or were checked to be UTF-8 just above.
    Some(unsafe { core::str::from_utf8_unchecked(bytes) })
}

/// True when `bytes` are well-formed UTF-8: each sequence as long as its
/// first byte says, in its shortest form, neither a surrogate nor above
/// U+10FFFF.
fn is_utf8(bytes: &[u8]) -> bool {
    let mut at = 0;
    while let Some(&first) = bytes.get(at) {
        // The sequence's length, the least code point it may encode, and
        // the bits of the code point its first byte holds.
        let (length, least, bits) = match first {
            0x00..=0x7f => (1, 0, 0x7f),
            0xc2..=0xdf => (2, 0x80, 0x1f),
            0xe0..=0xef => (3, 0x800, 0x0f),
            0xf0..=0xf4 => (4, 0x1_0000, 0x07),
            _ => return false,
        };
        let Some(sequence) = bytes.get(at..at + length) else {
            return false;
        };
        let mut code = u32::from(first & bits);
        for &byte in sequence.iter().skip(1) {
            if byte & 0xc0 != 0x80 {
                return false;
            }
            code = code << 6 | u32::from(byte & 0x3f);
        }
        if code < least || code > 0x10_ffff || (0xd800..=0xdfff).contains(&code) {
            return false;
        }
        at += length;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_texts_come_back_one_by_one() {
        const TEXTS: [&str; 3] = ["one", "", "three"];
        const ENDS: [u16; 3] = text_ends(&TEXTS);
        let packed = "onethree";
        assert_eq!(ENDS, [3, 3, 8]);
        assert_eq!(packed_text(packed, &ENDS, 0), Some("one"));
        assert_eq!(packed_text(packed, &ENDS, 1), Some(""));
        assert_eq!(packed_text(packed, &ENDS, 2), Some("three"));
        assert_eq!(packed_text(packed, &ENDS, 3), None);
    }

    /// Checks `utf8` against `core` on `bytes`.
    fn agrees(bytes: &[u8]) {
        assert_eq!(
            utf8(bytes),
            core::str::from_utf8(bytes).ok(),
            "on {bytes:02x?}"
        );
    }

    #[test]
    fn utf8_agrees_with_core_on_every_sequence_of_up_to_three_bytes() {
        agrees(&[]);
        for first in 0..=255u8 {
            agrees(&[first]);
            for second in 0..=255u8 {
                agrees(&[first, second]);
                for third in 0..=255u8 {
                    agrees(&[first, second, third]);
                }
            }
        }
    }

    #[test]
    fn utf8_agrees_with_core_on_four_byte_sequences() {
        for first in 0xe0..=0xffu8 {
            for second in 0..=255u8 {
                for third in [0x00, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xff] {
                    for fourth in [0x00, 0x41, 0x80, 0xbf, 0xc0, 0xff] {
                        agrees(&[first, second, third, fourth]);
                        agrees(&[b'a', first, second, third, fourth, b'z']);
                    }
                }
            }
        }
    }

    #[test]
    fn utf8_takes_text_and_refuses_broken_text() {
        assert_eq!(utf8("/boot/README".as_bytes()), Some("/boot/README"));
        assert_eq!(utf8("grüße, 世界 🦀".as_bytes()), Some("grüße, 世界 🦀"));
        assert_eq!(utf8(b"caf\xc3"), None);
        assert_eq!(utf8(b"\xed\xa0\x80"), None);
    }
}
