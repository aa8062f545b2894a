//! The boundary with component code: the one module besides the machine
//! layer allowed `unsafe`, because everything here takes what component
//! code hands over by address — a function to call, an object, a buffer —
//! and turns it into something safe Rust can use.
//!
//! - [`exports`]: the functions components import from the kernel
//!   (`kernel.def`): raw pointers in, checked before use.
//! - [`object_model`]: what `com` calls by name in every module (word waits,
//!   "an object became unshared").
//! - [`component_code`]: entering component code — a module's constructor
//!   and `tessera_can_unload`, a thread's start.
//! - [`component_memory`]: memory and objects the kernel holds by address —
//!   a file's bytes kept in memory, a registered object held without a
//!   reference.
//!
//! Each function here checks what it can (null, alignment, bounds, that an
//! address lies in loaded code); what it cannot check is the contract the
//! image validation, the munger and the interfaces give, stated at each
//! `unsafe` block.
//!
//! Dependencies point down from here to `threads` and `machine` only: the
//! module list (`modules`) uses this module to enter what it loads, so the
//! two things the boundary asks of the module list — does an address lie in
//! a module, and "an object became unshared" — are [`ModuleHooks`] the boot
//! sequence installs (`objects::register_boot_objects`).

#[cfg(feature = "threads")]
pub mod component_code;
#[cfg(feature = "loader")]
pub mod component_memory;
#[cfg(feature = "loader")]
pub mod exports;
pub mod object_model;

/// What the boundary asks of the module list, which sits above it.
#[cfg(feature = "loader")]
pub struct ModuleHooks {
    /// True when an address lies in a loaded module.
    pub holds: fn(usize) -> bool,
    /// `tessera_object_unshared`'s work, for an object that may be a
    /// module's registered one (or, at 0, a module's last object): it may
    /// have left a module unused.
    pub note_unshared: fn(),
}

/// The module list's hooks, once installed.
#[cfg(feature = "loader")]
static MODULE_HOOKS: spin::Once<ModuleHooks> = spin::Once::new();

/// Installs the module list's hooks; later calls change nothing.
#[cfg(feature = "loader")]
pub fn set_module_hooks(hooks: ModuleHooks) {
    MODULE_HOOKS.call_once(|| hooks);
}

/// The module list's hooks; none before the boot sequence installs them.
#[cfg(feature = "loader")]
fn module_hooks() -> Option<&'static ModuleHooks> {
    MODULE_HOOKS.get()
}
