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
//! Demand loading is the `demand-loading` feature (on by default); a
//! system without it (the minimal kernels) creates its namespace without a
//! loader, and the loading code is not in its image.
//!
//! [`current`] answers `CurrentNamespace()`: the namespace the kernel
//! installed with [`set_current`] at boot.
//!
//! Depends on `com`, `interfaces` and `spin`; the kernel creates the root
//! namespace, and the shell and every component find objects through it.

#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]

extern crate alloc;

mod current;
mod loads;
mod path;
mod table;
mod tree;

pub use current::{current, set_current};
pub use loads::ThreadId;
pub use path::validate as validate_name;
pub use tree::{
    BoxedLoader, Loader, Namespace, NoLoader, request_collection, take_collection_request,
};
