//! Benchmark component: a call to a function of its own beside a call imported from another module.
//!
//! The `benchmarks` component calls `call_local` and `call_imported` through
//! their export addresses: with the loader's short-cut the imported call
//! (to `bench`'s `bench_nop`) costs what the local one does; loaded with
//! indirect calls it goes through a stub and a slot.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

use com::{ComObject, ComPtr, IUnknown, Result, Status, class};
use private_interfaces::{IHello, IHelloImpl};

mod imports {
    component::import! {
        /// benchmarks v1, ordinal 1: does nothing.
        pub fn bench_nop();
    }
}

/// Does nothing, as `bench_nop` does, but in this module.
#[inline(never)]
extern "C" fn local_nop() {
    core::hint::black_box(());
}

component::export! {
    /// Calls a function of this module (export 1).
    pub fn call_local() {
        local_nop();
    }

    /// Calls a function imported from the `benchmarks` module (export 2).
    pub fn call_imported() {
        imports::bench_nop();
    }
}

#[class(IHello)]
struct CallBench;

impl IHelloImpl for CallBench {
    fn greet(&self, _buffer: &mut [u8]) -> Result<usize> {
        Err(Status::NOT_SUPPORTED)
    }
}

fn construct() -> Result<ComPtr<IUnknown>> {
    Ok(ComObject::create::<IHello>(CallBench).to_unknown())
}

component::component!(construct);
