//! Proxies made at run time: an object of any interface whose signature
//! is known, each of whose methods hands its arguments, decoded by the
//! signature, to a [`Forwarder`].
//!
//! The IPC component makes one for a kernel-space caller of an object a
//! process serves (docs/ipc.md, "Kernel-space callers"): the caller calls
//! it as any interface pointer, and the forwarder copies the arguments
//! into the server's space and runs the method there. Every proxy shares
//! one method table — `IUnknown`'s three, then one stub per method number
//! (generic over it) — so nothing is written per interface. A stub turns
//! the caller's registers into [`Arg`]s (buffers, strings, IIDs and
//! interface pointers as borrows of the caller's memory: this module is
//! the step that trusts the caller's pointers, as any callee does by the
//! ABI) and writes the result back through the method's out-pointer.
//! `QueryInterface` answers the proxy itself for `IUnknown` and its own
//! interface, and asks the forwarder for any other.

use alloc::boxed::Box;
use core::ffi::c_void;
use core::sync::atomic::{AtomicU32, Ordering, fence};

use crate::dynamic::{Arg, REGISTERS, RETURNED_WORDS};
use crate::{
    ArgKind, ComPtr, Guid, IUnknown, IUnknownVtbl, Interface, InterfaceSignature, KeepLoaded,
};
use crate::{MOST_METHODS, MethodTable as Table};
use crate::{Result, Status};

/// Bytes of the area a record result is written in ([`Forwarder::forward`]).
pub const RESULT_BYTES: usize = RETURNED_WORDS * 8;

/// What a forwarded method gives back besides its status.
pub enum Answer {
    /// A scalar result (cut to its kind by the stub), or nothing.
    Word(u64),
    /// An owned interface result: the caller gets this reference.
    Interface(ComPtr<IUnknown>),
}

/// Where a proxy's calls go.
pub trait Forwarder: Send + Sync + 'static {
    /// The interface the proxy stands for.
    fn signature(&self) -> &'static InterfaceSignature;
    /// Itself, for its module to tell its own forwarders
    /// ([`forwarder_of`]).
    fn as_any(&self) -> &dyn core::any::Any;
    /// Makes call `method` (0: the first after `IUnknown`'s three) of the
    /// signature: `registers` are the caller's argument registers
    /// (`a1`..`a7`, pointers as addresses), but for the result's
    /// out-pointer, which is `result`'s address; `args` the arguments, one
    /// per declared argument, borrowing the caller's memory at those
    /// addresses (an interface pointer as the object, borrowed for the
    /// call). A record result goes in `result`.
    fn forward(
        &self,
        method: usize,
        registers: &[u64; REGISTERS],
        args: &mut [Arg<'_>],
        result: &mut [u8; RESULT_BYTES],
    ) -> Result<Answer>;
    /// `QueryInterface` for an IID other than `IUnknown`'s and the
    /// proxy's own: the object's answer (a new reference), or
    /// `NO_INTERFACE`.
    fn query(&self, iid: &Guid) -> Result<ComPtr<IUnknown>>;
}

/// A proxy: its method table first, as in every object.
#[repr(C)]
struct Proxy {
    table: &'static Table,
    references: AtomicU32,
    forwarder: Box<dyn Forwarder>,
    /// The code of its table and stubs is this module's.
    _loaded: KeepLoaded,
}

/// A new proxy forwarding to `forwarder`, as an interface pointer of its
/// signature's interface (one reference). `NOT_SUPPORTED` for an
/// interface with more than [`MOST_METHODS`] methods.
pub fn create(forwarder: Box<dyn Forwarder>) -> Result<ComPtr<IUnknown>> {
    if forwarder.signature().methods.len() > MOST_METHODS {
        return Err(Status::NOT_SUPPORTED);
    }
    let proxy = crate::try_box(Proxy {
        table: &TABLE,
        references: AtomicU32::new(1),
        forwarder,
        _loaded: KeepLoaded::this_module(),
    })?;
    let raw = Box::into_raw(proxy).cast::<IUnknown>();
    // SAFETY: the proxy starts with its method table, whose first three
    // entries are `IUnknown`'s, and holds the one reference given here.
    unsafe { ComPtr::from_raw(raw) }.ok_or(Status::OUT_OF_MEMORY)
}

/// The forwarder of `object` if it is one of this module's proxies (its
/// first word is [`TABLE`]): what the proxy stands for, for the module
/// that made it to recognize (`Forwarder::as_any`).
pub fn forwarder_of(object: &IUnknown) -> Option<&dyn Forwarder> {
    let raw = object.as_raw();
    // SAFETY: every interface pointer points at its method table's
    // address; reading that word reads the object's own memory.
    let table = unsafe { *raw.cast::<*const Table>() };
    if !core::ptr::eq(table, &TABLE) {
        return None;
    }
    // SAFETY: only `create` puts `TABLE` in an object, at the start of a
    // `Proxy`, which lives while `object` is borrowed.
    Some(unsafe { &*(*raw.cast::<Proxy>()).forwarder })
}

/// Every proxy's method table.
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

/// `QueryInterface`: the proxy itself for `IUnknown` and its own
/// interface (so its identity is stable); for any other, what the
/// forwarder asks the object for.
unsafe extern "C" fn query_interface(
    this: *mut c_void,
    iid: *const Guid,
    out: *mut *mut c_void,
) -> Status {
    if iid.is_null() || out.is_null() {
        return Status::NULL_POINTER;
    }
    // SAFETY: `this` is a live proxy; `iid` and `out` are valid by the ABI.
    unsafe {
        let proxy = &*this.cast::<Proxy>();
        *out = core::ptr::null_mut();
        if *iid != IUnknown::IID && *iid != proxy.forwarder.signature().iid {
            return match proxy.forwarder.query(&*iid) {
                Ok(object) => {
                    *out = object.into_raw().cast();
                    Status::OK
                }
                Err(status) => status,
            };
        }
        add_ref(this);
        *out = this;
    }
    Status::OK
}

unsafe extern "C" fn add_ref(this: *mut c_void) -> u32 {
    // SAFETY: `this` is a live proxy.
    let proxy = unsafe { &*this.cast::<Proxy>() };
    proxy.references.fetch_add(1, Ordering::Relaxed) + 1
}

/// `Release`: the last reference frees the proxy, and its forwarder
/// (which lets go of what it forwards to).
unsafe extern "C" fn release(this: *mut c_void) -> u32 {
    // SAFETY: `this` is a live proxy; the caller owns a reference.
    let proxy = unsafe { &*this.cast::<Proxy>() };
    let left = proxy.references.fetch_sub(1, Ordering::Release) - 1;
    if left == 0 {
        fence(Ordering::Acquire);
        // SAFETY: the last reference is gone: nobody uses the proxy, which
        // `create` boxed.
        drop(unsafe { Box::from_raw(this.cast::<Proxy>()) });
    }
    left
}

/// Method `M` of every proxy: its arguments decoded by the signature and
/// forwarded, the result stored through the out-pointer.
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
    // SAFETY: `this` is a live proxy (its table is this one's).
    let proxy = unsafe { &*this.cast::<Proxy>() };
    let words = [a1, a2, a3, a4, a5, a6, a7].map(|word| word as u64);
    // SAFETY: the caller called method `M` of the proxy's interface, so
    // its registers are that method's arguments by the ABI.
    match unsafe { forward(proxy, M, words) } {
        Ok(()) => Status::OK,
        Err(status) => status,
    }
}

/// Decodes call `method`'s registers `words` by the signature, forwards
/// it and stores its result.
///
/// # Safety
/// `words` are the argument registers of a call of `method` by the ABI:
/// pointers valid for their lengths (mutable ones exclusively), strings
/// UTF-8, the out-pointer writable for the result's kind.
unsafe fn forward(proxy: &Proxy, method: usize, mut words: [u64; REGISTERS]) -> Result<()> {
    let declared = proxy
        .forwarder
        .signature()
        .methods
        .get(method)
        .ok_or(Status::INVALID_ARGUMENT)?;
    let mut args: [Arg<'_>; REGISTERS] = Default::default();
    let mut at = 0;
    for (arg, signature) in args.iter_mut().zip(declared.args) {
        // SAFETY: forwarded from the caller.
        *arg = unsafe { decode(signature.kind, &words, &mut at) }?;
    }
    let count = declared.args.len();
    let args = args.get_mut(..count).ok_or(Status::NOT_SUPPORTED)?;
    let mut result = [0u8; RESULT_BYTES];
    let out = match declared.ret {
        Some(_) => {
            let slot = words.get_mut(at).ok_or(Status::NOT_SUPPORTED)?;
            let out = core::mem::replace(slot, result.as_ptr().expose_provenance() as u64);
            if out == 0 {
                return Err(Status::NULL_POINTER);
            }
            out
        }
        None => 0,
    };
    let answer = proxy.forwarder.forward(method, &words, args, &mut result)?;
    let Some(kind) = declared.ret else {
        return Ok(());
    };
    let out = pointer::<u8>(out)?;
    match (kind, answer) {
        (ArgKind::Record(record), _) => {
            let size = record.size.min(RESULT_BYTES);
            // SAFETY: the out-pointer is writable for the record (the
            // caller's promise), and `size` is at most its size.
            unsafe { core::ptr::copy_nonoverlapping(result.as_ptr(), out, size) };
        }
        (ArgKind::OwnedInterface(_), Answer::Interface(object)) => {
            // SAFETY: the out-pointer is writable for an interface pointer.
            unsafe {
                out.cast::<*mut IUnknown>()
                    .write_unaligned(object.into_raw())
            };
        }
        (_, Answer::Word(value)) => {
            let bytes = match kind {
                ArgKind::Bool => 4,
                ArgKind::Unsigned(width) | ArgKind::Signed(width) => width.min(8) as usize,
                _ => return Err(Status::NOT_SUPPORTED),
            };
            let value = crate::dynamic::scalar(kind, value)?.to_le_bytes();
            // SAFETY: the out-pointer is writable for the scalar's width.
            unsafe { core::ptr::copy_nonoverlapping(value.as_ptr(), out, bytes) };
        }
        (_, Answer::Interface(_)) => return Err(Status::NOT_SUPPORTED),
    }
    Ok(())
}

/// The argument of `kind` in `words` from `at` (moved past it).
///
/// # Safety
/// As for [`forward`]: the words are such an argument by the ABI.
unsafe fn decode<'a>(kind: ArgKind, words: &[u64; REGISTERS], at: &mut usize) -> Result<Arg<'a>> {
    let mut next = || {
        let word = words.get(*at).copied().ok_or(Status::NOT_SUPPORTED);
        *at += 1;
        word
    };
    Ok(match kind {
        ArgKind::Unsigned(_) | ArgKind::Signed(_) | ArgKind::Bool => {
            Arg::Word(crate::dynamic::scalar(kind, next()?)?)
        }
        ArgKind::Guid => {
            let address = next()?;
            if address == 0 {
                return Err(Status::NULL_POINTER);
            }
            // SAFETY: a non-null IID pointer is readable, by the ABI.
            Arg::Guid(unsafe { &*pointer::<Guid>(address)? })
        }
        ArgKind::Interface(_) => {
            let address = next()?;
            if address == 0 {
                return Err(Status::NULL_POINTER);
            }
            // SAFETY: a non-null interface pointer argument is a live
            // object for the call, by the ABI.
            Arg::Interface(unsafe { &*pointer::<IUnknown>(address)? })
        }
        ArgKind::Bytes | ArgKind::Str | ArgKind::BytesMut | ArgKind::BytesInOut => {
            let (address, length) = (next()?, next()?);
            let length = usize::try_from(length).map_err(|_| Status::OUT_OF_RANGE)?;
            if length > isize::MAX as usize {
                return Err(Status::OUT_OF_RANGE);
            }
            if length > 0 && address == 0 {
                return Err(Status::NULL_POINTER);
            }
            let pointer = pointer::<u8>(address)?;
            if matches!(kind, ArgKind::BytesMut | ArgKind::BytesInOut) {
                if length == 0 {
                    return Ok(Arg::Out(&mut []));
                }
                // SAFETY: a mutable buffer is valid and exclusively lent
                // for the call, by the ABI.
                return Ok(Arg::Out(unsafe {
                    core::slice::from_raw_parts_mut(pointer, length)
                }));
            }
            let bytes: &[u8] = if length == 0 {
                &[]
            } else {
                // SAFETY: a buffer or string is valid for its length for
                // the call, by the ABI.
                unsafe { core::slice::from_raw_parts(pointer, length) }
            };
            if matches!(kind, ArgKind::Str) {
                Arg::Text(core::str::from_utf8(bytes).map_err(|_| Status::BAD_STRING)?)
            } else {
                Arg::In(bytes)
            }
        }
        _ => return Err(Status::NOT_SUPPORTED),
    })
}

/// The pointer a register holds (its address, with the provenance the
/// caller exposed passing it).
fn pointer<T>(word: u64) -> Result<*mut T> {
    let address = usize::try_from(word).map_err(|_| Status::OUT_OF_RANGE)?;
    Ok(core::ptr::with_exposed_provenance_mut(address))
}
