//! What checking a signature costs: `signing::verify` of a signed 4 KiB
//! image — the verifier's work on an image it has not seen — and the
//! verifier component's answer for an image it accepted before (its cache
//! of digests: one SHA-512 of the bytes).

use alloc::vec::Vec;
use core::hint::black_box;

use com::{Result, Status};
use interfaces::namespace::flags;
use interfaces::{IFile, IImageVerifier};

use crate::Meter;

/// A 4 KiB image signed with the development key (xtask puts it in the
/// test image).
const IMAGE: &str = "/boot/test/signed-4k";
/// The keys the boot image trusts.
const TRUST_FILE: &str = "/boot/trusted-keys";
/// The verifier component.
const VERIFIER: &str = "/sys/verifier";

/// The bytes of the file at `path`.
fn read(path: &str) -> Result<Vec<u8>> {
    let file = component::namespace()?.bind(path, 0)?.query::<IFile>()?;
    let size = usize::try_from(file.size()?).map_err(|_| Status::OUT_OF_RANGE)?;
    let mut bytes = alloc::vec![0u8; size];
    let mut done = 0;
    while done < size {
        match file.read_at(done as u64, &mut bytes[done..])? {
            0 => return Err(Status::OUT_OF_RANGE),
            read => done += read,
        }
    }
    Ok(bytes)
}

pub fn check_4k_image(meter: &Meter) -> Result<u64> {
    let image = read(IMAGE)?;
    let trust = read(TRUST_FILE)?;
    let text = core::str::from_utf8(&trust).map_err(|_| Status::BAD_STRING)?;
    let trusted = signing::trust::parse(text).map_err(|_| Status::BAD_IMAGE)?;
    let mut failure = None;
    let figure = meter.measure(|| {
        failure = failure.or(signing::verify(black_box(&image), &trusted).err());
    });
    failure.map_or(Ok(figure), |_| Err(Status::BAD_SIGNATURE))
}

pub fn check_4k_image_again(meter: &Meter) -> Result<u64> {
    let image = read(IMAGE)?;
    let verifier = component::namespace()?
        .bind(VERIFIER, flags::KEEP)?
        .query::<IImageVerifier>()?;
    let mut why = [0u8; 96];
    if verifier.verify(&image, &mut why)? != 0 {
        return Err(Status::BAD_SIGNATURE);
    }
    let mut failure = None;
    let figure = meter.measure(|| {
        failure = failure.or(verifier.verify(black_box(&image), &mut why).err());
    });
    failure.map_or(Ok(figure), Err)
}
