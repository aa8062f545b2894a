//! The filter commands: `trace` and `readonly` put one of the interposer's
//! filters in front of a named object, `untrace` and `readwrite` take it
//! away again.

use core::fmt::Write;

use alloc::string::String;

use com::{Guid, IUnknown};
use interfaces::IInterpose;
use interfaces::interpose::{self, filters};

use crate::context::{Context, Failure, Outcome, absolute, failed, service};

pub fn trace(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    put(context, arguments, filters::TRACE, "traced until `untrace")
}

pub fn readonly(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    put(
        context,
        arguments,
        filters::READ_ONLY,
        "read-only until `readwrite",
    )
}

pub fn untrace(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    take_away(context, arguments, "no longer traced")
}

pub fn readwrite(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    take_away(context, arguments, "writable again")
}

/// Puts `filter` in front of the object named by the one argument.
fn put(context: &mut Context<'_>, arguments: &[&str], filter: u32, until: &str) -> Outcome {
    let name = with_interposer(context, arguments, |interposer, object, name| {
        interposer.interpose(object, &Guid::default(), filter, name)
    })?;
    let _ = writeln!(context.output, "{name}: {until} {name}`");
    Ok(None)
}

/// Takes the filter off the object named by the one argument.
fn take_away(context: &mut Context<'_>, arguments: &[&str], done: &str) -> Outcome {
    let name = with_interposer(context, arguments, |interposer, object, _| {
        interposer.remove(object, &Guid::default())
    })?;
    let _ = writeln!(context.output, "{name}: {done}");
    Ok(None)
}

/// Binds the object the one argument names, and the interposer, and runs
/// `action` on them; returns the object's absolute name.
fn with_interposer(
    context: &mut Context<'_>,
    arguments: &[&str],
    action: impl FnOnce(&IInterpose, &IUnknown, &str) -> com::Result<()>,
) -> Result<String, Failure> {
    let [name] = arguments else {
        return Err(Failure::Usage);
    };
    let name = absolute(name);
    let object = context.namespace.bind(&name, 0).map_err(failed(&name))?;
    let interposer = service::<IInterpose>(context.namespace, interpose::PATH, 0)?;
    action(&interposer, &object, &name).map_err(failed(&name))?;
    Ok(name)
}
