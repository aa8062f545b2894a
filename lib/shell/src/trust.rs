//! `trust`: shows which sources of component images load without a
//! signature (the kernel's `/sys/trust`), and, in the shell that holds the
//! policy's control, changes it (docs/signing.md).

use core::fmt::Write;

use com::{ComPtr, Status};
use interfaces::trust::POLICY_PATH;
use interfaces::{INamespace, ITrustControl, ITrustPolicy};

use crate::context::{Context, Failure, Outcome, absolute, failed, service};

/// The longest directory name listed.
const MAX_DIRECTORY: usize = 256;

/// Claims the policy's control for this shell: the startup program is its
/// first claimant, so any other shell (or a system without a loader) goes
/// without and can only show the policy.
pub fn claim_control(namespace: &INamespace) -> Option<ComPtr<ITrustControl>> {
    let policy = namespace.bind(POLICY_PATH, 0).ok()?;
    policy.query::<ITrustPolicy>().ok()?.claim_control().ok()
}

/// `trust [allow|require <directory>]`.
pub fn trust(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    match arguments {
        [] => show(context),
        [verb @ ("allow" | "require"), directory] => {
            let directory = absolute(directory);
            let control = context
                .held
                .trust_control
                .as_ref()
                .ok_or_else(|| failed(POLICY_PATH)(Status::ACCESS_DENIED))?;
            control
                .set(&directory, *verb == "require")
                .map_err(failed(&directory))?;
            show(context)
        }
        _ => Err(Failure::Usage),
    }
}

/// Lists the directories whose images load unsigned, then the rule for the
/// rest.
fn show(context: &mut Context<'_>) -> Outcome {
    let policy = service::<ITrustPolicy>(context.namespace, POLICY_PATH, 0)?;
    let mut buffer = [0u8; MAX_DIRECTORY];
    for index in 0.. {
        let length = match policy.exempt_directory(index, &mut buffer) {
            Ok(length) => length,
            Err(Status::NO_MORE_ENTRIES) => break,
            Err(status) => return Err(failed(POLICY_PATH)(status)),
        };
        let directory =
            core::str::from_utf8(buffer.get(..length).unwrap_or_default()).unwrap_or("(not UTF-8)");
        let _ = writeln!(
            context.output,
            "images from {directory}: load without a signature"
        );
    }
    let holder = if context.held.trust_control.is_some() {
        "this shell holds the control"
    } else {
        "this shell does not hold the control"
    };
    let _ = writeln!(
        context.output,
        "images from anywhere else: need a signature by a key in /boot/trusted-keys\n({holder})"
    );
    Ok(None)
}
