//! Fixed hash functions for the hashing schedulers, identical on every run and machine.
//!
//! - [`fold_addr`] + [`fib_hash`]: the multiplicative (Fibonacci) hash `sh` and `dh` use to pick
//!   one of 256 buckets: the address folded to 32 bits, multiplied by 2^32 / golden ratio, top
//!   bits kept (the top bits of the product depend on every input bit; the low ones do not).
//! - [`siphash13`]: SipHash-1-3 (Aumasson and Bernstein) with fixed keys, for the Maglev
//!   permutations and lookups and the locality caches, where 32-bit folding of IPv6 addresses
//!   would collide too easily. Never seeded from the OS: all cores and restarts agree.

use core::net::IpAddr;

/// 2^32 / golden ratio, odd: Knuth's multiplicative hashing constant.
const GOLDEN_32: u32 = 0x9e37_79b1;

/// Folds an address to 32 bits: IPv4 as its big-endian value, IPv6 as the XOR of its four words.
pub(crate) fn fold_addr(addr: &IpAddr) -> u32 {
    match addr {
        IpAddr::V4(a) => u32::from(*a),
        IpAddr::V6(a) => {
            let x = u128::from(*a);
            (x as u32) ^ ((x >> 32) as u32) ^ ((x >> 64) as u32) ^ ((x >> 96) as u32)
        }
    }
}

/// The top `bits` (1..=32) bits of `x * GOLDEN_32`.
pub(crate) fn fib_hash(x: u32, bits: u32) -> u32 {
    let bits = bits.clamp(1, 32);
    ((u64::from(x.wrapping_mul(GOLDEN_32))) >> (32 - bits)) as u32
}

/// Address and port as bytes for [`siphash13`]: a family tag, the address, the port.
/// Fixed size so hashing never allocates.
pub(crate) fn addr_port_bytes(addr: &IpAddr, port: u16) -> ([u8; 19], usize) {
    let mut b = [0u8; 19];
    let len = match addr {
        IpAddr::V4(a) => {
            b[0] = 4;
            b[1..5].copy_from_slice(&a.octets());
            b[5..7].copy_from_slice(&port.to_be_bytes());
            7
        }
        IpAddr::V6(a) => {
            b[0] = 6;
            b[1..17].copy_from_slice(&a.octets());
            b[17..19].copy_from_slice(&port.to_be_bytes());
            19
        }
    };
    (b, len)
}

/// SipHash-1-3 of `addr:port` under `key`.
pub(crate) fn hash_addr_port(key: (u64, u64), addr: &IpAddr, port: u16) -> u64 {
    let (b, len) = addr_port_bytes(addr, port);
    siphash13(key, b.get(..len).unwrap_or(&b))
}

/// SipHash-1-3 of `data` under the 128-bit key `(k0, k1)`.
pub(crate) fn siphash13(key: (u64, u64), data: &[u8]) -> u64 {
    siphash::<1, 3>(key, data)
}

/// SipHash-c-d: `C` compression rounds per word, `D` finalization rounds.
fn siphash<const C: usize, const D: usize>((k0, k1): (u64, u64), data: &[u8]) -> u64 {
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let m = u64::from_le_bytes(w);
        v[3] ^= m;
        for _ in 0..C {
            sip_round(&mut v);
        }
        v[0] ^= m;
    }
    // Last word: the remaining bytes, little-endian, with the length's low byte on top.
    let mut last = [0u8; 8];
    let rest = chunks.remainder();
    last[..rest.len()].copy_from_slice(rest);
    last[7] = data.len() as u8;
    let m = u64::from_le_bytes(last);
    v[3] ^= m;
    for _ in 0..C {
        sip_round(&mut v);
    }
    v[0] ^= m;
    v[2] ^= 0xff;
    for _ in 0..D {
        sip_round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

fn sip_round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13) ^ v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16) ^ v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21) ^ v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17) ^ v[2];
    v[2] = v[2].rotate_left(32);
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};

    const KEY: (u64, u64) = (0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908);

    /// The SipHash paper's test vectors for SipHash-2-4, key 00..0f, message 00..len-1.
    #[test]
    fn siphash24_matches_published_vectors() {
        let msg: Vec<u8> = (0u8..64).collect();
        assert_eq!(siphash::<2, 4>(KEY, &msg[..0]), 0x726f_db47_dd0e_0e31);
        assert_eq!(siphash::<2, 4>(KEY, &msg[..15]), 0xa129_ca61_49be_45e5);
    }

    /// The same rounds against the standard library's own SipHash-2-4, every length 0..64.
    #[test]
    #[allow(deprecated)]
    fn siphash24_matches_std_for_all_lengths() {
        use core::hash::{Hasher, SipHasher};
        let msg: Vec<u8> = (0u8..64).map(|i| i.wrapping_mul(37)).collect();
        for len in 0..64 {
            let mut h = SipHasher::new_with_keys(KEY.0, KEY.1);
            h.write(&msg[..len]);
            assert_eq!(siphash::<2, 4>(KEY, &msg[..len]), h.finish(), "length {len}");
        }
    }

    #[test]
    fn siphash13_is_fixed() {
        // Frozen: changing this remaps every Maglev table (all cores and restarts agree).
        let a = siphash13(KEY, b"rvs");
        assert_eq!(a, siphash13(KEY, b"rvs"));
        assert_ne!(a, siphash13(KEY, b"rvt"));
        assert_ne!(siphash13(KEY, &[]), siphash::<2, 4>(KEY, &[]));
    }

    #[test]
    fn fold_and_fib_hash() {
        assert_eq!(fold_addr(&IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4))), 0x0102_0304);
        let v6 = IpAddr::V6(Ipv6Addr::from(0x0000_0001_0000_0002_0000_0004_0000_0008u128));
        assert_eq!(fold_addr(&v6), 1 ^ 2 ^ 4 ^ 8);
        assert_eq!(fib_hash(1, 8), 0x9e);
        assert_eq!(fib_hash(0, 8), 0);
        assert!(fib_hash(u32::MAX, 8) < 256);
        assert_eq!(fib_hash(2, 32), 0x9e37_79b1u32.wrapping_mul(2));
        // Addresses differing only in their top byte still spread over buckets.
        let buckets: std::collections::HashSet<u32> =
            (0u32..64).map(|i| fib_hash(i << 24, 8)).collect();
        assert!(buckets.len() > 32);
    }

    #[test]
    fn addr_port_bytes_distinguish_family_and_port() {
        let v4 = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let v6 = IpAddr::V6(Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped());
        assert_ne!(hash_addr_port(KEY, &v4, 80), hash_addr_port(KEY, &v6, 80));
        assert_ne!(hash_addr_port(KEY, &v4, 80), hash_addr_port(KEY, &v4, 81));
        assert_eq!(addr_port_bytes(&v4, 0x1234).0[..7], [4, 10, 0, 0, 1, 0x12, 0x34]);
    }
}
