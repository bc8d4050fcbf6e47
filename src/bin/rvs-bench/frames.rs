//! Frame templates of the traffic source: Ethernet/IPv4/TCP or UDP frames of 60 bytes (64 on
//! the wire with the FCS) addressed to the VIP, whose client address and port are patched per
//! packet with incrementally updated checksums, so a generator fills an mbuf with a copy and
//! four stores.
//!
//! Flow `i` is client `10.64.0.0 + i / 60000`, port `1024 + i % 60000`: every index below
//! 2^32 names a distinct (address, port) pair.

use std::net::Ipv4Addr;

/// Bytes of every frame (64 on the wire with the FCS).
pub const FRAME_LEN: usize = 60;
/// Client ports per client address.
const PORTS_PER_ADDR: u32 = 60_000;
const CLIENT_BASE: u32 = u32::from_be_bytes([10, 64, 0, 0]);

const IP: usize = 14;
const L4: usize = 34;
const TCP_SYN: u8 = 0x02;
const TCP_ACK: u8 = 0x10;

/// What a template carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// TCP SYN: opens a connection.
    Syn,
    /// TCP ACK with 6 bytes of data: a packet of an established connection.
    Ack,
    /// UDP datagram with 18 bytes of payload.
    Udp,
}

/// The client address and port of flow `i`.
pub fn flow(i: u64) -> (Ipv4Addr, u16) {
    let i = i % (u64::from(PORTS_PER_ADDR) << 22);
    let addr = CLIENT_BASE + (i / u64::from(PORTS_PER_ADDR)) as u32;
    let port = 1024 + (i % u64::from(PORTS_PER_ADDR)) as u16;
    (Ipv4Addr::from(addr), port)
}

/// A frame with the client address and port left to patch.
#[derive(Clone)]
pub struct Template {
    bytes: [u8; FRAME_LEN],
    /// Ones' complement sum of the IPv4 header without the source address.
    ip_base: u32,
    /// Ones' complement sum of the pseudo-header and L4 segment without the source address
    /// and port.
    l4_base: u32,
    /// Offset of the L4 checksum.
    l4_csum: usize,
}

fn sum16(bytes: &[u8]) -> u32 {
    bytes.chunks(2).map(|c| u32::from(c[0]) << 8 | u32::from(*c.get(1).unwrap_or(&0))).sum()
}

fn fold(mut s: u32) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

impl Template {
    /// A template from `src_mac` to `dst_mac` (the director's port), to `vip:vport`.
    pub fn new(kind: Kind, dst_mac: [u8; 6], src_mac: [u8; 6], vip: Ipv4Addr, vport: u16) -> Self {
        let mut b = [0u8; FRAME_LEN];
        b[0..6].copy_from_slice(&dst_mac);
        b[6..12].copy_from_slice(&src_mac);
        b[12..14].copy_from_slice(&[0x08, 0x00]);
        let (proto, l4_len) = match kind {
            Kind::Syn | Kind::Ack => (6u8, FRAME_LEN - L4),
            Kind::Udp => (17u8, FRAME_LEN - L4),
        };
        let ip_len = (20 + l4_len) as u16;
        b[IP..IP + 12].copy_from_slice(&[
            0x45,
            0,
            (ip_len >> 8) as u8,
            ip_len as u8,
            0,
            1,
            0x40,
            0,
            64,
            proto,
            0,
            0,
        ]);
        b[IP + 16..IP + 20].copy_from_slice(&vip.octets());
        let l4 = &mut b[L4..];
        l4[2..4].copy_from_slice(&vport.to_be_bytes());
        let l4_csum = match kind {
            Kind::Syn | Kind::Ack => {
                l4[4..8].copy_from_slice(&1000u32.to_be_bytes()); // seq
                if kind == Kind::Ack {
                    l4[8..12].copy_from_slice(&2000u32.to_be_bytes());
                }
                l4[12] = 5 << 4;
                l4[13] = if kind == Kind::Syn { TCP_SYN } else { TCP_ACK };
                l4[14..16].copy_from_slice(&65535u16.to_be_bytes());
                if kind == Kind::Syn {
                    // A SYN carries no data: the 6 bytes are Ethernet padding, outside IP.
                    b[IP + 2..IP + 4].copy_from_slice(&40u16.to_be_bytes());
                }
                L4 + 16
            }
            Kind::Udp => {
                l4[4..6].copy_from_slice(&(l4_len as u16).to_be_bytes());
                L4 + 6
            }
        };
        let ip_total = usize::from(u16::from_be_bytes([b[IP + 2], b[IP + 3]]));
        let seg_len = ip_total - 20;
        let ip_base = sum16(&b[IP..IP + 20]);
        let pseudo = sum16(&vip.octets()) + u32::from(proto) + seg_len as u32;
        let l4_base = pseudo + sum16(&b[L4..L4 + seg_len]);
        Template { bytes: b, ip_base, l4_base, l4_csum }
    }

    /// Bytes of Ethernet padding after the IPv4 packet (a stack trims them before the
    /// balancer sees the packet).
    pub fn padding(&self) -> usize {
        FRAME_LEN - IP - usize::from(u16::from_be_bytes([self.bytes[IP + 2], self.bytes[IP + 3]]))
    }

    /// Writes the frame of flow `i` into `out` (at least [`FRAME_LEN`] bytes).
    #[inline]
    pub fn write(&self, out: &mut [u8], i: u64) {
        let (addr, port) = flow(i);
        self.write_from(out, addr, port);
    }

    /// Writes the frame with source `addr:port` into `out` (at least [`FRAME_LEN`] bytes).
    #[inline]
    pub fn write_from(&self, out: &mut [u8], addr: Ipv4Addr, port: u16) {
        let Some(out) = out.get_mut(..FRAME_LEN) else { return };
        out.copy_from_slice(&self.bytes);
        let a = addr.octets();
        out[IP + 12..IP + 16].copy_from_slice(&a);
        out[L4..L4 + 2].copy_from_slice(&port.to_be_bytes());
        let a_sum = sum16(&a);
        let ip = !fold(self.ip_base + a_sum);
        out[IP + 10..IP + 12].copy_from_slice(&ip.to_be_bytes());
        let l4 = !fold(self.l4_base + a_sum + u32::from(port));
        out[self.l4_csum..self.l4_csum + 2].copy_from_slice(&l4.to_be_bytes());
    }

    /// The frame of flow `i` as a vector.
    #[cfg(test)]
    pub fn frame(&self, i: u64) -> Vec<u8> {
        let mut v = vec![0; FRAME_LEN];
        self.write(&mut v, i);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Straightforward RFC 1071 checksum over `b`: zero when the stored checksum is right.
    fn verify(b: &[u8]) -> u16 {
        let mut s: u64 = 0;
        for c in b.chunks(2) {
            s += u64::from(c[0]) << 8 | u64::from(*c.get(1).unwrap_or(&0));
        }
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        !(s as u16)
    }

    #[test]
    fn checksums_verify_for_every_kind_and_many_flows() {
        for kind in [Kind::Syn, Kind::Ack, Kind::Udp] {
            let t = Template::new(kind, [2; 6], [4; 6], Ipv4Addr::new(10, 0, 0, 100), 80);
            for i in [0u64, 1, 59_999, 60_000, 1_234_567, 10_000_000, u64::from(u32::MAX)] {
                let f = t.frame(i);
                assert_eq!(verify(&f[IP..IP + 20]), 0, "{kind:?} ip {i}");
                let total = usize::from(u16::from_be_bytes([f[IP + 2], f[IP + 3]]));
                let seg = &f[L4..IP + total];
                let mut pseudo = Vec::new();
                pseudo.extend_from_slice(&f[IP + 12..IP + 20]);
                pseudo.extend_from_slice(&[0, f[IP + 9]]);
                pseudo.extend_from_slice(&(seg.len() as u16).to_be_bytes());
                pseudo.extend_from_slice(seg);
                assert_eq!(verify(&pseudo), 0, "{kind:?} l4 {i}");
                let (a, p) = flow(i);
                assert_eq!(&f[IP + 12..IP + 16], &a.octets());
                assert_eq!(&f[L4..L4 + 2], &p.to_be_bytes());
            }
        }
    }

    #[test]
    fn flows_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for i in (0..2_000_000u64).step_by(7) {
            assert!(seen.insert(flow(i)), "flow {i} repeats");
        }
    }
}
