//! Switching the machine off with an exit code, through QEMU's SiFive test
//! device ("sifive,test0"); the firmware's system reset when there is none.

use core::sync::atomic::{AtomicUsize, Ordering};

/// The test device's address; 0 until the device tree names one.
static TEST_DEVICE: AtomicUsize = AtomicUsize::new(0);

/// The test device's command for "stop, success".
const FINISHER_PASS: u32 = 0x5555;
/// The test device's command for "stop, failure"; the exit code goes in
/// the upper 16 bits.
const FINISHER_FAIL: u32 = 0x3333;

/// Records the test device found in the device tree.
pub fn set_test_device(address: usize) {
    TEST_DEVICE.store(address, Ordering::Relaxed);
}

/// Powers off, reporting `code` (0 = success; the device keeps 16 bits).
pub fn off(code: u32) -> ! {
    let device = TEST_DEVICE.load(Ordering::Relaxed);
    if device != 0 {
        let command = if code == 0 {
            FINISHER_PASS
        } else {
            (code & 0xffff) << 16 | FINISHER_FAIL
        };
        // SAFETY: the device tree names `device` as the test device's
        // register, which accepts 32-bit writes; the write stops the machine.
        unsafe { (device as *mut u32).write_volatile(command) };
    }
    super::sbi::shutdown();
    loop {
        // SAFETY: `wfi` only waits; nothing is pending, so it idles forever.
        unsafe { core::arch::asm!("wfi", options(nomem, nostack)) };
    }
}
