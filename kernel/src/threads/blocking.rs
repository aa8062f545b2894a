//! Blocking locks and conditions: a thread that must wait leaves the
//! processor until it is woken, instead of spinning.
//!
//! Both key their waiters by their own address ([`super::wait_on`]); the
//! uncontended paths are one atomic compare-and-swap each and never touch
//! the scheduler.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::{current_id, lend_urgency, stop_lending, wait_on, wake_all, wake_one};

/// Set in a lock word when threads may be waiting for the lock.
const CONTENDED: u64 = 1;

/// A mutual-exclusion lock whose waiters block.
///
/// The lock word is 0 when free, else the owner's id shifted left by one,
/// with [`CONTENDED`] set when someone may wait.
pub struct Mutex<T> {
    word: AtomicU64,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through a guard, and the lock word
// lets one guard exist at a time.
unsafe impl<T: Send> Sync for Mutex<T> {}
// SAFETY: as above; moving the mutex moves the value.
unsafe impl<T: Send> Send for Mutex<T> {}

/// Access to a locked [`Mutex`]'s value; unlocks when dropped.
pub struct MutexGuard<'a, T> {
    mutex: &'a Mutex<T>,
}

impl<T> Mutex<T> {
    /// An unlocked mutex holding `value`.
    pub const fn new(value: T) -> Mutex<T> {
        Mutex {
            word: AtomicU64::new(0),
            value: UnsafeCell::new(value),
        }
    }

    /// Waits for the lock and takes it.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        let me = current_id() << 1;
        if self
            .word
            .compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended(me);
        }
        MutexGuard { mutex: self }
    }

    /// Takes the lock if it is free.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        let me = current_id() << 1;
        self.word
            .compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| MutexGuard { mutex: self })
    }

    #[cold]
    fn lock_contended(&self, me: u64) {
        loop {
            // Came through the contended path: others may be waiting too,
            // so the unlock must look for them.
            if self
                .word
                .compare_exchange(0, me | CONTENDED, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                // Those still waiting now wait for us.
                lend_urgency(self.key(), me >> 1);
                return;
            }
            // `wait_on` runs this with interrupts disabled, so the owner
            // cannot unlock between the check and the sleep; if it already
            // did, try again instead of sleeping.
            wait_on(self.key(), u64::MAX, || {
                let word = self.word.load(Ordering::Relaxed);
                if word != 0 {
                    self.word.fetch_or(CONTENDED, Ordering::Relaxed);
                    // The owner runs with our urgency (and every other
                    // waiter's: it may have taken the lock ahead of them)
                    // until it unlocks.
                    lend_urgency(self.key(), word >> 1);
                }
                word != 0
            });
        }
    }

    fn unlock(&self) {
        let me = current_id() << 1;
        if self
            .word
            .compare_exchange(me, 0, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            self.hand_over();
        }
    }

    /// Frees a lock others may wait for, and wakes one of them.
    fn hand_over(&self) {
        self.word.store(0, Ordering::Release);
        stop_lending(self.key());
        wake_one(self.key());
    }

    fn key(&self) -> usize {
        (&raw const self.word) as usize
    }
}

/// A lock held across calls, without a guard: a component's (`IMutex`).
impl Mutex<()> {
    /// Waits for the lock and takes it, until [`Mutex::unlock_held`].
    pub fn lock_unguarded(&self) {
        core::mem::forget(self.lock());
    }

    /// Takes the lock if it is free, until [`Mutex::unlock_held`].
    pub fn try_lock_unguarded(&self) -> bool {
        self.try_lock().map(core::mem::forget).is_some()
    }

    /// Releases the lock if the calling thread holds it (else false).
    pub fn unlock_held(&self) -> bool {
        let me = current_id() << 1;
        match self
            .word
            .compare_exchange(me, 0, Ordering::Release, Ordering::Relaxed)
        {
            Ok(_) => true,
            Err(word) if word & !CONTENDED == me => {
                self.hand_over();
                true
            }
            Err(_) => false,
        }
    }

    fn held_by_caller(&self) -> bool {
        self.word.load(Ordering::Relaxed) >> 1 == current_id()
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock, and `&mut self` is unique.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}

/// A condition threads wait on, with a [`Mutex`] guarding what they wait for.
pub struct Condition {
    /// Gives the condition a unique address: waiters are keyed by it.
    _key: u8,
}

impl Default for Condition {
    fn default() -> Condition {
        Condition::new()
    }
}

impl Condition {
    /// A condition nobody waits on.
    pub const fn new() -> Condition {
        Condition { _key: 0 }
    }

    /// Releases `mutex`, taken without a guard ([`Mutex::lock_unguarded`]),
    /// waits for a signal or for `time` to reach `deadline`, and takes the
    /// lock again: `None` when the caller does not hold `mutex`, else
    /// whether the wait timed out.
    pub fn wait_unguarded(&self, mutex: &Mutex<()>, deadline: u64) -> Option<bool> {
        if !mutex.held_by_caller() {
            return None;
        }
        let signalled = wait_on(self.key(), deadline, || {
            mutex.unlock();
            true
        });
        mutex.lock_unguarded();
        Some(!signalled)
    }

    /// Wakes the longest waiter, if any. Safe in an interrupt routine.
    pub fn signal(&self) {
        wake_one(self.key());
    }

    /// Wakes every waiter.
    pub fn broadcast(&self) {
        wake_all(self.key());
    }

    fn key(&self) -> usize {
        (&raw const self._key) as usize
    }
}

/// A flag one side raises and another waits for — the one thing an
/// interrupt routine may do to a thread ([`crate::interrupt_registry`]).
pub struct Event {
    raised: AtomicBool,
}

impl Default for Event {
    fn default() -> Event {
        Event::new()
    }
}

impl Event {
    /// An event not raised.
    pub const fn new() -> Event {
        Event {
            raised: AtomicBool::new(false),
        }
    }

    /// Raises the event, waking its waiters. Safe in an interrupt routine:
    /// it only makes threads ready.
    pub fn set(&self) {
        self.raised.store(true, Ordering::Release);
        wake_all(self.key());
    }

    /// Waits until the event is raised, and lowers it.
    pub fn wait(&self) {
        self.wait_until(u64::MAX);
    }

    /// Waits until the event is raised, and lowers it, or until `time`
    /// reaches `deadline` (`u64::MAX`: never); false when it timed out.
    pub fn wait_until(&self, deadline: u64) -> bool {
        while !self.raised.swap(false, Ordering::Acquire) {
            // Checked again with interrupts disabled: a `set` that came
            // just before cannot be missed.
            let woken = wait_on(self.key(), deadline, || {
                !self.raised.load(Ordering::Acquire)
            });
            if !woken {
                return self.raised.swap(false, Ordering::Acquire);
            }
        }
        true
    }

    fn key(&self) -> usize {
        (&raw const self.raised) as usize
    }
}
