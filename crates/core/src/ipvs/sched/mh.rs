//! `mh`, Maglev hashing: consistent source hashing through a lookup table of prime size `M`
//! (default 65537). Every dest has a preference list over the slots, a permutation given by two
//! hashes of its `addr:port` (`offset = h1 mod M`, `skip = h2 mod (M - 1) + 1`); dests take turns
//! claiming their next free preferred slot until the table is full, each claiming `weight / gcd`
//! slots per turn. So:
//! - shares follow weights (equal weights: within one slot of `M / n`),
//! - a dest leaving moves its own clients and only a small fraction of the others (Maglev's
//!   "minimal disruption": close to, not exactly, zero),
//! - the table depends only on the set of dests, not on the order they were added: dests take
//!   their turns in `(addr, port)` order, so every core, every restart and every director of a
//!   scale-out group (docs/scale-out.md) given the same real servers builds the same table and
//!   sends a client to the same real server.
//!
//! Clients map to `slot = hash(src addr [, src port with mh-port]) mod M`. If the slot's dest is
//! quiescent or overloaded the answer is `None`, unless `mh-fallback` is set: then the following
//! slots are tried in order (bounded by `M`) and the first eligible dest is taken (if none is,
//! the first eligible dest in the list: a dest can own no slot only with more dests than slots).
//!
//! Dests with weight 0 get no slots (the table is rebuilt on every weight change). When the sum
//! of turns per round would exceed `M / 64`, turns are scaled down (at least one each) so the
//! last, partial round distorts shares by under 2%.

use super::hash::hash_addr_port;
use super::{DestView, MhTableSize, SchedFlags, SchedKey, Scheduler};

const EMPTY: u32 = u32::MAX;
/// Fixed keys: permutation offset, permutation skip, client lookup.
const OFFSET_KEY: (u64, u64) = (0x6d61_676c_6576_2d31, 0x7276_732d_6f66_6673);
const SKIP_KEY: (u64, u64) = (0x6d61_676c_6576_2d32, 0x7276_732d_736b_6970);
const LOOKUP_KEY: (u64, u64) = (0x6d61_676c_6576_2d33, 0x7276_732d_6c6f_6f6b);

/// Maglev hashing state: the lookup table (slot -> dest index) and the flags.
#[derive(Debug, Clone)]
pub struct Maglev {
    table: Vec<u32>,
    size: MhTableSize,
    fallback: bool,
    port: bool,
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Slots each dest claims per round: `weight / gcd`, scaled down to keep a round small.
fn turns(dests: &[DestView], m: u64) -> Vec<u64> {
    let g = dests.iter().map(|d| u64::from(d.weight)).fold(0, gcd).max(1);
    let mut t: Vec<u64> = dests.iter().map(|d| u64::from(d.weight) / g).collect();
    let sum: u64 = t.iter().sum();
    let budget = (m / 64).max(t.iter().filter(|&&x| x > 0).count() as u64).max(1);
    if sum > budget {
        for x in t.iter_mut().filter(|x| **x > 0) {
            *x = (*x * budget / sum).max(1);
        }
    }
    t
}

/// Builds the Maglev lookup table of `size` slots for `dests`.
pub fn build_table(dests: &[DestView], size: MhTableSize) -> Vec<u32> {
    let m = u64::from(size.get());
    let mut table = vec![EMPTY; size.get() as usize];
    let turns = turns(dests, m);
    if turns.iter().all(|&t| t == 0) || dests.len() >= EMPTY as usize {
        return table;
    }
    // Current position and skip of each dest's permutation.
    let mut pos: Vec<u64> = Vec::with_capacity(dests.len());
    let mut skip: Vec<u64> = Vec::with_capacity(dests.len());
    for d in dests {
        pos.push(hash_addr_port(OFFSET_KEY, &d.addr, d.port) % m);
        skip.push(if m > 1 { hash_addr_port(SKIP_KEY, &d.addr, d.port) % (m - 1) + 1 } else { 1 });
    }
    // Turns go in (addr, port) order, not list order: who wins a contested slot then depends
    // only on the set of dests.
    let mut order: Vec<usize> = (0..dests.len()).collect();
    order.sort_unstable_by_key(|&i| (dests[i].addr, dests[i].port));
    let mut filled = 0u64;
    while filled < m {
        for &i in &order {
            let t = turns[i];
            for _ in 0..t {
                // `skip` is coprime with the prime `m`: the walk visits every slot, and a free
                // one exists while `filled < m`.
                let slot = loop {
                    let p = pos[i];
                    pos[i] = (p + skip[i]) % m;
                    if table[p as usize] == EMPTY {
                        break p as usize;
                    }
                };
                table[slot] = i as u32;
                filled += 1;
                if filled == m {
                    return table;
                }
            }
        }
    }
    table
}

impl Maglev {
    /// Maglev hashing with the service's `-b` flags (`mh-fallback`, `mh-port`) and table size.
    pub fn new(flags: SchedFlags, size: MhTableSize) -> Self {
        Maglev { table: Vec::new(), size, fallback: flags.mh_fallback(), port: flags.mh_port() }
    }

    /// The lookup table: slot -> dest index (`u32::MAX` = empty, only when no dest has weight).
    pub fn table(&self) -> &[u32] {
        &self.table
    }

    fn slot_dest(&self, slot: usize) -> Option<usize> {
        match self.table.get(slot) {
            Some(&i) if i != EMPTY => Some(i as usize),
            _ => None,
        }
    }
}

impl Scheduler for Maglev {
    fn name(&self) -> &'static str {
        "mh"
    }

    fn schedule(&mut self, dests: &[DestView], key: &SchedKey) -> Option<usize> {
        let m = self.table.len();
        if m == 0 {
            return None;
        }
        let port = if self.port { key.sport } else { 0 };
        let slot = (hash_addr_port(LOOKUP_KEY, &key.saddr, port) % m as u64) as usize;
        let ok = |i: &usize| dests.get(*i).is_some_and(DestView::is_eligible);
        if !self.fallback {
            return self.slot_dest(slot).filter(ok);
        }
        if !dests.iter().any(DestView::is_eligible) {
            return None;
        }
        (0..m)
            .find_map(|off| self.slot_dest((slot + off) % m).filter(ok))
            .or_else(|| dests.iter().position(DestView::is_eligible))
    }

    fn update(&mut self, dests: &[DestView]) {
        self.table = build_table(dests, self.size);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use core::net::{IpAddr, Ipv6Addr};
    use std::collections::HashSet;

    fn counts(table: &[u32], n: usize) -> Vec<usize> {
        let mut c = vec![0; n];
        for &i in table {
            c[i as usize] += 1;
        }
        c
    }

    #[test]
    fn equal_weights_balance_within_one_percent() {
        let d = [dest(1, 1), dest(2, 1), dest(3, 1)];
        let t = build_table(&d, MhTableSize::DEFAULT);
        assert_eq!(t.len(), 65537);
        let fair = 65537.0 / 3.0;
        for c in counts(&t, 3) {
            assert!((c as f64 - fair).abs() / fair < 0.01, "{c} vs {fair}");
        }
    }

    #[test]
    fn weights_set_shares() {
        let d = [dest(1, 1), dest(2, 2), dest(3, 3), dest(4, 0)];
        let t = build_table(&d, MhTableSize::DEFAULT);
        let c = counts(&t, 4);
        assert_eq!(c[3], 0, "weight 0: no slot");
        for (i, w) in [(0usize, 1.0), (1, 2.0), (2, 3.0)] {
            let want = 65537.0 * w / 6.0;
            assert!((c[i] as f64 - want).abs() / want < 0.01, "dest {i}: {} vs {want}", c[i]);
        }
        // Large, uneven weights are scaled, shares still follow them.
        let d = [dest(1, 40000), dest(2, 30000), dest(3, 65535)];
        let c = counts(&build_table(&d, MhTableSize::DEFAULT), 3);
        let total = 135_535.0;
        for (i, w) in [(0usize, 40000.0), (1, 30000.0), (2, 65535.0)] {
            let want = 65537.0 * w / total;
            assert!((c[i] as f64 - want).abs() / want < 0.02, "dest {i}: {} vs {want}", c[i]);
        }
    }

    #[test]
    fn deterministic_and_order_of_build_irrelevant() {
        let d: Vec<_> = (1..=7).map(|n| dest(n, u32::from(n))).collect();
        let a = build_table(&d, MhTableSize::DEFAULT);
        let mut s = Maglev::new(SchedFlags::NONE, MhTableSize::DEFAULT);
        s.update(&d);
        assert_eq!(a, s.table());
        assert_eq!(a, build_table(&d, MhTableSize::DEFAULT));
        // Frozen: the same on every machine and release; a change here remaps clients on upgrade.
        assert_eq!(a[..16], [6, 6, 6, 6, 6, 2, 6, 5, 3, 6, 5, 4, 4, 5, 3, 4]);
    }

    /// The table, read as slot -> real server, is the same whatever order the dests were
    /// added in (each director of a scale-out group may have been configured differently).
    #[test]
    fn order_of_dests_irrelevant() {
        let d: Vec<_> = [(1u8, 1u32), (2, 3), (3, 1), (4, 2), (5, 1)]
            .iter()
            .map(|&(n, w)| dest(n, w))
            .collect();
        let size = MhTableSize::new(1009).unwrap();
        let by_addr = |dests: &[DestView]| -> Vec<IpAddr> {
            build_table(dests, size).iter().map(|&i| dests[i as usize].addr).collect()
        };
        let want = by_addr(&d);
        for perm in [[4usize, 3, 2, 1, 0], [2, 0, 4, 1, 3], [1, 0, 2, 3, 4]] {
            let p: Vec<_> = perm.iter().map(|&i| d[i]).collect();
            assert_eq!(by_addr(&p), want, "order {perm:?}");
            // And the scheduler picks the same real server for every client.
            let (mut a, mut b) =
                (Maglev::new(SchedFlags::NONE, size), Maglev::new(SchedFlags::NONE, size));
            a.update(&d);
            b.update(&p);
            for n in 0..500 {
                let k = nth_key(n);
                let (x, y) = (a.schedule(&d, &k), b.schedule(&p, &k));
                assert_eq!(x.map(|i| d[i].addr), y.map(|i| p[i].addr));
            }
        }
    }

    /// Maglev's minimal disruption: removing a dest moves all of its slots and, unlike a
    /// perfect consistent hash, a few slots of survivors too (measured: under 0.5%).
    #[test]
    fn removing_a_dest_moves_its_slots_and_few_others() {
        for n in [3usize, 10, 50] {
            let d: Vec<_> = (1..=n).map(|i| dest(i as u8, 1)).collect();
            let before = build_table(&d, MhTableSize::DEFAULT);
            for removed in [0, n / 2, n - 1] {
                let mut d2 = d.clone();
                d2.remove(removed);
                let after = build_table(&d2, MhTableSize::DEFAULT);
                // New index -> old index.
                let old_of = |i: u32| if (i as usize) < removed { i } else { i + 1 };
                let mut moved = 0;
                for (b, a) in before.iter().zip(&after) {
                    assert_ne!(old_of(*a), removed as u32, "removed dest still in the table");
                    if *b as usize != removed && old_of(*a) != *b {
                        moved += 1;
                    }
                }
                let frac = f64::from(moved) / 65537.0;
                assert!(frac < 0.01, "n={n}: {moved} slots of surviving dests moved");
            }
        }
    }

    #[test]
    fn clients_stick_and_mh_port_spreads() {
        let d = [dest(1, 1), dest(2, 1), dest(3, 1)];
        let mut s = Maglev::new(SchedFlags::NONE, MhTableSize::DEFAULT);
        s.update(&d);
        let k = key_from(9, 9, 1000);
        let first = s.schedule(&d, &k);
        assert!(first.is_some());
        for p in 0..200u16 {
            assert_eq!(s.schedule(&d, &SchedKey { sport: p, ..k }), first);
        }
        let mut s = Maglev::new(SchedFlags::MH_PORT, MhTableSize::DEFAULT);
        s.update(&d);
        let seen: HashSet<_> =
            (0..200u16).map(|p| s.schedule(&d, &SchedKey { sport: p, ..k })).collect();
        assert_eq!(seen.len(), 3);
        let v6 = SchedKey { saddr: IpAddr::V6(Ipv6Addr::LOCALHOST), ..k };
        assert_eq!(s.schedule(&d, &v6), s.schedule(&d, &v6));
    }

    #[test]
    fn fallback_only_with_the_flag() {
        let mut d = [dest(1, 1), dest(2, 1), dest(3, 1)];
        let size = MhTableSize::new(1009).unwrap();
        let mut plain = Maglev::new(SchedFlags::NONE, size);
        let mut fb = Maglev::new(SchedFlags::MH_FALLBACK, size);
        plain.update(&d);
        fb.update(&d);
        let keys: Vec<_> = (0..300).map(nth_key).collect();
        let before: Vec<_> = keys.iter().map(|k| plain.schedule(&d, k)).collect();
        d[2].available = false;
        for (k, b) in keys.iter().zip(&before) {
            let (p, f) = (plain.schedule(&d, k), fb.schedule(&d, k));
            if *b == Some(2) {
                assert_eq!(p, None);
                assert!(matches!(f, Some(0) | Some(1)));
                assert_eq!(fb.schedule(&d, k), f);
            } else {
                assert_eq!((p, f), (*b, *b));
            }
        }
        d.iter_mut().for_each(|d| d.weight = 0);
        assert_eq!(fb.schedule(&d, &keys[0]), None);
        fb.update(&d);
        assert!(fb.table().iter().all(|&i| i == u32::MAX));
        assert_eq!(fb.schedule(&d, &keys[0]), None);
    }
}
