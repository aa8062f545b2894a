//! Loads in progress and the threads waiting for them: the wait-for graph
//! that turns an import cycle into an error instead of a hang.
//!
//! Each demand load records the thread that runs it. A thread that binds a
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
use core::sync::atomic::{AtomicU32, Ordering};

use com::{ComPtr, IUnknown, Result, Status};

/// A thread, as the system names it.
pub type ThreadId = u64;

/// One demand load, shared by its owner and the threads waiting for it.
pub struct PendingLoad {
    name: String,
    owner: ThreadId,
    /// 0 while loading; 1 once `outcome` holds the result.
    done: AtomicU32,
    outcome: spin::Once<Result<ComPtr<IUnknown>>>,
}

impl PendingLoad {
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

/// The loads in progress and who waits for which (kept under the
/// namespace's lock, with its entries).
#[derive(Default)]
pub struct Loads {
    /// Oldest first: a thread's nested loads appear in the order it began them.
    running: Vec<Arc<PendingLoad>>,
    /// `(thread, load)`: the thread sleeps until the load ends.
    waits: Vec<(ThreadId, Arc<PendingLoad>)>,
}

impl Loads {
    /// Records a load of `name` that `owner` is about to run.
    pub fn begin(&mut self, name: &str, owner: ThreadId) -> Arc<PendingLoad> {
        let load = Arc::new(PendingLoad {
            name: String::from(name),
            owner,
            done: AtomicU32::new(0),
            outcome: spin::Once::new(),
        });
        self.running.push(load.clone());
        load
    }

    /// Ends `load` with `outcome`, waking whoever waits for it.
    pub fn end(&mut self, load: &Arc<PendingLoad>, outcome: Result<ComPtr<IUnknown>>) {
        self.running.retain(|running| !Arc::ptr_eq(running, load));
        shrink_if_empty(&mut self.running);
        // Its waiters stop waiting now, under the same lock, so the graph
        // never leads through a load that has ended.
        self.waits.retain(|(_, waited)| !Arc::ptr_eq(waited, load));
        shrink_if_empty(&mut self.waits);
        load.finish(outcome);
    }

    /// Makes `thread` a waiter for `load`, unless that closes a cycle: then
    /// the cycle, as `a -> b -> a` (names without their leading `/`).
    pub fn wait_for(
        &mut self,
        thread: ThreadId,
        load: &Arc<PendingLoad>,
    ) -> core::result::Result<(), String> {
        if let Some(cycle) = self.cycle(thread, load) {
            return Err(cycle);
        }
        self.waits.push((thread, load.clone()));
        Ok(())
    }

    /// Follows the wait-for graph from `wanted`; the cycle if it leads back
    /// to `thread`.
    fn cycle(&self, thread: ThreadId, wanted: &Arc<PendingLoad>) -> Option<String> {
        let mut path: Vec<&str> = Vec::new();
        let mut load = wanted;
        // Each step moves to another thread; more steps than loads means
        // the chain does not come back to `thread` (no cycle of ours).
        for _ in 0..=self.running.len() {
            path.extend(self.chain_from(load).map(|load| load.name.as_str()));
            if load.owner == thread {
                path.push(wanted.name.as_str());
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

    /// `load`, then the loads its owner began after it (the imports it is
    /// loading on the way).
    fn chain_from<'a>(
        &'a self,
        load: &'a Arc<PendingLoad>,
    ) -> impl Iterator<Item = &'a Arc<PendingLoad>> {
        self.running
            .iter()
            .skip_while(move |running| !Arc::ptr_eq(running, load))
            .filter(move |running| running.owner == load.owner)
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

/// Gives an emptied list's memory back, so an idle system holds none.
fn shrink_if_empty<T>(list: &mut Vec<T>) {
    if list.is_empty() {
        *list = Vec::new();
    }
}
