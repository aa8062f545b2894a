//! `ICounter`: the interface of the `counter` components, the example of a
//! component upgraded live (`counter` v1 is mutated into `counter-v2`).

use core::sync::atomic::AtomicU64;

use com::{Gate, Result, interface, published_state};

#[interface("4e1a7c3b-9d2f-4b6e-8a05-c7f3e2d1b960")]
/// A running total.
pub trait ICounter {
    /// Adds `amount`; returns the new total.
    fn add(&self, amount: u64) -> Result<u64>;
    /// The total so far.
    fn total(&self) -> Result<u64>;
    /// Which version of the component answers.
    fn version(&self) -> Result<u32>;
}

/// What `CounterStateV1::format` holds in v1's objects.
pub const FORMAT_V1: u32 = 1;
/// What the same word holds in v2's.
pub const FORMAT_V2: u32 = 2;

/// The state of a counter object of `counter` v1, laid out as v1 lays it
/// out: part of v1's published interface, so a later version's transition
/// function can read it (`Takeover::state`).
#[published_state("8a3e5c17-4d2b-4f60-9e1a-b7c0d2f4e831")]
#[repr(C)]
#[derive(Debug)]
pub struct CounterStateV1 {
    /// The object's mutation gate.
    pub gate: Gate,
    /// Which version's state this is ([`FORMAT_V1`]); every version keeps
    /// this word here, so a transition can tell what it is given.
    pub format: u32,
    /// The running total.
    pub total: AtomicU64,
}

impl Default for CounterStateV1 {
    /// A fresh v1 state: no total yet.
    fn default() -> CounterStateV1 {
        CounterStateV1 {
            gate: Gate::new(),
            format: FORMAT_V1,
            total: AtomicU64::new(0),
        }
    }
}
