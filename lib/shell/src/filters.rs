//! The filter commands: `trace` and `readonly` put one of the interposer's
//! filters in front of a named object, `untrace` and `readwrite` take it
//! away again.

use core::fmt::Write;

use com::Guid;
use interfaces::IInterpose;
use interfaces::interpose::filters;

use crate::commands::{Context, Outcome, failed, service};
use crate::modules::absolute;

/// Where the filter commands find the interposer.
pub const INTERPOSE_PATH: &str = "/interpose";

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
    let [name] = arguments else {
        return Err(crate::commands::Failure::Usage);
    };
    let name = absolute(name);
    let object = context.namespace.bind(&name, 0).map_err(failed(&name))?;
    let interposer = service::<IInterpose>(context.namespace, INTERPOSE_PATH, 0)?;
    interposer
        .interpose(&object, &Guid::default(), filter, &name)
        .map_err(failed(&name))?;
    let _ = writeln!(context.output, "{name}: {until} {name}`");
    Ok(None)
}

/// Takes the filter off the object named by the one argument.
fn take_away(context: &mut Context<'_>, arguments: &[&str], done: &str) -> Outcome {
    let [name] = arguments else {
        return Err(crate::commands::Failure::Usage);
    };
    let name = absolute(name);
    let object = context.namespace.bind(&name, 0).map_err(failed(&name))?;
    let interposer = service::<IInterpose>(context.namespace, INTERPOSE_PATH, 0)?;
    interposer
        .remove(&object, &Guid::default())
        .map_err(failed(&name))?;
    let _ = writeln!(context.output, "{name}: {done}");
    Ok(None)
}
