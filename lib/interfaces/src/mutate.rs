//! `IMutate`: live mutation of objects, served by the `mutate` component at `/mutate`.
//!
//! An object opts in with `#[class(.., mutable)]` (see `docs/mutation.md`);
//! `IMutate` then swaps its vtables or runs a transition over its state
//! while no call is inside it, as one step that callers see whole.

use com::{IUnknown, Result, interface};

/// Where the mutator is registered.
pub const PATH: &str = "/mutate";

/// How a mutation keeps out of the calls in progress (`flags` argument).
pub mod flags {
    /// Mutual exclusion: new calls wait (in the object's held vtables), the
    /// mutation runs once the calls inside have left.
    pub const BY_MUTEX: u32 = 1;
    /// Abort and retry: calls inside fail with `PUSHED_OUT` at their next
    /// checkpoint and are issued again on the new implementation.
    pub const BY_ABORT: u32 = 2;
}

/// No time limit for `timeout_us`.
pub const NO_TIMEOUT: u64 = u64::MAX;

#[interface("c2b1e0f4-7a52-4f0e-8d6e-1f3b5a7c9d02")]
/// The mutator: changes objects while threads use them.
pub trait IMutate {
    /// Points the vtable slot `who` at `vtable`, an `IUnknownVtbl`-prefixed
    /// table whose methods expect this object's layout. Fails with
    /// `NO_INTERFACE` when the object is not mutable and `TIMED_OUT` (having
    /// changed nothing) when calls stay inside longer than `timeout_us`.
    fn mutate_vtable(&self, who: &IUnknown, vtable: u64, flags: u32, timeout_us: u64)
    -> Result<()>;
    /// Runs `transition` over the object of `who` while no call is inside:
    /// it may rewrite the object's state and vtable slots. If it fails, the
    /// slots are put back and its status returned; on `TIMED_OUT` it never ran.
    fn mutate_object(
        &self,
        who: &IUnknown,
        transition: &ITransition,
        flags: u32,
        timeout_us: u64,
    ) -> Result<()>;
}

#[interface("8e4d2c6a-1b3f-4a59-a7c0-5d9e2f6b8a13")]
/// A transition function: carries an object from one implementation to another.
pub trait ITransition {
    /// Rewrites `object` (its identity interface) for its new implementation.
    /// Runs with no call inside the object, so it must not call the object's
    /// own methods; on failure it leaves the state as it found it.
    fn apply(&self, object: &IUnknown) -> Result<()>;
}
