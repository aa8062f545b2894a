//! Switching between threads: each thread's registers while it does not
//! run and the stack it runs on, kept here, and the switch itself.
//!
//! A switch happens inside a function call ([`switch_to`]), so only the
//! callee-saved registers need saving; everything else the caller already
//! saved, and a thread interrupted by the timer has its full register frame
//! on its own stack, under the trap handler that called the switch.
//!
//! Contexts live in a table of fixed capacity that is never freed, named by
//! [`ContextId`]s whose generation changes when a slot is reused: a switch
//! saves into and loads from the table only, a stale id is refused, and the
//! running context's slot cannot be released — so no switch can reach freed
//! memory or resume a thread whose stack is gone.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::interrupt_mask::{self, Exclusive};

/// The callee-saved registers of a thread that is not running.
#[repr(C)]
#[derive(Debug, Default)]
struct Registers {
    ra: usize,
    sp: usize,
    s: [usize; 12],
}

/// A context's name: its slot and the slot's generation when it was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContextId {
    slot: usize,
    generation: u64,
}

/// What a slot of the table holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing: free for a new context.
    Free,
    /// The code running now.
    Running,
    /// A thread to resume: a new one, or one a switch saved.
    Suspended,
}

/// One slot of the table.
struct Slot {
    generation: u64,
    state: State,
    registers: Registers,
    /// The stack it runs on (none for the boot thread's boot stack).
    stack: Option<Box<[u64]>>,
}

/// Every context, and which one runs.
struct Table {
    /// Never grows past the capacity `init` reserved, so a slot's address
    /// never changes; the table itself is never freed.
    slots: Vec<Slot>,
    running: usize,
}

/// The table; empty until [`init`].
static TABLE: Exclusive<Table> = Exclusive::new(Table {
    slots: Vec::new(),
    running: 0,
});

/// Makes room for `capacity` contexts and gives the running code (the boot
/// thread, on the boot stack) the first; returns its id. `OUT_OF_MEMORY`
/// when the heap has no room for the table, `NOT_SUPPORTED` on a second call.
pub fn init(capacity: usize) -> com::Result<ContextId> {
    let mut slots = Vec::new();
    slots
        .try_reserve_exact(capacity.max(1))
        .map_err(|_| com::Status::OUT_OF_MEMORY)?;
    slots.push(Slot {
        generation: 0,
        state: State::Running,
        registers: Registers::default(),
        stack: None,
    });
    interrupt_mask::without(|| {
        TABLE.with(|table| {
            if !table.slots.is_empty() {
                return Err(com::Status::NOT_SUPPORTED);
            }
            table.slots = slots;
            table.running = 0;
            Ok(ContextId {
                slot: 0,
                generation: 0,
            })
        })
    })
    .unwrap_or(Err(com::Status::NOT_SUPPORTED))
}

/// A new context that, when switched to, calls `start(argument)` on
/// `stack`, which it owns from now on; none when the table is full (or
/// before [`init`]). The stack comes back, to be freed by the caller, if
/// the context cannot be made.
pub fn create(
    stack: Box<[u64]>,
    start: extern "C" fn(usize) -> !,
    argument: usize,
) -> Result<ContextId, Box<[u64]>> {
    let mut s = [0; 12];
    s[0] = start as *const () as usize;
    s[1] = argument;
    let registers = Registers {
        ra: thread_entry as *const () as usize,
        // The ABI wants the stack pointer 16-byte aligned.
        sp: stack.as_ptr_range().end as usize & !15,
        s,
    };
    let mut stack = Some(stack);
    let made = interrupt_mask::without(|| {
        TABLE.with(|table| {
            let slot = match table
                .slots
                .iter()
                .position(|slot| slot.state == State::Free)
            {
                Some(slot) => slot,
                None if table.slots.len() < table.slots.capacity() => {
                    table.slots.push(Slot {
                        generation: 0,
                        state: State::Free,
                        registers: Registers::default(),
                        stack: None,
                    });
                    table.slots.len() - 1
                }
                None => return None,
            };
            let entry = table.slots.get_mut(slot)?;
            entry.generation += 1;
            entry.state = State::Suspended;
            entry.registers = registers;
            entry.stack = stack.take();
            Some(ContextId {
                slot,
                generation: entry.generation,
            })
        })
    })
    .flatten();
    // The stack is taken only when the context is made.
    made.ok_or_else(|| stack.unwrap_or_default())
}

/// Frees context `id`'s slot and gives its stack back (to be freed by the
/// caller, with interrupts enabled: the heap may have to wait). The
/// running context is refused (none): it is still on its stack.
pub fn release(id: ContextId) -> Option<Box<[u64]>> {
    interrupt_mask::without(|| {
        TABLE.with(|table| {
            let running = table.running;
            let slot = table.slots.get_mut(id.slot)?;
            if slot.generation != id.generation || slot.state == State::Free || id.slot == running {
                return None;
            }
            slot.state = State::Free;
            slot.registers = Registers::default();
            slot.stack.take()
        })
    })
    .flatten()
}

/// Runs `f` on context `id`'s stack; none for a stale id or a context
/// without a stack of its own.
pub fn with_stack<T>(id: ContextId, f: impl FnOnce(&[u64]) -> T) -> Option<T> {
    interrupt_mask::without(|| {
        TABLE.with(|table| {
            let slot = table.slots.get(id.slot)?;
            if slot.generation != id.generation || slot.state == State::Free {
                return None;
            }
            slot.stack.as_deref().map(f)
        })
    })
    .flatten()
}

/// Saves the running code's registers in its context and resumes context
/// `to`; returns when something switches back. Does nothing when `to` is
/// the running context, stale, or has nothing to resume.
pub fn switch_to(to: ContextId) {
    let enabled = interrupt_mask::disable();
    let switch = TABLE
        .with(|table| {
            let from = table.running;
            let target = table.slots.get(to.slot)?;
            if to.slot == from
                || target.generation != to.generation
                || target.state != State::Suspended
            {
                return None;
            }
            table.slots.get_mut(to.slot)?.state = State::Running;
            let saved = table.slots.get_mut(from)?;
            saved.state = State::Suspended;
            let from_registers = &raw mut saved.registers;
            let to_registers = &raw const table.slots.get(to.slot)?.registers;
            table.running = to.slot;
            Some((from_registers, to_registers))
        })
        .flatten();
    if let Some((from, to)) = switch {
        // SAFETY: interrupts are disabled, so nothing runs until the switch
        // is done; both point into the table, which never moves or shrinks.
        // `from` is the running code's slot; `to` is a suspended one, whose
        // registers are a new thread's start on the stack the slot owns or
        // what a switch saved, and a slot's stack is freed only once it is
        // released, which the running slot never is.
        unsafe { switch_context(from, to) };
    }
    interrupt_mask::restore(enabled);
}

unsafe extern "C" {
    /// Saves the running thread's registers into `from` and resumes `to`.
    fn switch_context(from: *mut Registers, to: *const Registers);
    /// Where a new thread begins: calls `s0(s1)`.
    fn thread_entry();
}

core::arch::global_asm!(
    r#"
    .section .text
    .globl switch_context
switch_context:
    sd ra, 0(a0)
    sd sp, 8(a0)
    sd s0, 16(a0)
    sd s1, 24(a0)
    sd s2, 32(a0)
    sd s3, 40(a0)
    sd s4, 48(a0)
    sd s5, 56(a0)
    sd s6, 64(a0)
    sd s7, 72(a0)
    sd s8, 80(a0)
    sd s9, 88(a0)
    sd s10, 96(a0)
    sd s11, 104(a0)
    ld ra, 0(a1)
    ld sp, 8(a1)
    ld s0, 16(a1)
    ld s1, 24(a1)
    ld s2, 32(a1)
    ld s3, 40(a1)
    ld s4, 48(a1)
    ld s5, 56(a1)
    ld s6, 64(a1)
    ld s7, 72(a1)
    ld s8, 80(a1)
    ld s9, 88(a1)
    ld s10, 96(a1)
    ld s11, 104(a1)
    ret

    .globl thread_entry
thread_entry:
    mv a0, s1
    jr s0
"#
);
