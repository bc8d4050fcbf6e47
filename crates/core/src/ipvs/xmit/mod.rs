//! Forwarding modes: how a packet of a known connection is rewritten on its way out.
//!
//! Owns the per-mode rewrites, one file per mode as LVS names them (`nat`, `dr`, `tun`,
//! `fullnat`, `snat`). Each is a pure function of the packet and an [`XmitCtx`] describing the
//! connection; it must not look up connections, schedule, or send: the caller (the per-core
//! load balancer) owns those, and hands the rewritten packet to the L2/L3 stack with the
//! [`Xmit::route_to`] address, which the stack routes and resolves with ARP.
//!
//! Beside the modes, [`icmp`] finds the connection an ICMP error is about and translates the
//! error to match the mode; the steps they share (checks, the incremental rewrite) are in
//! `rewrite.rs`. Common rules, as in the kernel's IPVS: every mode decrements the TTL (the
//! inner one for TUN) and refuses a packet that would reach zero ([`XmitError::TtlExpired`]),
//! checks the egress MTU, and refuses fragments ([`forward_fragment_checked`] takes them, for a
//! caller that follows the datagram); a refused packet is left byte for byte as it came.
//!
//! Parse once: the only entries are [`forward_checked`] and [`forward_fragment_checked`], which
//! take the IPv4 header the receiving stack checked ([`crate::wire::Ipv4Meta`]) and the
//! transport header the balancer checked, and read them instead of viewing and checking the
//! headers again (the unchecked `forward`, which checks the header itself, is compiled for
//! tests only). A rewritten packet is handed back only as an [`Xmit`], which holds a
//! [`Checksummed`] that only the checksum-finishing steps make (see `rewrite.rs`).
//!
//! Buffer convention: the packet arrives as a whole Ethernet frame (`l3` is the offset of the
//! IPv4 header, 14 without VLAN) and leaves the same way, with the Ethernet header's bytes still
//! reserved in front of the (possibly new, outer) IPv4 header for the stack to fill in. Every
//! rewrite keeps the IPv4 header checksum and the TCP/UDP checksum correct, with RFC 1624
//! incremental updates where the mode only changes addresses and ports.

use std::net::{Ipv4Addr, SocketAddrV4};

pub use crate::ipvs::conn::Direction;
pub use crate::ipvs::spec::{TunCsum, TunEncap};

/// What a forwarding mode needs to know about the connection of the packet it rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XmitCtx {
    /// `In`: client -> virtual service (towards the real server); `Out`: the real server's
    /// reply (towards the client), seen only in NAT, FULLNAT and SNAT.
    pub dir: Direction,
    /// IP protocol (TCP, UDP; ICMP for SNAT echo flows).
    pub proto: IpProtocol,
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
    /// FULLNAT: insert TOA (client address as TCP option 254) into this packet if it is a TCP
    /// segment other than SYN or RST (see [`fullnat`]); the caller keeps it set until a
    /// data-bearing segment has had it.
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
    /// Offload wanted: a whole TCP/UDP packet whose IPv4 and L4 checksums (right, in
    /// software) the NIC may compute at transmission instead; the caller marks the buffer
    /// ([`crate::buf::PacketBuf::want_tx_csum`]) and the worker decides per port.
    pub tx_csum: bool,
    /// Proof that the packet's checksums were finalised (see [`Checksummed`]).
    pub checksummed: Checksummed,
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
    /// The mode does not forward in this direction (DR and TUN replies bypass the director; a
    /// `Local` dest, the director itself, is never forwarded).
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

#[cfg(test)]
mod checksums;
pub mod dr;
pub mod fullnat;
pub mod icmp;
pub mod nat;
mod rewrite;
pub use rewrite::{Checksummed, L4};
pub mod snat;
#[cfg(test)]
mod testutil;
pub mod tun;

use crate::buf::PacketBuf;
use crate::ipvs::conn::FwdMethod;
use crate::wire::{IpProtocol, Ipv4Meta};
use rewrite::Head;

/// [`forward_checked`] for a packet whose header nobody checked: checks it first.
#[cfg(test)]
pub(crate) fn forward<B: PacketBuf>(
    fwd: FwdMethod,
    pkt: &mut B,
    l3: usize,
    ctx: &XmitCtx,
) -> Result<Xmit, XmitError> {
    rewrite::with_head(pkt, l3, |p, h| dispatch(fwd, p, h, ctx, false))
}

/// Rewrites `pkt` (an Ethernet frame whose IPv4 header the receiving stack checked: `ip`, at
/// `ip.l3`) for the connection described by `ctx`, forwarded with `fwd`: the mode's `xmit`.
/// On error the buffer is unchanged, byte for byte.
///
/// Common rules of every mode: the IPv4 TTL (the inner one for TUN) is decremented as any
/// forwarding hop does, and a packet arriving with TTL 0 or 1 is refused with
/// [`XmitError::TtlExpired`]; the result is checked against `ctx.mtu`
/// ([`XmitError::FragNeeded`] with DF set, [`XmitError::TooBig`] without); fragments are
/// refused with [`XmitError::Fragment`]; a packet whose protocol is not `ctx.proto` (NAT,
/// FULLNAT, SNAT) is [`XmitError::Malformed`].
///
/// The data path's entry: the IPv4 header is not viewed or checked again, nor the transport
/// header when the caller checked it too (`l4`). Both must describe `pkt` as it is.
#[inline]
pub fn forward_checked<B: PacketBuf>(
    fwd: FwdMethod,
    pkt: &mut B,
    ip: &Ipv4Meta,
    l4: Option<L4>,
    ctx: &XmitCtx,
) -> Result<Xmit, XmitError> {
    dispatch(fwd, pkt, Head::new(ip, l4), ctx, false)
}

/// [`forward_fragment_checked`] for a packet whose header nobody checked: checks it first.
#[cfg(test)]
pub(crate) fn forward_fragment<B: PacketBuf>(
    fwd: FwdMethod,
    pkt: &mut B,
    l3: usize,
    ctx: &XmitCtx,
) -> Result<Xmit, XmitError> {
    rewrite::with_head(pkt, l3, |p, h| dispatch(fwd, p, h, ctx, true))
}

/// [`forward_checked`] for an IPv4 fragment whose datagram the caller follows (it looked up or
/// scheduled the connection from the first fragment and keeps the same `ctx` for the rest).
/// Unfragmented packets are handled as by [`forward_checked`].
///
/// - The first fragment (offset 0, More Fragments) must carry the whole transport header
///   (TCP header and options; the 8 UDP bytes): it is rewritten as a whole packet would be.
///   The TCP/UDP checksum covers the whole datagram, and the incremental update of the
///   addresses and ports it covers is right for the whole datagram. No TOA is inserted.
/// - A later fragment gets the IP-level part of the mode only: TTL, the addresses the mode
///   rewrites and the IPv4 header checksum (NAT, FULLNAT, SNAT); DR forwards it as it is
///   (TTL); TUN encapsulates it.
///
/// The MTU and TTL checks are those of [`forward_checked`], per fragment.
#[inline]
pub fn forward_fragment_checked<B: PacketBuf>(
    fwd: FwdMethod,
    pkt: &mut B,
    ip: &Ipv4Meta,
    l4: Option<L4>,
    ctx: &XmitCtx,
) -> Result<Xmit, XmitError> {
    dispatch(fwd, pkt, Head::new(ip, l4), ctx, true)
}

#[inline]
fn dispatch<B: PacketBuf>(
    fwd: FwdMethod,
    pkt: &mut B,
    head: Head<'_>,
    ctx: &XmitCtx,
    fragments: bool,
) -> Result<Xmit, XmitError> {
    match fwd {
        FwdMethod::Masq => nat::run(pkt, head, ctx, fragments),
        FwdMethod::Route => dr::run(pkt, head, ctx, fragments),
        FwdMethod::Tunnel => tun::run(pkt, head, ctx, fragments),
        FwdMethod::FullNat => fullnat::run(pkt, head, ctx, fragments),
        FwdMethod::Snat => snat::run(pkt, head, ctx, fragments),
        FwdMethod::Local => Err(XmitError::WrongDirection),
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;
    use crate::buf::VecBuf;
    use proptest::prelude::*;

    const MODES: [FwdMethod; 5] =
        [FwdMethod::Masq, FwdMethod::Route, FwdMethod::Tunnel, FwdMethod::FullNat, FwdMethod::Snat];

    fn arb_ctx() -> impl Strategy<Value = XmitCtx> {
        let sock = || any::<([u8; 4], u16)>().prop_map(|(a, p)| sa(a, p));
        let encap = prop_oneof![
            Just(TunEncap::Ipip),
            (any::<u16>(), 0u8..3).prop_map(|(port, c)| TunEncap::Gue {
                port,
                csum: [TunCsum::NoCsum, TunCsum::Csum, TunCsum::RemCsum][usize::from(c)],
            }),
        ];
        (
            (any::<bool>(), prop_oneof![Just(1u8), Just(6u8), Just(17u8), any::<u8>()]),
            (sock(), sock(), sock(), proptest::option::of(sock())),
            proptest::option::of((encap, any::<[u8; 4]>())),
            (any::<u16>(), any::<bool>()),
        )
            .prop_map(|((out, proto), (client, vip, dest, local), tun, (mtu, toa))| {
                XmitCtx {
                    dir: if out { Direction::Out } else { Direction::In },
                    proto: IpProtocol(proto),
                    client,
                    vip,
                    dest,
                    local,
                    tun: tun.map(|(e, a)| (e, a.into())),
                    mtu,
                    toa,
                }
            })
    }

    /// A well-formed frame of any kind the modes see, so mutations reach deep checks.
    fn arb_frame() -> impl Strategy<Value = Vec<u8>> {
        let sock = || any::<([u8; 4], u16)>().prop_map(|(a, p)| sa(a, p));
        (sock(), sock(), 0u8..5, proptest::collection::vec(any::<u8>(), 0..80), any::<u8>())
            .prop_map(|(s, d, kind, payload, flags)| match kind {
                0 => Spec::tcp(s, d, flags, &payload).frame(),
                1 => Spec::udp(s, d, &payload).frame(),
                2 => Spec::echo(s, d, flags & 1 == 0, &payload).frame(),
                3 => {
                    let q = Spec::tcp(d, s, flags, &payload).ip();
                    icmp_error(s.ip().octets(), d.ip().octets(), 3, 4, [0, 0, 5, 0], &q)
                }
                _ => {
                    let q = Spec::udp(d, s, &payload).ip();
                    let cut = q.len().min(28 + usize::from(flags % 8));
                    icmp_error(s.ip().octets(), d.ip().octets(), 11, 0, [0; 4], &q[..cut])
                }
            })
    }

    /// Every mode and the ICMP translation on `bytes`: no panic, and a refusal leaves the
    /// buffer as it was.
    fn every_mode_on(bytes: &[u8], l3: usize, headroom: usize, cx: &XmitCtx) {
        let mut base = VecBuf::with_capacity(headroom, headroom + bytes.len() + 64);
        base.append(bytes.len()).unwrap().copy_from_slice(bytes);
        for fwd in MODES {
            let mut b = base.clone();
            if forward(fwd, &mut b, l3, cx).is_err() {
                assert_eq!(b, base, "{fwd:?} refused but changed the buffer");
            }
            let mut b = base.clone();
            if forward_fragment(fwd, &mut b, l3, cx).is_err() {
                assert_eq!(b, base, "{fwd:?} refused a fragment but changed the buffer");
            }
            let mut b = base.clone();
            if icmp::translate(fwd, &mut b, l3, cx).is_err() {
                assert_eq!(b, base, "{fwd:?} translate refused but changed the buffer");
            }
        }
        let _ = icmp::embedded_tuple(bytes, l3);
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..120), l3 in 0usize..80,
            headroom in 0usize..40, cx in arb_ctx(),
        ) {
            every_mode_on(&bytes, l3, headroom, &cx);
        }

        #[test]
        fn mutated_packets_never_panic(
            frame in arb_frame(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
            cut in any::<usize>(), headroom in 0usize..40, cx in arb_ctx(),
        ) {
            let mut f = frame;
            for (at, v) in flips {
                let n = f.len();
                f[at % n] = v;
            }
            let keep = f.len() - cut % 8;
            f.truncate(keep);
            every_mode_on(&f, L3, headroom, &cx);
        }
    }

    #[test]
    fn forward_dispatches_by_mode() {
        let spec = Spec::tcp(client(), vip(), SYN, &[]);
        let route = |fwd| {
            let mut b = VecBuf::from_slice(&spec.frame());
            forward(fwd, &mut b, L3, &ctx(Direction::In, 6)).map(|x| (x.route_to, b.len()))
        };
        let len = spec.frame().len();
        assert_eq!(route(FwdMethod::Masq), Ok((*rs().ip(), len)));
        assert_eq!(route(FwdMethod::Route), Ok((*rs().ip(), len)));
        assert_eq!(route(FwdMethod::Tunnel), Ok((*rs().ip(), len + 20)));
        assert_eq!(route(FwdMethod::FullNat), Ok((*rs().ip(), len)));
        // SNAT routes to the packet's own destination (here the VIP of the test frame).
        assert_eq!(route(FwdMethod::Snat), Ok((*vip().ip(), len)));
    }
}
