//! What every command runs in and returns: the [`Context`] (namespace,
//! console, the objects the user holds), the [`Outcome`] and its
//! [`Failure`], and the helpers the command modules share. The command
//! modules (`commands`, `modules`, `filters`) depend on this one; it
//! depends on none of them.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use com::{ComPtr, IUnknown, Interface, Status};
use interfaces::{INamespace, ITrustControl};

use crate::{Exit, Output};

/// Where `sched` finds the scheduler, and commands the time.
pub const SCHEDULER_PATH: &str = "/sys/scheduler";

/// What a command reports when it cannot do its work.
pub enum Failure {
    /// The arguments do not fit the command's usage.
    Usage,
    /// An operation on `subject` failed with `status`.
    Status(String, Status),
}

/// What a command returns: whether the shell stops, or why it failed.
pub type Outcome = Result<Option<Exit>, Failure>;

/// The context a command runs in.
pub struct Context<'a> {
    /// Where names are bound.
    pub namespace: &'a INamespace,
    /// The console.
    pub output: &'a mut Output,
    /// Objects the user bound and has not released.
    pub held: &'a mut Held,
}

/// The service at `path`, as interface `I`; a failure names the path.
pub fn service<I: Interface>(
    namespace: &INamespace,
    path: &str,
    bind_flags: u32,
) -> Result<ComPtr<I>, Failure> {
    namespace
        .bind(path, bind_flags)
        .and_then(|object| object.query::<I>())
        .map_err(failed(path))
}

/// Wraps a failed operation on `subject`.
pub fn failed(subject: &str) -> impl FnOnce(Status) -> Failure + '_ {
    move |status| Failure::Status(subject.into(), status)
}

/// What the shell holds on the user's behalf: the objects bound by name,
/// the signature policy's control when this shell claimed it (`trust`),
/// and what was typed ahead while a foreground process ran.
#[derive(Default)]
pub struct Held {
    objects: Vec<(String, ComPtr<IUnknown>)>,
    /// The control of `/sys/trust`, claimed when the shell started.
    pub trust_control: Option<ComPtr<ITrustControl>>,
    /// Bytes typed while a foreground process ran (`run`), which the line
    /// editor takes before reading the console again.
    pub typeahead: VecDeque<u8>,
}

impl Held {
    /// Holds `object` under `name`.
    pub fn put(&mut self, name: String, object: ComPtr<IUnknown>) {
        self.objects.push((name, object));
    }

    /// True when it holds something under `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.objects.iter().any(|(held, _)| held == name)
    }

    /// What it holds under `name`, with a reference for the caller.
    pub fn get(&self, name: &str) -> Option<ComPtr<IUnknown>> {
        self.objects
            .iter()
            .find(|(held, _)| held == name)
            .map(|(_, object)| object.clone())
    }

    /// The names it holds things under.
    pub fn names(&self) -> Vec<String> {
        self.objects.iter().map(|(name, _)| name.clone()).collect()
    }

    /// Stops holding what it holds under `name`, and hands it over.
    pub fn take(&mut self, name: &str) -> Option<ComPtr<IUnknown>> {
        let index = self.objects.iter().position(|(held, _)| held == name)?;
        let (_, object) = self.objects.remove(index);
        if self.objects.is_empty() {
            // Holding nothing takes no memory, so `mem` returns to where it was.
            self.objects = Vec::new();
        }
        Some(object)
    }
}

/// A namespace name for what the user typed (`hello` means `/hello`).
pub fn absolute(name: &str) -> String {
    if name.starts_with('/') {
        name.into()
    } else {
        alloc::format!("/{name}")
    }
}
