//! The interfaces and layouts that are not system contracts, used by the example and test components, the shell, the kernel and the C bindings.
//!
//! Beside the system's contracts in `interfaces`, this crate holds what only
//! particular parties agree on: the example components' interfaces
//! (`IHello`, `ICounter` with its state layout for the live upgrade and
//! `IObjectHost` for moving a counter into a process),
//! `ICallback` and `IRelay` for the IPC's interface-pointer tests, the
//! test components' (`ISelfTests`, `IBenchmarks`, which the shell calls),
//! and the firmware console's state layout, shared by the kernel and the
//! `uart16550` driver that takes the console over. Depends only on `com`.

#![no_std]
// The interface macro emits the unsafe glue (each item allowing it);
// nothing here is written with `unsafe` by hand.
#![deny(unsafe_code)]

pub mod bench;
pub mod console;
pub mod counter;
pub mod hello;
pub mod relay;
pub mod selftest;

pub use bench::{IBenchmarks, IBenchmarksImpl, IEcho, IEchoImpl};
pub use counter::{ICounter, ICounterImpl, IObjectHost, IObjectHostImpl};
pub use hello::{IHello, IHelloImpl};
pub use relay::{ICallback, ICallbackImpl, IRelay, IRelayImpl};
pub use selftest::{ISelfTests, ISelfTestsImpl};
