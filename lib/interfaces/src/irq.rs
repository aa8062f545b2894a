//! `IInterrupts` and `IInterruptSource`: how a driver component takes a
//! device interrupt.
//!
//! An interrupt can only wake a thread: attaching a source gives the driver
//! an object to wait on, not a place to run code in the interrupt.

use com::{ComPtr, Result, interface};

#[interface("9273b820-d5c3-48f2-a7a5-25d03d6373f4")]
/// The interrupt registry.
pub trait IInterrupts {
    /// Takes device interrupt `source`; `ALREADY_EXISTS` if another driver
    /// has it. Releasing the returned object gives the source back.
    fn attach(&self, source: u32) -> Result<ComPtr<IInterruptSource>>;
    /// The instructions retired (`IScheduler::instructions`, the halted
    /// hart's count left out) when the last interrupt entered the kernel:
    /// with a reading taken where the interrupt's work ends, the latency
    /// of an interrupt.
    fn last_entry_instructions(&self) -> Result<u64>;
}

#[interface("2db4180c-db6c-4183-9f95-545b17ebef2b")]
/// One device interrupt source, attached by a driver.
pub trait IInterruptSource {
    /// Lets the source interrupt again (after the device was serviced) and
    /// sleeps until it does.
    fn wait(&self) -> Result<()>;
    /// Raises the source's event by hand (for tests and for drivers that
    /// want to wake their own waiting thread).
    fn raise(&self) -> Result<()>;
    /// As [`IInterruptSource::wait`], but gives up when the kernel's time
    /// (`IScheduler::now`, in ticks) reaches `deadline`: `TIMED_OUT` then.
    /// For drivers whose clients keep timers (a network stack).
    fn wait_until(&self, deadline: u64) -> Result<()>;
}
