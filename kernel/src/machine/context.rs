//! Switching between threads: each thread's registers while it does not
//! run and the stack it runs on, kept here, and the switch itself.
//!
//! A switch happens inside a function call ([`switch_to`]), so only the
//! callee-saved registers need saving; everything else the caller already
//! saved, and a thread interrupted by the timer has its full register frame
//! on its own stack, under the trap handler that called the switch.
//!
//! Contexts live in a table, named by [`ContextId`]s whose generation no
//! other context had: a switch saves into and loads from the table only, a
//! stale id is refused, and the running context cannot be released — so no
//! switch can reach freed memory or resume a thread whose stack is gone.

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

/// A context's name: its slot, and a generation no other context had.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContextId {
    slot: usize,
    generation: u64,
}

/// Whether a context runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// The code running now.
    Running,
    /// A thread to resume: a new one, or one a switch saved.
    Suspended,
}

/// One context.
pub struct Context {
    generation: u64,
    state: State,
    registers: Registers,
    /// The stack it runs on (none for the boot thread's boot stack).
    stack: Option<Box<[u64]>>,
}

impl Default for Context {
    fn default() -> Context {
        Context {
            generation: 0,
            state: State::Suspended,
            registers: Registers::default(),
            stack: None,
        }
    }
}

/// Every context, and which one runs.
struct Table {
    /// One slot per context, empty when free. The contexts are boxed, so a
    /// context never moves while it lives (a switch holds its address) and
    /// the room `init` reserves is a pointer per slot; the vector never
    /// grows past that room, so nothing allocates with interrupts disabled.
    slots: Vec<Option<Box<Context>>>,
    running: usize,
    /// The generation the next context gets.
    next_generation: u64,
}

impl Table {
    /// Context `id`, unless it is gone.
    fn get(&self, id: ContextId) -> Option<&Context> {
        let context = self.slots.get(id.slot)?.as_deref()?;
        (context.generation == id.generation).then_some(context)
    }
}

/// The table; empty until [`init`].
static TABLE: Exclusive<Table> = Exclusive::new(Table {
    slots: Vec::new(),
    running: 0,
    next_generation: 1,
});

/// Makes room for `capacity` contexts and gives the running code (the boot
/// thread, on the boot stack) the first; returns its id. `OUT_OF_MEMORY`
/// when the heap has no room for the table, `NOT_SUPPORTED` on a second call.
pub fn init(capacity: usize) -> com::Result<ContextId> {
    let mut slots = Vec::new();
    slots
        .try_reserve_exact(capacity.max(1))
        .map_err(|_| com::Status::OUT_OF_MEMORY)?;
    slots.push(Some(Box::new(Context {
        generation: 0,
        state: State::Running,
        registers: Registers::default(),
        stack: None,
    })));
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
/// `stack`, which it owns from now on. Refused when the table is full (or
/// before [`init`]): the context comes back, to be freed by the caller.
pub fn create(
    stack: Box<[u64]>,
    start: extern "C" fn(usize) -> !,
    argument: usize,
) -> Result<ContextId, Box<Context>> {
    let mut s = [0; 12];
    s[0] = start as *const () as usize;
    s[1] = argument;
    // Allocated here, with interrupts enabled: the heap may have to wait.
    let mut context = Some(Box::new(Context {
        generation: 0,
        state: State::Suspended,
        registers: Registers {
            ra: thread_entry as *const () as usize,
            // The ABI wants the stack pointer 16-byte aligned.
            sp: stack.as_ptr_range().end as usize & !15,
            s,
        },
        stack: Some(stack),
    }));
    let made = interrupt_mask::without(|| {
        TABLE.with(|table| {
            let slot = match table.slots.iter().position(Option::is_none) {
                Some(slot) => slot,
                None if table.slots.len() < table.slots.capacity() => {
                    table.slots.push(None);
                    table.slots.len() - 1
                }
                None => return None,
            };
            let mut new = context.take()?;
            new.generation = table.next_generation;
            table.next_generation += 1;
            let id = ContextId {
                slot,
                generation: new.generation,
            };
            *table.slots.get_mut(slot)? = Some(new);
            Some(id)
        })
    })
    .flatten();
    // The context is taken only when it is made.
    made.ok_or_else(|| context.unwrap_or_default())
}

/// Takes context `id` out of the table and hands it over, to be freed by
/// the caller with interrupts enabled (the heap may have to wait); none
/// for a stale id and for the running context, which is still on its stack.
pub fn release(id: ContextId) -> Option<Box<Context>> {
    interrupt_mask::without(|| {
        TABLE.with(|table| {
            table.get(id)?;
            if id.slot == table.running {
                return None;
            }
            table.slots.get_mut(id.slot)?.take()
        })
    })
    .flatten()
}

/// Runs `f` on context `id`'s stack; none for a stale id or a context
/// without a stack of its own.
pub fn with_stack<T>(id: ContextId, f: impl FnOnce(&[u64]) -> T) -> Option<T> {
    interrupt_mask::without(|| TABLE.with(|table| table.get(id)?.stack.as_deref().map(f))).flatten()
}

/// Saves the running code's registers in its context and resumes context
/// `to`; returns when something switches back. Does nothing when `to` is
/// the running context, stale, or has nothing to resume.
pub fn switch_to(to: ContextId) {
    let enabled = interrupt_mask::disable();
    let switch = TABLE
        .with(|table| {
            let from = table.running;
            if to.slot == from || table.get(to)?.state != State::Suspended {
                return None;
            }
            let target = table.slots.get_mut(to.slot)?.as_deref_mut()?;
            target.state = State::Running;
            let to_registers = &raw const target.registers;
            let saved = table.slots.get_mut(from)?.as_deref_mut()?;
            saved.state = State::Suspended;
            let from_registers = &raw mut saved.registers;
            table.running = to.slot;
            Some((from_registers, to_registers))
        })
        .flatten();
    if let Some((from, to)) = switch {
        // SAFETY: interrupts are disabled, so nothing runs until the switch
        // is done. Both point into boxed contexts in the table: `from` is
        // the running code's, `to` a suspended one's, holding a new
        // thread's start on the stack the context owns or what a switch
        // saved. A context leaves the table (and is freed) only through
        // `release`, which refuses the running one, and a released one is
        // never switched to: its id is stale.
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
