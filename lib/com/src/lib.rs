//! Tessera's binary object model: interfaces, reference-counted objects, status codes and signature tables.
//!
//! An *interface* is a `#[repr(C)]` table of `extern "C"` function pointers
//! whose first three slots are `QueryInterface`, `AddRef` and `Release`; an
//! *object* is a pointer to a pointer to such a table. That is the whole
//! binary contract between separately built components (see `docs/abi.md`).
//!
//! Declare an interface once with [`interface`], implement it in safe Rust
//! with [`class`], and call it through [`ComPtr`]:
//!
//! ```
//! use com::{class, interface, ComObject, ComPtr, Result};
//!
//! #[interface("3f0c1d52-2a7e-4c1b-9d3e-5b7a8e6f1c20")]
//! pub trait ICounter {
//!     /// Adds `amount` and returns the new total.
//!     fn add(&self, amount: u32) -> Result<u32>;
//! }
//!
//! #[class(ICounter)]
//! struct Counter(core::sync::atomic::AtomicU32);
//!
//! impl ICounterImpl for Counter {
//!     fn add(&self, amount: u32) -> Result<u32> {
//!         use core::sync::atomic::Ordering::Relaxed;
//!         Ok(self.0.fetch_add(amount, Relaxed) + amount)
//!     }
//! }
//!
//! let counter: ComPtr<ICounter> = ComObject::create(Counter(Default::default()));
//! assert_eq!(counter.add(2), Ok(2));
//! ```
//!
//! A module's plain functions go by name with [`export!`] and [`import!`].
//!
//! Depends on `com-macros` (the two macros) and `alloc`. Every other Tessera
//! crate that defines, implements or calls an interface depends on it.

#![cfg_attr(not(test), no_std)]

extern crate alloc;
// Lets the macros name this crate as `::com` from inside it, too.
extern crate self as com;

mod abi;
mod by_name;
pub mod dynamic;
mod fallible;
mod gate;
mod guid;
mod interface;
pub mod interposition;
pub mod kernel;
pub mod moved;
mod mutable;
mod object;
pub mod proxy;
mod ptr;
mod registers;
mod set_once;
mod signature;
mod status;
mod text;
mod unshared;
pub mod wait;
mod word_lock;

pub use abi::{InOut, Param, PlainData, RawSlice, RawSliceMut, Record, Ret};
pub use com_macros::{Record, class, interface, published_state};
pub use fallible::{try_box, try_filled, try_push};
pub use gate::{Gate, GateEntry};
pub use guid::Guid;
pub use interface::{IUnknown, IUnknownVtbl, Interface, MOST_METHODS, Method, MethodTable};
pub use mutable::{
    IMutable, IMutableImpl, IMutableVtbl, MutableObject, ObjectLayout, PublishedState, Takeover,
};
pub use object::KeepLoaded;
pub use object::{Class, ComObject, HasInterface, Implement, VtableSlots, adopt, live_objects};
pub use ptr::ComPtr;
pub use registers::Registers;
pub use set_once::SetOnce;
pub use signature::{
    ArgKind, ArgSignature, FieldKind, FieldSignature, InterfaceSignature, MethodSignature,
    RecordSignature,
};
pub use status::{Result, Status};
pub use text::{copy_text, packed_text, text_ends, utf8};
pub use word_lock::{WordLock, WordLockGuard};
