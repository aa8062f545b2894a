//! The startup program: the name the kernel starts it by, and, in the
//! minimal kernels (without the loader), the built-in program registered
//! under that name.

#[cfg(not(feature = "loader"))]
mod builtin;

#[cfg(not(feature = "loader"))]
pub use builtin::register;

/// The namespace name of the program the kernel starts once it is up
/// (set by `kernel/build.rs`, from `TESSERA_STARTUP_PROGRAM`).
pub const STARTUP_PROGRAM: &str = env!("TESSERA_STARTUP_PROGRAM");
