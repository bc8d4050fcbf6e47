//! Test helpers of the forwarding modes: a small frame builder and reader written byte by byte
//! from RFC 791/793/768/792, and a naive Internet checksum, all independent of `crate::wire`,
//! so the rewrites are checked against something they do not share code with.

use std::net::{Ipv4Addr, SocketAddrV4};

use super::{Direction, TunCsum, TunEncap, XmitCtx};

/// Length of the dummy Ethernet header in front of every built frame.
pub const L3: usize = 14;

/// TCP flag bits.
pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

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
        proto,
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

// ---- naive Internet checksum ----

/// One's-complement sum of 16-bit big-endian words, odd byte padded, carries folded at the end.
pub fn ones_sum(chunks: &[&[u8]]) -> u16 {
    let mut all = Vec::new();
    for c in chunks {
        all.extend_from_slice(c);
    }
    if all.len() % 2 == 1 {
        all.push(0);
    }
    let mut s: u64 = 0;
    for w in all.chunks(2) {
        s += (u64::from(w[0]) << 8) | u64::from(w[1]);
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

/// The checksum of `bytes` with the two bytes at `field` taken as zero.
pub fn naive_csum(prefix: &[u8], bytes: &[u8], field: usize) -> u16 {
    let mut b = bytes.to_vec();
    b[field] = 0;
    b[field + 1] = 0;
    !ones_sum(&[prefix, &b])
}

fn pseudo(src: [u8; 4], dst: [u8; 4], proto: u8, len: usize) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.push(0);
    p.push(proto);
    p.extend_from_slice(&(len as u16).to_be_bytes());
    p
}

/// Writes the IPv4 header checksum of the header at `ip`.
pub fn fill_ip_csum(ip: &mut [u8]) {
    let hl = usize::from(ip[0] & 0x0f) * 4;
    let c = naive_csum(&[], &ip[..hl], 10);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
}

/// Writes the transport checksum of the IPv4 packet at `ip` (TCP, UDP or ICMP).
pub fn fill_l4_csum(ip: &mut [u8]) {
    let hl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let proto = ip[9];
    let (src, dst) = (addr(&ip[12..16]), addr(&ip[16..20]));
    let seg = &mut ip[hl..total];
    match proto {
        6 => {
            let c = naive_csum(&pseudo(src, dst, 6, seg.len()), seg, 16);
            seg[16..18].copy_from_slice(&c.to_be_bytes());
        }
        17 => {
            let c = naive_csum(&pseudo(src, dst, 17, seg.len()), seg, 6);
            let c = if c == 0 { 0xffff } else { c };
            seg[6..8].copy_from_slice(&c.to_be_bytes());
        }
        1 => {
            let c = naive_csum(&[], seg, 2);
            seg[2..4].copy_from_slice(&c.to_be_bytes());
        }
        _ => {}
    }
}

fn addr(b: &[u8]) -> [u8; 4] {
    [b[0], b[1], b[2], b[3]]
}

/// Asserts the IPv4 header checksum and the transport checksum of the packet at `ip` against
/// a full naive recomputation (a zero UDP checksum is "none" and accepted).
pub fn assert_checksums(ip: &[u8]) {
    let hl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    assert_eq!(ip.len(), total, "buffer ends at Total Length");
    let got = u16::from_be_bytes([ip[10], ip[11]]);
    assert_eq!(got, naive_csum(&[], &ip[..hl], 10), "IPv4 header checksum");
    let seg = &ip[hl..total];
    let (src, dst) = (addr(&ip[12..16]), addr(&ip[16..20]));
    match ip[9] {
        6 => {
            let got = u16::from_be_bytes([seg[16], seg[17]]);
            let want = naive_csum(&pseudo(src, dst, 6, seg.len()), seg, 16);
            assert_eq!(got, want, "TCP checksum");
        }
        17 => {
            let got = u16::from_be_bytes([seg[6], seg[7]]);
            if got != 0 {
                let want = naive_csum(&pseudo(src, dst, 17, seg.len()), seg, 6);
                let want = if want == 0 { 0xffff } else { want };
                assert_eq!(got, want, "UDP checksum");
            }
        }
        1 => {
            let got = u16::from_be_bytes([seg[2], seg[3]]);
            assert_eq!(got, naive_csum(&[], seg, 2), "ICMP checksum");
        }
        _ => {}
    }
}

// ---- builders ----

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
        src: SocketAddrV4::new(Ipv4Addr::from(addr(&ip[12..16])), sport),
        dst: SocketAddrV4::new(Ipv4Addr::from(addr(&ip[16..20])), dport),
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
    let c = naive_csum(&[], &icmp, 2);
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
