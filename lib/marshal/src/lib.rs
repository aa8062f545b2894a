//! Copies the arguments of a call from another address space as its method signature says, checking every pointer, length, string and boolean first.
//!
//! The IPC component takes a U-mode caller's argument registers and hands
//! them to [`Call::decode`] with the method's [`MethodSignature`] and the
//! caller's memory ([`UserMemory`]: reads and writes by the caller's
//! addresses, as far as its mappings allow). What comes out owns kernel
//! copies: scalars normalized to their width, input buffers and strings
//! copied in (strings checked as UTF-8, booleans 0 or 1), output buffers
//! allocated zeroed and in-out buffers copied in, their range checked
//! writable, interface pointers kept for the IPC to translate into the
//! server's handles ([`Call::translate`]) or into kernel-space pointers
//! ([`Call::interfaces`]); [`Call::args`] lends them
//! to `com::dynamic::call`, and [`Call::copy_out`] writes the output
//! buffers back. A method whose arguments are all scalars allocates
//! nothing (the fast path of register-only calls). Hostile input is an
//! error, never a panic: the `marshal` fuzz target feeds it random
//! registers against random memory. [`table`] keeps endpoints by handles
//! that carry a generation.
//!
//! Depends on `com` (signatures and the dynamic call's arguments); the
//! `ipc` component uses it.

#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]

extern crate alloc;

pub mod table;
#[cfg(test)]
mod tests;

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use com::dynamic::{Arg, REGISTERS};
use com::{ArgKind, ComPtr, Guid, IUnknown, Interface, MethodSignature, Result, Status};

/// The most bytes one buffer or string argument may carry.
pub const MOST_BYTES: u64 = 64 * 1024;

/// The caller's memory, by the caller's addresses.
pub trait UserMemory {
    /// Copies `buffer.len()` bytes from `address`: an error unless every
    /// byte is mapped readable for the caller.
    fn read(&self, address: u64, buffer: &mut [u8]) -> Result<()>;
    /// An error unless `[address, address + length)` is mapped writable
    /// for the caller.
    fn check_writable(&self, address: u64, length: u64) -> Result<()>;
    /// Copies `data` to `address` (checked writable first).
    fn write(&self, address: u64, data: &[u8]) -> Result<()>;
    /// The object of the kernel's space at `address` that the caller lent
    /// as an interface pointer argument, with a new reference.
    /// `NOT_SUPPORTED` for a caller in another space, whose interface
    /// pointers are its own addresses (the IPC translates those).
    fn object(&self, address: u64) -> Result<ComPtr<IUnknown>> {
        let _ = address;
        Err(Status::NOT_SUPPORTED)
    }
}

/// A kernel-space caller's memory as far as one call's arguments reach
/// (a proxy made by `com::proxy` lends them): the buffers, strings and
/// IIDs it passed, readable, output and in-out buffers writable too, and
/// the area a record result goes in. Any other range is `OUT_OF_RANGE`:
/// a kernel caller's call is decoded and copied back by the same
/// [`Call`] as a process's, and nothing dereferences its addresses but
/// through the borrows it lent.
pub struct LentMemory<'c, 'a> {
    args: RefCell<&'c mut [Arg<'a>]>,
    result: RefCell<&'c mut [u8]>,
}

impl<'c, 'a> LentMemory<'c, 'a> {
    /// The memory of `args` and `result`.
    pub fn new(args: &'c mut [Arg<'a>], result: &'c mut [u8]) -> LentMemory<'c, 'a> {
        LentMemory {
            args: RefCell::new(args),
            result: RefCell::new(result),
        }
    }

    /// Runs `each` on every region (its first byte's address, and its
    /// bytes) until it gives an answer.
    fn find<T>(&self, mut each: impl FnMut(u64, Region<'_>) -> Option<T>) -> Option<T> {
        let mut args = self.args.borrow_mut();
        for arg in args.iter_mut() {
            let found = match arg {
                Arg::In(bytes) => each(address_of(bytes), Region::Read(bytes)),
                Arg::Text(text) => each(address_of(text.as_bytes()), Region::Read(text.as_bytes())),
                Arg::Guid(guid) => each(address_of(&guid.0), Region::Read(&guid.0)),
                Arg::Out(bytes) => each(address_of(bytes), Region::Write(bytes)),
                Arg::Word(_) | Arg::Interface(_) | Arg::None => None,
            };
            if found.is_some() {
                return found;
            }
        }
        let mut result = self.result.borrow_mut();
        each(address_of(&result), Region::Write(&mut result))
    }
}

/// One region of a [`LentMemory`].
enum Region<'r> {
    Read(&'r [u8]),
    Write(&'r mut [u8]),
}

impl Region<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Region::Read(bytes) => bytes,
            Region::Write(bytes) => bytes,
        }
    }
}

/// The address of `bytes`' first byte, as the caller passed it.
fn address_of(bytes: &[u8]) -> u64 {
    bytes.as_ptr().expose_provenance() as u64
}

/// The range `[address, address + length)` within a region at `start` of
/// `size` bytes, as indexes into it, if it lies inside.
fn within(start: u64, size: usize, address: u64, length: u64) -> Option<core::ops::Range<usize>> {
    let offset = address.checked_sub(start)?;
    let end = offset.checked_add(length)?;
    if end > size as u64 {
        return None;
    }
    Some(usize::try_from(offset).ok()?..usize::try_from(end).ok()?)
}

impl UserMemory for LentMemory<'_, '_> {
    fn read(&self, address: u64, buffer: &mut [u8]) -> Result<()> {
        let length = buffer.len() as u64;
        self.find(|start, region| {
            let bytes = region.bytes();
            buffer.copy_from_slice(bytes.get(within(start, bytes.len(), address, length)?)?);
            Some(())
        })
        .ok_or(Status::OUT_OF_RANGE)
    }

    fn check_writable(&self, address: u64, length: u64) -> Result<()> {
        self.find(|start, region| match region {
            Region::Write(bytes) => within(start, bytes.len(), address, length).map(|_| ()),
            Region::Read(_) => None,
        })
        .ok_or(Status::OUT_OF_RANGE)
    }

    fn write(&self, address: u64, data: &[u8]) -> Result<()> {
        self.find(|start, region| match region {
            Region::Write(bytes) => {
                let range = within(start, bytes.len(), address, data.len() as u64)?;
                bytes.get_mut(range)?.copy_from_slice(data);
                Some(())
            }
            Region::Read(_) => None,
        })
        .ok_or(Status::OUT_OF_RANGE)
    }

    /// Only an object the caller passed as an interface pointer argument:
    /// any other address is `OUT_OF_RANGE`.
    fn object(&self, address: u64) -> Result<ComPtr<IUnknown>> {
        self.args
            .borrow()
            .iter()
            .find_map(|arg| match arg {
                Arg::Interface(object) if object.as_raw().expose_provenance() as u64 == address => {
                    Some(ComPtr::from_ref(*object))
                }
                _ => None,
            })
            .ok_or(Status::OUT_OF_RANGE)
    }
}

/// One argument, copied into kernel memory.
#[derive(Debug, Default)]
enum Value {
    /// Past the method's last argument.
    #[default]
    None,
    Word(u64),
    In(Vec<u8>),
    Guid(Guid),
    Text(String),
    /// A borrowed interface pointer of interface `iid`: the caller's
    /// address until [`Call::translate`] makes it the server's import
    /// handle.
    Interface {
        iid: Guid,
        word: u64,
    },
    /// An output or in-out buffer, where in the caller it goes back, and
    /// where it was laid out in a server's space (0 until [`Call::lay_out`]).
    Out {
        address: u64,
        buffer: Vec<u8>,
        placed: u64,
    },
}

/// A call's arguments, copied and checked.
#[derive(Debug)]
pub struct Call {
    values: [Value; REGISTERS],
    count: usize,
    /// Where a record result goes in the caller (its out pointer), and
    /// how big it is.
    record_out: Option<(u64, usize)>,
    /// True when the method has a result (written through a pointer).
    has_result: bool,
}

impl Call {
    /// Copies the arguments of a call of `method` from the caller's
    /// argument registers `registers` (`a1`..`a7`) and `memory`.
    /// Interface pointers are kept as the caller's addresses (null is
    /// `NULL_POINTER`) for [`Call::translate`]; an owned interface result
    /// comes back as a word ([`Call::copy_back`]).
    /// `NOT_SUPPORTED` for kinds not marshalled (records passed in,
    /// addresses), `NULL_POINTER`,
    /// `OUT_OF_RANGE` (a length beyond [`MOST_BYTES`] or past the end of
    /// the address space), `BAD_STRING`, `INVALID_ARGUMENT` (a boolean
    /// other than 0 or 1), or whatever `memory` refuses.
    pub fn decode(
        method: &MethodSignature,
        registers: &[u64; REGISTERS],
        memory: &impl UserMemory,
    ) -> Result<Call> {
        if method.args.len() > REGISTERS {
            return Err(Status::NOT_SUPPORTED);
        }
        let mut call = Call {
            values: Default::default(),
            count: method.args.len(),
            record_out: None,
            has_result: method.ret.is_some(),
        };
        let mut words = registers.iter().copied();
        for (value, arg) in call.values.iter_mut().zip(method.args) {
            *value = decode_one(arg.kind, &mut words, memory)?;
        }
        if let Some(ArgKind::Record(record)) = method.ret {
            let out = words.next().ok_or(Status::NOT_SUPPORTED)?;
            let size = record.size as u64;
            checked_range(out, size)?;
            memory.check_writable(out, size)?;
            call.record_out = Some((out, record.size));
        } else if let Some(kind) = method.ret
            && !is_scalar(kind)
            && !matches!(kind, ArgKind::OwnedInterface(_))
        {
            return Err(Status::NOT_SUPPORTED);
        }
        Ok(call)
    }

    /// The method's arguments (those past them are all `None`: a call
    /// with few arguments visits only those).
    fn used(&mut self) -> impl Iterator<Item = &mut Value> {
        self.values.iter_mut().take(self.count)
    }

    /// The arguments, lent for the call; the `n`th interface pointer is
    /// `interfaces[n]` (what the IPC made of [`Call::interfaces`] in the
    /// kernel's space).
    pub fn args<'s>(
        &'s mut self,
        interfaces: &'s [ComPtr<IUnknown>],
    ) -> ([Arg<'s>; REGISTERS], usize) {
        let mut args: [Arg<'_>; REGISTERS] = Default::default();
        let mut interfaces = interfaces.iter();
        let count = self.count;
        for (arg, value) in args.iter_mut().zip(self.values.iter_mut().take(count)) {
            *arg = match value {
                Value::None => Arg::None,
                Value::Word(word) => Arg::Word(*word),
                Value::In(bytes) => Arg::In(bytes),
                Value::Guid(guid) => Arg::Guid(guid),
                Value::Text(text) => Arg::Text(text),
                Value::Out { buffer, .. } => Arg::Out(buffer),
                // A caller's address means nothing in the kernel's space:
                // without a kernel pointer for it, a dynamic call refuses
                // it (`NOT_SUPPORTED`).
                Value::Interface { .. } => interfaces
                    .next()
                    .map_or(Arg::None, |interface| Arg::Interface(interface)),
            };
        }
        (args, count)
    }

    /// Each interface pointer argument, in order: its IID and the
    /// caller's address.
    pub fn interfaces(&self) -> impl Iterator<Item = (Guid, u64)> + '_ {
        self.values
            .iter()
            .take(self.count)
            .filter_map(|value| match value {
                Value::Interface { iid, word } => Some((*iid, *word)),
                _ => None,
            })
    }

    /// Replaces each interface pointer with what `translate` makes of it
    /// (its IID and the caller's address: the server's handle for it),
    /// in argument order; stops at the first error. The mask of the
    /// argument registers (bit `n`: `a(n + 1)`) that now hold handles.
    pub fn translate(
        &mut self,
        mut translate: impl FnMut(Guid, u64) -> Result<u64>,
    ) -> Result<u64> {
        let mut mask = 0;
        let mut at = 0;
        for value in self.used() {
            if let Value::Interface { iid, word } = value {
                *word = translate(*iid, *word)?;
                mask |= 1 << at;
            }
            at += value.registers();
        }
        Ok(mask)
    }

    /// After the call succeeded: writes the output and in-out buffers, and a record
    /// result (its bytes in `record`), back to the caller.
    pub fn copy_out(
        &self,
        record: &com::dynamic::Returned,
        memory: &impl UserMemory,
    ) -> Result<()> {
        for value in self.values.iter().take(self.count) {
            if let Value::Out {
                address, buffer, ..
            } = value
                && !buffer.is_empty()
            {
                memory.write(*address, buffer)?;
            }
        }
        if let Some((out, size)) = self.record_out {
            let mut bytes = [0u8; com::dynamic::RETURNED_WORDS * 8];
            let bytes = bytes.get_mut(..size).ok_or(Status::OUT_OF_RANGE)?;
            record.bytes(size, bytes);
            memory.write(out, bytes)?;
        }
        Ok(())
    }
}

/// Where a call's arguments are laid out in a server's space: a stack
/// growing down in memory the server may read and write.
pub trait ServerStack {
    /// Copies `data` below what was pushed before (8-byte aligned); its
    /// address in the server's space.
    fn push(&mut self, data: &[u8]) -> Result<u64>;
}

/// Bytes of the area a server's method writes its result in.
const RESULT_BYTES: usize = com::dynamic::RETURNED_WORDS * 8;

impl Call {
    /// Lays the arguments out for a method in another process: buffers,
    /// strings and GUIDs copied onto `stack` (an output buffer as zeros),
    /// then a result area if the method has a result. The argument
    /// registers the server's method takes (`a1`..`a7`), the result
    /// area's address in the register after the arguments, and that
    /// address (0 if none).
    pub fn lay_out(&mut self, stack: &mut impl ServerStack) -> Result<([u64; REGISTERS], u64)> {
        let mut registers = [0u64; REGISTERS];
        let mut at = 0;
        for value in self.used() {
            let words: [u64; 2] = match value {
                Value::None => continue,
                Value::Word(word) | Value::Interface { word, .. } => [*word, 0],
                Value::Guid(guid) => [stack.push(&guid.0)?, 0],
                Value::In(bytes) => [stack.push(bytes)?, bytes.len() as u64],
                Value::Text(text) => [stack.push(text.as_bytes())?, text.len() as u64],
                Value::Out { buffer, placed, .. } => {
                    *placed = stack.push(buffer)?;
                    [*placed, buffer.len() as u64]
                }
            };
            for word in words.iter().take(value.registers()) {
                *registers.get_mut(at).ok_or(Status::NOT_SUPPORTED)? = *word;
                at += 1;
            }
        }
        let mut result = 0;
        if self.has_result {
            result = stack.push(&[0; RESULT_BYTES])?;
            *registers.get_mut(at).ok_or(Status::NOT_SUPPORTED)? = result;
        }
        Ok((registers, result))
    }

    /// After a server's method laid out by [`Call::lay_out`] succeeded:
    /// reads its output buffers and result area (at `result`) back from
    /// `server`'s memory, writes them to the caller's `memory`, and
    /// returns a scalar result, or the word an owned interface result is
    /// (the object's address in the server), 0 for others.
    pub fn copy_back(
        &mut self,
        kind: Option<ArgKind>,
        result: u64,
        server: &impl UserMemory,
        memory: &impl UserMemory,
    ) -> Result<u64> {
        for value in self.used() {
            if let Value::Out { buffer, placed, .. } = value
                && !buffer.is_empty()
            {
                server.read(*placed, buffer)?;
            }
        }
        let mut returned = com::dynamic::Returned::new();
        if result != 0 {
            let mut bytes = [0u8; RESULT_BYTES];
            server.read(result, &mut bytes)?;
            returned = com::dynamic::Returned::from_bytes(&bytes);
        }
        self.copy_out(&returned, memory)?;
        match kind {
            Some(kind) if is_scalar(kind) => scalar(kind, returned.word()),
            Some(ArgKind::OwnedInterface(_)) => Ok(returned.word()),
            _ => Ok(0),
        }
    }
}

impl Value {
    /// How many argument registers it takes.
    fn registers(&self) -> usize {
        match self {
            Value::None => 0,
            Value::Word(_) | Value::Guid(_) | Value::Interface { .. } => 1,
            Value::In(_) | Value::Text(_) | Value::Out { .. } => 2,
        }
    }
}

/// What a `CALL`'s stub stores through the method's out-pointer, as the
/// IPC tells it (`com::dynamic::stored_result`): nothing for a record
/// result (the IPC wrote it) or none.
pub fn stored_result(method: &MethodSignature) -> u64 {
    let used = method.args.iter().map(|arg| arg.kind.registers()).sum();
    com::dynamic::stored_result(method.ret, used)
}

/// True for results that come back in a register.
pub fn is_scalar(kind: ArgKind) -> bool {
    matches!(
        kind,
        ArgKind::Unsigned(_) | ArgKind::Signed(_) | ArgKind::Bool
    )
}

pub use com::dynamic::scalar;

/// One argument of `kind`, from the next registers of `words`.
fn decode_one(
    kind: ArgKind,
    words: &mut impl Iterator<Item = u64>,
    memory: &impl UserMemory,
) -> Result<Value> {
    let mut next = || words.next().ok_or(Status::NOT_SUPPORTED);
    Ok(match kind {
        ArgKind::Unsigned(_) | ArgKind::Signed(_) | ArgKind::Bool => {
            Value::Word(scalar(kind, next()?)?)
        }
        ArgKind::Bytes => Value::In(read_buffer(next()?, next()?, memory)?),
        ArgKind::Str => {
            let bytes = read_buffer(next()?, next()?, memory)?;
            Value::Text(String::from_utf8(bytes).map_err(|_| Status::BAD_STRING)?)
        }
        ArgKind::BytesMut => {
            let (address, length) = (next()?, next()?);
            let length = checked_length(address, length)?;
            if length > 0 {
                memory.check_writable(address, length as u64)?;
            }
            Value::Out {
                address,
                buffer: zeroed(length)?,
                placed: 0,
            }
        }
        ArgKind::BytesInOut => {
            let (address, length) = (next()?, next()?);
            if checked_length(address, length)? > 0 {
                memory.check_writable(address, length)?;
            }
            Value::Out {
                address,
                buffer: read_buffer(address, length, memory)?,
                placed: 0,
            }
        }
        ArgKind::Guid => {
            let address = next()?;
            let mut bytes = [0u8; 16];
            checked_length(address, 16)?;
            memory.read(address, &mut bytes)?;
            Value::Guid(Guid(bytes))
        }
        ArgKind::Interface(iid) => match next()? {
            0 => return Err(Status::NULL_POINTER),
            word => Value::Interface { iid, word },
        },
        ArgKind::OwnedInterface(_) | ArgKind::Record(_) | ArgKind::Address => {
            return Err(Status::NOT_SUPPORTED);
        }
    })
}

/// `length` bytes at `address` copied from `memory` (none for length 0,
/// whatever the pointer).
fn read_buffer(address: u64, length: u64, memory: &impl UserMemory) -> Result<Vec<u8>> {
    let length = checked_length(address, length)?;
    let mut buffer = zeroed(length)?;
    if length > 0 {
        memory.read(address, &mut buffer)?;
    }
    Ok(buffer)
}

/// `length` as a size, once the range it makes from `address` is
/// acceptable.
fn checked_length(address: u64, length: u64) -> Result<usize> {
    if length == 0 {
        return Ok(0);
    }
    checked_range(address, length)?;
    usize::try_from(length).map_err(|_| Status::OUT_OF_RANGE)
}

/// An error unless `[address, address + length)` is a plausible buffer:
/// not null, no longer than [`MOST_BYTES`], not wrapping.
fn checked_range(address: u64, length: u64) -> Result<()> {
    if address == 0 {
        return Err(Status::NULL_POINTER);
    }
    if length > MOST_BYTES || address.checked_add(length).is_none() {
        return Err(Status::OUT_OF_RANGE);
    }
    Ok(())
}

/// A buffer of `length` zeros, or `OUT_OF_MEMORY`.
pub fn zeroed(length: usize) -> Result<Vec<u8>> {
    let mut buffer = Vec::new();
    buffer
        .try_reserve_exact(length)
        .map_err(|_| Status::OUT_OF_MEMORY)?;
    buffer.resize(length, 0);
    Ok(buffer)
}
