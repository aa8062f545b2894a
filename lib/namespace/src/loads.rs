//! Loads in progress and the threads waiting for them: the wait-for graph
//! that turns an import cycle into an error instead of a hang.
//!
//! Each demand load records the thread that runs it (its entry in the
//! namespace is marked as loading with that record). A thread that binds a
//! name another thread is loading sleeps until that load ends and takes
//! its outcome — the object, or the same error — so one load serves every
//! binder. Before it sleeps, the wait-for graph is followed from the load
//! it wants: the load's owner, the load that owner waits for, its owner,
//! and so on. Reaching the binder itself means the wait could never end (a
//! imports b, b imports a — in one thread or across several), and the bind
//! fails at once with `IMPORT_CYCLE`, naming the cycle.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use com::{ComPtr, IUnknown, Result, Status};

/// A thread, as the system names it.
pub type ThreadId = u64;

/// Orders loads by when they began.
static NEXT_SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// One demand load, shared by its owner, its namespace entry and the
/// threads waiting for it.
pub struct PendingLoad {
    owner: ThreadId,
    /// When the load began, relative to the others.
    sequence: u64,
    /// 0 while loading; 1 once `outcome` holds the result.
    done: AtomicU32,
    outcome: spin::Once<Result<ComPtr<IUnknown>>>,
}

impl PendingLoad {
    /// A load that `owner` is about to run.
    pub fn begin(owner: ThreadId) -> Arc<PendingLoad> {
        Arc::new(PendingLoad {
            owner,
            sequence: NEXT_SEQUENCE.fetch_add(1, Ordering::Relaxed),
            done: AtomicU32::new(0),
            outcome: spin::Once::new(),
        })
    }

    /// Sleeps until the load ends; returns what it produced.
    pub fn wait(&self) -> Result<ComPtr<IUnknown>> {
        while self.done.load(Ordering::Acquire) == 0 {
            com::wait::wait(&self.done, 0, com::wait::FOREVER);
        }
        self.outcome.get().cloned().unwrap_or(Err(Status::FAILED))
    }

    /// Publishes the load's result and wakes its waiters.
    fn finish(&self, outcome: Result<ComPtr<IUnknown>>) {
        self.outcome.call_once(|| outcome);
        self.done.store(1, Ordering::Release);
        com::wait::wake(&self.done);
    }
}

/// The loads running now, as `(name, load)`: what the namespace's entries
/// marked as loading say.
pub type Running<'a> = Vec<(&'a str, &'a Arc<PendingLoad>)>;

/// Who waits for which load (kept under the namespace's lock, with its
/// entries).
#[derive(Default)]
pub struct Waits {
    /// `(thread, load)`: the thread sleeps until the load ends.
    waits: Vec<(ThreadId, Arc<PendingLoad>)>,
}

impl Waits {
    /// Ends `load` with `outcome`, waking whoever waits for it.
    pub fn end(&mut self, load: &Arc<PendingLoad>, outcome: Result<ComPtr<IUnknown>>) {
        if !self.waits.is_empty() {
            // Its waiters stop waiting now, under the same lock, so the
            // graph never leads through a load that has ended.
            self.waits.retain(|(_, waited)| !Arc::ptr_eq(waited, load));
            if self.waits.is_empty() {
                // An idle system holds no memory for the graph.
                self.waits = Vec::new();
            }
        }
        load.finish(outcome);
    }

    /// Makes `thread` a waiter for `load`, unless that closes a cycle
    /// through the `running` loads: then the cycle, as `a -> b -> a`
    /// (names without their leading `/`).
    pub fn wait_for(
        &mut self,
        thread: ThreadId,
        load: &Arc<PendingLoad>,
        running: Running<'_>,
    ) -> core::result::Result<(), String> {
        if let Some(cycle) = self.cycle(thread, load, running) {
            return Err(cycle);
        }
        self.waits.push((thread, load.clone()));
        Ok(())
    }

    /// Follows the wait-for graph from `wanted`; the cycle if it leads back
    /// to `thread`.
    fn cycle(
        &self,
        thread: ThreadId,
        wanted: &Arc<PendingLoad>,
        running: Running<'_>,
    ) -> Option<String> {
        let mut path: Vec<&str> = Vec::new();
        let mut load = wanted;
        // Each step moves to another thread; more steps than loads means
        // the chain does not come back to `thread` (no cycle of ours).
        for _ in 0..=running.len() {
            // `load`, then the loads its owner began after it, in the order
            // begun: the imports it is loading on the way. (Picked one by
            // one: the few loads running are not worth a sort's code.)
            let mut from = load.sequence;
            while let Some((name, next)) = running
                .iter()
                .filter(|(_, other)| other.owner == load.owner && other.sequence >= from)
                .min_by_key(|(_, other)| other.sequence)
            {
                path.push(name);
                from = next.sequence + 1;
            }
            if load.owner == thread {
                let first = running
                    .iter()
                    .find(|(_, other)| Arc::ptr_eq(other, wanted))?;
                path.push(first.0);
                return Some(describe(&path));
            }
            load = self
                .waits
                .iter()
                .find(|(waiter, _)| *waiter == load.owner)
                .map(|(_, waited)| waited)?;
        }
        None
    }
}

/// `["/a", "/b", "/a"]` as `a -> b -> a`.
fn describe(path: &[&str]) -> String {
    let mut text = String::new();
    for (index, name) in path.iter().enumerate() {
        if index > 0 {
            text.push_str(" -> ");
        }
        text.push_str(name.trim_start_matches('/'));
    }
    text
}
