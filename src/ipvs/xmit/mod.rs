//! Forwarding modes: how a packet of a known connection is rewritten on its way out.
//!
//! Owns the per-mode rewrites, one file per mode as LVS names them (`nat`, `dr`, `tun`,
//! `fullnat`, `snat`). Each is a pure function of the packet and an [`XmitCtx`] describing the
//! connection; it must not look up connections, schedule, or send: the caller (the per-core
//! load balancer) owns those, and hands the rewritten packet to the L2/L3 stack with the
//! [`Xmit::route_to`] address, which the stack routes and resolves with ARP.
//!
//! Buffer convention: the packet arrives as a whole Ethernet frame (`l3` is the offset of the
//! IPv4 header, 14 without VLAN) and leaves the same way, with the Ethernet header's bytes still
//! reserved in front of the (possibly new, outer) IPv4 header for the stack to fill in. Every
//! rewrite keeps the IPv4 header checksum and the TCP/UDP checksum correct, with RFC 1624
//! incremental updates where the mode only changes addresses and ports.

use std::net::{Ipv4Addr, SocketAddrV4};

pub use crate::ipvs::conn::Direction;

/// Tunnel encapsulation of a TUN-mode dest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunEncap {
    /// IPv4-in-IPv4 (protocol 4).
    Ipip,
    /// Generic UDP Encapsulation to `port`, with the outer UDP checksum mode.
    Gue {
        /// Destination UDP port on the real server.
        port: u16,
        /// Outer UDP checksum handling.
        csum: TunCsum,
    },
}

/// Outer checksum handling of a UDP-based tunnel (ipvsadm's `--tun-nocsum/--tun-csum/--tun-remcsum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TunCsum {
    /// Outer UDP checksum zero.
    #[default]
    NoCsum,
    /// Outer UDP checksum computed.
    Csum,
    /// Remote checksum offload (treated as `Csum` where the receiver does not support it).
    RemCsum,
}

/// What a forwarding mode needs to know about the connection of the packet it rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XmitCtx {
    /// `In`: client -> virtual service (towards the real server); `Out`: the real server's
    /// reply (towards the client), seen only in NAT, FULLNAT and SNAT.
    pub dir: Direction,
    /// IP protocol (6 TCP, 17 UDP).
    pub proto: u8,
    /// The client's address and port.
    pub client: SocketAddrV4,
    /// The virtual service's address and port (for SNAT: the outside server the host asked for).
    pub vip: SocketAddrV4,
    /// The real server's address and port (for SNAT: the same outside server).
    pub dest: SocketAddrV4,
    /// FULLNAT/SNAT: the local address and port that stand in for the client.
    pub local: Option<SocketAddrV4>,
    /// TUN: the encapsulation and the director's source address for the outer header.
    pub tun: Option<(TunEncap, Ipv4Addr)>,
    /// MTU of the port the packet will leave by (for TUN's fragmentation-needed check).
    pub mtu: u16,
    /// FULLNAT: insert TOA (client address as TCP option 254) if this packet carries data and
    /// the connection has not had it yet.
    pub toa: bool,
}

/// The result of a successful rewrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Xmit {
    /// The address the stack routes and resolves for this packet (DR: the real server, though
    /// the IP destination stays the VIP; TUN: the real server of the outer header; otherwise
    /// the new IP destination).
    pub route_to: Ipv4Addr,
    /// FULLNAT: TOA was inserted into this packet (the caller marks the connection).
    pub toa_inserted: bool,
}

/// Why a packet could not be forwarded. The packet is left for the caller to drop or answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum XmitError {
    /// The headers are not what the connection expects (truncated, wrong protocol).
    #[error("malformed packet for this connection")]
    Malformed,
    /// Not enough headroom/tailroom in the buffer for the encapsulation.
    #[error("no room in the buffer for the rewrite")]
    NoRoom,
    /// TUN: the encapsulated packet would exceed the MTU and the inner packet has DF set; the
    /// caller sends ICMP fragmentation-needed to the client with this MTU.
    #[error("fragmentation needed, mtu {mtu}")]
    FragNeeded {
        /// MTU to report to the client (port MTU minus the encapsulation overhead).
        mtu: u16,
    },
    /// The mode does not forward in this direction (DR and TUN replies bypass the director).
    #[error("this forwarding mode does not carry packets in this direction")]
    WrongDirection,
    /// The IPv4 TTL is 0 or 1, so forwarding would take it to zero: the caller drops the packet
    /// and may answer with ICMP time exceeded (never for an ICMP error).
    #[error("TTL expired in transit")]
    TtlExpired,
    /// The packet (encapsulated, for TUN) is larger than the egress MTU and the director does not
    /// fragment: with DF clear the caller drops it; ICMP errors that do not fit end here too.
    #[error("packet larger than the egress MTU, and fragmentation is not done here")]
    TooBig,
    /// An IPv4 fragment: the rewrite needs the transport header of a whole datagram, so the
    /// caller reassembles first (or drops).
    #[error("IPv4 fragment; reassemble before forwarding")]
    Fragment,
}

pub mod dr;
pub mod fullnat;
pub mod icmp;
pub mod nat;
mod rewrite;
pub mod snat;
#[cfg(test)]
mod testutil;
pub mod tun;

use crate::buf::PacketBuf;
use crate::ipvs::conn::FwdMethod;

/// Rewrites `pkt` (an Ethernet frame whose IPv4 header starts at `l3`) for the connection
/// described by `ctx`, forwarded with `fwd`: the mode's `xmit`. On error the buffer is
/// unchanged, byte for byte.
///
/// Common rules of every mode: the IPv4 TTL (the inner one for TUN) is decremented as any
/// forwarding hop does, and a packet arriving with TTL 0 or 1 is refused with
/// [`XmitError::TtlExpired`]; the result is checked against `ctx.mtu`
/// ([`XmitError::FragNeeded`] with DF set, [`XmitError::TooBig`] without); fragments are
/// refused with [`XmitError::Fragment`]; a packet whose protocol is not `ctx.proto` (NAT,
/// FULLNAT, SNAT) is [`XmitError::Malformed`].
pub fn forward<B: PacketBuf>(
    fwd: FwdMethod,
    pkt: &mut B,
    l3: usize,
    ctx: &XmitCtx,
) -> Result<Xmit, XmitError> {
    match fwd {
        FwdMethod::Nat => nat::xmit(pkt, l3, ctx),
        FwdMethod::Dr => dr::xmit(pkt, l3, ctx),
        FwdMethod::Tun => tun::xmit(pkt, l3, ctx),
        FwdMethod::FullNat => fullnat::xmit(pkt, l3, ctx),
        FwdMethod::Snat => snat::xmit(pkt, l3, ctx),
    }
}
