//! An interface pointer set once and read by anyone after.

use core::sync::atomic::{AtomicPtr, Ordering};

use crate::{ComPtr, Interface, Result, Status};

/// Holds an object once [`SetOnce::set`] gave it, for every reader after:
/// what a `spin::Once<ComPtr<I>>` does, without its waiting and poisoning
/// (a set is one compare-and-swap, which cannot be caught half done), and
/// so without its panics, which format their messages.
pub struct SetOnce<I: Interface> {
    /// Null, or the reference `set` stored, owned by this cell.
    pointer: AtomicPtr<I>,
}

impl<I: Interface> SetOnce<I> {
    /// A cell holding nothing.
    pub const fn new() -> SetOnce<I> {
        SetOnce {
            pointer: AtomicPtr::new(core::ptr::null_mut()),
        }
    }

    /// Holds `object` from now on; `ALREADY_EXISTS`, with `object`
    /// released, when the cell holds one already.
    pub fn set(&self, object: ComPtr<I>) -> Result<()> {
        let raw = object.into_raw();
        match self.pointer.compare_exchange(
            core::ptr::null_mut(),
            raw,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => Ok(()),
            Err(_) => {
                // SAFETY: `raw` is the reference `into_raw` gave up just
                // above, not stored anywhere.
                drop(unsafe { ComPtr::from_raw(raw) });
                Err(Status::ALREADY_EXISTS)
            }
        }
    }

    /// A new reference to the object held, if any.
    pub fn get(&self) -> Option<ComPtr<I>> {
        let raw = self.pointer.load(Ordering::Acquire);
        // SAFETY: not null only once `set` stored a reference, which the
        // cell owns until it is dropped: the object outlives `&self`.
        unsafe { raw.as_ref() }.map(ComPtr::from_ref)
    }
}

impl<I: Interface> Default for SetOnce<I> {
    fn default() -> SetOnce<I> {
        SetOnce::new()
    }
}

impl<I: Interface> Drop for SetOnce<I> {
    fn drop(&mut self) {
        let raw = *self.pointer.get_mut();
        // SAFETY: the reference `set` stored (if any), owned by the cell.
        drop(unsafe { ComPtr::from_raw(raw) });
    }
}
