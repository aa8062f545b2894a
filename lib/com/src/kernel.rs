//! The kernel's exports, as every module calls them.
//!
//! Generated from `kernel/kernel.def` by `cargo run -p bindings`: edit that file, not this one.
//! A component's calls become import relocations that the loader binds;
//! the kernel's own calls (from `com`) link its functions directly.

// Table 5f0c7c4e-6a3d-4d8b-8f7e-0d2a4b1c9e35 of module `kernel`.
unsafe extern "C" {
    /// A kernel-heap block of `size` bytes aligned to `align`, or null.
    ///
    /// Ordinal 1.
    pub safe fn tessera_alloc(size: usize, align: usize) -> *mut u8;
    /// Frees a block tessera_alloc returned (stray pointers are refused).
    ///
    /// Ordinal 2.
    pub fn tessera_free(block: *mut u8);
    /// The current namespace (an INamespace), with a reference for the caller, or null.
    ///
    /// Ordinal 3.
    pub safe fn tessera_current_namespace() -> *mut core::ffi::c_void;
    /// Stops the system after a panic, printing the message and where.
    ///
    /// Ordinal 4.
    pub fn tessera_abort(
        message: *const u8,
        length: usize,
        file: *const u8,
        file_length: usize,
        line: u32,
    ) -> !;
    /// Sleeps while `*word == expected`, at most `timeout_us` (u64::MAX: no limit);
    /// 0 on timeout, 1 otherwise.
    ///
    /// Ordinal 6.
    pub fn tessera_wait_word(word: *const u32, expected: u32, timeout_us: u64) -> u32;
    /// Wakes every thread sleeping on `word`; returns how many.
    ///
    /// Ordinal 7.
    pub safe fn tessera_wake_word(word: *const u32) -> u32;
    /// The time since reset, in microseconds.
    ///
    /// Ordinal 8.
    pub safe fn tessera_now_us() -> u64;
    /// Returns once every other thread that was ready to run has run since.
    ///
    /// Ordinal 9.
    pub safe fn tessera_grace_period();
    /// From Release when at most two references are left (the namespace holds one
    /// per name), and with null when the module's last object is destroyed: lets
    /// the kernel unload the module once nothing but the namespace uses it.
    ///
    /// Ordinal 10.
    pub safe fn tessera_object_unshared(object: *const core::ffi::c_void);
    /// Gives the processor to the next ready thread, if any: what a waiter on a
    /// component's spin lock does, so that the lock's holder runs and releases it.
    ///
    /// Ordinal 11.
    pub safe fn tessera_yield();
}
