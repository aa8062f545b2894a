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

fn construct() -> Result<ComPtr<IUnknown>> {
    // The load traps before it reads anything; the kernel stops.
    deliberate_faults::load_from_nowhere(0);
    Err(Status::FAILED)
}

component::component!(construct);
