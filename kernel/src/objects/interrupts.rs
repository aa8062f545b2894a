//! `/sys/interrupts`: device interrupts for driver components, as objects
//! to wait on (`IInterrupts`, `IInterruptSource`).

use alloc::sync::Arc;

use com::{ComObject, ComPtr, Result, Status, class};
use interfaces::{IInterruptSource, IInterruptSourceImpl, IInterrupts, IInterruptsImpl};

use crate::interrupt_registry::{self, SourceEvent};
use crate::threads::Event;

/// The registry, as drivers see it.
#[class(IInterrupts)]
pub struct InterruptService;

impl IInterruptsImpl for InterruptService {
    fn attach(&self, source: u32) -> Result<ComPtr<IInterruptSource>> {
        let event = Arc::new(Event::new());
        interrupt_registry::attach(source, SourceEvent::Shared(event.clone()))?;
        Ok(ComObject::create(AttachedSource { source, event }))
    }

    fn last_entry_instructions(&self) -> Result<u64> {
        // The idle thread counts a halt before the interrupt that ended it
        // enters; a reading compared with this one is taken before the
        // hart halts again (the interrupt's work ends first).
        Ok(crate::threads::worked_at(
            crate::machine::trap::last_interrupt_entry(),
        ))
    }
}

/// A source a driver attached; released, it is detached.
#[class(IInterruptSource)]
struct AttachedSource {
    source: u32,
    event: Arc<Event>,
}

impl IInterruptSourceImpl for AttachedSource {
    fn wait(&self) -> Result<()> {
        interrupt_registry::rearm(self.source);
        self.event.wait();
        Ok(())
    }

    fn raise(&self) -> Result<()> {
        self.event.set();
        Ok(())
    }

    fn wait_until(&self, deadline: u64) -> Result<()> {
        interrupt_registry::rearm(self.source);
        if self.event.wait_until(deadline) {
            Ok(())
        } else {
            Err(Status::TIMED_OUT)
        }
    }
}

impl Drop for AttachedSource {
    fn drop(&mut self) {
        // The registry's share of the event is dropped here, with
        // interrupts enabled.
        drop(interrupt_registry::detach(self.source));
    }
}
