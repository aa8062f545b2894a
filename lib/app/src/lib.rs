//! The runtime of applications in their own address spaces: entry, exit, panics, proxies for the objects a process binds, and serving its own objects to other processes, all reaching the kernel by ecall.
//!
//! An application is a `#![no_std]`, `#![no_main]` binary crate whose
//! `.def` imports nothing (the IPC component refuses an image that
//! imports: U-mode code never calls a kernel address). It names its main
//! function with [`application!`], which defines the entry point
//! `tessera_entry` the IPC starts its thread at, with the process's
//! arguments, and ends the process with `main`'s code. A panic ends the
//! process with [`PANIC_CODE`].
//!
//! [`Proxy::bind`] binds a name the process was granted and gives a proxy:
//! an object whose method table, made from nothing but the interface's
//! signature table, has one stub per method. A stub traps (`ecall`) with
//! the import's handle and the method's number; the IPC copies the
//! arguments by the same signature and calls the object in its space. A
//! scalar result comes back in a register, and the stub stores it through
//! the method's out-pointer, as the object would have. docs/ipc.md has
//! the trap ABI.
//!
//! Applications may use `alloc` (`Vec`, `String`, `Box`): the global
//! allocator (`heap.rs`) keeps the process's heap in its own space, grown
//! by `ecall`, and freed with the space.
//!
//! [`register`] serves an object of the process under a name it was
//! granted, and [`serve`] waits while other processes call it: each call
//! arrives on the caller's own thread, moved into this process's space
//! and started at [`dispatch_entry`] on a call stack of its own.
//!
//! Depends on `com`, `interfaces`, `sync` and `linked_list_allocator`;
//! applications (`apptest`) use it.

#![no_std]

extern crate alloc;

mod heap;

use core::ffi::c_void;
use core::marker::PhantomData;

use com::{ArgKind, Guid, IUnknown, Interface, InterfaceSignature, Result, Status};
use interfaces::ipc::ecall as service;

/// The exit code of a process that panicked.
pub const PANIC_CODE: i32 = 101;

/// Traps into the kernel with service `number` in `t0`, `method` in `t1`
/// and `a0`..`a7`; what comes back in `a0` and `a1`.
pub fn ecall(number: u64, method: u64, a: [u64; 8]) -> (u64, u64) {
    let (a0, a1): (u64, u64);
    // SAFETY: `ecall` from U-mode traps into the kernel, which returns to
    // the next instruction with `a0` and `a1` set and every other register
    // as it was; it reads the caller's memory only through the kernel's
    // checked copies.
    unsafe {
        core::arch::asm!(
            "ecall",
            in("t0") number,
            in("t1") method,
            inlateout("a0") a[0] => a0,
            inlateout("a1") a[1] => a1,
            in("a2") a[2],
            in("a3") a[3],
            in("a4") a[4],
            in("a5") a[5],
            in("a6") a[6],
            in("a7") a[7],
            options(nostack),
        );
    }
    (a0, a1)
}

/// Ends the process with `code` (0 or more).
pub fn exit(code: i32) -> ! {
    ecall(service::EXIT, 0, [code as u64, 0, 0, 0, 0, 0, 0, 0]);
    // The kernel does not return from `EXIT`; should it, stop here.
    loop {
        core::hint::spin_loop();
    }
}

/// The status an `ecall` returned in `a0`.
fn status_of(a0: u64) -> Status {
    // The kernel passes the status sign-extended, as the ABI passes `i32`s.
    Status(i32::try_from(a0.cast_signed()).unwrap_or(Status::FAILED.0))
}

/// A register's value as an address.
fn address(word: u64) -> usize {
    usize::try_from(word).unwrap_or(0)
}

/// The process's arguments, from the block the IPC wrote at its stack's
/// top (a little-endian length, then the bytes).
///
/// # Safety
/// `block` is the argument the process's thread started with.
pub unsafe fn arguments(block: u64) -> &'static str {
    let start = core::ptr::with_exposed_provenance::<u8>(address(block));
    // SAFETY: the IPC wrote the block there, in the stack mapping, which
    // lives as long as the process: a length, then that many UTF-8 bytes.
    unsafe {
        let length = address(start.cast::<u64>().read());
        let bytes = core::slice::from_raw_parts(start.add(8), length);
        core::str::from_utf8(bytes).unwrap_or("")
    }
}

/// Defines the entry point: runs `$main` with the process's arguments and
/// ends the process with the code it returns.
#[macro_export]
macro_rules! application {
    ($main:path) => {
        /// The entry point the IPC starts the process's thread at.
        #[unsafe(no_mangle)]
        extern "C" fn tessera_entry(block: u64) {
            // SAFETY: `block` is the argument the thread started with.
            let arguments = unsafe { $crate::arguments(block) };
            $crate::exit($main(arguments))
        }
    };
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    exit(PANIC_CODE)
}

/// The proxy's fields, in the layout its stubs read: the method table
/// first, as in every object.
#[repr(C)]
struct Header {
    table: *const Table,
    handle: u64,
    signature: &'static InterfaceSignature,
}

/// A proxy for an object of another space: behaves as an `I` (see
/// [`Proxy::get`]); dropping it releases the import.
#[repr(C)]
pub struct Proxy<I: Interface> {
    header: Header,
    interface: PhantomData<I>,
}

impl<I: Interface> Proxy<I> {
    /// Binds `name` (which the process must have been granted) for
    /// interface `I`; the IPC refuses interfaces whose arguments it cannot
    /// copy (`NOT_SUPPORTED`).
    pub fn bind(name: &str) -> Result<Proxy<I>> {
        let iid = I::IID;
        let registers = [
            name.as_ptr() as u64,
            name.len() as u64,
            core::ptr::from_ref(&iid) as u64,
            0,
            0,
            0,
            0,
            0,
        ];
        let (a0, handle) = ecall(service::BIND, 0, registers);
        status_of(a0).check()?;
        Ok(Proxy::with_handle(handle))
    }

    /// A proxy for import `handle` (which need not be a live one: calls
    /// through it then fail with the IPC's error).
    pub fn with_handle(handle: u64) -> Proxy<I> {
        Proxy {
            header: Header {
                table: &TABLE,
                handle,
                signature: I::SIGNATURE,
            },
            interface: PhantomData,
        }
    }

    /// The import's handle.
    pub fn handle(&self) -> u64 {
        self.header.handle
    }

    /// The proxy as the interface it stands for.
    pub fn get(&self) -> &I {
        // SAFETY: an interface reference points at an object whose first
        // word is its method table; the proxy's is, and its table has a
        // stub for each of `I`'s methods (up to `MOST_METHODS`: a stub
        // beyond the signature's methods is refused by the IPC).
        unsafe { &*core::ptr::from_ref(self).cast::<I>() }
    }
}

impl<I: Interface> Drop for Proxy<I> {
    fn drop(&mut self) {
        ecall(
            service::RELEASE,
            0,
            [self.header.handle, 0, 0, 0, 0, 0, 0, 0],
        );
    }
}

/// The most methods a proxy's table has.
const MOST_METHODS: usize = 12;

/// A method as the machine calls it: the object and seven registers.
type Method = unsafe extern "C" fn(*mut c_void, u64, u64, u64, u64, u64, u64, u64) -> Status;

/// Every proxy's method table: the `IUnknown` three, then one stub per
/// method number.
#[repr(C)]
struct Table {
    query_interface: unsafe extern "C" fn(*mut c_void, *const Guid, *mut *mut c_void) -> Status,
    add_ref: unsafe extern "C" fn(*mut c_void) -> u32,
    release: unsafe extern "C" fn(*mut c_void) -> u32,
    methods: [Method; MOST_METHODS],
}

static TABLE: Table = Table {
    query_interface,
    add_ref,
    release,
    methods: [
        stub::<0>, stub::<1>, stub::<2>, stub::<3>, stub::<4>, stub::<5>, stub::<6>, stub::<7>,
        stub::<8>, stub::<9>, stub::<10>, stub::<11>,
    ],
};

/// `QueryInterface`: the proxy itself for its own interface or
/// `IUnknown`; anything else is `NO_INTERFACE` (a proxy for a new
/// endpoint is not made yet).
unsafe extern "C" fn query_interface(
    this: *mut c_void,
    iid: *const Guid,
    out: *mut *mut c_void,
) -> Status {
    if iid.is_null() || out.is_null() {
        return Status::NULL_POINTER;
    }
    // SAFETY: `this` is a proxy (its table is this one's), and the caller
    // passes a valid IID and out pointer by the ABI.
    unsafe {
        let header = &*this.cast::<Header>();
        let wanted = *iid;
        if wanted == header.signature.iid || wanted == IUnknown::IID {
            *out = this;
            return Status::OK;
        }
        *out = core::ptr::null_mut();
    }
    Status::NO_INTERFACE
}

/// References are the proxy's owner's: `AddRef` and `Release` count
/// nothing, and dropping the [`Proxy`] releases the import.
unsafe extern "C" fn add_ref(_this: *mut c_void) -> u32 {
    1
}

unsafe extern "C" fn release(_this: *mut c_void) -> u32 {
    1
}

/// Method `M` of every proxy: traps with the import's handle and `M`;
/// stores a scalar result through the method's out-pointer.
#[allow(clippy::too_many_arguments, reason = "the ABI's argument registers")]
unsafe extern "C" fn stub<const M: usize>(
    this: *mut c_void,
    a1: u64,
    a2: u64,
    a3: u64,
    a4: u64,
    a5: u64,
    a6: u64,
    a7: u64,
) -> Status {
    // SAFETY: `this` is a proxy: its table is this one's.
    let header = unsafe { &*this.cast::<Header>() };
    let registers = [header.handle, a1, a2, a3, a4, a5, a6, a7];
    let (a0, value) = ecall(service::CALL, M as u64, registers);
    let status = status_of(a0);
    let Some(method) = header.signature.methods.get(M) else {
        return status;
    };
    if let (true, Some(kind)) = (status.is_ok(), method.ret) {
        let used: usize = method.args.iter().map(|arg| arg.kind.registers()).sum();
        let out = [a1, a2, a3, a4, a5, a6, a7].get(used).copied().unwrap_or(0);
        // SAFETY: the caller passed a valid out-pointer for the result's
        // kind in that register, by the ABI.
        unsafe { store(kind, out, value) };
    }
    status
}

/// Stores scalar `value` of `kind` at `out`; other kinds the IPC wrote.
///
/// # Safety
/// `out` is null or valid for writing a value of `kind`.
unsafe fn store(kind: ArgKind, out: u64, value: u64) {
    let out = core::ptr::with_exposed_provenance_mut::<u8>(address(out));
    let width = match kind {
        ArgKind::Bool => 4,
        ArgKind::Unsigned(width) | ArgKind::Signed(width) => address(u64::from(width)).min(8),
        _ => return,
    };
    if out.is_null() {
        return;
    }
    // The low `width` bytes: the value as a `width`-byte integer (RISC-V
    // is little-endian).
    let bytes = value.to_le_bytes();
    // SAFETY: as the caller promised, `out` is valid for `width` bytes.
    unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), out, width) };
}

/// Serves `object` (an `I` of this process: a
/// [`ComObject::unboxed`](com::ComObject::unboxed) kept alive while the
/// process runs) under `name`, which the process was granted (or a prefix
/// of it ending in `/`); the endpoint's id. A client's call runs the
/// method on the client's own thread, moved into this process's space:
/// the IPC starts it at [`dispatch_entry`] on a stack of its own.
pub fn register<I: Interface>(name: &str, object: &I) -> Result<u64> {
    let iid = I::IID;
    let registers = [
        name.as_ptr() as u64,
        name.len() as u64,
        core::ptr::from_ref(&iid) as u64,
        core::ptr::from_ref(object) as u64,
        dispatch_entry(),
        0,
        0,
        0,
    ];
    let (a0, endpoint) = ecall(service::REGISTER, 0, registers);
    status_of(a0).check()?;
    Ok(endpoint)
}

/// Waits, serving calls, until the process is killed; the status if the
/// IPC refuses (then the process should end).
pub fn serve() -> Status {
    status_of(ecall(service::SERVE, 0, [0; 8]).0)
}

/// Sets the timeout of a proxy's calls to `milliseconds` (0: none): a
/// call the server has not returned from by then returns `TIMED_OUT`.
pub fn set_timeout<I: Interface>(proxy: &Proxy<I>, milliseconds: u64) -> Result<()> {
    let registers = [proxy.handle(), milliseconds, 0, 0, 0, 0, 0, 0];
    status_of(ecall(service::TIMEOUT, 0, registers).0).check()
}

unsafe extern "C" {
    /// The dispatch entry (in `global_asm!` below): not called from Rust.
    fn tessera_dispatch();
}

/// The address of the dispatch entry, where a call into this process
/// starts: `a0` the object, `t1` the method number (checked against the
/// interface's signature by the IPC), `a1`..`a7` the method's argument
/// registers (pointers into the call's stack, where the IPC copied the
/// buffers). It calls entry 3 + `t1` of the object's method table and
/// traps with `RETURN` and the method's status.
pub fn dispatch_entry() -> u64 {
    tessera_dispatch as *const () as usize as u64
}

core::arch::global_asm!(
    r#"
    .section .text
    .globl tessera_dispatch
    .balign 4
tessera_dispatch:
    ld t2, 0(a0)
    addi t1, t1, 3
    slli t1, t1, 3
    add t2, t2, t1
    ld t2, 0(t2)
    jalr ra, 0(t2)
    li t0, {return_service}
    ecall
1:
    j 1b
"#,
    return_service = const service::RETURN,
);

/// Components tell the kernel when one of their objects may have become
/// unused, so that it can unload their module (`com::unshared`); an
/// application is no module and its objects ([`register`]'s) live as long
/// as it does, so the notice goes nowhere.
#[unsafe(no_mangle)]
extern "C" fn tessera_object_unshared(_object: *const c_void) {}

/// `com`'s sleep on a word (its locks' waits), which in a component is the
/// kernel's export: in an application, the IPC's `WAIT` on the process's
/// own word. 0 on timeout, 1 otherwise, as the kernel's.
#[unsafe(no_mangle)]
extern "C" fn tessera_wait_word(word: *const u32, expected: u32, timeout_us: u64) -> u32 {
    let registers = [word as u64, u64::from(expected), timeout_us, 0, 0, 0, 0, 0];
    let (a0, _) = ecall(service::WAIT, 0, registers);
    u32::from(status_of(a0) != Status::TIMED_OUT)
}

/// `com`'s wake of a word's sleepers: the IPC's `WAKE` of every waiter on
/// the process's own word; how many woke.
#[unsafe(no_mangle)]
extern "C" fn tessera_wake_word(word: *const u32) -> u32 {
    let (_, woken) = ecall(service::WAKE, 0, [word as u64, u64::MAX, 0, 0, 0, 0, 0, 0]);
    u32::try_from(woken).unwrap_or(u32::MAX)
}
