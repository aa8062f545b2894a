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
//! the method's out-pointer, as the object would have — or, for an owned
//! interface result, a new proxy for the import the IPC made; the IPC
//! says which, and where, in `a2`. Proxies live on the process's heap and
//! count their references; the last `Release` releases the import, and
//! `QueryInterface` asks the IPC. docs/ipc.md has the trap ABI.
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
//! Depends on `com` (the heap's sleeping lock, too), `interfaces` and `linked_list_allocator`;
//! applications (`apptest`) use it.

#![no_std]

extern crate alloc;

mod heap;

use alloc::boxed::Box;
use core::ffi::c_void;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use com::{Guid, IUnknown, IUnknownVtbl, Interface, Method, MethodTable as Table, Result, Status};
use interfaces::ipc::ecall as service;

/// The exit code of a process that panicked.
pub const PANIC_CODE: i32 = 101;

/// Traps into the kernel with service `number` in `t0`, `method` in `t1`
/// and `a0`..`a7`; what comes back in `a0` and `a1`.
pub fn ecall(number: u64, method: u64, a: [u64; 8]) -> (u64, u64) {
    let (a0, a1, _) = ecall3(number, method, a);
    (a0, a1)
}

/// [`ecall`], with what comes back in `a2` too (a `CALL`'s
/// `com::dynamic::stored_result`).
fn ecall3(number: u64, method: u64, a: [u64; 8]) -> (u64, u64, u64) {
    let (a0, a1, a2): (u64, u64, u64);
    // SAFETY: `ecall` from U-mode traps into the kernel, which returns to
    // the next instruction with `a0`..`a2` set and every other register
    // as it was; it reads the caller's memory only through the kernel's
    // checked copies.
    unsafe {
        core::arch::asm!(
            "ecall",
            in("t0") number,
            in("t1") method,
            inlateout("a0") a[0] => a0,
            inlateout("a1") a[1] => a1,
            inlateout("a2") a[2] => a2,
            in("a3") a[3],
            in("a4") a[4],
            in("a5") a[5],
            in("a6") a[6],
            in("a7") a[7],
            options(nostack),
        );
    }
    (a0, a1, a2)
}

/// Set once [`tell_runtime`] has told the IPC.
static RUNTIME_TOLD: AtomicBool = AtomicBool::new(false);

/// Tells the IPC this process's runtime (`RUNTIME`): its dispatch entry
/// and its proxies' method table, once, before the process's first `BIND`
/// or `REGISTER`. The IPC needs them only once the process has an import
/// or an endpoint, and every import or endpoint a process gets starts
/// from one of those two; an application that does neither (the empty
/// one) makes no such trap and links none of the proxy code.
fn tell_runtime() {
    if RUNTIME_TOLD.swap(true, Ordering::Relaxed) {
        return;
    }
    let table = core::ptr::from_ref(&TABLE) as u64;
    ecall(
        service::RUNTIME,
        0,
        [dispatch_entry(), table, 0, 0, 0, 0, 0, 0],
    );
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

/// A proxy object on the process's heap, in the layout its stubs and the
/// IPC read: the method table first, as in every object, then the
/// import's handle (the IPC recognises a proxy the process passes by its
/// table, [`tell_runtime`] told it where, and takes the handle at offset 8).
#[repr(C)]
struct ProxyObject {
    table: *const Table,
    handle: u64,
    /// Its references: the last `Release` releases the import and frees
    /// the proxy.
    references: AtomicU32,
}

impl ProxyObject {
    /// A new proxy for import `handle`, with one reference.
    fn boxed(handle: u64) -> NonNull<ProxyObject> {
        NonNull::from(Box::leak(Box::new(ProxyObject {
            table: &TABLE,
            handle,
            references: AtomicU32::new(1),
        })))
    }
}

/// A proxy for an object of another space: behaves as an `I` (see
/// [`Proxy::get`]); dropping it releases its reference (the last releases
/// the import).
pub struct Proxy<I: Interface> {
    object: NonNull<ProxyObject>,
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
        tell_runtime();
        let (a0, handle) = ecall(service::BIND, 0, registers);
        status_of(a0).check()?;
        Ok(Proxy::with_handle(handle))
    }

    /// A proxy for import `handle` (which need not be a live one: calls
    /// through it then fail with the IPC's error).
    pub fn with_handle(handle: u64) -> Proxy<I> {
        Proxy {
            object: ProxyObject::boxed(handle),
            interface: PhantomData,
        }
    }

    /// The import's handle.
    pub fn handle(&self) -> u64 {
        // SAFETY: the proxy lives while this reference to it does.
        unsafe { self.object.as_ref().handle }
    }

    /// The proxy as the interface it stands for.
    pub fn get(&self) -> &I {
        // SAFETY: an interface reference points at an object whose first
        // word is its method table; the proxy's is, and its table has a
        // stub for each of `I`'s methods (up to `MOST_METHODS`: a stub
        // beyond the signature's methods is refused by the IPC).
        unsafe { &*self.object.as_ptr().cast::<I>() }
    }
}

impl<I: Interface> Drop for Proxy<I> {
    fn drop(&mut self) {
        // SAFETY: this owns one reference to the live proxy.
        unsafe { release(self.object.as_ptr().cast()) };
    }
}

/// Every proxy's method table: the `IUnknown` three, then one stub per
/// method number.
static TABLE: Table = Table {
    base: IUnknownVtbl {
        query_interface,
        add_ref,
        release,
    },
    methods: [
        stub::<0>, stub::<1>, stub::<2>, stub::<3>, stub::<4>, stub::<5>, stub::<6>, stub::<7>,
        stub::<8>, stub::<9>, stub::<10>, stub::<11>,
    ],
};

/// `QueryInterface`: the proxy itself for `IUnknown`; any other interface
/// the IPC asks the object for (`QUERY`), and a new proxy stands for the
/// import it gives.
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
        *out = core::ptr::null_mut();
        if *iid == IUnknown::IID {
            add_ref(this);
            *out = this;
            return Status::OK;
        }
        let handle = (*this.cast::<ProxyObject>()).handle;
        let (a0, import) = ecall(service::QUERY, 0, [handle, iid as u64, 0, 0, 0, 0, 0, 0]);
        if let Err(status) = status_of(a0).check() {
            return status;
        }
        *out = ProxyObject::boxed(import).as_ptr().cast();
    }
    Status::OK
}

unsafe extern "C" fn add_ref(this: *mut c_void) -> u32 {
    // SAFETY: `this` is a live proxy.
    let proxy = unsafe { &*this.cast::<ProxyObject>() };
    proxy.references.fetch_add(1, Ordering::Relaxed) + 1
}

/// `Release`: the last reference releases the import (`RELEASE`; the
/// last import of an object a process made has the IPC release that
/// object in its process) and frees the proxy.
unsafe extern "C" fn release(this: *mut c_void) -> u32 {
    // SAFETY: `this` is a live proxy; the caller owns a reference.
    let proxy = unsafe { &*this.cast::<ProxyObject>() };
    let left = proxy.references.fetch_sub(1, Ordering::AcqRel) - 1;
    if left == 0 {
        ecall(service::RELEASE, 0, [proxy.handle, 0, 0, 0, 0, 0, 0, 0]);
        // SAFETY: the last reference is gone: nobody uses the proxy, which
        // `ProxyObject::boxed` made.
        drop(unsafe { Box::from_raw(this.cast::<ProxyObject>()) });
    }
    left
}

/// Method `M` of every proxy: traps with the import's handle and `M`;
/// stores the result through the method's out-pointer as the IPC says
/// (`a2`: a scalar's bytes, or a new proxy for a returned import).
#[allow(clippy::too_many_arguments, reason = "the ABI's argument registers")]
unsafe extern "C" fn stub<const M: usize>(
    this: *mut c_void,
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
    a5: usize,
    a6: usize,
    a7: usize,
) -> Status {
    // SAFETY: `this` is a proxy: its table is this one's.
    let handle = unsafe { (*this.cast::<ProxyObject>()).handle };
    let [a1, a2, a3, a4, a5, a6, a7] = [a1, a2, a3, a4, a5, a6, a7].map(|word| word as u64);
    let registers = [handle, a1, a2, a3, a4, a5, a6, a7];
    let (a0, value, stored) = ecall3(service::CALL, M as u64, registers);
    let status = status_of(a0);
    if status.is_ok() && stored != 0 {
        let out = [a1, a2, a3, a4, a5, a6, a7]
            .get(address(stored >> 8 & 0xff))
            .copied()
            .unwrap_or(0);
        // SAFETY: the caller passed a valid out-pointer for the result's
        // kind in that register, by the ABI (the IPC named the register
        // from the method's signature).
        unsafe { store(stored & 0xff, out, value) };
    }
    status
}

/// Stores `value` at `out` as `what` says: its low `what` bytes, or, for
/// `RESULT_PROXY`, a new proxy for the import `value`.
///
/// # Safety
/// `out` is null or valid for writing what `what` describes.
unsafe fn store(what: u64, out: u64, value: u64) {
    let out = core::ptr::with_exposed_provenance_mut::<u8>(address(out));
    if what == com::dynamic::RESULT_PROXY {
        if out.is_null() {
            ecall(service::RELEASE, 0, [value, 0, 0, 0, 0, 0, 0, 0]);
            return;
        }
        let proxy = ProxyObject::boxed(value).as_ptr();
        // SAFETY: `out` is valid for an interface pointer, as promised.
        unsafe { out.cast::<*mut ProxyObject>().write_unaligned(proxy) };
        return;
    }
    if out.is_null() {
        return;
    }
    // The low `width` bytes: the value as a `width`-byte integer (RISC-V
    // is little-endian).
    let width = address(what).min(8);
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
    tell_runtime();
    let (a0, endpoint) = ecall(service::REGISTER, 0, registers);
    status_of(a0).check()?;
    Ok(endpoint)
}

/// The process's namespace: the names it was granted, to bind, list and
/// register under (a proxy of its view, which the IPC serves from the
/// kernel's space).
pub fn namespace() -> Result<Proxy<interfaces::INamespace>> {
    Proxy::bind("/")
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

/// The address of the dispatch entry, where a call into this process
/// starts: `a0` the object, `t1` the method number (checked against the
/// interface's signature by the IPC; `RELEASE_METHOD` and `QUERY_METHOD`
/// wrap to `Release` and `QueryInterface`), `a1`..`a7` the method's
/// argument registers (pointers into the call's stack, where the IPC
/// copied the buffers), `t3` the mask of those that hold import handles
/// for interface pointers. It calls entry 3 + `t1` of the object's
/// method table — through [`dispatch_wrapped`] when `t3` is not 0 — and
/// traps with `RETURN` and the method's status.
pub fn dispatch_entry() -> u64 {
    tessera_dispatch as *const () as usize as u64
}

/// A call whose arguments `registers` (`a1`..`a7`) hold import handles
/// where `handles` has bits: each is wrapped in a proxy the method
/// borrows, and released after (the IPC revokes the import at `RETURN`
/// anyway: a proxy kept past the call gets `STALE_HANDLE`).
extern "C" fn dispatch_wrapped(
    object: *mut c_void,
    method: u64,
    handles: u64,
    registers: &mut [u64; 7],
) -> Status {
    let mut proxies = [None; 7];
    for (index, (word, proxy)) in registers.iter_mut().zip(&mut proxies).enumerate() {
        if handles & 1 << index != 0 {
            let made = ProxyObject::boxed(*word);
            *word = made.as_ptr() as u64;
            *proxy = Some(made);
        }
    }
    let [a1, a2, a3, a4, a5, a6, a7] = registers.map(address);
    // SAFETY: `object` is an object of this process the IPC exported with
    // its interface's signature, whose method `method` it checked; the
    // registers are what that method takes, handles now proxies.
    let status = unsafe {
        let table = *object.cast::<*const Method>();
        let entry = table.wrapping_add(address(method.wrapping_add(3)));
        (*entry)(object, a1, a2, a3, a4, a5, a6, a7)
    };
    for proxy in proxies.into_iter().flatten() {
        // SAFETY: this owns the proxy's first reference.
        unsafe { release(proxy.as_ptr().cast()) };
    }
    status
}

unsafe extern "C" {
    /// The dispatch entry (in `global_asm!` below): not called from Rust.
    fn tessera_dispatch();
}

core::arch::global_asm!(
    r#"
    .section .text
    .globl tessera_dispatch
    .balign 4
tessera_dispatch:
    bnez t3, 2f
    ld t2, 0(a0)
    addi t1, t1, 3
    slli t1, t1, 3
    add t2, t2, t1
    ld t2, 0(t2)
    jalr ra, 0(t2)
3:
    li t0, {return_service}
    ecall
1:
    j 1b
2:
    addi sp, sp, -64
    sd a1, 0(sp)
    sd a2, 8(sp)
    sd a3, 16(sp)
    sd a4, 24(sp)
    sd a5, 32(sp)
    sd a6, 40(sp)
    sd a7, 48(sp)
    mv a1, t1
    mv a2, t3
    mv a3, sp
    call {wrapped}
    j 3b
"#,
    return_service = const service::RETURN,
    wrapped = sym dispatch_wrapped,
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
