//! Headers checked once, carried with the packet ("parse once", design invariant 7).
//!
//! Owns [`Ipv4Meta`] (what a checked IPv4 header says, with where it sits in the frame),
//! [`FlowMeta`] (the checked transport header: the flow [`Tuple`], TCP flags, which header it
//! is) and [`PacketMeta`], the two together. The receiving stack makes them from the one
//! `new_checked` of each header in a packet's life and hands them up with the packet; the load
//! balancer and the forwarding modes read them instead of viewing and validating the headers
//! again, and a packet redirected to another core carries them across the ring in their
//! compact form ([`PacketMeta::to_bytes`]), so the owner core does not parse it either. It is plain `Copy` data (offsets and values, no borrowed
//! view), so it costs no allocation and survives the packet's buffer moving between owners.
//! It stays true as long as nobody rewrites the header: a stage that changes the header makes a
//! new one (or none).

use std::net::Ipv4Addr;

use super::icmpv4::{Message, Packet as Icmpv4Packet};
use super::ip::IpProtocol;
use super::ipv4::Packet;
use super::tcp::{Flags as TcpFlags, Packet as TcpPacket};
use super::tuple::Tuple;
use super::udp::{self, Packet as UdpPacket};
use super::Result;

/// A checked IPv4 header and its place in the frame. Build it with [`Ipv4Meta::parse`] or
/// from a view that passed `new_checked` ([`Ipv4Meta::from_packet`]); then `l3 + header_len
/// <= l3 + total_len <=` the frame's length holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Meta {
    /// Offset of the IPv4 header in the frame.
    pub l3: usize,
    /// Header length in bytes (IHL * 4, options included).
    pub header_len: usize,
    /// Total Length: header and payload (the frame may hold Ethernet padding after it).
    pub total_len: usize,
    /// The protocol of the payload.
    pub protocol: IpProtocol,
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// Identification.
    pub ident: u16,
    /// Time to live.
    pub ttl: u8,
    /// Don't Fragment.
    pub dont_frag: bool,
    /// More Fragments.
    pub more_frags: bool,
    /// Fragment offset in bytes.
    pub frag_offset: u16,
}

impl Ipv4Meta {
    /// Checks the IPv4 header at `l3` of `frame` (`Ipv4Packet::new_checked`: truncated,
    /// version, IHL, total length) and records it. The checksum is not verified.
    #[inline]
    pub fn parse(frame: &[u8], l3: usize) -> Result<Ipv4Meta> {
        let bytes = frame.get(l3..).ok_or(super::Error::Truncated)?;
        Ok(Ipv4Meta::from_packet(l3, &Packet::new_checked(bytes)?))
    }

    /// Records a header already checked with `Ipv4Packet::new_checked`, found at `l3`.
    /// Always inlined: built in the caller's frame field by field, not written by a call and
    /// copied out by wider loads that cannot forward from its narrow stores.
    #[inline(always)]
    pub fn from_packet<T: AsRef<[u8]>>(l3: usize, p: &Packet<T>) -> Ipv4Meta {
        Ipv4Meta {
            l3,
            header_len: p.header_len(),
            total_len: usize::from(p.total_len()),
            protocol: p.protocol(),
            src_addr: p.src_addr(),
            dst_addr: p.dst_addr(),
            ident: p.ident(),
            ttl: p.ttl(),
            dont_frag: p.dont_frag(),
            more_frags: p.more_frags(),
            frag_offset: p.frag_offset(),
        }
    }

    /// Offset of the payload (the transport header) in the frame.
    #[inline]
    pub const fn l4(&self) -> usize {
        self.l3 + self.header_len
    }

    /// Offset just past Total Length in the frame.
    #[inline]
    pub const fn end(&self) -> usize {
        self.l3 + self.total_len
    }

    /// Any fragment: More Fragments set or a nonzero offset.
    #[inline]
    pub const fn is_fragment(&self) -> bool {
        self.more_frags || self.frag_offset != 0
    }

    /// The payload bytes of `frame` (the one this was parsed from): transport header on.
    #[inline]
    pub fn payload<'a>(&self, frame: &'a [u8]) -> Option<&'a [u8]> {
        frame.get(self.l4()..self.end())
    }
}

/// Which transport header a packet carries, as checked once by [`FlowMeta::parse`] (or by a
/// forwarding mode's own check), handed to the forwarding mode so it does not check it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L4 {
    /// A whole TCP header (options included) inside Total Length.
    Tcp,
    /// A UDP header, its Length inside the IP payload (for a first fragment: the 8 header
    /// bytes are there).
    Udp,
    /// ICMP echo request (`true`) or reply (`false`); the identifier stands for the ports.
    Echo {
        /// Echo request (`true`) or reply.
        request: bool,
    },
}

/// A checked transport header: the flow tuple the load balancer keys connections by, and what
/// else of the header it needs per packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowMeta {
    /// Protocol, addresses (from the IPv4 header) and ports (for an echo: the identifier).
    pub tuple: Tuple<Ipv4Addr>,
    /// Which header it is.
    pub l4: L4,
    /// TCP flags (none for UDP and echo).
    pub flags: TcpFlags,
    /// The TCP segment carries payload.
    pub tcp_data: bool,
}

impl FlowMeta {
    /// Checks the transport header of the packet whose IPv4 header is `ip` (checked from
    /// `frame`): a TCP header (`TcpPacket::new_checked`), a UDP header (`new_checked`; for a
    /// first fragment, the 8 header bytes), or an unfragmented ICMP echo request or reply with
    /// code 0. `None` for anything else: other protocols and ICMP messages, a later fragment
    /// (no transport header), a malformed header.
    /// Always inlined, for the reason [`Ipv4Meta::from_packet`] is.
    #[inline(always)]
    pub fn parse(frame: &[u8], ip: &Ipv4Meta) -> Option<FlowMeta> {
        if ip.frag_offset != 0 {
            return None;
        }
        let l4 = ip.payload(frame)?;
        let (sport, dport, kind, flags, tcp_data) = match ip.protocol {
            IpProtocol::TCP => {
                let t = TcpPacket::new_checked(l4).ok()?;
                (t.src_port(), t.dst_port(), L4::Tcp, t.flags(), l4.len() > t.header_len())
            }
            IpProtocol::UDP if ip.is_fragment() => {
                // A first fragment's UDP length covers the whole datagram; the header must be
                // there. The view is over exactly the 8 header bytes, so its port accessors
                // cannot panic.
                let u = UdpPacket::new_unchecked(l4.get(..udp::HEADER_LEN)?);
                (u.src_port(), u.dst_port(), L4::Udp, TcpFlags::default(), false)
            }
            IpProtocol::UDP => {
                let u = UdpPacket::new_checked(l4).ok()?;
                (u.src_port(), u.dst_port(), L4::Udp, TcpFlags::default(), false)
            }
            IpProtocol::ICMP if !ip.is_fragment() => {
                let m = Icmpv4Packet::new_checked(l4).ok()?;
                let request = match (m.msg_type(), m.msg_code()) {
                    (Message::EchoRequest, 0) => true,
                    (Message::EchoReply, 0) => false,
                    _ => return None,
                };
                let id = m.echo_ident();
                (id, id, L4::Echo { request }, TcpFlags::default(), false)
            }
            _ => return None,
        };
        let tuple = Tuple::new(ip.protocol, ip.src_addr, sport, ip.dst_addr, dport);
        Some(FlowMeta { tuple, l4: kind, flags, tcp_data })
    }
}

/// What the receiving stack checked of a packet: its IPv4 header and, when it has one the
/// load balancer keys flows by, its transport header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketMeta {
    /// The IPv4 header.
    pub ip: Ipv4Meta,
    /// The transport header ([`FlowMeta::parse`]).
    pub flow: Option<FlowMeta>,
}

/// Bytes of [`PacketMeta::to_bytes`].
pub const PACKET_META_LEN: usize = 28;

impl PacketMeta {
    /// Checks the transport header of the packet whose IPv4 header `ip` was checked from
    /// `frame` ([`FlowMeta::parse`]).
    #[inline]
    pub fn parse(frame: &[u8], ip: Ipv4Meta) -> PacketMeta {
        PacketMeta { ip, flow: FlowMeta::parse(frame, &ip) }
    }

    /// The compact form that travels with a packet handed to another core (in the buffer's
    /// private area): what was checked, not the bytes to check again.
    pub fn to_bytes(&self) -> [u8; PACKET_META_LEN] {
        let ip = &self.ip;
        let mut b = [0u8; PACKET_META_LEN];
        let l3 = u16::try_from(ip.l3).unwrap_or(u16::MAX);
        let hl = u16::try_from(ip.header_len).unwrap_or(u16::MAX);
        let total = u16::try_from(ip.total_len).unwrap_or(u16::MAX);
        b[0..2].copy_from_slice(&l3.to_be_bytes());
        b[2..4].copy_from_slice(&hl.to_be_bytes());
        b[4..6].copy_from_slice(&total.to_be_bytes());
        b[6] = ip.protocol.number();
        b[7] = ip.ttl;
        b[8..12].copy_from_slice(&ip.src_addr.octets());
        b[12..16].copy_from_slice(&ip.dst_addr.octets());
        b[16..18].copy_from_slice(&ip.ident.to_be_bytes());
        b[18..20].copy_from_slice(&ip.frag_offset.to_be_bytes());
        b[20] = u8::from(ip.dont_frag) | u8::from(ip.more_frags) << 1;
        if let Some(f) = &self.flow {
            let (kind, request) = match f.l4 {
                L4::Tcp => (1, false),
                L4::Udp => (2, false),
                L4::Echo { request } => (3, request),
            };
            b[21] = kind;
            b[22] = u8::from(request) | u8::from(f.tcp_data) << 1;
            b[23] = f.flags.bits();
            b[24..26].copy_from_slice(&f.tuple.sport.to_be_bytes());
            b[26..28].copy_from_slice(&f.tuple.dport.to_be_bytes());
        }
        b
    }

    /// The metadata [`PacketMeta::to_bytes`] wrote; `None` when `b` is not such a form (too
    /// short, an unknown transport kind, or offsets that do not fit together).
    pub fn from_bytes(b: &[u8]) -> Option<PacketMeta> {
        let b: &[u8; PACKET_META_LEN] = b.get(..PACKET_META_LEN)?.try_into().ok()?;
        let u16_at = |at: usize| u16::from_be_bytes([b[at], b[at + 1]]);
        let addr_at = |at: usize| Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3]);
        let ip = Ipv4Meta {
            l3: usize::from(u16_at(0)),
            header_len: usize::from(u16_at(2)),
            total_len: usize::from(u16_at(4)),
            protocol: IpProtocol(b[6]),
            ttl: b[7],
            src_addr: addr_at(8),
            dst_addr: addr_at(12),
            ident: u16_at(16),
            frag_offset: u16_at(18),
            dont_frag: b[20] & 1 != 0,
            more_frags: b[20] & 2 != 0,
        };
        if ip.header_len < super::ipv4::HEADER_LEN || ip.total_len < ip.header_len {
            return None;
        }
        let l4 = match b[21] {
            0 => None,
            1 => Some(L4::Tcp),
            2 => Some(L4::Udp),
            3 => Some(L4::Echo { request: b[22] & 1 != 0 }),
            _ => return None,
        };
        let flow = l4.map(|l4| FlowMeta {
            tuple: Tuple::new(ip.protocol, ip.src_addr, u16_at(24), ip.dst_addr, u16_at(26)),
            l4,
            flags: TcpFlags(b[23]),
            tcp_data: b[22] & 2 != 0,
        });
        Some(PacketMeta { ip, flow })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::frames;

    #[test]
    fn records_what_the_view_checked() {
        let ip = frames::ipv4([10, 0, 0, 1].into(), [10, 0, 0, 2].into(), 17, 9, &[7; 12]);
        let mut frame = vec![0u8; 14];
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&[0; 6]); // Ethernet padding
        let m = Ipv4Meta::parse(&frame, 14).unwrap();
        assert_eq!((m.l3, m.header_len, m.total_len, m.l4(), m.end()), (14, 20, 32, 34, 46));
        assert_eq!(
            (m.protocol, m.ttl, m.ident, m.dont_frag),
            (IpProtocol::from(17), 9, 0x1234, true)
        );
        assert_eq!((m.src_addr, m.dst_addr), ([10, 0, 0, 1].into(), [10, 0, 0, 2].into()));
        assert!(!m.is_fragment());
        assert_eq!(m.payload(&frame), Some(&[7u8; 12][..]));
        assert_eq!(Ipv4Meta::parse(&frame, 60), Err(crate::wire::Error::Truncated));
        assert!(Ipv4Meta::parse(&frame[..30], 14).is_err());
    }
}

#[cfg(test)]
mod round_trip {
    use super::*;
    use crate::testkit::frames;
    use proptest::prelude::*;

    /// A frame (14 bytes of Ethernet header room, then IPv4) carrying `t`, built by the test
    /// kit's independent builders: TCP, UDP, or an ICMP echo request whose identifier is
    /// both ports.
    fn frame_of(t: &Tuple<Ipv4Addr>, flags: u8, payload: &[u8]) -> Vec<u8> {
        let ip = match t.proto {
            IpProtocol::TCP => {
                frames::tcp(t.saddr, t.sport, t.daddr, t.dport, flags, 1, 2, payload)
            }
            IpProtocol::UDP => frames::udp(t.saddr, t.sport, t.daddr, t.dport, payload),
            _ => {
                let rest = [(t.sport >> 8) as u8, t.sport as u8, 0, 1];
                frames::ipv4(t.saddr, t.daddr, 1, 64, &frames::icmp(8, 0, rest, payload))
            }
        };
        let mut f = vec![0u8; 14];
        f.extend_from_slice(&ip);
        f
    }

    fn arb_tuple() -> impl Strategy<Value = Tuple<Ipv4Addr>> {
        let proto =
            prop_oneof![Just(IpProtocol::TCP), Just(IpProtocol::UDP), Just(IpProtocol::ICMP)];
        (proto, any::<[u8; 4]>(), any::<u16>(), any::<[u8; 4]>(), any::<u16>()).prop_map(
            |(proto, s, sport, d, dport)| {
                // An echo's "ports" are both its identifier.
                let dport = if proto == IpProtocol::ICMP { sport } else { dport };
                Tuple::new(proto, s.into(), sport, d.into(), dport)
            },
        )
    }

    proptest! {
        /// A tuple emitted into a packet is the tuple the stack's parse reads back, and the
        /// compact form of what was parsed decodes to the same metadata.
        #[test]
        fn tuple_round_trips_through_emit_and_parse(
            t in arb_tuple(), flags in any::<u8>(),
            payload in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let f = frame_of(&t, flags, &payload);
            let meta = PacketMeta::parse(&f, Ipv4Meta::parse(&f, 14).unwrap());
            let flow = meta.flow.expect("a TCP, UDP or echo flow");
            prop_assert_eq!(flow.tuple, t);
            prop_assert_eq!(flow.tcp_data, t.proto == IpProtocol::TCP && !payload.is_empty());
            if t.proto == IpProtocol::TCP {
                prop_assert_eq!(flow.flags, TcpFlags(flags));
            }
            prop_assert_eq!(PacketMeta::from_bytes(&meta.to_bytes()), Some(meta));
        }

        /// Whatever the bytes, what the stack's parse accepted survives the compact form.
        #[test]
        fn compact_form_round_trips_on_any_bytes(
            bytes in proptest::collection::vec(any::<u8>(), 34..90),
        ) {
            let mut f = bytes;
            f[14] = 0x45;
            if let Ok(ip) = Ipv4Meta::parse(&f, 14) {
                let meta = PacketMeta::parse(&f, ip);
                prop_assert_eq!(PacketMeta::from_bytes(&meta.to_bytes()), Some(meta));
            }
        }
    }
}
