//! The scheduling policy: round-robin over the ready threads.
//!
//! The queue is a fixed ring of thread-table indices, so making a thread
//! ready or picking the next one is a few instructions and never allocates.

use super::MAX_THREADS;

/// Ready threads, by index in the thread table, in the order they will run.
pub struct RoundRobin {
    ring: [usize; MAX_THREADS],
    /// Where the next pick comes from.
    head: usize,
    /// How many are waiting.
    length: usize,
}

// The ring wraps with a mask.
const _: () = assert!(MAX_THREADS.is_power_of_two());

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
    pub fn ready(&mut self, index: usize) {
        if self.length < MAX_THREADS {
            self.ring[(self.head + self.length) & (MAX_THREADS - 1)] = index;
            self.length += 1;
        }
    }

    /// The index of the next thread to run, taken off the queue.
    pub fn pick(&mut self) -> Option<usize> {
        if self.length == 0 {
            return None;
        }
        let index = self.ring[self.head & (MAX_THREADS - 1)];
        self.head = (self.head + 1) & (MAX_THREADS - 1);
        self.length -= 1;
        Some(index)
    }

    /// True when no thread is waiting.
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// The thread at `from` moved to `to` in the table.
    pub fn moved(&mut self, from: usize, to: usize) {
        for slot in 0..self.length {
            let at = (self.head + slot) & (MAX_THREADS - 1);
            if self.ring[at] == from {
                self.ring[at] = to;
            }
        }
    }
}
