//! Which worker core owns which local port, so that both directions of a FULLNAT/SNAT flow meet
//! on one core.
//!
//! Owns [`PortRange`], [`PortOwnership`] and [`WorkerPorts`]: arithmetic only, no state. The
//! worker count comes from the daemon's core list, the range from the service or global config.
//!
//! Worker `k` of `n` owns the local ports `p` with `p & mask == k`, where
//! `mask = n.next_power_of_two() - 1`. Replies come back to the local port the director chose, so
//! a NIC flow rule on `dst_port & mask` (or [`PortOwnership::owner_of`] in software, followed by a
//! hand-off to that core) brings them to the core that holds the connection.
//!
//! When `n` is not a power of two, the residues `n..=mask` belong to no worker: those ports are
//! never allocated and [`PortOwnership::owner_of`] returns `None` for them. Every worker still owns
//! one port in `mask + 1`, the share it would have with `mask + 1` workers, so the cost is that
//! `(mask + 1 - n) / (mask + 1)` of the range stays unused (a quarter for 3 or 6 workers).

use super::LaddrError;

/// Most worker cores a [`PortOwnership`] accepts.
pub const MAX_WORKERS: usize = 1024;

/// An inclusive range of local ports the director may allocate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    lo: u16,
    hi: u16,
}

impl PortRange {
    /// 1024..=65535: every port outside the well-known ones.
    pub const DEFAULT: PortRange = PortRange { lo: 1024, hi: 65535 };

    /// `lo..=hi`; refused when empty or when it includes port 0.
    pub fn new(lo: u16, hi: u16) -> Result<Self, LaddrError> {
        if lo == 0 || lo > hi {
            return Err(LaddrError::InvalidPortRange { lo, hi });
        }
        Ok(PortRange { lo, hi })
    }

    /// First port.
    pub const fn lo(&self) -> u16 {
        self.lo
    }

    /// Last port (included).
    pub const fn hi(&self) -> u16 {
        self.hi
    }

    /// Number of ports in the range.
    pub const fn len(&self) -> u32 {
        self.hi as u32 - self.lo as u32 + 1
    }

    /// Always false: a range holds at least one port.
    pub const fn is_empty(&self) -> bool {
        false
    }

    /// Whether `port` is inside.
    pub const fn contains(&self, port: u16) -> bool {
        self.lo <= port && port <= self.hi
    }
}

impl Default for PortRange {
    fn default() -> Self {
        PortRange::DEFAULT
    }
}

/// How local ports are split between `n_workers` worker cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortOwnership {
    mask: u16,
    n_workers: u16,
}

impl PortOwnership {
    /// The split for `n_workers` cores (`1..=MAX_WORKERS`).
    pub fn new(n_workers: usize) -> Result<Self, LaddrError> {
        if n_workers == 0 || n_workers > MAX_WORKERS {
            return Err(LaddrError::InvalidWorkerCount(n_workers));
        }
        let mask = n_workers.next_power_of_two() - 1;
        Ok(PortOwnership { mask: mask as u16, n_workers: n_workers as u16 })
    }

    /// `n_workers.next_power_of_two() - 1`: the bits of a port that name its owner. This is the
    /// mask of the NIC flow rule that steers replies.
    pub const fn mask(&self) -> u16 {
        self.mask
    }

    /// Number of worker cores.
    pub const fn n_workers(&self) -> usize {
        self.n_workers as usize
    }

    /// The worker that owns `port`, or `None` when `port & mask >= n_workers` (no worker
    /// allocates such a port, so a packet to it is not a reply to one of ours).
    #[inline]
    pub const fn owner_of(&self, port: u16) -> Option<usize> {
        let k = (port & self.mask) as usize;
        if k < self.n_workers as usize {
            Some(k)
        } else {
            None
        }
    }

    /// The ports of `range` that `worker` owns; empty when `worker >= n_workers`.
    pub fn ports(&self, worker: usize, range: PortRange) -> WorkerPorts {
        let step = u32::from(self.mask) + 1;
        if worker >= self.n_workers() {
            return WorkerPorts { first: 0, step, count: 0 };
        }
        let k = worker as u32;
        let lo = u32::from(range.lo);
        let hi = u32::from(range.hi);
        // Smallest p >= lo with p & mask == k.
        let base = lo & !u32::from(self.mask);
        let first = if base + k >= lo { base + k } else { base + step + k };
        let count = if first > hi { 0 } else { (hi - first) / step + 1 };
        WorkerPorts { first, step, count }
    }
}

/// The ports one worker owns inside a [`PortRange`], in ascending order: `first + i * step` for
/// `i < len()`. Maps ports to dense indices and back in O(1), which the pools use as bit numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WorkerPorts {
    first: u32,
    step: u32,
    count: u32,
}

impl WorkerPorts {
    /// Number of ports.
    pub const fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether the worker owns no port of the range.
    pub const fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The `index`-th port, if `index < len()`.
    #[inline]
    pub fn port(&self, index: usize) -> Option<u16> {
        if index >= self.len() {
            return None;
        }
        u16::try_from(self.first + index as u32 * self.step).ok()
    }

    /// The index of `port`, if this worker owns it inside the range.
    #[inline]
    pub fn index_of(&self, port: u16) -> Option<usize> {
        let p = u32::from(port);
        if p < self.first || (p - self.first) % self.step != 0 {
            return None;
        }
        let i = (p - self.first) / self.step;
        if i < self.count {
            Some(i as usize)
        } else {
            None
        }
    }

    /// Whether the worker owns `port` inside the range.
    pub fn contains(&self, port: u16) -> bool {
        self.index_of(port).is_some()
    }

    /// The ports, ascending.
    pub fn iter(&self) -> WorkerPortsIter {
        WorkerPortsIter { ports: *self, next: 0 }
    }
}

impl IntoIterator for WorkerPorts {
    type Item = u16;
    type IntoIter = WorkerPortsIter;
    fn into_iter(self) -> WorkerPortsIter {
        self.iter()
    }
}

/// Iterator over [`WorkerPorts`].
#[derive(Debug, Clone)]
pub struct WorkerPortsIter {
    ports: WorkerPorts,
    next: usize,
}

impl Iterator for WorkerPortsIter {
    type Item = u16;

    fn next(&mut self) -> Option<u16> {
        let p = self.ports.port(self.next)?;
        self.next += 1;
        Some(p)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.ports.len().saturating_sub(self.next);
        (n, Some(n))
    }
}

impl ExactSizeIterator for WorkerPortsIter {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NS: [usize; 6] = [1, 2, 3, 4, 6, 8];

    #[test]
    fn mask_is_next_power_of_two_minus_one() {
        let masks: Vec<u16> = NS.iter().map(|&n| PortOwnership::new(n).unwrap().mask()).collect();
        assert_eq!(masks, vec![0, 1, 3, 3, 7, 7]);
        assert_eq!(PortOwnership::new(0), Err(LaddrError::InvalidWorkerCount(0)));
        assert!(PortOwnership::new(MAX_WORKERS + 1).is_err());
        assert!(PortOwnership::new(MAX_WORKERS).is_ok());
    }

    #[test]
    fn every_port_has_at_most_one_owner_and_it_is_the_iterators() {
        let range = PortRange::DEFAULT;
        for n in NS {
            let own = PortOwnership::new(n).unwrap();
            let mut owners = vec![0u8; 65536];
            let mut by_worker = vec![usize::MAX; 65536];
            for k in 0..n {
                for p in own.ports(k, range) {
                    owners[usize::from(p)] += 1;
                    by_worker[usize::from(p)] = k;
                }
            }
            for p in 0..=u16::MAX {
                let idx = usize::from(p);
                let expected = usize::from(p & own.mask());
                if !range.contains(p) {
                    assert_eq!(owners[idx], 0, "n={n} port {p} outside the range");
                    continue;
                }
                match own.owner_of(p) {
                    Some(k) => {
                        assert_eq!(k, expected);
                        assert_eq!(owners[idx], 1, "n={n} port {p}");
                        assert_eq!(by_worker[idx], k, "n={n} port {p}");
                    }
                    None => {
                        assert!(expected >= n, "n={n} port {p} should be owned");
                        assert_eq!(owners[idx], 0, "n={n} port {p}");
                    }
                }
            }
            if n.is_power_of_two() {
                // No port of the range is left without an owner.
                let owned: usize = owners.iter().map(|&c| usize::from(c)).sum();
                assert_eq!(owned, range.len() as usize, "n={n}");
            } else {
                let unowned = range.iter_all().filter(|&p| own.owner_of(p).is_none()).count();
                assert!(unowned > 0, "n={n}");
            }
        }
    }

    #[test]
    fn a_workers_ports_are_its_own_and_ascending() {
        for n in NS {
            let own = PortOwnership::new(n).unwrap();
            for k in 0..n {
                let ports = own.ports(k, PortRange::DEFAULT);
                let v: Vec<u16> = ports.iter().collect();
                assert_eq!(v.len(), ports.len());
                assert!(v.windows(2).all(|w| w[0] < w[1]));
                assert!(v.iter().all(|&p| own.owner_of(p) == Some(k) && p >= 1024));
                // Dense index round trip.
                for (i, &p) in v.iter().enumerate() {
                    assert_eq!(ports.index_of(p), Some(i));
                    assert_eq!(ports.port(i), Some(p));
                }
                assert_eq!(ports.port(v.len()), None);
                // 64512 ports split over mask + 1 residues (64512 is a multiple of 8).
                assert_eq!(v.len(), 64512 / (usize::from(own.mask()) + 1));
            }
            // Workers past the count own nothing.
            assert!(own.ports(n, PortRange::DEFAULT).is_empty());
            assert_eq!(own.ports(n + 5, PortRange::DEFAULT).iter().count(), 0);
        }
    }

    #[test]
    fn small_and_odd_ranges() {
        let own = PortOwnership::new(4).unwrap();
        let r = PortRange::new(1001, 1010).unwrap();
        let got: Vec<Vec<u16>> =
            (0..4).map(|k| own.ports(k, r).iter().collect::<Vec<_>>()).collect();
        assert_eq!(got[0], vec![1004, 1008]);
        assert_eq!(got[1], vec![1001, 1005, 1009]);
        assert_eq!(got[2], vec![1002, 1006, 1010]);
        assert_eq!(got[3], vec![1003, 1007]);
        // A range too small for every worker.
        let one = PortRange::new(5000, 5000).unwrap();
        assert_eq!(own.ports(0, one).iter().collect::<Vec<_>>(), vec![5000]);
        assert!(own.ports(1, one).is_empty());
        // The very top of the port space.
        let top = PortRange::new(65530, 65535).unwrap();
        assert_eq!(own.ports(3, top).iter().collect::<Vec<_>>(), vec![65531, 65535]);
        assert_eq!(own.ports(3, top).index_of(65535), Some(1));
        assert_eq!(own.ports(3, top).index_of(65534), None);
        assert_eq!(own.ports(3, top).index_of(1), None);
    }

    #[test]
    fn invalid_ranges() {
        assert_eq!(PortRange::new(0, 10), Err(LaddrError::InvalidPortRange { lo: 0, hi: 10 }));
        assert_eq!(PortRange::new(10, 9), Err(LaddrError::InvalidPortRange { lo: 10, hi: 9 }));
        assert_eq!(PortRange::new(1, 65535).unwrap().len(), 65535);
        assert_eq!(PortRange::default(), PortRange::DEFAULT);
    }

    impl PortRange {
        fn iter_all(&self) -> impl Iterator<Item = u16> {
            self.lo..=self.hi
        }
    }

    proptest! {
        #[test]
        fn ports_match_a_filter(n in 1usize..=64, lo in 1u16..=u16::MAX, len in 0u16..600) {
            let hi = lo.saturating_add(len);
            let r = PortRange::new(lo, hi).unwrap();
            let own = PortOwnership::new(n).unwrap();
            for k in 0..n + 1 {
                let got: Vec<u16> = own.ports(k, r).iter().collect();
                let want: Vec<u16> = (lo..=hi)
                    .filter(|&p| k < n && usize::from(p & own.mask()) == k)
                    .collect();
                prop_assert_eq!(got, want);
            }
        }
    }
}
