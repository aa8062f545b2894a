//! `CurrentNamespace()`: the namespace a caller finds objects in.
//!
//! Everything runs in one address space for now, so every caller shares the
//! root namespace the kernel installs at boot. When address spaces arrive,
//! this is where the per-space answer is chosen.

use com::{ComPtr, Result, SetOnce, Status};
use interfaces::INamespace;

static CURRENT: SetOnce<INamespace> = SetOnce::new();

/// Installs `root` as the namespace every caller sees; done once, at boot.
/// A second call fails with `ALREADY_EXISTS` and changes nothing.
pub fn set_current(root: ComPtr<INamespace>) -> Result<()> {
    CURRENT.set(root)
}

/// The caller's namespace; `NOT_FOUND` before the kernel installed one.
pub fn current() -> Result<ComPtr<INamespace>> {
    CURRENT.get().ok_or(Status::NOT_FOUND)
}
