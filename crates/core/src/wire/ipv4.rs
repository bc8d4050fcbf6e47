//! IPv4 headers (RFC 791).
//!
//! Layout:
//! ```text
//!  0               1               2               3
//!  0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
//! +-------+-------+---------------+-------------------------------+
//! |Version|  IHL  | DSCP  |  ECN  |          Total Length         |  0
//! +-------+-------+---------------+-----+-------------------------+
//! |         Identification        |0|D|M|    Fragment Offset      |  4
//! +---------------+---------------+-----+-------------------------+
//! |      TTL      |   Protocol    |        Header Checksum        |  8
//! +---------------+---------------+-------------------------------+
//! |                        Source Address                         | 12
//! +---------------------------------------------------------------+
//! |                     Destination Address                       | 16
//! +---------------------------------------------------------------+
//! |               Options (IHL > 5), up to 40 bytes               | 20
//! +---------------------------------------------------------------+
//! ```
//! IHL counts 32-bit words (5..=15); Total Length counts header and payload in bytes; the
//! fragment offset counts 8-byte units; the header checksum covers the header only.
//!
//! The buffer may extend past Total Length (Ethernet padding); [`Packet::payload`] stops at
//! Total Length.

use std::net::Ipv4Addr;

use super::checksum;
use super::ip::IpProtocol;
use super::{get_u16, get_u32, set_u16, set_u32, Error, Field, Result};

mod field {
    use super::Field;
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const LENGTH: Field = 2..4;
    pub const IDENT: Field = 4..6;
    pub const FLG_OFF: Field = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Field = 10..12;
    pub const SRC: Field = 12..16;
    pub const DST: Field = 16..20;
}

/// Length of a header without options.
pub const HEADER_LEN: usize = field::DST.end;
/// Longest header (IHL 15).
pub const MAX_HEADER_LEN: usize = 60;

const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// A view of an IPv4 packet.
///
/// Invariants after [`Packet::new_checked`]: `20 <= header_len() <= total_len() <= buffer length`
/// and the version is 4. After [`Packet::new_checked_header`] only `20 <= header_len() <= buffer
/// length` holds. Either way no accessor panics: every fixed field lies in the first 20 bytes,
/// options end at `header_len()`, and [`Packet::payload`] clamps its end into
/// `header_len()..=buffer length`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checks; accessors panic if it is shorter than the header.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wraps `buffer` after checking, in this order: at least 20 bytes ([`Error::Truncated`]),
    /// version 4 ([`Error::BadVersion`]), IHL at least 5 ([`Error::BadIhl`]), the header fits
    /// ([`Error::Truncated`]), `header_len <= total_len <= buffer length`
    /// ([`Error::BadTotalLength`]). The checksum is not checked; see [`Packet::verify_checksum`].
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_checked_header(buffer)?;
        let total = usize::from(p.total_len());
        if total < p.header_len() || total > p.buffer.as_ref().len() {
            return Err(Error::BadTotalLength);
        }
        Ok(p)
    }

    /// Like [`Packet::new_checked`] without the Total Length check: for the truncated copy of a
    /// header quoted inside an ICMP error, whose Total Length describes the original datagram.
    #[inline]
    pub fn new_checked_header(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if b[field::VER_IHL] >> 4 != 4 {
            return Err(Error::BadVersion);
        }
        let hl = usize::from(b[field::VER_IHL] & 0x0f) * 4;
        if hl < HEADER_LEN {
            return Err(Error::BadIhl);
        }
        if hl > b.len() {
            return Err(Error::Truncated);
        }
        Ok(Packet { buffer })
    }

    /// The wrapped buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole buffer, including any bytes past Total Length.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Version field.
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes (IHL * 4).
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// The type-of-service byte (DSCP and ECN together).
    #[inline]
    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[field::TOS]
    }

    /// Differentiated services code point (upper 6 bits of the TOS byte).
    #[inline]
    pub fn dscp(&self) -> u8 {
        self.tos() >> 2
    }

    /// ECN (lower 2 bits of the TOS byte).
    #[inline]
    pub fn ecn(&self) -> u8 {
        self.tos() & 0x03
    }

    /// Total Length: header plus payload, in bytes.
    #[inline]
    pub fn total_len(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::LENGTH.start)
    }

    /// Identification.
    #[inline]
    pub fn ident(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::IDENT.start)
    }

    #[inline]
    fn flags_offset(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::FLG_OFF.start)
    }

    /// Don't Fragment flag.
    #[inline]
    pub fn dont_frag(&self) -> bool {
        self.flags_offset() & FLAG_DF != 0
    }

    /// More Fragments flag.
    #[inline]
    pub fn more_frags(&self) -> bool {
        self.flags_offset() & FLAG_MF != 0
    }

    /// Fragment offset in bytes (the field times 8).
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        (self.flags_offset() & OFFSET_MASK) << 3
    }

    /// Whether this is a fragment (More Fragments set or a nonzero offset).
    #[inline]
    pub fn is_fragment(&self) -> bool {
        self.flags_offset() & (FLAG_MF | OFFSET_MASK) != 0
    }

    /// Time to live.
    #[inline]
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// Protocol of the payload.
    #[inline]
    pub fn protocol(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::PROTOCOL])
    }

    /// Header checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// Source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(get_u32(self.buffer.as_ref(), field::SRC.start))
    }

    /// Destination address.
    #[inline]
    pub fn dst_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(get_u32(self.buffer.as_ref(), field::DST.start))
    }

    /// The header bytes, options included.
    #[inline]
    pub fn header(&self) -> &[u8] {
        &self.buffer.as_ref()[..self.header_len()]
    }

    /// Option bytes (empty when IHL is 5).
    #[inline]
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.header_len()]
    }

    /// Whether the header checksum is correct.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        checksum::sum(self.header()) == 0xffff
    }

    /// The payload: from the end of the header to Total Length (clamped to the buffer, which
    /// only matters for views made by [`Packet::new_checked_header`]).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let hl = self.header_len();
        let end = usize::from(self.total_len()).max(hl).min(b.len());
        &b[hl..end]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the version (upper nibble of byte 0).
    #[inline]
    pub fn set_version(&mut self, version: u8) {
        let b = self.buffer.as_mut();
        b[field::VER_IHL] = (b[field::VER_IHL] & 0x0f) | (version << 4);
    }

    /// Sets IHL from a header length in bytes (a multiple of 4, 20..=60).
    #[inline]
    pub fn set_header_len(&mut self, len: usize) {
        let b = self.buffer.as_mut();
        b[field::VER_IHL] = (b[field::VER_IHL] & 0xf0) | ((len / 4) as u8 & 0x0f);
    }

    /// Sets the TOS byte (DSCP and ECN).
    #[inline]
    pub fn set_tos(&mut self, tos: u8) {
        self.buffer.as_mut()[field::TOS] = tos;
    }

    /// Sets Total Length.
    #[inline]
    pub fn set_total_len(&mut self, len: u16) {
        set_u16(self.buffer.as_mut(), field::LENGTH.start, len);
    }

    /// Sets Identification.
    #[inline]
    pub fn set_ident(&mut self, ident: u16) {
        set_u16(self.buffer.as_mut(), field::IDENT.start, ident);
    }

    /// Sets flags and fragment offset at once (`offset` in bytes, a multiple of 8); clears the
    /// reserved bit.
    #[inline]
    pub fn set_frag(&mut self, dont_frag: bool, more_frags: bool, offset: u16) {
        let mut v = (offset >> 3) & OFFSET_MASK;
        if dont_frag {
            v |= FLAG_DF;
        }
        if more_frags {
            v |= FLAG_MF;
        }
        set_u16(self.buffer.as_mut(), field::FLG_OFF.start, v);
    }

    /// Sets the time to live.
    #[inline]
    pub fn set_ttl(&mut self, ttl: u8) {
        self.buffer.as_mut()[field::TTL] = ttl;
    }

    /// Sets the protocol.
    #[inline]
    pub fn set_protocol(&mut self, protocol: IpProtocol) {
        self.buffer.as_mut()[field::PROTOCOL] = protocol.into();
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, csum: u16) {
        set_u16(self.buffer.as_mut(), field::CHECKSUM.start, csum);
    }

    /// Sets the source address.
    #[inline]
    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        set_u32(self.buffer.as_mut(), field::SRC.start, addr.into());
    }

    /// Sets the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        set_u32(self.buffer.as_mut(), field::DST.start, addr.into());
    }

    /// Computes and writes the header checksum.
    #[inline]
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let hl = self.header_len();
        let c = checksum::checksum(&self.buffer.as_ref()[..hl]);
        self.set_checksum(c);
    }

    /// Replaces the source address and updates the header checksum incrementally (RFC 1624).
    /// The TCP/UDP checksum, which also covers the address, is the caller's.
    #[inline]
    pub fn rewrite_src_addr(&mut self, addr: Ipv4Addr) {
        let c = checksum::update_addr(self.checksum(), self.src_addr(), addr);
        self.set_src_addr(addr);
        self.set_checksum(c);
    }

    /// Replaces the destination address and updates the header checksum incrementally.
    #[inline]
    pub fn rewrite_dst_addr(&mut self, addr: Ipv4Addr) {
        let c = checksum::update_addr(self.checksum(), self.dst_addr(), addr);
        self.set_dst_addr(addr);
        self.set_checksum(c);
    }

    /// Decrements the TTL (not below zero) and updates the checksum incrementally; returns the
    /// new TTL. Forwarders check `ttl() <= 1` first and answer with ICMP time exceeded.
    #[inline]
    pub fn decrement_ttl(&mut self) -> u8 {
        let b = self.buffer.as_ref();
        let ttl = b[field::TTL];
        let proto = b[field::PROTOCOL];
        let new = ttl.saturating_sub(1);
        let old_word = u16::from_be_bytes([ttl, proto]);
        let new_word = u16::from_be_bytes([new, proto]);
        let c = checksum::update_u16(self.checksum(), old_word, new_word);
        self.set_ttl(new);
        self.set_checksum(c);
        new
    }

    /// Option bytes, writable.
    #[inline]
    pub fn options_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        &mut self.buffer.as_mut()[HEADER_LEN..hl]
    }

    /// The payload, writable (same bounds as [`Packet::payload`]).
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        let total = usize::from(self.total_len());
        let b = self.buffer.as_mut();
        let end = total.max(hl).min(b.len());
        &mut b[hl..end]
    }
}

/// An option-less, unfragmented IPv4 header in plain form: what the director emits for its own
/// packets (ICMP replies, IP-in-IP outer headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    pub src_addr: Ipv4Addr,
    pub dst_addr: Ipv4Addr,
    pub protocol: IpProtocol,
    /// Payload length in bytes; the header adds 20 (keep it at most 65515).
    pub payload_len: u16,
    pub ttl: u8,
    /// DSCP and ECN byte.
    pub tos: u8,
    pub ident: u16,
    pub dont_frag: bool,
}

impl Repr {
    /// Reads a packet checked with [`Packet::new_checked`]. Refuses headers with options or
    /// fragments ([`Error::Unsupported`]), which this form cannot represent. Does not verify the
    /// checksum.
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        if packet.header_len() != HEADER_LEN || packet.is_fragment() {
            return Err(Error::Unsupported);
        }
        Ok(Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len: packet.total_len().saturating_sub(HEADER_LEN as u16),
            ttl: packet.ttl(),
            tos: packet.tos(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
        })
    }

    /// 20.
    #[inline]
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Header plus payload.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len as usize
    }

    /// Writes the header (checksum included); the payload bytes are the caller's. Panics if the
    /// buffer is shorter than 20 bytes.
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_version(4);
        packet.set_header_len(HEADER_LEN);
        packet.set_tos(self.tos);
        packet.set_total_len(self.payload_len.saturating_add(HEADER_LEN as u16));
        packet.set_ident(self.ident);
        packet.set_frag(self.dont_frag, false, 0);
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        packet.fill_checksum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The test kit's reference checksum, the checksum field taken as zero.
    fn naive_checksum(header: &[u8]) -> u16 {
        crate::testkit::checksum::checksum_with_field_zero(&[], header, 10)
    }

    // An ICMP echo request from 10.0.0.1 to 10.0.0.2, built from RFC 791 field by field.
    const HEADER: [u8; 20] = [
        0x45, // version 4, IHL 5
        0x00, // TOS
        0x00, 0x54, // total length 84 (20 header + 64 ICMP)
        0x1c, 0x46, // identification
        0x40, 0x00, // DF, offset 0
        0x40, // TTL 64
        0x01, // protocol ICMP
        0x0a, 0x61, // checksum (see `golden_checksum`)
        0x0a, 0x00, 0x00, 0x01, // source 10.0.0.1
        0x0a, 0x00, 0x00, 0x02, // destination 10.0.0.2
    ];

    fn packet() -> Vec<u8> {
        let mut p = HEADER.to_vec();
        p.extend((0..64u8).map(|i| i.wrapping_mul(7)));
        p
    }

    fn repr() -> Repr {
        Repr {
            src_addr: Ipv4Addr::new(10, 0, 0, 1),
            dst_addr: Ipv4Addr::new(10, 0, 0, 2),
            protocol: IpProtocol::ICMP,
            payload_len: 64,
            ttl: 64,
            tos: 0,
            ident: 0x1c46,
            dont_frag: true,
        }
    }

    #[test]
    fn golden_checksum() {
        // 4500 + 0054 + 1c46 + 4000 + 4001 + 0a00 + 0001 + 0a00 + 0002 = f59e (no carry);
        // its complement is 0a61.
        assert_eq!(naive_checksum(&HEADER), 0x0a61);
        let b = packet();
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(p.verify_checksum());
        assert_eq!(p.checksum(), 0x0a61);
    }

    #[test]
    fn parse_golden() {
        let b = packet();
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.total_len(), 84);
        assert!(p.dont_frag() && !p.more_frags() && !p.is_fragment());
        assert_eq!(p.frag_offset(), 0);
        assert_eq!(p.ttl(), 64);
        assert!(p.options().is_empty());
        assert_eq!(p.payload(), &b[20..]);
        assert_eq!(Repr::parse(&p).unwrap(), repr());
    }

    #[test]
    fn emit_golden() {
        let r = repr();
        let mut b = vec![0u8; r.buffer_len()];
        r.emit(&mut Packet::new_unchecked(&mut b[..]));
        b[20..].copy_from_slice(&packet()[20..]);
        assert_eq!(b, packet());
    }

    #[test]
    fn padding_is_not_payload() {
        let mut b = packet();
        b.extend_from_slice(&[0xee; 6]);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.payload().len(), 64);
    }

    #[test]
    fn error_variants() {
        let b = packet();
        assert_eq!(Packet::new_checked(&b[..19]).unwrap_err(), Error::Truncated);
        let mut v6 = b.clone();
        v6[0] = 0x65;
        assert_eq!(Packet::new_checked(&v6[..]).unwrap_err(), Error::BadVersion);
        let mut ihl4 = b.clone();
        ihl4[0] = 0x44;
        assert_eq!(Packet::new_checked(&ihl4[..]).unwrap_err(), Error::BadIhl);
        let mut ihl15 = b.clone();
        ihl15[0] = 0x4f;
        assert_eq!(Packet::new_checked(&ihl15[..40]).unwrap_err(), Error::Truncated);
        let mut short_total = b.clone();
        short_total[2..4].copy_from_slice(&19u16.to_be_bytes());
        assert_eq!(Packet::new_checked(&short_total[..]).unwrap_err(), Error::BadTotalLength);
        let mut long_total = b.clone();
        long_total[2..4].copy_from_slice(&85u16.to_be_bytes());
        assert_eq!(Packet::new_checked(&long_total[..]).unwrap_err(), Error::BadTotalLength);
        // The header-only check accepts what the total-length check refuses.
        let p = Packet::new_checked_header(&long_total[..28]).unwrap();
        assert_eq!(p.payload().len(), 8);
        let p = Packet::new_checked_header(&short_total[..28]).unwrap();
        assert!(p.payload().is_empty());
    }

    #[test]
    fn fragments_and_options() {
        let mut b = packet();
        Packet::new_unchecked(&mut b[..]).set_frag(false, true, 1480);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(p.more_frags() && !p.dont_frag() && p.is_fragment());
        assert_eq!(p.frag_offset(), 1480);
        assert_eq!(&b[6..8], &[0x20, 0xb9]); // MF | 185 units
        assert_eq!(Repr::parse(&Packet::new_checked(&b[..]).unwrap()), Err(Error::Unsupported));

        // Last fragment: offset only.
        Packet::new_unchecked(&mut b[..]).set_frag(false, false, 8);
        assert!(Packet::new_checked(&b[..]).unwrap().is_fragment());

        // A header with one 4-byte option (NOP NOP NOP EOL).
        let mut o = HEADER.to_vec();
        o[0] = 0x46;
        o.extend_from_slice(&[1, 1, 1, 0]);
        o.extend_from_slice(&[0; 60]);
        let mut p = Packet::new_unchecked(&mut o[..]);
        p.fill_checksum();
        let p = Packet::new_checked(&o[..]).unwrap();
        assert_eq!(p.options(), &[1, 1, 1, 0]);
        assert_eq!(p.payload().len(), 60);
        assert!(p.verify_checksum());
        assert_eq!(Repr::parse(&p), Err(Error::Unsupported));
    }

    fn arb_header() -> impl Strategy<Value = Vec<u8>> {
        (any::<[u8; 20]>(), 0usize..=10, proptest::collection::vec(any::<u8>(), 0..64)).prop_map(
            |(mut h, opt_words, payload)| {
                h[0] = 0x40 | (5 + opt_words as u8);
                let mut b = h.to_vec();
                b.extend(std::iter::repeat(1).take(opt_words * 4));
                b.extend_from_slice(&payload);
                let total = b.len() as u16;
                let mut p = Packet::new_unchecked(&mut b[..]);
                p.set_total_len(total);
                p.fill_checksum();
                b
            },
        )
    }

    proptest! {
        #[test]
        fn fill_checksum_matches_naive(b in arb_header()) {
            let p = Packet::new_checked(&b[..]).unwrap();
            prop_assert_eq!(p.checksum(), naive_checksum(p.header()));
            prop_assert!(p.verify_checksum());
        }

        #[test]
        fn nat_rewrites_equal_full_recompute(
            mut b in arb_header(), src in any::<u32>(), dst in any::<u32>(), which in 0u8..3,
        ) {
            let mut p = Packet::new_unchecked(&mut b[..]);
            match which {
                0 => p.rewrite_src_addr(Ipv4Addr::from(src)),
                1 => p.rewrite_dst_addr(Ipv4Addr::from(dst)),
                _ => { p.decrement_ttl(); }
            }
            let incremental = p.checksum();
            p.fill_checksum();
            prop_assert_eq!(incremental, p.checksum());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            for p in [Packet::new_checked(&bytes[..]), Packet::new_checked_header(&bytes[..])]
                .into_iter()
                .flatten()
            {
                let _ = (p.version(), p.header_len(), p.tos(), p.dscp(), p.ecn(), p.total_len());
                let _ = (p.ident(), p.dont_frag(), p.more_frags(), p.frag_offset());
                let _ = (p.is_fragment(), p.ttl(), p.protocol(), p.checksum());
                let _ = (p.src_addr(), p.dst_addr(), p.header(), p.options(), p.payload());
                let _ = p.verify_checksum();
                if let Ok(r) = Repr::parse(&p) {
                    prop_assert_eq!(r.buffer_len(), usize::from(p.total_len()));
                }
            }
        }

        #[test]
        fn repr_round_trip(
            src in any::<u32>(), dst in any::<u32>(), proto in any::<u8>(), len in 0u16..200,
            ttl in any::<u8>(), tos in any::<u8>(), ident in any::<u16>(), df in any::<bool>(),
        ) {
            let r = Repr {
                src_addr: src.into(), dst_addr: dst.into(), protocol: proto.into(),
                payload_len: len, ttl, tos, ident, dont_frag: df,
            };
            let mut b = vec![0u8; r.buffer_len()];
            r.emit(&mut Packet::new_unchecked(&mut b[..]));
            let p = Packet::new_checked(&b[..]).unwrap();
            prop_assert!(p.verify_checksum());
            prop_assert_eq!(p.checksum(), naive_checksum(&b[..20]));
            prop_assert_eq!(Repr::parse(&p).unwrap(), r);
        }
    }
}
