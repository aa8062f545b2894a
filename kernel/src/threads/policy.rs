//! The scheduling policy: round-robin over the ready threads.

use alloc::collections::VecDeque;

use com::{Result, Status};

use super::ThreadId;

/// Ready threads in the order they will run.
pub struct RoundRobin {
    queue: VecDeque<ThreadId>,
}

impl RoundRobin {
    /// A policy with room for `capacity` ready threads, reserved now so
    /// that making a thread ready never allocates.
    pub fn new(capacity: usize) -> Result<RoundRobin> {
        let mut queue = VecDeque::new();
        queue
            .try_reserve_exact(capacity)
            .map_err(|_| Status::OUT_OF_MEMORY)?;
        Ok(RoundRobin { queue })
    }

    /// `id` is ready to run: it goes to the back.
    pub fn ready(&mut self, id: ThreadId) {
        if self.queue.len() < self.queue.capacity() {
            self.queue.push_back(id);
        }
    }

    /// The next thread to run, taken off the queue.
    pub fn pick(&mut self) -> Option<ThreadId> {
        self.queue.pop_front()
    }

    /// True when no thread is waiting.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}
