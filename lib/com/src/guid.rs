//! 128-bit identifiers of interfaces and export tables.

use core::fmt;

/// A 128-bit UUID, stored as its 16 bytes in RFC 4122 (big-endian) order.
///
/// Interfaces are identified by a `Guid` (their IID); so are the export tables
/// of component images. In C it is `struct { uint8_t bytes[16]; }`, 8-aligned.
#[repr(C, align(8))]
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// The GUID whose big-endian value is `value`.
    pub const fn from_u128(value: u128) -> Guid {
        Guid(value.to_be_bytes())
    }

    /// The GUID as one 128-bit number.
    pub const fn to_u128(self) -> u128 {
        u128::from_be_bytes(self.0)
    }

    /// Parses the canonical text form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`
    /// (hex digits in either case).
    pub fn parse(text: &str) -> Option<Guid> {
        let bytes = text.as_bytes();
        if bytes.len() != 36 {
            return None;
        }
        let mut value = 0u128;
        for (index, &byte) in bytes.iter().enumerate() {
            if matches!(index, 8 | 13 | 18 | 23) {
                if byte != b'-' {
                    return None;
                }
                continue;
            }
            let digit = char::from(byte).to_digit(16)?;
            value = value << 4 | u128::from(digit);
        }
        Some(Guid::from_u128(value))
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, byte) in self.0.iter().enumerate() {
            if matches!(index, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_in_canonical_form() {
        extern crate std;
        use std::string::ToString;
        let guid = Guid::from_u128(0x00112233_4455_6677_8899_aabbccddeeff);
        assert_eq!(guid.to_string(), "00112233-4455-6677-8899-aabbccddeeff");
        assert_eq!(guid.to_u128(), 0x00112233_4455_6677_8899_aabbccddeeff);
    }
}
