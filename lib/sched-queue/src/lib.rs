//! First-in, first-out rings of thread ids, sized up front, for scheduling policies.
//!
//! A policy is called with interrupts disabled and must not allocate, so
//! its queues are fixed arrays; this is the one they share. Depends on
//! nothing; `sched-null` and `sched-rr` use it.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

/// Up to `N` thread ids, in the order they were pushed.
pub struct Ring<const N: usize> {
    ids: [u64; N],
    head: usize,
    length: usize,
}

impl<const N: usize> Default for Ring<N> {
    fn default() -> Self {
        Ring::new()
    }
}

impl<const N: usize> Ring<N> {
    /// An empty ring.
    pub const fn new() -> Ring<N> {
        Ring {
            ids: [0; N],
            head: 0,
            length: 0,
        }
    }

    /// Adds `id` at the back; false when the ring is full.
    pub fn push(&mut self, id: u64) -> bool {
        if self.length == N {
            return false;
        }
        self.ids[(self.head + self.length) % N] = id;
        self.length += 1;
        true
    }

    /// Takes the id at the front.
    pub fn pop(&mut self) -> Option<u64> {
        if self.length == 0 {
            return None;
        }
        let id = self.ids[self.head];
        self.head = (self.head + 1) % N;
        self.length -= 1;
        Some(id)
    }

    /// True when the ring holds nothing.
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Drops every `id` from the ring, keeping the others' order.
    pub fn remove(&mut self, id: u64) {
        let mut kept = 0;
        for slot in 0..self.length {
            let value = self.ids[(self.head + slot) % N];
            if value != id {
                self.ids[(self.head + kept) % N] = value;
                kept += 1;
            }
        }
        self.length = kept;
    }
}

#[cfg(test)]
mod tests {
    use super::Ring;

    #[test]
    fn first_in_first_out_across_the_wrap() {
        let mut ring = Ring::<4>::new();
        for round in 0..3u64 {
            assert!(
                ring.push(round * 10 + 1) && ring.push(round * 10 + 2) && ring.push(round * 10 + 3)
            );
            assert_eq!(ring.pop(), Some(round * 10 + 1));
            assert_eq!(ring.pop(), Some(round * 10 + 2));
            assert_eq!(ring.pop(), Some(round * 10 + 3));
            assert!(ring.is_empty());
        }
    }

    #[test]
    fn full_rings_refuse_and_removal_keeps_order() {
        let mut ring = Ring::<3>::new();
        assert!(ring.push(1) && ring.push(2) && ring.push(3));
        assert!(!ring.push(4), "a full ring refuses");
        ring.remove(2);
        assert!(ring.push(5));
        assert_eq!(
            [ring.pop(), ring.pop(), ring.pop(), ring.pop()],
            [Some(1), Some(3), Some(5), None]
        );
    }
}
