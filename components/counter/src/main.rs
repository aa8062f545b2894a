//! Example component, version 1: a counter object that can be upgraded live.
//!
//! Its object keeps a running total in `CounterStateV1`, the layout v1
//! publishes (in `private_interfaces::counter`) so that a later version can carry
//! the total over when it mutates the object (`counter-v2` does).

#![no_std]
#![no_main]
#![deny(unsafe_code)]

use core::ops::Deref;
use core::sync::atomic::Ordering;

use com::{ComObject, ComPtr, IUnknown, Result, class};
use private_interfaces::counter::CounterStateV1;
use private_interfaces::{ICounter, ICounterImpl};

#[class(ICounter, mutable(CounterStateV1))]
#[repr(transparent)]
struct Counter(CounterStateV1);

impl Deref for Counter {
    type Target = CounterStateV1;
    fn deref(&self) -> &CounterStateV1 {
        &self.0
    }
}

impl ICounterImpl for Counter {
    fn add(&self, amount: u64) -> Result<u64> {
        Ok(self.total.fetch_add(amount, Ordering::Relaxed) + amount)
    }

    fn total(&self) -> Result<u64> {
        Ok(self.total.load(Ordering::Relaxed))
    }

    fn version(&self) -> Result<u32> {
        Ok(1)
    }
}

fn construct() -> Result<ComPtr<IUnknown>> {
    Ok(ComObject::create::<ICounter>(Counter(CounterStateV1::default())).to_unknown())
}

component::component!(construct);
