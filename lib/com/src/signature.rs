//! Method-signature tables: what each method of an interface takes and
//! returns, in terms IPC can marshal and tools can print.
//!
//! `#[interface]` emits one [`InterfaceSignature`] per interface, reachable
//! as `<I as Interface>::SIGNATURE`; `#[derive(Record)]` emits one
//! [`RecordSignature`] per record. They are plain `'static` data: IPC will
//! copy arguments by them, the `interpose` component prints calls with
//! them, and `tools/bindings` writes the C vtables, IIDs and record structs
//! of `include/tessera/interfaces.h` from them.

use crate::Guid;

/// The kind of one argument or return value as it crosses the ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// An unsigned integer of the given width in bytes (1, 2, 4 or 8).
    Unsigned(u32),
    /// A signed integer of the given width in bytes (1, 2, 4 or 8).
    Signed(u32),
    /// A boolean, passed as a 32-bit integer.
    Bool,
    /// An input UTF-8 string: pointer and length.
    Str,
    /// An input byte buffer: pointer and length.
    Bytes,
    /// An output byte buffer the callee fills (`&mut [u8]`): pointer and
    /// length. Across address spaces the callee gets a zeroed buffer: what
    /// the caller had there does not travel in.
    BytesMut,
    /// An in-out byte buffer (`InOut`): pointer and length. The callee
    /// reads what the caller put there and may change it; across address
    /// spaces it is copied in, then back.
    BytesInOut,
    /// A borrowed interface pointer of the given IID.
    Interface(Guid),
    /// An owned interface pointer of the given IID (return values only).
    OwnedInterface(Guid),
    /// A 128-bit identifier, passed by pointer.
    Guid,
    /// A plain `#[repr(C)]` record, copied by value.
    Record(&'static RecordSignature),
    /// An address in the caller's address space; never marshalled.
    Address,
}

impl ArgKind {
    /// How many argument registers an argument of this kind takes: two
    /// for a pointer and a length, one for anything else.
    pub const fn registers(self) -> usize {
        match self {
            ArgKind::Str | ArgKind::Bytes | ArgKind::BytesMut | ArgKind::BytesInOut => 2,
            _ => 1,
        }
    }
}

/// A `#[repr(C)]` record of plain data (`#[derive(Record)]`): its C layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordSignature {
    /// The record's type name.
    pub name: &'static str,
    /// Its size in bytes.
    pub size: usize,
    /// Its alignment in bytes.
    pub align: usize,
    /// Its fields, in declaration (and memory) order.
    pub fields: &'static [FieldSignature],
}

/// One field of a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldSignature {
    /// The field's name.
    pub name: &'static str,
    /// Its type.
    pub kind: FieldKind,
}

/// The type of a record's field: plain data, nothing to translate between
/// address spaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// An unsigned integer of the given width in bytes.
    Unsigned(u32),
    /// A signed integer of the given width in bytes.
    Signed(u32),
    /// A 128-bit identifier, in place.
    Guid,
    /// A nested record, in place.
    Record(&'static RecordSignature),
    /// `count` elements of one kind, in place.
    Array(&'static FieldKind, usize),
}

/// One named argument of a method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArgSignature {
    /// The argument's name in the interface declaration.
    pub name: &'static str,
    /// How it crosses the ABI.
    pub kind: ArgKind,
}

/// One method of an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MethodSignature {
    /// The method's name in the interface declaration.
    pub name: &'static str,
    /// The arguments after the object pointer, in order.
    pub args: &'static [ArgSignature],
    /// The success value, written through a trailing out-pointer; `None` when
    /// the method returns only a status.
    pub ret: Option<ArgKind>,
}

/// The signature table of a whole interface; the methods follow the three
/// `IUnknown` slots in vtable order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterfaceSignature {
    /// The interface's name.
    pub name: &'static str,
    /// The interface identifier.
    pub iid: Guid,
    /// The methods after `QueryInterface`, `AddRef` and `Release`.
    pub methods: &'static [MethodSignature],
}

impl InterfaceSignature {
    /// The method of that name, if the interface has one.
    pub fn method(&self, name: &str) -> Option<&'static MethodSignature> {
        self.methods.iter().find(|method| method.name == name)
    }
}
