//! The balancer's per-core books: one slot per service and per dest it has known, with that
//! core's scheduler, counts, thresholds, port pools and counters.
//!
//! Connections name their service and dest by *slot*, not by snapshot index. A slot outlives
//! the snapshot that created it for as long as a connection or template refers to it, so a
//! configuration change never walks the connection table: [`Book::apply`] finds each service
//! and dest of the new snapshot by key (protocol, VIP, port; then dest address and port) and
//! updates its slot in place, marks the slots the snapshot no longer has as removed (their
//! connections keep flowing until they end, as IPVS keeps removed dests in its trash), and
//! reuses slots that are removed and unreferenced. Slots are only created in `apply` (control
//! path, may allocate; in `apply.rs`); the packet path only reads them and moves counts.
//!
//! SNAT connections name the pool of their WAN address by slot the same way (in the
//! connection's dest field), and their rule's counts by slot in the service field (see
//! `snat_rules`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use hashbrown::HashMap;

use crate::ipvs::conn::{Conn, Direction, FwdMethod};
use crate::ipvs::counters::TrafficCounters;
use crate::ipvs::dest::CoreThresholds;
use crate::ipvs::guard::{Guard, GuardConfig};
use crate::ipvs::laddr::{LocalAddrPool, PortOwnership, PortRange};
use crate::ipvs::limits::SvcLimits;
use crate::ipvs::proto::{tcp::TcpState, ConnState};
use crate::ipvs::sched::{DestView, SchedFlags, SchedKey, SchedKind, Scheduler};
use crate::ipvs::spec::Protocol;
use crate::ipvs::xmit::TunEncap;
use crate::time::Instant;
use crate::wire::IpProtocol;

/// A connection moved to active (`to_active`) or back: its count moves between the two.
#[inline]
pub(super) fn shift_activity(active: &mut u32, inactive: &mut u32, to_active: bool) {
    let (from, to) = if to_active { (inactive, active) } else { (active, inactive) };
    *from = from.saturating_sub(1);
    *to = to.saturating_add(1);
}

/// A connection that was active (`was_active`) or inactive is gone.
#[inline]
pub(super) fn forget_activity(active: &mut u32, inactive: &mut u32, was_active: bool) {
    let n = if was_active { active } else { inactive };
    *n = n.saturating_sub(1);
}

/// One core's view of a dest.
#[derive(Debug)]
pub(super) struct DestSlot {
    pub svc: u32,
    pub addr: Ipv4Addr,
    pub port: u16,
    /// In the current snapshot.
    pub live: bool,
    /// Unused slot (removed and unreferenced), free for reuse.
    pub free: bool,
    pub fwd: FwdMethod,
    pub weight: u32,
    pub thresholds: CoreThresholds,
    pub overloaded: bool,
    pub tun: Option<TunEncap>,
    /// TUN: outer source address (the director's address toward the real server).
    pub tun_src: Option<Ipv4Addr>,
    /// MTU of the port toward the real server.
    pub mtu: u16,
    /// FULLNAT: added to the service's port pool.
    pub in_pool: bool,
    pub active: u32,
    pub inactive: u32,
    pub persist: u32,
    /// Connections and templates naming this slot.
    pub refs: u32,
    pub stats: TrafficCounters,
}

impl DestSlot {
    pub(super) fn total(&self) -> u64 {
        u64::from(self.active) + u64::from(self.inactive)
    }
}

/// One core's view of a service.
#[derive(Debug)]
pub(super) struct SvcSlot {
    pub proto: Protocol,
    pub addr: Ipv4Addr,
    pub port: u16,
    pub live: bool,
    pub free: bool,
    pub sched_kind: SchedKind,
    pub sched_flags: SchedFlags,
    pub sched: Option<Box<dyn Scheduler>>,
    /// The scheduler's dest list (live dests, snapshot order) and the slot of each.
    pub views: Vec<DestView>,
    pub view_dest: Vec<u32>,
    pub persistence: Option<u32>,
    pub netmask: Ipv4Addr,
    pub one_packet: bool,
    pub toa: bool,
    /// The SYN proxy answers this service's SYNs.
    pub synproxy: bool,
    pub sloppy: bool,
    /// Admission limits (see [`crate::ipvs::limits`]); `None` = none.
    pub limits: Option<Arc<SvcLimits>>,
    /// This core's share of the connection limit; 0 = no limit.
    pub conn_share: u32,
    /// Connections of this service on this core (templates not counted).
    pub conns: u32,
    /// When several cores share the service's traffic: the mask of the client address that
    /// picks the core owning a new connection (see `Balancer::steer_core`); `None` = the
    /// receiving core keeps it.
    pub steer_mask: Option<Ipv4Addr>,
    pub pool: Option<LocalAddrPool>,
    pub laddrs: Vec<Ipv4Addr>,
    pub refs: u32,
    pub stats: TrafficCounters,
}

impl Book {
    /// Whether `addr:port` is, or ever was, a NAT dest of some service (its packets may be
    /// replies of a connection that lives on the core the client address points to). Remembered
    /// rather than read from the current dests: a removed dest's connections run until they end
    /// (see [`Steering`]). One hash lookup.
    #[inline]
    pub fn is_nat_dest(&self, addr: Ipv4Addr, port: u16) -> bool {
        self.steering.nat_dests.contains(&(addr, port))
            || self.steering.nat_dests.contains(&(addr, 0))
    }

    /// The mask a miss for service key `(proto, addr, port)` is steered by: the service's
    /// current rule, or else the last one it ever had (see [`Steering`]); `None` = no steering.
    #[inline]
    pub fn steer_mask_of(
        &self,
        slot: Option<u32>,
        key: (IpProtocol, Ipv4Addr, u16),
    ) -> Option<Ipv4Addr> {
        slot.and_then(|s| self.svcs.get(s as usize))
            .and_then(|s| s.steer_mask)
            .or_else(|| self.steering.services.get(&key).copied())
    }
}

/// What the core-steering decisions for packets of existing connections are made from.
///
/// A NAT or persistent service steers each new connection to the core its client address
/// points to, and a NAT dest's reply that misses is handed to that core too. Those decisions
/// must not depend on the configuration in force: once a dest or a whole service is removed its
/// connections still run until they end (as IPVS keeps them), and their packets still arrive
/// on whichever core RSS picks. So every core remembers each service key that was ever steered,
/// with the last mask it used, and each address and port that was ever a NAT dest, for the
/// life of the process (entries are a few bytes; their number is that of distinct services
/// and NAT dests ever configured). A miss for a remembered service key, or from a remembered
/// NAT dest, goes to the owning core even when the service now has no NAT dest or is gone;
/// there it is forwarded if its connection exists, and dropped as before otherwise. The cost
/// is that a service that stops needing steering keeps crossing cores for new connections.
/// Filled on the control path ([`Book::apply`]); the packet path only reads it.
#[derive(Debug, Default)]
pub(super) struct Steering {
    /// Service key (protocol, VIP, port) -> the last steering mask.
    pub services: HashMap<(IpProtocol, Ipv4Addr, u16), Ipv4Addr>,
    /// (address, port) of every NAT dest (port 0: any port).
    pub nat_dests: hashbrown::HashSet<(Ipv4Addr, u16)>,
}

/// One core's port pool for one SNAT WAN address.
#[derive(Debug)]
pub(super) struct SnatSlot {
    pub addr: Ipv4Addr,
    pub live: bool,
    pub free: bool,
    pub pool: LocalAddrPool,
    pub refs: u32,
    /// Connections, packets and bytes through this WAN address on this core.
    pub stats: TrafficCounters,
}

/// The books of one core. See the module documentation.
#[derive(Debug)]
pub(super) struct Book {
    pub core: usize,
    pub n_cores: usize,
    pub ownership: PortOwnership,
    pub range: PortRange,
    pub dests: Vec<DestSlot>,
    pub svcs: Vec<SvcSlot>,
    pub snat: Vec<SnatSlot>,
    /// Slot of each service of the current snapshot, by snapshot index.
    pub svc_of_snap: Vec<u32>,
    /// Slot of the WAN address of each SNAT rule of the current snapshot, by rule index.
    pub snat_of_rule: Vec<u32>,
    /// Pool operations the control path refused (too many local addresses or dests).
    pub config_errors: u64,
    /// Steering rules ever in force (see [`Steering`]).
    pub steering: Steering,
    /// Counts of every SNAT rule known (see `snat_rules`).
    pub snat_rules: Vec<super::snat_rules::SnatRuleSlot>,
    /// Slot of each SNAT rule of the current snapshot, by rule index.
    pub snat_rule_of_rule: Vec<u32>,
    /// Seed of the port pools' cursor offsets (0 = first port).
    pub port_cursor_seed: u64,
    /// Budgets against floods; told of every connection that leaves the table.
    pub guard: Guard,
}

pub(super) fn sock(a: Ipv4Addr, p: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(a), p)
}

pub(super) fn reuse_or_push<T>(v: &mut Vec<T>, is_free: impl Fn(&T) -> bool, new: T) -> u32 {
    match v.iter().position(is_free) {
        Some(i) => {
            v[i] = new;
            i as u32
        }
        None => {
            v.push(new);
            (v.len() - 1) as u32
        }
    }
}

impl Book {
    pub fn new(core: usize, n_cores: usize, ownership: PortOwnership, range: PortRange) -> Self {
        Book {
            core,
            n_cores,
            ownership,
            range,
            dests: Vec::new(),
            svcs: Vec::new(),
            snat: Vec::new(),
            svc_of_snap: Vec::new(),
            snat_of_rule: Vec::new(),
            config_errors: 0,
            steering: Steering::default(),
            snat_rules: Vec::new(),
            snat_rule_of_rule: Vec::new(),
            port_cursor_seed: 0,
            guard: Guard::new(GuardConfig::UNLIMITED, 1, Instant::ZERO),
        }
    }

    /// The same books with `guard`.
    pub fn with_guard(mut self, guard: Guard) -> Self {
        self.guard = guard;
        self
    }

    /// The same books, whose new port pools start their sets at offsets drawn from `seed`
    /// (see [`crate::ipvs::laddr::LocalAddrPool::with_cursor_seed`]).
    pub fn with_port_cursor_seed(mut self, seed: u64) -> Self {
        self.port_cursor_seed = seed;
        self
    }

    /// Picks a dest slot for a new connection of service slot `svc`, with this core's counts.
    #[inline]
    pub fn schedule(&mut self, svc: u32, key: &SchedKey) -> Option<u32> {
        let s = self.svcs.get_mut(svc as usize)?;
        for (v, &d) in s.views.iter_mut().zip(&s.view_dest) {
            if let Some(ds) = self.dests.get(d as usize) {
                v.active = ds.active;
                v.inactive = ds.inactive;
                v.persist = ds.persist;
                v.available = !ds.overloaded;
            }
        }
        let i = s.sched.as_mut()?.schedule(&s.views, key)?;
        s.view_dest.get(i).copied()
    }

    /// Runs the schedulers' clocks.
    pub fn tick(&mut self, now: Instant) {
        for s in self.svcs.iter_mut().filter(|s| s.live) {
            if let Some(sched) = s.sched.as_mut() {
                sched.tick(now);
            }
        }
    }

    /// A new connection to dest slot `d` of service slot `svc`.
    #[inline]
    pub fn bind(&mut self, svc: u32, d: u32) {
        if let Some(x) = self.dests.get_mut(d as usize) {
            x.inactive = x.inactive.saturating_add(1);
            x.refs = x.refs.saturating_add(1);
            x.stats.conns += 1;
            if x.thresholds.overloaded_after_bind(x.total()) {
                x.overloaded = true;
            }
        }
        if let Some(s) = self.svcs.get_mut(svc as usize) {
            s.refs = s.refs.saturating_add(1);
            s.conns = s.conns.saturating_add(1);
            s.stats.conns += 1;
        }
    }

    /// A one-packet scheduling to dest slot `d` (counted as a connection, never bound).
    #[inline]
    pub fn count_one_packet(&mut self, svc: u32, d: u32) {
        if let Some(x) = self.dests.get_mut(d as usize) {
            x.stats.conns += 1;
        }
        if let Some(s) = self.svcs.get_mut(svc as usize) {
            s.stats.conns += 1;
        }
    }

    /// A new persistence template for dest slot `d`.
    #[inline]
    pub fn bind_template(&mut self, svc: u32, d: u32) {
        if let Some(x) = self.dests.get_mut(d as usize) {
            x.persist = x.persist.saturating_add(1);
            x.refs = x.refs.saturating_add(1);
        }
        if let Some(s) = self.svcs.get_mut(svc as usize) {
            s.refs = s.refs.saturating_add(1);
        }
    }

    /// A connection of dest slot `d` became active (`true`) or inactive.
    #[inline]
    pub fn activity(&mut self, d: u32, active: bool) {
        if let Some(x) = self.dests.get_mut(d as usize) {
            shift_activity(&mut x.active, &mut x.inactive, active);
        }
    }

    /// Counts a packet of `len` bytes in `dir` for service slot `svc` and dest slot `d`.
    #[inline]
    pub fn traffic(&mut self, svc: u32, d: u32, dir: Direction, len: u32) {
        let inbound = dir == Direction::In;
        if let Some(x) = self.dests.get_mut(d as usize) {
            x.stats.count_packet(inbound, len);
        }
        if let Some(s) = self.svcs.get_mut(svc as usize) {
            s.stats.count_packet(inbound, len);
        }
    }

    /// Counts a packet of `len` bytes in `dir` of a SNAT connection through WAN slot `slot`.
    #[inline]
    pub fn snat_traffic(&mut self, slot: u32, dir: Direction, len: u32) {
        if let Some(s) = self.snat.get_mut(slot as usize) {
            s.stats.count_packet(dir == Direction::In, len);
        }
    }

    /// An entry left the connection table: give back its counts, references and local port.
    pub fn on_freed(&mut self, c: &Conn<Ipv4Addr>) {
        if !c.is_template() {
            let embryonic = c.state() == ConnState::Tcp(TcpState::SynRecv);
            self.guard.conn_freed(c.proto(), embryonic);
        }
        if c.fwd() == FwdMethod::Snat && !c.is_template() {
            if let Some(s) = self.snat.get_mut(c.dest() as usize) {
                let server = sock(c.daddr(), snat_pool_port(c.proto(), c.dport()));
                let _ = s.pool.release(IpAddr::V4(c.laddr()), c.lport(), server);
                s.refs = s.refs.saturating_sub(1);
            }
            self.snat_rule_freed(c);
            return;
        }
        if let Some(x) = self.dests.get_mut(c.dest() as usize) {
            if c.is_template() {
                x.persist = x.persist.saturating_sub(1);
            } else {
                forget_activity(&mut x.active, &mut x.inactive, c.is_active());
                if x.overloaded && x.thresholds.recovered_after_unbind(x.total()) {
                    x.overloaded = false;
                }
                if c.fwd() == FwdMethod::FullNat {
                    let key = sock(x.addr, x.port);
                    if let Some(pool) =
                        self.svcs.get_mut(c.svc() as usize).and_then(|s| s.pool.as_mut())
                    {
                        let _ = pool.release(IpAddr::V4(c.laddr()), c.lport(), key);
                    }
                }
            }
            x.refs = x.refs.saturating_sub(1);
        }
        if let Some(s) = self.svcs.get_mut(c.svc() as usize) {
            s.refs = s.refs.saturating_sub(1);
            if !c.is_template() {
                s.conns = s.conns.saturating_sub(1);
            }
        }
    }

    /// Whether a connection or template `c` belongs to a removed service, dest or SNAT rule.
    pub fn is_removed(&self, c: &Conn<Ipv4Addr>) -> bool {
        if c.fwd() == FwdMethod::Snat && !c.is_template() {
            return !self.snat.get(c.dest() as usize).is_some_and(|s| s.live);
        }
        !self.dests.get(c.dest() as usize).is_some_and(|d| d.live)
    }
}

/// The server port a SNAT connection's local port is allocated against: its own, except for
/// ICMP echo, whose identifier must be unique per server whatever the inside host chose (the
/// reply carries only the translated identifier), so echo flows share port 0.
pub(super) fn snat_pool_port(proto: IpProtocol, port: u16) -> u16 {
    if proto == IpProtocol::ICMP {
        0
    } else {
        port
    }
}
