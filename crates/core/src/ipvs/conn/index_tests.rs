//! Tests of the table's bucket index through the table: a model of live connections
//! (insert, lookup of both directions, expiry, reuse of tuples and slots, a full table), run
//! with the real hash and with degraded ones that force bucket and signature collisions, and
//! the burst lookup against the single one.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::ipvs::proto::ConnState;
use crate::ipvs::timer::{delay_ticks, tick_of};
use crate::time::Instant;
use crate::wire::IpProtocol;

const T0: Instant = Instant::from_secs(1000);
const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 38);
const RS: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 18);
const LIP: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 1);

/// Hash masks: the real hash; 4 signatures over few buckets; one hash for every tuple (every
/// tuple in the same two buckets, then the stash).
const MASKS: [u64; 3] = [u64::MAX, 0x3_0000_0003, 0];

fn client(c: u8, p: u8) -> (Ipv4Addr, u16) {
    (Ipv4Addr::new(10, 0, 0, c), 1000 + u16::from(p))
}

fn spec(c: u8, p: u8, fullnat: bool) -> ConnSpec<Ipv4Addr> {
    let client = client(c, p);
    ConnSpec {
        key: ConnKey::new(IpProtocol::UDP, client.0, client.1, VIP, 53),
        dest_addr: (RS, 53),
        local: fullnat.then_some((LIP, client.1)),
        fwd: if fullnat { FwdMethod::FullNat } else { FwdMethod::Masq },
        dest: 0,
        svc: 0,
        template: None,
    }
}

fn table(cap: u32, mask: u64) -> ConnTable<Ipv4Addr> {
    let mut t = ConnTable::new(cap, HashSeed::from_u64(11), T0).unwrap();
    t.degrade_hash(mask);
    t
}

#[derive(Debug, Clone)]
enum Op {
    Insert { c: u8, p: u8, fullnat: bool },
    Lookup { c: u8, p: u8 },
    Packet { pick: u8 },
    Remove { pick: u8 },
    Advance { secs: u16 },
    Expire,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0u8..5, 0u8..6, any::<bool>()).prop_map(|(c, p, fullnat)| Op::Insert { c, p, fullnat }),
        3 => (0u8..5, 0u8..6).prop_map(|(c, p)| Op::Lookup { c, p }),
        2 => any::<u8>().prop_map(|pick| Op::Packet { pick }),
        1 => any::<u8>().prop_map(|pick| Op::Remove { pick }),
        2 => prop_oneof![0u16..5, 0u16..400].prop_map(|secs| Op::Advance { secs }),
        1 => Just(Op::Expire),
    ]
}

/// What the model knows of one live connection.
#[derive(Debug, Clone, Copy)]
struct Live {
    keys: [ConnKey<Ipv4Addr>; 2],
    /// Deadline tick.
    deadline: u32,
}

fn keys_of(s: &ConnSpec<Ipv4Addr>) -> [ConnKey<Ipv4Addr>; 2] {
    let k = s.key;
    let (la, lp) = s.local.unwrap_or((k.saddr, k.sport));
    [k, ConnKey::new(k.proto, s.dest_addr.0, s.dest_addr.1, la, lp)]
}

fn is_live(l: &Live, now: Instant) -> bool {
    !crate::ipvs::timer::is_due(l.deadline, tick_of(now))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    /// The table against a map of live connections: every lookup of either direction finds
    /// exactly the live connection holding the tuple; an insert succeeds exactly when no live
    /// connection holds one of its tuples and a slot is free or dead (a full table refuses),
    /// with every hash mask.
    #[test]
    fn table_matches_model(mask_pick in 0usize..3, cap in 1u32..20, ops in proptest::collection::vec(op(), 1..200)) {
        let mask = MASKS[mask_pick];
        let mut t = table(cap, mask);
        let timeout = delay_ticks(t.timeouts().for_state(ConnState::initial(IpProtocol::UDP).unwrap()));
        let mut model: HashMap<ConnId, Live> = HashMap::new();
        let mut now = T0;
        for op in ops {
            match op {
                Op::Insert { c, p, fullnat } => {
                    let s = spec(c, p, fullnat);
                    let keys = keys_of(&s);
                    let conflict = model.values().any(|l| is_live(l, now) && l.keys.iter().any(|k| keys.contains(k)));
                    let live = model.values().filter(|l| is_live(l, now)).count() as u32;
                    let mut freed = vec![];
                    let got = t.insert(&s, now, |e| freed.push(e.key(Direction::In)));
                    for k in freed {
                        model.retain(|_, l| l.keys[0] != k);
                    }
                    match got {
                        Ok(id) => {
                            prop_assert!(!conflict && live < cap, "insert should have failed");
                            let deadline = tick_of(now).wrapping_add(timeout);
                            prop_assert!(model.insert(id, Live { keys, deadline }).is_none(), "slot reused while live");
                        }
                        Err(InsertError::Exists) => prop_assert!(conflict && live < cap),
                        Err(InsertError::TableFull { .. }) => {
                            // A table of live entries is full (checked before the tuples);
                            // a degraded hash may also fill the index's buckets and stash.
                            prop_assert!(live == cap || (mask != u64::MAX && !conflict), "full with {live} of {cap} live");
                        }
                        Err(e) => prop_assert!(false, "unexpected {e}"),
                    }
                }
                Op::Lookup { c, p } => {
                    let s = spec(c, p, true);
                    for (d, k) in keys_of(&s).iter().enumerate() {
                        let want = model.iter().find_map(|(&id, l)| {
                            (is_live(l, now)).then(|| l.keys.iter().position(|x| x == k).map(|i| (id, i)))?
                        });
                        let got = t.lookup(k, now);
                        let want = want.map(|(id, i)| (id, if i == 0 { Direction::In } else { Direction::Out }));
                        prop_assert_eq!(got, want, "direction {}", d);
                    }
                }
                Op::Packet { pick } => {
                    let mut ids: Vec<ConnId> = model.keys().copied().collect();
                    ids.sort();
                    if let Some(&id) = ids.get(pick as usize % ids.len().max(1)) {
                        let l = model[&id];
                        // A dead entry is not found, so the forwarding path never feeds it.
                        if is_live(&l, now) {
                            prop_assert!(t.on_packet(id, Direction::In, crate::wire::TcpFlags(0), 60, now).is_some());
                            model.get_mut(&id).unwrap().deadline = tick_of(now).wrapping_add(timeout);
                        }
                    }
                }
                Op::Remove { pick } => {
                    let mut ids: Vec<ConnId> = model.keys().copied().collect();
                    ids.sort();
                    if let Some(&id) = ids.get(pick as usize % ids.len().max(1)) {
                        let removed = t.remove(id, |_| {});
                        prop_assert!(removed);
                        model.remove(&id);
                    }
                }
                Op::Advance { secs } => now = now + Duration::from_secs(u64::from(secs)),
                Op::Expire => {
                    let mut gone = vec![];
                    t.expire(now, |e| gone.push(e.key(Direction::In)));
                    for k in gone {
                        let l = model.iter().find(|(_, l)| l.keys[0] == k).map(|(&id, l)| (id, *l));
                        let (id, l) = l.expect("expired an entry the model does not hold");
                        prop_assert!(!is_live(&l, now), "expired a live entry");
                        model.remove(&id);
                    }
                    prop_assert!(model.values().all(|l| is_live(l, now)), "a dead entry survived expire");
                }
            }
            prop_assert_eq!(t.len() as usize, model.len());
            t.check_invariants();
        }
    }

    /// `lookup_burst` returns what `lookup` returns for every tuple of every burst (present,
    /// absent, both directions), and counts the same hits and misses.
    #[test]
    fn burst_lookup_equals_single(mask_pick in 0usize..3, n in 0usize..40, seed in any::<u64>(), burst in proptest::collection::vec((0u8..8, 0u8..8, any::<bool>()), 0..80)) {
        let mut t = table(64, MASKS[mask_pick]);
        let mut x = seed | 1;
        for _ in 0..n {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            let _ = t.insert(&spec((x % 8) as u8, ((x >> 8) % 8) as u8, x & 1 << 20 != 0), T0, |_| {});
        }
        let keys: Vec<ConnKey<Ipv4Addr>> = burst.iter().map(|&(c, p, out)| keys_of(&spec(c, p, true))[usize::from(out)]).collect();
        let mut single = Vec::new();
        let before = *t.stats();
        for k in &keys {
            single.push(t.lookup(k, T0));
        }
        let after_single = *t.stats();
        let mut bulk = vec![None; keys.len()];
        t.lookup_burst(&keys, T0, &mut bulk);
        prop_assert_eq!(&bulk, &single);
        prop_assert_eq!(t.stats().hits - after_single.hits, after_single.hits - before.hits);
        prop_assert_eq!(t.stats().misses - after_single.misses, after_single.misses - before.misses);
        t.prefetch_burst(&keys);
    }
}

#[test]
fn one_hash_for_every_tuple_fills_buckets_then_stash_then_refuses() {
    // Every tuple hashes to 0, whose two candidate buckets are one: 8 slots and a stash of 32
    // hold 40 values, so 20 FULLNAT connections (two tuples each); the 21st is refused as a full table and leaves
    // nothing behind; every stored connection stays reachable in both directions.
    let mut t = table(64, 0);
    let mut ids = vec![];
    for i in 0..20u8 {
        let s = spec(i % 5, i, true);
        ids.push((t.insert(&s, T0, |_| panic!("nothing to free")).unwrap(), keys_of(&s)));
    }
    assert_eq!(t.index_stashed(), 40 - 8);
    let refused = spec(9, 200, true);
    assert_eq!(t.insert(&refused, T0, |_| {}), Err(InsertError::TableFull { capacity: 64 }));
    assert_eq!(t.len(), 20);
    assert_eq!(t.lookup(&keys_of(&refused)[0], T0), None);
    t.check_invariants();
    for (id, keys) in &ids {
        assert_eq!(t.lookup(&keys[0], T0), Some((*id, Direction::In)));
        assert_eq!(t.lookup(&keys[1], T0), Some((*id, Direction::Out)));
    }
    // Removing frees room again (stash or bucket), and reuse works.
    assert!(t.remove(ids[0].0, |_| {}));
    assert!(t.insert(&refused, T0, |_| {}).is_ok());
    t.check_invariants();
}

#[test]
fn a_full_index_walk_displaces_entries_without_losing_any() {
    // The real hash at the planned load: every tuple placed (buckets only, nothing stashed),
    // every one found after the displacement walks.
    let cap = 20_000u32;
    let mut t = ConnTable::new(cap, HashSeed::from_u64(5), T0).unwrap();
    let mut all = vec![];
    for i in 0..cap {
        let c = (Ipv4Addr::from(0x0a00_0000 + i / 60_000), 1024 + (i % 60_000) as u16);
        let mut s = spec(0, 0, true);
        (s.key.saddr, s.key.sport) = c;
        s.local = Some((LIP, (i % 65_000) as u16));
        s.dest_addr = (Ipv4Addr::from(0xc0a8_0000 + i / 65_000), 53);
        all.push((t.insert(&s, T0, |_| panic!("nothing to free")).unwrap(), keys_of(&s)));
    }
    assert_eq!(t.index_stashed(), 0);
    for (id, keys) in &all {
        assert_eq!(t.lookup(&keys[0], T0), Some((*id, Direction::In)));
        assert_eq!(t.lookup(&keys[1], T0), Some((*id, Direction::Out)));
    }
    t.check_invariants();
}
