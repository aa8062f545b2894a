//! The network card's rings (`virtio_hal::ring`) against a device that
//! says anything: the input is a script of what the device and the driver
//! do, a byte each step. The device gives back any buffer id with any
//! length (bytes 0–63: id and length from the next three bytes), or sets
//! its used ring's flag and event index anyhow (64–127); the driver takes
//! a buffer (128–191) or lends back one it holds (192–255). Whatever the
//! device says, the ring must never hand the driver a buffer it already
//! holds, nor more bytes than a buffer lends, nor panic: a used entry
//! naming a buffer the device does not have is refused.

#![no_main]

use libfuzzer_sys::fuzz_target;
use virtio_hal::fake_device::FakeDevice;
use virtio_hal::ring::{Buffers, Held, Ring};

const SIZE: usize = 8;
const LAYOUT: Buffers = Buffers {
    stride: 96,
    lent_at: 6,
};

fuzz_target!(|script: &[u8]| {
    let mut device = FakeDevice::<SIZE>::default();
    let Ok((mut ring, mut held)) =
        Ring::<SIZE>::new(&mut device, 0, LAYOUT, true, script.len() % 2 == 0)
    else {
        return;
    };
    // The driver lends half its buffers at first, as it may.
    for buffer in held.split_off(SIZE / 2) {
        ring.lend(&mut device, buffer, usize::MAX);
    }
    let mut steps = script.iter().copied();
    while let Some(step) = steps.next() {
        let mut next = || steps.next().unwrap_or(0);
        match step {
            0..=63 => {
                let id = u32::from(next());
                let length = u32::from(u16::from_le_bytes([next(), next()]));
                device.give_back_entry(id % (SIZE as u32 + 2), length);
            }
            64..=127 => {
                device.set_no_notify(step & 1 == 1);
                device.set_avail_event(u16::from(next()));
            }
            128..=191 => {
                if let Ok(Some(buffer)) = ring.take() {
                    check(&ring, &held, &buffer);
                    held.push(buffer);
                }
            }
            _ => {
                if !held.is_empty() {
                    let buffer = held.swap_remove(usize::from(next()) % held.len());
                    ring.lend(&mut device, buffer, usize::from(next()));
                }
            }
        }
    }
});

/// A buffer just taken is within its part lent and is none of those the
/// driver already holds.
fn check(ring: &Ring<SIZE>, held: &[Held], taken: &Held) {
    let bytes = ring.bytes(taken);
    assert!(
        bytes.len() <= LAYOUT.stride - LAYOUT.lent_at,
        "a length past the buffer"
    );
    let at = bytes.as_ptr();
    assert!(
        held.iter().all(|other| ring.bytes(other).as_ptr() != at),
        "a buffer handed out twice"
    );
}
