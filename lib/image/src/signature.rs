//! The signature section that ends every image: found and checked for
//! shape before anything else of the image is read. Checking the
//! signature itself is the `signing` crate's (this one holds no
//! cryptography, so the kernel does not carry it).

use crate::ImageError;
use crate::format::{HEADER_SIZE, LAST_UNSIGNED_VERSION, MAGIC, VERSION, header, signature};

/// An image's signature section, and the bytes it covers.
#[derive(Clone, Copy, Debug)]
pub struct SignatureSection<'a> {
    /// Every byte the signature covers: the image up to the signature.
    pub signed: &'a [u8],
    /// The image without its signature section: what [`crate::Image`]
    /// reads.
    pub body: &'a [u8],
    /// The signer's key id (all zeros: not signed yet).
    pub key_id: [u8; signature::KEY_ID_SIZE],
    /// The Ed25519 signature of `signed`.
    pub signature: [u8; signature::SIGNATURE_SIZE],
}

/// Reads only the magic and the version (which stay where they were in
/// every version), then finds the signature section at the end.
pub fn signature_section(bytes: &[u8]) -> Result<SignatureSection<'_>, ImageError> {
    let version = format_version(bytes)?;
    if version <= LAST_UNSIGNED_VERSION {
        return Err(ImageError::Unsigned(version));
    }
    if version != VERSION {
        return Err(ImageError::UnsupportedVersion(version));
    }
    let body_end = bytes
        .len()
        .checked_sub(signature::SIZE)
        .filter(|&end| end >= usize::from(HEADER_SIZE))
        .ok_or(ImageError::Truncated)?;
    let (body, section) = bytes.split_at(body_end);
    if section[..signature::MAGIC.len()] != signature::MAGIC {
        return Err(ImageError::NoSignatureSection);
    }
    let field = |at: usize, size: usize| &section[at..at + size];
    Ok(SignatureSection {
        signed: &bytes[..body_end + signature::SIGNATURE],
        body,
        key_id: field(signature::KEY_ID, signature::KEY_ID_SIZE)
            .try_into()
            .map_err(|_| ImageError::NoSignatureSection)?,
        signature: field(signature::SIGNATURE, signature::SIGNATURE_SIZE)
            .try_into()
            .map_err(|_| ImageError::NoSignatureSection)?,
    })
}

/// The format version of `bytes`, after checking the magic.
pub fn format_version(bytes: &[u8]) -> Result<u16, ImageError> {
    let version_end = header::VERSION + 2;
    if bytes.len() < version_end {
        // A short file that does not even start like an image is foreign.
        let prefix = &bytes[..bytes.len().min(MAGIC.len())];
        return Err(if MAGIC.starts_with(prefix) {
            ImageError::Truncated
        } else {
            ImageError::BadMagic
        });
    }
    if bytes[..MAGIC.len()] != MAGIC {
        return Err(ImageError::BadMagic);
    }
    Ok(u16::from_le_bytes([
        bytes[header::VERSION],
        bytes[header::VERSION + 1],
    ]))
}

/// Writes `key_id` into the signature section of `image` (a signer does
/// this before signing: the key id is among the signed bytes).
pub fn set_key_id(
    image: &mut [u8],
    key_id: [u8; signature::KEY_ID_SIZE],
) -> Result<(), ImageError> {
    let at = section_start(image)? + signature::KEY_ID;
    image[at..at + signature::KEY_ID_SIZE].copy_from_slice(&key_id);
    Ok(())
}

/// Writes `signature` into the signature section of `image`.
pub fn set_signature(
    image: &mut [u8],
    signature: [u8; signature::SIGNATURE_SIZE],
) -> Result<(), ImageError> {
    let at = section_start(image)? + signature::SIGNATURE;
    image[at..at + signature::SIGNATURE_SIZE].copy_from_slice(&signature);
    Ok(())
}

/// Where the signature section of `image` starts (checked).
fn section_start(image: &[u8]) -> Result<usize, ImageError> {
    Ok(signature_section(image)?.body.len())
}
