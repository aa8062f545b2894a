//! One process: an application image placed in a new address space, its
//! stack and arguments, the U-mode thread that runs it, and its import
//! table.
//!
//! The image comes from `/boot/<name>` (the boot file system, whose images
//! the kernel trusts unverified too), or from the absolute path `name`
//! (say on a disk), whose signature the image mapper checks first as the
//! trust policy says (docs/signing.md). It must import nothing: an
//! application reaches the kernel only by `ecall`, so no kernel address is
//! ever bound into it. It must be paged (`layout paged` in its `.def`):
//! the image mapper (`/sys/vm-image`) places it for [`IMAGE_BASE`] and
//! maps its code read + execute, its read-only data read-only and its data
//! read + write, no page both writable and executable.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use com::{ComPtr, IUnknown, Interface, InterfaceSignature, Result, Status};
use interfaces::ipc::{ProcessStatus, process_state};
use interfaces::vm::{IMAGE_MAPPER_PATH, MANAGER_PATH, protection};
use interfaces::{IEndpoint, IThread, IVmFactory, IVmImageMapper, IVmMapping, IVmSpace, IVmView};
use marshal::table::Table;
use sync::Mutex;

use crate::serve::Migration;

/// Where an application's image starts in its space (4 GiB, the first
/// address U-mode may have).
pub const IMAGE_BASE: u64 = 0x1_0000_0000;
/// The top of an application's stack.
pub const STACK_TOP: u64 = 0x2_0000_0000;
/// Bytes of an application's stack.
pub const STACK_SIZE: u64 = 64 * 1024;
/// Where a handle's owner bits start, and how many there are.
const HANDLE_OWNER_SHIFT: u32 = 40;
const HANDLE_OWNER_MASK: u64 = 0xff_ffff;
/// The most bytes of arguments a process is given.
const MOST_ARGUMENTS: usize = 1024;
/// How long the `Release` of an object a server made for a process may
/// take when the process is freed (on the freeing thread, which a server
/// that never returns must not keep).
const RELEASE_TIMEOUT_MS: u64 = 1_000;

/// Where an import's calls go.
#[derive(Clone)]
pub enum Target {
    /// An object in the kernel's space (of the signature's interface).
    Kernel(ComPtr<IUnknown>),
    /// Endpoint `endpoint` of process `server`.
    Process { server: Arc<Process>, endpoint: u64 },
}

/// One import: an object of another space, and its interface's signature.
pub struct Import {
    /// Where its calls go.
    pub target: Target,
    /// How its methods' arguments are copied.
    pub signature: &'static InterfaceSignature,
    /// How long a call into a process may take, in milliseconds (0: no
    /// limit).
    pub timeout: u64,
}

/// One endpoint: an object the process serves.
pub struct Export {
    /// The object's address in the process (its methods' `this`).
    pub object: u64,
    /// Its interface's signature.
    pub signature: &'static InterfaceSignature,
    /// The process's dispatch entry.
    pub dispatch: u64,
    /// The name it is registered under (empty for an unnamed endpoint: an
    /// interface pointer passed in a call or returned from one).
    pub name: String,
    /// What the namespace holds under the name (`None` when unnamed).
    pub holder: Option<ComPtr<IEndpoint>>,
    /// True when the endpoint holds a reference of the object (an owned
    /// interface result): the last import of it gone, the IPC releases
    /// the object in its process and frees the endpoint.
    pub owned: bool,
    /// Imports of it in any process's table.
    pub imports: u32,
}

/// A process's record.
pub struct Process {
    id: u64,
    name: String,
    grants: Vec<String>,
    /// Its thread (`None` for a kernel thread's record, [`Process::kernel`]).
    thread: Option<ComPtr<IThread>>,
    thread_id: u64,
    /// Its space, for copying arguments where its regions allow;
    /// `None` once freed.
    space: Mutex<Option<ComPtr<IVmSpace>>>,
    /// The name of its space under `/sys/vm` (`space-<n>`).
    space_number: u32,
    /// Its view (how a thread enters its space), for calls into it; `None`
    /// once freed.
    view: Mutex<Option<ComPtr<IVmView>>>,
    /// Its imports, by table handle (see [`Process::handle`]).
    pub imports: Mutex<Table<Import>>,
    /// The objects it serves, by endpoint.
    pub exports: Mutex<Table<Export>>,
    /// Set once it is being killed or has ended: no call goes into it.
    ending: AtomicBool,
    /// The call stacks of its space in use (bit `n`: stack `n`), and
    /// those mapped.
    pub call_stacks: Mutex<(u64, u64)>,
    /// The code it passed to `exit`, if it did.
    exit_code: Mutex<Option<i32>>,
    /// Calls of its thread into other processes in progress (the
    /// migration records), innermost last.
    pub calls: Mutex<Vec<Migration>>,
    /// Where its heap ends (`crate::heap`): `HEAP_BASE` until it grows.
    pub heap_end: Mutex<u64>,
    /// Its waits (`crate::waits`), made on its first `WAIT`.
    pub waits: Mutex<Option<Arc<crate::waits::Waits>>>,
    /// What its runtime told at its start (`RUNTIME`): its dispatch entry
    /// and its proxies' method table (0, 0 until then).
    runtime: Mutex<(u64, u64)>,
    /// Names on its account that are not its endpoints' — of objects
    /// moved into it (`crate::mobility`), of objects it registered through
    /// its view (`crate::view`) — unregistered with its own.
    pub names: Mutex<Vec<String>>,
    /// For a kernel thread's record: the call that ended its run, for the
    /// kernel caller to copy the results of (`crate::kernel_calls`).
    pub finished: Mutex<Option<Migration>>,
}

/// The next process's id.
static NEXT_ID: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1);

impl Process {
    /// Loads `/boot/<name>`, or the image at `name` if it is an absolute
    /// path, into a new space and starts it with `arguments`; it may bind
    /// the names in `grants`.
    pub fn create(name: &str, arguments: &str, grants: &str) -> Result<Process> {
        let relative = !name.starts_with('/');
        if arguments.len() > MOST_ARGUMENTS || name.is_empty() || relative && name.contains('/') {
            return Err(Status::INVALID_ARGUMENT);
        }
        let id = NEXT_ID.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        let namespace = component::namespace()?;
        let factory = namespace.bind(MANAGER_PATH, 0)?.query::<IVmFactory>()?;
        let space = factory.create_space()?;
        let entry = load_image(&namespace, &space, name)?;
        let argument = map_stack(&factory, &space, arguments, id)?;
        let space_number = number_of(&namespace, id);
        let view: ComPtr<IVmView> = factory.create_view(space.as_unknown())?;
        let thread = view.start_thread(entry, argument, argument & !15)?;
        let mut process = Process::kernel(thread.id()?);
        process.id = id;
        process.name = String::from(name);
        process.grants = grants.split_whitespace().map(String::from).collect();
        process.thread = Some(thread);
        process.space = Mutex::new(Some(space));
        process.space_number = space_number;
        process.view = Mutex::new(Some(view));
        Ok(process)
    }

    /// The record of kernel thread `thread_id` while it calls objects
    /// processes serve: no image, space, view or names of its own — only
    /// its calls (`calls`), the first of which it made from the kernel's
    /// space, so that the thread's traps while it runs in servers find
    /// their records as a process's thread's do. [`Process::create`]
    /// starts from one and gives it a process's image, space and names.
    pub fn kernel(thread_id: u64) -> Process {
        Process {
            // No process has id 0: a kernel thread's record takes none of
            // theirs.
            id: 0,
            name: String::new(),
            grants: Vec::new(),
            thread: None,
            thread_id,
            space: Mutex::new(None),
            space_number: 0,
            view: Mutex::new(None),
            imports: Mutex::new(Table::default()),
            exports: Mutex::new(Table::default()),
            ending: AtomicBool::new(false),
            call_stacks: Mutex::new((0, 0)),
            exit_code: Mutex::new(None),
            calls: Mutex::new(Vec::new()),
            heap_end: Mutex::new(crate::heap::HEAP_BASE),
            waits: Mutex::new(None),
            runtime: Mutex::new((0, 0)),
            names: Mutex::new(Vec::new()),
            finished: Mutex::new(None),
        }
    }

    /// True for a kernel thread's record ([`Process::kernel`]).
    pub fn is_kernel(&self) -> bool {
        self.thread.is_none()
    }

    /// Records its runtime's dispatch entry and proxy table, once
    /// (`ALREADY_EXISTS` after).
    pub fn set_runtime(&self, dispatch: u64, proxies: u64) -> Result<u64> {
        let mut runtime = self.runtime.lock();
        if *runtime != (0, 0) {
            return Err(Status::ALREADY_EXISTS);
        }
        *runtime = (dispatch, proxies);
        Ok(0)
    }

    /// Its dispatch entry and proxies' method table (0 if not told).
    pub fn runtime(&self) -> (u64, u64) {
        *self.runtime.lock()
    }

    /// Its thread; `NOT_SUPPORTED` for a kernel thread's record.
    fn thread(&self) -> Result<&IThread> {
        self.thread.as_deref().ok_or(Status::NOT_SUPPORTED)
    }

    /// Its thread's id.
    pub fn thread_id(&self) -> u64 {
        self.thread_id
    }

    /// Its id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The names it was granted.
    pub fn grants(&self) -> &[String] {
        &self.grants
    }

    /// True when it may bind `name`.
    pub fn may_bind(&self, name: &str) -> bool {
        self.grants.iter().any(|granted| granted == name)
    }

    /// True when it may register under `name`: granted, or below a
    /// granted name ending in `/`.
    pub fn may_register(&self, name: &str) -> bool {
        self.grants.iter().any(|granted| {
            granted == name
                || (granted.ends_with('/')
                    && name.len() > granted.len()
                    && name.starts_with(granted.as_str()))
        })
    }

    /// The handle a process is given for table handle `handle`: its id's
    /// low bits on top, so a handle of one process never names an import
    /// of another (the kernel's fast paths are keyed by thread, and a
    /// thread calls from other processes' spaces while it runs a call).
    pub fn handle(&self, handle: u64) -> u64 {
        (self.id & HANDLE_OWNER_MASK) << HANDLE_OWNER_SHIFT | handle
    }

    /// The table handle of `handle`: `INVALID_ARGUMENT` for another's.
    pub fn table_handle(&self, handle: u64) -> Result<u64> {
        if handle >> HANDLE_OWNER_SHIFT != self.id & HANDLE_OWNER_MASK {
            return Err(Status::INVALID_ARGUMENT);
        }
        Ok(handle & ((1 << HANDLE_OWNER_SHIFT) - 1))
    }

    /// Its view; `STALE_HANDLE` once freed.
    pub fn view(&self) -> Result<ComPtr<IVmView>> {
        self.view.lock().clone().ok_or(Status::STALE_HANDLE)
    }

    /// True once it is being killed or has ended.
    pub fn is_ending(&self) -> bool {
        self.ending.load(Ordering::Acquire)
    }

    /// Marks it ending: no call goes into it any more.
    pub fn set_ending(&self) {
        self.ending.store(true, Ordering::Release);
    }

    /// Records the code it passed to `exit`.
    pub fn set_exit_code(&self, code: i32) {
        *self.exit_code.lock() = Some(code);
        self.set_ending();
    }

    /// Its space; `STALE_HANDLE` once freed.
    pub fn space(&self) -> Result<ComPtr<IVmSpace>> {
        self.space.lock().clone().ok_or(Status::STALE_HANDLE)
    }

    /// Waits until its thread has ended: its exit code, or the status
    /// that ended it.
    pub fn wait(&self) -> Result<i32> {
        self.thread()?.wait()?;
        Ok(self.exit_code.lock().unwrap_or(0))
    }

    /// Ends it at its next trap: threads running calls in it go back to
    /// their callers with `KILLED` at their next interrupt, and a wait it
    /// is in returns (that `ecall`'s return is the trap). The thread is
    /// told first: a `SERVE` that sees the process ending returns, and
    /// that return must end the thread rather than let its code go on
    /// (to `exit(0)`, say). Then it is marked ending, so calls into it
    /// and a wait that starts after see it.
    pub fn kill(&self) -> Result<()> {
        let killed = self.thread().and_then(|thread| thread.kill());
        self.set_ending();
        crate::interrupt_callers_of(self);
        crate::waits::end(self);
        killed
    }

    /// Lets go of its names, endpoints, imports, calls and space (once its
    /// thread has ended).
    pub fn free(&self) {
        self.set_ending();
        let _ = crate::traps().and_then(|traps| traps.remove_fast_path(self.thread_id, u64::MAX));
        let exports = self.exports.lock().clear();
        if let Ok(namespace) = component::namespace() {
            for export in exports.iter().filter(|export| !export.name.is_empty()) {
                let _ = namespace.unregister(&export.name);
            }
            for name in core::mem::take(&mut *self.names.lock()) {
                let _ = namespace.unregister(&name);
            }
        }
        drop(exports);
        // Calls its thread was making when it ended: their servers' call
        // stacks are free again, and what they lent is revoked.
        let calls = core::mem::take(&mut *self.calls.lock());
        for call in &calls {
            call.server.free_call_stack(call.stack);
            crate::serve::revoke(call);
        }
        drop(calls);
        let imports = self.imports.lock().clear();
        for import in &imports {
            // An object a server made for it whose last import this was:
            // its `Release` runs in the server on the thread freeing this
            // process (its own is gone), for a limited time.
            if let Target::Process { server, endpoint } = &import.target
                && let Some(export) = crate::serve::forget_import(server, *endpoint)
            {
                crate::kernel_calls::release_in(server.clone(), &export, RELEASE_TIMEOUT_MS);
            }
        }
        drop(imports);
        drop(self.view.lock().take());
        drop(self.space.lock().take());
        drop(self.waits.lock().take());
    }

    /// Its figures now.
    pub fn status(&self) -> ProcessStatus {
        let mut status = ProcessStatus {
            id: self.id,
            thread: self.thread_id,
            space: self.space_number,
            imports: u32::try_from(self.imports.lock().len()).unwrap_or(u32::MAX),
            ..ProcessStatus::default()
        };
        let length = (0..=self.name.len().min(status.name.len()))
            .rev()
            .find(|&end| self.name.is_char_boundary(end))
            .unwrap_or(0);
        for (to, from) in status.name.iter_mut().zip(self.name.bytes().take(length)) {
            *to = from;
        }
        status.name_length = u32::try_from(length).unwrap_or(0);
        if let Some(ended) = self.ended() {
            status.state = process_state::ENDED;
            status.exit_status = ended;
        }
        status
    }

    /// Its exit code or the status that ended it, once it has ended.
    fn ended(&self) -> Option<i32> {
        let threads = component::namespace()
            .ok()?
            .bind("/sys/threads", 0)
            .ok()?
            .query::<interfaces::IThreads>()
            .ok()?;
        let count = threads.count().ok()?;
        let state = (0..count)
            .filter_map(|index| threads.status(index).ok())
            .find(|thread| thread.id == self.thread_id)
            .map_or(interfaces::threads::state::EXITED, |thread| thread.state);
        if state != interfaces::threads::state::EXITED {
            return None;
        }
        Some(match self.thread().ok()?.wait() {
            Ok(()) => self.exit_code.lock().unwrap_or(0),
            Err(status) => status.0,
        })
    }
}

/// Maps the image `/boot/<name>` (or `name`, an absolute path) at
/// [`IMAGE_BASE`] in `space` with the image mapper (`/sys/vm-image`),
/// each section W^X, once its signature passed if the trust policy wants
/// one; its entry point's address.
fn load_image(namespace: &interfaces::INamespace, space: &IVmSpace, name: &str) -> Result<u64> {
    let mut path = String::new();
    if !name.starts_with('/') {
        path.push_str("/boot/");
    }
    path.push_str(name);
    let mapper = namespace
        .bind(IMAGE_MAPPER_PATH, 0)?
        .query::<IVmImageMapper>()?;
    // An application reaches the kernel by traps only: the mapper refuses
    // an image that imports, or one not laid out page by page.
    let image = mapper
        .map_image(space.as_unknown(), IMAGE_BASE, &path)
        .map_err(|status| match status {
            Status::NOT_SUPPORTED => Status::BAD_IMAGE,
            other => other,
        })?;
    Ok(image.entry)
}

/// Maps the stack and writes the process's id in its top word (where
/// [`number_of`] finds it) and the argument block below (a little-endian
/// length, then the bytes); the block's address.
fn map_stack(factory: &IVmFactory, space: &IVmSpace, arguments: &str, id: u64) -> Result<u64> {
    let stack = factory.create_zero_mapping(STACK_SIZE)?;
    let bottom = STACK_TOP - STACK_SIZE;
    space.map(
        bottom,
        stack.as_unknown(),
        0,
        STACK_SIZE,
        protection::READ | protection::WRITE,
    )?;
    let mut block = Vec::new();
    block
        .try_reserve_exact(8 + arguments.len())
        .map_err(|_| Status::OUT_OF_MEMORY)?;
    block.extend_from_slice(&(arguments.len() as u64).to_le_bytes());
    block.extend_from_slice(arguments.as_bytes());
    stack.write(STACK_SIZE - 8, &id.to_le_bytes())?;
    let at = (STACK_SIZE - 16 - block.len() as u64) & !15;
    stack.write(at, &block)?;
    Ok(bottom + at)
}

/// The number of the space whose stack's top word is `id` among
/// `/sys/vm`'s `space-<n>` (0 if none is): binding a space's name gives a
/// new object for it, so the spaces are told apart by what they hold.
fn number_of(namespace: &interfaces::INamespace, id: u64) -> u32 {
    let mut found = 0;
    let _ = interfaces::namespace::for_each_name(namespace, MANAGER_PATH, |entry| {
        let mut path = String::from(MANAGER_PATH);
        path.push('/');
        path.push_str(entry);
        let mut word = [0u8; 8];
        let read = namespace
            .bind(&path, 0)
            .and_then(|object| object.query::<IVmMapping>())
            .and_then(|space| space.read(STACK_TOP - 8, &mut word));
        if read == Ok(8) && u64::from_le_bytes(word) == id {
            found = entry.trim_start_matches("space-").parse().unwrap_or(0);
        }
        Ok(())
    });
    found
}
