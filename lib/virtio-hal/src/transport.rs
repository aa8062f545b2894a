//! Virtio-mmio transports that hold their device's interrupt: one whose
//! doorbell waits for the device's answer, one whose doorbell returns.

use com::ComPtr;
use interfaces::IInterruptSource;
use virtio_drivers::PhysAddr;
use virtio_drivers::transport::mmio::MmioTransport;
use virtio_drivers::transport::{DeviceStatus, DeviceType, InterruptStatus, Transport};
use zerocopy::{FromBytes, Immutable, IntoBytes};

/// An MMIO transport that holds its device's interrupt. With `ANSWERED`
/// ([`AnsweredTransport`]), ringing a queue's doorbell (`notify`) sleeps
/// on the interrupt until the device answers, and acknowledges it;
/// without ([`PostedTransport`]), the doorbell returns at once and the
/// driver waits on the interrupt itself.
pub struct InterruptTransport<const ANSWERED: bool> {
    inner: MmioTransport<'static>,
    interrupt: ComPtr<IInterruptSource>,
}

/// The transport of request/response devices (block, 9P).
///
/// The crate's request calls notify, then poll the used ring until the
/// answer is there: through this transport they find it there at once,
/// so nothing spins while the device works. Not for devices that are
/// handed buffers to fill later (a network card's receive queue): their
/// doorbell has no prompt answer.
pub type AnsweredTransport = InterruptTransport<true>;

/// The transport of devices whose queues are filled whenever the outside
/// world sends something (a network card): the driver sleeps on the
/// interrupt when it has nothing to do ([`crate::net`]).
pub type PostedTransport = InterruptTransport<false>;

impl<const ANSWERED: bool> InterruptTransport<ANSWERED> {
    /// `inner`, whose device raises `interrupt`.
    pub fn new(inner: MmioTransport<'static>, interrupt: ComPtr<IInterruptSource>) -> Self {
        InterruptTransport { inner, interrupt }
    }

    /// Sleeps until the device interrupts, then acknowledges it (so that
    /// the next wait sleeps until the next answer).
    pub fn wait_for_interrupt(&mut self) {
        // `wait` fails only for a source that is gone, which a driver that
        // holds it cannot see; the caller checks the used ring either way.
        let _ = self.interrupt.wait();
        self.inner.ack_interrupt();
    }
}

// SAFETY: the transport is the only user of its device's registers (the
// driver attached the device's interrupt, which only one driver can), and
// every use goes through `&mut self`, so moving it to another thread or
// sharing it behind a lock races with nothing.
unsafe impl<const ANSWERED: bool> Send for InterruptTransport<ANSWERED> {}
// SAFETY: as above; its `&self` methods only read registers.
unsafe impl<const ANSWERED: bool> Sync for InterruptTransport<ANSWERED> {}

impl<const ANSWERED: bool> Transport for InterruptTransport<ANSWERED> {
    fn device_type(&self) -> DeviceType {
        self.inner.device_type()
    }

    fn read_device_features(&mut self) -> u64 {
        self.inner.read_device_features()
    }

    fn write_driver_features(&mut self, driver_features: u64) {
        self.inner.write_driver_features(driver_features);
    }

    fn max_queue_size(&mut self, queue: u16) -> u32 {
        self.inner.max_queue_size(queue)
    }

    fn notify(&mut self, queue: u16) {
        self.inner.notify(queue);
        if ANSWERED {
            self.wait_for_interrupt();
        }
    }

    fn get_status(&self) -> DeviceStatus {
        self.inner.get_status()
    }

    fn set_status(&mut self, status: DeviceStatus) {
        self.inner.set_status(status);
    }

    fn set_guest_page_size(&mut self, guest_page_size: u32) {
        self.inner.set_guest_page_size(guest_page_size);
    }

    fn requires_legacy_layout(&self) -> bool {
        self.inner.requires_legacy_layout()
    }

    fn queue_set(
        &mut self,
        queue: u16,
        size: u32,
        descriptors: PhysAddr,
        driver_area: PhysAddr,
        device_area: PhysAddr,
    ) {
        self.inner
            .queue_set(queue, size, descriptors, driver_area, device_area);
    }

    fn queue_unset(&mut self, queue: u16) {
        self.inner.queue_unset(queue);
    }

    fn queue_used(&mut self, queue: u16) -> bool {
        self.inner.queue_used(queue)
    }

    fn ack_interrupt(&mut self) -> InterruptStatus {
        self.inner.ack_interrupt()
    }

    fn read_config_generation(&self) -> u32 {
        self.inner.read_config_generation()
    }

    fn read_config_space<T: FromBytes + IntoBytes>(
        &self,
        offset: usize,
    ) -> virtio_drivers::Result<T> {
        self.inner.read_config_space(offset)
    }

    fn write_config_space<T: IntoBytes + Immutable>(
        &mut self,
        offset: usize,
        value: T,
    ) -> virtio_drivers::Result<()> {
        self.inner.write_config_space(offset, value)
    }
}
