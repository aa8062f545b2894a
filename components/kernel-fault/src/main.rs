//! Test component: its constructor faults in S-mode, which stops the system with a report.
//!
//! Component code runs in S-mode, as the kernel does, so a fault there is
//! a kernel defect: the thread may hold kernel locks and cannot be ended
//! safely. Binding `/kernel-fault` must print the exception with its
//! address and power off with exit code 3 (a QEMU test checks both).

#![no_std]
#![no_main]
#![deny(unsafe_code)]

use com::{ComPtr, IUnknown, Result, Status};

/// A physical address no memory or device answers to.
const NOWHERE: usize = 0x20_0000_0000;

#[allow(unsafe_code, reason = "a deliberate load from no memory, in S-mode")]
fn construct() -> Result<ComPtr<IUnknown>> {
    // SAFETY: the load traps before it reads anything; the kernel stops.
    let word = unsafe { core::ptr::read_volatile(core::ptr::without_provenance::<u64>(NOWHERE)) };
    Err(Status(i32::try_from(word).unwrap_or(-1)))
}

component::component!(construct);
