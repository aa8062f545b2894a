//! `IImageVerifier`: checks the signature of a component image that did
//! not come from the boot image (the `verifier` component, docs/signing.md).

use com::{Result, interface};

/// Where the verifier is (in the boot RomFS, loaded on first use).
pub const VERIFIER_PATH: &str = "/sys/verifier";

#[interface("5b8e3f0a-2c7d-4e61-9a4f-d3c21b7e8f05")]
/// Checks component images against the keys the boot image trusts.
pub trait IImageVerifier {
    /// Checks `image`'s signature (reading nothing else of it first).
    /// Returns 0 when it is good; else writes why it is refused to `why`
    /// and returns that text's length (cut to fit).
    fn verify(&self, image: &[u8], why: &mut [u8]) -> Result<usize>;
}
