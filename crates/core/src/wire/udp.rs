//! UDP headers (RFC 768; IPv6 rules from RFC 8200 section 8.1).
//!
//! Layout (8 bytes):
//! ```text
//!  0               2               4               6               8
//! +---------------+---------------+---------------+---------------+-------
//! |  Source Port  |   Dest Port   |    Length     |   Checksum    | data
//! +---------------+---------------+---------------+---------------+-------
//! ```
//! Length counts header and data. The checksum covers a pseudo-header, the header and the data;
//! over IPv4 a zero checksum means "none" and a computed zero is sent as `0xffff`; over IPv6 the
//! checksum is mandatory.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::checksum;
use super::{get_u16, set_u16, Error, Field, Result};

mod field {
    use super::Field;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const LENGTH: Field = 4..6;
    pub const CHECKSUM: Field = 6..8;
}

/// Length of the UDP header.
pub const HEADER_LEN: usize = field::CHECKSUM.end;
/// IP protocol number of UDP, as used in the pseudo-header.
const PROTOCOL: u8 = 17;

/// A view of a UDP datagram.
///
/// Invariant after [`Packet::new_checked`]: `8 <= len() <= buffer length`; the datagram is
/// `buffer[..len()]` and bytes past it (padding) are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checks; accessors panic if it is shorter than the Length field.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wraps `buffer` after checking: at least 8 bytes ([`Error::Truncated`]),
    /// `8 <= Length <= buffer length` ([`Error::BadTotalLength`]).
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let len = usize::from(get_u16(b, field::LENGTH.start));
        if len < HEADER_LEN || len > b.len() {
            return Err(Error::BadTotalLength);
        }
        Ok(Packet { buffer })
    }

    /// The wrapped buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::SRC_PORT.start)
    }

    /// Destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::DST_PORT.start)
    }

    /// Length field: header plus data.
    #[inline]
    pub fn len(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::LENGTH.start)
    }

    /// Whether the datagram carries no data.
    #[inline]
    pub fn is_empty(&self) -> bool {
        usize::from(self.len()) <= HEADER_LEN
    }

    /// Checksum field (zero: none, IPv4 only).
    #[inline]
    pub fn checksum(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// The datagram: `buffer[..len()]`.
    #[inline]
    fn datagram(&self) -> &[u8] {
        &self.buffer.as_ref()[..usize::from(self.len())]
    }

    /// The data after the header, up to Length.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..usize::from(self.len())]
    }

    /// Whether the checksum is correct over IPv4 between `src` and `dst`; a zero checksum (none)
    /// is accepted.
    #[inline]
    pub fn verify_checksum_v4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        if self.checksum() == 0 {
            return true;
        }
        let ph = checksum::pseudo_header_v4(src, dst, PROTOCOL, self.len());
        checksum::add(ph, checksum::sum(self.datagram())) == 0xffff
    }

    /// Whether the checksum is correct over IPv6 between `src` and `dst`; zero is refused.
    #[inline]
    pub fn verify_checksum_v6(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        if self.checksum() == 0 {
            return false;
        }
        let ph = checksum::pseudo_header_v6(src, dst, PROTOCOL, u32::from(self.len()));
        checksum::add(ph, checksum::sum(self.datagram())) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the source port.
    #[inline]
    pub fn set_src_port(&mut self, port: u16) {
        set_u16(self.buffer.as_mut(), field::SRC_PORT.start, port);
    }

    /// Sets the destination port.
    #[inline]
    pub fn set_dst_port(&mut self, port: u16) {
        set_u16(self.buffer.as_mut(), field::DST_PORT.start, port);
    }

    /// Sets the Length field.
    #[inline]
    pub fn set_len(&mut self, len: u16) {
        set_u16(self.buffer.as_mut(), field::LENGTH.start, len);
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, csum: u16) {
        set_u16(self.buffer.as_mut(), field::CHECKSUM.start, csum);
    }

    /// The data after the header, writable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let len = usize::from(self.len());
        &mut self.buffer.as_mut()[HEADER_LEN..len]
    }

    fn fill_with(&mut self, ph: u16) {
        self.set_checksum(0);
        let c = !checksum::add(ph, checksum::sum(self.datagram()));
        self.set_checksum(if c == 0 { 0xffff } else { c });
    }

    /// Computes and writes the checksum over IPv4 (a computed zero is written as `0xffff`).
    #[inline]
    pub fn fill_checksum_v4(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.fill_with(checksum::pseudo_header_v4(src, dst, PROTOCOL, self.len()));
    }

    /// Computes and writes the checksum over IPv6.
    #[inline]
    pub fn fill_checksum_v6(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        self.fill_with(checksum::pseudo_header_v6(src, dst, PROTOCOL, u32::from(self.len())));
    }

    /// Applies an RFC 1624 update to the checksum, keeping "none" (zero) as it is and never
    /// producing zero for a present checksum.
    #[inline]
    fn adjust(&mut self, f: impl FnOnce(u16) -> u16) {
        let old = self.checksum();
        if old == 0 {
            return;
        }
        let c = f(old);
        self.set_checksum(if c == 0 { 0xffff } else { c });
    }

    /// Replaces the source port, updating a present checksum incrementally.
    #[inline]
    pub fn rewrite_src_port(&mut self, port: u16) {
        let old = self.src_port();
        self.adjust(|c| checksum::update_u16(c, old, port));
        self.set_src_port(port);
    }

    /// Replaces the destination port, updating a present checksum incrementally.
    #[inline]
    pub fn rewrite_dst_port(&mut self, port: u16) {
        let old = self.dst_port();
        self.adjust(|c| checksum::update_u16(c, old, port));
        self.set_dst_port(port);
    }

    /// Updates a present checksum for a pseudo-header address changed from `old` to `new`.
    #[inline]
    pub fn update_checksum_addr_v4(&mut self, old: Ipv4Addr, new: Ipv4Addr) {
        self.adjust(|c| checksum::update_addr(c, old, new));
    }

    /// IPv6 form of [`Packet::update_checksum_addr_v4`].
    #[inline]
    pub fn update_checksum_addr_v6(&mut self, old: Ipv6Addr, new: Ipv6Addr) {
        self.adjust(|c| checksum::update_addr_v6(c, old, new));
    }
}

/// A UDP header in plain form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    pub src_port: u16,
    pub dst_port: u16,
    /// Data length in bytes; the header adds 8 (keep it at most 65527).
    pub payload_len: u16,
}

impl Repr {
    /// Reads a checked datagram. Does not verify the checksum.
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        Ok(Repr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload_len: packet.len().saturating_sub(HEADER_LEN as u16),
        })
    }

    /// 8.
    #[inline]
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Header plus data.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len as usize
    }

    /// Writes the header with a zero checksum (valid over IPv4 as "none"); copy the data, then
    /// call [`Packet::fill_checksum_v4`]/[`Packet::fill_checksum_v6`] if a checksum is wanted.
    /// Panics if the buffer is shorter than 8 bytes.
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(self.payload_len.saturating_add(HEADER_LEN as u16));
        packet.set_checksum(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The test kit's reference checksum over the IPv4 pseudo-header and datagram, checksum
    /// field taken as zero, zero sent as ffff.
    fn naive_checksum_v4(src: Ipv4Addr, dst: Ipv4Addr, dgram: &[u8]) -> u16 {
        let ph = crate::testkit::checksum::pseudo_v4(src, dst, 17, dgram.len());
        match crate::testkit::checksum::checksum_with_field_zero(&ph, dgram, 6) {
            0 => 0xffff,
            c => c,
        }
    }

    const SRC: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 1);
    const DST: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 53);

    // A DNS-style datagram from 53000 to 53 carrying "hello" (odd length), from RFC 768.
    const DGRAM: [u8; 13] = [
        0xcf, 0x08, // source port 53000
        0x00, 0x35, // destination port 53
        0x00, 0x0d, // length 13
        0x00, 0x00, // checksum (filled by the test)
        b'h', b'e', b'l', b'l', b'o',
    ];

    #[test]
    fn golden_parse_and_checksum() {
        let mut b = DGRAM.to_vec();
        Packet::new_unchecked(&mut b[..]).fill_checksum_v4(SRC, DST);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.checksum(), naive_checksum_v4(SRC, DST, &b));
        assert!(p.verify_checksum_v4(SRC, DST));
        assert!(!p.verify_checksum_v4(SRC, Ipv4Addr::new(172, 16, 0, 54)));
        assert_eq!((p.src_port(), p.dst_port(), p.len()), (53000, 53, 13));
        assert_eq!(p.payload(), b"hello");
        let r = Repr::parse(&p).unwrap();
        assert_eq!(r, Repr { src_port: 53000, dst_port: 53, payload_len: 5 });
        let mut out = vec![0xffu8; r.buffer_len()];
        r.emit(&mut Packet::new_unchecked(&mut out[..]));
        out[8..].copy_from_slice(b"hello");
        assert_eq!(out, DGRAM);
    }

    #[test]
    fn zero_checksum_means_none_over_ipv4_only() {
        let p = Packet::new_checked(&DGRAM[..]).unwrap();
        assert!(p.verify_checksum_v4(SRC, DST));
        let s6: Ipv6Addr = "2001:db8::1".parse().unwrap();
        assert!(!p.verify_checksum_v6(s6, s6));
        // "None" survives NAT rewrites.
        let mut b = DGRAM;
        let mut p = Packet::new_unchecked(&mut b[..]);
        p.rewrite_dst_port(5353);
        p.update_checksum_addr_v4(DST, SRC);
        assert_eq!(p.checksum(), 0);
        assert_eq!(p.dst_port(), 5353);
    }

    #[test]
    fn length_checks() {
        assert_eq!(Packet::new_checked(&DGRAM[..7]).unwrap_err(), Error::Truncated);
        assert_eq!(Packet::new_checked(&DGRAM[..12]).unwrap_err(), Error::BadTotalLength);
        let mut b = DGRAM;
        b[5] = 7;
        assert_eq!(Packet::new_checked(&b[..]).unwrap_err(), Error::BadTotalLength);
        // Padding past Length is not data.
        let mut padded = DGRAM.to_vec();
        padded.extend_from_slice(&[0; 5]);
        assert_eq!(Packet::new_checked(&padded[..]).unwrap().payload(), b"hello");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(p) = Packet::new_checked(&bytes[..]) {
                let _ = (p.src_port(), p.dst_port(), p.len(), p.checksum(), p.payload());
                let _ = (p.verify_checksum_v4(SRC, DST), p.is_empty());
                let _ = p.verify_checksum_v6(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST);
                let r = Repr::parse(&p).unwrap();
                prop_assert_eq!(r.buffer_len(), usize::from(p.len()));
            }
        }

        #[test]
        fn incremental_rewrites_equal_full(
            sport in any::<u16>(), dport in any::<u16>(),
            data in proptest::collection::vec(any::<u8>(), 0..64),
            port in any::<u16>(), addr in any::<u32>(), which in 0u8..3,
        ) {
            let r = Repr { src_port: sport, dst_port: dport, payload_len: data.len() as u16 };
            let mut b = vec![0u8; r.buffer_len()];
            let mut p = Packet::new_unchecked(&mut b[..]);
            r.emit(&mut p);
            p.payload_mut().copy_from_slice(&data);
            p.fill_checksum_v4(SRC, DST);
            let mut dst = DST;
            match which {
                0 => p.rewrite_src_port(port),
                1 => p.rewrite_dst_port(port),
                _ => {
                    dst = Ipv4Addr::from(addr);
                    p.update_checksum_addr_v4(DST, dst);
                }
            }
            prop_assert!(p.verify_checksum_v4(SRC, dst));
            prop_assert_eq!(p.checksum(), naive_checksum_v4(SRC, dst, &b));
        }

        #[test]
        fn ipv6_checksum_verifies(
            src in any::<u128>(), dst in any::<u128>(),
            data in proptest::collection::vec(any::<u8>(), 0..64), new_dst in any::<u128>(),
        ) {
            let (src, dst, new_dst) = (Ipv6Addr::from(src), Ipv6Addr::from(dst), Ipv6Addr::from(new_dst));
            let r = Repr { src_port: 1, dst_port: 2, payload_len: data.len() as u16 };
            let mut b = vec![0u8; r.buffer_len()];
            let mut p = Packet::new_unchecked(&mut b[..]);
            r.emit(&mut p);
            p.payload_mut().copy_from_slice(&data);
            p.fill_checksum_v6(src, dst);
            prop_assert!(p.verify_checksum_v6(src, dst));
            p.update_checksum_addr_v6(dst, new_dst);
            prop_assert!(p.verify_checksum_v6(src, new_dst));
        }
    }
}
