//! The interrupt registry: a device's interrupt source is tied to an
//! [`Event`], and all an interrupt does is raise that event, waking the
//! driver thread that waits on it. There is no way to register code to run
//! in the interrupt itself, so a routine can only ever wake a thread.
//!
//! A source is masked when it fires and stays masked until its driver,
//! having serviced the device, calls [`rearm`] — so a level-triggered
//! device that is still asserting does not interrupt again meanwhile.

use com::{Result, Status};

use crate::machine::interrupts::{self, Exclusive};
use crate::machine::{plic, trap};
use crate::threads::Event;

/// The highest source the registry handles.
const SOURCES: usize = 128;

/// The event of each source, if a driver attached one.
static EVENTS: Exclusive<[Option<&'static Event>; SOURCES]> = Exclusive::new([None; SOURCES]);

/// Starts taking device interrupts through the PLIC at `base` (`context`:
/// this hart's supervisor context).
pub fn init(base: usize, context: usize) {
    plic::init(base, context);
    trap::set_external_handler(on_interrupt);
}

/// Ties `source` to `event` and unmasks it; `ALREADY_EXISTS` if another
/// driver has it.
pub fn attach(source: u32, event: &'static Event) -> Result<()> {
    let index = usize::try_from(source)
        .ok()
        .filter(|&index| index > 0 && index < SOURCES)
        .ok_or(Status::OUT_OF_RANGE)?;
    interrupts::without(|| {
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
        let event = EVENTS.with(|events| {
            usize::try_from(source)
                .ok()
                .and_then(|index| events.get(index).copied().flatten())
        });
        if let Some(Some(event)) = event {
            event.set();
        }
        plic::complete(source);
    }
}
