//! Tessera's locks: spin locks whose waiters hand the processor to other threads instead of spinning.
//!
//! Threads are preempted at any instruction, so a thread may lose the
//! processor while it holds a lock. A waiter that merely spins would then
//! spin until its time slice ends, again and again, while the holder waits
//! for a turn — or for ever, under a policy without time slices. [`Mutex`]
//! is `spin`'s mutex with one change: while it waits, it calls the *wait
//! hook* (a yield), so the holder runs and releases the lock. Each image
//! links its own copy of this crate, so each installs its own hook: the
//! kernel once threads exist, the component runtime before a component's
//! constructor. Before that — at boot, and on the host in tests — waiting
//! is plain spinning.
//!
//! Interrupt routines never take these locks (they may only wake threads),
//! so a wait never happens inside one.
//!
//! Depends on `spin`; the namespace, the heap, the loader and the kernel
//! lock their state with it.

#![no_std]

use core::sync::atomic::{AtomicPtr, Ordering};

/// A mutual-exclusion lock whose waiters yield.
pub type Mutex<T> = spin::mutex::Mutex<T, WaitHook>;
/// The guard of a locked [`Mutex`].
pub type MutexGuard<'a, T> = spin::mutex::MutexGuard<'a, T>;

/// The function a waiter calls between attempts (null until installed).
static HOOK: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());

/// Installs `wait`, called by every waiter between attempts; the kernel
/// passes its thread yield once the scheduler runs.
pub fn set_wait_hook(wait: fn()) {
    HOOK.store(wait as *mut (), Ordering::Release);
}

/// The relax strategy that calls the wait hook.
pub struct WaitHook;

impl spin::RelaxStrategy for WaitHook {
    fn relax() {
        let hook = HOOK.load(Ordering::Acquire);
        if hook.is_null() {
            core::hint::spin_loop();
        } else {
            // SAFETY: only `set_wait_hook` stores here, and it stores a `fn()`.
            let wait: fn() = unsafe { core::mem::transmute::<*mut (), fn()>(hook) };
            wait();
        }
    }
}
