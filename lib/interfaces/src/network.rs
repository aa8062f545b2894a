//! `INetworkStack`: the TCP/IP stack as its clients see it (the shell's
//! `ifconfig`); the card below it is an `INetworkDevice`
//! ([`crate::device`]).

use com::{Record, Result, interface};

/// Where the stack is bound (demand-loaded).
pub const STACK_PATH: &str = "/net";

/// The stack's IPv4 configuration, as DHCP gave it. Addresses are IPv4
/// addresses with the first byte highest (`0x0a00_020f` for 10.0.2.15).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Record)]
pub struct NetworkConfiguration {
    /// The card's MAC address, its six bytes in the low 48 bits.
    pub mac_address: u64,
    /// The stack's address (0: not configured yet).
    pub address: u32,
    /// The length of the network's prefix, in bits.
    pub prefix_length: u32,
    /// The default gateway (0: none).
    pub gateway: u32,
    /// The DHCP server that gave the address.
    pub dhcp_server: u32,
    /// 1 when the stack's random seed came from the entropy device
    /// (`/virtio-rng`), 0 when from the weak fallback (the MAC address
    /// and the time).
    pub seed_from_device: u32,
}

#[interface("28fad80a-f6b8-44ee-b2d3-08c3d33ca92d")]
/// The TCP/IP stack.
pub trait INetworkStack {
    /// The configuration now (address 0 before DHCP has answered).
    fn configuration(&self) -> Result<NetworkConfiguration>;
    /// Waits until DHCP has configured the stack, or until the kernel's
    /// time (`IScheduler::now`) reaches `deadline` (`TIMED_OUT`).
    fn wait_configured(&self, deadline: u64) -> Result<NetworkConfiguration>;
}
