//! A table of endpoints whose handles carry a generation: a slot freed and
//! reused gets a new generation, so a handle kept from before names
//! nothing (`STALE_HANDLE`), never the new occupant.

use alloc::vec::Vec;

use com::{Result, Status};

/// Bits of a handle that hold the slot's index; the rest hold its
/// generation.
const INDEX_BITS: u32 = 16;
/// The most slots a table has.
pub const MOST_SLOTS: usize = 1 << INDEX_BITS;

/// One slot: its generation and what it holds.
struct Slot<T> {
    generation: u64,
    value: Option<T>,
}

/// Endpoints by handle.
pub struct Table<T> {
    slots: Vec<Slot<T>>,
    live: usize,
}

impl<T> Default for Table<T> {
    fn default() -> Table<T> {
        Table {
            slots: Vec::new(),
            live: 0,
        }
    }
}

impl<T> Table<T> {
    /// Puts `value` in a free slot (the lowest); its handle. `OUT_OF_MEMORY`
    /// when the table is full or the heap is.
    pub fn insert(&mut self, value: T) -> Result<u64> {
        let index = match self.slots.iter().position(|slot| slot.value.is_none()) {
            Some(index) => index,
            None if self.slots.len() < MOST_SLOTS => {
                self.slots
                    .try_reserve(1)
                    .map_err(|_| Status::OUT_OF_MEMORY)?;
                self.slots.push(Slot {
                    generation: 1,
                    value: None,
                });
                self.slots.len() - 1
            }
            None => return Err(Status::OUT_OF_MEMORY),
        };
        let slot = self.slots.get_mut(index).ok_or(Status::OUT_OF_MEMORY)?;
        slot.value = Some(value);
        self.live += 1;
        Ok(slot.generation << INDEX_BITS | index as u64)
    }

    /// What `handle` names: `INVALID_ARGUMENT` for a handle no slot ever
    /// had, `STALE_HANDLE` for one whose slot was freed since.
    pub fn get(&self, handle: u64) -> Result<&T> {
        let slot = self.slot(handle)?;
        slot.value.as_ref().ok_or(Status::STALE_HANDLE)
    }

    /// What `handle` names, to change (as [`Table::get`]).
    pub fn get_mut(&mut self, handle: u64) -> Result<&mut T> {
        self.slot(handle)?;
        let slot = self
            .slots
            .get_mut(index_of(handle))
            .ok_or(Status::INVALID_ARGUMENT)?;
        slot.value.as_mut().ok_or(Status::STALE_HANDLE)
    }

    /// The handle of the first value `matches` picks.
    pub fn find(&self, matches: impl Fn(&T) -> bool) -> Option<u64> {
        self.slots.iter().enumerate().find_map(|(index, slot)| {
            let value = slot.value.as_ref()?;
            matches(value).then_some(slot.generation << INDEX_BITS | index as u64)
        })
    }

    /// Frees `handle`'s slot (its generation moves on); what it held.
    pub fn remove(&mut self, handle: u64) -> Result<T> {
        self.slot(handle)?;
        let slot = self
            .slots
            .get_mut(index_of(handle))
            .ok_or(Status::INVALID_ARGUMENT)?;
        let value = slot.value.take().ok_or(Status::STALE_HANDLE)?;
        slot.generation += 1;
        self.live -= 1;
        Ok(value)
    }

    /// How many slots hold something.
    pub fn len(&self) -> usize {
        self.live
    }

    /// True when no slot holds anything.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Empties the table and frees its memory; what it held.
    pub fn clear(&mut self) -> Vec<T> {
        self.live = 0;
        let slots = core::mem::take(&mut self.slots);
        slots.into_iter().filter_map(|slot| slot.value).collect()
    }

    /// The slot `handle` names, if its generation is the slot's.
    fn slot(&self, handle: u64) -> Result<&Slot<T>> {
        let slot = self
            .slots
            .get(index_of(handle))
            .ok_or(Status::INVALID_ARGUMENT)?;
        match handle >> INDEX_BITS {
            0 => Err(Status::INVALID_ARGUMENT),
            generation if generation == slot.generation => Ok(slot),
            generation if generation < slot.generation => Err(Status::STALE_HANDLE),
            _ => Err(Status::INVALID_ARGUMENT),
        }
    }
}

/// The slot index in `handle`.
fn index_of(handle: u64) -> usize {
    usize::from(u16::try_from(handle & 0xffff).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_slot_does_not_answer_an_old_handle() {
        let mut table = Table::default();
        let first = table.insert("first").expect("room");
        assert_eq!(table.get(first), Ok(&"first"));
        assert_eq!(table.remove(first), Ok("first"));
        let second = table.insert("second").expect("room");
        assert_ne!(first, second);
        assert_eq!(first & 0xffff, second & 0xffff);
        assert_eq!(table.get(first), Err(Status::STALE_HANDLE));
        assert_eq!(table.remove(first), Err(Status::STALE_HANDLE));
        assert_eq!(table.get(second), Ok(&"second"));
        assert_eq!(table.len(), 1);
        assert_eq!(table.find(|value| *value == "second"), Some(second));
        assert_eq!(table.find(|value| *value == "first"), None);
    }

    #[test]
    fn handles_never_given_are_invalid() {
        let mut table = Table::default();
        let handle = table.insert(1).expect("room");
        assert_eq!(table.get(0), Err(Status::INVALID_ARGUMENT));
        assert_eq!(table.get(handle + 1), Err(Status::INVALID_ARGUMENT));
        assert_eq!(
            table.get(handle + (5 << INDEX_BITS)),
            Err(Status::INVALID_ARGUMENT)
        );
        assert_eq!(table.get(u64::MAX), Err(Status::INVALID_ARGUMENT));
        assert_eq!(table.clear(), [1]);
        assert!(table.is_empty());
        assert_eq!(table.get(handle), Err(Status::INVALID_ARGUMENT));
    }
}
