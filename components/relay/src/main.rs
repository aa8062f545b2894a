//! Test component: the test relay served from the kernel's space. A
//! process that binds `/relay` lends it callbacks, which it calls back
//! in the process, and gets counters it owns (`apptest callback /relay`;
//! docs/ipc.md, "Interface pointers to and from the kernel's space").

#![no_std]
#![no_main]
#![deny(unsafe_code)]

use com::{ComObject, ComPtr, IUnknown, Result};
use private_interfaces::IRelay;
use relay_objects::Relay;

fn construct() -> Result<ComPtr<IUnknown>> {
    Ok(ComObject::create::<IRelay>(Relay::new()).to_unknown())
}

component::component!(construct);
