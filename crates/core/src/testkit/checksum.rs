//! The one reference Internet checksum of the tests (RFC 1071), written the slow, obvious way:
//! 16-bit big-endian words added in a `u64`, an odd last byte padded with zero, carries folded
//! at the end, then complemented. Independent of `crate::wire::checksum`, which it checks.

use std::net::{Ipv4Addr, Ipv6Addr};

/// One's-complement sum of the 16-bit big-endian words of `chunks` taken as one byte string
/// (an odd total length is padded with a zero byte), carries folded; not complemented.
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

/// The Internet checksum of `bytes` (complement of [`ones_sum`]). Over bytes that hold a
/// correct checksum field it is 0.
pub fn checksum(bytes: &[u8]) -> u16 {
    !ones_sum(&[bytes])
}

/// The checksum of `prefix` then `bytes`, with the two bytes of `bytes` at `field` taken as
/// zero: the value a checksum field at `field` must hold.
pub fn checksum_with_field_zero(prefix: &[u8], bytes: &[u8], field: usize) -> u16 {
    let mut b = bytes.to_vec();
    b[field] = 0;
    b[field + 1] = 0;
    !ones_sum(&[prefix, &b])
}

/// The IPv4 pseudo-header of TCP and UDP (RFC 793, 768).
pub fn pseudo_v4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, len: usize) -> Vec<u8> {
    let mut p = Vec::with_capacity(12);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.push(0);
    p.push(proto);
    p.extend_from_slice(&(len as u16).to_be_bytes());
    p
}

/// The IPv6 pseudo-header of TCP and UDP (RFC 8200 section 8.1).
pub fn pseudo_v6(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, len: usize) -> Vec<u8> {
    let mut p = Vec::with_capacity(40);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(&(len as u32).to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, next_header]);
    p
}

/// The checksum over the IPv4 pseudo-header and `seg` as it is (0 when `seg` holds a correct
/// TCP or UDP checksum; the value to store when its checksum field is zero).
pub fn l4_checksum_v4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, seg: &[u8]) -> u16 {
    !ones_sum(&[&pseudo_v4(src, dst, proto, seg.len()), seg])
}

/// [`l4_checksum_v4`] for IPv6.
pub fn l4_checksum_v6(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, seg: &[u8]) -> u16 {
    !ones_sum(&[&pseudo_v6(src, dst, next_header, seg.len()), seg])
}

fn addrs(ip: &[u8]) -> (Ipv4Addr, Ipv4Addr) {
    (Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]), Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]))
}

/// Writes the IPv4 header checksum of the header at `ip`.
pub fn fill_ip_csum(ip: &mut [u8]) {
    let hl = usize::from(ip[0] & 0x0f) * 4;
    let c = checksum_with_field_zero(&[], &ip[..hl], 10);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
}

/// Writes the transport checksum of the IPv4 packet at `ip` (TCP, UDP or ICMP; a UDP result
/// of 0 is sent as 0xffff).
pub fn fill_l4_csum(ip: &mut [u8]) {
    let hl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let proto = ip[9];
    let (src, dst) = addrs(ip);
    let seg = &mut ip[hl..total];
    match proto {
        6 => {
            let c = checksum_with_field_zero(&pseudo_v4(src, dst, 6, seg.len()), seg, 16);
            seg[16..18].copy_from_slice(&c.to_be_bytes());
        }
        17 => {
            let c = checksum_with_field_zero(&pseudo_v4(src, dst, 17, seg.len()), seg, 6);
            let c = if c == 0 { 0xffff } else { c };
            seg[6..8].copy_from_slice(&c.to_be_bytes());
        }
        1 => {
            let c = checksum_with_field_zero(&[], seg, 2);
            seg[2..4].copy_from_slice(&c.to_be_bytes());
        }
        _ => {}
    }
}

/// Which checksum of a packet is stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stale {
    /// The IPv4 header checksum.
    Ipv4,
    /// The TCP checksum.
    Tcp,
    /// The UDP checksum (a zero UDP checksum is "none" and accepted).
    Udp,
    /// The ICMP checksum.
    Icmp,
}

/// Verifies every checksum of the IPv4 packet at `ip` (Ethernet padding after Total Length is
/// ignored) by full recomputation: the header checksum; for a whole (unfragmented) packet the
/// TCP, UDP or ICMP checksum; for an IP-in-IP packet, the inner packet's too (a GUE packet's
/// inner packet is the caller's to verify: UDP does not say what it carries). Returns
/// the first stale one. Panics on a packet too short for its own headers (a test bug).
pub fn verify_ipv4(ip: &[u8]) -> Result<(), Stale> {
    let hl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    if checksum(&ip[..hl]) != 0 {
        return Err(Stale::Ipv4);
    }
    let fragment = u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0;
    if fragment {
        return Ok(());
    }
    let (src, dst) = addrs(ip);
    let seg = &ip[hl..total];
    match ip[9] {
        6 if l4_checksum_v4(src, dst, 6, seg) != 0 => Err(Stale::Tcp),
        17 if seg[6..8] != [0, 0] && l4_checksum_v4(src, dst, 17, seg) != 0 => Err(Stale::Udp),
        1 if checksum(seg) != 0 => Err(Stale::Icmp),
        4 => verify_ipv4(seg),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example_and_odd_lengths() {
        // RFC 1071 section 3's example words sum to ddf2.
        let b = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(ones_sum(&[&b]), 0xddf2);
        assert_eq!(checksum(&b), !0xddf2);
        assert_eq!(ones_sum(&[&[0xab]]), 0xab00);
        assert_eq!(ones_sum(&[&[0xab], &[0xcd]]), 0xabcd, "chunks are one byte string");
    }
}
