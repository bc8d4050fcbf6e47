//! The per-core neighbour table (ARP for IPv4, neighbour discovery for IPv6) and the queue of
//! packets waiting for resolution.
//!
//! Owns [`NeighTable`]: neighbour -> MAC per port, for one address family ([`NeighAddr`]:
//! `Ipv4Addr`, the default, resolved with ARP; `Ipv6Addr` with neighbour solicitations), with
//! static entries that never expire, learned entries that expire after `timeout`, and
//! incomplete entries that are probed with a solicitation (an ARP request, or an NS) every
//! `retry` up to `probes` times, then fail and drop what waited on them. Packets for an
//! unresolved neighbour wait in a fixed pool shared by all entries, bounded per neighbour and in
//! total; when the table, a neighbour's queue or the pool is full the packet is dropped and
//! counted, nothing grows. All memory is reserved at construction; the per-packet path does not
//! allocate.
//!
//! It does not route (the caller gives the next hop and port) and does not parse ARP or ND
//! (`arp.rs` and `nd.rs` call [`NeighTable::learn`]). The two families share every rule of this
//! table (bounds, states, eviction, the hardening of `learn`); only the key and the
//! solicitation differ ([`NeighAddr`]). Its parameters and static entries come from the
//! configuration through the dataplane; each core has its own table and learns on its own.
//!
//! Convention for queued and sent packets: the packet starts with a 14-byte Ethernet header whose
//! EtherType the caller has set; this table writes the destination and source MACs.

use core::fmt::{Debug, Display};
use core::hash::Hash;
use core::time::Duration;
use std::net::{Ipv4Addr, Ipv6Addr};

use hashbrown::HashMap;
use thiserror::Error;

use super::arp;
use super::counters::DropReason;
use super::exception::TokenBucket;
use super::io::{Ctx, NetIo};
use super::nd;
use crate::buf::PacketBuf;
use crate::time::Instant;
use crate::wire::{EthernetFrame, MacAddr};

/// Tunables of the neighbour table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighParams {
    /// Lifetime of a learned entry from the moment it was last confirmed.
    pub timeout: Duration,
    /// Interval between ARP requests for an unresolved neighbour.
    pub retry: Duration,
    /// ARP requests sent before resolution fails (at least 1).
    pub probes: u32,
    /// Packets that may wait for one neighbour.
    pub pending_per_neigh: usize,
    /// Packets that may wait for all neighbours of this core together.
    pub pending_total: usize,
    /// Entries (static included) the table holds at most.
    pub max_entries: usize,
    /// Unicast probes per second this core may send to confirm stale entries it uses (burst
    /// the same; 0 = unlimited). A deferred probe is retried after `retry`.
    pub confirm_pps: u32,
}

impl Default for NeighParams {
    fn default() -> Self {
        NeighParams {
            timeout: Duration::from_secs(300),
            retry: Duration::from_secs(1),
            probes: 3,
            pending_per_neigh: 16,
            pending_total: 1024,
            max_entries: 4096,
            confirm_pps: 100,
        }
    }
}

/// An address family the table resolves: how its addresses are keyed and how the table asks
/// for a neighbour's MAC.
pub trait NeighAddr: Copy + Eq + Hash + Debug + Display {
    /// The address as the table stores it.
    type Key: Copy + Eq + Hash + Debug;
    /// What a solicitation needs besides the interfaces: nothing for ARP (the port's IPv4
    /// addresses are in the [`super::IfaceTable`]), the usable source addresses for IPv6.
    type Solicit: Debug + Default;
    /// The key of `self`.
    fn key(self) -> Self::Key;
    /// The address of a key.
    fn from_key(key: Self::Key) -> Self;
    /// Sends one solicitation for `target` on `port`.
    fn solicit<B: PacketBuf>(
        how: &Self::Solicit,
        ctx: &mut Ctx<'_, impl NetIo<B>>,
        port: u16,
        target: Self,
    );
    /// Sends one unicast solicitation for `target` to the link-layer address `mac` the table
    /// holds for it (the confirmation probe of a stale entry in use).
    fn solicit_unicast<B: PacketBuf>(
        how: &Self::Solicit,
        ctx: &mut Ctx<'_, impl NetIo<B>>,
        port: u16,
        target: Self,
        mac: MacAddr,
    );
}

impl NeighAddr for Ipv4Addr {
    type Key = u32;
    type Solicit = ();
    #[inline]
    fn key(self) -> u32 {
        u32::from(self)
    }
    #[inline]
    fn from_key(key: u32) -> Self {
        Ipv4Addr::from(key)
    }
    fn solicit<B: PacketBuf>(_: &(), ctx: &mut Ctx<'_, impl NetIo<B>>, port: u16, target: Self) {
        arp::send_request(ctx, port, target);
    }
    fn solicit_unicast<B: PacketBuf>(
        _: &(),
        ctx: &mut Ctx<'_, impl NetIo<B>>,
        port: u16,
        target: Self,
        mac: MacAddr,
    ) {
        arp::send_unicast_request(ctx, port, target, mac);
    }
}

impl NeighAddr for Ipv6Addr {
    type Key = u128;
    type Solicit = nd::Sources;
    #[inline]
    fn key(self) -> u128 {
        u128::from(self)
    }
    #[inline]
    fn from_key(key: u128) -> Self {
        Ipv6Addr::from(key)
    }
    fn solicit<B: PacketBuf>(
        how: &nd::Sources,
        ctx: &mut Ctx<'_, impl NetIo<B>>,
        port: u16,
        target: Self,
    ) {
        nd::send_solicit(how, ctx, port, target);
    }
    fn solicit_unicast<B: PacketBuf>(
        how: &nd::Sources,
        ctx: &mut Ctx<'_, impl NetIo<B>>,
        port: u16,
        target: Self,
        mac: MacAddr,
    ) {
        nd::send_unicast_solicit(how, ctx, port, target, mac);
    }
}

/// A neighbour fixed by configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StaticNeigh<A = Ipv4Addr> {
    /// The neighbour's address.
    pub ip: A,
    /// The port it is reached on.
    pub port: u16,
    /// Its MAC address.
    pub mac: MacAddr,
}

/// Why a neighbour table could not be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NeighError<A: Debug + Display = Ipv4Addr> {
    /// `max_entries` is zero or `probes` is zero.
    #[error("neighbour table: max_entries and probes must be at least 1 (got {max_entries} and {probes})")]
    BadParams { max_entries: usize, probes: u32 },
    /// `pending_total` does not fit the pool's 32-bit indices.
    #[error("neighbour table: pending_total {0} is too large (at most 4294967294)")]
    PendingTooLarge(usize),
    /// More static entries than `max_entries`.
    #[error("neighbour table: {statics} static entries do not fit max_entries {max_entries}")]
    TooManyStatic { statics: usize, max_entries: usize },
    /// The same static neighbour twice.
    #[error("static neighbour {ip} on port {port} is configured twice")]
    DuplicateStatic { ip: A, port: u16 },
    /// A static entry with a MAC no neighbour can have.
    #[error("static neighbour {ip}: MAC {mac} is multicast, broadcast or all-zero")]
    BadStaticMac { ip: A, mac: MacAddr },
}

/// State of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NeighState {
    /// Being resolved: ARP requests are out, packets may be waiting.
    Incomplete,
    /// Learned from ARP; valid until it expires.
    Reachable,
    /// Learned from ARP the director did not ask for: a request (or an unsolicited reply)
    /// addressed to one of our addresses from an on-link host never resolved before. Usable
    /// like [`NeighState::Reachable`] until it expires, but the first to be evicted, and the
    /// only kind of entry another unconfirmed one may replace. A reply to us, or any ARP from
    /// the host while we resolve it, makes it reachable. Linux's `NUD_STALE` plays this part.
    Stale,
    /// From configuration; never expires, never overwritten by ARP.
    Static,
}

/// What the table knows about a neighbour right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Usable MAC (static, or learned and not expired).
    Resolved(MacAddr),
    /// Resolution is under way.
    Incomplete,
    /// No usable entry (never seen, failed, or expired).
    Unknown,
}

/// What an ARP packet tells [`NeighTable::learn`] about its sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learn {
    /// A reply addressed to one of our addresses (or to the kernel's): the host answered.
    Confirmed,
    /// A request for one of our addresses: the host wants to talk to us.
    Addressed,
    /// Anything else (a request for another host, an announcement): refresh only.
    Refresh,
}

/// Which entries [`NeighTable::evict_oldest`] may remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Victims {
    /// Reachable or stale (for a next hop of ours).
    Learned,
    /// Stale only (for a new unconfirmed entry).
    Unconfirmed,
}

/// A snapshot of one entry, for listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighInfo<A = Ipv4Addr> {
    /// Neighbour address.
    pub ip: A,
    /// Port.
    pub port: u16,
    /// State.
    pub state: NeighState,
    /// MAC, unless incomplete.
    pub mac: Option<MacAddr>,
    /// When a learned entry expires (`None` for static and incomplete ones).
    pub expires: Option<Instant>,
    /// Packets waiting for this neighbour.
    pub pending: usize,
}

const NIL: u32 = u32::MAX;

/// A FIFO of pool slots, linked through [`Slot::next`].
#[derive(Debug, Clone, Copy)]
struct Queue {
    head: u32,
    tail: u32,
    len: u32,
}

impl Queue {
    const EMPTY: Queue = Queue { head: NIL, tail: NIL, len: 0 };
}

#[derive(Debug)]
struct Slot<B> {
    pkt: Option<B>,
    next: u32,
}

/// Fixed pool of waiting-packet slots with an intrusive free list.
#[derive(Debug)]
struct Pool<B> {
    slots: Vec<Slot<B>>,
    free: u32,
    used: usize,
}

impl<B> Pool<B> {
    fn new(cap: usize) -> Self {
        let slots = (0..cap)
            .map(|i| Slot { pkt: None, next: if i + 1 < cap { (i + 1) as u32 } else { NIL } })
            .collect();
        Pool { slots, free: if cap > 0 { 0 } else { NIL }, used: 0 }
    }

    /// Appends `pkt` to `q`, or gives it back when the pool is full.
    fn push(&mut self, q: &mut Queue, pkt: B) -> Result<(), B> {
        let idx = self.free;
        let Some(slot) = self.slots.get_mut(idx as usize) else { return Err(pkt) };
        self.free = slot.next;
        slot.pkt = Some(pkt);
        slot.next = NIL;
        match self.slots.get_mut(q.tail as usize) {
            Some(tail) => tail.next = idx,
            None => q.head = idx,
        }
        q.tail = idx;
        q.len += 1;
        self.used += 1;
        Ok(())
    }

    /// Takes the oldest packet of `q`.
    fn pop(&mut self, q: &mut Queue) -> Option<B> {
        let idx = q.head;
        let slot = self.slots.get_mut(idx as usize)?;
        let pkt = slot.pkt.take();
        q.head = slot.next;
        slot.next = self.free;
        self.free = idx;
        if q.head == NIL {
            q.tail = NIL;
        }
        q.len = q.len.saturating_sub(1);
        self.used = self.used.saturating_sub(1);
        pkt
    }
}

#[derive(Debug)]
struct Entry {
    mac: MacAddr,
    state: NeighState,
    /// Reachable: when it expires. Incomplete: when the next probe (or failure) is due.
    deadline: Instant,
    /// Incomplete: broadcast requests sent. Stale: unicast confirmation probes sent.
    probes_sent: u32,
    /// Stale and used: being confirmed; when the next unicast probe (or the failure) is due.
    confirm_at: Option<Instant>,
    queue: Queue,
}

/// Entry key: port, then the neighbour's address as a number (`u32` for IPv4).
type Key<A> = (u16, <A as NeighAddr>::Key);

/// The per-core neighbour table. `B` is the packet buffer type of the packets that wait in it;
/// `A` the address family.
#[derive(Debug)]
pub struct NeighTable<B, A: NeighAddr = Ipv4Addr> {
    params: NeighParams,
    entries: HashMap<Key<A>, Entry>,
    /// What [`NeighAddr::solicit`] needs.
    solicit: A::Solicit,
    pool: Pool<B>,
    /// No deadline of any entry is earlier than this; `poll` does nothing before it.
    next_deadline: Instant,
    /// Changes (wrapping) whenever a MAC that was handed out may no longer be right: an entry's
    /// MAC changes, or a resolved entry expires, goes back to incomplete or is removed.
    generation: u32,
    /// The core's budget of unicast confirmation probes (`NeighParams::confirm_pps`).
    confirm: TokenBucket,
}

impl<B: PacketBuf, A: NeighAddr> NeighTable<B, A> {
    /// A table with `statics` installed and all memory reserved.
    pub fn new(params: NeighParams, statics: &[StaticNeigh<A>]) -> Result<Self, NeighError<A>> {
        if params.max_entries == 0 || params.probes == 0 {
            return Err(NeighError::BadParams {
                max_entries: params.max_entries,
                probes: params.probes,
            });
        }
        if params.pending_total >= NIL as usize {
            return Err(NeighError::PendingTooLarge(params.pending_total));
        }
        if statics.len() > params.max_entries {
            return Err(NeighError::TooManyStatic {
                statics: statics.len(),
                max_entries: params.max_entries,
            });
        }
        // Twice the bound: hashbrown then always rehashes in place when tombstones pile up
        // (it grows only when more than half of its capacity is live), so inserting never allocates.
        let mut entries = HashMap::with_capacity(params.max_entries.saturating_mul(2));
        for s in statics {
            if !s.mac.is_unicast() || s.mac == MacAddr::ZERO {
                return Err(NeighError::BadStaticMac { ip: s.ip, mac: s.mac });
            }
            let e = Entry {
                mac: s.mac,
                state: NeighState::Static,
                deadline: Instant::ZERO,
                probes_sent: 0,
                confirm_at: None,
                queue: Queue::EMPTY,
            };
            if entries.insert((s.port, s.ip.key()), e).is_some() {
                return Err(NeighError::DuplicateStatic { ip: s.ip, port: s.port });
            }
        }
        Ok(NeighTable {
            params,
            entries,
            solicit: A::Solicit::default(),
            pool: Pool::new(params.pending_total),
            next_deadline: Instant::from_micros(u64::MAX),
            generation: 0,
            confirm: TokenBucket::new(
                u64::from(params.confirm_pps),
                u64::from(params.confirm_pps),
                Instant::ZERO,
            ),
        })
    }

    /// The table's generation: it changes whenever a MAC [`NeighTable::resolve`] or
    /// [`NeighTable::output`] gave out before may have become wrong (a neighbour's MAC changed,
    /// or a resolved entry expired or was removed). Caches of resolved MACs compare it.
    #[inline]
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// The table's parameters.
    pub fn params(&self) -> &NeighParams {
        &self.params
    }

    /// What solicitations are sent with (for IPv6: the source address of each port), for the
    /// owner of the family's protocol ([`super::nd`]) to keep current.
    pub fn solicit_mut(&mut self) -> &mut A::Solicit {
        &mut self.solicit
    }

    /// What is known about `ip` on `port` at `now`, without side effects.
    #[inline]
    pub fn resolve(&self, ip: A, port: u16, now: Instant) -> Resolution {
        match self.entries.get(&(port, ip.key())) {
            Some(e) => match e.state {
                NeighState::Static => Resolution::Resolved(e.mac),
                NeighState::Reachable | NeighState::Stale if now < e.deadline => {
                    Resolution::Resolved(e.mac)
                }
                NeighState::Reachable | NeighState::Stale => Resolution::Unknown,
                NeighState::Incomplete => Resolution::Incomplete,
            },
            None => Resolution::Unknown,
        }
    }

    /// Sends `pkt` to neighbour `ip` on `port`: at once if resolved, else queues it and starts
    /// (or continues) resolution. `pkt` must start with an Ethernet header whose EtherType is set.
    pub fn output(
        &mut self,
        mut pkt: B,
        ip: A,
        port: u16,
        now: Instant,
        ctx: &mut Ctx<'_, impl NetIo<B>>,
    ) {
        let Some(src) = ctx.ifaces.iface(port).map(|i| i.mac) else {
            return ctx.drop(pkt, DropReason::NoRoute);
        };
        if pkt.len() < crate::wire::ethernet::HEADER_LEN {
            return ctx.drop(pkt, DropReason::EthTruncated);
        }
        let key = (port, ip.key());
        let fresh_probe = match self.entries.get_mut(&key) {
            Some(e) => match e.state {
                NeighState::Static => {
                    set_macs(&mut pkt, e.mac, src);
                    return ctx.io.tx(port, pkt);
                }
                NeighState::Reachable if now < e.deadline => {
                    set_macs(&mut pkt, e.mac, src);
                    return ctx.io.tx(port, pkt);
                }
                NeighState::Stale if now < e.deadline => {
                    // Used but never confirmed: send, and start confirming it (as Linux's
                    // PROBE state): unicast requests to the MAC it holds, every `retry`, up
                    // to `probes`; the host's reply makes it reachable, silence removes it.
                    set_macs(&mut pkt, e.mac, src);
                    ctx.io.tx(port, pkt);
                    if e.confirm_at.is_none() {
                        e.probes_sent = 0;
                        let retry = self.params.retry;
                        confirm_probe(
                            &self.solicit,
                            &mut self.confirm,
                            e,
                            port,
                            ip,
                            now,
                            retry,
                            ctx,
                        );
                        self.next_deadline = self.next_deadline.min(now + self.params.retry);
                    }
                    return;
                }
                NeighState::Reachable | NeighState::Stale => {
                    // Expired but not yet collected: resolve again.
                    e.state = NeighState::Incomplete;
                    e.probes_sent = 0;
                    e.confirm_at = None;
                    self.generation = self.generation.wrapping_add(1);
                    true
                }
                NeighState::Incomplete => false,
            },
            None => {
                if self.entries.len() >= self.params.max_entries
                    && !self.evict_oldest(Victims::Learned, ctx)
                {
                    return ctx.drop(pkt, DropReason::NeighTableFull);
                }
                let e = Entry {
                    mac: MacAddr::ZERO,
                    state: NeighState::Incomplete,
                    deadline: now,
                    probes_sent: 0,
                    confirm_at: None,
                    queue: Queue::EMPTY,
                };
                self.entries.insert(key, e);
                true
            }
        };
        let Some(e) = self.entries.get_mut(&key) else {
            return ctx.drop(pkt, DropReason::NeighUnresolved);
        };
        if e.queue.len as usize >= self.params.pending_per_neigh {
            ctx.drop(pkt, DropReason::NeighQueueFull);
        } else if let Err(pkt) = self.pool.push(&mut e.queue, pkt) {
            ctx.drop(pkt, DropReason::NeighQueueFull);
        }
        if fresh_probe {
            A::solicit(&self.solicit, ctx, port, ip);
            e.probes_sent = 1;
            e.deadline = now + self.params.retry;
            self.next_deadline = self.next_deadline.min(e.deadline);
        }
    }

    /// Makes room in a full table: removes the learned entry that expires first, i.e. the one
    /// refreshed longest ago, among `victims`. For a next hop this director must reach (a
    /// gateway, a real server) any learned entry may go, unconfirmed ([`NeighState::Stale`])
    /// ones first: entries learned from other hosts' requests must not keep the director from
    /// resolving its own next hops. For a new unconfirmed entry only an unconfirmed one may go,
    /// so a flood of requests recycles its own entries and never displaces a confirmed one.
    /// Static and incomplete entries stay (an incomplete one is a resolution of ours in
    /// progress). Scans the table: only when it is full (and, for unconfirmed entries, at most
    /// at the core's ARP rate limit). Returns whether an entry was removed.
    fn evict_oldest(&mut self, victims: Victims, ctx: &mut Ctx<'_, impl NetIo<B>>) -> bool {
        let victim = self
            .entries
            .iter()
            .filter(|(_, e)| match victims {
                Victims::Learned => matches!(e.state, NeighState::Reachable | NeighState::Stale),
                Victims::Unconfirmed => e.state == NeighState::Stale,
            })
            .min_by_key(|(_, e)| (e.state != NeighState::Stale, e.deadline))
            .map(|(&k, _)| k);
        let Some(k) = victim else { return false };
        if let Some(mut e) = self.entries.remove(&k) {
            while let Some(pkt) = self.pool.pop(&mut e.queue) {
                ctx.drop(pkt, DropReason::NeighUnresolved);
            }
        }
        ctx.counters.neigh_evicted += 1;
        self.generation = self.generation.wrapping_add(1);
        true
    }

    /// Whether the director is resolving `ip` on `port` (it sent requests and waits for the
    /// answer, or asked to confirm a stale entry it used). A reply from such a host is one we asked for.
    #[inline]
    pub fn is_resolving(&self, ip: A, port: u16) -> bool {
        self.entries.get(&(port, ip.key())).is_some_and(|e| match e.state {
            NeighState::Incomplete => true,
            NeighState::Stale => e.confirm_at.is_some(),
            NeighState::Reachable | NeighState::Static => false,
        })
    }

    /// Records that `ip` on `port` has `mac` (from ARP; the caller has checked the sender is
    /// on-link and host-like). What `how` may do:
    ///
    /// - any `how` refreshes an existing entry (unless static) and resolves an incomplete one,
    ///   sending the packets waiting for it;
    /// - [`Learn::Confirmed`] (a reply addressed to us) makes the entry
    ///   [`NeighState::Reachable`]; the other kinds keep a stale entry stale, and turn a
    ///   reachable one stale when they change its MAC;
    /// - only [`Learn::Confirmed`] and [`Learn::Addressed`] create an entry for a host never
    ///   seen, and then a [`NeighState::Stale`] one; with the table full it replaces the oldest
    ///   stale entry, never a confirmed, static or incomplete one (else it is not created and
    ///   [`super::NetCounters::neigh_not_learned_full`] counts it).
    ///
    /// Returns whether an entry now holds `mac` because of this call.
    pub fn learn(
        &mut self,
        ip: A,
        port: u16,
        mac: MacAddr,
        how: Learn,
        now: Instant,
        ctx: &mut Ctx<'_, impl NetIo<B>>,
    ) -> bool {
        if !mac.is_unicast() || mac == MacAddr::ZERO {
            return false;
        }
        let key = (port, ip.key());
        let deadline = now + self.params.timeout;
        let state = match self.entries.get(&key) {
            Some(e) if e.state == NeighState::Static => return false,
            Some(e) => match (e.state, how) {
                (NeighState::Incomplete, _) | (_, Learn::Confirmed) => NeighState::Reachable,
                (NeighState::Reachable, _) if e.mac == mac => NeighState::Reachable,
                _ => NeighState::Stale,
            },
            None => {
                if how == Learn::Refresh {
                    return false;
                }
                if self.entries.len() >= self.params.max_entries
                    && !self.evict_oldest(Victims::Unconfirmed, ctx)
                {
                    ctx.counters.neigh_not_learned_full += 1;
                    return false;
                }
                let e = Entry {
                    mac,
                    state: NeighState::Stale,
                    deadline,
                    probes_sent: 0,
                    confirm_at: None,
                    queue: Queue::EMPTY,
                };
                self.entries.insert(key, e);
                self.next_deadline = self.next_deadline.min(deadline);
                ctx.counters.neigh_unconfirmed_learned += 1;
                return true;
            }
        };
        let Some(e) = self.entries.get_mut(&key) else { return false };
        if e.mac != mac {
            self.generation = self.generation.wrapping_add(1);
        }
        if e.state == NeighState::Stale && e.confirm_at.is_some() && state == NeighState::Reachable
        {
            ctx.counters.neigh_confirmed += 1;
        }
        // A stale entry being confirmed stays under confirmation when ARP only refreshes it
        // (same MAC): a host that keeps announcing itself must still answer the probes.
        let confirming = state == NeighState::Stale && e.state == NeighState::Stale && e.mac == mac;
        if !confirming {
            e.probes_sent = 0;
            e.confirm_at = None;
        }
        e.mac = mac;
        e.state = state;
        e.deadline = deadline;
        self.next_deadline = self.next_deadline.min(deadline);
        let src = ctx.ifaces.iface(port).map(|i| i.mac);
        while let Some(mut pkt) = self.pool.pop(&mut e.queue) {
            match src {
                Some(src) => {
                    set_macs(&mut pkt, mac, src);
                    ctx.counters.neigh_released += 1;
                    ctx.io.tx(port, pkt);
                }
                None => ctx.drop(pkt, DropReason::NoRoute),
            }
        }
        true
    }

    /// Timer work due at `now`: probes incomplete entries again, fails those out of probes
    /// (dropping their packets as [`DropReason::NeighUnresolved`]), removes expired entries.
    /// Cheap when nothing is due.
    pub fn poll(&mut self, now: Instant, ctx: &mut Ctx<'_, impl NetIo<B>>) {
        if now < self.next_deadline {
            return;
        }
        let mut next = Instant::from_micros(u64::MAX);
        let params = self.params;
        let pool = &mut self.pool;
        let solicit = &self.solicit;
        let confirm = &mut self.confirm;
        let mut expired = false;
        self.entries.retain(|&(port, ip), e| match e.state {
            NeighState::Static => true,
            NeighState::Reachable | NeighState::Stale => {
                if now >= e.deadline {
                    expired = true;
                    return false;
                }
                if let Some(at) = e.confirm_at {
                    if now >= at {
                        if e.probes_sent >= params.probes {
                            // Every probe unanswered: the host is gone or was never there.
                            ctx.counters.neigh_confirm_failed += 1;
                            expired = true;
                            while let Some(pkt) = pool.pop(&mut e.queue) {
                                ctx.drop(pkt, DropReason::NeighUnresolved);
                            }
                            return false;
                        }
                        let ip = A::from_key(ip);
                        confirm_probe(solicit, confirm, e, port, ip, now, params.retry, ctx);
                    }
                    next = next.min(e.confirm_at.unwrap_or(e.deadline));
                }
                next = next.min(e.deadline);
                true
            }
            NeighState::Incomplete => {
                if now < e.deadline {
                    next = next.min(e.deadline);
                    return true;
                }
                if e.probes_sent >= params.probes {
                    while let Some(pkt) = pool.pop(&mut e.queue) {
                        ctx.drop(pkt, DropReason::NeighUnresolved);
                    }
                    return false;
                }
                A::solicit(solicit, ctx, port, A::from_key(ip));
                e.probes_sent += 1;
                e.deadline = now + params.retry;
                next = next.min(e.deadline);
                true
            }
        });
        self.next_deadline = next;
        if expired {
            self.generation = self.generation.wrapping_add(1);
        }
    }

    /// Drops every waiting packet (as [`DropReason::NeighUnresolved`]) and forgets every learned
    /// and incomplete entry; static ones stay. For shutdown, so buffers go back to their pool.
    pub fn flush(&mut self, ctx: &mut Ctx<'_, impl NetIo<B>>) {
        self.generation = self.generation.wrapping_add(1);
        let pool = &mut self.pool;
        self.entries.retain(|_, e| {
            while let Some(pkt) = pool.pop(&mut e.queue) {
                ctx.drop(pkt, DropReason::NeighUnresolved);
            }
            e.state == NeighState::Static
        });
    }

    /// Number of entries, static ones included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Packets waiting for resolution, over all neighbours.
    pub fn pending_len(&self) -> usize {
        self.pool.used
    }

    /// Snapshot of every entry (allocates; for listings, not the packet path).
    pub fn entries(&self) -> Vec<NeighInfo<A>> {
        self.entries
            .iter()
            .map(|(&(port, ip), e)| NeighInfo {
                ip: A::from_key(ip),
                port,
                state: e.state,
                mac: (e.state != NeighState::Incomplete).then_some(e.mac),
                expires: matches!(e.state, NeighState::Reachable | NeighState::Stale)
                    .then_some(e.deadline),
                pending: e.queue.len as usize,
            })
            .collect()
    }
}

/// Sends stale entry `e`'s next unicast confirmation probe if the core's probe budget allows
/// (else defers it, counted), and schedules the next one (or the failure) `retry` later.
#[allow(clippy::too_many_arguments)]
fn confirm_probe<B: PacketBuf, A: NeighAddr>(
    how: &A::Solicit,
    bucket: &mut TokenBucket,
    e: &mut Entry,
    port: u16,
    ip: A,
    now: Instant,
    retry: Duration,
    ctx: &mut Ctx<'_, impl NetIo<B>>,
) {
    if bucket.take(now) {
        A::solicit_unicast(how, ctx, port, ip, e.mac);
        e.probes_sent = e.probes_sent.saturating_add(1);
    } else {
        ctx.counters.neigh_confirm_limited += 1;
    }
    e.confirm_at = Some(now + retry);
}

/// Writes the Ethernet destination and source of `pkt` (at least a header long, checked by callers).
fn set_macs<B: PacketBuf>(pkt: &mut B, dst: MacAddr, src: MacAddr) {
    if let Ok(mut f) = EthernetFrame::new_checked(pkt.data_mut()) {
        f.set_dst_addr(dst);
        f.set_src_addr(src);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::{PacketBuf, VecBuf};
    use crate::net::counters::NetCounters;
    use crate::net::iface::IfaceTable;
    use crate::net::testutil::*;

    const P2: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 8);

    struct Fixture {
        ifaces: IfaceTable,
        counters: NetCounters,
        io: TestIo,
        table: NeighTable<VecBuf>,
    }

    impl Fixture {
        fn new(params: NeighParams, statics: &[StaticNeigh]) -> Self {
            Fixture {
                ifaces: ifaces(),
                counters: NetCounters::default(),
                io: TestIo::default(),
                table: NeighTable::new(params, statics).unwrap(),
            }
        }
        fn output(&mut self, ip: Ipv4Addr, tag: u8, now: Instant) {
            let mut ctx =
                Ctx { ifaces: &self.ifaces, counters: &mut self.counters, io: &mut self.io };
            // The caller (the stack) sets the EtherType; the table fills in the MACs.
            let mut pkt = outgoing(ip, tag);
            pkt.data_mut()[12..14].copy_from_slice(&[8, 0]);
            self.table.output(pkt, ip, 0, now, &mut ctx);
        }
        fn learn(&mut self, ip: Ipv4Addr, mac: MacAddr, how: Learn, now: Instant) -> bool {
            let mut ctx =
                Ctx { ifaces: &self.ifaces, counters: &mut self.counters, io: &mut self.io };
            self.table.learn(ip, 0, mac, how, now, &mut ctx)
        }
        fn poll(&mut self, now: Instant) {
            let mut ctx =
                Ctx { ifaces: &self.ifaces, counters: &mut self.counters, io: &mut self.io };
            self.table.poll(now, &mut ctx);
        }
        /// Targets of the ARP requests transmitted so far.
        fn arp_targets(&self) -> Vec<Ipv4Addr> {
            self.io
                .tx
                .iter()
                .filter(|(_, p)| data(p).get(12..14) == Some(&[8, 6]))
                .map(|(_, p)| {
                    let d = data(p);
                    Ipv4Addr::new(d[38], d[39], d[40], d[41])
                })
                .collect()
        }
        fn ip_tx(&self) -> Vec<&VecBuf> {
            self.io
                .tx
                .iter()
                .filter(|(_, p)| data(p).get(12..14) == Some(&[8, 0]))
                .map(|(_, p)| p)
                .collect()
        }
    }

    fn params() -> NeighParams {
        NeighParams {
            timeout: Duration::from_secs(60),
            retry: Duration::from_secs(1),
            probes: 3,
            pending_per_neigh: 2,
            pending_total: 3,
            max_entries: 3,
            confirm_pps: 0,
        }
    }

    const T0: Instant = Instant::from_secs(100);

    fn at(ms: u64) -> Instant {
        T0 + Duration::from_millis(ms)
    }

    #[test]
    fn queue_bounds_per_neighbour_and_total() {
        let mut f = Fixture::new(params(), &[]);
        for tag in 0..3 {
            f.output(PEER, tag, T0);
        }
        assert_eq!(
            f.io.drop_reasons(),
            vec![DropReason::NeighQueueFull],
            "third packet for one neighbour"
        );
        assert_eq!(f.table.pending_len(), 2);
        f.output(P2, 10, T0);
        f.output(P2, 11, T0);
        assert_eq!(f.table.pending_len(), 3, "the pool holds 3 in all");
        assert_eq!(f.io.drop_reasons(), vec![DropReason::NeighQueueFull; 2]);
        assert_eq!(f.counters.drop_count(DropReason::NeighQueueFull), 2);
        assert_eq!(f.arp_targets(), vec![PEER, P2], "one request per neighbour, not per packet");
        // The dropped packets were the newest ones: resolution releases tags 0, 1 and 10.
        assert!(f.learn(PEER, PEER_MAC, Learn::Refresh, T0));
        assert!(f.learn(P2, PEER_MAC, Learn::Refresh, T0));
        let tags: Vec<u8> = f.ip_tx().iter().map(|p| *data(p).last().unwrap()).collect();
        assert_eq!(tags, vec![0, 1, 10]);
        assert_eq!(f.table.pending_len(), 0);
        // Slots are reusable after release.
        f.output(Ipv4Addr::new(10, 0, 0, 9), 20, T0);
        assert_eq!(f.table.pending_len(), 1);
    }

    #[test]
    fn retries_then_failure_drops_queued() {
        let mut f = Fixture::new(params(), &[]);
        f.output(PEER, 1, T0);
        f.output(PEER, 2, at(100));
        assert_eq!(f.arp_targets().len(), 1);
        f.poll(at(999));
        assert_eq!(f.arp_targets().len(), 1, "nothing due before the retry interval");
        f.poll(at(1000));
        assert_eq!(f.arp_targets().len(), 2);
        f.poll(at(1500));
        f.poll(at(2000));
        assert_eq!(f.arp_targets().len(), 3, "three probes in all");
        assert_eq!(f.table.resolve(PEER, 0, at(2500)), Resolution::Incomplete);
        f.poll(at(2999));
        assert!(f.io.dropped.is_empty());
        f.poll(at(3000));
        assert_eq!(f.arp_targets().len(), 3, "no fourth probe");
        assert_eq!(f.io.drop_reasons(), vec![DropReason::NeighUnresolved; 2]);
        assert_eq!(f.counters.drop_count(DropReason::NeighUnresolved), 2);
        assert_eq!(f.table.resolve(PEER, 0, at(3000)), Resolution::Unknown);
        assert_eq!((f.table.len(), f.table.pending_len()), (0, 0));
        assert_eq!(f.counters.arp_requests_sent, 3);
        // A new packet starts over.
        f.output(PEER, 3, at(4000));
        assert_eq!(f.arp_targets().len(), 4);
    }

    #[test]
    fn learned_entries_expire() {
        let mut f = Fixture::new(params(), &[]);
        assert!(
            !f.learn(PEER, PEER_MAC, Learn::Refresh, T0),
            "not created without an entry or create"
        );
        assert!(f.learn(PEER, PEER_MAC, Learn::Addressed, T0));
        assert_eq!(f.table.resolve(PEER, 0, at(59_999)), Resolution::Resolved(PEER_MAC));
        assert_eq!(f.table.resolve(PEER, 1, at(0)), Resolution::Unknown, "per port");
        // Refreshed by a later ARP packet.
        let other = MacAddr([0x52, 0, 0, 0, 0, 9]);
        assert!(f.learn(PEER, other, Learn::Refresh, at(30_000)));
        assert_eq!(f.table.resolve(PEER, 0, at(89_999)), Resolution::Resolved(other));
        assert_eq!(f.table.resolve(PEER, 0, at(90_000)), Resolution::Unknown);
        f.poll(at(89_999));
        assert_eq!(f.table.len(), 1);
        f.poll(at(90_000));
        assert_eq!(f.table.len(), 0);
        f.output(PEER, 1, at(90_001));
        assert_eq!(f.arp_targets(), vec![PEER], "expired: resolved again");
    }

    #[test]
    fn expired_but_not_collected_entry_is_resolved_again() {
        let mut f = Fixture::new(params(), &[]);
        f.learn(PEER, PEER_MAC, Learn::Addressed, T0);
        f.output(PEER, 1, at(60_000));
        assert!(f.ip_tx().is_empty());
        assert_eq!(f.arp_targets(), vec![PEER]);
        assert_eq!(f.table.pending_len(), 1);
    }

    #[test]
    fn static_entries_never_expire_nor_change() {
        let st = [StaticNeigh { ip: PEER, port: 0, mac: PEER_MAC }];
        let mut f = Fixture::new(params(), &st);
        let far = T0 + Duration::from_secs(10 * 365 * 86_400);
        f.poll(far);
        assert_eq!(f.table.resolve(PEER, 0, far), Resolution::Resolved(PEER_MAC));
        assert!(!f.learn(PEER, MacAddr([0x52, 0, 0, 0, 0, 9]), Learn::Addressed, far));
        f.output(PEER, 7, far);
        let sent = f.ip_tx();
        assert_eq!(sent.len(), 1);
        assert_eq!(&data(sent[0])[0..12], &[PEER_MAC.0, MAC0.0].concat()[..]);
        assert!(f.arp_targets().is_empty());
        let mut ctx = Ctx { ifaces: &f.ifaces, counters: &mut f.counters, io: &mut f.io };
        f.table.flush(&mut ctx);
        assert_eq!(f.table.entries().len(), 1);
        assert_eq!(f.table.entries()[0].state, NeighState::Static);
    }

    #[test]
    fn a_next_hop_of_ours_evicts_the_oldest_learned_entry_when_full() {
        let mut f = Fixture::new(params(), &[]);
        // Hosts whose requests filled the table, the first one longest ago.
        let flooders =
            [Ipv4Addr::new(10, 0, 0, 20), Ipv4Addr::new(10, 0, 0, 21), Ipv4Addr::new(10, 0, 0, 22)];
        for (i, ip) in flooders.iter().enumerate() {
            assert!(f.learn(*ip, PEER_MAC, Learn::Addressed, at(i as u64 * 10)));
        }
        assert_eq!(f.table.len(), 3);
        let gen = f.table.generation();
        f.output(PEER, 1, at(50));
        assert_eq!(f.io.drop_reasons(), vec![], "the packet waits for resolution");
        assert_eq!(f.arp_targets(), vec![PEER], "and a request for its next hop went out");
        assert_eq!(f.counters.neigh_evicted, 1);
        assert_ne!(f.table.generation(), gen, "a removed MAC changes the generation");
        let mut left: Vec<Ipv4Addr> = f.table.entries().iter().map(|e| e.ip).collect();
        left.sort();
        assert_eq!(left, vec![PEER, flooders[1], flooders[2]], "the oldest learned one went");
        // Only incomplete entries of ours left to evict: a new next hop is refused, not them.
        f.output(P2, 1, at(60));
        f.output(Ipv4Addr::new(10, 0, 0, 9), 1, at(60));
        assert_eq!(f.counters.neigh_evicted, 3);
        f.output(Ipv4Addr::new(10, 0, 0, 10), 1, at(60));
        assert_eq!(f.io.drop_reasons().last(), Some(&DropReason::NeighTableFull));
        assert_eq!(f.counters.neigh_evicted, 3);
    }

    #[test]
    fn table_full_drops_without_growing() {
        let mut f = Fixture::new(params(), &[]);
        let cap = f.table.entries.capacity();
        f.output(PEER, 1, T0);
        f.output(P2, 1, T0);
        f.output(Ipv4Addr::new(10, 0, 0, 9), 1, T0);
        f.output(Ipv4Addr::new(10, 0, 0, 10), 1, T0);
        assert_eq!(f.table.len(), 3);
        assert_eq!(f.io.drop_reasons().last(), Some(&DropReason::NeighTableFull));
        assert!(
            !f.learn(Ipv4Addr::new(10, 0, 0, 11), PEER_MAC, Learn::Addressed, T0),
            "full: not learned"
        );
        // Churn: entries fail and are replaced many times; the map never reallocates.
        let mut now = T0;
        for round in 0..200u32 {
            now = now + Duration::from_secs(5);
            f.poll(now);
            for k in 0..3u32 {
                let ip = Ipv4Addr::from(0x0a00_1000 + round * 3 + k);
                f.output(ip, 0, now);
            }
            assert!(f.table.len() <= 3);
            assert!(f.table.pending_len() <= 3);
        }
        assert_eq!(f.table.entries.capacity(), cap);
        assert_eq!(f.table.pool.slots.capacity(), 3);
    }

    #[test]
    fn construction_errors() {
        let new = |p: NeighParams, s: &[StaticNeigh]| NeighTable::<VecBuf>::new(p, s).err();
        assert!(matches!(
            new(NeighParams { max_entries: 0, ..params() }, &[]),
            Some(NeighError::BadParams { .. })
        ));
        assert!(matches!(
            new(NeighParams { probes: 0, ..params() }, &[]),
            Some(NeighError::BadParams { .. })
        ));
        let s =
            |last: u8| StaticNeigh { ip: Ipv4Addr::new(10, 0, 0, last), port: 0, mac: PEER_MAC };
        assert!(matches!(
            new(NeighParams { max_entries: 1, ..params() }, &[s(1), s(2)]),
            Some(NeighError::TooManyStatic { .. })
        ));
        assert!(matches!(new(params(), &[s(1), s(1)]), Some(NeighError::DuplicateStatic { .. })));
        let bad = StaticNeigh { mac: MacAddr::BROADCAST, ..s(1) };
        assert!(matches!(new(params(), &[bad]), Some(NeighError::BadStaticMac { .. })));
        assert!(new(NeighParams { pending_total: 0, ..params() }, &[]).is_none());
    }

    #[test]
    fn zero_pool_still_resolves() {
        let mut f = Fixture::new(NeighParams { pending_total: 0, ..params() }, &[]);
        f.output(PEER, 1, T0);
        assert_eq!(f.io.drop_reasons(), vec![DropReason::NeighQueueFull]);
        assert_eq!(f.arp_targets(), vec![PEER]);
    }
}
