//! Example component, version 2: upgrades the live counter v1 object in place, carrying its total over.
//!
//! Binding `/counter-v2` runs its constructor, which finds the live v1
//! object at `/counter` and has `/mutate` run [`ToVersion2`] over it while
//! threads keep calling it. The object keeps its address and references;
//! its total moves into v2's own record, which also counts the additions;
//! its vtables become v2's; v1 stops counting it, so v1's module unloads
//! by the next bind after the load. The constructor hands out the same object,
//! which `/counter` and `/counter-v2` then both name.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

use alloc::boxed::Box;
use core::sync::atomic::{AtomicU64, Ordering};

use com::{ComObject, ComPtr, Gate, IUnknown, Result, Status, Takeover, class};
use interfaces::mutate::flags;
use interfaces::{IMutate, ITransition, ITransitionImpl};
use private_interfaces::counter::{CounterStateV1, FORMAT_V1, FORMAT_V2};
use private_interfaces::{ICounter, ICounterImpl};

/// How long the upgrade may wait for calls to leave the object.
const UPGRADE_TIMEOUT_US: u64 = 1_000_000;

/// Version 2's state: the same size as v1's, the format word where v1 has
/// it, the total now in a record of its own beside a count of additions.
#[class(ICounter, mutable)]
#[repr(C)]
struct Counter {
    gate: Gate,
    format: u32,
    tally: Box<Tally>,
}

struct Tally {
    total: AtomicU64,
    additions: AtomicU64,
}

impl ICounterImpl for Counter {
    fn add(&self, amount: u64) -> Result<u64> {
        self.tally.additions.fetch_add(1, Ordering::Relaxed);
        Ok(self.tally.total.fetch_add(amount, Ordering::Relaxed) + amount)
    }

    fn total(&self) -> Result<u64> {
        Ok(self.tally.total.load(Ordering::Relaxed))
    }

    fn version(&self) -> Result<u32> {
        Ok(2)
    }
}

/// The transition from v1's object to v2's.
#[class(ITransition)]
struct ToVersion2;

impl ITransitionImpl for ToVersion2 {
    fn apply(&self, object: &IUnknown) -> Result<()> {
        Takeover::<Counter>::check(object)?.replace(|old: &CounterStateV1| {
            if old.format != FORMAT_V1 {
                return Err(Status::NOT_SUPPORTED);
            }
            Ok(Counter {
                gate: Gate::new(),
                format: FORMAT_V2,
                tally: Box::new(Tally {
                    total: AtomicU64::new(old.total.load(Ordering::Relaxed)),
                    additions: AtomicU64::new(0),
                }),
            })
        })
    }
}

fn construct() -> Result<ComPtr<IUnknown>> {
    let namespace = component::namespace()?;
    let counter = namespace.bind("/counter", 0)?;
    let mutate = namespace
        .bind(interfaces::mutate::PATH, 0)?
        .query::<IMutate>()?;
    let transition = ComObject::create::<ITransition>(ToVersion2);
    mutate.mutate_object(&counter, &transition, flags::BY_MUTEX, UPGRADE_TIMEOUT_US)?;
    Ok(counter)
}

component::component!(construct);
