//! Object mobility: a kernel-space object moves into a process, and stays
//! behind as a forwarder to it (docs/ipc.md, "Object mobility").
//!
//! `IProcessManager::move_object` finds the host the process serves (an
//! `IObjectHost` endpoint) and has `/mutate` run [`MoveInto`] over the
//! object by mutual exclusion: callers are held in the object's held
//! vtables meanwhile. The transition reads the object's published state
//! (`Takeover`), asks the host — through the kernel-space proxy of its
//! endpoint — to build an object of its own from it, and makes the old
//! object a `com::moved::Moved<ICounter>` whose methods forward every call
//! to the kernel-space proxy of the new one. The moved class is this
//! module's: its forwarders call proxies this module makes, so it stays
//! loaded while a moved object lives.
//!
//! A moved object moves on the same way: the host it is in gives its
//! state (the counter's total), the new host adopts it, and the moved
//! object's target becomes the new one (`Moved::retarget`); the old
//! host's object is released.
//!
//! The object's name stays: the module that made the object no longer
//! owns it, so the loader lets its registration go at the next
//! collection, and the name is registered again for the moved object,
//! now on the host's account — when the host ends, the name goes with
//! its other names, as does every call's answer (the proxy's calls fail).

use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, AtomicU64};

use com::moved::Moved;
use com::{
    ComObject, ComPtr, IMutable, IUnknown, Interface, PublishedState, Result, Status, Takeover,
    class,
};
use interfaces::mutate::flags;
use interfaces::namespace::flags as name_flags;
use interfaces::{IEndpoint, ILoader, IMutate, ITransition, ITransitionImpl};
use private_interfaces::counter::CounterStateV1;
use private_interfaces::{ICounter, IObjectHost};

use crate::process::Process;

/// How long the move may wait for calls to leave the object.
const MOVE_TIMEOUT_US: u64 = 1_000_000;
/// How long a call into the host may take — its `adopt`, and each call
/// the moved object forwards (its proxy is made with the same): a host
/// that hangs fails the call with `TIMED_OUT`, rather than hold the
/// object's callers for ever.
const HOST_TIMEOUT_MS: u64 = 1_000;
/// How often, [`PAUSE_US`] apart, the mover collects idle modules until
/// the old module's registration of the name has gone.
const NAME_TRIES: u32 = 100;
/// The pause between two tries.
const PAUSE_US: u64 = 1_000;
/// The loader, for its collection of idle modules.
const LOADER_PATH: &str = "/sys/loader";

/// Moves the object named `name` into process `pid`; see the module
/// documentation. `NOT_FOUND`: no such process (or name); `NO_INTERFACE`:
/// the process serves no `IObjectHost`; `ACCESS_DENIED`: the object is
/// not mutable; `NOT_SUPPORTED`: it is not laid out as a counter whose
/// class publishes `CounterStateV1` (not mobile); `REFUSED`: the host
/// refused it; `TIMED_OUT`: calls stayed inside.
pub fn move_object(name: &str, pid: u64, processes: &[Arc<Process>]) -> Result<()> {
    let process = processes
        .iter()
        .find(|process| process.id() == pid && !process.is_ending() && !process.is_kernel())
        .ok_or(Status::NOT_FOUND)?;
    let host = host_in(process)?;
    let namespace = component::namespace()?;
    let object = namespace.bind(name, 0)?;
    if object.query::<IMutable>().is_err() {
        return Err(Status::ACCESS_DENIED);
    }
    let host = host.proxy(HOST_TIMEOUT_MS)?.query::<IObjectHost>()?;
    let mutate = namespace
        .bind(interfaces::mutate::PATH, 0)?
        .query::<IMutate>()?;
    let transition = ComObject::create::<ITransition>(MoveInto { host });
    mutate.mutate_object(&object, &transition, flags::BY_MUTEX, MOVE_TIMEOUT_US)?;
    if let Some(from) = processes
        .iter()
        .find(|from| from.names.lock().iter().any(|moved| moved == name))
    {
        // Moved before: its name goes over to the new host's account.
        from.names.lock().retain(|moved| moved != name);
        process.names.lock().push(String::from(name));
        return Ok(());
    }
    keep_name(name, &object, process)
}

/// What the namespace holds for the `IObjectHost` endpoint `process`
/// serves (it makes the endpoint's kernel-space proxies);
/// `NO_INTERFACE` when it serves none.
fn host_in(process: &Process) -> Result<ComPtr<IEndpoint>> {
    let exports = process.exports.lock();
    let endpoint = exports
        .find(|export| export.signature.iid == IObjectHost::IID && export.holder.is_some())
        .ok_or(Status::NO_INTERFACE)?;
    exports
        .get(endpoint)?
        .holder
        .clone()
        .ok_or(Status::NO_INTERFACE)
}

/// Registers `object` under `name` again once the module that made it has
/// let its registration go (it no longer owns the object), and records
/// the name on `host`'s account. A name that stays registered as it was
/// (an object no module made) is left alone.
fn keep_name(name: &str, object: &ComPtr<IUnknown>, host: &Process) -> Result<()> {
    let namespace = component::namespace()?;
    let loader = namespace.bind(LOADER_PATH, 0)?.query::<ILoader>()?;
    let pause = AtomicU32::new(0);
    for _ in 0..NAME_TRIES {
        // A call held during the move may keep the old module loaded for a
        // moment after it was issued again.
        loader.collect_idle()?;
        match namespace.register(name, object, name_flags::FAIL_IF_EXISTS) {
            Err(Status::ALREADY_EXISTS) => com::wait::wait(&pause, 0, PAUSE_US),
            registered => {
                registered?;
                host.names.lock().push(String::from(name));
                return Ok(());
            }
        }
    }
    Ok(())
}

/// The transition that moves a counter into the host, or on to it.
#[class(ITransition)]
struct MoveInto {
    host: ComPtr<IObjectHost>,
}

impl ITransitionImpl for MoveInto {
    fn apply(&self, object: &IUnknown) -> Result<()> {
        let takeover = Takeover::<Moved<ICounter>>::check(object)?;
        if let Ok(state) = takeover.state::<CounterStateV1>() {
            let target = self.adopt(state)?;
            return takeover.replace(|_: &CounterStateV1| Moved::forwarding(target));
        }
        // Moved already: on from the host it is in, whose object's state
        // is its total (callers are held, so it stays as read), and whose
        // object goes once the move no longer forwards to it.
        let state = CounterStateV1 {
            total: AtomicU64::new(Moved::target_of(&takeover)?.total()?),
            ..CounterStateV1::default()
        };
        let target = self.adopt(&state)?;
        drop(Moved::retarget(takeover, target)?);
        Ok(())
    }
}

impl MoveInto {
    /// The host's new object, built from `state`; `REFUSED` when the host
    /// does not take it.
    fn adopt(&self, state: &CounterStateV1) -> Result<ComPtr<ICounter>> {
        match self.host.adopt(&CounterStateV1::ID, &state.carried()) {
            Err(Status::NOT_SUPPORTED | Status::INVALID_ARGUMENT) => Err(Status::REFUSED),
            other => other,
        }
    }
}
