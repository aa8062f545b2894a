//! The checks of the memory functions every component links
//! (`lib/block-copy`'s `memcpy` and `memmove`, this component's too): the
//! bytes each copy leaves, from every alignment of source and destination
//! and lengths across the steps of their loops, apart and overlapping.

use alloc::vec;

use com::Result;

use crate::fail;

/// Lengths across each loop's steps: bytes one at a time, words, four
/// shifted words, eight and sixteen words at a time, and what is left.
const LENGTHS: [usize; 24] = [
    0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 191, 192, 200, 255, 256, 257,
    300,
];
/// Where the copies start in the buffer: far enough from either end for
/// every offset and length.
const BASE: usize = 64;
/// Where copies apart from their source go.
const APART: usize = 512;

/// The byte at `index` of the buffer before any copy: no two nearby
/// bytes alike, so a byte from the wrong place shows.
fn pattern(index: usize) -> u8 {
    (index.wrapping_mul(167) ^ (index >> 8)).to_le_bytes()[0]
}

/// Checks that `buffer`, after copying `length` bytes from `from` to
/// `to`, holds the source's bytes there and the pattern everywhere else.
fn check(buffer: &[u8], from: usize, to: usize, length: usize, what: &str) -> Result<()> {
    let wrong = buffer.iter().enumerate().position(|(at, &byte)| {
        let expected = if (to..to + length).contains(&at) {
            pattern(from + at - to)
        } else {
            pattern(at)
        };
        byte != expected
    });
    match wrong {
        None => Ok(()),
        Some(at) => fail(format_args!(
            "{what} of {length} bytes from {from} to {to}: byte {at} is wrong"
        )),
    }
}

/// `memcpy` between buffers apart and `memmove` within one (source
/// before and after destination, up to two words apart) give the
/// source's bytes and touch no other.
pub fn copies_are_exact_at_every_alignment() -> Result<()> {
    let mut buffer = vec![0u8; 1024];
    let fresh = |buffer: &mut [u8]| {
        for (at, byte) in buffer.iter_mut().enumerate() {
            *byte = pattern(at);
        }
    };
    for length in LENGTHS {
        for from in BASE..BASE + 8 {
            for to in APART..APART + 16 {
                fresh(&mut buffer);
                let (low, high) = buffer.split_at_mut(APART);
                high[to - APART..to - APART + length].copy_from_slice(&low[from..from + length]);
                check(&buffer, from, to, length, "memcpy")?;
            }
            for to in from - 17..=from + 17 {
                fresh(&mut buffer);
                buffer.copy_within(from..from + length, to);
                check(&buffer, from, to, length, "memmove")?;
            }
        }
    }
    Ok(())
}
