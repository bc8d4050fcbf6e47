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
//! both checksums computed in full.

use std::net::Ipv4Addr;

use crate::buf::PacketBuf;
use crate::ipvs::proto::tcp::flags as flags_bits;
use crate::wire::{checksum, IpProtocol, Ipv4Packet, TcpFlags, TcpPacket};

/// Length of the reset: IPv4 header plus TCP header, neither with options.
const RST_LEN: usize = 40;

/// Turns the IPv4 TCP segment at `l3` into the reset that answers it; returns the address to
/// route the reset to (the segment's source), or `None` (buffer untouched) when the bytes are
/// not an IPv4 TCP segment or the segment is itself a reset (never answered).
pub fn reset_in_place<B: PacketBuf>(pkt: &mut B, l3: usize) -> Option<Ipv4Addr> {
    let data = pkt.data().get(l3..)?;
    let ip = Ipv4Packet::new_checked(data).ok()?;
    if ip.protocol() != IpProtocol::Tcp {
        return None;
    }
    let (src, dst, ihl) = (ip.src_addr(), ip.dst_addr(), ip.header_len());
    let seg_bytes = data.get(ihl..usize::from(ip.total_len()))?;
    let tcp = TcpPacket::new_checked(seg_bytes).ok()?;
    let flags = tcp.flags();
    if flags.contains(TcpFlags::RST) {
        return None;
    }
    let (sport, dport) = (tcp.src_port(), tcp.dst_port());
    let seg_len = tcp.payload().len() as u32
        + u32::from(flags.contains(TcpFlags::SYN))
        + u32::from(flags.contains(TcpFlags::FIN));
    let (seq, ack, out_flags) = if flags.contains(TcpFlags::ACK) {
        (tcp.ack_number(), 0, flags_bits::RST)
    } else {
        (0, tcp.seq_number().wrapping_add(seg_len), flags_bits::RST | flags_bits::ACK)
    };
    // ihl >= 20 and the TCP header is >= 20 bytes, so the buffer holds l3 + 40 bytes.
    let d = pkt.data_mut();
    let out = d.get_mut(l3..l3 + RST_LEN)?;
    let (iph, th) = out.split_at_mut(20);
    iph.copy_from_slice(&[
        0x45,
        0,
        0,
        RST_LEN as u8,
        0,
        0,
        0x40,
        0,
        64,
        6,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    ]);
    iph[12..16].copy_from_slice(&dst.octets());
    iph[16..20].copy_from_slice(&src.octets());
    let c = checksum::checksum(iph);
    iph[10..12].copy_from_slice(&c.to_be_bytes());
    th.fill(0);
    th[0..2].copy_from_slice(&dport.to_be_bytes());
    th[2..4].copy_from_slice(&sport.to_be_bytes());
    th[4..8].copy_from_slice(&seq.to_be_bytes());
    th[8..12].copy_from_slice(&ack.to_be_bytes());
    th[12] = 5 << 4;
    th[13] = out_flags;
    let ph = checksum::pseudo_header_v4(dst, src, 6, 20);
    let c = !checksum::add(ph, checksum::sum(th));
    th[16..18].copy_from_slice(&c.to_be_bytes());
    let keep = l3 + RST_LEN;
    let extra = pkt.len().saturating_sub(keep);
    pkt.trim(extra).ok()?;
    Some(src)
}
