//! Threads for a component: made through `/sys/process`, scheduled
//! through `/sys/scheduler`, synchronized with the kernel's blocking locks
//! ([`Lock`], [`Condition`]: `IMutex` and `ICondition`).

use com::{ComPtr, Result};
use interfaces::{ICondition, IMutex, IProcess, IScheduler, IThread};
use sync::{Mutex, MutexGuard};

/// `/sys/process`, where threads and locks are made.
pub fn process() -> Result<ComPtr<IProcess>> {
    crate::namespace()?
        .bind("/sys/process", 0)?
        .query::<IProcess>()
}

/// `/sys/scheduler`: yielding, sleeping, time and policies.
pub fn scheduler() -> Result<ComPtr<IScheduler>> {
    crate::namespace()?
        .bind("/sys/scheduler", 0)?
        .query::<IScheduler>()
}

/// Starts a thread running `start(argument)` on a stack of `stack_size`
/// bytes (0: the default); wait for it with `IThread::wait`.
pub fn spawn(start: extern "C" fn(u64), argument: u64, stack_size: u64) -> Result<ComPtr<IThread>> {
    process()?.create_thread(start as usize as u64, argument, stack_size)
}

/// A value guarded by a kernel mutex: a waiter blocks, and lends the
/// holder its urgency under a policy with time constraints.
pub struct Lock<T> {
    mutex: ComPtr<IMutex>,
    /// Only ever taken with `mutex` held, so it never spins: it makes the
    /// value reachable without `unsafe`.
    value: Mutex<T>,
}

/// The held [`Lock`]'s value; dropping it unlocks.
pub struct LockGuard<'a, T> {
    lock: &'a Lock<T>,
    value: Option<MutexGuard<'a, T>>,
}

impl<T> Lock<T> {
    /// A new lock holding `value`.
    pub fn new(value: T) -> Result<Lock<T>> {
        Ok(Lock {
            mutex: process()?.create_mutex()?,
            value: Mutex::new(value),
        })
    }

    /// Waits for the lock and takes it.
    pub fn lock(&self) -> LockGuard<'_, T> {
        // Should the kernel refuse, the inner lock still keeps the value safe.
        let _ = self.mutex.lock();
        LockGuard {
            lock: self,
            value: Some(self.value.lock()),
        }
    }

    /// Takes the lock if it is free.
    pub fn try_lock(&self) -> Option<LockGuard<'_, T>> {
        self.mutex.try_lock().ok()?.then(|| LockGuard {
            lock: self,
            value: Some(self.value.lock()),
        })
    }

    /// A new condition whose waiters hold this lock.
    pub fn condition(&self) -> Result<Condition> {
        Ok(Condition(self.mutex.create_condition()?))
    }
}

impl<T> core::ops::Deref for LockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.value.as_deref().unwrap_or_else(|| unreachable!())
    }
}

impl<T> core::ops::DerefMut for LockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.value.as_deref_mut().unwrap_or_else(|| unreachable!())
    }
}

impl<T> Drop for LockGuard<'_, T> {
    fn drop(&mut self) {
        drop(self.value.take());
        let _ = self.lock.mutex.unlock();
    }
}

/// A condition threads wait on holding a [`Lock`].
pub struct Condition(ComPtr<ICondition>);

impl Condition {
    /// Releases `guard`'s lock, waits for a signal, and takes it again.
    pub fn wait<'a, T>(&self, guard: LockGuard<'a, T>) -> LockGuard<'a, T> {
        self.wait_until(guard, u64::MAX).0
    }

    /// As [`Condition::wait`], but gives up when `time` reaches `deadline`
    /// (ticks); the flag is true when the wait timed out.
    pub fn wait_until<'a, T>(
        &self,
        mut guard: LockGuard<'a, T>,
        deadline: u64,
    ) -> (LockGuard<'a, T>, bool) {
        drop(guard.value.take());
        let timed_out = self.0.wait(deadline).unwrap_or(true);
        guard.value = Some(guard.lock.value.lock());
        (guard, timed_out)
    }

    /// Wakes the longest waiter, if any.
    pub fn signal(&self) {
        let _ = self.0.signal();
    }

    /// Wakes every waiter.
    pub fn broadcast(&self) {
        let _ = self.0.broadcast();
    }
}
