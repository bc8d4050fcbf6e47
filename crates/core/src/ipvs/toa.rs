//! TOA ("TCP option address"): the client's address carried to the real server inside a TCP
//! option, because FULLNAT replaces the source address with a local address.
//!
//! Owns the option's insertion into a client-to-real-server IPv4 segment ([`insert_toa`]) and
//! its parsing ([`parse_toa`]). It does not decide which packets get it (the FULLNAT transmitter
//! calls it for the first data-bearing packet of a connection, and may for retransmissions),
//! nor rewrite addresses or ports (it works before or after that rewrite alike).
//!
//! The option is kind 254, length 8, data the client's port (2 bytes) then its IPv4 address
//! (4 bytes), both in network order:
//! ```text
//! +--------+--------+--------+--------+--------+--------+--------+--------+
//! |  254   |   8    |   client port   |         client IPv4 address       |
//! +--------+--------+--------+--------+--------+--------+--------+--------+
//! ```
//! A real server with a TOA module reads it from the first option of kind 254 and length 8 it
//! finds before an end-of-list or malformed option. A client must not be able to choose what the
//! server reads, so every TOA option already in the segment is overwritten: the first one of
//! length 8 with the real client address, any other turned into no-ops.
//!
//! Checksums are updated, not recomputed: the payload moves by 8 bytes, an even count, so its
//! contribution to the TCP checksum does not change; only the header words and the
//! pseudo-header's length enter the update. A checksum that was right before is right after.
//! With TX checksum offload the caller fills the offload fields after this call, as for any
//! length change.

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::buf::PacketBuf;
use crate::wire::checksum;
use crate::wire::tcp::{self, option_kind};
use crate::wire::{IpProtocol, Ipv4Packet, TcpPacket};

/// Length of the TOA option: kind, length, port and IPv4 address.
pub const TOA_LEN: usize = 8;

/// What [`insert_toa`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ToaOutcome {
    /// The option was added after the existing options; the packet grew by [`TOA_LEN`] bytes
    /// (IPv4 total length, TCP data offset and both checksums updated; Ethernet padding after
    /// the IPv4 packet dropped).
    Inserted,
    /// The segment already carried a TOA option of length 8 (sent by the client, or by this
    /// director on an earlier pass): it now holds the real client address. Length unchanged.
    Replaced,
    /// No room: the TCP header would pass 60 bytes, the packet the MTU, or the buffer its
    /// tailroom. Nothing inserted; TOA options the client sent (of a length other than 8) were
    /// turned into no-ops, otherwise the packet is unchanged.
    NoRoom,
    /// The TCP option list is malformed: nothing inserted; TOA options before the fault were
    /// turned into no-ops (a real server stops reading at the fault). The caller may drop it.
    Malformed,
    /// Not an unfragmented IPv4 TCP segment with payload (a SYN or a pure ACK, another
    /// protocol, a fragment, a header that does not parse): the packet is unchanged.
    NotApplicable,
}

/// The TOA option bytes for `client`.
#[inline]
pub fn toa_option(client: SocketAddrV4) -> [u8; TOA_LEN] {
    let [ph, pl] = client.port().to_be_bytes();
    let [a, b, c, d] = client.ip().octets();
    [option_kind::TOA, TOA_LEN as u8, ph, pl, a, b, c, d]
}

/// Puts `client` in a TOA option of the IPv4 TCP segment whose IPv4 header starts at
/// `ip_offset` in `buf`, replacing any TOA option present (see the module doc). `mtu` is the
/// largest IPv4 packet (header included) the egress link takes. No allocation; never panics,
/// whatever the bytes.
pub fn insert_toa<B: PacketBuf + ?Sized>(
    buf: &mut B,
    ip_offset: usize,
    client: SocketAddrV4,
    mtu: usize,
) -> ToaOutcome {
    let Some(seg) = Segment::find(buf.data(), ip_offset) else {
        return ToaOutcome::NotApplicable;
    };
    let option = toa_option(client);
    let tcp_at = ip_offset + seg.ip_header_len;
    let seg_end = ip_offset + seg.ip_total_len;
    let Some(segment) = buf.data_mut().get_mut(tcp_at..seg_end) else {
        return ToaOutcome::NotApplicable;
    };
    let Some(header) = segment.get_mut(..seg.tcp_header_len) else {
        return ToaOutcome::NotApplicable;
    };
    let sum_before = checksum::sum(header);
    let walk =
        overwrite_toa_options(header.get_mut(tcp::HEADER_LEN..).unwrap_or_default(), &option);
    let sum_now = checksum::sum(header);
    let seg_len = seg.ip_total_len - seg.ip_header_len;

    if walk.replaced || walk.malformed {
        if walk.changed {
            update_tcp_checksum(segment, sum_before, sum_now, seg_len, seg_len);
        }
        return if walk.replaced { ToaOutcome::Replaced } else { ToaOutcome::Malformed };
    }

    let room_in_header = seg.tcp_header_len + TOA_LEN <= tcp::MAX_HEADER_LEN;
    let new_total = seg.ip_total_len + TOA_LEN;
    let room_in_mtu = new_total <= mtu && new_total <= usize::from(u16::MAX);
    let room_in_buf = buf.len() + buf.tailroom() >= seg_end + TOA_LEN;
    if !(room_in_header && room_in_mtu && room_in_buf) {
        if walk.changed {
            if let Some(segment) = buf.data_mut().get_mut(tcp_at..seg_end) {
                update_tcp_checksum(segment, sum_before, sum_now, seg_len, seg_len);
            }
        }
        return ToaOutcome::NoRoom;
    }

    // Drop Ethernet padding past the IPv4 packet, then grow by the option.
    if buf.set_len(seg_end + TOA_LEN).is_err() {
        return ToaOutcome::NoRoom;
    }
    let Some(segment) = buf.data_mut().get_mut(tcp_at..) else {
        return ToaOutcome::NoRoom;
    };
    let Ok(new_seg_len) =
        tcp::insert_option(segment, seg_len, option_kind::TOA, option.get(2..).unwrap_or_default())
    else {
        // Unreachable after the checks above; leave the packet as long as it was.
        let _ = buf.set_len(seg_end);
        return ToaOutcome::NoRoom;
    };
    let new_header_len = seg.tcp_header_len + TOA_LEN;
    let sum_after = segment.get(..new_header_len).map_or(0, checksum::sum);
    update_tcp_checksum(segment, sum_before, sum_after, seg_len, new_seg_len);

    if let Some(ip) = buf.data_mut().get_mut(ip_offset..) {
        let mut ip = Ipv4Packet::new_unchecked(ip);
        let old = ip.total_len();
        let new = old.saturating_add(TOA_LEN as u16);
        let c = checksum::update_u16(ip.checksum(), old, new);
        ip.set_total_len(new);
        ip.set_checksum(c);
    }
    ToaOutcome::Inserted
}

/// The client address in the first TOA option of `segment` (a TCP header and payload), if
/// there is one of length 8 before any malformed option.
pub fn parse_toa(segment: &[u8]) -> Option<SocketAddrV4> {
    let tcp = TcpPacket::new_checked(segment).ok()?;
    match *tcp.find_option(option_kind::TOA)? {
        [ph, pl, a, b, c, d] => {
            Some(SocketAddrV4::new(Ipv4Addr::new(a, b, c, d), u16::from_be_bytes([ph, pl])))
        }
        _ => None,
    }
}

/// Where the TCP segment of an IPv4 packet lies, once checked.
struct Segment {
    ip_header_len: usize,
    /// IPv4 total length (the buffer may hold padding after it).
    ip_total_len: usize,
    tcp_header_len: usize,
}

impl Segment {
    /// The segment of the unfragmented IPv4 TCP packet at `ip_offset`, if it carries payload.
    fn find(data: &[u8], ip_offset: usize) -> Option<Segment> {
        let ip = Ipv4Packet::new_checked(data.get(ip_offset..)?).ok()?;
        if ip.protocol() != IpProtocol::TCP || ip.is_fragment() {
            return None;
        }
        let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
        if tcp.payload().is_empty() {
            return None;
        }
        Some(Segment {
            ip_header_len: ip.header_len(),
            ip_total_len: usize::from(ip.total_len()),
            tcp_header_len: tcp.header_len(),
        })
    }
}

/// What [`overwrite_toa_options`] found and did.
#[derive(Debug, Default)]
struct Walk {
    /// A TOA option of length 8 now holds our address.
    replaced: bool,
    /// Some byte changed.
    changed: bool,
    /// The list has an option whose length is below 2 or runs past the header.
    malformed: bool,
}

/// Walks the option bytes `opts` up to the end-of-list option or a malformed option; writes
/// `option` over the first TOA of length 8 and fills every other TOA with no-ops.
fn overwrite_toa_options(opts: &mut [u8], option: &[u8; TOA_LEN]) -> Walk {
    let mut walk = Walk::default();
    let mut pos = 0;
    while let Some(&kind) = opts.get(pos) {
        match kind {
            option_kind::END => break,
            option_kind::NOP => {
                pos += 1;
                continue;
            }
            _ => {}
        }
        let len = opts.get(pos + 1).map_or(0, |&l| usize::from(l));
        let Some(bytes) = opts.get_mut(pos..pos + len).filter(|_| len >= 2) else {
            walk.malformed = true;
            break;
        };
        if kind == option_kind::TOA {
            if !walk.replaced && len == TOA_LEN {
                walk.changed |= bytes != option;
                bytes.copy_from_slice(option);
                walk.replaced = true;
            } else {
                bytes.fill(option_kind::NOP);
                walk.changed = true;
            }
        }
        pos += len;
    }
    walk
}

/// Updates the checksum of `segment` (RFC 1624) after its header words summed `before` and now
/// sum `after` (both taken with the same checksum field value) and its length went from
/// `old_len` to `new_len`. The payload's words must not have changed alignment.
fn update_tcp_checksum(
    segment: &mut [u8],
    before: u16,
    after: u16,
    old_len: usize,
    new_len: usize,
) {
    let Ok(mut tcp) = TcpPacket::new_checked(segment) else { return };
    let (old_len, new_len) = (old_len as u16, new_len as u16);
    let acc = u64::from(!tcp.checksum())
        + u64::from(!before)
        + u64::from(after)
        + u64::from(!old_len)
        + u64::from(new_len);
    tcp.set_checksum(!checksum::fold(acc));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::VecBuf;
    use proptest::prelude::*;

    const CLIENT: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(203, 0, 113, 7), 0xc350);
    const SRC: [u8; 4] = [10, 1, 0, 5];
    const DST: [u8; 4] = [192, 168, 1, 20];
    const PSH_ACK: u8 = 0x18;
    const SYN: u8 = 0x02;

    /// The reference Internet checksum of the test kit.
    fn naive_checksum(bytes: &[u8]) -> u16 {
        crate::testkit::checksum::checksum(bytes)
    }

    /// The TCP checksum of `segment` between `src` and `dst`, with its checksum field taken as
    /// zero (the test kit's reference checksum).
    fn naive_tcp_checksum(src: [u8; 4], dst: [u8; 4], segment: &[u8]) -> u16 {
        let ph = crate::testkit::checksum::pseudo_v4(src.into(), dst.into(), 6, segment.len());
        crate::testkit::checksum::checksum_with_field_zero(&ph, segment, 16)
    }

    /// An IPv4 header with the given options length (multiple of 4) and a TCP segment with
    /// `tcp_options` (padded to a multiple of 4 with end-of-list bytes), `flags` and `payload`,
    /// after `l2` bytes of link header; both checksums right.
    fn packet(l2: usize, ip_opts: usize, tcp_options: &[u8], flags: u8, payload: &[u8]) -> Vec<u8> {
        let mut opts = tcp_options.to_vec();
        while opts.len() % 4 != 0 {
            opts.push(0);
        }
        let tcp_len = 20 + opts.len() + payload.len();
        let ihl = 20 + ip_opts;
        let total = ihl + tcp_len;
        let mut p = vec![0xee; l2];
        p.extend_from_slice(&[(0x40 | (ihl / 4)) as u8, 0]);
        p.extend_from_slice(&(total as u16).to_be_bytes());
        p.extend_from_slice(&[0x12, 0x34, 0x40, 0x00, 64, 6, 0, 0]);
        p.extend_from_slice(&SRC);
        p.extend_from_slice(&DST);
        p.extend(std::iter::repeat(1).take(ip_opts)); // IP no-op options
        let ipc = naive_checksum(&p[l2..l2 + ihl]);
        p[l2 + 10..l2 + 12].copy_from_slice(&ipc.to_be_bytes());
        let t = p.len();
        p.extend_from_slice(&[0x9c, 0x40, 0x00, 0x50]); // ports 40000 -> 80
        p.extend_from_slice(&0x0102_0304u32.to_be_bytes());
        p.extend_from_slice(&0x0a0b_0c0du32.to_be_bytes());
        p.push((((20 + opts.len()) / 4) as u8) << 4);
        p.push(flags);
        p.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
        p.extend_from_slice(&opts);
        p.extend_from_slice(payload);
        let tc = naive_tcp_checksum(SRC, DST, &p[t..]);
        p[t + 16..t + 18].copy_from_slice(&tc.to_be_bytes());
        p
    }

    /// Checks both checksums and the total length of the IPv4 packet at `l2` with the naive
    /// routines; returns the TCP segment.
    fn verify(bytes: &[u8], l2: usize) -> &[u8] {
        let ip = &bytes[l2..];
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        assert_eq!(total, ip.len(), "IPv4 total length");
        let mut h = ip[..ihl].to_vec();
        let stored = u16::from_be_bytes([h[10], h[11]]);
        h[10] = 0;
        h[11] = 0;
        assert_eq!(stored, naive_checksum(&h), "IPv4 header checksum");
        let seg = &ip[ihl..total];
        let stored = u16::from_be_bytes([seg[16], seg[17]]);
        assert_eq!(stored, naive_tcp_checksum(SRC, DST, seg), "TCP checksum");
        seg
    }

    #[test]
    fn option_bytes() {
        assert_eq!(toa_option(CLIENT), [254, 8, 0xc3, 0x50, 203, 0, 113, 7]);
    }

    #[test]
    fn inserted_into_a_bare_header() {
        let before = packet(14, 0, &[], PSH_ACK, b"GET / HTTP/1.0\r\n\r\n");
        let mut buf = VecBuf::from_slice(&before);
        assert_eq!(insert_toa(&mut buf, 14, CLIENT, 1500), ToaOutcome::Inserted);
        let want = packet(14, 0, &toa_option(CLIENT), PSH_ACK, b"GET / HTTP/1.0\r\n\r\n");
        assert_eq!(buf.data(), &want[..]);
        let seg = verify(buf.data(), 14);
        assert_eq!(seg[12] >> 4, 7);
        assert_eq!(&seg[20..28], &[254, 8, 0xc3, 0x50, 203, 0, 113, 7]);
        assert_eq!(&seg[28..], b"GET / HTTP/1.0\r\n\r\n");
        assert_eq!(parse_toa(seg), Some(CLIENT));
        assert_eq!(&buf.data()[..14], &before[..14], "link header untouched");
    }

    #[test]
    fn inserted_after_existing_options_and_ip_options() {
        // NOP NOP timestamps, odd-length payload, IPv4 options, no link header.
        let ts = [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2];
        let mut buf = VecBuf::from_slice(&packet(0, 8, &ts, PSH_ACK, b"abc"));
        assert_eq!(insert_toa(&mut buf, 0, CLIENT, 1500), ToaOutcome::Inserted);
        let mut opts = ts.to_vec();
        opts.extend_from_slice(&toa_option(CLIENT));
        assert_eq!(buf.data(), &packet(0, 8, &opts, PSH_ACK, b"abc")[..]);
        verify(buf.data(), 0);
    }

    #[test]
    fn end_of_list_becomes_no_ops_before_the_option() {
        // MSS, then end-of-list and three padding bytes that a client could hide a TOA behind.
        let opts = [2, 4, 0x05, 0xb4, 0, 254, 8, 0];
        let mut buf = VecBuf::from_slice(&packet(0, 0, &opts, PSH_ACK, b"x"));
        assert_eq!(insert_toa(&mut buf, 0, CLIENT, 1500), ToaOutcome::Inserted);
        let seg = verify(buf.data(), 0);
        assert_eq!(
            &seg[20..36],
            &[2, 4, 0x05, 0xb4, 1, 1, 1, 1, 254, 8, 0xc3, 0x50, 203, 0, 113, 7]
        );
        assert_eq!(parse_toa(seg), Some(CLIENT));
    }

    #[test]
    fn ethernet_padding_is_dropped() {
        // 14 + 20 + 20 + 1 = 55 bytes, padded to the 60-byte Ethernet minimum.
        let mut p = packet(14, 0, &[], PSH_ACK, b"y");
        p.extend_from_slice(&[0xaa; 5]);
        let mut buf = VecBuf::from_slice(&p);
        assert_eq!(insert_toa(&mut buf, 14, CLIENT, 1500), ToaOutcome::Inserted);
        assert_eq!(buf.data(), &packet(14, 0, &toa_option(CLIENT), PSH_ACK, b"y")[..]);
        // Padding longer than the option: the packet shrinks to its real length plus 8.
        let mut p = packet(14, 0, &[], PSH_ACK, b"y");
        p.extend_from_slice(&[0xaa; 20]);
        let mut buf = VecBuf::from_slice(&p);
        assert_eq!(insert_toa(&mut buf, 14, CLIENT, 1500), ToaOutcome::Inserted);
        assert_eq!(buf.data(), &packet(14, 0, &toa_option(CLIENT), PSH_ACK, b"y")[..]);
    }

    #[test]
    fn no_room_leaves_the_packet_unchanged() {
        // Header at 56 bytes: 64 would pass the maximum.
        let full = packet(0, 0, &[1; 36], PSH_ACK, b"data");
        let mut buf = VecBuf::from_slice(&full);
        assert_eq!(insert_toa(&mut buf, 0, CLIENT, 1500), ToaOutcome::NoRoom);
        assert_eq!(buf.data(), &full[..]);
        // At 52 bytes it just fits (60).
        let mut buf = VecBuf::from_slice(&packet(0, 0, &[1; 32], PSH_ACK, b"data"));
        assert_eq!(insert_toa(&mut buf, 0, CLIENT, 1500), ToaOutcome::Inserted);
        assert_eq!(verify(buf.data(), 0)[12] >> 4, 15);

        // The MTU: 20 + 20 + 1460 = 1500 cannot grow; 1452 bytes of payload can.
        let big = packet(0, 0, &[], PSH_ACK, &[7; 1460]);
        let mut buf = VecBuf::from_slice(&big);
        assert_eq!(insert_toa(&mut buf, 0, CLIENT, 1500), ToaOutcome::NoRoom);
        assert_eq!(buf.data(), &big[..]);
        let mut buf = VecBuf::from_slice(&packet(0, 0, &[], PSH_ACK, &[7; 1452]));
        assert_eq!(insert_toa(&mut buf, 0, CLIENT, 1500), ToaOutcome::Inserted);
        assert_eq!(verify(buf.data(), 0).len(), 1480);

        // No tailroom in the buffer.
        let p = packet(0, 0, &[], PSH_ACK, b"data");
        let mut buf = VecBuf::with_capacity(0, p.len() + 7);
        buf.append(p.len()).unwrap().copy_from_slice(&p);
        assert_eq!(insert_toa(&mut buf, 0, CLIENT, 1500), ToaOutcome::NoRoom);
        assert_eq!(buf.data(), &p[..]);
        let mut buf = VecBuf::with_capacity(0, p.len() + 8);
        buf.append(p.len()).unwrap().copy_from_slice(&p);
        assert_eq!(insert_toa(&mut buf, 0, CLIENT, 1500), ToaOutcome::Inserted);
        verify(buf.data(), 0);
    }

    #[test]
    fn a_spoofed_toa_is_replaced() {
        let spoof = [1, 1, 1, 1, 254, 8, 0, 1, 1, 2, 3, 4];
        let mut buf = VecBuf::from_slice(&packet(0, 0, &spoof, PSH_ACK, b"hi"));
        assert_eq!(insert_toa(&mut buf, 0, CLIENT, 1500), ToaOutcome::Replaced);
        let mut want = spoof.to_vec();
        want[4..].copy_from_slice(&toa_option(CLIENT));
        assert_eq!(buf.data(), &packet(0, 0, &want, PSH_ACK, b"hi")[..]);
        assert_eq!(parse_toa(verify(buf.data(), 0)), Some(CLIENT));
        // Done again, the packet is the same (a retransmission through the director).
        let once = buf.data().to_vec();
        assert_eq!(insert_toa(&mut buf, 0, CLIENT, 1500), ToaOutcome::Replaced);
        assert_eq!(buf.data(), &once[..]);
    }

    #[test]
    fn replaced_even_when_the_header_is_full() {
        let mut opts = vec![254, 8, 9, 9, 9, 9, 9, 9];
        opts.extend_from_slice(&[1; 32]);
        let mut buf = VecBuf::from_slice(&packet(0, 0, &opts, PSH_ACK, b"z"));
        assert_eq!(insert_toa(&mut buf, 0, CLIENT, 20 + 60 + 1), ToaOutcome::Replaced);
        assert_eq!(parse_toa(verify(buf.data(), 0)), Some(CLIENT));
    }

    #[test]
    fn other_toa_options_become_no_ops() {
        // A short TOA (length 6), then two of length 8: the first 8 is replaced, the rest go.
        let opts = [254, 6, 1, 2, 3, 4, 254, 8, 5, 5, 5, 5, 5, 5, 254, 8, 6, 6, 6, 6, 6, 6, 1, 1];
        let mut buf = VecBuf::from_slice(&packet(0, 0, &opts, PSH_ACK, b"q"));
        assert_eq!(insert_toa(&mut buf, 0, CLIENT, 1500), ToaOutcome::Replaced);
        let seg = verify(buf.data(), 0);
        let mut want = vec![1; 6];
        want.extend_from_slice(&toa_option(CLIENT));
        want.extend_from_slice(&[1; 10]);
        assert_eq!(&seg[20..44], &want[..]);
        // Only wrong-length TOAs: they go and ours is inserted.
        let opts = [254, 4, 1, 2];
        let mut buf = VecBuf::from_slice(&packet(0, 0, &opts, PSH_ACK, b"q"));
        assert_eq!(insert_toa(&mut buf, 0, CLIENT, 1500), ToaOutcome::Inserted);
        let seg = verify(buf.data(), 0);
        assert_eq!(&seg[20..32], &[1, 1, 1, 1, 254, 8, 0xc3, 0x50, 203, 0, 113, 7]);
        // ... and with no room, they still go.
        let mut opts = vec![254, 4, 1, 2];
        opts.extend_from_slice(&[1; 36]);
        let mut buf = VecBuf::from_slice(&packet(0, 0, &opts, PSH_ACK, b"q"));
        assert_eq!(insert_toa(&mut buf, 0, CLIENT, 1500), ToaOutcome::NoRoom);
        let seg = verify(buf.data(), 0);
        assert_eq!(&seg[20..24], &[1, 1, 1, 1]);
        assert_eq!(parse_toa(seg), None);
    }

    #[test]
    fn malformed_list_is_reported_and_toa_before_it_removed() {
        let opts = [254, 8, 1, 2, 3, 4, 5, 6, 30, 1, 0, 0];
        let mut buf = VecBuf::from_slice(&packet(0, 0, &opts, PSH_ACK, b"m"));
        assert_eq!(insert_toa(&mut buf, 0, CLIENT, 1500), ToaOutcome::Replaced);
        // Replaced wins: ours is now the one the server reads.
        assert_eq!(parse_toa(verify(buf.data(), 0)), Some(CLIENT));
        let opts = [254, 6, 1, 2, 3, 4, 30, 1];
        let before = packet(0, 0, &opts, PSH_ACK, b"m");
        let mut buf = VecBuf::from_slice(&before);
        assert_eq!(insert_toa(&mut buf, 0, CLIENT, 1500), ToaOutcome::Malformed);
        let seg = verify(buf.data(), 0);
        assert_eq!(&seg[20..28], &[1, 1, 1, 1, 1, 1, 30, 1]);
        assert_eq!(buf.len(), before.len());
    }

    #[test]
    fn not_applicable_leaves_the_packet_unchanged() {
        let mut cases = vec![
            packet(0, 0, &[2, 4, 5, 0xb4], SYN, b""),             // SYN
            packet(0, 0, &[], 0x10, b""),                         // pure ACK
            packet(0, 0, &[254, 8, 1, 1, 1, 1, 1, 1], 0x10, b""), // spoof without data
        ];
        let mut udp = packet(0, 0, &[], PSH_ACK, b"data");
        udp[9] = 17;
        cases.push(udp);
        let mut frag = packet(0, 0, &[], PSH_ACK, b"data");
        frag[6] = 0x20; // more fragments
        cases.push(frag);
        let mut bad_doff = packet(0, 0, &[], PSH_ACK, b"data");
        bad_doff[32] = 0x40;
        cases.push(bad_doff);
        let mut v6 = packet(0, 0, &[], PSH_ACK, b"data");
        v6[0] = 0x65;
        cases.push(v6);
        cases.push(packet(0, 0, &[], PSH_ACK, b"data")[..30].to_vec());
        cases.push(Vec::new());
        for (i, p) in cases.iter().enumerate() {
            let mut buf = VecBuf::from_slice(p);
            assert_eq!(
                insert_toa(&mut buf, 0, CLIENT, 1500),
                ToaOutcome::NotApplicable,
                "case {i}"
            );
            assert_eq!(buf.data(), &p[..], "case {i}");
        }
        let p = packet(0, 0, &[], PSH_ACK, b"data");
        let mut buf = VecBuf::from_slice(&p);
        assert_eq!(insert_toa(&mut buf, p.len() + 10, CLIENT, 1500), ToaOutcome::NotApplicable);
    }

    #[test]
    fn parse_toa_cases() {
        let p = packet(0, 0, &[1, 1, 254, 8, 0, 80, 1, 2, 3, 4], PSH_ACK, b"");
        assert_eq!(parse_toa(&p[20..]), Some(SocketAddrV4::new(Ipv4Addr::new(1, 2, 3, 4), 80)));
        let p = packet(0, 0, &[254, 6, 0, 80, 1, 2], PSH_ACK, b"");
        assert_eq!(parse_toa(&p[20..]), None);
        assert_eq!(parse_toa(&[0; 10]), None);
    }

    fn arb_options() -> impl Strategy<Value = Vec<u8>> {
        // Mixes of well-formed options (TOA among them) and raw bytes.
        let opt = prop_oneof![
            Just(vec![1u8]),
            Just(vec![0u8]),
            any::<[u8; 6]>().prop_map(|d| [&[254u8, 8][..], &d[..]].concat()),
            (2u8..8).prop_map(|l| {
                let mut v = vec![254, l];
                v.resize(usize::from(l), 9);
                v
            }),
            Just(vec![2, 4, 5, 0xb4]),
            any::<[u8; 3]>().prop_map(|b| b.to_vec()),
        ];
        proptest::collection::vec(opt, 0..8).prop_map(|v| {
            let mut o: Vec<u8> = v.concat();
            o.truncate(40);
            o
        })
    }

    proptest! {
        #[test]
        fn well_formed_packets_stay_consistent(
            l2 in 0usize..20, ip_opts in 0usize..4, opts in arb_options(), flags in any::<u8>(),
            payload in proptest::collection::vec(any::<u8>(), 0..300),
            mtu in 0usize..400, tail in 0usize..20, port in any::<u16>(), addr in any::<u32>(),
        ) {
            let p = packet(l2, ip_opts * 4, &opts, flags, &payload);
            let mut buf = VecBuf::with_capacity(3, 3 + p.len() + tail);
            buf.append(p.len()).unwrap().copy_from_slice(&p);
            let client = SocketAddrV4::new(Ipv4Addr::from(addr), port);
            let out = insert_toa(&mut buf, l2, client, mtu);
            let seg = verify(buf.data(), l2);
            prop_assert_eq!(&buf.data()[..l2], &p[..l2]);
            match out {
                ToaOutcome::Inserted => {
                    prop_assert_eq!(buf.len(), p.len() + 8);
                    prop_assert!(buf.len() - l2 <= mtu);
                    prop_assert_eq!(parse_toa(seg), Some(client));
                    prop_assert_eq!(&seg[seg.len() - payload.len()..], &payload[..]);
                }
                ToaOutcome::Replaced => {
                    prop_assert_eq!(buf.len(), p.len());
                    prop_assert_eq!(parse_toa(seg), Some(client));
                }
                ToaOutcome::NotApplicable => {
                    prop_assert!(payload.is_empty());
                    prop_assert_eq!(buf.data(), &p[..]);
                }
                ToaOutcome::NoRoom | ToaOutcome::Malformed => {
                    prop_assert_eq!(buf.len(), p.len());
                    // Whatever the client sent, the server reads no TOA.
                    prop_assert_eq!(parse_toa(seg), None);
                }
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..120),
            tcp_bytes in proptest::collection::vec(any::<u8>(), 0..100),
            ip_offset in 0usize..30, mtu in any::<u16>(), tail in 0usize..16,
        ) {
            // Random bytes, and random TCP bytes behind a valid IPv4 header.
            let mut valid = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 6, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
            let total = (20 + tcp_bytes.len()) as u16;
            valid[2..4].copy_from_slice(&total.to_be_bytes());
            valid.extend_from_slice(&tcp_bytes);
            for b in [bytes, valid] {
                let mut buf = VecBuf::with_capacity(0, b.len() + tail);
                buf.append(b.len()).unwrap().copy_from_slice(&b);
                let _ = insert_toa(&mut buf, ip_offset % (b.len() + 2), CLIENT, usize::from(mtu));
                let _ = parse_toa(buf.data());
            }
        }
    }
}
