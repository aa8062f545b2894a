//! The virtio entropy device driver: the first entropy device the kernel lists (`/sys/devices/virtio-rng0`, QEMU's `virtio-rng-device`) as an `IEntropySource`; the network stack takes its seed from it.
//!
//! Binding `/virtio-rng` loads it. A request lends the caller's buffer to
//! the device, which fills it with bytes from the host's random source;
//! the request's doorbell sleeps on the device's interrupt until the
//! device answers (`virtio_hal::AnsweredTransport`), so nothing spins.
//! One request is in flight at a time, under a kernel lock.
//!
//! Releasing the last reference unloads the driver: the device is reset,
//! its queue freed and its interrupt given back.
//!
//! Depends on `com`, `component`, `interfaces`, `virtio-drivers` and
//! `virtio-hal` (the shared `Hal`).

#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

use com::{ComObject, ComPtr, IUnknown, Result, Status, class};
use component::threads::Lock;
use interfaces::device::virtio;
use interfaces::{IEntropySource, IEntropySourceImpl};
use virtio_drivers::device::rng::VirtIORng;
use virtio_hal::{AnsweredTransport, TesseraHal};

/// The device this driver drives, under `/sys/devices`.
const DEVICE: &str = "virtio-rng0";

/// The entropy device.
#[class(IEntropySource)]
struct EntropySource {
    device: Lock<VirtIORng<TesseraHal, AnsweredTransport>>,
}

impl IEntropySourceImpl for EntropySource {
    /// The device may give fewer bytes than asked: it is asked again for
    /// the rest; a device that gives none fails the call.
    fn fill(&self, buffer: &mut [u8]) -> Result<()> {
        if buffer.is_empty() {
            return Err(Status::INVALID_ARGUMENT);
        }
        let mut device = self.device.lock();
        let mut filled = 0;
        while let Some(rest) = buffer.get_mut(filled..).filter(|rest| !rest.is_empty()) {
            let given = device.request_entropy(rest).map_err(virtio_hal::status)?;
            if given == 0 {
                return Err(Status::FAILED);
            }
            filled += given;
        }
        Ok(())
    }
}

fn construct() -> Result<ComPtr<IUnknown>> {
    let namespace = component::namespace()?;
    let (transport, _interrupt) = virtio_hal::open(&namespace, DEVICE, virtio::ENTROPY)?;
    let device = VirtIORng::new(transport).map_err(virtio_hal::status)?;
    let source = EntropySource {
        device: Lock::new(device)?,
    };
    Ok(ComObject::create::<IEntropySource>(source).to_unknown())
}

component::component!(construct);
