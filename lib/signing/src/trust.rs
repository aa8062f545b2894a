//! The trust file: the public keys whose signatures the system accepts.
//!
//! Text, one key a line: `ed25519 <64 hex digits> [comment]`. Blank lines
//! and lines starting with `#` are skipped. A development key's public
//! file (`cargo xtask keygen`) is one such line, so it is a trust file by
//! itself.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::{PUBLIC_KEY_SIZE, TrustedKey};

/// The word that starts a key's line.
pub const KIND: &str = "ed25519";

/// What is wrong with a trust file, and on which line (from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrustError {
    /// A line does not start with `ed25519`.
    UnknownKind(usize),
    /// The key is not 64 hex digits.
    BadKey(usize),
}

impl fmt::Display for TrustError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustError::UnknownKind(line) => {
                write!(f, "trust file line {line}: not an `{KIND} <key>` line")
            }
            TrustError::BadKey(line) => {
                write!(f, "trust file line {line}: the key is not 64 hex digits")
            }
        }
    }
}

/// The keys `text` lists.
pub fn parse(text: &str) -> Result<Vec<TrustedKey>, TrustError> {
    let mut keys = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        if words.next() != Some(KIND) {
            return Err(TrustError::UnknownKind(number));
        }
        let key = words
            .next()
            .and_then(from_hex)
            .ok_or(TrustError::BadKey(number))?;
        keys.push(TrustedKey::new(key));
    }
    Ok(keys)
}

/// `key`'s line in a trust file, with `comment`.
pub fn line(key: &TrustedKey, comment: &str) -> String {
    let mut line = String::from(KIND);
    line.push(' ');
    line.push_str(&to_hex(key.bytes()));
    line.push(' ');
    line.push_str(comment);
    line.push('\n');
    line
}

/// `bytes` as lowercase hex digits.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|byte| [byte >> 4, byte & 15])
        .map(|digit| char::from(DIGITS[usize::from(digit)]))
        .collect()
}

/// The 32 bytes that `hex` (64 hex digits) spells.
pub fn from_hex(hex: &str) -> Option<[u8; PUBLIC_KEY_SIZE]> {
    let hex = hex.as_bytes();
    if hex.len() != 2 * PUBLIC_KEY_SIZE {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16);
    let mut bytes = [0; PUBLIC_KEY_SIZE];
    for (byte, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
        let value = digit(pair[0])? * 16 + digit(pair[1])?;
        *byte = u8::try_from(value).ok()?;
    }
    Some(bytes)
}
