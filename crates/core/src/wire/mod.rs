//! Zero-copy views of packet headers, and the Internet checksum.
//!
//! Owns byte layout only: where each field of Ethernet (+802.1Q), ARP, IPv4, IPv6 (with its
//! extension headers), ICMPv4, ICMPv6, neighbour discovery, TCP,
//! UDP and the tunnel headers (IP-in-IP, GUE) sits, how to read and write it, and how to compute
//! and incrementally update the one's-complement checksum ([`checksum`]). It must not know about
//! services, conns, routes, neighbours or DPDK; its input is any byte slice (`&[u8]`,
//! `&mut [u8]`, a `Vec<u8>`, the data of a [`crate::buf::PacketBuf`]). The tunnel modules
//! ([`ipip`], [`gue`]) also take a `PacketBuf` to use its headroom for the outer headers.
//!
//! | file | holds |
//! |------|-------|
//! | [`checked`] | [`Ipv4Meta`], [`FlowMeta`], [`PacketMeta`]: the checked headers, carried with the packet |
//! | [`tuple`] | [`Tuple`]: the flow tuple, from parsing to the connection key |
//! | [`checksum`] | RFC 1071 sum, pseudo-headers, RFC 1624 incremental updates |
//! | [`ethernet`] | [`MacAddr`], [`EtherType`], `Frame`, `VlanTag` |
//! | [`arp`] | Ethernet/IPv4 ARP |
//! | [`ip`] | [`IpProtocol`] numbers |
//! | [`ipv4`], [`ipv6`] | IP headers; IPv4 NAT rewrites with incremental checksum |
//! | [`icmpv4`] | echo, destination unreachable, time exceeded, quoted header |
//! | [`ipv6ext`] | the IPv6 extension-header walk, the fragment header |
//! | [`icmpv6`] | ICMPv6 echo and errors with the invoking packet, pseudo-header checksum |
//! | [`ndisc`] | neighbour discovery: NS, NA, RS, RA, link-layer address options |
//! | [`tcp`], [`udp`] | L4 headers, options (TCP), checksums, NAT rewrites |
//! | [`ipip`], [`gue`] | outer headers of the tunnel forwarding mode |
//!
//! Every protocol follows the same shape:
//! - a private `mod field` names the byte ranges once;
//! - a view (`Packet<T: AsRef<[u8]>>`, `Frame` for Ethernet) whose `new_checked` validates the
//!   lengths once and returns an [`enum@Error`] for malformed input. After a successful `new_checked`
//!   no accessor panics, whatever the bytes are. `new_unchecked` skips the checks and is meant for
//!   buffers the caller sized itself (for example before a `Repr::emit`); accessors on such a view
//!   may panic if the buffer is too short;
//! - setters when the buffer is writable (`T: AsMut<[u8]>`); setters write the field and nothing
//!   else, so a setter that changes a length field can break the view's length invariant — they
//!   are for building packets, not for rewriting received ones;
//! - a `Repr`, the parsed plain form, with `parse(&view)` and `emit(&self, &mut view)`, and
//!   `header_len()`/`buffer_len()` to size a buffer before emitting.
//!
//! Checksums are never verified implicitly: `new_checked` and `Repr::parse` check structure, and
//! the caller calls `verify_checksum()` where it wants to (and can count failures separately).

use thiserror::Error;

pub mod arp;
#[cfg(test)]
mod capture_tests;
pub mod checked;
pub mod checksum;
pub mod ethernet;
pub mod gue;
pub mod icmpv4;
pub mod icmpv6;
pub mod ip;
pub mod ipip;
pub mod ipv4;
pub mod ipv6;
pub mod ipv6ext;
pub mod ndisc;
pub mod tcp;
pub mod tuple;
pub mod udp;

pub use arp::{Operation as ArpOperation, Packet as ArpPacket, Repr as ArpRepr};
pub use checked::{FlowMeta, Ipv4Meta, PacketMeta, L4};
pub use ethernet::{EtherType, Frame as EthernetFrame, MacAddr, Repr as EthernetRepr};
pub use icmpv4::{Message as Icmpv4Message, Packet as Icmpv4Packet, Repr as Icmpv4Repr};
pub use icmpv6::{Packet as Icmpv6Packet, Repr as Icmpv6Repr};
pub use ip::IpProtocol;
pub use ipv4::{Packet as Ipv4Packet, Repr as Ipv4Repr};
pub use ipv6::{Packet as Ipv6Packet, Repr as Ipv6Repr};
pub use ndisc::Repr as NdiscRepr;
pub use tcp::{Flags as TcpFlags, Packet as TcpPacket, Repr as TcpRepr, TcpOption};
pub use tuple::Tuple;
pub use udp::{Packet as UdpPacket, Repr as UdpRepr};

/// Why bytes could not be viewed or parsed as a header. Each variant is a separate drop counter
/// for the data plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
pub enum Error {
    /// The buffer is shorter than the fixed header, or than the header length it announces.
    #[error("packet truncated: the buffer is shorter than the header")]
    Truncated,
    /// The IP version field does not match the header being parsed.
    #[error("wrong IP version field")]
    BadVersion,
    /// The IPv4 header length (IHL) is below 5 words.
    #[error("IPv4 header length (IHL) below 5")]
    BadIhl,
    /// A length field (IPv4 total length, IPv6 payload length, UDP length) is smaller than the
    /// header or larger than the buffer.
    #[error("length field disagrees with the header or the buffer")]
    BadTotalLength,
    /// A checksum did not verify.
    #[error("bad checksum")]
    BadChecksum,
    /// A field holds a value the protocol does not allow.
    #[error("malformed header: {0}")]
    Malformed(&'static str),
    /// No room to write: the header would exceed its maximum length or the buffer is too short.
    #[error("no room in the header or buffer")]
    NoSpace,
    /// Well formed, but a variant this module does not handle (for example ARP for other than
    /// Ethernet/IPv4).
    #[error("unsupported header variant")]
    Unsupported,
}

/// Result of parsing a header.
pub type Result<T> = core::result::Result<T, Error>;

/// A byte range inside a header.
pub(crate) type Field = core::ops::Range<usize>;

/// Reads a big-endian `u16` at `at`. Callers guarantee `at + 2 <= data.len()`.
#[inline(always)]
pub(crate) fn get_u16(data: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([data[at], data[at + 1]])
}

/// Writes a big-endian `u16` at `at`. Callers guarantee `at + 2 <= data.len()`.
#[inline(always)]
pub(crate) fn set_u16(data: &mut [u8], at: usize, value: u16) {
    data[at..at + 2].copy_from_slice(&value.to_be_bytes());
}

/// Reads a big-endian `u32` at `at`. Callers guarantee `at + 4 <= data.len()`.
#[inline(always)]
pub(crate) fn get_u32(data: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

/// Writes a big-endian `u32` at `at`. Callers guarantee `at + 4 <= data.len()`.
#[inline(always)]
pub(crate) fn set_u32(data: &mut [u8], at: usize, value: u32) {
    data[at..at + 4].copy_from_slice(&value.to_be_bytes());
}
