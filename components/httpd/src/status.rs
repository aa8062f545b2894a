//! `/status.json`: the running system as the shell's `ps`, `mods`, `mem`,
//! `sched` and `vm` see it, read through the same namespace objects and
//! written as one JSON object.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use com::{ComPtr, Result, Status};
use http::json::Text;
use interfaces::namespace::for_each_name;
use interfaces::threads::state_name;
use interfaces::vm::MANAGER_PATH;
use interfaces::{IHeap, IModule, INamespace, IScheduler, IThreads, IVmFactory, IVmSpace};

/// Where the threads are listed.
const THREADS_PATH: &str = "/sys/threads";
/// Where the loaded modules are listed.
const MODULES_PATH: &str = "/sys/modules";
/// The kernel heap.
const HEAP_PATH: &str = "/sys/heap";
/// The scheduler.
const SCHEDULER_PATH: &str = "/sys/scheduler";

/// The status as JSON text (the fields are in docs/status-page.md).
pub fn json(namespace: &INamespace) -> Result<String> {
    let mut out = String::new();
    let _ = write!(out, "{{\"uptime_us\":{}", component::now_us());
    out.push_str(",\"threads\":");
    threads(namespace, &mut out)?;
    out.push_str(",\"modules\":");
    modules(namespace, &mut out)?;
    out.push_str(",\"heap\":");
    heap(namespace, &mut out)?;
    out.push_str(",\"scheduler\":");
    scheduler(namespace, &mut out)?;
    out.push_str(",\"vm\":");
    vm(namespace, &mut out)?;
    out.push('}');
    Ok(out)
}

/// The service at `path`, as interface `I`.
fn service<I: com::Interface>(namespace: &INamespace, path: &str) -> Result<ComPtr<I>> {
    namespace.bind(path, 0)?.query::<I>()
}

/// `[` and `,` between the items `each` writes, and `]`.
fn list<T>(
    out: &mut String,
    items: impl IntoIterator<Item = T>,
    mut each: impl FnMut(&mut String, T) -> Result<()>,
) -> Result<()> {
    out.push('[');
    for (index, item) in items.into_iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        each(out, item)?;
    }
    out.push(']');
    Ok(())
}

fn threads(namespace: &INamespace, out: &mut String) -> Result<()> {
    let threads = service::<IThreads>(namespace, THREADS_PATH)?;
    // A thread that exited and was joined meanwhile is left out.
    let statuses: Vec<_> = (0..threads.count()?)
        .filter_map(|index| threads.status(index).ok())
        .collect();
    list(out, statuses, |out, thread| {
        let name = thread
            .name
            .get(..thread.name_length as usize)
            .unwrap_or_default();
        let _ = write!(
            out,
            "{{\"id\":{},\"name\":{},\"state\":{},\"cpu_ticks\":{},\
             \"stack_size\":{},\"stack_used\":{}}}",
            thread.id,
            Text(core::str::from_utf8(name).unwrap_or("?")),
            Text(state_name(thread.state)),
            thread.cpu_ticks,
            thread.stack_size,
            thread.stack_used
        );
        Ok(())
    })
}

fn modules(namespace: &INamespace, out: &mut String) -> Result<()> {
    let mut listed = Vec::new();
    for_each_name(namespace, MODULES_PATH, |name| {
        listed.push(String::from(name));
        Ok(())
    })?;
    // A module unloaded between the listing and the bind is left out.
    let modules: Vec<_> = listed
        .into_iter()
        .filter_map(|name| {
            let path = alloc::format!("{MODULES_PATH}/{name}");
            Some((name, service::<IModule>(namespace, &path).ok()?))
        })
        .collect();
    list(out, modules, |out, (listed, module)| {
        let _ = write!(
            out,
            "{{\"listed\":{},\"name\":{},\"base\":{},\"size\":{},\"references\":{},\
             \"location\":{}}}",
            Text(&listed),
            Text(&text_of(|buffer| module.name(buffer))),
            module.base_address()?,
            module.size()?,
            module.references()?,
            Text(&text_of(|buffer| module.location(buffer)))
        );
        Ok(())
    })
}

/// The text a method writes into a buffer (empty if it fails).
fn text_of(method: impl FnOnce(&mut [u8]) -> Result<usize>) -> String {
    let mut buffer = [0u8; 128];
    let length = method(&mut buffer).unwrap_or(0);
    String::from_utf8_lossy(buffer.get(..length).unwrap_or_default()).into_owned()
}

fn heap(namespace: &INamespace, out: &mut String) -> Result<()> {
    let status = service::<IHeap>(namespace, HEAP_PATH)?.status()?;
    let _ = write!(
        out,
        "{{\"reserved\":{},\"committed\":{},\"used\":{},\"max_used\":{}}}",
        status.reserved, status.committed, status.used, status.max_used
    );
    Ok(())
}

fn scheduler(namespace: &INamespace, out: &mut String) -> Result<()> {
    let scheduler = service::<IScheduler>(namespace, SCHEDULER_PATH)?;
    let _ = write!(
        out,
        "{{\"policy\":{},\"preemptive\":{},\"ticks_per_second\":{},\"now\":{}}}",
        Text(&text_of(|buffer| scheduler.policy_name(buffer))),
        scheduler.preemptive()?,
        scheduler.ticks_per_second()?,
        scheduler.now()?
    );
    Ok(())
}

/// The virtual-memory manager's figures and spaces, or `null` while it
/// is not loaded (looking must not load it).
fn vm(namespace: &INamespace, out: &mut String) -> Result<()> {
    let manager = match namespace.capabilities(MANAGER_PATH) {
        Ok(_) => service::<IVmFactory>(namespace, MANAGER_PATH)?,
        Err(Status::NOT_FOUND) => {
            out.push_str("null");
            return Ok(());
        }
        Err(status) => return Err(status),
    };
    let status = manager.status()?;
    let _ = write!(
        out,
        "{{\"spaces\":{},\"mappings\":{},\"resident_pages\":{},\"wired_pages\":{},\
         \"faults\":{},\"frames_free\":{},\"frames_total\":{},\"space_list\":",
        status.spaces,
        status.mappings,
        status.resident_pages,
        status.wired_pages,
        status.faults,
        status.frames_free,
        status.frames_total
    );
    let mut names = Vec::new();
    for_each_name(namespace, MANAGER_PATH, |name| {
        names.push(String::from(name));
        Ok(())
    })?;
    list(out, names, |out, name| {
        let path = alloc::format!("{MANAGER_PATH}/{name}");
        let space = service::<IVmSpace>(namespace, &path)?.status()?;
        let _ = write!(
            out,
            "{{\"name\":{},\"regions\":{},\"resident_pages\":{},\"wired_pages\":{}}}",
            Text(&name),
            space.regions,
            space.resident_pages,
            space.wired_pages
        );
        Ok(())
    })?;
    out.push('}');
    Ok(())
}
