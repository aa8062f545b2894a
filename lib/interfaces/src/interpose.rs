//! `IInterpose`: filters put in front of a live object, served by the
//! `interpose` component at `/interpose`.

use com::{Guid, IUnknown, Result, interface};

/// Where the interposer is registered.
pub const PATH: &str = "/interpose";

/// The filters (`filter` argument).
pub mod filters {
    /// Logs every call with its arguments and result on the console.
    pub const TRACE: u32 = 1;
    /// Refuses the interface's write-class methods with `ACCESS_DENIED`.
    pub const READ_ONLY: u32 = 2;
}

#[interface("d3a5f1c7-2b4e-4f68-9a1d-6c8e0b2f4a75")]
/// The interposer: puts a filter in front of one interface of an object,
/// where everyone holding the object meets it, and takes it away again.
pub trait IInterpose {
    /// Puts `filter` in front of interface `iid` of `object` (the nil IID:
    /// the first interface of the object the interposer knows the signature
    /// of); `label` names the object in trace lines. `ALREADY_EXISTS` when
    /// that interface is filtered already, `NOT_SUPPORTED` when its
    /// signature is unknown or a method has too many arguments to forward.
    fn interpose(&self, object: &IUnknown, iid: &Guid, filter: u32, label: &str) -> Result<()>;
    /// Takes the filter off interface `iid` of `object` (nil: the one
    /// filtered), restoring the object's own method table.
    fn remove(&self, object: &IUnknown, iid: &Guid) -> Result<()>;
}
