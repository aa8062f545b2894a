//! `/sys/trust`: the loader's signature policy as an object
//! (`ITrustPolicy`, readable by anyone), and the one `ITrustControl` that
//! changes it, handed to its first claimant — the startup program
//! (`modules::signature_policy` keeps the policy).

use core::sync::atomic::{AtomicBool, Ordering};

use com::{ComObject, ComPtr, Result, Status, class};
use interfaces::{ITrustControl, ITrustControlImpl, ITrustPolicy, ITrustPolicyImpl};

use crate::modules::signature_policy;

/// Set once the control has been handed out.
static CLAIMED: AtomicBool = AtomicBool::new(false);

/// The policy, as anyone sees it.
#[class(ITrustPolicy)]
pub struct TrustPolicy;

impl ITrustPolicyImpl for TrustPolicy {
    fn needs_signature(&self, location: &str) -> Result<bool> {
        let location = namespace::validate_name(location)?;
        Ok(signature_policy::needs_signature(location))
    }

    fn exempt_directory(&self, index: u32, buffer: &mut [u8]) -> Result<usize> {
        let index = usize::try_from(index).map_err(|_| Status::NO_MORE_ENTRIES)?;
        signature_policy::exempt_directory(index, buffer)
    }

    fn claim_control(&self) -> Result<ComPtr<ITrustControl>> {
        if CLAIMED.swap(true, Ordering::AcqRel) {
            return Err(Status::ACCESS_DENIED);
        }
        ComObject::try_create::<ITrustControl>(TrustControl)
            .inspect_err(|_| CLAIMED.store(false, Ordering::Release))
    }
}

/// The capability to change the policy.
#[class(ITrustControl)]
struct TrustControl;

impl ITrustControlImpl for TrustControl {
    fn set(&self, directory: &str, needs_signature: bool) -> Result<()> {
        signature_policy::set(directory, needs_signature)
    }
}
