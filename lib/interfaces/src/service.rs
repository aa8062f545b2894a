//! `IService`: a server that runs in the background on threads of its
//! own, started and stopped by whoever holds it (the shell's `httpd`).

use com::{Result, interface};

#[interface("21ff617a-01eb-4d81-ac94-083ea13c9083")]
/// A background service. Releasing the last reference stops it.
pub trait IService {
    /// Starts serving on `port` (`ALREADY_EXISTS` when running).
    fn start(&self, port: u32) -> Result<()>;
    /// Stops serving, and returns once its threads have ended and its
    /// sockets are closed (`NOT_CONNECTED` when not running).
    fn stop(&self) -> Result<()>;
    /// The port it serves on, or 0 when stopped.
    fn port(&self) -> Result<u32>;
}
