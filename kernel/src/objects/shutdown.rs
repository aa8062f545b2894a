//! `/sys/shutdown`: what is told before the machine powers off — mounted
//! file systems, which write their changes back and mark their volumes
//! clean (`IShutdown`, `IShutdownListener`).

use alloc::vec::Vec;

use com::{ComPtr, IUnknown, Result, Status, class};
use interfaces::{IShutdown, IShutdownImpl, IShutdownListener};
use spin::Mutex;

/// The listeners, each with its identity (its `IUnknown`).
static LISTENERS: Mutex<Vec<(ComPtr<IUnknown>, ComPtr<IShutdownListener>)>> =
    Mutex::new(Vec::new());

/// The list of listeners, as components see it.
#[class(IShutdown)]
pub struct ShutdownService;

impl IShutdownImpl for ShutdownService {
    fn listen(&self, listener: &IUnknown) -> Result<()> {
        let identity = listener.query::<IUnknown>()?;
        let listener = listener.query::<IShutdownListener>()?;
        let mut listeners = LISTENERS.lock();
        listeners
            .try_reserve(1)
            .map_err(|_| Status::OUT_OF_MEMORY)?;
        listeners.push((identity, listener));
        Ok(())
    }

    fn forget(&self, listener: &IUnknown) -> Result<()> {
        let identity = listener.query::<IUnknown>()?;
        let removed = {
            let mut listeners = LISTENERS.lock();
            let index = listeners
                .iter()
                .position(|(held, _)| held.ptr_eq(&identity))
                .ok_or(Status::NOT_FOUND)?;
            listeners.remove(index)
        };
        // Released outside the lock: the release may run the listener's
        // destructor.
        drop(removed);
        Ok(())
    }
}

/// Tells every listener, latest first, that the machine powers off; a
/// listener that fails is named and the others are told all the same.
pub fn notify() {
    let listeners = core::mem::take(&mut *LISTENERS.lock());
    for (_, listener) in listeners.iter().rev() {
        if let Err(status) = listener.shutting_down() {
            kprintln!("shutdown: a listener failed: {status}");
        }
    }
}
