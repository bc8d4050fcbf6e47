//! Test helpers of the forwarding modes: the parties of a test connection and its [`XmitCtx`],
//! and [`assert_checksums`]. Frames and the reference checksum come from [`crate::testkit`]
//! (independent of `crate::wire`), re-exported here for the mode tests.

use std::net::{Ipv4Addr, SocketAddrV4};

use super::{Direction, TunCsum, TunEncap, XmitCtx};
use crate::wire::IpProtocol;

pub use super::Checksummed;
pub use crate::testkit::checksum::{
    checksum_with_field_zero as naive_csum, fill_ip_csum, fill_l4_csum,
};
pub use crate::testkit::frames::{icmp_error, seen, Seen, Spec, ACK, FIN, L3, PSH, SYN};

pub fn sa(a: [u8; 4], port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::from(a), port)
}

/// The parties of the test connection.
pub const CLIENT: ([u8; 4], u16) = ([198, 51, 100, 7], 40001);
pub const VIP: ([u8; 4], u16) = ([203, 0, 113, 10], 80);
pub const RS: ([u8; 4], u16) = ([10, 0, 0, 21], 8080);
pub const LADDR: ([u8; 4], u16) = ([10, 0, 0, 2], 61234);
pub const DIRECTOR: [u8; 4] = [10, 0, 0, 1];

pub fn client() -> SocketAddrV4 {
    sa(CLIENT.0, CLIENT.1)
}
pub fn vip() -> SocketAddrV4 {
    sa(VIP.0, VIP.1)
}
pub fn rs() -> SocketAddrV4 {
    sa(RS.0, RS.1)
}
pub fn laddr() -> SocketAddrV4 {
    sa(LADDR.0, LADDR.1)
}

/// A context for the test connection.
pub fn ctx(dir: Direction, proto: u8) -> XmitCtx {
    XmitCtx {
        dir,
        proto: IpProtocol(proto),
        client: client(),
        vip: vip(),
        dest: rs(),
        local: Some(laddr()),
        tun: Some((TunEncap::Ipip, Ipv4Addr::from(DIRECTOR))),
        mtu: 1500,
        toa: false,
    }
}

/// A context with a GUE tunnel.
pub fn gue_ctx(port: u16, csum: TunCsum) -> XmitCtx {
    XmitCtx {
        tun: Some((TunEncap::Gue { port, csum }, Ipv4Addr::from(DIRECTOR))),
        ..ctx(Direction::In, 6)
    }
}

/// Asserts the IPv4 header checksum and the transport checksum of the packet at `ip` against
/// the reference checksum (a zero UDP checksum is "none" and accepted); the buffer must end at
/// Total Length.
pub fn assert_checksums(ip: &[u8]) {
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    assert_eq!(ip.len(), total, "buffer ends at Total Length");
    assert_eq!(crate::testkit::checksum::verify_ipv4(ip), Ok(()), "checksums");
}
