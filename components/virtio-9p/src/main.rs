//! The host's files over 9P2000.L: drives the virtio 9P transport the kernel lists (`/sys/devices/virtio-9p0`) and serves the host's shared directory as a namespace.
//!
//! Binding `/virtio-9p` loads it: the constructor attaches the device's
//! interrupt, brings the transport up, negotiates 9P2000.L (a message
//! size of 64 KiB and a bit, or what the server gives, at least 4096)
//! and attaches to the served tree. Its object is the tree's root
//! directory; the shell registers it at `/host`. Below it, directories are
//! namespaces (and `IDirectory`), files `IFile`s, as on a FAT volume
//! (`components/fat`).
//!
//! The client's codec is `ninep` (fuzzed on the host); the crate's 9P
//! `request` sleeps on the device's interrupt through `virtio-hal`'s
//! transport. One request is in flight at a time, under a kernel lock;
//! every operation walks its path from the root to a fresh fid and clunks
//! it after. Replies the codec refuses fail the operation with
//! `BAD_IMAGE`, and the client goes on.
//!
//! Depends on `com`, `component`, `file-tree` (the directory and file
//! objects, shared with fat), `interfaces`, `ninep`, `virtio-drivers` and
//! `virtio-hal`.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

mod client;
mod objects;

use com::{ComPtr, IUnknown, Result};
use interfaces::device::virtio;
use virtio_drivers::device::virtio_9p::VirtIO9p;

/// The device this driver drives, under `/sys/devices`.
const DEVICE: &str = "virtio-9p0";

fn construct() -> Result<ComPtr<IUnknown>> {
    let namespace = component::namespace()?;
    let (transport, _interrupt) = virtio_hal::open(&namespace, DEVICE, virtio::NINE_P)?;
    let device = VirtIO9p::new(transport).map_err(virtio_hal::status)?;
    let client = client::Client::attach(device)?;
    objects::root(client)
}

component::component!(construct);
