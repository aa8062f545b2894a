//! A lock that lives in an object's published state, so that every module
//! driving the object — the kernel and a component that took it over —
//! locks the same word.
//!
//! `#[repr(C)]`, one 32-bit word: 0 free, 1 held, 2 held with threads
//! asleep on it. Taking a free lock is one compare-and-swap; releasing one
//! nobody waits for is one swap. A waiter sleeps in the kernel's wait queue
//! for the word (spins on the host), so a holder preempted mid-way is not
//! spun against.

use core::sync::atomic::{AtomicU32, Ordering};

use crate::wait;

const FREE: u32 = 0;
const HELD: u32 = 1;
const HELD_WITH_WAITERS: u32 = 2;

/// A mutual-exclusion lock of one word, shareable between modules.
#[repr(C)]
#[derive(Debug, Default)]
pub struct WordLock {
    word: AtomicU32,
}

/// A held [`WordLock`]; dropping it releases the lock.
#[must_use = "dropping the guard releases the lock at once"]
pub struct WordLockGuard<'a> {
    lock: &'a WordLock,
}

impl WordLock {
    /// A free lock.
    pub const fn new() -> WordLock {
        WordLock {
            word: AtomicU32::new(FREE),
        }
    }

    /// Takes the lock, sleeping while another thread holds it.
    #[inline]
    pub fn lock(&self) -> WordLockGuard<'_> {
        if self
            .word
            .compare_exchange(FREE, HELD, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        WordLockGuard { lock: self }
    }

    /// Marks the lock as waited for and sleeps until it is free. Whoever
    /// gets it this way leaves it marked, since others may still sleep.
    #[cold]
    fn lock_contended(&self) {
        while self.word.swap(HELD_WITH_WAITERS, Ordering::Acquire) != FREE {
            wait::wait(&self.word, HELD_WITH_WAITERS, wait::FOREVER);
        }
    }
}

impl Drop for WordLockGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.lock.word.swap(FREE, Ordering::Release) == HELD_WITH_WAITERS {
            wait::wake(&self.lock.word);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn a_held_lock_is_marked_and_freed() {
        let lock = WordLock::new();
        let guard = lock.lock();
        assert_eq!(lock.word.load(Ordering::Relaxed), HELD);
        drop(guard);
        assert_eq!(lock.word.load(Ordering::Relaxed), FREE);
    }

    /// Four threads add to a counter with a separate load and store under
    /// the lock: without mutual exclusion, additions would be lost.
    #[test]
    fn threads_under_the_lock_lose_no_update() {
        struct Shared {
            lock: WordLock,
            count: AtomicU64,
        }
        let shared = Arc::new(Shared {
            lock: WordLock::new(),
            count: AtomicU64::new(0),
        });
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        let _held = shared.lock.lock();
                        let seen = shared.count.load(Ordering::Relaxed);
                        std::hint::spin_loop();
                        shared.count.store(seen + 1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .for_each(|worker| worker.join().expect("a worker panicked"));
        assert_eq!(shared.count.load(Ordering::Relaxed), 40_000);
        assert_eq!(shared.lock.word.load(Ordering::Relaxed), FREE);
    }
}
