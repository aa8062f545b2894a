//! The scheduling policy: the built-in round-robin, or a policy component
//! reached through `ISchedulerPolicy`.
//!
//! The built-in queue is a fixed ring of thread-table indices, so making a
//! thread ready or picking the next one is a few instructions and never
//! allocates — the default path is the fast one.
//!
//! Policy components are components: without the loader there are none,
//! and [`Component`] is a type with no values, so the compiler drops every
//! path through one — a component's picks, its time constraints, the
//! urgency lent along locks — and the built-in policy is all there is.

use com::ComPtr;
use interfaces::ISchedulerPolicy;

use super::MAX_THREADS;

/// Ready threads, by index in the thread table, in the order they will run.
pub struct RoundRobin {
    /// A byte per index (the table holds at most 256 threads): 256 bytes,
    /// where a word per index took 2 KB of every kernel with threads.
    ring: [Slot; MAX_THREADS],
    /// Where the next pick comes from.
    head: usize,
    /// How many are waiting.
    length: usize,
}

/// A thread-table index in the ring.
type Slot = u8;

// The ring wraps with a mask, and every index fits a slot.
const _: () = assert!(MAX_THREADS.is_power_of_two());
const _: () = assert!(MAX_THREADS - 1 <= Slot::MAX as usize);

/// `index` (below `MAX_THREADS`) as a slot.
#[inline(always)]
#[allow(
    clippy::cast_possible_truncation,
    reason = "thread-table indices are below MAX_THREADS, which fits a slot (asserted above)"
)]
fn to_slot(index: usize) -> Slot {
    index as Slot
}

impl RoundRobin {
    /// An empty queue.
    pub const fn new() -> RoundRobin {
        RoundRobin {
            ring: [0; MAX_THREADS],
            head: 0,
            length: 0,
        }
    }

    /// The thread at `index` is ready to run: it goes to the back.
    #[inline(always)]
    pub fn ready(&mut self, index: usize) {
        if self.length < MAX_THREADS {
            self.ring[(self.head + self.length) & (MAX_THREADS - 1)] = to_slot(index);
            self.length += 1;
        }
    }

    /// The index of the next thread to run, taken off the queue.
    #[inline(always)]
    pub fn pick(&mut self) -> Option<usize> {
        if self.length == 0 {
            return None;
        }
        let index = self.ring[self.head & (MAX_THREADS - 1)];
        self.head = (self.head + 1) & (MAX_THREADS - 1);
        self.length -= 1;
        Some(usize::from(index))
    }

    /// Puts `index` at the back and takes the front: a yield's requeue and
    /// pick in one step (with nobody else waiting, `index` comes back).
    #[inline(always)]
    pub fn rotate(&mut self, index: usize) -> usize {
        if self.length == 0 {
            return index;
        }
        let front = self.ring[self.head & (MAX_THREADS - 1)];
        self.ring[(self.head + self.length) & (MAX_THREADS - 1)] = to_slot(index);
        self.head = (self.head + 1) & (MAX_THREADS - 1);
        usize::from(front)
    }

    /// True when no thread is waiting.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// The thread at `from` moved to `to` in the table.
    pub fn moved(&mut self, from: usize, to: usize) {
        for slot in 0..self.length {
            let at = (self.head + slot) & (MAX_THREADS - 1);
            if usize::from(self.ring[at]) == from {
                self.ring[at] = to_slot(to);
            }
        }
    }
}

/// The policy in force: the built-in round-robin, unless a component has
/// been put in charge. The built-in path is tested first and inline, so
/// the default scheduler pays nothing for the choice.
pub struct Policy {
    builtin: RoundRobin,
    component: Option<Component>,
}

/// A policy component, which knows threads by id.
pub struct Component {
    object: ComPtr<ISchedulerPolicy>,
    /// Cached: the component answers it the same way every time.
    preemptive: bool,
    /// Without the loader no component can exist: this field has no value,
    /// so neither has the type.
    #[cfg(not(feature = "loader"))]
    _none: core::convert::Infallible,
}

impl Component {
    /// Wraps a policy object.
    #[cfg(feature = "loader")]
    pub fn new(object: ComPtr<ISchedulerPolicy>) -> com::Result<Component> {
        let preemptive = object.preemptive()?;
        Ok(Component { object, preemptive })
    }

    // The calls into the component stay out of line, so the built-in path
    // they sit beside keeps its registers.

    #[inline(never)]
    fn ready(&self, id: u64) {
        let _ = self.object.ready(id);
    }

    /// The component's pick at `now`; lowers `due` to the time it must
    /// choose again.
    #[inline(never)]
    fn pick(&self, now: u64, due: &mut u64) -> Option<u64> {
        let pick = self.object.pick(now).ok()?;
        *due = (*due).min(pick.until);
        Some(pick.thread)
    }

    #[inline(never)]
    fn is_empty(&self) -> bool {
        !self.object.has_ready().unwrap_or(false)
    }
}

impl Policy {
    /// The built-in policy, empty.
    pub const fn builtin() -> Policy {
        Policy {
            builtin: RoundRobin::new(),
            component: None,
        }
    }

    /// Puts `component` (or, with `None`, the built-in policy) in charge;
    /// returns the component that was. The caller moves the ready threads.
    #[cfg(feature = "loader")]
    pub fn replace(&mut self, component: Option<Component>) -> Option<Component> {
        core::mem::replace(&mut self.component, component)
    }

    /// Thread `id`, at `index` in the table, is ready.
    #[inline(always)]
    pub fn ready(&mut self, index: usize, id: u64) {
        match &self.component {
            None => self.builtin.ready(index),
            Some(component) => component.ready(id),
        }
    }

    /// The next thread to run, as an index into the thread table; `find`
    /// turns a component's thread id into one (`None`: the thread is gone).
    /// `now` is the time (a component charges the thread it picked before);
    /// a component lowers `due` to when it must choose again (`Pick::until`).
    #[inline(always)]
    pub fn pick(
        &mut self,
        now: u64,
        due: &mut u64,
        find: impl FnOnce(u64) -> Option<usize>,
    ) -> Option<Option<usize>> {
        match &self.component {
            None => self.builtin.pick().map(Some),
            Some(component) => component.pick(now, due).map(find),
        }
    }

    /// Requeues the running thread (`index`, `id`) and picks the next, as
    /// `ready` then `pick` would; the built-in policy does both at once.
    #[inline(always)]
    pub fn requeue_and_pick(
        &mut self,
        index: usize,
        id: u64,
        now: u64,
        due: &mut u64,
        find: impl FnOnce(u64) -> Option<usize>,
    ) -> Option<Option<usize>> {
        match &self.component {
            None => Some(Some(self.builtin.rotate(index))),
            Some(component) => {
                component.ready(id);
                component.pick(now, due).map(find)
            }
        }
    }

    /// True when no thread waits for the processor.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        match &self.component {
            None => self.builtin.is_empty(),
            Some(component) => component.is_empty(),
        }
    }

    /// True when a component is in charge (the built-in policy has no
    /// urgencies to lend, so waiters need not be told to it).
    #[inline(always)]
    pub fn is_component(&self) -> bool {
        self.component.is_some()
    }

    /// Whether running threads get time slices.
    #[inline(always)]
    pub fn preemptive(&self) -> bool {
        self.component
            .as_ref()
            .is_none_or(|component| component.preemptive)
    }

    /// The thread at `from` moved to `to` in the table.
    pub fn moved(&mut self, from: usize, to: usize) {
        self.builtin.moved(from, to);
    }

    /// Forwards a time constraint to the component; the built-in policy
    /// has none.
    pub fn begin_constraint(
        &self,
        id: u64,
        start: u64,
        estimate: u64,
        deadline: u64,
        criticality: u32,
    ) -> com::Result<()> {
        match &self.component {
            None => Err(com::Status::NOT_SUPPORTED),
            Some(component) => {
                component
                    .object
                    .begin_constraint(id, start, estimate, deadline, criticality)
            }
        }
    }

    /// Ends thread `id`'s constraint at `now`.
    pub fn end_constraint(&self, id: u64, now: u64) -> com::Result<()> {
        match &self.component {
            None => Err(com::Status::NOT_SUPPORTED),
            Some(component) => component.object.end_constraint(id, now),
        }
    }

    /// `waiter` waits for a lock `holder` holds (ignored by the built-in policy).
    pub fn inherit(&self, holder: u64, waiter: u64) {
        if let Some(component) = &self.component {
            let _ = component.object.inherit(holder, waiter);
        }
    }

    /// `waiter` no longer waits for a lock's holder.
    pub fn disinherit(&self, waiter: u64) {
        if let Some(component) = &self.component {
            let _ = component.object.disinherit(waiter);
        }
    }

    /// Thread `id` is gone.
    pub fn forget(&mut self, id: u64) {
        if let Some(component) = &self.component {
            let _ = component.object.forget(id);
        }
    }
}
