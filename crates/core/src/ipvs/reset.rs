//! TCP reset to a client the director cannot serve (no dest available for its SYN).
//!
//! Owns [`reset_in_place`]: the segment that provoked the reset is turned into the reset, in its
//! own buffer, following RFC 793's reset generation ("If the incoming segment has an ACK field,
//! the reset takes its sequence number from the ACK field of the segment, otherwise the reset
//! has sequence number zero and the ACK field is set to the sum of the sequence number and
//! segment length of the incoming segment"; SYN and FIN each count one in the length). It does
//! not decide when a reset is due (the balancer does) nor route it (the stack does).
//!
//! The reply comes from the address and port the client sent to, has no options and no data,
//! window 0, TTL 64, DF set, a fresh IPv4 header (the client's IP options are not echoed) and
//! both checksums computed in full. Both headers are written by `wire`'s reprs.

use std::net::Ipv4Addr;

use crate::buf::PacketBuf;
use crate::wire::{
    ipv4, tcp, IpProtocol, Ipv4Meta, Ipv4Packet, Ipv4Repr, TcpFlags, TcpPacket, TcpRepr,
};

/// Length of the reset: IPv4 header plus TCP header, neither with options.
const RST_LEN: usize = ipv4::HEADER_LEN + tcp::HEADER_LEN;

/// Turns the IPv4 TCP segment whose IPv4 header the stack checked (`ip`, at `ip.l3`) into the
/// reset that answers it; returns the address to route the reset to (the segment's source), or
/// `None` (buffer untouched) when it is not a TCP segment or is itself a reset (never
/// answered). The IPv4 header is not checked again.
pub fn reset_in_place<B: PacketBuf>(pkt: &mut B, ip: &Ipv4Meta) -> Option<Ipv4Addr> {
    if ip.protocol != IpProtocol::TCP {
        return None;
    }
    let (l3, src, dst) = (ip.l3, ip.src_addr, ip.dst_addr);
    let tcp = TcpPacket::new_checked(ip.payload(pkt.data())?).ok()?;
    let flags = tcp.flags();
    if flags.contains(TcpFlags::RST) {
        return None;
    }
    let (sport, dport) = (tcp.src_port(), tcp.dst_port());
    let seg_len = tcp.payload().len() as u32
        + u32::from(flags.contains(TcpFlags::SYN))
        + u32::from(flags.contains(TcpFlags::FIN));
    let (seq, ack, out_flags) = if flags.contains(TcpFlags::ACK) {
        (tcp.ack_number(), 0, TcpFlags::RST)
    } else {
        (0, tcp.seq_number().wrapping_add(seg_len), TcpFlags::RST | TcpFlags::ACK)
    };
    let ip_repr = Ipv4Repr {
        src_addr: dst,
        dst_addr: src,
        protocol: IpProtocol::TCP,
        payload_len: tcp::HEADER_LEN as u16,
        ttl: 64,
        tos: 0,
        ident: 0,
        dont_frag: true,
    };
    let tcp_repr = TcpRepr {
        src_port: dport,
        dst_port: sport,
        seq_number: seq,
        ack_number: ack,
        flags: out_flags,
        window_len: 0,
        mss: None,
        window_scale: None,
        sack_permitted: false,
        payload: &[],
    };
    // ihl >= 20 and the TCP header is >= 20 bytes, so the buffer holds l3 + 40 bytes.
    let out = pkt.data_mut().get_mut(l3..l3 + RST_LEN)?;
    let (iph, th) = out.split_at_mut(ipv4::HEADER_LEN);
    ip_repr.emit(&mut Ipv4Packet::new_unchecked(iph));
    let mut seg = TcpPacket::new_unchecked(th);
    tcp_repr.emit(&mut seg);
    seg.fill_checksum_v4(dst, src);
    let keep = l3 + RST_LEN;
    let extra = pkt.len().saturating_sub(keep);
    pkt.trim(extra).ok()?;
    Some(src)
}
