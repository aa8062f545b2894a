//! Calls made by signature: a method chosen at run time, called with
//! arguments built at run time and checked against the method's
//! [`MethodSignature`] before anything is called.
//!
//! The IPC component calls kernel-space objects for U-mode callers this
//! way, with copies of the caller's arguments in kernel memory
//! (`lib/marshal` builds them); this module is the one step that turns
//! them into the registers of a raw method call, so the IPC stays safe
//! Rust.

use core::ffi::c_void;

use crate::{ArgKind, Guid, IUnknown, Interface, InterfaceSignature, Status};

/// Argument registers after the object pointer (`a1`..`a7`).
pub const REGISTERS: usize = 7;
/// Vtable entries before the methods: `QueryInterface`, `AddRef`, `Release`.
const BASE: usize = 3;

/// One argument, as the callee will see it.
#[derive(Default)]
pub enum Arg<'a> {
    /// No argument (a placeholder past the method's last one).
    #[default]
    None,
    /// An integer or boolean, as its register holds it.
    Word(u64),
    /// An input buffer (`Bytes`).
    In(&'a [u8]),
    /// A 128-bit identifier (`Guid`), passed by pointer.
    Guid(&'a Guid),
    /// A buffer the callee fills (`BytesMut`), or reads and may change
    /// (`BytesInOut`).
    Out(&'a mut [u8]),
    /// A string (`Str`).
    Text(&'a str),
    /// A borrowed interface pointer (`Interface`), of the argument's
    /// interface (from `QueryInterface` for its IID): what the IPC made
    /// of a process's pointer for a kernel-space callee, or a kernel-space
    /// caller's, which a proxy's forwarder lends to a process.
    Interface(&'a IUnknown),
}

impl Arg<'_> {
    /// True when the argument can be passed as `kind`.
    fn fits(&self, kind: ArgKind) -> bool {
        matches!(
            (self, kind),
            (
                Arg::Word(_),
                ArgKind::Unsigned(_) | ArgKind::Signed(_) | ArgKind::Bool
            ) | (Arg::Guid(_), ArgKind::Guid)
                | (Arg::In(_), ArgKind::Bytes)
                | (Arg::Text(_), ArgKind::Str)
                | (Arg::Out(_), ArgKind::BytesMut | ArgKind::BytesInOut)
                | (Arg::Interface(_), ArgKind::Interface(_))
        )
    }

    /// Appends the argument's registers to `registers` from `at`; returns
    /// where the next goes.
    fn put(&mut self, registers: &mut [usize; REGISTERS], at: usize) -> Option<usize> {
        let words: [usize; 2] = match self {
            Arg::None => return Some(at),
            Arg::Word(value) => [word(*value), 0],
            Arg::Guid(guid) => [core::ptr::from_ref(*guid).expose_provenance(), 0],
            Arg::In(bytes) => [bytes.as_ptr().expose_provenance(), bytes.len()],
            Arg::Out(bytes) => [bytes.as_mut_ptr().expose_provenance(), bytes.len()],
            Arg::Text(text) => [text.as_ptr().expose_provenance(), text.len()],
            Arg::Interface(interface) => [core::ptr::from_ref(*interface).expose_provenance(), 0],
        };
        let count = if matches!(self, Arg::Word(_) | Arg::Guid(_) | Arg::Interface(_)) {
            1
        } else {
            2
        };
        for (index, word) in words.iter().take(count).enumerate() {
            *registers.get_mut(at + index)? = *word;
        }
        Some(at + count)
    }
}

/// What a method returns besides its status, in a buffer the call owns.
pub struct Returned {
    bytes: [u64; RETURNED_WORDS],
    /// An owned interface result, released with the buffer unless taken.
    interface: Option<crate::ComPtr<IUnknown>>,
}

/// Words of the largest return value a dynamic call takes (a record of
/// up to 256 bytes).
pub const RETURNED_WORDS: usize = 32;

impl Returned {
    /// An empty buffer.
    pub const fn new() -> Returned {
        Returned {
            bytes: [0; RETURNED_WORDS],
            interface: None,
        }
    }

    /// A buffer holding `bytes` (little-endian words; the rest zeros).
    pub fn from_bytes(bytes: &[u8]) -> Returned {
        let mut returned = Returned::new();
        for (word, chunk) in returned.bytes.iter_mut().zip(bytes.chunks(8)) {
            let mut array = [0u8; 8];
            for (to, from) in array.iter_mut().zip(chunk) {
                *to = *from;
            }
            *word = u64::from_le_bytes(array);
        }
        returned
    }

    /// The owned interface result of a call that gave one (its
    /// reference is the caller's).
    pub fn take_interface(&mut self) -> Option<crate::ComPtr<IUnknown>> {
        self.interface.take()
    }

    /// The first word: a scalar result, as the callee wrote it.
    pub fn word(&self) -> u64 {
        self.bytes[0]
    }

    /// The first `size` bytes (a record result), little-endian.
    pub fn bytes(&self, size: usize, into: &mut [u8]) {
        let words = self.bytes.iter().flat_map(|word| word.to_le_bytes());
        for (to, from) in into.iter_mut().zip(words).take(size) {
            *to = from;
        }
    }
}

impl Default for Returned {
    fn default() -> Returned {
        Returned::new()
    }
}

/// What a method looks like in the machine: the object pointer and seven
/// more argument registers, a status back.
type Method =
    unsafe extern "C" fn(*mut c_void, usize, usize, usize, usize, usize, usize, usize) -> Status;

/// Calls method `method` (0: the first after the base three) of
/// `interface`, an interface pointer of `signature`'s interface (it came
/// from `QueryInterface` for `signature.iid`), with `args` (one per
/// argument of the method, in order) and `returned` for its result (an
/// owned interface result is kept there as a reference).
/// `INVALID_ARGUMENT` when there is no such method, an argument does not
/// match its kind, or the result does not fit `returned`; `NOT_SUPPORTED`
/// for kinds a dynamic call cannot pass (records passed in, addresses).
pub fn call(
    interface: &IUnknown,
    signature: &'static InterfaceSignature,
    method: usize,
    args: &mut [Arg<'_>],
    returned: &mut Returned,
) -> Status {
    let Some(declared) = signature.methods.get(method) else {
        return Status::INVALID_ARGUMENT;
    };
    if args.len() != declared.args.len() {
        return Status::INVALID_ARGUMENT;
    }
    if !declared
        .args
        .iter()
        .zip(args.iter())
        .all(|(arg, value)| value.fits(arg.kind))
    {
        return Status::NOT_SUPPORTED;
    }
    let mut registers = [0usize; REGISTERS];
    let mut at = 0;
    for arg in args.iter_mut() {
        match arg.put(&mut registers, at) {
            Some(next) => at = next,
            None => return Status::NOT_SUPPORTED,
        }
    }
    if let Some(kind) = declared.ret {
        if !returns_into(kind) {
            return Status::NOT_SUPPORTED;
        }
        let Some(slot) = registers.get_mut(at) else {
            return Status::NOT_SUPPORTED;
        };
        *slot = returned.bytes.as_mut_ptr().expose_provenance();
    }
    // SAFETY: `interface` is an interface pointer of `signature`'s
    // interface, so its table holds the base entries and one per method,
    // and entry `BASE + method` is the method `declared` describes. Every
    // argument matched its declared kind and its registers point at
    // memory borrowed for the call, valid for the lengths passed (`Out`
    // buffers mutably); the result pointer is `returned`, large enough
    // for any kind `returns_into` accepts.
    let status = unsafe { raw_call(interface, method, registers) };
    if status.is_ok() && matches!(declared.ret, Some(ArgKind::OwnedInterface(_))) {
        let raw = core::ptr::with_exposed_provenance_mut::<IUnknown>(word(returned.bytes[0]));
        returned.bytes[0] = 0;
        // SAFETY: the method succeeded, and its signature says it wrote
        // an interface pointer through the result pointer, with one
        // reference the caller owns (null for none).
        returned.interface = unsafe { crate::ComPtr::from_raw(raw) };
    }
    status
}

/// True when a result of `kind` fits [`Returned`] (an owned interface
/// pointer is kept as its reference: [`Returned::take_interface`]).
fn returns_into(kind: ArgKind) -> bool {
    match kind {
        ArgKind::Unsigned(_) | ArgKind::Signed(_) | ArgKind::Bool => true,
        ArgKind::OwnedInterface(_) => true,
        ArgKind::Record(record) => record.size <= RETURNED_WORDS * 8 && record.align <= 8,
        _ => false,
    }
}

/// A scalar of `kind` from the register `word`, as the callee reads it:
/// cut to its width and extended as the RISC-V calling convention passes
/// it (32-bit values sign-extended). A boolean must be 0 or 1
/// (`INVALID_ARGUMENT`); other kinds are `NOT_SUPPORTED`.
pub fn scalar(kind: ArgKind, word: u64) -> crate::Result<u64> {
    Ok(match kind {
        ArgKind::Bool if word > 1 => return Err(Status::INVALID_ARGUMENT),
        ArgKind::Bool | ArgKind::Unsigned(8) | ArgKind::Signed(8) => word,
        ArgKind::Unsigned(1) => word & 0xff,
        ArgKind::Unsigned(2) => word & 0xffff,
        ArgKind::Unsigned(4) | ArgKind::Signed(4) => sign_extended(word, 32),
        ArgKind::Signed(1) => sign_extended(word, 8),
        ArgKind::Signed(2) => sign_extended(word, 16),
        _ => return Err(Status::NOT_SUPPORTED),
    })
}

/// The low `bits` bits of `word`, sign-extended.
fn sign_extended(word: u64, bits: u32) -> u64 {
    let shift = 64 - bits;
    ((word << shift).cast_signed() >> shift).cast_unsigned()
}

/// A register's value as the machine word it is (RV64: the same width).
fn word(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

/// A method whose arguments and result all travel in registers, described
/// in eight bytes: the result's kind, then each argument's (see
/// [`describe`]). The kernel keeps these for the IPC's fast path, which
/// calls such methods with no copying and no signature table at hand.
pub type Descriptor = [u8; 8];

/// The code of scalar `kind` in a [`Descriptor`] (0: not a scalar).
fn code_of(kind: ArgKind) -> u8 {
    let width = |width: u32| u8::try_from(width).unwrap_or(0);
    match kind {
        ArgKind::Unsigned(bytes @ (1 | 2 | 4 | 8)) => width(bytes),
        ArgKind::Signed(bytes @ (1 | 2 | 4 | 8)) => 0x10 | width(bytes),
        ArgKind::Bool => 0x20,
        _ => 0,
    }
}

/// The scalar kind of `code` (`None` for 0 and codes no kind has).
fn kind_of(code: u8) -> Option<ArgKind> {
    let width = u32::from(code & 0xf);
    match code & 0xf0 {
        _ if code == 0x20 => Some(ArgKind::Bool),
        0x00 if matches!(width, 1 | 2 | 4 | 8) => Some(ArgKind::Unsigned(width)),
        0x10 if matches!(width, 1 | 2 | 4 | 8) => Some(ArgKind::Signed(width)),
        _ => None,
    }
}

/// In a [`stored_result`] word: the result is an import's handle, which
/// the stub wraps in a new proxy it stores (an owned interface result).
pub const RESULT_PROXY: u64 = 0x80;

/// What a proxy's stub must store through the method's out-pointer after
/// a call across spaces, as the IPC hands it back in `a2` (0: nothing —
/// no result, or a record the IPC wrote itself): bits 0..7 the bytes of
/// a scalar result (a boolean's 4), or [`RESULT_PROXY`]; bits 8..15 which
/// of `a1`..`a7` holds the out-pointer (`used`, the registers the
/// arguments take).
pub fn stored_result(kind: Option<ArgKind>, used: usize) -> u64 {
    let what = match kind {
        Some(ArgKind::Unsigned(width) | ArgKind::Signed(width)) => u64::from(width.min(8)),
        Some(ArgKind::Bool) => 4,
        Some(ArgKind::OwnedInterface(_)) => RESULT_PROXY,
        _ => return 0,
    };
    what | (used as u64 & 0xff) << 8
}

/// The [`stored_result`] of the method `descriptor` describes (the
/// kernel's fast path hands it back as the IPC would).
pub fn stored_result_of(descriptor: &Descriptor) -> u64 {
    let used = descriptor[1..]
        .iter()
        .take_while(|&&code| code != 0)
        .count();
    stored_result(kind_of(descriptor[0]), used)
}

/// The result code of a method that returns only a status.
const NO_RESULT: u8 = 0xff;

/// The descriptor of `method`, if its arguments (at most seven, one
/// register each) and result are all scalars.
pub fn describe(method: &crate::MethodSignature) -> Option<Descriptor> {
    if method.args.len() >= 8 {
        return None;
    }
    let mut descriptor = [0u8; 8];
    descriptor[0] = match method.ret {
        None => NO_RESULT,
        Some(kind) => Some(code_of(kind)).filter(|&code| code != 0)?,
    };
    for (slot, arg) in descriptor.iter_mut().skip(1).zip(method.args) {
        *slot = Some(code_of(arg.kind)).filter(|&code| code != 0)?;
    }
    Some(descriptor)
}

/// Calls method `method` of `interface` as `descriptor` (made by
/// [`describe`] from that method's signature) says, with its arguments
/// from `words` (each cut to its kind, a boolean checked); the result,
/// cut to its kind (0 when there is none). `INVALID_ARGUMENT` for a
/// descriptor no signature gives.
pub fn call_registers(
    interface: &IUnknown,
    method: usize,
    descriptor: &Descriptor,
    words: &[u64; REGISTERS],
) -> crate::Result<u64> {
    let mut registers = [0usize; REGISTERS];
    for ((register, &code), &word) in registers.iter_mut().zip(&descriptor[1..]).zip(words) {
        if code == 0 {
            break;
        }
        let kind = kind_of(code).ok_or(Status::INVALID_ARGUMENT)?;
        *register = self::word(scalar(kind, word)?);
    }
    let used = descriptor[1..]
        .iter()
        .take_while(|&&code| code != 0)
        .count();
    let result = match descriptor[0] {
        NO_RESULT => None,
        code => Some(kind_of(code).ok_or(Status::INVALID_ARGUMENT)?),
    };
    let mut returned = 0u64;
    if result.is_some() {
        *registers.get_mut(used).ok_or(Status::INVALID_ARGUMENT)? =
            core::ptr::from_mut(&mut returned).expose_provenance();
    }
    // SAFETY: `interface` is an interface pointer whose method `method`
    // has the signature `descriptor` was made from (the caller's promise,
    // as `call`'s): every argument is a scalar in one register, and the
    // result pointer, if any, is `returned`, 8 bytes, enough for any
    // scalar.
    let status = unsafe { raw_call(interface, method, registers) };
    status.check()?;
    result.map_or(Ok(0), |kind| scalar(kind, returned))
}

/// Calls entry `BASE + method` of `interface`'s table with `registers`.
///
/// # Safety
/// `interface` is an interface pointer whose table has that entry, and
/// `registers` are what the method takes (pointers valid as it needs).
pub(crate) unsafe fn raw_call(
    interface: &IUnknown,
    method: usize,
    registers: [usize; REGISTERS],
) -> Status {
    // SAFETY: as the caller promised; extra argument registers are
    // ignored by the callee (caller-saved in the RISC-V convention).
    unsafe {
        let this = interface.as_raw().cast::<c_void>();
        let table = *this.cast::<*const usize>();
        let entry = *table.add(BASE + method);
        let method: Method = core::mem::transmute(entry);
        let [a1, a2, a3, a4, a5, a6, a7] = registers;
        method(this, a1, a2, a3, a4, a5, a6, a7)
    }
}
