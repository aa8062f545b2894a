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

#[cfg(feature = "threads")]
pub mod component_code;
#[cfg(feature = "loader")]
pub mod component_memory;
#[cfg(feature = "loader")]
pub mod exports;
mod object_model;
