//! Allocation that fails with `OUT_OF_MEMORY` instead of aborting.
//!
//! `Box::new` and `Vec::push` abort when the heap is full, through
//! `alloc`'s allocation-failure handler, which formats its message: any
//! such call links `core::fmt` into the program. Stable Rust has no
//! fallible `Box` or in-place push; these are, and code that must never
//! abort (the minimal kernels, which carry no `core::fmt` at all) uses
//! them.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::alloc::Layout;

use crate::{Result, Status};

/// `value` in a new box, or `OUT_OF_MEMORY`.
pub fn try_box<T>(value: T) -> Result<Box<T>> {
    if size_of::<T>() == 0 {
        // Nothing to allocate: `Box::new` cannot fail.
        return Ok(Box::new(value));
    }
    let layout = Layout::new::<T>();
    // SAFETY: the layout's size is not zero (checked above).
    let memory = unsafe { alloc::alloc::alloc(layout) }.cast::<T>();
    if memory.is_null() {
        return Err(Status::OUT_OF_MEMORY);
    }
    // SAFETY: `memory` is a fresh block with `T`'s layout from the global
    // allocator, so once written it is a valid `Box<T>`.
    unsafe {
        memory.write(value);
        Ok(Box::from_raw(memory))
    }
}

/// Appends `value` to `vector`, or `OUT_OF_MEMORY`. The push happens only
/// within room already there, so the compiler leaves `Vec`'s growth path
/// (and its abort) out.
pub fn try_push<T>(vector: &mut Vec<T>, value: T) -> Result<()> {
    vector.try_reserve(1).map_err(|_| Status::OUT_OF_MEMORY)?;
    if vector.len() == vector.capacity() {
        return Err(Status::OUT_OF_MEMORY);
    }
    vector.push(value);
    Ok(())
}

/// A vector of `count` copies of `value`, or `OUT_OF_MEMORY`.
pub fn try_filled<T: Copy>(value: T, count: usize) -> Result<Vec<T>> {
    let mut vector = Vec::new();
    vector
        .try_reserve_exact(count)
        .map_err(|_| Status::OUT_OF_MEMORY)?;
    for slot in vector.spare_capacity_mut().iter_mut().take(count) {
        slot.write(value);
    }
    // SAFETY: the vector has room for `count` elements (reserved above),
    // and the first `count` were just written.
    unsafe { vector.set_len(count) };
    Ok(vector)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn try_box_holds_the_value() {
        assert_eq!(try_box(0x5a5a_u64).map(|boxed| *boxed), Ok(0x5a5a));
        assert_eq!(try_box(()).map(|boxed| *boxed), Ok(()));
    }

    #[test]
    fn try_push_appends() {
        let mut vector = Vec::new();
        for value in 0..100u32 {
            assert_eq!(try_push(&mut vector, value), Ok(()));
        }
        assert!(vector.iter().copied().eq(0..100));
    }

    #[test]
    fn try_filled_repeats_the_value() {
        assert_eq!(try_filled(7u8, 5), Ok(alloc::vec![7u8; 5]));
        assert_eq!(try_filled(7u8, 0), Ok(Vec::new()));
        assert_eq!(try_filled(0u64, usize::MAX / 4), Err(Status::OUT_OF_MEMORY));
    }
}
