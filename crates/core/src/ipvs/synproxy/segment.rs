//! The segments the SYN proxy writes itself, each in the buffer of the packet that provoked it:
//! the cookie SYN-ACK to the client (in the client's SYN), the SYN to the real server (in the
//! client's third ACK), the ACK that completes the server's handshake (in the server's
//! SYN-ACK).
//!
//! Owns [`SynOpts`] (the handshake options read from a SYN and written into the proxy's own)
//! and [`write_in_place`]. Every segment gets a fresh 20-byte IPv4 header (TTL 64, DF, no IP
//! options echoed) and both checksums computed in full, as [`crate::ipvs::reset`] does for
//! resets. Options are laid out as Linux lays out its own (MSS; SACK-permitted folded with
//! timestamps; window scale after a no-op), so a capture reads like a kernel's handshake.

use std::net::Ipv4Addr;

use crate::buf::PacketBuf;
use crate::wire::tcp::option_kind as kind;
use crate::wire::{ipv4, tcp, IpProtocol, Ipv4Packet, Ipv4Repr, TcpFlags, TcpOption, TcpPacket};

/// MSS assumed when a SYN carries none (RFC 9293, 3.7.1).
pub const DEFAULT_MSS: u16 = 536;

/// Handshake options of a SYN or SYN-ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynOpts {
    /// Maximum segment size.
    pub mss: u16,
    /// Window scale, when offered.
    pub wscale: Option<u8>,
    /// SACK permitted.
    pub sack: bool,
    /// Timestamps (TSval, TSecr), when offered.
    pub ts: Option<(u32, u32)>,
}

impl SynOpts {
    /// The options of a segment (the first of each kind; a malformed list ends the walk).
    pub fn of<T: AsRef<[u8]>>(seg: &TcpPacket<T>) -> SynOpts {
        let mut o = SynOpts { mss: DEFAULT_MSS, wscale: None, sack: false, ts: None };
        let (mut mss, mut ws, mut ts) = (false, false, false);
        for opt in seg.options_iter().map_while(Result::ok) {
            match opt {
                TcpOption::Mss(v) if !mss => (o.mss, mss) = (v, true),
                TcpOption::WindowScale(v) if !ws => (o.wscale, ws) = (Some(v.min(14)), true),
                TcpOption::SackPermitted => o.sack = true,
                TcpOption::Timestamps { tsval, tsecr } if !ts => {
                    (o.ts, ts) = (Some((tsval, tsecr)), true)
                }
                _ => {}
            }
        }
        o
    }

    /// Writes these options into `out` (Linux's layout); returns their length (a multiple of
    /// 4, at most 20). `with_mss` false leaves MSS, window scale and SACK-permitted out (for a
    /// segment that is not a SYN).
    pub fn write(&self, out: &mut [u8; 40], with_mss: bool) -> usize {
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            out[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        };
        if with_mss {
            let [h, l] = self.mss.to_be_bytes();
            put(&[kind::MSS, 4, h, l]);
        }
        let sack = with_mss && self.sack;
        match self.ts {
            Some((v, e)) => {
                if sack {
                    put(&[kind::SACK_PERMITTED, 2]);
                } else {
                    put(&[kind::NOP, kind::NOP]);
                }
                put(&[kind::TIMESTAMPS, 10]);
                put(&v.to_be_bytes());
                put(&e.to_be_bytes());
            }
            None if sack => put(&[kind::NOP, kind::NOP, kind::SACK_PERMITTED, 2]),
            None => {}
        }
        if let (true, Some(ws)) = (with_mss, self.wscale) {
            put(&[kind::NOP, kind::WINDOW_SCALE, 3, ws]);
        }
        at
    }
}

/// One segment to write.
#[derive(Debug, Clone, Copy)]
pub struct Seg<'a> {
    /// Source address and port.
    pub src: (Ipv4Addr, u16),
    /// Destination address and port.
    pub dst: (Ipv4Addr, u16),
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// Flags.
    pub flags: TcpFlags,
    /// Window field.
    pub window: u16,
    /// Option bytes (a multiple of 4, at most 40).
    pub opts: &'a [u8],
    /// Payload.
    pub payload: &'a [u8],
}

/// Replaces the IPv4 packet at `l3` of `pkt` (the Ethernet header in front stays) with `seg`,
/// growing or trimming the buffer. `None` (the buffer's length may have changed, its bytes
/// from `l3` not) when the buffer cannot hold it.
pub fn write_in_place<B: PacketBuf>(pkt: &mut B, l3: usize, seg: &Seg<'_>) -> Option<()> {
    if seg.opts.len() % 4 != 0 || seg.opts.len() > 40 {
        return None;
    }
    let tcp_len = tcp::HEADER_LEN + seg.opts.len() + seg.payload.len();
    let want = l3 + ipv4::HEADER_LEN + tcp_len;
    let have = pkt.len();
    if have < want {
        pkt.append(want - have).ok()?;
    } else {
        pkt.trim(have - want).ok()?;
    }
    let out = pkt.data_mut().get_mut(l3..want)?;
    let (iph, th) = out.split_at_mut(ipv4::HEADER_LEN);
    let ip = Ipv4Repr {
        src_addr: seg.src.0,
        dst_addr: seg.dst.0,
        protocol: IpProtocol::TCP,
        payload_len: tcp_len as u16,
        ttl: 64,
        tos: 0,
        ident: 0,
        dont_frag: true,
    };
    ip.emit(&mut Ipv4Packet::new_unchecked(iph));
    let mut t = TcpPacket::new_unchecked(th);
    t.set_src_port(seg.src.1);
    t.set_dst_port(seg.dst.1);
    t.set_seq_number(seg.seq);
    t.set_ack_number(seg.ack);
    t.set_header_len(tcp::HEADER_LEN + seg.opts.len());
    t.set_flags(seg.flags);
    t.set_window_len(seg.window);
    t.set_checksum(0);
    t.set_urgent_ptr(0);
    t.options_mut().copy_from_slice(seg.opts);
    t.payload_mut().copy_from_slice(seg.payload);
    t.fill_checksum_v4(seg.src.0, seg.dst.0);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::VecBuf;

    #[test]
    fn options_round_trip_in_linux_layout() {
        for ws in [None, Some(0), Some(7), Some(14)] {
            for sack in [false, true] {
                for ts in [None, Some((1, 0)), Some((0xdead_beef, 7))] {
                    let o = SynOpts { mss: 1460, wscale: ws, sack, ts };
                    let mut buf = [0u8; 40];
                    let n = o.write(&mut buf, true);
                    assert_eq!(n % 4, 0);
                    let mut seg = vec![0u8; 20 + n];
                    seg[12] = (((20 + n) / 4) as u8) << 4;
                    seg[20..].copy_from_slice(&buf[..n]);
                    let p = TcpPacket::new_checked(&seg[..]).unwrap();
                    assert_eq!(SynOpts::of(&p), o);
                }
            }
        }
        let o = SynOpts { mss: 1460, wscale: Some(7), sack: true, ts: Some((5, 6)) };
        let mut buf = [0u8; 40];
        assert_eq!(o.write(&mut buf, true), 20);
        assert_eq!(&buf[..8], &[2, 4, 0x05, 0xb4, 4, 2, 8, 10]);
        assert_eq!(o.write(&mut buf, false), 12);
        assert_eq!(&buf[..4], &[1, 1, 8, 10]);
    }

    #[test]
    fn segment_written_over_a_shorter_and_a_longer_packet() {
        let src = (Ipv4Addr::new(192, 168, 0, 38), 80);
        let dst = (Ipv4Addr::new(10, 0, 0, 5), 40000);
        let opts = [2, 4, 5, 0xb4];
        let seg = Seg {
            src,
            dst,
            seq: 1,
            ack: 2,
            flags: TcpFlags::SYN | TcpFlags::ACK,
            window: 65535,
            opts: &opts,
            payload: b"xy",
        };
        for len in [14 + 40, 14 + 400] {
            let mut b = VecBuf::with_capacity(64, 1600);
            b.append(len).unwrap();
            write_in_place(&mut b, 14, &seg).unwrap();
            assert_eq!(b.len(), 14 + 20 + 26);
            let ip = Ipv4Packet::new_checked(&b.data()[14..]).unwrap();
            assert!(ip.verify_checksum());
            let t = TcpPacket::new_checked(ip.payload()).unwrap();
            assert!(t.verify_checksum_v4(src.0, dst.0));
            assert_eq!((t.seq_number(), t.ack_number(), t.mss()), (1, 2, Some(1460)));
            assert_eq!(t.payload(), b"xy");
        }
        assert!(write_in_place(&mut VecBuf::with_capacity(0, 10), 0, &seg).is_none());
    }
}
