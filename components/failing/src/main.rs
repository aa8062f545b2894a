//! Test component: its constructor fails, after making and dropping an object.
//!
//! Binding `/failing` must fail with the constructor's status, print why,
//! and leave nothing registered, loaded or allocated.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

use com::{ComObject, ComPtr, IUnknown, Result, Status, class};
use private_interfaces::{IHello, IHelloImpl};

#[class(IHello)]
struct Doomed;

impl IHelloImpl for Doomed {
    fn greet(&self, _buffer: &mut [u8]) -> Result<usize> {
        Err(Status::FAILED)
    }
}

fn construct() -> Result<ComPtr<IUnknown>> {
    // Allocate (an object and a buffer) before failing, as a real
    // constructor might: the failure must not leak either.
    let object = ComObject::create::<IHello>(Doomed);
    let scratch = alloc::vec![0u8; 256];
    drop((object, scratch));
    Err(Status::NOT_SUPPORTED)
}

component::component!(construct);
