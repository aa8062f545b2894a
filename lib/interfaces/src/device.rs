//! `IDevice`: a device the kernel found in the device tree, as a driver
//! component finds it under `/sys/devices`; `IBlockDevice`: what a block
//! device driver offers a file system; `INetworkDevice`: what a network
//! card's driver offers a network stack; `IEntropySource`: random bytes
//! from the hardware.
//!
//! Components cannot read the device tree: the kernel lists each device it
//! found there with its register window and interrupt, and a driver binds
//! the entry by name (`/sys/devices/virtio-blk0`).

use com::{Record, Result, interface};

/// Where the kernel lists the devices it found.
pub const DIRECTORY: &str = "/sys/devices";

/// What the kernel knows of a device.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Record)]
pub struct DeviceInfo {
    /// The physical address of the device's register window.
    pub base: u64,
    /// The window's size in bytes.
    pub size: u64,
    /// Its interrupt source at the PLIC (0: none), for `IInterrupts::attach`.
    pub interrupt: u32,
    /// The virtio device id its MMIO header gives (see [`virtio`]).
    pub virtio_id: u32,
}

/// Virtio device ids (the virtio specification, section 5) and the names
/// the kernel lists virtio-mmio devices under.
pub mod virtio {
    /// A network card.
    pub const NETWORK: u32 = 1;
    /// A block device.
    pub const BLOCK: u32 = 2;
    /// A console.
    pub const CONSOLE: u32 = 3;
    /// An entropy source.
    pub const ENTROPY: u32 = 4;
    /// A 9P transport (a host directory).
    pub const NINE_P: u32 = 9;

    /// The name a device of `id` is listed under, before its index
    /// (`virtio-blk` for `/sys/devices/virtio-blk0`); `virtio` for an id
    /// without a name of its own.
    pub const fn kind(id: u32) -> &'static str {
        match id {
            NETWORK => "virtio-net",
            BLOCK => "virtio-blk",
            CONSOLE => "virtio-console",
            ENTROPY => "virtio-rng",
            NINE_P => "virtio-9p",
            _ => "virtio",
        }
    }
}

#[interface("561be071-d897-4431-bcac-e34b8f606091")]
/// A device the kernel found, listed under [`DIRECTORY`].
pub trait IDevice {
    /// Its register window, interrupt and virtio id.
    fn info(&self) -> Result<DeviceInfo>;
}

#[interface("5171fbff-c65a-48d5-b1a7-f8e5e636ee41")]
/// A disk: numbered blocks of [`IBlockDevice::block_size`] bytes, read and
/// written whole.
pub trait IBlockDevice {
    /// The size of one block in bytes.
    fn block_size(&self) -> Result<u32>;
    /// How many blocks the device holds.
    fn block_count(&self) -> Result<u64>;
    /// True when the device refuses writes.
    fn read_only(&self) -> Result<bool>;
    /// Reads the blocks from `first` into `buffer`, whose length is a
    /// non-zero multiple of the block size (`INVALID_ARGUMENT` otherwise;
    /// `OUT_OF_RANGE` past the last block).
    fn read_blocks(&self, first: u64, buffer: &mut [u8]) -> Result<()>;
    /// Writes `data` to the blocks from `first`, as `read_blocks` reads
    /// them; a read-only device fails with `ACCESS_DENIED`.
    fn write_blocks(&self, first: u64, data: &[u8]) -> Result<()>;
    /// Returns once every block written before has reached the medium.
    fn flush(&self) -> Result<()>;
}

/// A frame [`INetworkDevice::receive`] copied out.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Record)]
pub struct ReceivedFrame {
    /// Its length in bytes (0: none was waiting).
    pub length: u32,
    /// The ones'-complement sum (RFC 1071, not complemented, at most
    /// `0xffff`) of its bytes past the 14-byte Ethernet header, as
    /// big-endian 16-bit words, summed as they were copied: a stack checks
    /// an IPv4 packet's checksums against it without reading the packet
    /// again (as with a card's "checksum complete" offload).
    pub sum: u32,
}

#[interface("ede78e6d-163c-474e-96e3-0adbe8f1b23f")]
/// A network card: Ethernet frames (without their checksum) in and out.
/// Nothing blocks but [`INetworkDevice::wait_until`], where the card's
/// one client (a network stack) sleeps until the card has news.
pub trait INetworkDevice {
    /// The card's MAC address, its six bytes in the low 48 bits, the
    /// first byte highest (`0x5254_0012_3456` for 52:54:00:12:34:56).
    fn mac_address(&self) -> Result<u64>;
    /// Hands `frame` (14 to 1,514 bytes, `INVALID_ARGUMENT` otherwise) to
    /// the card without waiting for it to go out; `RETRY` when every
    /// transmit buffer is in flight (wait, then send again).
    fn send(&self, frame: &[u8]) -> Result<()>;
    /// Copies the oldest frame received into `buffer` (1,514 bytes always
    /// suffice; a longer frame than `buffer` is dropped with
    /// `INVALID_ARGUMENT`): its length (0 when none is waiting) and sum.
    fn receive(&self, buffer: &mut [u8]) -> Result<ReceivedFrame>;
    /// A card's receive offload: appends to the TCP segment a frame
    /// [`INetworkDevice::receive`] gave, whose headers (Ethernet, IPv4,
    /// TCP) are `headers`, the data of each frame received after it that
    /// follows on (`net_frames::merge`), copied into `room` — where the
    /// segment's data ends — one after the other; `headers` then say so
    /// (IPv4 length, PSH, window). A frame that follows on but whose
    /// checksums fail is dropped. Stops at the first frame that does not
    /// follow on or fit, which `receive` gives next. The bytes appended.
    fn receive_following(&self, headers: &mut [u8], room: &mut [u8]) -> Result<u32>;
    /// Sleeps until a frame is waiting or a transmit buffer is free again,
    /// or until the kernel's time (`IScheduler::now`) reaches `deadline`
    /// (`TIMED_OUT`; `u64::MAX`: no deadline).
    fn wait_until(&self, deadline: u64) -> Result<()>;
    /// Ends a `wait_until` under way at once (a client with new work for
    /// its waiting thread, or stopping it).
    fn wake(&self) -> Result<()>;
}

#[interface("c576adf5-5887-4ba4-8245-c06263d57d52")]
/// A source of random bytes from the hardware (QEMU's
/// `virtio-rng-device`): seeds for a network stack's sequence numbers.
pub trait IEntropySource {
    /// Fills the whole of `buffer` with random bytes (`INVALID_ARGUMENT`
    /// for an empty one).
    fn fill(&self, buffer: &mut [u8]) -> Result<()>;
}
