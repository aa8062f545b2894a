//! The image verifier component: checks the Ed25519 signature of a component image that did not come from the boot image, before the loader reads anything else of it.
//!
//! It lives in the boot RomFS (trusted because the boot image is) at
//! `/sys/verifier`, and the kernel's loader binds it the first time an
//! image from outside `/boot` is loaded, so the kernel itself carries no
//! cryptography. Its object, an `IImageVerifier`, reads the trusted keys
//! from `/boot/trusted-keys` when it is made (`signing::trust`), checks
//! with `signing::verify`, and remembers the SHA-512 digests of the last
//! 64 images it accepted: the same bytes loaded again are not checked
//! twice, while changed bytes — whatever their path or name — are
//! (docs/signing.md).
//!
//! Depends on `com`, `component`, `interfaces`, `signing` and `spin`.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;

use com::{ComObject, ComPtr, IUnknown, Result, Status, class};
use interfaces::{IFile, IImageVerifier, IImageVerifierImpl};
use signing::TrustedKey;

/// Where the boot image holds the trust file.
const TRUST_FILE: &str = "/boot/trusted-keys";
/// The largest trust file read.
const MAX_TRUST_FILE: usize = 64 << 10;
/// How many accepted images' digests are remembered (64 bytes each); the
/// oldest is forgotten first, and checked again if it comes back.
const MAX_REMEMBERED: usize = 64;

/// The verifier: the trusted keys and the digests of the images accepted.
#[class(IImageVerifier)]
struct Verifier {
    trusted: Vec<TrustedKey>,
    accepted: spin::Mutex<Vec<[u8; 64]>>,
}

impl IImageVerifierImpl for Verifier {
    fn verify(&self, image: &[u8], why: &mut [u8]) -> Result<usize> {
        let digest = signing::digest(image);
        if self.accepted.lock().contains(&digest) {
            return Ok(0);
        }
        match signing::verify(image, &self.trusted) {
            Ok(()) => {
                let mut accepted = self.accepted.lock();
                if accepted.len() >= MAX_REMEMBERED {
                    accepted.remove(0);
                }
                accepted.try_reserve(1).map_err(|_| Status::OUT_OF_MEMORY)?;
                accepted.push(digest);
                Ok(0)
            }
            Err(_) if why.is_empty() => Err(Status::BUFFER_TOO_SMALL),
            Err(refusal) => {
                // A reason longer than the caller's buffer is cut short
                // (every reason is ASCII, so any cut is whole characters).
                let reason = alloc::format!("{refusal}");
                let length = reason.len().min(why.len());
                why[..length].copy_from_slice(&reason.as_bytes()[..length]);
                Ok(length)
            }
        }
    }
}

/// The keys of the boot image's trust file.
fn trusted_keys() -> Result<Vec<TrustedKey>> {
    let file = component::namespace()?
        .bind(TRUST_FILE, 0)?
        .query::<IFile>()?;
    let size = usize::try_from(file.size()?)
        .ok()
        .filter(|&size| size <= MAX_TRUST_FILE)
        .ok_or(Status::BAD_IMAGE)?;
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(size)
        .map_err(|_| Status::OUT_OF_MEMORY)?;
    bytes.resize(size, 0);
    let mut done = 0;
    while done < bytes.len() {
        match file.read_at(done as u64, &mut bytes[done..])? {
            0 => return Err(Status::BAD_IMAGE),
            read => done += read,
        }
    }
    let text = core::str::from_utf8(&bytes).map_err(|_| Status::BAD_STRING)?;
    signing::trust::parse(text).map_err(|_| Status::BAD_IMAGE)
}

fn construct() -> Result<ComPtr<IUnknown>> {
    let verifier = Verifier {
        trusted: trusted_keys()?,
        accepted: spin::Mutex::new(Vec::new()),
    };
    Ok(ComObject::create::<IImageVerifier>(verifier).to_unknown())
}

component::component!(construct);
