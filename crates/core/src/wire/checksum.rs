//! The Internet checksum (RFC 1071): full computation, pseudo-header sums and the incremental
//! update of RFC 1624 used when NAT rewrites an address or a port.
//!
//! Owns arithmetic only; it does not know where a checksum field sits in any header (the
//! protocol views do). Values are the 16-bit words as read big-endian from the packet, so a
//! checksum computed here is written with `to_be_bytes`.
//!
//! Vocabulary: a *sum* is the folded one's-complement sum of some bytes (`0..=0xffff`); the
//! *checksum* stored in a header is its complement. Sums of disjoint pieces (pseudo-header,
//! header, payload) combine with [`add`] provided every piece but the last has even length.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Folds a 64-bit one's-complement accumulator to 16 bits (end-around carries).
#[inline]
pub fn fold(acc: u64) -> u16 {
    let acc = (acc & 0xffff_ffff) + (acc >> 32); // < 2^33
    let acc = (acc & 0xffff_ffff) + (acc >> 32); // < 2^32
    let acc = (acc & 0xffff) + (acc >> 16); // < 2^17
    let acc = (acc & 0xffff) + (acc >> 16); // <= 0xffff
    acc as u16
}

/// One's-complement sum of `bytes` taken as big-endian 16-bit words, folded to 16 bits. An odd
/// trailing byte is padded with a zero byte, as RFC 1071 specifies.
#[inline]
pub fn sum(bytes: &[u8]) -> u16 {
    // 64-bit one's-complement addition with end-around carry; 2^16 = 1 modulo 0xffff, so summing
    // wider big-endian words and folding gives the same result as summing 16-bit words.
    let mut acc: u64 = 0;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let (s, carry) = acc.overflowing_add(u64::from_be_bytes(w));
        acc = s + u64::from(carry);
    }
    // The last 0-7 bytes, zero-padded to a word, read as at most one 4-, one 2- and one
    // 1-byte piece: a copy into a zeroed buffer would be a call to memcpy whose narrow stores
    // the 8-byte load after it cannot forward from (a stall on every IPv4 header).
    let mut rem = chunks.remainder();
    let (mut w, mut shift) = (0u64, 64u32);
    if let Some((h, t)) = rem.split_first_chunk::<4>() {
        shift -= 32;
        w |= u64::from(u32::from_be_bytes(*h)) << shift;
        rem = t;
    }
    if let Some((h, t)) = rem.split_first_chunk::<2>() {
        shift -= 16;
        w |= u64::from(u16::from_be_bytes(*h)) << shift;
        rem = t;
    }
    if let Some(&b) = rem.first() {
        w |= u64::from(b) << (shift - 8);
    }
    let (s, carry) = acc.overflowing_add(w);
    acc = s + u64::from(carry);
    fold(acc)
}

/// One's-complement addition of two sums.
#[inline]
pub fn add(a: u16, b: u16) -> u16 {
    fold(u64::from(a) + u64::from(b))
}

/// The checksum to store for `bytes` (with the checksum field itself zeroed): `!sum(bytes)`.
#[inline]
pub fn checksum(bytes: &[u8]) -> u16 {
    !sum(bytes)
}

/// Sum of the IPv4 pseudo-header of TCP/UDP (RFC 793, RFC 768): source, destination, zero,
/// protocol, and the L4 length (header plus payload).
#[inline]
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, l4_len: u16) -> u16 {
    let acc = u64::from(u32::from(src))
        + u64::from(u32::from(dst))
        + u64::from(protocol)
        + u64::from(l4_len);
    fold(acc)
}

/// Sum of the IPv6 pseudo-header (RFC 8200 section 8.1): source, destination, upper-layer
/// length (32 bits), three zero bytes and the next header value.
#[inline]
pub fn pseudo_header_v6(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, l4_len: u32) -> u16 {
    let s = u128::from(src);
    let d = u128::from(dst);
    let acc = u64::from(fold((s >> 64) as u64))
        + u64::from(fold(s as u64))
        + u64::from(fold((d >> 64) as u64))
        + u64::from(fold(d as u64))
        + u64::from(l4_len)
        + u64::from(next_header);
    fold(acc)
}

/// RFC 1624 eqn. 3: the new checksum after a 16-bit word of the covered data changes from `old`
/// to `new`: `HC' = ~(~HC + ~m + m')`.
///
/// Equals a full recomputation unless every covered word becomes zero (then a full computation
/// gives `0xffff` and this gives `0x0000`), which cannot happen for IP, TCP or UDP headers.
#[inline]
pub fn update_u16(csum: u16, old: u16, new: u16) -> u16 {
    let acc = u64::from(!csum) + u64::from(!old) + u64::from(new);
    !fold(acc)
}

/// [`update_u16`] for an aligned 32-bit field (two adjacent words).
#[inline]
pub fn update_u32(csum: u16, old: u32, new: u32) -> u16 {
    let acc = u64::from(!csum)
        + u64::from(!(old >> 16) as u16)
        + u64::from(!(old as u16))
        + u64::from(new >> 16)
        + u64::from(new & 0xffff);
    !fold(acc)
}

/// [`update_u32`] for an IPv4 address, as NAT uses it for the IP header and the TCP/UDP
/// pseudo-header.
#[inline]
pub fn update_addr(csum: u16, old: Ipv4Addr, new: Ipv4Addr) -> u16 {
    update_u32(csum, u32::from(old), u32::from(new))
}

/// Several changed words of one checksummed area, folded into one RFC 1624 update: a rewrite
/// that changes the TTL and both addresses (or both addresses and ports) reads and writes the
/// checksum once instead of once per field.
///
/// The result is the same 16 bits as applying [`update_u16`] / [`update_u32`] one change at a
/// time: one's-complement addition is associative, and either way the folded sum is zero only
/// when every term is (see the property test).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delta(u64);

impl Delta {
    /// No change yet.
    pub const NONE: Delta = Delta(0);

    /// A 16-bit word changed from `old` to `new`.
    #[inline]
    pub fn u16(&mut self, old: u16, new: u16) {
        self.0 += u64::from(!old) + u64::from(new);
    }

    /// An aligned 32-bit field (two words) changed from `old` to `new`.
    #[inline]
    pub fn u32(&mut self, old: u32, new: u32) {
        self.u16((old >> 16) as u16, (new >> 16) as u16);
        self.u16(old as u16, new as u16);
    }

    /// An IPv4 address (in a header or a pseudo-header) changed from `old` to `new`.
    #[inline]
    pub fn addr(&mut self, old: Ipv4Addr, new: Ipv4Addr) {
        self.u32(u32::from(old), u32::from(new));
    }

    /// The checksum `csum` after every change recorded (`csum` itself if none was).
    #[inline]
    pub fn apply(self, csum: u16) -> u16 {
        if self.0 == 0 {
            return csum;
        }
        !fold(u64::from(!csum) + self.0)
    }
}

/// [`update_u16`] for an IPv6 address (eight words) in the TCP/UDP pseudo-header.
#[inline]
pub fn update_addr_v6(csum: u16, old: Ipv6Addr, new: Ipv6Addr) -> u16 {
    let mut acc = u64::from(!csum);
    for (o, n) in old.segments().iter().zip(new.segments().iter()) {
        acc += u64::from(!*o) + u64::from(*n);
    }
    !fold(acc)
}

/// The L4 checksum a NIC computes on transmit for a packet [`prepare_tx_offload`] prepared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxL4Csum {
    /// No L4 checksum offload (not TCP/UDP, a fragment, or UDP sent without a checksum).
    None,
    /// The TCP checksum.
    Tcp,
    /// The UDP checksum.
    Udp,
}

/// What [`prepare_tx_offload`] left for the NIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxCsumPlan {
    /// Length of the IPv4 header (for the NIC's `l3_len`).
    pub l3_len: usize,
    /// The L4 checksum to compute.
    pub l4: TxL4Csum,
}

/// Turns the checksums of the IPv4 packet at `l2_len` in `frame` into what a NIC's transmit
/// checksum offload expects: the IPv4 header checksum zero, and for an unfragmented TCP or
/// UDP packet (UDP with a checksum) the L4 checksum field holding the pseudo-header sum (not
/// complemented). `None`, with nothing changed, when there is no well-formed IPv4 header there.
pub fn prepare_tx_offload(frame: &mut [u8], l2_len: usize) -> Option<TxCsumPlan> {
    let ip = frame.get_mut(l2_len..)?;
    let (hl, total, proto, frag, src, dst) = {
        let p = crate::wire::Ipv4Packet::new_checked(&*ip).ok()?;
        (
            p.header_len(),
            usize::from(p.total_len()),
            u8::from(p.protocol()),
            p.is_fragment(),
            p.src_addr(),
            p.dst_addr(),
        )
    };
    let at = match proto {
        6 => Some((16, TxL4Csum::Tcp, 20)),
        17 => Some((6, TxL4Csum::Udp, 8)),
        _ => None,
    };
    let mut l4 = TxL4Csum::None;
    if let (Some((at, kind, min)), false) = (at, frag) {
        let seg_len = total.saturating_sub(hl);
        if let Some(field) = ip.get_mut(hl + at..hl + at + 2).filter(|_| seg_len >= min) {
            let udp_without = kind == TxL4Csum::Udp && field == [0, 0];
            if !udp_without {
                let l4_len = u16::try_from(seg_len).ok()?;
                let p = pseudo_header_v4(src, dst, proto, l4_len);
                field.copy_from_slice(&p.to_be_bytes());
                l4 = kind;
            }
        }
    }
    ip.get_mut(10..12)?.fill(0);
    Some(TxCsumPlan { l3_len: hl, l4 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The test kit's reference sum (RFC 1071, written independently of the code above).
    fn naive_sum(bytes: &[u8]) -> u16 {
        crate::testkit::checksum::ones_sum(&[bytes])
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2.
        let b = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(sum(&b), 0xddf2);
        assert_eq!(checksum(&b), !0xddf2);
    }

    #[test]
    fn known_ipv4_header_checksum() {
        // A classic example header: 45 00 00 73 00 00 40 00 40 11 [b8 61] c0 a8 00 01 c0 a8 00 c7.
        let mut h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(checksum(&h), 0xb861);
        h[10] = 0xb8;
        h[11] = 0x61;
        assert_eq!(sum(&h), 0xffff);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(sum(&[0xab]), 0xab00);
        assert_eq!(sum(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
        assert_eq!(sum(&[]), 0);
    }

    #[test]
    fn pseudo_header_v4_matches_bytes() {
        let src = Ipv4Addr::new(10, 0, 0, 1);
        let dst = Ipv4Addr::new(192, 168, 255, 254);
        let mut ph = Vec::new();
        ph.extend_from_slice(&src.octets());
        ph.extend_from_slice(&dst.octets());
        ph.extend_from_slice(&[0, 6, 0x05, 0xdc]);
        assert_eq!(pseudo_header_v4(src, dst, 6, 1500), naive_sum(&ph));
    }

    #[test]
    fn pseudo_header_v6_matches_bytes() {
        let src: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let dst: Ipv6Addr = "fe80::ffff:abcd:1234".parse().unwrap();
        let mut ph = Vec::new();
        ph.extend_from_slice(&src.octets());
        ph.extend_from_slice(&dst.octets());
        ph.extend_from_slice(&70000u32.to_be_bytes());
        ph.extend_from_slice(&[0, 0, 0, 17]);
        assert_eq!(pseudo_header_v6(src, dst, 17, 70000), naive_sum(&ph));
    }

    proptest! {
        /// A folded [`Delta`] gives the same 16 bits as the one-change-at-a-time updates, for
        /// a TCP-style field and for UDP's (zero means "none", a computed zero is sent as
        /// 0xffff), whatever the words.
        #[test]
        fn a_folded_delta_equals_the_updates_one_by_one(
            csum in any::<u16>(), words in proptest::collection::vec(any::<(u16, u16)>(), 0..8),
            addrs in proptest::collection::vec(any::<(u32, u32)>(), 0..3),
        ) {
            let mut d = Delta::NONE;
            let mut one_by_one = csum;
            let mut udp = csum;
            let udp_step = |c: u16, f: &dyn Fn(u16) -> u16| -> u16 {
                if c == 0 { return 0; }
                let n = f(c);
                if n == 0 { 0xffff } else { n }
            };
            for &(o, n) in &words {
                d.u16(o, n);
                one_by_one = update_u16(one_by_one, o, n);
                udp = udp_step(udp, &|c| update_u16(c, o, n));
            }
            for &(o, n) in &addrs {
                d.addr(Ipv4Addr::from(o), Ipv4Addr::from(n));
                one_by_one = update_addr(one_by_one, Ipv4Addr::from(o), Ipv4Addr::from(n));
                udp = udp_step(udp, &|c| update_u32(c, o, n));
            }
            prop_assert_eq!(d.apply(csum), one_by_one);
            let folded_udp = udp_step(csum, &|c| d.apply(c));
            prop_assert_eq!(folded_udp, udp);
        }

        #[test]
        fn sum_matches_naive(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            prop_assert_eq!(sum(&bytes), naive_sum(&bytes));
        }

        #[test]
        fn sums_of_even_pieces_combine(
            a in proptest::collection::vec(any::<u16>(), 0..50),
            b in proptest::collection::vec(any::<u8>(), 0..100),
        ) {
            let a: Vec<u8> = a.iter().flat_map(|w| w.to_be_bytes()).collect();
            let mut all = a.clone();
            all.extend_from_slice(&b);
            prop_assert_eq!(add(sum(&a), sum(&b)), naive_sum(&all));
        }

        #[test]
        fn inserted_checksum_verifies(mut words in proptest::collection::vec(any::<u16>(), 2..40)) {
            words[0] |= 1; // never all-zero
            words[1] = 0;
            let mut bytes: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
            let c = checksum(&bytes);
            bytes[2..4].copy_from_slice(&c.to_be_bytes());
            prop_assert_eq!(naive_sum(&bytes), 0xffff);
        }

        #[test]
        fn incremental_u16_equals_full(
            mut words in proptest::collection::vec(any::<u16>(), 3..40),
            idx in any::<proptest::sample::Index>(),
            new in any::<u16>(),
        ) {
            words[0] |= 0x4000; // a nonzero word, as every real header has
            words[1] = 0; // checksum field
            let at = 2 + idx.index(words.len() - 2);
            let bytes = |w: &[u16]| -> Vec<u8> { w.iter().flat_map(|x| x.to_be_bytes()).collect() };
            let before = !naive_sum(&bytes(&words));
            let old = words[at];
            words[at] = new;
            let after = !naive_sum(&bytes(&words));
            prop_assert_eq!(update_u16(before, old, new), after);
        }

        #[test]
        fn incremental_u32_and_addr_equal_full(
            mut words in proptest::collection::vec(any::<u16>(), 4..40),
            idx in any::<proptest::sample::Index>(),
            new in any::<u32>(),
        ) {
            words[0] |= 0x4000;
            words[1] = 0;
            let at = 2 + idx.index(words.len() - 3);
            let bytes = |w: &[u16]| -> Vec<u8> { w.iter().flat_map(|x| x.to_be_bytes()).collect() };
            let before = !naive_sum(&bytes(&words));
            let old = (u32::from(words[at]) << 16) | u32::from(words[at + 1]);
            words[at] = (new >> 16) as u16;
            words[at + 1] = new as u16;
            let after = !naive_sum(&bytes(&words));
            prop_assert_eq!(update_u32(before, old, new), after);
            prop_assert_eq!(update_addr(before, Ipv4Addr::from(old), Ipv4Addr::from(new)), after);
        }

        #[test]
        fn incremental_addr_v6_equals_full(
            old in any::<u128>(), new in any::<u128>(), extra in any::<u16>(),
        ) {
            let mk = |a: u128| {
                let mut v = vec![0x60, 0x00, 0x00, 0x00];
                v.extend_from_slice(&a.to_be_bytes());
                v.extend_from_slice(&extra.to_be_bytes());
                v
            };
            let before = !naive_sum(&mk(old));
            let after = !naive_sum(&mk(new));
            prop_assert_eq!(update_addr_v6(before, Ipv6Addr::from(old), Ipv6Addr::from(new)), after);
        }
    }

    /// A frame: 14 bytes of Ethernet, IPv4 (20 bytes, `frag` flags/offset word), and `l4` with
    /// every checksum right (computed with `naive_sum`); UDP `csum` false sends none.
    fn frame(proto: u8, frag: u16, l4: &[u8], csum: bool) -> Vec<u8> {
        let mut f = vec![0u8; 14];
        f[12] = 8;
        let total = (20 + l4.len()) as u16;
        let mut ip = vec![0x45, 0];
        ip.extend_from_slice(&total.to_be_bytes());
        ip.extend_from_slice(&[0, 7]);
        ip.extend_from_slice(&frag.to_be_bytes());
        ip.extend_from_slice(&[63, proto, 0, 0, 10, 0, 0, 5, 192, 168, 1, 10]);
        let c = !naive_sum(&ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        let mut seg = l4.to_vec();
        let at = if proto == 6 { 16 } else { 6 };
        if (proto == 6 || proto == 17) && csum {
            seg[at..at + 2].fill(0);
            let mut ph = vec![10, 0, 0, 5, 192, 168, 1, 10, 0, proto];
            ph.extend_from_slice(&(seg.len() as u16).to_be_bytes());
            ph.extend_from_slice(&seg);
            let c = !naive_sum(&ph);
            let c = if proto == 17 && c == 0 { 0xffff } else { c };
            seg[at..at + 2].copy_from_slice(&c.to_be_bytes());
        }
        f.extend_from_slice(&ip);
        f.extend_from_slice(&seg);
        f
    }

    /// What a NIC does with a prepared packet: the IPv4 header checksum over the header, the
    /// L4 checksum over the segment whose field holds the pseudo-header sum.
    fn nic(f: &mut [u8], plan: TxCsumPlan) {
        let ip = &mut f[14..];
        let c = !naive_sum(&ip[..plan.l3_len]);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        let at = match plan.l4 {
            TxL4Csum::None => return,
            TxL4Csum::Tcp => 16,
            TxL4Csum::Udp => 6,
        };
        let seg = &mut ip[plan.l3_len..];
        let c = !naive_sum(seg);
        let c = if plan.l4 == TxL4Csum::Udp && c == 0 { 0xffff } else { c };
        seg[at..at + 2].copy_from_slice(&c.to_be_bytes());
    }

    proptest! {
        #[test]
        fn a_nic_finishing_a_prepared_packet_gives_the_software_checksums(
            payload in proptest::collection::vec(any::<u8>(), 0..200), kind in 0u8..5,
        ) {
            let mut tcp = vec![0u8; 20];
            tcp[12] = 0x50;
            tcp.extend_from_slice(&payload);
            let mut udp = vec![0u8; 8];
            udp[4..6].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
            udp.extend_from_slice(&payload);
            let (want, l4) = match kind {
                0 => (frame(6, 0x4000, &tcp, true), TxL4Csum::Tcp),
                1 => (frame(17, 0, &udp, true), TxL4Csum::Udp),
                2 => (frame(17, 0, &udp, false), TxL4Csum::None),
                3 => (frame(17, 0x2000, &udp, true), TxL4Csum::None), // first fragment
                _ => (frame(1, 0, &[8, 0, 0, 0, 0, 1, 0, 1], true), TxL4Csum::None),
            };
            let mut f = want.clone();
            let plan = prepare_tx_offload(&mut f, 14).unwrap();
            prop_assert_eq!(plan, TxCsumPlan { l3_len: 20, l4 });
            prop_assert_eq!(&f[24..26], &[0u8, 0][..], "IPv4 checksum left to the NIC");
            nic(&mut f, plan);
            prop_assert_eq!(f, want);
        }
    }

    #[test]
    fn prepare_refuses_what_is_not_ipv4() {
        let mut f = vec![0u8; 30];
        assert_eq!(prepare_tx_offload(&mut f, 14), None);
        assert_eq!(f, vec![0u8; 30]);
        assert_eq!(prepare_tx_offload(&mut f, 40), None);
    }
}
