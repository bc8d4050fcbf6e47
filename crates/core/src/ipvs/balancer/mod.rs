//! The per-core load balancer: what happens to an IPv4 packet for a virtual service, a local
//! address, or a host behind a SNAT rule.
//!
//! Owns [`Balancer`] (one per worker core: its connection table, its schedulers and dest counts,
//! its local port pools, its counters) and [`Verdict`], what the caller does with the packet. The
//! packet path ([`Balancer::input_checked`]) takes the IPv4 header the stack checked
//! ([`crate::wire::Ipv4Meta`], never checked again), parses the TCP/UDP (or ICMP) header, finds
//! the connection in either direction or creates one (service lookup, persistence template,
//! scheduling, local port), runs the protocol state machine, and has the forwarding mode
//! ([`crate::ipvs::xmit`]) rewrite the packet. It must not route, resolve, transmit or free
//! packets (the caller does, with the stack), read clocks, or take locks: the time is passed in,
//! configuration arrives as an immutable [`Services`] snapshot applied between bursts with
//! [`Balancer::set_services`], and every decision is returned as a [`Verdict`].
//! The control plane's requests to a core's balancer (snapshot, listings, reports, flush) are
//! its own, answered beside it ([`control`]).
//!
//! # Packets the balancer refuses (each counted by [`IpvsDropReason`])
//! - TCP: only a plain SYN (SYN without ACK, FIN or RST) creates a connection; other packets of
//!   no connection are dropped (`tcp_not_syn`, or `tcp_bad_flags` for combinations no stack
//!   sends). Packets of a known connection pass whatever their flags; the state machine decides.
//! - No dest available (none, all quiescent or over threshold): counted `no_dest`; a TCP client
//!   also gets a reset ([`Verdict::Reply`]) so it does not wait for a timeout.
//! - IPv4 fragments (TCP and UDP) are followed, not reassembled: the first fragment (offset 0,
//!   carrying the whole transport header) is looked up or scheduled like any packet of its
//!   connection and rewritten as a whole packet would be (the incremental checksum update is
//!   right for the whole datagram; no TOA goes into a fragment), and what was done is recorded
//!   in the per-core [`FragTable`] under (source, destination, protocol, IP id) for a short
//!   time; the later fragments of that datagram take the same decision with the IP-level
//!   rewrite only ([`crate::ipvs::xmit::forward_fragment`]), or follow it to the core it was
//!   handed to. A later fragment with no entry (it came first, or too late) is dropped as
//!   `fragment_unmatched`; a first fragment that finds the table full as
//!   `fragment_table_full`; a first fragment too short for its transport header as `bad_l4`;
//!   ICMP fragments as `fragment`.
//! - IP options are carried through untouched.
//!
//! # Cores
//! NAT, DR and TUN flows reach their core by symmetric RSS. FULLNAT and SNAT replies come back
//! to a local port; worker `k` only allocates ports `p` with `p & mask == k`
//! ([`crate::ipvs::laddr::PortOwnership`]), so a reply that misses here but whose port another
//! core owns is handed back as [`Verdict::Redirect`] for the worker to pass over a ring; the
//! owner takes it with [`Balancer::input_redirected`] (which never redirects again).

mod apply;
mod book;
pub mod control;
mod packet;
mod pools;
mod prefetch;
mod snat_rules;
mod sync;
mod synproxy;

pub use pools::{LaddrReport, PoolExhaustion, PoolOwner, PoolReports, SnatReport, SnatRuleReport};
pub use sync::{InstallCounts, InstallError, Installed, SyncCoreCounts, SyncReports, SyncRule};

use std::net::Ipv4Addr;
use std::sync::Arc;

use thiserror::Error;

use crate::buf::PacketBuf;
use crate::ipvs::conn::{ConnId, ConnInfo, ConnTable, ConnTableError, Direction, HashSeed};
use crate::ipvs::counters::TrafficCounters;
use crate::ipvs::counters::{IpvsCounters, IpvsDropReason};
use crate::ipvs::frag::{FragKey, FragTable};
use crate::ipvs::guard::{Guard, GuardConfig, GuardCounters};
use crate::ipvs::laddr::{LaddrError, LocalAddrPool, PortOwnership, PortRange};
use crate::ipvs::limits::{SourceRates, DEFAULT_SOURCE_ENTRIES};
use crate::ipvs::proto::tcp::TcpState;
use crate::ipvs::service::Services;
use crate::ipvs::spec::{Protocol, ServiceKey};
use crate::ipvs::synproxy::{SynProxy, SynProxyConfig};
use crate::net::{AddrKind, IcmpError};
use crate::time::Instant;
use crate::wire::PacketMeta;

use book::Book;

/// What the caller does with a packet the balancer has seen.
#[derive(Debug)]
pub enum Verdict<B> {
    /// Rewritten for its connection: route to `route_to` and send.
    Forward {
        /// The packet (Ethernet header bytes in front, for the stack to fill).
        pkt: B,
        /// Address to route and resolve.
        route_to: Ipv4Addr,
        /// The connection and direction the packet belongs to, when it has one in the table
        /// (not for one-packet scheduling or translated ICMP errors): the caller sends it with
        /// the connection's cached L2 header ([`Balancer::l2_cache_mut`]).
        conn: Option<(ConnId, Direction)>,
    },
    /// The director answers (a TCP reset): route to `route_to` and send.
    Reply {
        /// The answer, built in the packet's buffer.
        pkt: B,
        /// Address to route and resolve (the client).
        route_to: Ipv4Addr,
    },
    /// Dropped; already counted in [`IpvsCounters`] under `reason`.
    Drop {
        /// The packet, for the caller to free.
        pkt: B,
        /// Why.
        reason: IpvsDropReason,
    },
    /// Dropped (counted under `reason`), and `error` is due to the packet's source: the caller
    /// sends it, quoting the packet, before freeing it.
    DropWithIcmp {
        /// The packet, unchanged, for the caller to quote and free.
        pkt: B,
        /// Why.
        reason: IpvsDropReason,
        /// The ICMP error to send.
        error: IcmpError,
    },
    /// Belongs to another core (a reply to a local port that core owns): hand it over.
    Redirect {
        /// The packet, unchanged.
        pkt: B,
        /// The owning worker core.
        core: usize,
    },
    /// Not load-balancer traffic (no connection, service or SNAT rule): the caller handles it
    /// as it would without a balancer.
    NotMine {
        /// The packet, unchanged.
        pkt: B,
    },
}

/// Where the packets to a dest leave: the MTU of the port and the director's address on it.
/// The dataplane answers from its routes and interfaces; looked up when a snapshot is applied,
/// never per packet.
pub trait Egress {
    /// MTU toward `dst` and the source address to use (for TUN's outer header), if routable.
    fn egress(&self, dst: Ipv4Addr) -> Option<(u16, Option<Ipv4Addr>)>;
}

/// An [`Egress`] with one answer for every destination.
#[derive(Debug, Clone, Copy)]
pub struct FixedEgress {
    /// MTU of every port.
    pub mtu: u16,
    /// Source address for tunnels.
    pub source: Option<Ipv4Addr>,
}

impl Egress for FixedEgress {
    fn egress(&self, _dst: Ipv4Addr) -> Option<(u16, Option<Ipv4Addr>)> {
        Some((self.mtu, self.source))
    }
}

/// How a core's balancer is built.
#[derive(Debug, Clone, Copy)]
pub struct BalancerConfig {
    /// This worker core's index.
    pub core: usize,
    /// Number of worker cores.
    pub n_cores: usize,
    /// Connection table capacity (connections plus persistence templates).
    pub conn_capacity: u32,
    /// Seed of the connection table's hash.
    pub hash_seed: HashSeed,
    /// Local ports FULLNAT and SNAT allocate from.
    pub local_ports: PortRange,
    /// Most connections [`Balancer::poll`] expires in one call.
    pub expire_batch: u32,
    /// MTU used toward clients and toward dests the [`Egress`] cannot tell.
    pub mtu: u16,
    /// Datagrams whose later fragments this core can follow at once (see
    /// [`crate::ipvs::frag`]).
    pub frag_capacity: u32,
    /// How long after its first fragment a datagram's later fragments are followed.
    pub frag_timeout: core::time::Duration,
    /// Where the FULLNAT/SNAT port sets' cursors start: 0 = at the first port of each set
    /// (deterministic, for tests); otherwise at per-set offsets drawn from this seed. A
    /// director draws a new one at every start ([`BalancerConfig::random_port_cursor_seed`]).
    pub port_cursor_seed: u64,
    /// Budgets and limits against floods ([`crate::ipvs::guard`]); none by default.
    pub guard: GuardConfig,
    /// The SYN proxy's settings; its cookie keys must be the same on every core of a process.
    pub synproxy: SynProxyConfig,
    /// Slots of the per-source rate table ([`crate::ipvs::limits::SourceRates`]), allocated
    /// when a service first has a `source_rate`.
    pub source_entries: usize,
    /// Whether a port this core sends on computes checksums on transmit: only then are
    /// rewritten packets marked for it ([`crate::buf::PacketBuf::want_tx_csum`], which on an
    /// mbuf writes its second cache line). Default true; a worker whose ports do not offload
    /// sets it false.
    pub tx_csum_offload: bool,
}

impl BalancerConfig {
    /// Defaults for core `core` of `n_cores`: 1 Mi connections, a random hash seed, local ports
    /// 1024..=65535, 256 expirations per poll, MTU 1500, 4096 followed datagrams for 2 s.
    pub fn new(core: usize, n_cores: usize) -> Self {
        BalancerConfig {
            core,
            n_cores,
            conn_capacity: 1 << 20,
            hash_seed: HashSeed::random(),
            local_ports: PortRange::DEFAULT,
            expire_batch: 256,
            mtu: 1500,
            frag_capacity: 4096,
            frag_timeout: core::time::Duration::from_secs(2),
            port_cursor_seed: 0,
            guard: GuardConfig::UNLIMITED,
            synproxy: SynProxyConfig::new(),
            source_entries: DEFAULT_SOURCE_ENTRIES,
            tx_csum_offload: true,
        }
    }

    /// A fresh non-zero seed for [`BalancerConfig::port_cursor_seed`] (from the standard
    /// library's per-process random hasher keys).
    pub fn random_port_cursor_seed() -> u64 {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x7276_735f_706f_7274);
        h.finish() | 1
    }
}

/// Why a balancer could not be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BalancerError {
    /// The connection table capacity is out of range.
    #[error(transparent)]
    ConnTable(#[from] ConnTableError),
    /// The core, core count or local port range does not work.
    #[error(transparent)]
    Laddr(#[from] LaddrError),
}

/// A dest as one core counts it, for the control plane (which sums cores).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestReport {
    /// The dest's service.
    pub service: ServiceKey,
    /// Real server address.
    pub addr: Ipv4Addr,
    /// Real server port.
    pub port: u16,
    /// Whether the dest is in the current snapshot (a removed dest is listed while
    /// connections still use it).
    pub live: bool,
    /// Established connections on this core.
    pub active: u32,
    /// Other connections on this core.
    pub inactive: u32,
    /// Persistence templates on this core.
    pub persist: u32,
    /// Over its upper threshold share on this core.
    pub overloaded: bool,
    /// Connections, packets and bytes on this core.
    pub stats: TrafficCounters,
}

/// A service as one core counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceReport {
    /// The service.
    pub service: ServiceKey,
    /// Whether it is in the current snapshot.
    pub live: bool,
    /// Connections, packets and bytes on this core.
    pub stats: TrafficCounters,
}

/// One worker core's load balancer. See the module documentation.
#[derive(Debug)]
pub struct Balancer {
    cfg: BalancerConfig,
    snap: Arc<Services>,
    conns: ConnTable<Ipv4Addr>,
    book: Book,
    counters: IpvsCounters,
    frags: FragTable,
    /// Set while a first fragment is processed: the datagram whose decision `transmit`
    /// records for the later fragments.
    frag_first: Option<(FragKey, Instant)>,
    /// The SYN proxy's per-core state (see [`crate::ipvs::synproxy`]).
    proxy: SynProxy,
    /// Per-source new-connection buckets (see [`crate::ipvs::limits`]); one set until a
    /// service has a `source_rate`.
    rates: SourceRates,
    /// Connection sync: where this core reports its connections, if it does.
    sync: Option<SyncReports>,
    /// Connections installed from peers' reports.
    sync_learnt: u64,
}

fn svc_key(proto: Protocol, addr: Ipv4Addr, port: u16) -> ServiceKey {
    ServiceKey { proto, addr: addr.into(), port }
}

impl Balancer {
    /// A balancer with no service, whose clock starts at `now`. Fails when the table capacity
    /// is out of range or this core owns no port of the local port range.
    pub fn new(cfg: BalancerConfig, now: Instant) -> Result<Self, BalancerError> {
        let ownership = PortOwnership::new(cfg.n_cores)?;
        // Fails early when the core owns no port.
        LocalAddrPool::new(cfg.core, ownership, cfg.local_ports)?;
        let conns = ConnTable::new(cfg.conn_capacity, cfg.hash_seed, now)?;
        Ok(Balancer {
            book: Book::new(cfg.core, cfg.n_cores, ownership, cfg.local_ports)
                .with_port_cursor_seed(cfg.port_cursor_seed)
                .with_guard(Guard::new(cfg.guard, cfg.conn_capacity, now)),
            cfg,
            snap: Arc::new(Services::empty()),
            conns,
            counters: IpvsCounters::default(),
            frags: FragTable::new(cfg.frag_capacity as usize, cfg.frag_timeout),
            frag_first: None,
            proxy: SynProxy::new(cfg.synproxy, now),
            rates: SourceRates::new(0, cfg.port_cursor_seed),
            sync: None,
            sync_learnt: 0,
        })
    }

    /// Applies a new configuration snapshot (between bursts). Existing connections keep their
    /// service and dest, even ones the snapshot removes: they run until they end, as in IPVS
    /// (see [`Balancer::flush_removed`] to end them). `egress` is asked once per dest.
    pub fn set_services(&mut self, snap: Arc<Services>, now: Instant, egress: &dyn Egress) {
        self.book.apply(&snap, egress, self.cfg.mtu);
        self.book.tick(now);
        if snap.services().iter().any(|s| s.synproxy) || snap.snat().iter().any(|r| r.synproxy) {
            self.proxy.enable(self.conns.capacity());
        }
        let rated =
            snap.services().iter().any(|s| s.limits.as_ref().is_some_and(|l| l.rate.is_some()));
        if rated && self.rates.capacity() < self.cfg.source_entries {
            // Control path: allocated once, never on the packet path. Hashed with the seed
            // rvsd draws at each start, so a client cannot aim sources at one set.
            self.rates = SourceRates::new(self.cfg.source_entries, self.cfg.port_cursor_seed);
        }
        self.snap = snap;
        self.apply_timeouts();
    }

    /// Gives the table the snapshot's timeouts, with SYN_RECV shortened while the guard is
    /// under pressure (see [`crate::ipvs::guard`]).
    fn apply_timeouts(&mut self) {
        let mut t = *self.snap.timeouts();
        if self.book.guard.under_pressure() {
            let short = self.cfg.guard.syn_recv_pressure_timeout.min(t.tcp(TcpState::SynRecv));
            // A value within the table's range: the shorter of two valid timeouts, at least 1.
            let _ = t.set_tcp_state(TcpState::SynRecv, short.max(1));
        }
        self.conns.set_timeouts(t);
    }

    /// The generation of the snapshot in force.
    pub fn generation(&self) -> u64 {
        self.snap.generation()
    }

    /// The snapshot in force.
    pub fn services(&self) -> &Arc<Services> {
        &self.snap
    }

    /// Ends every connection and template of a service, dest or SNAT rule the current snapshot
    /// no longer has. Walks the whole table: control path. Returns how many entries ended.
    pub fn flush_removed(&mut self) -> u32 {
        let gone: Vec<_> =
            self.conns.iter().filter(|(_, c)| self.book.is_removed(c)).map(|(id, _)| id).collect();
        let mut n = 0;
        for id in gone {
            let book = &mut self.book;
            if self.conns.remove(id, |c| book.on_freed(c)) {
                n += 1;
            }
        }
        self.counters.flushed += u64::from(n);
        n
    }

    /// Runs the timers: expires at most the configured batch of connections (giving back their
    /// dest counts and local ports) and ticks the schedulers. Call every millisecond or so.
    pub fn poll(&mut self, now: Instant) -> u32 {
        let book = &mut self.book;
        let n = self.conns.expire_at_most(now, self.cfg.expire_batch, |c| book.on_freed(c));
        self.book.tick(now);
        if self.book.guard.update_pressure().is_some() {
            self.apply_timeouts();
        }
        self.counters.guard = *self.book.guard.counters();
        self.counters.embryonic = u64::from(self.book.guard.embryonic());
        self.counters.source_rate_evicted = self.rates.evicted();
        self.synproxy_poll(now);
        n
    }

    /// The guard's counters on this core.
    pub fn guard_counters(&self) -> &GuardCounters {
        self.book.guard.counters()
    }

    /// TCP connections in SYN_RECV on this core.
    pub fn embryonic(&self) -> u32 {
        self.book.guard.embryonic()
    }

    /// Whether this core is under SYN_RECV pressure (shortened SYN_RECV timeout).
    pub fn under_syn_pressure(&self) -> bool {
        self.book.guard.under_pressure()
    }

    /// Up to `limit` connections and templates as `ipvsadm -L -c` lists them.
    pub fn conns_snapshot(&self, now: Instant, limit: usize) -> Vec<ConnInfo> {
        self.conns.snapshot(now, limit)
    }

    /// One step of a chunked connection listing: the entries of at most `slots` table slots
    /// from slot `from` appended to `out`; the slot to go on from, `None` at the end
    /// ([`ConnTable::snapshot_from`]).
    pub fn conns_from(
        &self,
        now: Instant,
        from: u32,
        slots: u32,
        out: &mut Vec<ConnInfo>,
    ) -> Option<u32> {
        self.conns.snapshot_from(now, from, slots, out)
    }

    /// Live connections the listing shows with a local address (see
    /// [`ConnTable::listed_with_local`]).
    pub fn conns_listed_with_local(&self) -> u32 {
        self.conns.listed_with_local()
    }

    /// Live entries in the connection table.
    pub fn conn_count(&self) -> u32 {
        self.conns.len()
    }

    /// The cached L2 headers of connection `id` (for the caller's send path, right after the
    /// [`Verdict::Forward`] that named it); `None` if the id is not a live entry.
    #[inline]
    pub fn l2_cache_mut(&mut self, id: ConnId) -> Option<&mut crate::net::L2Cache> {
        self.conns.get_mut(id).map(|c| c.l2_cache_mut())
    }

    /// The connection table's own counters.
    pub fn conn_stats(&self) -> &crate::ipvs::conn::ConnStats {
        self.conns.stats()
    }

    /// Bytes the connection table holds (slab, index, timer wheel), fixed at build time.
    pub fn conn_table_bytes(&self) -> usize {
        self.conns.memory_bytes()
    }

    /// Capacity of the connection table (entries).
    pub fn conn_capacity(&self) -> u32 {
        self.conns.capacity()
    }

    /// This core's counters.
    pub fn counters(&self) -> &IpvsCounters {
        &self.counters
    }

    /// Pool operations the control path refused (too many local addresses or dests for a pool).
    pub fn config_errors(&self) -> u64 {
        self.book.config_errors
    }

    /// Every dest this core knows (current ones, and removed ones still in use), with counts.
    pub fn dest_reports(&self) -> Vec<DestReport> {
        self.book
            .dests
            .iter()
            .filter(|d| !d.free)
            .filter_map(|d| {
                let s = self.book.svcs.get(d.svc as usize)?;
                Some(DestReport {
                    service: svc_key(s.proto, s.addr, s.port),
                    addr: d.addr,
                    port: d.port,
                    live: d.live,
                    active: d.active,
                    inactive: d.inactive,
                    persist: d.persist,
                    overloaded: d.overloaded,
                    stats: d.stats,
                })
            })
            .collect()
    }

    /// Every service this core knows, with counters.
    pub fn service_reports(&self) -> Vec<ServiceReport> {
        self.book
            .svcs
            .iter()
            .filter(|s| !s.free)
            .map(|s| ServiceReport {
                service: svc_key(s.proto, s.addr, s.port),
                live: s.live,
                stats: s.stats,
            })
            .collect()
    }

    /// Port-pool counters of every local address on this core (FULLNAT pools of every
    /// service and SNAT WAN pools), summed per address: ports in use, allocations, misses.
    /// Allocates; for listings, not the packet path.
    pub fn laddr_usage(&self) -> Vec<(std::net::IpAddr, crate::ipvs::laddr::LaddrStats)> {
        let mut out: Vec<(std::net::IpAddr, crate::ipvs::laddr::LaddrStats)> = Vec::new();
        let pools = self
            .book
            .svcs
            .iter()
            .filter(|s| !s.free)
            .filter_map(|s| s.pool.as_ref())
            .chain(self.book.snat.iter().filter(|s| !s.free).map(|s| &s.pool));
        for (addr, st) in pools.flat_map(|p| p.stats()) {
            match out.iter_mut().find(|(a, _)| *a == addr) {
                Some((_, sum)) => {
                    sum.in_use += st.in_use;
                    sum.allocs += st.allocs;
                    sum.releases += st.releases;
                    sum.misses += st.misses;
                    sum.draining &= st.draining;
                }
                None => out.push((addr, st)),
            }
        }
        out
    }

    /// Handles an IPv4 packet the stack handed up with the headers it checked (`meta`: the
    /// IPv4 header at `meta.ip.l3`, the Ethernet header in front, and the transport header with
    /// the flow tuple), `owner` what the stack found its destination to be. The headers are not
    /// checked again. No allocation; never panics, whatever the bytes.
    #[inline]
    pub fn input_checked<B: PacketBuf>(
        &mut self,
        pkt: B,
        meta: &PacketMeta,
        owner: Option<AddrKind>,
        now: Instant,
    ) -> Verdict<B> {
        self.process(pkt, meta, owner, now, true)
    }

    /// Handles a packet another core redirected here (see [`Verdict::Redirect`]) with the
    /// headers and owner that core's stack checked and the packet carried across (`meta`,
    /// `owner`, as for [`Balancer::input_checked`]). It is never redirected again.
    #[inline]
    pub fn input_redirected<B: PacketBuf>(
        &mut self,
        pkt: B,
        meta: &PacketMeta,
        owner: Option<AddrKind>,
        now: Instant,
    ) -> Verdict<B> {
        self.counters.redirect_received += 1;
        self.process(pkt, meta, owner, now, false)
    }
}

#[cfg(test)]
mod tests;
