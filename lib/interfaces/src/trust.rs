//! `ITrustPolicy`: which sources of component images the loader takes
//! without a signature (`/sys/trust`, the shell's `trust`);
//! `ITrustControl`: the one capability that changes it (docs/signing.md).

use com::{ComPtr, Result, interface};

/// Where the kernel serves the policy.
pub const POLICY_PATH: &str = "/sys/trust";

/// The directory whose images never need a signature: the boot RomFS,
/// trusted as the kernel is (the verifier and the trusted keys come from
/// it, so the policy cannot make it need one).
pub const BOOT_DIRECTORY: &str = "/boot";

#[interface("b89d2cff-85f0-4e42-9c10-b930cc992e3e")]
/// The signature policy, readable by anyone who can bind it.
pub trait ITrustPolicy {
    /// Whether an image read from `location` must carry a good signature
    /// before the loader reads anything else of it.
    fn needs_signature(&self, location: &str) -> Result<bool>;
    /// Writes the `index`th directory whose images load without a
    /// signature into `buffer` ([`BOOT_DIRECTORY`] first); returns its
    /// length, `NO_MORE_ENTRIES` past the last.
    fn exempt_directory(&self, index: u32, buffer: &mut [u8]) -> Result<usize>;
    /// The policy's control, to its first claimant only — the startup
    /// program claims it when it starts; `ACCESS_DENIED` once claimed.
    /// Whoever holds the control may hand it on.
    fn claim_control(&self) -> Result<ComPtr<ITrustControl>>;
}

#[interface("a92d8257-fa53-445b-bea3-f16210ca238a")]
/// Changes the signature policy.
pub trait ITrustControl {
    /// Makes images from `directory` (an absolute path, not
    /// [`BOOT_DIRECTORY`]) need a signature again, or, with
    /// `needs_signature` false, load without one.
    fn set(&self, directory: &str, needs_signature: bool) -> Result<()>;
}
