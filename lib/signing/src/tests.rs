//! Signing and checking: the RFC 8032 vector, every way a signature is
//! refused, and the trust file.

use image::{Image, ImageBuilder, ImageError};

use crate::trust::{self, TrustError};
use crate::{Refusal, SigningKey, TrustedKey, verify};

/// RFC 8032, section 7.1, test 1: the secret seed, the public key and
/// the signature of the empty message.
const RFC_SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const RFC_PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const RFC_SIGNATURE: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

fn key(byte: u8) -> SigningKey {
    SigningKey::from_seed([byte; 32])
}

fn image() -> Vec<u8> {
    ImageBuilder {
        name: "hello".into(),
        content: vec![0x67, 0x80, 0, 0],
        memory_size: 4,
        text_size: 4,
        read_only_end: 4,
        align: 4,
        entry: 0,
        ..ImageBuilder::default()
    }
    .build()
}

fn signed_by(signer: &SigningKey) -> Vec<u8> {
    let mut bytes = image();
    signer.sign(&mut bytes).expect("signed");
    bytes
}

#[test]
fn the_rfc_8032_vector_holds() {
    let seed = trust::from_hex(RFC_SEED).expect("seed");
    let signer = SigningKey::from_seed(seed);
    assert_eq!(trust::to_hex(signer.public().bytes()), RFC_PUBLIC);
    let signature = signer.pair.sk.sign(b"", None);
    assert_eq!(trust::to_hex(&signature[..]), RFC_SIGNATURE);
}

#[test]
fn a_signed_image_verifies_with_its_key_and_still_parses() {
    let signer = key(1);
    let bytes = signed_by(&signer);
    assert_eq!(verify(&bytes, &[key(2).public(), signer.public()]), Ok(()));
    assert_eq!(Image::parse(&bytes).map(|image| image.name()), Ok("hello"));
}

#[test]
fn every_flipped_bit_is_refused() {
    let signer = key(1);
    let bytes = signed_by(&signer);
    let trusted = [signer.public()];
    let section_start = bytes.len() - image::format::signature::SIZE;
    for at in 0..bytes.len() {
        for bit in [0, 7] {
            let mut flipped = bytes.clone();
            flipped[at] ^= 1 << bit;
            let refusal = verify(&flipped, &trusted).expect_err("a flipped bit was accepted");
            let expected = if at < 8 {
                Refusal::Image(ImageError::BadMagic)
            } else if at < 10 {
                // The version: another number than 3.
                continue;
            } else if at < section_start + 8 {
                if at < section_start {
                    Refusal::BadSignature
                } else {
                    Refusal::Image(ImageError::NoSignatureSection)
                }
            } else if at < section_start + 16 {
                Refusal::UntrustedKey(
                    flipped[section_start + 8..section_start + 16]
                        .try_into()
                        .unwrap_or_default(),
                )
            } else {
                Refusal::BadSignature
            };
            assert_eq!(refusal, expected, "bit {bit} of byte {at}");
        }
    }
}

#[test]
fn each_way_to_fail_has_its_own_refusal() {
    let signer = key(1);
    let bytes = signed_by(&signer);
    let trusted = [signer.public()];
    assert_eq!(
        verify(&signed_by(&key(3)), &trusted),
        Err(Refusal::UntrustedKey(key(3).public().id()))
    );
    assert_eq!(verify(&image(), &trusted), Err(Refusal::NotSigned));
    assert_eq!(
        verify(&bytes[..bytes.len() - 10], &trusted),
        Err(Refusal::Image(ImageError::NoSignatureSection))
    );
    let mut old = bytes.clone();
    old[image::format::header::VERSION] = 2;
    assert_eq!(
        verify(&old, &trusted),
        Err(Refusal::Image(ImageError::Unsigned(2)))
    );
    assert_eq!(
        verify(&bytes, &[]),
        Err(Refusal::UntrustedKey(signer.public().id()))
    );
    assert_eq!(
        Refusal::Image(ImageError::Unsigned(1)).to_string(),
        "unsigned image, format v1"
    );
}

#[test]
fn a_trust_file_lists_keys_and_names_bad_lines() {
    let (first, second) = (key(1).public(), key(2).public());
    let text = format!(
        "# trusted\n\n{}{}",
        trust::line(&first, "dev"),
        trust::line(&second, "release")
    );
    assert_eq!(trust::parse(&text), Ok(vec![first, second]));
    assert_eq!(trust::parse("rsa 00\n"), Err(TrustError::UnknownKind(1)));
    assert_eq!(
        trust::parse("# x\ned25519 0123\n"),
        Err(TrustError::BadKey(2))
    );
    let wrong_digit = format!("ed25519 {}g", "0".repeat(63));
    assert_eq!(trust::parse(&wrong_digit), Err(TrustError::BadKey(1)));
    assert_eq!(trust::parse(""), Ok(Vec::<TrustedKey>::new()));
}
