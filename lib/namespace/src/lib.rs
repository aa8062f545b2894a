//! Tessera's namespace: the tree of names through which objects are registered, found and demand-loaded.
//!
//! Names are absolute paths (`/dev/console`). Entries are kept in one sorted
//! table keyed by full path; directories exist implicitly as the common
//! prefixes of their entries. An entry registered with
//! [`flags::EXTENSION`](interfaces::namespace::flags::EXTENSION) is itself an
//! `INamespace`, and every operation on a name below it is handed to it with
//! the rest of the path (this is how `/boot` shows the boot file system).
//!
//! Binding a name that nobody registered asks the [`Loader`] for it; the
//! object it returns is registered and handed out. Concurrent binds of the
//! same missing name load it once: the first binder marks the entry as
//! loading, and the others wait for that load to finish.
//!
//! Two implementations serve the one contract: [`Namespace`], the ordered
//! table with demand loading that the full kernel uses, and
//! [`FlatNamespace`], an unordered list without it, for systems that
//! register a handful of names and load nothing (the minimal kernels,
//! whose size is their point). The host tests run the contract against
//! both.
//!
//! [`current`] answers `CurrentNamespace()`: the namespace the kernel
//! installed with [`set_current`] at boot.
//!
//! Depends on `com`, `interfaces` and `spin`; the kernel creates the root
//! namespace, and the shell and every component find objects through it.

#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]

extern crate alloc;

mod common;
mod current;
mod flat;
mod loads;
mod path;
mod table;
mod tree;

pub use current::{current, set_current};
pub use flat::FlatNamespace;
pub use loads::ThreadId;
pub use path::validate as validate_name;
pub use tree::{BoxedLoader, Loader, Namespace, request_collection, take_collection_request};
