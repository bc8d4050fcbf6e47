//! [`LocalAddrPool`]: the local addresses of one service on one worker core, with a set of free
//! ports per (local address, dest) pair or per local address. See the parent module for the
//! scopes, the memory bound and the removal rules.
//!
//! Owns its addresses, sets and counters; single writer (the worker core), no locks or atomics.
//! Keys are the addresses themselves (`IpAddr` for local addresses, `SocketAddr` for dests),
//! mapped to small slot numbers by hash maps reserved at construction, so callers need not keep
//! indices in step with the pool across removals.

use std::net::{IpAddr, SocketAddr};

use hashbrown::HashMap;

use super::port_set::PortSet;
use super::{LaddrError, PortOwnership, PortRange, WorkerPorts};

/// What a local port must be unique for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PortScope {
    /// Per (local address, dest address and port): FULLNAT. Dests must be added first.
    #[default]
    PerDest,
    /// Per local address, whatever the dest: SNAT, whose dests are arbitrary outside servers.
    PerLaddr,
}

/// Bounds on a pool, which bound its memory (see the parent module).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PoolLimits {
    /// Most local addresses, active and draining.
    pub max_laddrs: usize,
    /// Most dests, active and draining ([`PortScope::PerDest`] only).
    pub max_dests: usize,
}

impl Default for PoolLimits {
    fn default() -> Self {
        PoolLimits { max_laddrs: 64, max_dests: 1024 }
    }
}

/// Counters of one local address on one core; the daemon sums them over cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LaddrStats {
    /// Ports held by live connections, over all dests.
    pub in_use: u64,
    /// Ports handed out.
    pub allocs: u64,
    /// Ports given back.
    pub releases: u64,
    /// Times a new connection tried this address and found no free port toward its dest.
    pub misses: u64,
    /// Removed: no new allocations, waiting for `in_use` to reach zero.
    pub draining: bool,
}

#[derive(Debug)]
struct Laddr {
    addr: IpAddr,
    stats: LaddrStats,
    /// By dest slot ([`PortScope::PerDest`]) or a single set ([`PortScope::PerLaddr`]). `None`
    /// for dests that were not active while this address was.
    sets: Vec<Option<PortSet>>,
}

#[derive(Debug)]
struct Dest {
    addr: SocketAddr,
    draining: bool,
    in_use: u64,
}

/// The local addresses and ports of one service on one worker core.
#[derive(Debug)]
pub struct LocalAddrPool {
    core: usize,
    scope: PortScope,
    limits: PoolLimits,
    ports: WorkerPorts,
    laddrs: Vec<Option<Laddr>>,
    laddr_slots: HashMap<IpAddr, usize>,
    dests: Vec<Option<Dest>>,
    dest_slots: HashMap<SocketAddr, usize>,
    /// Slots of the active local addresses, in the order they were added: the round-robin ring.
    active: Vec<usize>,
    /// Position in `active` the next allocation starts from.
    next: usize,
    exhausted: u64,
    /// Where each new port set's cursor starts: 0 = at its first port; otherwise a per-set
    /// offset mixed from this seed, the local address and the dest slot (see
    /// [`LocalAddrPool::with_cursor_seed`]).
    cursor_seed: u64,
}

/// SplitMix64's finaliser: spreads a seed over the port range.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A fresh set of `n_ports` for local address `addr` and set slot `slot`, its cursor placed by
/// `seed` (0 = the first port).
fn new_set(seed: u64, addr: IpAddr, slot: usize, n_ports: usize) -> PortSet {
    let set = PortSet::new(n_ports);
    if seed == 0 {
        return set;
    }
    let a = match addr {
        IpAddr::V4(a) => u64::from(u32::from(a)),
        IpAddr::V6(a) => {
            let v = u128::from(a);
            (v as u64) ^ ((v >> 64) as u64)
        }
    };
    let x = mix(seed ^ mix(a) ^ mix(slot as u64 + 1));
    set.starting_at((x % n_ports.max(1) as u64) as usize)
}

impl LocalAddrPool {
    /// A FULLNAT pool ([`PortScope::PerDest`], default [`PoolLimits`]) for worker `core`.
    pub fn new(
        core: usize,
        ownership: PortOwnership,
        range: PortRange,
    ) -> Result<Self, LaddrError> {
        Self::with_scope(core, ownership, range, PortScope::PerDest, PoolLimits::default())
    }

    /// A pool for worker `core` with the given scope and limits. Errors when `core` is not a
    /// worker or owns no port of `range`.
    pub fn with_scope(
        core: usize,
        ownership: PortOwnership,
        range: PortRange,
        scope: PortScope,
        limits: PoolLimits,
    ) -> Result<Self, LaddrError> {
        if core >= ownership.n_workers() {
            return Err(LaddrError::NotAWorker { core, n_workers: ownership.n_workers() });
        }
        let ports = ownership.ports(core, range);
        if ports.is_empty() {
            return Err(LaddrError::NoPortsForWorker { core, lo: range.lo(), hi: range.hi() });
        }
        let max_dests = match scope {
            PortScope::PerDest => limits.max_dests,
            PortScope::PerLaddr => 0,
        };
        Ok(LocalAddrPool {
            core,
            scope,
            limits,
            ports,
            laddrs: Vec::with_capacity(limits.max_laddrs),
            laddr_slots: HashMap::with_capacity(limits.max_laddrs),
            dests: Vec::with_capacity(max_dests),
            dest_slots: HashMap::with_capacity(max_dests),
            active: Vec::with_capacity(limits.max_laddrs),
            next: 0,
            exhausted: 0,
            cursor_seed: 0,
        })
    }

    /// The same pool, whose port sets start at offsets drawn from `seed` instead of at their
    /// first port (0 keeps the first port). A director that restarts starts its sets with a new
    /// seed, so it does not hand out again, from the bottom of the range, the tuples its last run
    /// used and the real servers may still hold in TIME_WAIT.
    pub fn with_cursor_seed(mut self, seed: u64) -> Self {
        self.cursor_seed = seed;
        self
    }

    /// The worker core this pool belongs to.
    pub fn core(&self) -> usize {
        self.core
    }

    /// The pool's scope.
    pub fn scope(&self) -> PortScope {
        self.scope
    }

    /// The ports this core hands out (the same for every pair).
    pub fn ports(&self) -> WorkerPorts {
        self.ports
    }

    /// Allocations refused because every local address was exhausted (or none was configured).
    pub fn exhausted(&self) -> u64 {
        self.exhausted
    }

    /// Adds a local address, or revives one that is draining. Allocates its port sets (one per
    /// active dest, or one in [`PortScope::PerLaddr`]): call on the control path.
    pub fn add_laddr(&mut self, addr: IpAddr) -> Result<(), LaddrError> {
        self.reap();
        if let Some(&slot) = self.laddr_slots.get(&addr) {
            let Some(l) = self.laddrs.get_mut(slot).and_then(Option::as_mut) else {
                return Err(LaddrError::UnknownLaddr(addr));
            };
            if !l.stats.draining {
                return Err(LaddrError::LaddrExists(addr));
            }
            l.stats.draining = false;
            Self::fill_sets(l, self.scope, &self.dests, self.ports.len(), self.cursor_seed);
            self.active.push(slot);
            return Ok(());
        }
        if self.laddr_slots.len() >= self.limits.max_laddrs {
            return Err(LaddrError::TooManyLaddrs(self.limits.max_laddrs));
        }
        let mut l = Laddr { addr, stats: LaddrStats::default(), sets: Vec::new() };
        Self::fill_sets(&mut l, self.scope, &self.dests, self.ports.len(), self.cursor_seed);
        let slot = match self.laddrs.iter().position(Option::is_none) {
            Some(free) => {
                self.laddrs[free] = Some(l);
                free
            }
            None => {
                self.laddrs.push(Some(l));
                self.laddrs.len() - 1
            }
        };
        self.laddr_slots.insert(addr, slot);
        self.active.push(slot);
        Ok(())
    }

    /// Stops new allocations on a local address. Its connections keep their ports; its sets are
    /// freed once they have all been released (see [`LocalAddrPool::reap`]).
    pub fn remove_laddr(&mut self, addr: IpAddr) -> Result<(), LaddrError> {
        let slot = self.laddr_slots.get(&addr).copied();
        let l = slot.and_then(|s| self.laddrs.get_mut(s)).and_then(Option::as_mut);
        match l {
            Some(l) if !l.stats.draining => l.stats.draining = true,
            _ => return Err(LaddrError::UnknownLaddr(addr)),
        }
        self.active.retain(|&s| Some(s) != slot);
        self.reap();
        Ok(())
    }

    /// Adds a dest ([`PortScope::PerDest`]), or revives one that is draining, making a port set
    /// toward it for every active local address: call on the control path. A no-op in
    /// [`PortScope::PerLaddr`].
    pub fn add_dest(&mut self, dest: SocketAddr) -> Result<(), LaddrError> {
        if self.scope == PortScope::PerLaddr {
            return Ok(());
        }
        self.reap();
        let slot = if let Some(&slot) = self.dest_slots.get(&dest) {
            match self.dests.get_mut(slot).and_then(Option::as_mut) {
                Some(d) if d.draining => d.draining = false,
                _ => return Err(LaddrError::DestExists(dest)),
            }
            slot
        } else {
            if self.dest_slots.len() >= self.limits.max_dests {
                return Err(LaddrError::TooManyDests(self.limits.max_dests));
            }
            let d = Dest { addr: dest, draining: false, in_use: 0 };
            let slot = match self.dests.iter().position(Option::is_none) {
                Some(free) => {
                    self.dests[free] = Some(d);
                    free
                }
                None => {
                    self.dests.push(Some(d));
                    self.dests.len() - 1
                }
            };
            self.dest_slots.insert(dest, slot);
            slot
        };
        for &ls in &self.active {
            if let Some(l) = self.laddrs.get_mut(ls).and_then(Option::as_mut) {
                if l.sets.len() <= slot {
                    l.sets.resize_with(slot + 1, || None);
                }
                if let Some(set @ None) = l.sets.get_mut(slot) {
                    *set = Some(new_set(self.cursor_seed, l.addr, slot, self.ports.len()));
                }
            }
        }
        Ok(())
    }

    /// Stops new allocations toward a dest ([`PortScope::PerDest`]); its connections keep their
    /// ports, and its sets are freed once all are released. A no-op in [`PortScope::PerLaddr`].
    pub fn remove_dest(&mut self, dest: SocketAddr) -> Result<(), LaddrError> {
        if self.scope == PortScope::PerLaddr {
            return Ok(());
        }
        let d = self.dest_slots.get(&dest).and_then(|&s| self.dests.get_mut(s)?.as_mut());
        match d {
            Some(d) if !d.draining => d.draining = true,
            _ => return Err(LaddrError::UnknownDest(dest)),
        }
        self.reap();
        Ok(())
    }

    /// Frees the sets of removed local addresses and dests that no connection uses any more.
    /// Deallocates, so it belongs on the control path or the worker's housekeeping, not the
    /// packet path; every add and remove runs it.
    pub fn reap(&mut self) {
        for entry in self.laddrs.iter_mut() {
            if entry.as_ref().is_some_and(|l| l.stats.draining && l.stats.in_use == 0) {
                if let Some(l) = entry.take() {
                    self.laddr_slots.remove(&l.addr);
                }
            }
        }
        for (slot, entry) in self.dests.iter_mut().enumerate() {
            if entry.as_ref().is_some_and(|d| d.draining && d.in_use == 0) {
                if let Some(d) = entry.take() {
                    self.dest_slots.remove(&d.addr);
                }
                for l in self.laddrs.iter_mut().flatten() {
                    if let Some(set) = l.sets.get_mut(slot) {
                        *set = None;
                    }
                }
            }
        }
    }

    /// Picks a local address round-robin and a free local port on it toward `dest`. No
    /// allocation; tries each active local address at most once.
    ///
    /// Errors: [`LaddrError::UnknownDest`] when `dest` was not added or is draining
    /// ([`PortScope::PerDest`]), [`LaddrError::NoLocalAddr`], [`LaddrError::Exhausted`]; the last
    /// two are counted in [`LocalAddrPool::exhausted`].
    #[inline]
    pub fn alloc(&mut self, dest: SocketAddr) -> Result<(IpAddr, u16), LaddrError> {
        let d = match self.scope {
            PortScope::PerLaddr => 0,
            PortScope::PerDest => match self.dest_slots.get(&dest) {
                Some(&s)
                    if self.dests.get(s).and_then(Option::as_ref).is_some_and(|d| !d.draining) =>
                {
                    s
                }
                _ => return Err(LaddrError::UnknownDest(dest)),
            },
        };
        let n = self.active.len();
        if n == 0 {
            self.exhausted += 1;
            return Err(LaddrError::NoLocalAddr);
        }
        let start = self.next % n;
        for i in 0..n {
            let at = (start + i) % n;
            let Some(&slot) = self.active.get(at) else { continue };
            let Some(l) = self.laddrs.get_mut(slot).and_then(Option::as_mut) else { continue };
            let index = l.sets.get_mut(d).and_then(Option::as_mut).and_then(PortSet::alloc);
            let Some(port) = index.and_then(|i| self.ports.port(i)) else {
                l.stats.misses += 1;
                continue;
            };
            l.stats.in_use += 1;
            l.stats.allocs += 1;
            if let Some(dest) = self.dests.get_mut(d).and_then(Option::as_mut) {
                dest.in_use += 1;
            }
            self.next = at + 1;
            return Ok((l.addr, port));
        }
        self.exhausted += 1;
        Err(LaddrError::Exhausted(dest))
    }

    /// The live local address `laddr`, the index of `dest`'s port set in it and `port`'s index
    /// in the sets: the lookup [`LocalAddrPool::reserve`] and [`LocalAddrPool::release`] share.
    #[inline]
    fn locate(
        &mut self,
        laddr: IpAddr,
        port: u16,
        dest: SocketAddr,
    ) -> Result<(&mut Laddr, usize, usize), LaddrError> {
        let l = self.laddr_slots.get(&laddr).and_then(|&s| self.laddrs.get_mut(s)?.as_mut());
        let Some(l) = l else { return Err(LaddrError::UnknownLaddr(laddr)) };
        let d = match self.scope {
            PortScope::PerLaddr => 0,
            PortScope::PerDest => match self.dest_slots.get(&dest) {
                Some(&s) => s,
                None => return Err(LaddrError::UnknownDest(dest)),
            },
        };
        let index = self.ports.index_of(port).ok_or(LaddrError::NotOwned(port))?;
        Ok((l, d, index))
    }

    /// Marks `port` of local address `laddr` toward `dest` as used, as if
    /// [`LocalAddrPool::alloc`] had returned it: for a connection a peer director scheduled
    /// and this one takes over (connection sync); [`LocalAddrPool::release`] gives it back.
    /// The address may be active or draining, as long as its port sets exist. No allocation.
    ///
    /// Errors, with nothing changed: unknown local address or dest (or no port set for the
    /// pair), a port this core does not own ([`LaddrError::NotOwned`]: the connection belongs
    /// on another core), a port already in use ([`LaddrError::InUse`]).
    pub fn reserve(
        &mut self,
        laddr: IpAddr,
        port: u16,
        dest: SocketAddr,
    ) -> Result<(), LaddrError> {
        let (l, d, index) = self.locate(laddr, port, dest)?;
        let Some(set) = l.sets.get_mut(d).and_then(Option::as_mut) else {
            return Err(LaddrError::UnknownDest(dest));
        };
        if !set.reserve(index) {
            return Err(LaddrError::InUse { laddr, port });
        }
        l.stats.in_use += 1;
        l.stats.allocs += 1;
        if let Some(dest) = self.dests.get_mut(d).and_then(Option::as_mut) {
            dest.in_use += 1;
        }
        Ok(())
    }

    /// Gives back a port that [`LocalAddrPool::alloc`] returned for `dest`. Works for removed
    /// (draining) local addresses and dests too. No allocation.
    ///
    /// Errors, with nothing changed: unknown local address or dest, a port this core does not
    /// own, or a port that is not in use.
    #[inline]
    pub fn release(
        &mut self,
        laddr: IpAddr,
        port: u16,
        dest: SocketAddr,
    ) -> Result<(), LaddrError> {
        let (l, d, index) = self.locate(laddr, port, dest)?;
        let set = l.sets.get_mut(d).and_then(Option::as_mut);
        if !set.is_some_and(|s| s.release(index)) {
            return Err(LaddrError::NotAllocated { laddr, port });
        }
        l.stats.in_use -= 1;
        l.stats.releases += 1;
        if let Some(dest) = self.dests.get_mut(d).and_then(Option::as_mut) {
            dest.in_use -= 1;
        }
        Ok(())
    }

    /// Counters of every local address, active ones and draining ones, in slot order.
    pub fn stats(&self) -> impl Iterator<Item = (IpAddr, LaddrStats)> + '_ {
        self.laddrs.iter().flatten().map(|l| (l.addr, l.stats))
    }

    /// Counters of one local address.
    pub fn laddr_stats(&self, addr: IpAddr) -> Option<LaddrStats> {
        let &slot = self.laddr_slots.get(&addr)?;
        self.laddrs.get(slot)?.as_ref().map(|l| l.stats)
    }

    /// Free ports of `laddr` toward `dest` on this core (`dest` is ignored in
    /// [`PortScope::PerLaddr`]); `None` when the pair has no set.
    pub fn free_ports(&self, laddr: IpAddr, dest: SocketAddr) -> Option<usize> {
        let l = self.laddrs.get(*self.laddr_slots.get(&laddr)?)?.as_ref()?;
        let d = match self.scope {
            PortScope::PerLaddr => 0,
            PortScope::PerDest => *self.dest_slots.get(&dest)?,
        };
        l.sets.get(d)?.as_ref().map(PortSet::free)
    }

    /// Active local addresses, in round-robin order.
    pub fn active_laddrs(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.active.iter().filter_map(|&s| self.laddrs.get(s)?.as_ref().map(|l| l.addr))
    }

    /// Makes the missing sets of `l`: one per active dest, or the single one of
    /// [`PortScope::PerLaddr`].
    fn fill_sets(
        l: &mut Laddr,
        scope: PortScope,
        dests: &[Option<Dest>],
        n_ports: usize,
        seed: u64,
    ) {
        let want = match scope {
            PortScope::PerLaddr => 1,
            PortScope::PerDest => dests.len(),
        };
        if l.sets.len() < want {
            l.sets.resize_with(want, || None);
        }
        for (slot, set) in l.sets.iter_mut().enumerate() {
            let active = match scope {
                PortScope::PerLaddr => true,
                PortScope::PerDest => {
                    dests.get(slot).and_then(Option::as_ref).is_some_and(|d| !d.draining)
                }
            };
            if active && set.is_none() {
                *set = Some(new_set(seed, l.addr, slot, n_ports));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
    }

    fn rs(last: u8) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 168, 1, last)), 80)
    }

    /// A pool for worker `core` of `n` over `lo..=hi`.
    fn pool(core: usize, n: usize, lo: u16, hi: u16, scope: PortScope) -> LocalAddrPool {
        let own = PortOwnership::new(n).unwrap();
        let range = PortRange::new(lo, hi).unwrap();
        LocalAddrPool::with_scope(
            core,
            own,
            range,
            scope,
            PoolLimits { max_laddrs: 4, max_dests: 4 },
        )
        .unwrap()
    }

    #[test]
    fn construction_errors() {
        let own = PortOwnership::new(4).unwrap();
        let r = PortRange::new(5000, 5001).unwrap();
        assert_eq!(
            LocalAddrPool::new(4, own, r).unwrap_err(),
            LaddrError::NotAWorker { core: 4, n_workers: 4 }
        );
        // 5000 & 3 == 0, 5001 & 3 == 1: worker 2 owns nothing.
        assert_eq!(
            LocalAddrPool::new(2, own, r).unwrap_err(),
            LaddrError::NoPortsForWorker { core: 2, lo: 5000, hi: 5001 }
        );
        let p = LocalAddrPool::new(1, own, r).unwrap();
        assert_eq!(p.ports().iter().collect::<Vec<_>>(), vec![5001]);
        assert_eq!((p.core(), p.scope()), (1, PortScope::PerDest));
    }

    #[test]
    fn a_cursor_seed_starts_each_set_at_its_own_offset_and_still_hands_out_every_port() {
        let first = |seed: u64| {
            let mut p = pool(0, 1, 2000, 2999, PortScope::PerDest).with_cursor_seed(seed);
            p.add_laddr(ip(1)).unwrap();
            p.add_dest(rs(1)).unwrap();
            p.add_dest(rs(2)).unwrap();
            let a = p.alloc(rs(1)).unwrap().1;
            let b = p.alloc(rs(2)).unwrap().1;
            let mut all = vec![a];
            while let Ok((_, port)) = p.alloc(rs(1)) {
                all.push(port);
            }
            all.sort_unstable();
            assert_eq!(all, (2000..=2999).collect::<Vec<_>>(), "seed {seed}: every port once");
            (a, b)
        };
        assert_eq!(first(0), (2000, 2000), "no seed: the first port");
        let starts: Vec<_> = (1..=8u64).map(first).collect();
        // Eight seeds over 1000 ports: the starts differ (fixed seeds, so this is deterministic).
        let mut a: Vec<_> = starts.iter().map(|s| s.0).collect();
        a.sort_unstable();
        a.dedup();
        assert!(a.len() >= 7, "starts spread: {starts:?}");
        assert!(starts.iter().any(|(a, b)| a != b), "each dest's set has its own offset");
    }

    #[test]
    fn allocates_only_this_cores_ports_and_exhausts() {
        // Worker 1 of 4 over 2000..=2015 owns 2001, 2005, 2009, 2013.
        let mut p = pool(1, 4, 2000, 2015, PortScope::PerDest);
        p.add_laddr(ip(1)).unwrap();
        p.add_dest(rs(1)).unwrap();
        let got: Vec<u16> = (0..4).map(|_| p.alloc(rs(1)).unwrap().1).collect();
        assert_eq!(got, vec![2001, 2005, 2009, 2013]);
        assert_eq!(p.alloc(rs(1)), Err(LaddrError::Exhausted(rs(1))));
        assert_eq!(p.exhausted(), 1);
        let s = p.laddr_stats(ip(1)).unwrap();
        assert_eq!((s.in_use, s.allocs, s.releases, s.misses), (4, 4, 0, 1));
        // A release makes exactly that port available again.
        p.release(ip(1), 2009, rs(1)).unwrap();
        assert_eq!(p.free_ports(ip(1), rs(1)), Some(1));
        assert_eq!(p.alloc(rs(1)), Ok((ip(1), 2009)));
        assert_eq!(p.alloc(rs(1)), Err(LaddrError::Exhausted(rs(1))));
        assert_eq!(p.exhausted(), 2);
    }

    #[test]
    fn same_port_reused_toward_different_dests() {
        let mut p = pool(0, 1, 3000, 3002, PortScope::PerDest);
        p.add_laddr(ip(1)).unwrap();
        for d in 1..=3 {
            p.add_dest(rs(d)).unwrap();
        }
        for d in 1..=3 {
            let got: Vec<u16> = (0..3).map(|_| p.alloc(rs(d)).unwrap().1).collect();
            assert_eq!(got, vec![3000, 3001, 3002], "dest {d}");
        }
        assert!(p.alloc(rs(1)).is_err());
        assert_eq!(p.laddr_stats(ip(1)).unwrap().in_use, 9);
        // Releasing toward one dest frees nothing toward another.
        p.release(ip(1), 3001, rs(2)).unwrap();
        assert_eq!(p.free_ports(ip(1), rs(1)), Some(0));
        assert_eq!(p.free_ports(ip(1), rs(2)), Some(1));
        assert_eq!(
            p.release(ip(1), 3001, rs(2)),
            Err(LaddrError::NotAllocated { laddr: ip(1), port: 3001 })
        );
    }

    #[test]
    fn reserve_takes_a_given_port_that_alloc_then_skips() {
        // Two workers: worker 0 owns the even ports of 3000..=3005.
        let mut p = pool(0, 2, 3000, 3005, PortScope::PerDest);
        p.add_laddr(ip(1)).unwrap();
        p.add_dest(rs(1)).unwrap();
        p.reserve(ip(1), 3002, rs(1)).unwrap();
        assert_eq!(p.laddr_stats(ip(1)).unwrap().in_use, 1);
        assert_eq!(
            p.reserve(ip(1), 3002, rs(1)),
            Err(LaddrError::InUse { laddr: ip(1), port: 3002 })
        );
        assert_eq!(p.reserve(ip(1), 3001, rs(1)), Err(LaddrError::NotOwned(3001)));
        assert_eq!(p.reserve(ip(2), 3000, rs(1)), Err(LaddrError::UnknownLaddr(ip(2))));
        assert_eq!(p.reserve(ip(1), 3000, rs(2)), Err(LaddrError::UnknownDest(rs(2))));
        // Allocation steps over the reserved port; release gives it back.
        let got: Vec<u16> = (0..2).map(|_| p.alloc(rs(1)).unwrap().1).collect();
        assert_eq!(got, vec![3000, 3004]);
        assert!(p.alloc(rs(1)).is_err());
        p.release(ip(1), 3002, rs(1)).unwrap();
        assert_eq!(p.alloc(rs(1)).unwrap().1, 3002);
    }

    #[test]
    fn per_laddr_scope_ignores_dests() {
        let mut p = pool(0, 1, 3000, 3001, PortScope::PerLaddr);
        p.add_laddr(ip(9)).unwrap();
        assert_eq!(p.add_dest(rs(1)), Ok(())); // no-op
        assert_eq!(p.alloc(rs(1)), Ok((ip(9), 3000)));
        assert_eq!(p.alloc(rs(2)), Ok((ip(9), 3001)));
        assert_eq!(p.alloc(rs(3)), Err(LaddrError::Exhausted(rs(3))));
        p.release(ip(9), 3000, rs(7)).unwrap(); // any dest
        assert_eq!(p.alloc(rs(4)), Ok((ip(9), 3000)));
    }

    #[test]
    fn round_robin_over_laddrs_skipping_exhausted_ones() {
        let mut p = pool(0, 1, 3000, 3003, PortScope::PerDest);
        for l in 1..=3 {
            p.add_laddr(ip(l)).unwrap();
        }
        p.add_dest(rs(1)).unwrap();
        let order: Vec<IpAddr> = (0..6).map(|_| p.alloc(rs(1)).unwrap().0).collect();
        assert_eq!(order, vec![ip(1), ip(2), ip(3), ip(1), ip(2), ip(3)]);
        // Exhaust ip(2): 2 more ports from it.
        let mut ports2 = Vec::new();
        for _ in 0..6 {
            let (l, port) = p.alloc(rs(1)).unwrap();
            if l == ip(2) {
                ports2.push(port);
            }
        }
        assert_eq!(ports2, vec![3002, 3003]);
        // Everything exhausted now (12 ports over 3 addresses).
        assert_eq!(p.alloc(rs(1)), Err(LaddrError::Exhausted(rs(1))));
        for l in 1..=3 {
            assert_eq!(p.laddr_stats(ip(l)).unwrap().misses, 1);
        }
        // Free one port on ip(2): the next allocation finds it.
        p.release(ip(2), 3001, rs(1)).unwrap();
        assert_eq!(p.alloc(rs(1)), Ok((ip(2), 3001)));
        // The cursor was back at ip(1), which missed once more on the way.
        let misses: Vec<u64> = (1..=3).map(|l| p.laddr_stats(ip(l)).unwrap().misses).collect();
        assert_eq!(misses, vec![2, 1, 1]);
    }

    #[test]
    fn errors_on_unknown_and_duplicate_entries() {
        let mut p = pool(0, 1, 3000, 3003, PortScope::PerDest);
        assert_eq!(p.alloc(rs(1)), Err(LaddrError::UnknownDest(rs(1))));
        p.add_dest(rs(1)).unwrap();
        assert_eq!(p.alloc(rs(1)), Err(LaddrError::NoLocalAddr));
        assert_eq!(p.exhausted(), 1);
        p.add_laddr(ip(1)).unwrap();
        assert_eq!(p.add_laddr(ip(1)), Err(LaddrError::LaddrExists(ip(1))));
        assert_eq!(p.add_dest(rs(1)), Err(LaddrError::DestExists(rs(1))));
        assert_eq!(p.remove_laddr(ip(2)), Err(LaddrError::UnknownLaddr(ip(2))));
        assert_eq!(p.remove_dest(rs(2)), Err(LaddrError::UnknownDest(rs(2))));
        for l in 2..=4 {
            p.add_laddr(ip(l)).unwrap();
        }
        assert_eq!(p.add_laddr(ip(5)), Err(LaddrError::TooManyLaddrs(4)));
        for d in 2..=4 {
            p.add_dest(rs(d)).unwrap();
        }
        assert_eq!(p.add_dest(rs(5)), Err(LaddrError::TooManyDests(4)));
        // Release errors leave the counters alone.
        let (l, port) = p.alloc(rs(1)).unwrap();
        let before: Vec<_> = p.stats().collect();
        assert_eq!(p.release(ip(9), port, rs(1)), Err(LaddrError::UnknownLaddr(ip(9))));
        assert_eq!(p.release(l, port, rs(9)), Err(LaddrError::UnknownDest(rs(9))));
        assert_eq!(p.release(l, 80, rs(1)), Err(LaddrError::NotOwned(80)));
        assert_eq!(
            p.release(l, 3003, rs(1)),
            Err(LaddrError::NotAllocated { laddr: l, port: 3003 })
        );
        assert_eq!(p.stats().collect::<Vec<_>>(), before);
    }

    #[test]
    fn removed_laddr_keeps_ports_until_released() {
        let mut p = pool(0, 1, 3000, 3003, PortScope::PerDest);
        p.add_laddr(ip(1)).unwrap();
        p.add_laddr(ip(2)).unwrap();
        p.add_dest(rs(1)).unwrap();
        let a = p.alloc(rs(1)).unwrap();
        assert_eq!(a, (ip(1), 3000));
        p.remove_laddr(ip(1)).unwrap();
        assert_eq!(p.remove_laddr(ip(1)), Err(LaddrError::UnknownLaddr(ip(1))));
        // No new allocations on ip(1).
        for _ in 0..4 {
            assert_eq!(p.alloc(rs(1)).unwrap().0, ip(2));
        }
        assert_eq!(p.alloc(rs(1)), Err(LaddrError::Exhausted(rs(1))));
        assert_eq!(p.active_laddrs().collect::<Vec<_>>(), vec![ip(2)]);
        let s = p.laddr_stats(ip(1)).unwrap();
        assert!(s.draining && s.in_use == 1);
        // Re-adding while draining revives it with port 3000 still taken.
        p.add_laddr(ip(1)).unwrap();
        assert_eq!(p.alloc(rs(1)), Ok((ip(1), 3001)));
        // Remove again and release everything: the entry goes away.
        p.remove_laddr(ip(1)).unwrap();
        p.release(ip(1), 3000, rs(1)).unwrap();
        assert!(p.laddr_stats(ip(1)).is_some(), "freed by reap, not by release");
        p.release(ip(1), 3001, rs(1)).unwrap();
        p.reap();
        assert_eq!(p.laddr_stats(ip(1)), None);
        assert_eq!(p.stats().map(|(a, _)| a).collect::<Vec<_>>(), vec![ip(2)]);
        // A fresh ip(1) starts from zero.
        p.add_laddr(ip(1)).unwrap();
        assert_eq!(p.laddr_stats(ip(1)), Some(LaddrStats::default()));
        assert_eq!(p.free_ports(ip(1), rs(1)), Some(4));
    }

    #[test]
    fn removed_dest_keeps_ports_until_released() {
        let mut p = pool(0, 1, 3000, 3001, PortScope::PerDest);
        p.add_laddr(ip(1)).unwrap();
        p.add_dest(rs(1)).unwrap();
        p.add_dest(rs(2)).unwrap();
        assert_eq!(p.alloc(rs(1)), Ok((ip(1), 3000)));
        p.remove_dest(rs(1)).unwrap();
        assert_eq!(p.alloc(rs(1)), Err(LaddrError::UnknownDest(rs(1))));
        assert_eq!(p.exhausted(), 0, "an unknown dest is not exhaustion");
        // Back before its connection ended: 3000 is still taken.
        p.add_dest(rs(1)).unwrap();
        assert_eq!(p.alloc(rs(1)), Ok((ip(1), 3001)));
        p.remove_dest(rs(1)).unwrap();
        p.release(ip(1), 3000, rs(1)).unwrap();
        p.release(ip(1), 3001, rs(1)).unwrap();
        p.reap();
        assert_eq!(p.free_ports(ip(1), rs(1)), None);
        assert_eq!(p.release(ip(1), 3000, rs(1)), Err(LaddrError::UnknownDest(rs(1))));
        // Fresh again.
        p.add_dest(rs(1)).unwrap();
        assert_eq!(p.free_ports(ip(1), rs(1)), Some(2));
        assert_eq!(p.free_ports(ip(1), rs(2)), Some(2));
        assert_eq!(p.laddr_stats(ip(1)).unwrap().in_use, 0);
    }

    #[test]
    fn dest_added_while_laddr_draining_gets_sets_on_revival() {
        let mut p = pool(0, 1, 3000, 3001, PortScope::PerDest);
        p.add_laddr(ip(1)).unwrap();
        p.add_dest(rs(1)).unwrap();
        p.alloc(rs(1)).unwrap();
        p.remove_laddr(ip(1)).unwrap();
        p.add_dest(rs(2)).unwrap();
        assert_eq!(p.free_ports(ip(1), rs(2)), None);
        p.add_laddr(ip(1)).unwrap();
        assert_eq!(p.free_ports(ip(1), rs(2)), Some(2));
        assert_eq!(p.free_ports(ip(1), rs(1)), Some(1));
    }

    /// One step of a random workload.
    #[derive(Debug, Clone)]
    enum Op {
        Alloc(u8),
        Release(usize),
        AddLaddr(u8),
        RemoveLaddr(u8),
        AddDest(u8),
        RemoveDest(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0u8..4).prop_map(Op::Alloc),
            4 => any::<usize>().prop_map(Op::Release),
            1 => (0u8..4).prop_map(Op::AddLaddr),
            1 => (0u8..4).prop_map(Op::RemoveLaddr),
            1 => (0u8..4).prop_map(Op::AddDest),
            1 => (0u8..4).prop_map(Op::RemoveDest),
        ]
    }

    proptest! {
        #[test]
        fn never_hands_out_a_port_twice(
            n in 1usize..=6, core_pick in any::<usize>(), per_laddr in any::<bool>(),
            ops in proptest::collection::vec(op(), 0..300),
        ) {
            let core = core_pick % n;
            let scope = if per_laddr { PortScope::PerLaddr } else { PortScope::PerDest };
            let own = PortOwnership::new(n).unwrap();
            // 64 ports: 8..64 per core.
            let range = PortRange::new(4000, 4063).unwrap();
            let limits = PoolLimits { max_laddrs: 3, max_dests: 3 };
            let mut p = LocalAddrPool::with_scope(core, own, range, scope, limits).unwrap();
            let key = |d: SocketAddr| if per_laddr { rs(0) } else { d };
            // Model: live (laddr, port, dest) tuples.
            let mut live: Vec<(IpAddr, u16, SocketAddr)> = Vec::new();
            for op in ops {
                match op {
                    Op::Alloc(d) => {
                        if let Ok((l, port)) = p.alloc(rs(d)) {
                            prop_assert!(own.owner_of(port) == Some(core) && range.contains(port));
                            prop_assert!(
                                !live.iter().any(|&(l2, p2, d2)| l2 == l && p2 == port && key(d2) == key(rs(d))),
                                "{}:{} handed out twice toward {}", l, port, rs(d)
                            );
                            live.push((l, port, rs(d)));
                        }
                    }
                    Op::Release(i) if !live.is_empty() => {
                        let (l, port, d) = live.swap_remove(i % live.len());
                        prop_assert_eq!(p.release(l, port, d), Ok(()));
                        prop_assert_eq!(p.release(l, port, d).is_err(), true);
                    }
                    Op::Release(_) => {}
                    Op::AddLaddr(l) => { let _ = p.add_laddr(ip(l)); }
                    Op::RemoveLaddr(l) => { let _ = p.remove_laddr(ip(l)); }
                    Op::AddDest(d) => { let _ = p.add_dest(rs(d)); }
                    Op::RemoveDest(d) => { let _ = p.remove_dest(rs(d)); }
                }
                // Counters agree with the model for every address the pool still knows.
                for (addr, s) in p.stats() {
                    let in_use = live.iter().filter(|&&(l, _, _)| l == addr).count() as u64;
                    prop_assert_eq!(s.in_use, in_use);
                    prop_assert_eq!(s.allocs - s.releases, s.in_use);
                }
                // An address with live ports is never forgotten.
                for &(l, _, _) in &live {
                    prop_assert!(p.laddr_stats(l).is_some());
                }
            }
            // Release everything; every known address ends at zero in use.
            for (l, port, d) in live.drain(..) {
                prop_assert_eq!(p.release(l, port, d), Ok(()));
            }
            for (_, s) in p.stats() {
                prop_assert_eq!(s.in_use, 0);
            }
        }
    }
}
