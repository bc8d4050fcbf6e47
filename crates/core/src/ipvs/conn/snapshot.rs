//! Listing of a connection table for the control plane (`ipvsadm -L -c`).
//!
//! Owns [`ConnInfo`], a self-contained copy of one entry in the terms the listing prints, and
//! [`ConnTable::snapshot`] (the whole table at once) and [`ConnTable::snapshot_from`] (the
//! cursor of a chunked listing: a bounded run of slots at a time). This is control-plane code:
//! it allocates, so the worker runs it between bursts when asked.

use std::net::SocketAddr;

use super::entry::{Conn, ConnCounters, ConnId, FwdMethod};
use super::key::ConnAddr;
use super::table::ConnTable;
use crate::time::Instant;
use crate::wire::IpProtocol;

/// One entry as the connection listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnInfo {
    /// IP protocol.
    pub proto: IpProtocol,
    /// State name as `ipvsadm -L -c` prints it (`ESTABLISHED`, `UDP`, ...).
    pub state: &'static str,
    /// Whole seconds until the entry expires.
    pub expire_secs: u32,
    /// Client address and port (a template shows its client network and port 0).
    pub client: SocketAddr,
    /// Virtual address and port.
    pub virt: SocketAddr,
    /// Real server address and port.
    pub dest: SocketAddr,
    /// Local address and port the real server sees, for FULLNAT and SNAT.
    pub local: Option<SocketAddr>,
    /// Forwarding method.
    pub fwd: FwdMethod,
    /// Whether this is a persistence template.
    pub template: bool,
    /// Packet and byte counters.
    pub counters: ConnCounters,
}

impl ConnInfo {
    /// Protocol name as the listing prints it (`TCP`, `UDP`, or the number).
    pub fn proto_name(&self) -> std::borrow::Cow<'static, str> {
        match self.proto {
            IpProtocol::TCP => "TCP".into(),
            IpProtocol::UDP => "UDP".into(),
            IpProtocol::ICMP => "ICMP".into(),
            p => p.number().to_string().into(),
        }
    }
}

/// Whether the listing shows entry `e` with a local address: a connection (not a template)
/// whose forwarding method has one (FULLNAT, SNAT), of a protocol the listing names (TCP,
/// UDP; an SNAT ICMP echo has a local address but is not listed).
pub(super) fn listed_with_local<A: ConnAddr>(e: &Conn<A>) -> bool {
    !e.is_template()
        && e.fwd().uses_local_addr()
        && matches!(e.proto(), IpProtocol::TCP | IpProtocol::UDP)
}

fn sock<A: ConnAddr>(a: A, p: u16) -> SocketAddr {
    SocketAddr::new(a.into(), p)
}

impl<A: ConnAddr> ConnTable<A> {
    /// Up to `limit` live entries, in slab order, as the listing shows them at `now`.
    pub fn snapshot(&self, now: Instant, limit: usize) -> Vec<ConnInfo> {
        self.iter().take(limit).map(|(_, e)| self.info(e, now)).collect()
    }

    /// The cursor of a chunked listing: appends to `out` the live entries among at most `slots`
    /// slab slots from slot `from`, as the listing shows them at `now`, and returns the slot to
    /// continue from, or `None` once the walk has passed the last slot. Entries never move in
    /// the slab, so a walk over a table that does not change sees each entry exactly once; an
    /// entry inserted or removed between two calls is seen at most once (its slot is visited
    /// once), and nothing is seen that was not live when its slot was visited.
    pub fn snapshot_from(
        &self,
        now: Instant,
        from: u32,
        slots: u32,
        out: &mut Vec<ConnInfo>,
    ) -> Option<u32> {
        let end = from.saturating_add(slots.max(1)).min(self.capacity());
        for i in from..end {
            if let Some(e) = self.get(ConnId(i)) {
                out.push(self.info(e, now));
            }
        }
        (end < self.capacity()).then_some(end)
    }

    fn info(&self, e: &Conn<A>, now: Instant) -> ConnInfo {
        ConnInfo {
            proto: e.proto(),
            state: e.state().name(),
            expire_secs: self.expires_in(e, now),
            client: sock(e.caddr(), e.cport()),
            virt: sock(e.vaddr(), e.vport()),
            dest: sock(e.daddr(), e.dport()),
            local: (!e.is_template() && e.fwd().uses_local_addr())
                .then(|| sock(e.laddr(), e.lport())),
            fwd: e.fwd(),
            template: e.is_template(),
            counters: e.counters,
        }
    }
}

#[cfg(test)]
mod cursor_tests {
    use super::super::{ConnKey, ConnSpec, HashSeed};
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;
    use std::net::Ipv4Addr;

    const T0: Instant = Instant::from_secs(100);

    /// Client `n`'s connection; `life` (the dest port) tells apart the entries a client has
    /// over time, so "seen twice" means the same entry, not the same client again.
    fn spec(n: u32, life: u16) -> ConnSpec<Ipv4Addr> {
        let client = Ipv4Addr::from(0x0a00_0000 + n);
        ConnSpec {
            key: ConnKey::new(IpProtocol::TCP, client, 1000, Ipv4Addr::new(192, 0, 2, 1), 80),
            dest_addr: (Ipv4Addr::new(192, 0, 2, 9), life),
            local: None,
            fwd: FwdMethod::Masq,
            dest: 0,
            svc: 0,
            template: None,
        }
    }

    /// Walks the whole table `slots` slots at a time, calling `between` before each step.
    fn walk(
        t: &mut ConnTable<Ipv4Addr>,
        slots: u32,
        mut between: impl FnMut(&mut ConnTable<Ipv4Addr>, usize),
    ) -> Vec<ConnInfo> {
        let (mut out, mut at, mut step) = (Vec::new(), Some(0), 0);
        while let Some(from) = at {
            between(t, step);
            let before = out.len();
            at = t.snapshot_from(T0, from, slots, &mut out);
            assert!(out.len() - before <= slots.max(1) as usize, "a step copies at most its slots");
            step += 1;
        }
        out
    }

    /// Each row as (client number, life).
    fn entries(rows: &[ConnInfo]) -> Vec<(u32, u16)> {
        let n = |r: &ConnInfo| match r.client.ip() {
            std::net::IpAddr::V4(a) => u32::from(a) - 0x0a00_0000,
            std::net::IpAddr::V6(_) => u32::MAX,
        };
        rows.iter().map(|r| (n(r), r.dest.port())).collect()
    }

    #[test]
    fn a_still_table_is_walked_entry_by_entry_exactly_once_in_slab_order() {
        let mut t = ConnTable::<Ipv4Addr>::new(64, HashSeed::from_u64(3), T0).unwrap();
        let ids: Vec<_> = (0..40).map(|n| t.insert(&spec(n, 0), T0, |_| {}).unwrap()).collect();
        for id in ids.iter().step_by(3) {
            t.remove(*id, |_| {});
        }
        let whole = t.snapshot(T0, usize::MAX);
        for slots in [1, 2, 7, 64, 1000] {
            assert_eq!(walk(&mut t, slots, |_, _| {}), whole, "{slots} slots a step");
        }
        // Past the end, and an empty table, are done at once.
        let mut out = Vec::new();
        assert_eq!(t.snapshot_from(T0, 64, 8, &mut out), None);
        assert_eq!(t.snapshot_from(T0, u32::MAX, u32::MAX, &mut out), None);
        assert!(out.is_empty());
    }

    #[test]
    fn the_table_counts_the_entries_listed_with_a_local_address() {
        use super::super::{TemplateKey, TemplateSpec};
        let mut t = ConnTable::<Ipv4Addr>::new(16, HashSeed::from_u64(7), T0).unwrap();
        let local = |t: &ConnTable<Ipv4Addr>| {
            let rows = t.snapshot(T0, usize::MAX);
            // The listing shows TCP and UDP rows only.
            let listed = |c: &&ConnInfo| matches!(c.proto, IpProtocol::TCP | IpProtocol::UDP);
            rows.iter().filter(listed).filter(|c| c.local.is_some()).count() as u32
        };
        let with = |n: u32, fwd: FwdMethod, proto: IpProtocol| {
            let mut s = spec(n, 0);
            s.key.proto = proto;
            s.fwd = fwd;
            s.local =
                fwd.uses_local_addr().then_some((Ipv4Addr::new(172, 16, 0, 1), 5000 + n as u16));
            s
        };
        let mut ids = Vec::new();
        for (n, fwd) in [FwdMethod::Masq, FwdMethod::Route, FwdMethod::FullNat, FwdMethod::Snat]
            .into_iter()
            .enumerate()
        {
            ids.push(t.insert(&with(n as u32, fwd, IpProtocol::TCP), T0, |_| {}).unwrap());
        }
        ids.push(t.insert(&with(10, FwdMethod::FullNat, IpProtocol::UDP), T0, |_| {}).unwrap());
        // An SNAT echo has a local address but the listing does not show ICMP; a template
        // is listed without one.
        t.insert(&with(11, FwdMethod::Snat, IpProtocol::ICMP), T0, |_| {}).unwrap();
        let key = TemplateKey::new(
            IpProtocol::TCP,
            Ipv4Addr::new(10, 0, 0, 0),
            Ipv4Addr::prefix_mask(24),
            Ipv4Addr::new(192, 0, 2, 1),
            80,
        );
        let ts = TemplateSpec {
            key,
            dest_addr: (Ipv4Addr::new(192, 0, 2, 9), 80),
            dest: 0,
            svc: 0,
            timeout_secs: 60,
        };
        t.template_insert(&ts, T0, |_| {}).unwrap();
        assert_eq!((t.listed_with_local(), local(&t)), (3, 3));
        t.remove(ids[2], |_| {});
        assert_eq!((t.listed_with_local(), local(&t)), (2, 2));
        // Expiry takes everything, the count with it.
        t.expire(T0 + core::time::Duration::from_secs(100_000), |_| {});
        assert_eq!((t.len(), t.listed_with_local()), (0, 0));
        t.check_invariants();
    }

    proptest! {
        /// Inserts and removes between steps: every entry live for the whole walk is seen, no
        /// entry is seen twice, and every row seen was an entry that existed at some point.
        #[test]
        fn changes_during_a_walk_are_seen_at_most_once_and_never_invented(
            first in 0u32..60,
            slots in 1u32..20,
            ops in proptest::collection::vec((any::<bool>(), 0u32..120), 0..80),
        ) {
            let mut t = ConnTable::<Ipv4Addr>::new(64, HashSeed::from_u64(5), T0).unwrap();
            let mut ids = std::collections::HashMap::new();
            for n in 0..first {
                ids.insert(n, t.insert(&spec(n, 0), T0, |_| {}).unwrap());
            }
            let mut touched: HashSet<u32> = HashSet::new();
            let mut ever: HashSet<(u32, u16)> = (0..first).map(|n| (n, 0)).collect();
            let mut lives = 0u16;
            let mut ops = ops.into_iter();
            let rows = walk(&mut t, slots, |t, _| {
                for (insert, n) in ops.by_ref().take(3) {
                    touched.insert(n);
                    if insert && !ids.contains_key(&n) {
                        lives += 1;
                        if let Ok(id) = t.insert(&spec(n, lives), T0, |_| {}) {
                            ids.insert(n, id);
                            ever.insert((n, lives));
                        }
                    } else if let Some(id) = ids.remove(&n) {
                        t.remove(id, |_| {});
                    }
                }
            });
            let seen = entries(&rows);
            let unique: HashSet<_> = seen.iter().copied().collect();
            prop_assert_eq!(unique.len(), seen.len(), "an entry was seen twice");
            for e in &seen {
                prop_assert!(ever.contains(e), "invented {:?}", e);
            }
            for n in (0..first).filter(|n| !touched.contains(n)) {
                prop_assert!(unique.contains(&(n, 0)),
                    "entry {} live through the walk was missed", n);
            }
        }
    }
}
