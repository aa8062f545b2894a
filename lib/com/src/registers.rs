//! A device's byte-wide memory-mapped registers, read and written safely.

/// A bank of `count` byte-wide device registers from `base`, accessed with
/// volatile reads and writes. Creating one is the only unsafe step: it
/// asserts that the addresses are the device's; every access after that is
/// safe, and checked to stay inside the bank.
#[derive(Clone, Copy, Debug)]
pub struct Registers {
    base: usize,
    count: usize,
}

impl Registers {
    /// The registers at `base..base + count`.
    ///
    /// # Safety
    /// Those addresses are a device's registers, mapped for this module,
    /// and no memory Rust owns lies among them; reads and writes of them
    /// have only the device's own effects.
    pub const unsafe fn new(base: usize, count: usize) -> Registers {
        Registers { base, count }
    }

    /// Reads register `offset` (which may have a device effect, such as
    /// taking a received byte).
    ///
    /// # Panics
    /// If `offset` is outside the bank: a driver's mistake.
    pub fn read(&self, offset: usize) -> u8 {
        // SAFETY: the address is one of the device's registers (`new`'s
        // contract, and the bounds check).
        unsafe { self.register(offset).read_volatile() }
    }

    /// Writes `value` to register `offset`.
    ///
    /// # Panics
    /// If `offset` is outside the bank: a driver's mistake.
    pub fn write(&self, offset: usize, value: u8) {
        // SAFETY: as in `read`.
        unsafe { self.register(offset).write_volatile(value) }
    }

    fn register(&self, offset: usize) -> *mut u8 {
        assert!(offset < self.count, "register offset out of the bank");
        core::ptr::with_exposed_provenance_mut(self.base + offset)
    }
}
