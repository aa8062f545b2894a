//! `ICounter`: the interface of the `counter` components, the example of a
//! component upgraded live (`counter` v1 is mutated into `counter-v2`) and
//! of an object moved into a process (`IObjectHost`).

use core::sync::atomic::{AtomicU64, Ordering};

use com::{ComPtr, Gate, Guid, Result, interface, published_state};

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
/// What it holds once the object moved to another space.
pub const FORMAT_MOVED: u32 = com::moved::FORMAT_MOVED;
/// What `version` answers for a counter a process hosts (`apptest host`).
pub const HOSTED_VERSION: u32 = 3;
/// Bytes of a counter's state as it travels to a host ([`CounterStateV1::carried`]).
pub const CARRIED_BYTES: usize = 12;

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

impl CounterStateV1 {
    /// What of the state travels to another space when the object moves
    /// (`IObjectHost::adopt`): the format word, then the total,
    /// little-endian. The gate stays behind.
    pub fn carried(&self) -> [u8; CARRIED_BYTES] {
        let mut bytes = [0u8; CARRIED_BYTES];
        bytes[..4].copy_from_slice(&self.format.to_le_bytes());
        bytes[4..].copy_from_slice(&self.total.load(Ordering::Relaxed).to_le_bytes());
        bytes
    }

    /// The format word and total of a state [`CounterStateV1::carried`]
    /// made; `None` for bytes of another length.
    pub fn from_carried(bytes: &[u8]) -> Option<(u32, u64)> {
        let bytes: &[u8; CARRIED_BYTES] = bytes.try_into().ok()?;
        let (format, total) = bytes.split_at(4);
        Some((
            u32::from_le_bytes(format.try_into().ok()?),
            u64::from_le_bytes(total.try_into().ok()?),
        ))
    }
}

#[interface("c2d84f1e-7a35-4b90-9e6d-3f0a5b2c8d17")]
/// A process that takes objects in: the IPC moves a kernel-space object
/// into it (`IProcessManager::move_object`) by having it build a new
/// object from the old one's published state, which then answers every
/// call the old object gets.
pub trait IObjectHost {
    /// Builds an object from the state `state`, laid out as the published
    /// state `layout` says and carried as it says (today only
    /// [`CounterStateV1`], [`CounterStateV1::carried`]); the new object.
    /// `NOT_SUPPORTED` for a layout the host does not take.
    fn adopt(&self, layout: &Guid, state: &[u8]) -> Result<ComPtr<ICounter>>;
}
