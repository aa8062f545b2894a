//! `ICallback` and `IRelay`: interface pointers across processes in the
//! IPC's tests — a client lends a server its callback, the server calls
//! it back and makes objects the client then owns.

use com::{ComPtr, Result, interface};

#[interface("5d0c8e2a-7b41-4f93-a6e2-1c9d3b7f0a54")]
/// Something a server calls back.
pub trait ICallback {
    /// Called with `value`; returns what the callback makes of it.
    fn called(&self, value: u64) -> Result<u64>;
}

#[interface("e3a91f47-2c6d-4b08-9f15-8d2e7a4c6b31")]
/// A server that calls back what it is lent and makes objects for its
/// callers.
pub trait IRelay {
    /// Calls `callback.called(value + n)` for `n` in `0..times`; returns
    /// the sum of the answers.
    fn relay(&self, callback: &ICallback, value: u64, times: u32) -> Result<u64>;
    /// A new counter starting at `start`, owned by the caller (it is also
    /// an `ICallback`, which adds the value it is called with).
    fn make(&self, start: u64) -> Result<ComPtr<super::ICounter>>;
    /// How many of the counters it made are alive.
    fn live(&self) -> Result<u32>;
    /// Keeps `callback` (taking a reference of its own) for
    /// [`IRelay::call_kept`].
    fn keep(&self, callback: &ICallback) -> Result<()>;
    /// Calls the callback it kept with `value`, and lets it go. (Across
    /// processes a borrowed pointer lasts as long as the call that lent
    /// it: this is `STALE_HANDLE` then.)
    fn call_kept(&self, value: u64) -> Result<u64>;
}
