//! Processes: a thousand runs of an application that binds the counter
//! through the IPC, calls it and exits leave the heap and the frame pool
//! exactly where they were.

use com::{ComPtr, Result};
use interfaces::{IHeap, IProcessManager, IVmFactory, IVmSpace};

use crate::{fail, sys};

pub fn a_thousand_process_cycles_leave_no_drift() -> Result<()> {
    const CYCLES: u32 = 1000;
    let namespace = sys::namespace();
    let heap = namespace.bind("/sys/heap", 0)?.query::<IHeap>()?;
    let manager = namespace
        .bind(interfaces::ipc::MANAGER_PATH, 0)?
        .query::<IProcessManager>()?;
    let factory = namespace
        .bind(interfaces::vm::MANAGER_PATH, 0)?
        .query::<IVmFactory>()?;
    // A space held throughout keeps the manager (and its figures) alive;
    // the first cycle loads the counter and warms what is made once.
    let _keeper: ComPtr<IVmSpace> = factory.create_space()?;
    one_cycle(&manager)?;
    let frames = factory.status()?.frames_free;
    let used = heap.status()?.used;
    for _ in 1..CYCLES {
        one_cycle(&manager)?;
    }
    let (frames_after, used_after) = (factory.status()?.frames_free, heap.status()?.used);
    if frames_after != frames || used_after != used {
        return fail(format_args!(
            "after {CYCLES} processes: {frames_after} frames free (was {frames}), heap {used_after} (was {used})"
        ));
    }
    Ok(())
}

/// One process: binds `/counter`, adds 1 and exits with 0.
fn one_cycle(manager: &IProcessManager) -> Result<()> {
    let process = manager.create("apptest", "add 1", "/counter")?;
    match process.wait() {
        Ok(0) => Ok(()),
        other => fail(format_args!("a process ended with {other:?}")),
    }
}
