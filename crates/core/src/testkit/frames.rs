//! Frames for tests, built and read byte by byte from the RFCs (no `crate::wire` code), with
//! the reference checksum of [`super::checksum`].
//!
//! - [`eth`], [`arp`], [`ipv4`], [`icmp`], [`tcp`], [`udp`]: one header each, in front of the
//!   bytes given, checksums filled;
//! - [`Spec`]: a TCP/UDP/ICMP echo packet described by its fields, and [`seen`] to read one
//!   back; [`icmp_error`]: an ICMP error frame quoting a packet.

use std::net::{Ipv4Addr, SocketAddrV4};

use super::checksum::{
    checksum, checksum_with_field_zero, fill_ip_csum, fill_l4_csum, l4_checksum_v4,
};

/// Length of the dummy Ethernet header [`Spec::frame`] and [`icmp_error`] put in front.
pub const L3: usize = 14;

/// TCP flag bits (RFC 793).
pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// An Ethernet frame. MACs are anything that converts to six bytes (`wire::MacAddr` does), so
/// the kit names no `wire` type.
pub fn eth(
    dst: impl Into<[u8; 6]>,
    src: impl Into<[u8; 6]>,
    ethertype: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&dst.into());
    v.extend_from_slice(&src.into());
    v.extend_from_slice(&ethertype.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// An Ethernet/IPv4 ARP message (MACs as for [`eth`]).
pub fn arp(
    op: u16,
    sha: impl Into<[u8; 6]>,
    spa: Ipv4Addr,
    tha: impl Into<[u8; 6]>,
    tpa: Ipv4Addr,
) -> Vec<u8> {
    let mut v = vec![0, 1, 8, 0, 6, 4];
    v.extend_from_slice(&op.to_be_bytes());
    v.extend_from_slice(&sha.into());
    v.extend_from_slice(&spa.octets());
    v.extend_from_slice(&tha.into());
    v.extend_from_slice(&tpa.octets());
    v
}

/// An option-less IPv4 header + payload with a correct checksum.
pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, ttl: u8, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut v = vec![0x45, 0];
    v.extend_from_slice(&total.to_be_bytes());
    v.extend_from_slice(&[0x12, 0x34, 0x40, 0x00, ttl, proto, 0, 0]);
    v.extend_from_slice(&src.octets());
    v.extend_from_slice(&dst.octets());
    let c = checksum(&v);
    v[10..12].copy_from_slice(&c.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// An ICMP message with a correct checksum.
pub fn icmp(ty: u8, code: u8, rest: [u8; 4], data: &[u8]) -> Vec<u8> {
    let mut v = vec![ty, code, 0, 0];
    v.extend_from_slice(&rest);
    v.extend_from_slice(data);
    let c = checksum(&v);
    v[2..4].copy_from_slice(&c.to_be_bytes());
    v
}

/// An IPv4 TCP segment (TTL 64, DF, no options, window 0xffff), checksums filled.
#[allow(clippy::too_many_arguments)]
pub fn tcp(
    src: Ipv4Addr,
    sport: u16,
    dst: Ipv4Addr,
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    payload: &[u8],
) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    t.extend_from_slice(payload);
    let c = l4_checksum_v4(src, dst, 6, &t);
    t[16..18].copy_from_slice(&c.to_be_bytes());
    ipv4(src, dst, 6, 64, &t)
}

/// An IPv4 UDP datagram (TTL 64, DF), checksums filled.
pub fn udp(src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    let c = l4_checksum_v4(src, dst, 17, &u);
    u[6..8].copy_from_slice(&(if c == 0 { 0xffff } else { c }).to_be_bytes());
    ipv4(src, dst, 17, 64, &u)
}

/// The fields of a test packet.
#[derive(Debug, Clone)]
pub struct Spec {
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
    pub proto: u8,
    pub flags: u8,
    pub payload: Vec<u8>,
    pub ttl: u8,
    pub df: bool,
    pub tos: u8,
    pub ident: u16,
    /// TCP option bytes (a multiple of 4).
    pub options: Vec<u8>,
    /// UDP: compute the checksum (otherwise zero).
    pub udp_csum: bool,
    /// ICMP echo: type (8 request, 0 reply); ident is `src` port for requests, `dst` for replies.
    pub icmp_type: u8,
}

impl Spec {
    pub fn tcp(src: SocketAddrV4, dst: SocketAddrV4, flags: u8, payload: &[u8]) -> Spec {
        Spec {
            src,
            dst,
            proto: 6,
            flags,
            payload: payload.to_vec(),
            ttl: 64,
            df: true,
            tos: 0x10,
            ident: 0x1234,
            options: Vec::new(),
            udp_csum: true,
            icmp_type: 8,
        }
    }
    pub fn udp(src: SocketAddrV4, dst: SocketAddrV4, payload: &[u8]) -> Spec {
        Spec { proto: 17, df: false, ..Spec::tcp(src, dst, 0, payload) }
    }
    pub fn echo(src: SocketAddrV4, dst: SocketAddrV4, request: bool, payload: &[u8]) -> Spec {
        Spec { proto: 1, icmp_type: if request { 8 } else { 0 }, ..Spec::tcp(src, dst, 0, payload) }
    }

    /// The IPv4 packet (no Ethernet header), checksums filled.
    pub fn ip(&self) -> Vec<u8> {
        let mut l4 = Vec::new();
        match self.proto {
            6 => {
                let doff = (20 + self.options.len()) / 4;
                l4.extend_from_slice(&self.src.port().to_be_bytes());
                l4.extend_from_slice(&self.dst.port().to_be_bytes());
                l4.extend_from_slice(&0x0101_0101u32.to_be_bytes()); // seq
                l4.extend_from_slice(&0x0202_0202u32.to_be_bytes()); // ack
                l4.push((doff as u8) << 4);
                l4.push(self.flags);
                l4.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]); // window, csum, urg
                l4.extend_from_slice(&self.options);
            }
            17 => {
                l4.extend_from_slice(&self.src.port().to_be_bytes());
                l4.extend_from_slice(&self.dst.port().to_be_bytes());
                l4.extend_from_slice(&((8 + self.payload.len()) as u16).to_be_bytes());
                l4.extend_from_slice(&[0, 0]);
            }
            1 => {
                let ident = if self.icmp_type == 8 { self.src.port() } else { self.dst.port() };
                l4.extend_from_slice(&[self.icmp_type, 0, 0, 0]);
                l4.extend_from_slice(&ident.to_be_bytes());
                l4.extend_from_slice(&7u16.to_be_bytes());
            }
            _ => {}
        }
        l4.extend_from_slice(&self.payload);
        let total = 20 + l4.len();
        let mut ip = vec![0x45, self.tos];
        ip.extend_from_slice(&(total as u16).to_be_bytes());
        ip.extend_from_slice(&self.ident.to_be_bytes());
        ip.extend_from_slice(&[if self.df { 0x40 } else { 0 }, 0, self.ttl, self.proto, 0, 0]);
        ip.extend_from_slice(&self.src.ip().octets());
        ip.extend_from_slice(&self.dst.ip().octets());
        ip.extend_from_slice(&l4);
        fill_ip_csum(&mut ip);
        if self.proto != 17 || self.udp_csum {
            fill_l4_csum(&mut ip);
        }
        ip
    }

    /// The Ethernet frame: 14 dummy bytes then [`Spec::ip`].
    pub fn frame(&self) -> Vec<u8> {
        let mut f = vec![0xe0, 1, 2, 3, 4, 5, 0xe0, 6, 7, 8, 9, 10, 0x08, 0x00];
        f.extend_from_slice(&self.ip());
        f
    }
}

/// What a test reads back from an IPv4 packet, by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
    pub proto: u8,
    pub ttl: u8,
    pub tos: u8,
    pub df: bool,
    pub ident: u16,
    pub total: usize,
    /// TCP flags.
    pub flags: u8,
    /// Transport header length (TCP data offset, 8 for UDP and ICMP).
    pub l4_hl: usize,
    pub payload: Vec<u8>,
}

/// Reads the IPv4 packet at `ip`; ports of ICMP echo are its identifier on both sides.
pub fn seen(ip: &[u8]) -> Seen {
    let hl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let seg = &ip[hl..total];
    let proto = ip[9];
    let (sport, dport, l4_hl, flags) = match proto {
        6 => (
            u16::from_be_bytes([seg[0], seg[1]]),
            u16::from_be_bytes([seg[2], seg[3]]),
            usize::from(seg[12] >> 4) * 4,
            seg[13],
        ),
        17 => (u16::from_be_bytes([seg[0], seg[1]]), u16::from_be_bytes([seg[2], seg[3]]), 8, 0),
        1 => {
            let id = u16::from_be_bytes([seg[4], seg[5]]);
            (id, id, 8, 0)
        }
        _ => (0, 0, 0, 0),
    };
    Seen {
        src: SocketAddrV4::new(Ipv4Addr::from([ip[12], ip[13], ip[14], ip[15]]), sport),
        dst: SocketAddrV4::new(Ipv4Addr::from([ip[16], ip[17], ip[18], ip[19]]), dport),
        proto,
        ttl: ip[8],
        tos: ip[1],
        df: ip[6] & 0x40 != 0,
        ident: u16::from_be_bytes([ip[4], ip[5]]),
        total,
        flags,
        l4_hl,
        payload: seg.get(l4_hl..).unwrap_or(&[]).to_vec(),
    }
}

/// An ICMP error frame from `src` to `dst` (TTL 64) of `typ`/`code` with the 4 bytes after the
/// checksum (`rest`: unused, or the next-hop MTU of fragmentation needed) quoting `quoted`.
pub fn icmp_error(
    src: [u8; 4],
    dst: [u8; 4],
    typ: u8,
    code: u8,
    rest: [u8; 4],
    quoted: &[u8],
) -> Vec<u8> {
    let mut icmp = vec![typ, code, 0, 0];
    icmp.extend_from_slice(&rest);
    icmp.extend_from_slice(quoted);
    let c = checksum_with_field_zero(&[], &icmp, 2);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let mut ip = vec![0x45, 0xc0];
    ip.extend_from_slice(&((20 + icmp.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&[0x55, 0x66, 0, 0, 64, 1, 0, 0]);
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    fill_ip_csum(&mut ip);
    ip.extend_from_slice(&icmp);
    let mut f = vec![0xe0, 1, 2, 3, 4, 5, 0xe0, 6, 7, 8, 9, 10, 0x08, 0x00];
    f.extend_from_slice(&ip);
    f
}
