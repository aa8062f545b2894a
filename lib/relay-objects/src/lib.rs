//! The test relay's objects: an `IRelay` that calls back the callbacks it
//! is lent and makes counters its caller owns. `apptest relay-serve`
//! serves one from a process and the `relay` component from the kernel's
//! space, so the same client (`apptest callback`) checks interface
//! pointers crossing into a process and into the kernel.

#![no_std]
#![deny(unsafe_code)]

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use com::{ComObject, ComPtr, Result, Status, class};
use private_interfaces::{ICallback, ICallbackImpl, ICounter, ICounterImpl, IRelay, IRelayImpl};

/// Counters the relays of this module made that are alive.
static LIVE: AtomicU32 = AtomicU32::new(0);

/// The relay.
#[class(IRelay)]
pub struct Relay {
    /// The callback `keep` kept.
    kept: sync::Mutex<Option<ComPtr<ICallback>>>,
}

impl Relay {
    /// A relay keeping nothing.
    pub const fn new() -> Relay {
        Relay {
            kept: sync::Mutex::new(None),
        }
    }
}

impl Default for Relay {
    fn default() -> Relay {
        Relay::new()
    }
}

impl IRelayImpl for Relay {
    fn relay(&self, callback: &ICallback, value: u64, times: u32) -> Result<u64> {
        let mut sum = 0u64;
        for step in 0..u64::from(times) {
            sum = sum.wrapping_add(callback.called(value + step)?);
        }
        Ok(sum)
    }

    fn make(&self, start: u64) -> Result<ComPtr<ICounter>> {
        LIVE.fetch_add(1, Ordering::Relaxed);
        Ok(ComObject::create(Made {
            total: AtomicU64::new(start),
        }))
    }

    fn live(&self) -> Result<u32> {
        Ok(LIVE.load(Ordering::Relaxed))
    }

    fn keep(&self, callback: &ICallback) -> Result<()> {
        *self.kept.lock() = Some(ComPtr::from_ref(callback));
        Ok(())
    }

    fn call_kept(&self, value: u64) -> Result<u64> {
        let kept = self.kept.lock().take().ok_or(Status::NOT_FOUND)?;
        kept.called(value)
    }
}

/// A counter the relay makes for a caller: also a callback adding what
/// it is called with.
#[class(ICounter, ICallback)]
struct Made {
    total: AtomicU64,
}

impl ICounterImpl for Made {
    fn add(&self, amount: u64) -> Result<u64> {
        Ok(self.total.fetch_add(amount, Ordering::Relaxed) + amount)
    }

    fn total(&self) -> Result<u64> {
        Ok(self.total.load(Ordering::Relaxed))
    }

    fn version(&self) -> Result<u32> {
        Ok(3)
    }
}

impl ICallbackImpl for Made {
    fn called(&self, value: u64) -> Result<u64> {
        self.add(value)
    }
}

impl Drop for Made {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::Relaxed);
    }
}
