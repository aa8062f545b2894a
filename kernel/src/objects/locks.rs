//! The kernel's blocking locks and conditions as objects (`IMutex`,
//! `ICondition`), made by `IProcess::create_mutex`: what a component
//! synchronizes its threads with, priority inheritance included.

use alloc::sync::Arc;

use com::{ComObject, ComPtr, Result, Status, class};
use interfaces::{ICondition, IConditionImpl, IMutex, IMutexImpl};

use crate::threads::{Condition, Mutex};

/// A new unlocked `IMutex`.
pub fn new_mutex() -> ComPtr<IMutex> {
    ComObject::create(MutexObject {
        mutex: Arc::new(Mutex::new(())),
    })
}

/// One lock; its conditions share it.
#[class(IMutex)]
struct MutexObject {
    mutex: Arc<Mutex<()>>,
}

impl IMutexImpl for MutexObject {
    fn lock(&self) -> Result<()> {
        self.mutex.lock_unguarded();
        Ok(())
    }

    fn try_lock(&self) -> Result<bool> {
        Ok(self.mutex.try_lock_unguarded())
    }

    fn unlock(&self) -> Result<()> {
        self.mutex
            .unlock_held()
            .then_some(())
            .ok_or(Status::ACCESS_DENIED)
    }

    fn create_condition(&self) -> Result<ComPtr<ICondition>> {
        Ok(ComObject::create(ConditionObject {
            mutex: self.mutex.clone(),
            condition: Condition::new(),
        }))
    }
}

/// A condition over one `MutexObject`'s lock.
#[class(ICondition)]
struct ConditionObject {
    mutex: Arc<Mutex<()>>,
    condition: Condition,
}

impl IConditionImpl for ConditionObject {
    fn wait(&self, deadline: u64) -> Result<bool> {
        self.condition
            .wait_unguarded(&self.mutex, deadline)
            .ok_or(Status::ACCESS_DENIED)
    }

    fn signal(&self) -> Result<()> {
        self.condition.signal();
        Ok(())
    }

    fn broadcast(&self) -> Result<()> {
        self.condition.broadcast();
        Ok(())
    }
}
