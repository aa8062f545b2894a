//! Threads made for components: created ready to run (through
//! `/sys/process`, or in U-mode), joined or detached, and freed once they
//! have exited. Only with the loader: without it nothing can ask for a
//! thread, and the kernel's own two (`main` and `idle`) never end.

use com::{Result, Status};

use super::thread::{Entry, State, Thread};
use super::{ThreadId, exit, start, switch, with_scheduler};
use crate::machine::mmu::View;
use crate::machine::{interrupt_mask, timer};

/// Creates a thread running a component's `function(argument)` on a stack
/// of `stack_size` bytes; it is ready at once.
pub fn spawn_component(
    name: &str,
    function: extern "C" fn(u64),
    argument: u64,
    stack_size: usize,
) -> Result<ThreadId> {
    spawn_entry(
        name,
        Entry::Component(function, argument),
        stack_size,
        View::BARE,
    )
}

pub(super) fn spawn_entry(
    name: &str,
    entry: Entry,
    stack_size: usize,
    view: View,
) -> Result<ThreadId> {
    let id = interrupt_mask::without(|| {
        with_scheduler(|scheduler| {
            let id = scheduler.next_id;
            scheduler.next_id += 1;
            id
        })
    })?;
    // Allocated with interrupts enabled: the heap may have to wait.
    let mut thread = com::try_box(Thread::new(id, name, stack_size, entry, start)?)?;
    thread.context.view = view;
    let refused = interrupt_mask::without(|| {
        with_scheduler(|scheduler| {
            if scheduler.threads.len() == scheduler.threads.capacity() {
                return Some(thread);
            }
            scheduler.threads.push(thread);
            scheduler.policy.ready(scheduler.threads.len() - 1, id);
            scheduler.program_timer(timer::now());
            None
        })
    })?;
    match refused {
        // Freed here, with interrupts enabled.
        Some(thread) => {
            drop(thread);
            Err(Status::OUT_OF_MEMORY)
        }
        None => Ok(id),
    }
}

/// Ends the calling thread with `outcome`, which [`wait_exit`] returns to
/// whoever waits for it.
pub(super) fn exit_with(outcome: Status) -> ! {
    interrupt_mask::disable();
    let _ = with_scheduler(|scheduler| {
        if let Some(me) = scheduler.current_mut() {
            me.outcome = outcome;
        }
    });
    exit()
}

/// Waits until thread `id` has exited (its record stays); the error that
/// ended it, if one did.
pub fn wait_exit(id: ThreadId) -> Result<()> {
    loop {
        let exited = interrupt_mask::without(|| {
            let exited = with_scheduler(|scheduler| {
                let index = scheduler.index_of(id).ok_or(Status::NOT_FOUND)?;
                if index == scheduler.current || index == scheduler.idle {
                    return Err(Status::INVALID_ARGUMENT);
                }
                let thread = &scheduler.threads[index];
                if thread.state == State::Exited {
                    return thread.outcome.check().map(|()| true);
                }
                scheduler.current_mut().ok_or(Status::NOT_SUPPORTED)?.state = State::Joining(id);
                Ok(false)
            })??;
            if !exited {
                switch(false);
            }
            Ok::<bool, Status>(exited)
        })?;
        if exited {
            return Ok(());
        }
    }
}

/// Nobody will join thread `id`: it is freed as soon as it has exited
/// (now, or later by the idle thread).
pub fn detach(id: ThreadId) {
    let record = interrupt_mask::without(|| {
        with_scheduler(|scheduler| {
            let index = scheduler.index_of(id)?;
            if scheduler.threads[index].state == State::Exited {
                return Some(scheduler.remove(index));
            }
            scheduler.threads[index].detached = true;
            None
        })
    });
    // Freed with interrupts enabled.
    drop(record);
}

/// Frees the records of exited detached threads, one at a time, with
/// interrupts enabled between (run by the idle thread).
pub(super) fn reap_detached() {
    loop {
        let record = interrupt_mask::without(|| {
            with_scheduler(|scheduler| {
                let index = scheduler
                    .threads
                    .iter()
                    .position(|thread| thread.detached && thread.state == State::Exited)?;
                Some(scheduler.remove(index))
            })
        });
        match record {
            Ok(Some(record)) => drop(record),
            _ => return,
        }
    }
}
