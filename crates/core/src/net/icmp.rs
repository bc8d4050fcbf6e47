//! ICMP duties of the director: echo replies for owned addresses and ICMP error messages.
//!
//! Owns the echo reply (built in place in the request's buffer: addresses swapped, TTL reset,
//! IPv4 checksum recomputed, ICMP checksum updated incrementally) and the builder of errors
//! (destination unreachable, fragmentation needed with the next-hop MTU, time exceeded) that
//! quote the offending IP header and its first 8 payload bytes, plus the RFC 1122 rules on when
//! an error must not be sent. It does not route or transmit (the [`super::Stack`] does) and does
//! not decide when an error is due (the load balancer does). Headers are `crate::wire`'s views.

use std::net::Ipv4Addr;

use thiserror::Error;

use super::counters::DropReason;
use crate::buf::{BufError, PacketBuf};
use crate::wire::icmpv4::{self, DstUnreachable, TimeExceeded};
use crate::wire::{
    checksum, ethernet, ipv4, Icmpv4Message, Icmpv4Packet, IpProtocol, Ipv4Packet, Ipv4Repr,
    MacAddr,
};

/// TTL of packets the director originates (echo replies, errors).
pub const DEFAULT_TTL: u8 = 64;

/// An ICMP error the director can send about a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpError {
    /// Destination unreachable with the given code (use `FragNeeded` for code 4).
    DestUnreachable(DstUnreachable),
    /// Destination unreachable, fragmentation needed and DF set (RFC 1191), with the MTU of the
    /// next hop.
    FragNeeded {
        /// Largest IPv4 packet the next hop carries.
        mtu: u16,
    },
    /// Time exceeded: TTL reached zero in transit.
    TimeExceeded,
}

/// Why an ICMP error could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum BuildError {
    /// The offending bytes do not start with a valid IPv4 header.
    #[error("offending packet is not IPv4: {0}")]
    Offending(crate::wire::Error),
    /// The buffer has no room for the error message.
    #[error("no room for the ICMP error: {0}")]
    Buf(#[from] BufError),
}

/// What to do with an ICMP packet addressed to the director.
#[derive(Debug)]
pub(crate) enum EchoOutcome<B> {
    /// The request, turned into its reply; send it back out the port it came in on.
    Reply(B),
    /// A well-formed ICMP message that is not an echo request (the checksum is not checked).
    NotEcho(B),
    /// Drop it for this reason.
    Drop(B, DropReason),
}

/// Turns an echo request into its reply in place. `pkt` holds a validated IPv4 packet (not a
/// fragment, header checksum verified, protocol ICMP) at `l3`, after an Ethernet header.
pub(crate) fn echo_input<B: PacketBuf>(mut pkt: B, l3: usize, our_mac: MacAddr) -> EchoOutcome<B> {
    let total = {
        let Some(ip) = pkt.data().get(l3..).and_then(|b| Ipv4Packet::new_checked(b).ok()) else {
            return EchoOutcome::Drop(pkt, DropReason::Ipv4Truncated);
        };
        let Ok(icmp) = Icmpv4Packet::new_checked(ip.payload()) else {
            return EchoOutcome::Drop(pkt, DropReason::IcmpMalformed);
        };
        if icmp.msg_type() != Icmpv4Message::EchoRequest {
            return EchoOutcome::NotEcho(pkt);
        }
        if !icmp.verify_checksum() {
            return EchoOutcome::Drop(pkt, DropReason::IcmpBadChecksum);
        }
        usize::from(ip.total_len())
    };
    // Drop the Ethernet padding so that the reply is exactly the datagram.
    let excess = pkt.len().saturating_sub(l3 + total);
    if pkt.trim(excess).is_err() {
        return EchoOutcome::Drop(pkt, DropReason::Ipv4BadLength);
    }
    let data = pkt.data_mut();
    let (eth_bytes, ip_bytes) = data.split_at_mut(l3.min(data.len()));
    let Ok(mut eth) = ethernet::Frame::new_checked(eth_bytes) else {
        return EchoOutcome::Drop(pkt, DropReason::EthTruncated);
    };
    let peer_mac = eth.src_addr();
    eth.set_dst_addr(peer_mac);
    eth.set_src_addr(our_mac);
    let Ok(mut ip) = Ipv4Packet::new_checked(ip_bytes) else {
        return EchoOutcome::Drop(pkt, DropReason::Ipv4Truncated);
    };
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    ip.set_src_addr(dst);
    ip.set_dst_addr(src);
    ip.set_ttl(DEFAULT_TTL);
    ip.fill_checksum();
    let Ok(mut icmp) = Icmpv4Packet::new_checked(ip.payload_mut()) else {
        return EchoOutcome::Drop(pkt, DropReason::IcmpMalformed);
    };
    let code = u16::from(icmp.msg_code());
    let old_word = (u16::from(u8::from(Icmpv4Message::EchoRequest)) << 8) | code;
    let new_word = (u16::from(u8::from(Icmpv4Message::EchoReply)) << 8) | code;
    let c = checksum::update_u16(icmp.checksum(), old_word, new_word);
    icmp.set_msg_type(Icmpv4Message::EchoReply);
    icmp.set_checksum(c);
    if c == 0 {
        // The one case where RFC 1624 arithmetic can differ from a full computation: every word
        // of the message is zero now. Recompute (a few bytes: the message is all header).
        icmp.fill_checksum();
    }
    EchoOutcome::Reply(pkt)
}

/// Where an ICMP error about `offending` (an IPv4 packet from its header on) would go, or `None`
/// when RFC 1122 (3.2.2) forbids sending one: the packet is malformed, a non-first fragment, an
/// ICMP error itself, or its source or destination is not a single host.
pub fn error_destination(offending: &[u8]) -> Option<Ipv4Addr> {
    let ip = Ipv4Packet::new_checked_header(offending).ok()?;
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    let not_a_host =
        |a: Ipv4Addr| a.is_unspecified() || a.is_broadcast() || a.is_multicast() || a.is_loopback();
    if not_a_host(src) || dst.is_broadcast() || dst.is_multicast() || ip.frag_offset() != 0 {
        return None;
    }
    if ip.protocol() == IpProtocol::ICMP {
        // Only the type byte is needed, and a truncated quote might hide an error: refuse then.
        let ty = ip.payload().first().copied()?;
        if Icmpv4Message::from(ty).is_error() {
            return None;
        }
    }
    Some(src)
}

/// Writes into `pkt` (replacing its data) an ICMP error `kind` about `offending`, sent from `src`
/// to the offending packet's source: 14 reserved Ethernet bytes (zero), a 20-byte IPv4 header
/// (TTL 64, checksum filled), the 8-byte ICMP header and the quote (the offending IP header and
/// up to 8 bytes of its payload). The result is ready for [`super::Stack::send_ipv4`].
pub fn build_error<B: PacketBuf>(
    pkt: &mut B,
    offending: &[u8],
    src: Ipv4Addr,
    kind: IcmpError,
) -> Result<(), BuildError> {
    let off = Ipv4Packet::new_checked_header(offending).map_err(BuildError::Offending)?;
    let hl = off.header_len();
    let quote_len = (hl + 8).min(usize::from(off.total_len()).max(hl)).min(offending.len());
    let quote =
        offending.get(..quote_len).ok_or(BuildError::Offending(crate::wire::Error::Truncated))?;
    let icmp_len = icmpv4::HEADER_LEN + quote_len;
    let ip_repr = Ipv4Repr {
        src_addr: src,
        dst_addr: off.src_addr(),
        protocol: IpProtocol::ICMP,
        // At most 8 + 60 + 8: always fits.
        payload_len: icmp_len as u16,
        ttl: DEFAULT_TTL,
        // Precedence "internetwork control", as routers mark their ICMP errors.
        tos: 0xc0,
        ident: 0,
        dont_frag: false,
    };
    let (ty, code, mtu) = match kind {
        IcmpError::DestUnreachable(c) => (Icmpv4Message::DstUnreachable, u8::from(c), None),
        IcmpError::FragNeeded { mtu } => {
            (Icmpv4Message::DstUnreachable, u8::from(DstUnreachable::FragRequired), Some(mtu))
        }
        IcmpError::TimeExceeded => {
            (Icmpv4Message::TimeExceeded, u8::from(TimeExceeded::TtlExpired), None)
        }
    };

    pkt.set_len(0)?;
    let total = ethernet::HEADER_LEN + ipv4::HEADER_LEN + icmp_len;
    let data = pkt.append(total)?;
    data.fill(0);
    let ip_bytes =
        data.get_mut(ethernet::HEADER_LEN..).ok_or(BufError::TooShort { wanted: total, len: 0 })?;
    let (ip_hdr, icmp_bytes) = ip_bytes.split_at_mut(ipv4::HEADER_LEN.min(ip_bytes.len()));
    // `ip_hdr` is exactly 20 bytes (the append above made room), so emit cannot panic.
    ip_repr.emit(&mut Ipv4Packet::new_unchecked(ip_hdr));
    let mut icmp = Icmpv4Packet::new_checked(icmp_bytes).map_err(BuildError::Offending)?;
    icmp.set_msg_type(ty);
    icmp.set_msg_code(code);
    icmp.clear_rest_of_header();
    if let Some(mtu) = mtu {
        icmp.set_next_hop_mtu(mtu);
    }
    let body = icmp.data_mut();
    if let Some(dst) = body.get_mut(..quote.len()) {
        dst.copy_from_slice(quote);
    }
    icmp.fill_checksum();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::VecBuf;
    use crate::net::testutil::*;

    fn offending(payload_len: usize) -> Vec<u8> {
        ipv4(Ipv4Addr::new(1, 2, 3, 4), VIP, 6, 9, &(0..payload_len as u8).collect::<Vec<_>>())
    }

    #[test]
    fn frag_needed_layout_and_checksums() {
        let off = offending(40);
        let mut b = VecBuf::with_capacity(128, 512);
        b.append(3).unwrap(); // stale data is replaced
        build_error(&mut b, &off, HOST0, IcmpError::FragNeeded { mtu: 1480 }).unwrap();
        let d = b.data();
        assert_eq!(d.len(), 14 + 20 + 8 + 28);
        assert_eq!(&d[..14], &[0u8; 14]);
        let ip = &d[14..34];
        assert_eq!(ip[0], 0x45);
        assert_eq!(ip[1], 0xc0);
        assert_eq!(u16::from_be_bytes([ip[2], ip[3]]), 56);
        assert_eq!(&ip[6..8], &[0, 0]); // no DF, no fragment
        assert_eq!(ip[8], 64);
        assert_eq!(ip[9], 1);
        assert_eq!(&ip[12..16], &HOST0.octets());
        assert_eq!(&ip[16..20], &[1, 2, 3, 4]);
        let mut z = ip.to_vec();
        z[10..12].fill(0);
        assert_eq!(u16::from_be_bytes([ip[10], ip[11]]), naive_checksum(&z));
        let icmp = &d[34..];
        assert_eq!((icmp[0], icmp[1]), (3, 4));
        assert_eq!(&icmp[4..6], &[0, 0]);
        assert_eq!(u16::from_be_bytes([icmp[6], icmp[7]]), 1480);
        assert_eq!(&icmp[8..], &off[..28]);
        let mut z = icmp.to_vec();
        z[2..4].fill(0);
        assert_eq!(u16::from_be_bytes([icmp[2], icmp[3]]), naive_checksum(&z));
    }

    #[test]
    fn time_exceeded_and_unreachable_codes_and_short_quote() {
        let off = offending(3); // fewer than 8 payload bytes: quote what there is
        let mut b = VecBuf::with_capacity(128, 512);
        build_error(&mut b, &off, HOST0, IcmpError::TimeExceeded).unwrap();
        let icmp = &b.data()[34..];
        assert_eq!((icmp[0], icmp[1]), (11, 0));
        assert_eq!(&icmp[4..8], &[0; 4]);
        assert_eq!(&icmp[8..], &off[..]);
        assert_eq!(naive_checksum(icmp), 0, "checksum over the message verifies");

        let off = offending(20);
        build_error(
            &mut b,
            &off,
            HOST0,
            IcmpError::DestUnreachable(DstUnreachable::PortUnreachable),
        )
        .unwrap();
        let icmp = &b.data()[34..];
        assert_eq!((icmp[0], icmp[1]), (3, 3));
        assert_eq!(icmp.len(), 8 + 28);
        assert_eq!(naive_checksum(icmp), 0);
    }

    #[test]
    fn build_refuses_garbage_and_small_buffers() {
        let mut b = VecBuf::with_capacity(0, 512);
        assert!(matches!(
            build_error(&mut b, &[0x45, 0, 0], HOST0, IcmpError::TimeExceeded),
            Err(BuildError::Offending(_))
        ));
        let mut small = VecBuf::with_capacity(0, 40);
        assert!(matches!(
            build_error(&mut small, &offending(8), HOST0, IcmpError::TimeExceeded),
            Err(BuildError::Buf(_))
        ));
    }

    #[test]
    fn rfc1122_no_error_about_errors_fragments_or_broadcast() {
        let peer = Ipv4Addr::new(1, 2, 3, 4);
        assert_eq!(error_destination(&offending(8)), Some(peer));
        // An ICMP error: never answered with an error.
        let err = ipv4(peer, VIP, 1, 9, &icmp(3, 1, [0; 4], &[0; 28]));
        assert_eq!(error_destination(&err), None);
        // An echo request may be.
        let echo = ipv4(peer, VIP, 1, 9, &icmp(8, 0, [0; 4], &[]));
        assert_eq!(error_destination(&echo), Some(peer));
        // Non-first fragment.
        let mut frag = offending(8);
        frag[6..8].copy_from_slice(&0x0010u16.to_be_bytes());
        assert_eq!(error_destination(&frag), None);
        // Broadcast destination, multicast or unspecified source.
        assert_eq!(error_destination(&ipv4(peer, Ipv4Addr::BROADCAST, 17, 9, &[0; 8])), None);
        assert_eq!(
            error_destination(&ipv4(Ipv4Addr::new(224, 0, 0, 5), VIP, 17, 9, &[0; 8])),
            None
        );
        assert_eq!(error_destination(&ipv4(Ipv4Addr::UNSPECIFIED, VIP, 17, 9, &[0; 8])), None);
        assert_eq!(error_destination(&[1, 2, 3]), None);
    }
}
