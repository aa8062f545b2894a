//! How Rust types cross the binary interface.
//!
//! Each argument type implements [`Param`] and each success type [`Ret`]: an
//! ABI form that C can spell, conversions both ways, and the [`ArgKind`] the
//! signature table records. Strings and buffers cross as pointer + length.

use core::ffi::c_void;
use core::ptr::NonNull;

use crate::{ArgKind, ComPtr, FieldKind, Guid, Interface, RecordSignature, Result, Status};

/// A borrowed byte range as it crosses the ABI: `struct { const uint8_t *ptr; size_t len; }`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RawSlice {
    /// The first byte; may be null only when `len` is 0.
    pub ptr: *const u8,
    /// The number of bytes.
    pub len: usize,
}

/// A mutable byte range as it crosses the ABI: `struct { uint8_t *ptr; size_t len; }`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RawSliceMut {
    /// The first byte; may be null only when `len` is 0.
    pub ptr: *mut u8,
    /// The number of bytes.
    pub len: usize,
}

/// A type that can be passed as an interface-method argument.
///
/// # Safety
/// `from_abi(to_abi(x))` must yield a value equal to `x` for as long as the
/// original borrow lives, and `KIND` must describe `Abi` truthfully.
pub unsafe trait Param: Sized {
    /// The C-compatible form of the argument.
    type Abi: Copy;
    /// What the signature table records for this argument.
    const KIND: ArgKind;
    /// Converts the argument for the call.
    fn to_abi(self) -> Self::Abi;
    /// Rebuilds the argument on the callee's side, rejecting malformed input.
    ///
    /// # Safety
    /// `abi` came from a caller that obeys the ABI for this kind: pointers
    /// are valid for their lengths for the duration of the call.
    unsafe fn from_abi(abi: Self::Abi) -> Result<Self>;
}

/// A type that can be returned as the success value of a method.
///
/// # Safety
/// `from_abi(into_abi(x))` must yield `x`, transferring any ownership.
pub unsafe trait Ret: Sized {
    /// The C-compatible form, written through the method's out-pointer.
    type Abi: Copy;
    /// What the signature table records for the return value.
    const KIND: ArgKind;
    /// Converts the value for the caller.
    fn into_abi(self) -> Self::Abi;
    /// Rebuilds the value on the caller's side.
    ///
    /// # Safety
    /// `abi` was produced by `into_abi` of a callee obeying the ABI.
    unsafe fn from_abi(abi: Self::Abi) -> Self;
}

/// Implements `Param` and `Ret` for types that cross as themselves.
macro_rules! by_value {
    ($($ty:ty => $kind:expr),* $(,)?) => {$(
        // SAFETY: the value is copied unchanged.
        unsafe impl Param for $ty {
            type Abi = $ty;
            const KIND: ArgKind = $kind;
            fn to_abi(self) -> $ty { self }
            unsafe fn from_abi(abi: $ty) -> Result<$ty> { Ok(abi) }
        }
        // SAFETY: the value is copied unchanged.
        unsafe impl Ret for $ty {
            type Abi = $ty;
            const KIND: ArgKind = $kind;
            fn into_abi(self) -> $ty { self }
            unsafe fn from_abi(abi: $ty) -> $ty { abi }
        }
    )*};
}

by_value! {
    u8 => ArgKind::Unsigned(1),
    u16 => ArgKind::Unsigned(2),
    u32 => ArgKind::Unsigned(4),
    u64 => ArgKind::Unsigned(8),
    usize => ArgKind::Unsigned(usize::BITS / 8),
    i8 => ArgKind::Signed(1),
    i16 => ArgKind::Signed(2),
    i32 => ArgKind::Signed(4),
    i64 => ArgKind::Signed(8),
    isize => ArgKind::Signed(isize::BITS / 8),
    *mut u8 => ArgKind::Address,
    Status => ArgKind::Signed(4),
}

// SAFETY: `true` crosses as 1 and any non-zero value reads back as `true`.
unsafe impl Param for bool {
    type Abi = u32;
    const KIND: ArgKind = ArgKind::Bool;
    fn to_abi(self) -> u32 {
        u32::from(self)
    }
    unsafe fn from_abi(abi: u32) -> Result<bool> {
        Ok(abi != 0)
    }
}

// SAFETY: as for the `Param` impl.
unsafe impl Ret for bool {
    type Abi = u32;
    const KIND: ArgKind = ArgKind::Bool;
    fn into_abi(self) -> u32 {
        u32::from(self)
    }
    unsafe fn from_abi(abi: u32) -> bool {
        abi != 0
    }
}

/// Rebuilds a borrowed slice from an ABI pointer and length.
///
/// # Safety
/// A non-null `ptr` is valid for reads of `len` bytes for `'a`.
unsafe fn slice_from_abi<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8]> {
    match NonNull::new(ptr.cast_mut()) {
        // SAFETY: guaranteed by the caller.
        Some(ptr) => Ok(unsafe { core::slice::from_raw_parts(ptr.as_ptr(), len) }),
        None if len == 0 => Ok(&[]),
        None => Err(Status::NULL_POINTER),
    }
}

// SAFETY: the slice's pointer and length cross unchanged.
unsafe impl Param for &[u8] {
    type Abi = RawSlice;
    const KIND: ArgKind = ArgKind::Bytes;
    fn to_abi(self) -> RawSlice {
        RawSlice {
            ptr: self.as_ptr(),
            len: self.len(),
        }
    }
    unsafe fn from_abi(abi: RawSlice) -> Result<Self> {
        // SAFETY: the caller passes a readable range, by the ABI.
        unsafe { slice_from_abi(abi.ptr, abi.len) }
    }
}

// SAFETY: the string's bytes cross unchanged and are validated on arrival.
unsafe impl Param for &str {
    type Abi = RawSlice;
    const KIND: ArgKind = ArgKind::Str;
    fn to_abi(self) -> RawSlice {
        self.as_bytes().to_abi()
    }
    unsafe fn from_abi(abi: RawSlice) -> Result<Self> {
        // SAFETY: the caller passes a readable range, by the ABI.
        let bytes = unsafe { slice_from_abi(abi.ptr, abi.len) }?;
        crate::text::utf8(bytes).ok_or(Status::BAD_STRING)
    }
}

// SAFETY: the slice's pointer and length cross unchanged; the caller's
// exclusive borrow lasts for the call.
unsafe impl Param for &mut [u8] {
    type Abi = RawSliceMut;
    const KIND: ArgKind = ArgKind::BytesMut;
    fn to_abi(self) -> RawSliceMut {
        RawSliceMut {
            ptr: self.as_mut_ptr(),
            len: self.len(),
        }
    }
    unsafe fn from_abi(abi: RawSliceMut) -> Result<Self> {
        match NonNull::new(abi.ptr) {
            // SAFETY: the caller passes a writable range it does not touch
            // during the call, by the ABI.
            Some(ptr) => Ok(unsafe { core::slice::from_raw_parts_mut(ptr.as_ptr(), abi.len) }),
            None if abi.len == 0 => Ok(&mut []),
            None => Err(Status::NULL_POINTER),
        }
    }
}

/// An in-out byte buffer argument: the callee reads what the caller put
/// there and may change it, and the caller sees the changes. Declare a
/// method's argument as `data: InOut<'_>` for this; a `&mut [u8]` argument
/// is an *output* buffer, whose contents do not travel to a callee in
/// another address space. Derefs to the bytes.
#[derive(Debug)]
pub struct InOut<'a>(pub &'a mut [u8]);

impl core::ops::Deref for InOut<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.0
    }
}

impl core::ops::DerefMut for InOut<'_> {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.0
    }
}

// SAFETY: as for `&mut [u8]`: the slice's pointer and length cross
// unchanged; the caller's exclusive borrow lasts for the call.
unsafe impl Param for InOut<'_> {
    type Abi = RawSliceMut;
    const KIND: ArgKind = ArgKind::BytesInOut;
    fn to_abi(self) -> RawSliceMut {
        self.0.to_abi()
    }
    unsafe fn from_abi(abi: RawSliceMut) -> Result<Self> {
        // SAFETY: the caller passes a readable and writable range it does
        // not touch during the call, by the ABI.
        unsafe { <&mut [u8]>::from_abi(abi) }.map(InOut)
    }
}

// SAFETY: the GUID crosses by pointer and is read back in place.
unsafe impl Param for &Guid {
    type Abi = *const Guid;
    const KIND: ArgKind = ArgKind::Guid;
    fn to_abi(self) -> *const Guid {
        self
    }
    unsafe fn from_abi(abi: *const Guid) -> Result<Self> {
        // SAFETY: a non-null pointer is valid for the call, by the ABI.
        unsafe { abi.as_ref() }.ok_or(Status::NULL_POINTER)
    }
}

// SAFETY: a borrowed interface crosses as its object pointer; the caller's
// reference keeps the object alive for the call.
unsafe impl<I: Interface> Param for &I {
    type Abi = *mut c_void;
    const KIND: ArgKind = ArgKind::Interface(I::IID);
    fn to_abi(self) -> *mut c_void {
        self.as_raw()
    }
    unsafe fn from_abi(abi: *mut c_void) -> Result<Self> {
        // SAFETY: a non-null pointer is a live `I`, by the ABI.
        unsafe { abi.cast::<I>().as_ref() }.ok_or(Status::NULL_POINTER)
    }
}

// SAFETY: ownership of one reference moves with the raw pointer.
unsafe impl<I: Interface> Ret for ComPtr<I> {
    type Abi = *mut c_void;
    const KIND: ArgKind = ArgKind::OwnedInterface(I::IID);
    fn into_abi(self) -> *mut c_void {
        self.into_raw().cast()
    }
    unsafe fn from_abi(abi: *mut c_void) -> Self {
        // SAFETY: the callee stored an owned, non-null reference on success.
        unsafe { ComPtr::from_raw(abi.cast()).unwrap_unchecked() }
    }
}

/// A plain `#[repr(C)]` record returned by value (for example heap status).
/// Implement it with `#[derive(Record)]`.
///
/// # Safety
/// The type is `#[repr(C)]`, all its fields are [`PlainData`], and
/// `SIGNATURE` describes its fields truthfully.
pub unsafe trait Record: Copy {
    /// Its name, layout and fields, for IPC and the C bindings.
    const SIGNATURE: &'static RecordSignature;
}

/// A field type a [`Record`] may hold: integers, GUIDs and other records,
/// none of which needs translating between address spaces.
pub trait PlainData: Copy {
    /// What a record's signature records for a field of this type.
    const KIND: FieldKind;
}

macro_rules! plain_data {
    ($($ty:ty => $kind:expr),* $(,)?) => { $(impl PlainData for $ty { const KIND: FieldKind = $kind; })* };
}

plain_data! {
    u8 => FieldKind::Unsigned(1),
    u16 => FieldKind::Unsigned(2),
    u32 => FieldKind::Unsigned(4),
    u64 => FieldKind::Unsigned(8),
    usize => FieldKind::Unsigned(usize::BITS / 8),
    i8 => FieldKind::Signed(1),
    i16 => FieldKind::Signed(2),
    i32 => FieldKind::Signed(4),
    i64 => FieldKind::Signed(8),
    isize => FieldKind::Signed(isize::BITS / 8),
    Guid => FieldKind::Guid,
}

impl<T: Record> PlainData for T {
    const KIND: FieldKind = FieldKind::Record(T::SIGNATURE);
}

impl<T: PlainData, const N: usize> PlainData for [T; N] {
    const KIND: FieldKind = FieldKind::Array(&T::KIND, N);
}

// SAFETY: records are copied unchanged.
unsafe impl<T: Record> Ret for T {
    type Abi = T;
    const KIND: ArgKind = ArgKind::Record(T::SIGNATURE);
    fn into_abi(self) -> T {
        self
    }
    unsafe fn from_abi(abi: T) -> T {
        abi
    }
}
