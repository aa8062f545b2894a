//! Ed25519 signatures of component images: signing (xtask and the munger) and checking against the trusted keys (the verifier).
//!
//! An image's signature section (`image::signature_section`) holds the
//! signer's key id and an Ed25519 signature of every byte before the
//! signature. A key id is the first eight bytes of the SHA-512 of the
//! public key: it picks the trusted key to check with, nothing more (a
//! collision only makes the check fail). The trusted keys come from a
//! trust file ([`trust`]). Cryptography: `ed25519-compact` (its SHA-512
//! too), in no_std.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod trust;

use core::fmt;

use ed25519_compact::{KeyPair, Noise, PublicKey, Seed, Signature, sha512};
use image::ImageError;
use image::format::signature::KEY_ID_SIZE;

/// Bytes of a public key.
pub const PUBLIC_KEY_SIZE: usize = 32;
/// Bytes of a secret key's seed (what a key file holds).
pub const SEED_SIZE: usize = 32;

/// Identifies a key in a signature section.
pub type KeyId = [u8; KEY_ID_SIZE];

/// A public key the system may trust.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrustedKey {
    public: [u8; PUBLIC_KEY_SIZE],
}

impl TrustedKey {
    /// The key with these bytes.
    pub fn new(public: [u8; PUBLIC_KEY_SIZE]) -> TrustedKey {
        TrustedKey { public }
    }

    /// Its bytes.
    pub fn bytes(&self) -> &[u8; PUBLIC_KEY_SIZE] {
        &self.public
    }

    /// Its key id.
    pub fn id(&self) -> KeyId {
        key_id(&self.public)
    }
}

/// A key pair that signs images (host tools only: the system only checks).
pub struct SigningKey {
    pair: KeyPair,
}

impl SigningKey {
    /// The key pair made from `seed` (32 random bytes).
    pub fn from_seed(seed: [u8; SEED_SIZE]) -> SigningKey {
        SigningKey {
            pair: KeyPair::from_seed(Seed::new(seed)),
        }
    }

    /// The key a key file's text spells: its seed as 64 hex digits
    /// (surrounding white space ignored).
    pub fn from_hex(text: &str) -> Option<SigningKey> {
        trust::from_hex(text.trim()).map(SigningKey::from_seed)
    }

    /// Its public half.
    pub fn public(&self) -> TrustedKey {
        TrustedKey::new(*self.pair.pk)
    }

    /// Signs `image` in place: its key id, then the signature of every
    /// byte before the signature. Deterministic (RFC 8032: no noise).
    pub fn sign(&self, image: &mut [u8]) -> Result<(), ImageError> {
        image::set_key_id(image, self.public().id())?;
        let signed = image::signature_section(image)?.signed;
        let signature = self.pair.sk.sign(signed, None::<Noise>);
        image::set_signature(image, *signature)
    }
}

/// The key id of `public`: the first bytes of its SHA-512.
pub fn key_id(public: &[u8; PUBLIC_KEY_SIZE]) -> KeyId {
    let digest = sha512::Hash::hash(public);
    let mut id = [0; KEY_ID_SIZE];
    id.copy_from_slice(&digest[..KEY_ID_SIZE]);
    id
}

/// The SHA-512 of `bytes`: what a cache of checked images is keyed by.
pub fn digest(bytes: &[u8]) -> [u8; 64] {
    sha512::Hash::hash(bytes)
}

/// Why an image's signature was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No well-formed signature section: an old format, a cut section.
    Image(ImageError),
    /// The section is there but was never signed (key id all zeros).
    NotSigned,
    /// Signed by a key the trust file does not hold.
    UntrustedKey(KeyId),
    /// The signature does not match the bytes: the image was changed after
    /// signing, or the signature was.
    BadSignature,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Image(error) => write!(f, "{error}"),
            Refusal::NotSigned => write!(f, "the image was never signed"),
            Refusal::UntrustedKey(id) => {
                write!(f, "signed by an untrusted key (id ")?;
                id.iter().try_for_each(|byte| write!(f, "{byte:02x}"))?;
                write!(f, ")")
            }
            Refusal::BadSignature => {
                write!(f, "bad signature: the image was changed after signing")
            }
        }
    }
}

/// Checks `image`'s signature against `trusted`. Reads nothing of the
/// image but its magic, its version and its signature section before the
/// signature is known good.
pub fn verify(image: &[u8], trusted: &[TrustedKey]) -> Result<(), Refusal> {
    let section = image::signature_section(image).map_err(Refusal::Image)?;
    if section.key_id == [0; KEY_ID_SIZE] {
        return Err(Refusal::NotSigned);
    }
    let key = trusted
        .iter()
        .find(|key| key.id() == section.key_id)
        .ok_or(Refusal::UntrustedKey(section.key_id))?;
    PublicKey::new(key.public)
        .verify(section.signed, &Signature::new(section.signature))
        .map_err(|_| Refusal::BadSignature)
}

#[cfg(test)]
mod tests;
