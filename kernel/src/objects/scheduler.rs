//! `/sys/scheduler`: which policy runs the threads, switchable while they
//! run (to a policy component: with the loader), and the calling thread's
//! dealings with it: constraints, yielding, sleeping, time and the
//! instruction counter.

use com::{Result, class};
use interfaces::{IScheduler, ISchedulerImpl};

use crate::threads;

/// The scheduler service.
#[class(IScheduler)]
pub struct SchedulerService;

impl ISchedulerImpl for SchedulerService {
    fn policy_name(&self, buffer: &mut [u8]) -> Result<usize> {
        Ok(threads::policy_name(buffer))
    }

    fn use_policy(&self, name: &str) -> Result<()> {
        if name == threads::BUILTIN_POLICY {
            return threads::use_builtin_policy();
        }
        use_policy_component(name)
    }

    fn begin_constraint(
        &self,
        start: u64,
        estimate: u64,
        deadline: u64,
        criticality: u32,
    ) -> Result<()> {
        threads::begin_constraint(start, estimate, deadline, criticality)
    }

    fn end_constraint(&self) -> Result<()> {
        threads::end_constraint()
    }

    fn now(&self) -> Result<u64> {
        Ok(threads::now())
    }

    fn ticks_per_second(&self) -> Result<u64> {
        Ok(threads::ticks_per_second())
    }

    fn yield_now(&self) -> Result<()> {
        threads::yield_now();
        Ok(())
    }

    fn sleep_until(&self, deadline: u64) -> Result<()> {
        threads::sleep_until(deadline);
        Ok(())
    }

    fn preemptive(&self) -> Result<bool> {
        Ok(threads::preemptive())
    }

    fn instructions(&self) -> Result<u64> {
        Ok(threads::instructions_worked())
    }
}

/// Puts the policy component bound as `/<name>` in charge.
#[cfg(feature = "loader")]
fn use_policy_component(name: &str) -> Result<()> {
    let mut path = alloc::string::String::from("/");
    path.push_str(name);
    let policy = namespace::current()?
        .bind(&path, 0)?
        .query::<interfaces::ISchedulerPolicy>()?;
    threads::use_policy_component(policy, name)
}

/// Policy components are components: without the loader there are none,
/// so the only policy there is is the built-in one.
#[cfg(not(feature = "loader"))]
fn use_policy_component(_: &str) -> Result<()> {
    Err(com::Status::NOT_FOUND)
}
