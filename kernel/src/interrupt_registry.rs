//! The interrupt registry: a device's interrupt source is tied to an
//! [`Event`], and all an interrupt does is raise that event, waking the
//! driver thread that waits on it. There is no way to register code to run
//! in the interrupt itself, so a routine can only ever wake a thread.
//!
//! A source is masked when it fires and stays masked until its driver,
//! having serviced the device, calls [`rearm`] — so a level-triggered
//! device that is still asserting does not interrupt again meanwhile.

#[cfg(feature = "loader")]
use alloc::sync::Arc;

use com::{Result, Status};

use crate::machine::interrupt_mask::{self, Exclusive};
use crate::machine::{plic, trap};
use crate::threads::Event;

/// One more than the highest source the registry handles. Without the
/// loader no driver component can attach a source: only the kernel's
/// console does, and QEMU virt's UART is source 10 (a board whose UART is
/// higher keeps polled input), so the table is sized for that.
const SOURCES: usize = if cfg!(feature = "loader") { 128 } else { 16 };

/// The event a source raises: the kernel's own (a static), or one a driver
/// component holds a share of (drivers come with the loader).
pub enum SourceEvent {
    /// An event that lives as long as the kernel.
    Static(&'static Event),
    /// An event shared with the driver; the registry's share is dropped
    /// with interrupts enabled when the source is detached.
    #[cfg(feature = "loader")]
    Shared(Arc<Event>),
}

impl SourceEvent {
    fn event(&self) -> &Event {
        match self {
            SourceEvent::Static(event) => event,
            #[cfg(feature = "loader")]
            SourceEvent::Shared(event) => event,
        }
    }
}

/// The event of each source, if a driver attached one.
static EVENTS: Exclusive<[Option<SourceEvent>; SOURCES]> =
    Exclusive::new([const { None }; SOURCES]);

/// Starts taking device interrupts through the PLIC at `base` (`context`:
/// this hart's supervisor context).
pub fn init(base: usize, context: usize) {
    plic::init(base, context);
    trap::set_external_handler(on_interrupt);
}

/// Ties `source` to `event` and unmasks it; `ALREADY_EXISTS` if another
/// driver has it.
pub fn attach(source: u32, event: SourceEvent) -> Result<()> {
    let index = usize::try_from(source)
        .ok()
        .filter(|&index| index > 0 && index < SOURCES)
        .ok_or(Status::OUT_OF_RANGE)?;
    interrupt_mask::without(|| {
        EVENTS.with(|events| match events[index] {
            Some(_) => Err(Status::ALREADY_EXISTS),
            None => {
                events[index] = Some(event);
                plic::set_enabled(source, true);
                Ok(())
            }
        })
    })
    .unwrap_or(Err(Status::FAILED))
}

/// Masks `source` and unties it from its event, which is returned so the
/// caller drops it with interrupts enabled.
#[cfg(feature = "loader")]
pub fn detach(source: u32) -> Option<SourceEvent> {
    let index = usize::try_from(source)
        .ok()
        .filter(|&index| index > 0 && index < SOURCES)?;
    interrupt_mask::without(|| {
        plic::set_enabled(source, false);
        EVENTS.with(|events| events[index].take()).flatten()
    })
}

/// Lets `source` interrupt again, once its driver serviced the device.
pub fn rearm(source: u32) {
    plic::set_enabled(source, true);
}

/// The external interrupt: for every pending source, mask it, raise its
/// event, and tell the PLIC it was handled; then let a woken driver run.
fn on_interrupt() {
    loop {
        let source = plic::claim();
        if source == 0 {
            crate::threads::after_interrupt();
            return;
        }
        plic::set_enabled(source, false);
        let _ = EVENTS.with(|events| {
            let slot = usize::try_from(source)
                .ok()
                .and_then(|index| events.get(index));
            if let Some(Some(event)) = slot {
                event.event().set();
            }
        });
        plic::complete(source);
    }
}
