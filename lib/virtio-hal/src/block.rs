//! Block requests the virtio block driver makes without spinning: each is
//! submitted with the crate's non-blocking call, the calling thread
//! sleeps on the device's interrupt until the device has used it, and the
//! crate completes it — the device reads and writes the caller's buffer
//! in place.

use com::Result;
use interfaces::IInterruptSource;
use virtio_drivers::device::blk::{BlkReq, BlkResp, VirtIOBlk};

use crate::{AnsweredTransport, TesseraHal, status};

/// A virtio block device driven through this crate.
pub type BlockDevice = VirtIOBlk<TesseraHal, AnsweredTransport>;

/// Reads the blocks from `first` into `buffer` (a whole number of blocks,
/// on the disk: the caller checks), sleeping on `interrupt` meanwhile.
pub fn read(
    device: &mut BlockDevice,
    interrupt: &IInterruptSource,
    first: usize,
    buffer: &mut [u8],
) -> Result<()> {
    let mut request = BlkReq::default();
    let mut response = BlkResp::default();
    // SAFETY: `request`, `buffer` and `response` are used by nothing else
    // until `complete_read_blocks` below, which runs before this function
    // returns: `wait_until_used` returns only once the device has used the
    // request. A failed submission borrows nothing.
    let token = unsafe { device.read_blocks_nb(first, &mut request, buffer, &mut response) }
        .map_err(status)?;
    wait_until_used(device, interrupt);
    // SAFETY: the same buffers the request was submitted with.
    unsafe { device.complete_read_blocks(token, &request, buffer, &mut response) }.map_err(status)
}

/// Writes `data` (a whole number of blocks, on the disk: the caller
/// checks) to the blocks from `first`, sleeping on `interrupt` meanwhile.
pub fn write(
    device: &mut BlockDevice,
    interrupt: &IInterruptSource,
    first: usize,
    data: &[u8],
) -> Result<()> {
    let mut request = BlkReq::default();
    let mut response = BlkResp::default();
    // SAFETY: as in `read`.
    let token = unsafe { device.write_blocks_nb(first, &mut request, data, &mut response) }
        .map_err(status)?;
    wait_until_used(device, interrupt);
    // SAFETY: the same buffers the request was submitted with.
    unsafe { device.complete_write_blocks(token, &request, data, &mut response) }.map_err(status)
}

/// Sleeps until the device has used the request in flight.
fn wait_until_used(device: &mut BlockDevice, interrupt: &IInterruptSource) {
    while device.peek_used().is_none() {
        // `wait` fails only for a source that is gone, which a driver
        // holding it cannot see; the used ring is checked either way.
        let _ = interrupt.wait();
        device.ack_interrupt();
    }
}
