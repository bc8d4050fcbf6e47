//! Lookup keys of the connection table and their hash.
//!
//! Owns [`ConnAddr`] (what an address family must provide to key a table), [`ConnKey`] (one
//! direction's 5-tuple: the wire's flow tuple, named for its use here), [`TemplateKey`] (a
//! persistence template's key) and the seeded hash used by the table's index. Knows nothing of
//! entries or packets.
//!
//! # Hash
//! A hand-written keyed hash: the key is packed into 64-bit words, each mixed in with a
//! 64x64->128 bit multiply whose halves are folded together, every word xored with its own
//! secret seed word first. The seed is chosen per table at construction (see
//! [`HashSeed::random`]), so an attacker who does not know it cannot aim many tuples at one
//! bucket; it is not a cryptographic MAC. It costs two to four multiplies per key.

use core::fmt::Debug;
use core::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::wire::IpProtocol;

/// An address family a connection table can be keyed by: [`Ipv4Addr`] or [`Ipv6Addr`].
///
/// A table holds one family so that IPv4 entries stay small; a worker keeps one table per
/// family.
pub trait ConnAddr: Copy + Eq + Debug + Into<IpAddr> + 'static {
    /// The all-zeros address.
    const UNSPECIFIED: Self;

    /// The address with every bit outside `mask` cleared.
    fn masked(self, mask: Self) -> Self;

    /// The mask of the first `len` bits (clamped to the address length).
    fn prefix_mask(len: u8) -> Self;

    /// Hash of a 5-tuple with this address family. `kind` separates key spaces (connections
    /// and templates) that must never match each other.
    fn hash_key(key: &ConnKey<Self>, kind: u8, seed: &HashSeed) -> u64;
}

#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let r = u128::from(a) * u128::from(b);
    (r as u64) ^ ((r >> 64) as u64)
}

#[inline]
fn ports_word(key: &ConnKey<impl ConnAddr>, kind: u8) -> u64 {
    (u64::from(key.sport) << 48)
        | (u64::from(key.dport) << 32)
        | (u64::from(key.proto.number()) << 8)
        | u64::from(kind)
}

impl ConnAddr for Ipv4Addr {
    const UNSPECIFIED: Self = Ipv4Addr::UNSPECIFIED;

    fn masked(self, mask: Self) -> Self {
        Ipv4Addr::from(u32::from(self) & u32::from(mask))
    }

    fn prefix_mask(len: u8) -> Self {
        let len = u32::from(len.min(32));
        Ipv4Addr::from(u32::MAX.checked_shl(32 - len).unwrap_or(0))
    }

    #[inline]
    fn hash_key(key: &ConnKey<Self>, kind: u8, seed: &HashSeed) -> u64 {
        let addrs = (u64::from(u32::from(key.saddr)) << 32) | u64::from(u32::from(key.daddr));
        let h = fold_mul(addrs ^ seed.0[0], ports_word(key, kind) ^ seed.0[1]);
        fold_mul(h ^ seed.0[2], seed.0[3])
    }
}

impl ConnAddr for Ipv6Addr {
    const UNSPECIFIED: Self = Ipv6Addr::UNSPECIFIED;

    fn masked(self, mask: Self) -> Self {
        Ipv6Addr::from(u128::from(self) & u128::from(mask))
    }

    fn prefix_mask(len: u8) -> Self {
        let len = u32::from(len.min(128));
        Ipv6Addr::from(u128::MAX.checked_shl(128 - len).unwrap_or(0))
    }

    #[inline]
    fn hash_key(key: &ConnKey<Self>, kind: u8, seed: &HashSeed) -> u64 {
        let s = u128::from(key.saddr);
        let d = u128::from(key.daddr);
        let a = fold_mul((s >> 64) as u64 ^ seed.0[0], s as u64 ^ seed.0[1]);
        let b = fold_mul((d >> 64) as u64 ^ seed.0[2], d as u64 ^ seed.0[3]);
        let h = fold_mul(a ^ ports_word(key, kind), b ^ seed.0[1]);
        fold_mul(h ^ seed.0[2], seed.0[3])
    }
}

/// The secret words of a table's hash.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HashSeed([u64; 4]);

impl Debug for HashSeed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("HashSeed(..)")
    }
}

impl HashSeed {
    /// Expands one 64-bit seed into the hash's words (splitmix64), so tests can be
    /// deterministic.
    pub fn from_u64(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            // An odd multiplier never loses the operand's low bit.
            (z ^ (z >> 31)) | 1
        };
        HashSeed([next(), next(), next(), next()])
    }

    /// A seed from the process's random source (the standard library's per-process random
    /// hasher keys). Control-plane use only: call it when building a table.
    pub fn random() -> Self {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x7276_735f_636f_6e6e);
        HashSeed::from_u64(h.finish())
    }
}

/// One direction of a connection: the flow tuple the receiving stack parsed
/// ([`crate::wire::Tuple`], protocol as [`IpProtocol`]), used as the table's key as it is.
/// Its hash is [`ConnAddr::hash_key`] (or [`ConnKey::hash_with`]).
pub type ConnKey<A> = crate::wire::Tuple<A>;

impl<A: ConnAddr> ConnKey<A> {
    /// The table's seeded hash of this key in key space `kind` (see [`ConnAddr::hash_key`]).
    #[inline]
    pub fn hash_with(&self, kind: u8, seed: &HashSeed) -> u64 {
        A::hash_key(self, kind, seed)
    }
}

/// The key of a persistence template: the client network (client address masked by the
/// service's `-M` netmask), the virtual address and the virtual port (0 for a port-0
/// service, whose template covers every port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TemplateKey<A> {
    /// IP protocol.
    pub proto: IpProtocol,
    /// Client network: client address with the netmask applied.
    pub client_net: A,
    /// Virtual address.
    pub vaddr: A,
    /// Virtual port, or 0 for a port-0 (all ports) service.
    pub vport: u16,
}

impl<A: ConnAddr> TemplateKey<A> {
    /// The template key of `client` for the service `(proto, vaddr, vport)` with persistence
    /// netmask `mask`.
    pub fn new(proto: IpProtocol, client: A, mask: A, vaddr: A, vport: u16) -> Self {
        TemplateKey { proto, client_net: client.masked(mask), vaddr, vport }
    }

    /// The 5-tuple the template is indexed by: client network port 0 to the virtual
    /// address and port.
    pub fn as_conn_key(&self) -> ConnKey<A> {
        ConnKey::new(self.proto, self.client_net, 0, self.vaddr, self.vport)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn masks() {
        assert_eq!(Ipv4Addr::prefix_mask(24), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(Ipv4Addr::prefix_mask(0), Ipv4Addr::UNSPECIFIED);
        assert_eq!(Ipv4Addr::prefix_mask(32), Ipv4Addr::BROADCAST);
        assert_eq!(Ipv4Addr::prefix_mask(99), Ipv4Addr::BROADCAST);
        assert_eq!(Ipv6Addr::prefix_mask(64), "ffff:ffff:ffff:ffff::".parse::<Ipv6Addr>().unwrap());
        assert_eq!(Ipv6Addr::prefix_mask(0), Ipv6Addr::UNSPECIFIED);
        let k = TemplateKey::new(
            IpProtocol::TCP,
            Ipv4Addr::new(10, 1, 2, 3),
            Ipv4Addr::prefix_mask(24),
            Ipv4Addr::new(192, 168, 0, 38),
            80,
        );
        assert_eq!(k.client_net, Ipv4Addr::new(10, 1, 2, 0));
        assert_eq!(k.as_conn_key().sport, 0);
    }

    #[test]
    fn hash_depends_on_every_field_seed_and_kind() {
        let s = HashSeed::from_u64(1);
        let a = Ipv4Addr::new(10, 0, 0, 1);
        let b = Ipv4Addr::new(10, 0, 0, 2);
        let base = ConnKey::new(IpProtocol::TCP, a, 1000, b, 80);
        let h = |k: &ConnKey<Ipv4Addr>| Ipv4Addr::hash_key(k, 0, &s);
        let variants = [
            ConnKey { proto: IpProtocol::UDP, ..base },
            ConnKey { saddr: b, ..base },
            ConnKey { sport: 1001, ..base },
            ConnKey { daddr: a, ..base },
            ConnKey { dport: 81, ..base },
        ];
        for v in variants {
            assert_ne!(h(&v), h(&base), "{v:?}");
        }
        assert_ne!(Ipv4Addr::hash_key(&base, 1, &s), h(&base));
        assert_ne!(Ipv4Addr::hash_key(&base, 0, &HashSeed::from_u64(2)), h(&base));
        assert_eq!(h(&base), h(&base.clone()));

        let a6: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let b6: Ipv6Addr = "2001:db8::2".parse().unwrap();
        let k6 = ConnKey::new(IpProtocol::TCP, a6, 1000, b6, 80);
        let h6 = Ipv6Addr::hash_key(&k6, 0, &s);
        assert_ne!(h6, Ipv6Addr::hash_key(&ConnKey { saddr: b6, daddr: a6, ..k6 }, 0, &s));
        assert_ne!(h6, Ipv6Addr::hash_key(&ConnKey { sport: 1, ..k6 }, 0, &s));
    }

    #[test]
    fn hash_spreads_sequential_ports_over_buckets_and_tags() {
        // Sequential client ports (the common case) must spread over both the bucket bits
        // (low) and the 7-bit tag (top) the index uses.
        let s = HashSeed::from_u64(42);
        let c = Ipv4Addr::new(10, 0, 0, 1);
        let v = Ipv4Addr::new(192, 168, 0, 38);
        let n = 4096u32;
        let mut low = HashSet::new();
        let mut top = HashSet::new();
        for p in 0..n {
            let h = Ipv4Addr::hash_key(&ConnKey::new(IpProtocol::TCP, c, p as u16, v, 80), 0, &s);
            low.insert(h & 0xfff);
            top.insert(h >> 57);
        }
        // 4096 balls in 4096 bins fill about 63 % of them.
        assert!(low.len() > 2400, "{}", low.len());
        assert_eq!(top.len(), 128);
    }
}
