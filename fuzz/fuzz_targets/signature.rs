//! The signature section: finding it in untrusted bytes and checking it.
//! Nothing may panic; a found section covers exactly the bytes before the
//! signature. With bit 0 of the first byte set, the input is signed first
//! with the fuzzer's own trusted key: it must then verify, and fail once
//! any one bit is flipped (which byte comes from the first byte's other
//! bits).
//!
//! Input: one mode byte, then the image.

#![no_main]

use image::format::signature;
use libfuzzer_sys::fuzz_target;
use signing::{SigningKey, verify};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    let key = SigningKey::from_seed([7; 32]);
    let trusted = [key.public()];
    let mut bytes = bytes.to_vec();
    if let Ok(section) = image::signature_section(&bytes) {
        assert_eq!(section.body.len() + signature::SIZE, bytes.len());
        assert_eq!(
            section.signed.len() + signature::SIGNATURE_SIZE,
            bytes.len()
        );
    }
    if mode & 1 == 1 && key.sign(&mut bytes).is_ok() {
        assert_eq!(verify(&bytes, &trusted), Ok(()));
        let at = usize::from(mode >> 1) * bytes.len() / 128;
        bytes[at] ^= 1;
        assert!(verify(&bytes, &trusted).is_err(), "byte {at} flipped");
    }
    let _ = verify(&bytes, &trusted);
});
