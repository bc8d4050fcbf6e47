//! How a core's books take in a new configuration snapshot ([`Book::apply`], control path:
//! allocation allowed, never called per packet).
//!
//! One step per responsibility, in this order: forget slots nothing refers to any more; find or
//! create the slot of each service and of each of its dests by key and refresh it (dest
//! settings and scheduler views, then the service's scheduler, persistence, core steering and
//! local addresses); move dests in or out of their service's FULLNAT port pool; stop
//! scheduling for removed services; then the SNAT WAN pools and the SNAT rules' counts. See
//! `book.rs` for what a slot is and why slots outlive snapshots.

use std::net::{IpAddr, Ipv4Addr};

use hashbrown::HashMap;

use crate::ipvs::conn::{FwdMethod, NO_INDEX};
use crate::ipvs::counters::TrafficCounters;
use crate::ipvs::dest::CoreThresholds;
use crate::ipvs::dest::Dest;
use crate::ipvs::laddr::{LocalAddrPool, PoolLimits, PortScope};
use crate::ipvs::limits::SvcLimits;
use crate::ipvs::sched::DestView;
use crate::ipvs::sched::MhTableSize;
use crate::ipvs::service::{Service, Services};
use crate::ipvs::spec::Protocol;

use super::book::{reuse_or_push, sock, Book, DestSlot, SnatSlot, SvcSlot};
use super::Egress;

/// Slots of the services (protocol, VIP, port) and dests (service slot, address, port) in use
/// before a snapshot is applied.
struct Keys {
    svcs: HashMap<(Protocol, Ipv4Addr, u16), u32>,
    dests: HashMap<(u32, Ipv4Addr, u16), u32>,
}

/// Where the packets toward dests leave, for their MTU and tunnel source address.
struct Egresses<'a> {
    egress: &'a dyn Egress,
    default_mtu: u16,
}

impl Book {
    /// Takes in a new snapshot (control path: allocation allowed). `egress` tells the MTU and
    /// source address toward each dest.
    pub fn apply(&mut self, snap: &Services, egress: &dyn Egress, default_mtu: u16) {
        self.forget_unreferenced();
        let keys = self.keys_in_use();
        self.mark_all_removed();
        self.svc_of_snap.clear();
        let out = Egresses { egress, default_mtu };
        for svc in snap.services() {
            let slot = self.service_slot(svc, &keys);
            self.svc_of_snap.push(slot);
            let dests = snap.dests_of(svc);
            let (views, view_dest) = self.apply_dests(slot, dests, &keys, &out);
            self.apply_service(slot, svc, dests, snap.mh_table_size(), views, view_dest);
        }
        self.sync_dest_pools();
        self.retire_removed_services();
        self.apply_snat_pools(snap);
        self.apply_snat_rules(snap);
    }

    pub(super) fn new_pool(&self, scope: PortScope) -> Option<LocalAddrPool> {
        // Balancer::new checked that this core owns ports of the range.
        LocalAddrPool::with_scope(
            self.core,
            self.ownership,
            self.range,
            scope,
            PoolLimits::default(),
        )
        .ok()
        .map(|p| p.with_cursor_seed(self.port_cursor_seed))
    }

    /// Frees the slots that are removed and that no connection or template names any more.
    fn forget_unreferenced(&mut self) {
        for s in &mut self.svcs {
            if !s.live && s.refs == 0 && !s.free {
                s.free = true;
                s.sched = None;
                s.pool = None;
                s.views = Vec::new();
                s.view_dest = Vec::new();
            }
        }
        for d in &mut self.dests {
            if !d.live && d.refs == 0 {
                d.free = true;
            }
        }
    }

    fn keys_in_use(&self) -> Keys {
        let svcs = self
            .svcs
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.free)
            .map(|(i, s)| ((s.proto, s.addr, s.port), i as u32))
            .collect();
        let dests = self
            .dests
            .iter()
            .enumerate()
            .filter(|(_, d)| !d.free)
            .map(|(i, d)| ((d.svc, d.addr, d.port), i as u32))
            .collect();
        Keys { svcs, dests }
    }

    /// Every service and dest counts as removed until the snapshot names it again.
    fn mark_all_removed(&mut self) {
        for s in &mut self.svcs {
            s.live = false;
        }
        for d in &mut self.dests {
            d.live = false;
        }
    }

    /// The slot of `svc`: the one it had, or a new (or reused) one.
    fn service_slot(&mut self, svc: &Service, keys: &Keys) -> u32 {
        if let Some(&i) = keys.svcs.get(&(svc.proto, svc.addr, svc.port)) {
            return i;
        }
        let new = SvcSlot {
            proto: svc.proto,
            addr: svc.addr,
            port: svc.port,
            live: true,
            free: false,
            sched_kind: svc.sched,
            sched_flags: svc.flags,
            sched: None,
            views: Vec::new(),
            view_dest: Vec::new(),
            persistence: None,
            netmask: Ipv4Addr::BROADCAST,
            steer_mask: None,
            one_packet: false,
            toa: false,
            synproxy: false,
            sloppy: false,
            limits: None,
            conn_share: 0,
            conns: 0,
            pool: None,
            laddrs: Vec::new(),
            refs: 0,
            stats: TrafficCounters::default(),
        };
        reuse_or_push(&mut self.svcs, |s| s.free, new)
    }

    /// Finds or creates the slot of each dest of service slot `slot` and refreshes its
    /// settings; returns the scheduler's views of them and the slot of each view.
    fn apply_dests(
        &mut self,
        slot: u32,
        dests: &[Dest],
        keys: &Keys,
        out: &Egresses<'_>,
    ) -> (Vec<DestView>, Vec<u32>) {
        let mut views = Vec::new();
        let mut view_dest = Vec::new();
        for d in dests {
            let (mtu, src) = out.egress.egress(d.addr).unwrap_or((out.default_mtu, None));
            let thresholds = CoreThresholds::new(d.upper, d.lower, self.core, self.n_cores);
            let di = match keys.dests.get(&(slot, d.addr, d.port)) {
                Some(&i) => i,
                None => reuse_or_push(
                    &mut self.dests,
                    |x| x.free,
                    DestSlot {
                        svc: slot,
                        addr: d.addr,
                        port: d.port,
                        live: true,
                        free: false,
                        fwd: d.fwd,
                        weight: 0,
                        thresholds,
                        overloaded: false,
                        tun: None,
                        tun_src: None,
                        mtu,
                        in_pool: false,
                        active: 0,
                        inactive: 0,
                        persist: 0,
                        refs: 0,
                        stats: TrafficCounters::default(),
                    },
                ),
            };
            if let Some(x) = self.dests.get_mut(di as usize) {
                x.live = true;
                x.free = false;
                x.fwd = d.fwd;
                x.weight = d.weight;
                x.thresholds = thresholds;
                x.overloaded = thresholds.overloaded_now(x.total(), x.overloaded);
                x.tun = d.tun;
                x.tun_src = src;
                x.mtu = mtu;
                let mut v = DestView::new(IpAddr::V4(d.addr), d.port, d.weight);
                v.available = !x.overloaded;
                views.push(v);
                view_dest.push(di);
            }
        }
        (views, view_dest)
    }

    /// Refreshes service slot `slot` from `svc` and its `dests`: scheduler, persistence, core
    /// steering, local addresses.
    fn apply_service(
        &mut self,
        slot: u32,
        svc: &Service,
        dests: &[Dest],
        mh_table_size: MhTableSize,
        views: Vec<DestView>,
        view_dest: Vec<u32>,
    ) {
        let pool_wanted =
            !svc.laddrs.is_empty() || dests.iter().any(|d| d.fwd == FwdMethod::FullNat);
        let new_pool = if pool_wanted && self.svcs[slot as usize].pool.is_none() {
            self.new_pool(PortScope::PerDest)
        } else {
            None
        };
        let (core, n_cores) = (self.core, self.n_cores);
        let s = &mut self.svcs[slot as usize];
        s.live = true;
        s.free = false;
        if s.sched.is_none() || s.sched_kind != svc.sched || s.sched_flags != svc.flags {
            s.sched = Some(svc.sched.build(svc.flags, core, n_cores, mh_table_size));
            s.sched_kind = svc.sched;
            s.sched_flags = svc.flags;
        }
        if let Some(sched) = s.sched.as_mut() {
            sched.update(&views);
        }
        s.views = views;
        s.view_dest = view_dest;
        s.persistence = svc.persistence;
        s.netmask = svc.netmask;
        s.one_packet = svc.one_packet;
        s.toa = svc.toa;
        s.synproxy = svc.synproxy;
        s.sloppy = svc.sloppy;
        s.limits = svc.limits.clone();
        s.conn_share =
            svc.limits.as_ref().map_or(0, |l| SvcLimits::core_share(l.conn_limit, n_cores));
        if s.pool.is_none() {
            s.pool = new_pool;
        }
        self.apply_steering(slot, svc, dests);
        self.apply_laddrs(slot, svc);
    }

    /// The core steering of service slot `slot` (see `Steering` in `book.rs`), remembered for
    /// the life of the process.
    fn apply_steering(&mut self, slot: u32, svc: &Service, dests: &[Dest]) {
        let has_nat = dests.iter().any(|d| d.fwd == FwdMethod::Masq);
        let has_fullnat = dests.iter().any(|d| d.fwd == FwdMethod::FullNat);
        let mask = if self.n_cores < 2 {
            None
        } else if has_nat || has_fullnat {
            // Replies from a NAT dest are steered by the client address alone (see
            // `steer_core`), so the connection must live where that address points. A FULLNAT
            // connection's replies find it by local port, but its client's later packets can
            // reach any core (RSS spreads a flow over queues when one is full, as af_packet's
            // fanout does): the core the client address points to owns it, whichever core
            // took the SYN, so every client packet of it can be handed there.
            Some(Ipv4Addr::BROADCAST)
        } else {
            // One core holds a client network's persistence template.
            svc.persistence.map(|_| svc.netmask)
        };
        self.svcs[slot as usize].steer_mask = mask;
        if let Some(mask) = mask {
            self.steering.services.insert((svc.proto.ip_proto(), svc.addr, svc.port), mask);
        }
        if self.n_cores >= 2 {
            for d in dests.iter().filter(|d| d.fwd == FwdMethod::Masq) {
                self.steering.nat_dests.insert((d.addr, d.port));
            }
        }
    }

    /// Brings the local addresses of service slot `slot`'s port pool to `svc`'s.
    fn apply_laddrs(&mut self, slot: u32, svc: &Service) {
        let s = &mut self.svcs[slot as usize];
        if let Some(pool) = s.pool.as_mut() {
            for old in s.laddrs.iter().filter(|a| !svc.laddrs.contains(a)) {
                let _ = pool.remove_laddr(IpAddr::V4(*old));
            }
            for new in svc.laddrs.iter().filter(|a| !s.laddrs.contains(a)) {
                if pool.add_laddr(IpAddr::V4(*new)).is_err() {
                    self.config_errors += 1;
                }
            }
        }
        s.laddrs = svc.laddrs.clone();
    }

    /// Dests join or leave their service's FULLNAT port pool.
    fn sync_dest_pools(&mut self) {
        for d in &mut self.dests {
            if d.free {
                continue;
            }
            let want = d.live && d.fwd == FwdMethod::FullNat;
            if want == d.in_pool {
                continue;
            }
            let Some(pool) = self.svcs.get_mut(d.svc as usize).and_then(|s| s.pool.as_mut()) else {
                continue;
            };
            let r = if want {
                pool.add_dest(sock(d.addr, d.port))
            } else {
                pool.remove_dest(sock(d.addr, d.port))
            };
            match r {
                Ok(()) => d.in_pool = want,
                Err(_) => self.config_errors += 1,
            }
        }
    }

    /// Removed services schedule no more.
    fn retire_removed_services(&mut self) {
        for s in &mut self.svcs {
            if !s.live && !s.free {
                s.views.clear();
                s.view_dest.clear();
            }
        }
    }

    /// SNAT: one port pool per WAN address; frees removed, unreferenced ones.
    fn apply_snat_pools(&mut self, snap: &Services) {
        for s in &mut self.snat {
            if !s.live && s.refs == 0 {
                s.free = true;
            }
            s.live = false;
        }
        self.snat_of_rule.clear();
        for r in snap.snat() {
            let slot = match self.snat.iter().position(|s| !s.free && s.addr == r.out_addr) {
                Some(i) => i as u32,
                None => {
                    let Some(mut pool) = self.new_pool(PortScope::PerLaddr) else {
                        self.config_errors += 1;
                        self.snat_of_rule.push(NO_INDEX);
                        continue;
                    };
                    if pool.add_laddr(IpAddr::V4(r.out_addr)).is_err() {
                        self.config_errors += 1;
                    }
                    let new = SnatSlot {
                        addr: r.out_addr,
                        live: true,
                        free: false,
                        pool,
                        refs: 0,
                        stats: TrafficCounters::default(),
                    };
                    reuse_or_push(&mut self.snat, |s| s.free, new)
                }
            };
            if let Some(s) = self.snat.get_mut(slot as usize) {
                s.live = true;
            }
            self.snat_of_rule.push(slot);
        }
    }
}
