//! The per-core connection table: a fixed slab of entries, a hash index over each direction's
//! tuple, and a timer wheel that expires them.
//!
//! Owns every connection and persistence template of one worker core for one address family,
//! its counters ([`ConnStats`]) and its copy of the protocol [`StateTimeouts`]. It must not know
//! about packets, services or real servers beyond the indices it stores: the caller (the
//! forwarding path) reads tuples from packets, asks the scheduler, and keeps the real servers'
//! active/inactive counts from what this table reports. Time is always passed in.
//!
//! # Memory, fixed at construction
//! - The slab holds `capacity` entries (104 bytes each for IPv4) threaded by a free list; an
//!   entry is addressed by its index ([`ConnId`]).
//! - The index ([`super::index`]) holds `index << 1 | direction` in 64-byte buckets of eight
//!   signatures and values, two candidate buckets per tuple, sized for `2 * capacity` values
//!   at 85 % load; equality compares against the tuple stored in the entry. About 19 bytes
//!   per connection; [`ConnTable::memory_bytes`] tells.
//! - [`ConnTable::lookup_burst`] looks up a burst of tuples in stages (hash all and touch
//!   their buckets, then touch the entries their signatures point at, then compare), so the
//!   cache misses of a burst overlap instead of following one another.
//! - The timer wheel has 385 slot heads; the per-entry timer links live in the entries.
//!
//! # Life of an entry
//! An entry is dead from its deadline on: lookups no longer find it, and an insert of the same
//! tuple or into a full table reclaims it. [`ConnTable::expire`] reaps dead entries as the
//! wheel turns. Every entry that leaves the table is reported exactly once through the
//! callback passed to the call that removed it (`insert`, `expire`, `remove`...), so the caller
//! can update real-server counts and give back FULLNAT ports.
//!
//! # Persistence templates
//! Templates live in the same slab and index, flagged, keyed by client network -> virtual
//! address and port, in a key space of their own. Sharing the slab bounds connections plus
//! templates with one number, shares the expiry path, and needs no second structure; the cost
//! is a template using a full entry, which is rare next to connections. A template counts the
//! connections scheduled through it; when its timer fires while it still controls connections
//! it is re-armed for another timeout, so it outlives them as IPVS templates do. An explicitly
//! removed (invalidated) template leaves the index at once and its slot is freed when its last
//! connection goes.

use super::index::BucketIndex;
use thiserror::Error;

use super::entry::{
    Conn, ConnFlags, ConnId, ConnSpec, Direction, FwdMethod, TemplateSpec, NO_INDEX,
};
use super::key::{ConnAddr, ConnKey, HashSeed, TemplateKey};
use super::snapshot::listed_with_local;
use crate::ipvs::proto::{tcp, ConnState, StateTimeouts, TcpDir, TcpState, Transition};
use crate::ipvs::timer::{
    self, delay_ticks, is_due, tick_of, Tick, TimerNode, TimerNodes, TimerWheel,
};
use crate::time::Instant;

const KIND_CONN: u8 = 0;
const KIND_TEMPLATE: u8 = 1;
const NIL: u32 = u32::MAX;
const LOOKUP_BURST: usize = 32;
/// Timer-wheel steps [`ConnTable::expire_at_most`] may take per entry it may free.
const EXPIRE_STEPS_PER_ENTRY: u32 = 4;
/// Timer-wheel steps every [`ConnTable::expire_at_most`] call may take besides those.
const EXPIRE_STEPS_BASE: u32 = 64;

/// Why a table could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ConnTableError {
    /// Capacity zero or above the maximum.
    #[error("connection table capacity {0} is out of range: use 1 to {max}", max = ConnTable::<std::net::Ipv4Addr>::MAX_CAPACITY)]
    Capacity(u32),
}

/// Why an entry was not inserted. The table is unchanged except for dead entries reclaimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum InsertError {
    /// Every slot holds a live entry.
    #[error("connection table full ({capacity} entries)")]
    TableFull {
        /// The table's capacity.
        capacity: u32,
    },
    /// A live entry already owns one of the tuples.
    #[error("a live connection already uses this tuple")]
    Exists,
    /// A protocol the table does not track.
    #[error("protocol {0} is not tracked (TCP and UDP are)")]
    UnsupportedProtocol(u8),
    /// The template id does not name a live, indexed template.
    #[error("persistence template is gone")]
    NoSuchTemplate,
}

/// Counters of one table. Single writer (the owning worker).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConnStats {
    /// Lookups (connections and templates) that found a live entry.
    pub hits: u64,
    /// Lookups that found nothing live.
    pub misses: u64,
    /// Entries inserted (connections and templates).
    pub inserts: u64,
    /// Entries reaped by [`ConnTable::expire`].
    pub expired: u64,
    /// Dead entries reclaimed by an insert (full table, or the same tuple).
    pub evicted: u64,
    /// Entries removed (or templates invalidated) by [`ConnTable::remove`].
    pub removed: u64,
    /// Inserts refused because the table was full of live entries.
    pub table_full: u64,
}

/// Slots of [`ConnTable`]'s per-state timeouts in ticks: each TCP state, then UDP.
const STATE_SLOTS: usize = TcpState::COUNT + 1;

/// The slot of `s` among [`STATE_SLOTS`].
#[inline]
fn state_slot(s: ConnState) -> usize {
    match s {
        ConnState::Tcp(t) => t as usize,
        ConnState::Udp(_) => TcpState::COUNT,
    }
}

/// Every state's timeout of `t` in ticks ([`delay_ticks`]), by [`state_slot`].
fn state_ticks(t: &StateTimeouts) -> [u32; STATE_SLOTS] {
    let mut out = [1; STATE_SLOTS];
    for s in TcpState::ALL {
        out[state_slot(ConnState::Tcp(s))] = delay_ticks(t.for_state(ConnState::Tcp(s)));
    }
    let udp = ConnState::Udp(crate::ipvs::proto::UdpState::Normal);
    out[state_slot(udp)] = delay_ticks(t.for_state(udp));
    out
}

/// The per-core connection table for address family `A`. See the module documentation.
pub struct ConnTable<A: ConnAddr> {
    slab: Box<[Conn<A>]>,
    free_head: u32,
    len: u32,
    index: BucketIndex,
    wheel: TimerWheel,
    seed: HashSeed,
    timeouts: StateTimeouts,
    /// `timeouts` in ticks, by [`state_slot`]: what a packet re-arms its entry with, without
    /// a conversion per packet.
    state_ticks: [u32; STATE_SLOTS],
    stats: ConnStats,
    /// Live entries the connection listing shows with a local address
    /// ([`super::snapshot::listed_with_local`]).
    listed_local: u32,
    /// Tests only: bits of every hash kept (the rest zeroed), to force bucket and signature
    /// collisions.
    #[cfg(test)]
    hash_mask: u64,
}

impl<A: ConnAddr> core::fmt::Debug for ConnTable<A> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ConnTable")
            .field("len", &self.len)
            .field("capacity", &self.slab.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl<A: ConnAddr> TimerNodes for [Conn<A>] {
    fn timer_node(&self, idx: u32) -> &TimerNode {
        &self[idx as usize].timer
    }
    fn timer_node_mut(&mut self, idx: u32) -> &mut TimerNode {
        &mut self[idx as usize].timer
    }
}

fn dir_of(v: u32) -> Direction {
    if v & 1 == 0 {
        Direction::In
    } else {
        Direction::Out
    }
}

fn kind_of<A: ConnAddr>(e: &Conn<A>) -> u8 {
    if e.is_template() {
        KIND_TEMPLATE
    } else {
        KIND_CONN
    }
}

/// Which directions of an entry are in the index.
fn indexed_dirs<A: ConnAddr>(e: &Conn<A>) -> &'static [Direction] {
    if e.is_template() {
        if e.flags.contains(ConnFlags::DETACHED) {
            &[]
        } else {
            &[Direction::In]
        }
    } else if e.fwd.sees_replies() {
        &[Direction::In, Direction::Out]
    } else {
        &[Direction::In]
    }
}

impl<A: ConnAddr> ConnTable<A> {
    /// The largest capacity accepted.
    pub const MAX_CAPACITY: u32 = 1 << 28;

    /// A table of `capacity` entries (connections plus templates), hashing with `seed`
    /// (use [`HashSeed::random`] outside tests), whose clock starts at `now`. All memory is
    /// allocated here.
    pub fn new(capacity: u32, seed: HashSeed, now: Instant) -> Result<Self, ConnTableError> {
        if capacity == 0 || capacity > Self::MAX_CAPACITY {
            return Err(ConnTableError::Capacity(capacity));
        }
        let mut slab = vec![Conn::<A>::free(); capacity as usize].into_boxed_slice();
        for (i, e) in slab.iter_mut().enumerate() {
            let next = i as u32 + 1;
            e.timer.set_spare_link(if next == capacity { NIL } else { next });
        }
        let index = BucketIndex::with_capacity(2 * capacity as usize);
        Ok(ConnTable {
            slab,
            free_head: 0,
            len: 0,
            index,
            wheel: TimerWheel::new(tick_of(now)),
            seed,
            timeouts: StateTimeouts::default(),
            state_ticks: state_ticks(&StateTimeouts::default()),
            stats: ConnStats::default(),
            listed_local: 0,
            #[cfg(test)]
            hash_mask: u64::MAX,
        })
    }

    /// Live entries (connections, templates, and invalidated templates still controlling
    /// connections).
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Live entries that the connection listing (`-L -c`) shows with a local address: TCP
    /// and UDP connections forwarded by FULLNAT or SNAT. Kept as entries come and go, so
    /// the listing can tell before its walk whether its header needs the `local` column.
    pub fn listed_with_local(&self) -> u32 {
        self.listed_local
    }

    /// Whether the table holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The fixed number of entries.
    pub fn capacity(&self) -> u32 {
        self.slab.len() as u32
    }

    /// Counters.
    pub fn stats(&self) -> &ConnStats {
        &self.stats
    }

    /// Protocol timeouts in force.
    pub fn timeouts(&self) -> &StateTimeouts {
        &self.timeouts
    }

    /// Replaces the protocol timeouts. Entries pick them up on their next packet.
    pub fn set_timeouts(&mut self, t: StateTimeouts) {
        self.state_ticks = state_ticks(&t);
        self.timeouts = t;
    }

    /// Bytes held by the table: slab, index and wheel.
    pub fn memory_bytes(&self) -> usize {
        core::mem::size_of_val(&*self.slab)
            + self.index.allocation_size()
            + core::mem::size_of::<TimerWheel>()
            + 385 * 4
    }

    /// The entry `id` names, if live.
    pub fn get(&self, id: ConnId) -> Option<&Conn<A>> {
        self.slab.get(id.0 as usize).filter(|e| !e.is_free())
    }

    /// The entry `id` names, if live, writable (only fields that cannot corrupt the table
    /// are writable).
    pub fn get_mut(&mut self, id: ConnId) -> Option<&mut Conn<A>> {
        self.slab.get_mut(id.0 as usize).filter(|e| !e.is_free())
    }

    /// Every live entry, in slab order.
    pub fn iter(&self) -> impl Iterator<Item = (ConnId, &Conn<A>)> + '_ {
        self.slab
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.is_free())
            .map(|(i, e)| (ConnId(i as u32), e))
    }

    fn is_dead(e: &Conn<A>, now: Tick) -> bool {
        !(e.is_template() && e.controlled > 0) && is_due(e.timer.deadline(), now)
    }

    /// The index hash of `key` in key space `kind`.
    #[inline]
    fn hash(&self, key: &ConnKey<A>, kind: u8) -> u64 {
        let h = A::hash_key(key, kind, &self.seed);
        #[cfg(test)]
        let h = h & self.hash_mask;
        h
    }

    /// The hash of the tuple index value `v` refers to.
    fn stored_hash(&self, v: u32) -> u64 {
        let e = &self.slab[(v >> 1) as usize];
        self.hash(&e.key(dir_of(v)), kind_of(e))
    }

    /// Tests only: values the index could not place in a bucket.
    #[cfg(test)]
    pub(crate) fn index_stashed(&self) -> usize {
        self.index.stashed()
    }

    /// Tests only: keep only the bits of `mask` of every hash (set before inserting).
    #[cfg(test)]
    pub(crate) fn degrade_hash(&mut self, mask: u64) {
        assert!(self.is_empty());
        self.hash_mask = mask;
    }

    fn find(&self, key: &ConnKey<A>, kind: u8) -> Option<u32> {
        self.find_hashed(self.hash(key, kind), key, kind)
    }

    #[inline]
    fn find_hashed(&self, h: u64, key: &ConnKey<A>, kind: u8) -> Option<u32> {
        let slab = &self.slab;
        self.index.find(h, |v| {
            let e = &slab[(v >> 1) as usize];
            kind_of(e) == kind && e.key(dir_of(v)) == *key
        })
    }

    /// The live connection a packet with tuple `key` belongs to, and which of its directions
    /// the packet travels. Counts a hit or a miss.
    pub fn lookup(&mut self, key: &ConnKey<A>, now: Instant) -> Option<(ConnId, Direction)> {
        let now = tick_of(now);
        match self.find(key, KIND_CONN) {
            Some(v) if !Self::is_dead(&self.slab[(v >> 1) as usize], now) => {
                self.stats.hits += 1;
                Some((ConnId(v >> 1), dir_of(v)))
            }
            _ => {
                self.stats.misses += 1;
                None
            }
        }
    }

    /// Starts the memory reads a lookup of each of `keys` will need, without finding
    /// anything: hashes every tuple and reads the first word of its primary bucket, then
    /// reads the entry the first matching signature of each bucket points at. The reads of a
    /// burst are independent, so their cache misses overlap; the lookups that follow (one per
    /// packet, in the packet's own processing) then find bucket and entry in cache.
    ///
    /// Plain reads stand in for prefetch instructions: the core crate has no `unsafe`, and
    /// `_mm_prefetch` needs it. A read whose value only feeds a `black_box` costs a load slot
    /// instead of a prefetch slot; the out-of-order core keeps issuing the reads that follow.
    /// At most [`Self::BURST`] tuples are handled; the rest of `keys` is ignored.
    #[inline]
    pub fn prefetch_burst(&self, keys: &[ConnKey<A>]) {
        let keys = &keys[..keys.len().min(Self::BURST)];
        let mut hashes = [0u64; LOOKUP_BURST];
        let mut acc = 0u32;
        for (h, key) in hashes.iter_mut().zip(keys) {
            *h = self.hash(key, KIND_CONN);
            acc ^= self.index.touch(*h);
        }
        for &h in &hashes[..keys.len()] {
            if let Some(v) = self.index.first_candidate(h) {
                acc ^= self.slab.get((v >> 1) as usize).map_or(0, |e| u32::from(e.cport));
            }
        }
        core::hint::black_box(acc);
    }

    /// Tuples handled by one [`ConnTable::prefetch_burst`] (and one stage of
    /// [`ConnTable::lookup_burst`]).
    pub const BURST: usize = LOOKUP_BURST;

    /// [`ConnTable::lookup`] of every tuple of `keys`, into `out` (which must be as long),
    /// in stages per [`Self::BURST`] tuples: touch every bucket, then every candidate entry,
    /// then compare. Counts a hit or a miss per tuple, like `lookup`.
    pub fn lookup_burst(
        &mut self,
        keys: &[ConnKey<A>],
        now: Instant,
        out: &mut [Option<(ConnId, Direction)>],
    ) {
        for (keys, out) in keys.chunks(Self::BURST).zip(out.chunks_mut(Self::BURST)) {
            self.prefetch_burst(keys);
            for (key, o) in keys.iter().zip(out.iter_mut()) {
                *o = self.lookup(key, now);
            }
        }
    }

    /// Whether a live connection holds the tuple `key` in either direction (what
    /// [`ConnTable::insert`] would refuse as [`InsertError::Exists`]). Counts nothing.
    #[inline]
    pub fn holds(&self, key: &ConnKey<A>, now: Instant) -> bool {
        let now = tick_of(now);
        self.find(key, KIND_CONN)
            .is_some_and(|v| !Self::is_dead(&self.slab[(v >> 1) as usize], now))
    }

    /// The live persistence template for `key`. Counts a hit or a miss.
    pub fn template_lookup(&mut self, key: &TemplateKey<A>, now: Instant) -> Option<ConnId> {
        let now = tick_of(now);
        match self.find(&key.as_conn_key(), KIND_TEMPLATE) {
            Some(v) if !Self::is_dead(&self.slab[(v >> 1) as usize], now) => {
                self.stats.hits += 1;
                Some(ConnId(v >> 1))
            }
            _ => {
                self.stats.misses += 1;
                None
            }
        }
    }

    /// Creates a connection. On a full table a dead entry is reclaimed first if there is one;
    /// a dead entry holding one of the new tuples is reclaimed too. Reclaimed entries are
    /// reported through `on_freed`. The connection starts in its protocol's initial state
    /// (inactive); feed it its first packet with [`ConnTable::on_packet`]. A controlling
    /// template, if given, is refreshed.
    pub fn insert(
        &mut self,
        spec: &ConnSpec<A>,
        now: Instant,
        mut on_freed: impl FnMut(&Conn<A>),
    ) -> Result<ConnId, InsertError> {
        let state = ConnState::initial(spec.key.proto)
            .ok_or(InsertError::UnsupportedProtocol(spec.key.proto.number()))?;
        let now = tick_of(now);
        self.make_room(now, &mut on_freed)?;
        if let Some(t) = spec.template {
            match self.slab.get(t.0 as usize) {
                Some(e)
                    if !e.is_free()
                        && e.is_template()
                        && !e.flags.contains(ConnFlags::DETACHED) => {}
                _ => return Err(InsertError::NoSuchTemplate),
            }
        }
        let k = &spec.key;
        let (laddr, lport) = spec.local.unwrap_or((k.saddr, k.sport));
        let key_in = *k;
        let key_out = ConnKey::new(k.proto, spec.dest_addr.0, spec.dest_addr.1, laddr, lport);
        self.clear_key(&key_in, KIND_CONN, now, &mut on_freed)?;
        if spec.fwd.sees_replies() {
            if key_out == key_in {
                return Err(InsertError::Exists);
            }
            self.clear_key(&key_out, KIND_CONN, now, &mut on_freed)?;
        }
        let idx = self.alloc().ok_or(InsertError::TableFull { capacity: self.capacity() })?;
        let timeout = delay_ticks(self.timeouts.for_state(state));
        let mut flags = ConnFlags::default();
        flags.set(ConnFlags::NO_OUTPUT, !spec.fwd.sees_replies());
        let e = &mut self.slab[idx as usize];
        e.caddr = k.saddr;
        e.cport = k.sport;
        e.vaddr = k.daddr;
        e.vport = k.dport;
        e.daddr = spec.dest_addr.0;
        e.dport = spec.dest_addr.1;
        e.laddr = laddr;
        e.lport = lport;
        e.proto = k.proto;
        e.fwd = spec.fwd;
        e.state = state.to_u8();
        e.flags = flags;
        e.dest = spec.dest;
        e.svc = spec.svc;
        e.template = spec.template.map_or(NO_INDEX, |t| t.0);
        e.timeout = timeout;
        e.l2 = crate::net::L2Cache::EMPTY;
        self.link(idx, now.wrapping_add(timeout))?;
        if let Some(t) = spec.template {
            let te = &mut self.slab[t.0 as usize];
            te.controlled += 1;
            let deadline = now.wrapping_add(te.timeout);
            self.wheel.arm(&mut self.slab[..], t.0, deadline);
        }
        Ok(ConnId(idx))
    }

    /// Installs a connection another director reported (connection sync): like
    /// [`ConnTable::insert`], but the entry starts in `state` with a timer of `timeout_secs`
    /// (0: the table's timeout for `state`), as the reporting director had it. The entry is an
    /// ordinary connection from then on: its packets refresh it with the table's timeouts.
    /// `state` must be a state of the spec's protocol ([`InsertError::UnsupportedProtocol`]
    /// otherwise, with nothing changed). A live entry holding either tuple refuses it
    /// ([`InsertError::Exists`]): the caller decides whether to update that one instead.
    pub fn install(
        &mut self,
        spec: &ConnSpec<A>,
        state: ConnState,
        timeout_secs: u32,
        now: Instant,
        on_freed: impl FnMut(&Conn<A>),
    ) -> Result<ConnId, InsertError> {
        let same_proto = matches!(
            (ConnState::initial(spec.key.proto), state),
            (Some(ConnState::Tcp(_)), ConnState::Tcp(_))
                | (Some(ConnState::Udp(_)), ConnState::Udp(_))
        );
        if !same_proto {
            return Err(InsertError::UnsupportedProtocol(spec.key.proto.number()));
        }
        let id = self.insert(spec, now, on_freed)?;
        let timeout = if timeout_secs == 0 {
            delay_ticks(self.timeouts.for_state(state))
        } else {
            delay_ticks(timeout_secs)
        };
        let e = &mut self.slab[id.0 as usize];
        e.state = state.to_u8();
        e.timeout = timeout;
        self.wheel.arm(&mut self.slab[..], id.0, tick_of(now).wrapping_add(timeout));
        Ok(id)
    }

    /// Sets the state and timer of live connection `id` as a peer director reported them
    /// (connection sync: a connection both directors hold); `timeout_secs` 0 means the table's
    /// timeout for `state`. Returns the transition (for the real server's active/inactive
    /// counts); `None`, with nothing changed, if `id` is not a live connection or `state` is
    /// not a state of its protocol.
    pub fn set_state(
        &mut self,
        id: ConnId,
        state: ConnState,
        timeout_secs: u32,
        now: Instant,
    ) -> Option<Transition> {
        let timeouts = &self.timeouts;
        let e = self.slab.get_mut(id.0 as usize).filter(|e| !e.is_free() && !e.is_template())?;
        let from = ConnState::from_u8(e.state);
        if !matches!(
            (from, state),
            (ConnState::Tcp(_), ConnState::Tcp(_)) | (ConnState::Udp(_), ConnState::Udp(_))
        ) {
            return None;
        }
        e.state = state.to_u8();
        e.timeout = match timeout_secs {
            0 => delay_ticks(timeouts.for_state(state)),
            s => delay_ticks(s),
        };
        let deadline = tick_of(now).wrapping_add(e.timeout);
        self.wheel.arm(&mut self.slab[..], id.0, deadline);
        Some(Transition { from, to: state })
    }

    /// Creates a persistence template (see [`ConnTable::insert`] for reclaiming). Its timeout
    /// is the service's persistence timeout, clamped to the wheel's reach.
    pub fn template_insert(
        &mut self,
        spec: &TemplateSpec<A>,
        now: Instant,
        mut on_freed: impl FnMut(&Conn<A>),
    ) -> Result<ConnId, InsertError> {
        let k = &spec.key;
        let state = ConnState::initial(k.proto)
            .ok_or(InsertError::UnsupportedProtocol(k.proto.number()))?;
        let now = tick_of(now);
        self.make_room(now, &mut on_freed)?;
        self.clear_key(&k.as_conn_key(), KIND_TEMPLATE, now, &mut on_freed)?;
        let idx = self.alloc().ok_or(InsertError::TableFull { capacity: self.capacity() })?;
        let timeout = delay_ticks(spec.timeout_secs);
        let e = &mut self.slab[idx as usize];
        e.caddr = k.client_net;
        e.cport = 0;
        e.vaddr = k.vaddr;
        e.vport = k.vport;
        e.daddr = spec.dest_addr.0;
        e.dport = spec.dest_addr.1;
        e.laddr = k.client_net;
        e.lport = 0;
        e.proto = k.proto;
        e.fwd = FwdMethod::Masq;
        e.state = state.to_u8();
        e.flags = ConnFlags::default();
        e.flags.set(ConnFlags::TEMPLATE, true);
        e.dest = spec.dest;
        e.svc = spec.svc;
        e.template = NO_INDEX;
        e.controlled = 0;
        e.timeout = timeout;
        self.link(idx, now.wrapping_add(timeout))?;
        Ok(ConnId(idx))
    }

    /// Indexes a filled entry, arms its timer and counts it. When the index cannot place a
    /// tuple (its stash is full: practically only under a degenerate hash) the entry goes back
    /// to the free list and the insert is refused as a full table.
    fn link(&mut self, idx: u32, deadline: Tick) -> Result<(), InsertError> {
        let dirs = indexed_dirs(&self.slab[idx as usize]);
        for (n, &d) in dirs.iter().enumerate() {
            let v = idx << 1 | d as u32;
            let h = self.stored_hash(v);
            if !self.index.insert(h, v) {
                for &done in &dirs[..n] {
                    let v = idx << 1 | done as u32;
                    let h = self.stored_hash(v);
                    self.index.remove(h, v);
                }
                let slot = &mut self.slab[idx as usize];
                *slot = Conn::free();
                slot.timer.set_spare_link(self.free_head);
                self.free_head = idx;
                self.stats.table_full += 1;
                return Err(InsertError::TableFull { capacity: self.capacity() });
            }
        }
        self.wheel.arm(&mut self.slab[..], idx, deadline);
        self.len += 1;
        self.listed_local += u32::from(listed_with_local(&self.slab[idx as usize]));
        self.stats.inserts += 1;
        Ok(())
    }

    /// Ensures a free slot, reclaiming one dead entry if the table is full.
    fn make_room(
        &mut self,
        now: Tick,
        on_freed: &mut impl FnMut(&Conn<A>),
    ) -> Result<(), InsertError> {
        while self.free_head == NIL {
            let Some(idx) = self.wheel.pop_expired(&mut self.slab[..], now) else {
                self.stats.table_full += 1;
                return Err(InsertError::TableFull { capacity: self.capacity() });
            };
            if self.fired(idx, now, on_freed) {
                self.stats.evicted += 1;
            }
        }
        Ok(())
    }

    /// Frees a dead entry holding `key`, or refuses if it is live.
    fn clear_key(
        &mut self,
        key: &ConnKey<A>,
        kind: u8,
        now: Tick,
        on_freed: &mut impl FnMut(&Conn<A>),
    ) -> Result<(), InsertError> {
        if let Some(v) = self.find(key, kind) {
            if !Self::is_dead(&self.slab[(v >> 1) as usize], now) {
                return Err(InsertError::Exists);
            }
            self.free_entry(v >> 1, on_freed);
            self.stats.evicted += 1;
        }
        Ok(())
    }

    fn alloc(&mut self) -> Option<u32> {
        if self.free_head == NIL {
            return None;
        }
        let idx = self.free_head;
        let e = &mut self.slab[idx as usize];
        self.free_head = e.timer.spare_link();
        *e = Conn::free();
        e.flags = ConnFlags::default();
        Some(idx)
    }

    /// A timer came due for `idx` (already out of the wheel): free it, or re-arm a template
    /// that still controls connections. Returns whether it was freed.
    fn fired(&mut self, idx: u32, now: Tick, on_freed: &mut impl FnMut(&Conn<A>)) -> bool {
        let e = &self.slab[idx as usize];
        if e.is_template() && e.controlled > 0 {
            let deadline = now.wrapping_add(e.timeout);
            self.wheel.arm(&mut self.slab[..], idx, deadline);
            false
        } else {
            self.free_entry(idx, on_freed);
            true
        }
    }

    /// Takes a live entry out of the index and wheel, reports it, frees its slot, and
    /// releases its template (freeing an invalidated template whose last connection this was).
    fn free_entry(&mut self, idx: u32, on_freed: &mut impl FnMut(&Conn<A>)) {
        let mut next = Some(idx);
        while let Some(idx) = next.take() {
            self.unindex(idx);
            self.wheel.cancel(&mut self.slab[..], idx);
            let e = self.slab[idx as usize];
            on_freed(&e);
            let slot = &mut self.slab[idx as usize];
            *slot = Conn::free();
            slot.timer.set_spare_link(self.free_head);
            self.free_head = idx;
            self.len -= 1;
            self.listed_local -= u32::from(listed_with_local(&e));
            if let Some(t) = self.slab.get_mut(e.template as usize) {
                t.controlled = t.controlled.saturating_sub(1);
                if t.controlled == 0 && t.flags.contains(ConnFlags::DETACHED) {
                    next = Some(e.template);
                }
            }
        }
    }

    fn unindex(&mut self, idx: u32) {
        for &d in indexed_dirs(&self.slab[idx as usize]) {
            let v = idx << 1 | d as u32;
            let h = self.stored_hash(v);
            self.index.remove(h, v);
        }
    }

    /// Accounts one packet travelling in `dir` on connection `id`: its client packet count
    /// (see [`super::ConnCounters`]; `_len`, the packet's length, is counted by the caller per dest
    /// and service, not here), protocol state (TCP uses `tcp_flags`; UDP ignores it) and
    /// timer, re-armed with the
    /// timeout of the new state. Returns the transition so the caller can move the connection
    /// between its real server's active and inactive counts; `None` if `id` is not a live
    /// connection.
    pub fn on_packet(
        &mut self,
        id: ConnId,
        dir: Direction,
        tcp_flags: crate::wire::TcpFlags,
        _len: u32,
        now: Instant,
    ) -> Option<Transition> {
        let now = tick_of(now);
        let e = self.slab.get_mut(id.0 as usize)?;
        if e.is_free() || e.is_template() {
            return None;
        }
        e.counters.add(dir);
        let from = ConnState::from_u8(e.state);
        let to = match from {
            ConnState::Tcp(s) => {
                let tdir = match dir {
                    Direction::In if e.flags.contains(ConnFlags::NO_OUTPUT) => TcpDir::InputOnly,
                    Direction::In => TcpDir::Input,
                    Direction::Out => {
                        e.flags.set(ConnFlags::NO_OUTPUT, false);
                        TcpDir::Output
                    }
                };
                ConnState::Tcp(tcp::next_state(s, tdir, tcp_flags))
            }
            ConnState::Udp(u) => ConnState::Udp(u),
        };
        e.state = to.to_u8();
        e.timeout = self.state_ticks.get(state_slot(to)).copied().unwrap_or(1);
        let deadline = now.wrapping_add(e.timeout);
        self.wheel.arm(&mut self.slab[..], id.0, deadline);
        Some(Transition { from, to })
    }

    /// Pushes the deadline of a live entry to now plus its timeout (a template's persistence
    /// timeout). Returns whether `id` was live and indexed.
    pub fn refresh(&mut self, id: ConnId, now: Instant) -> bool {
        match self.slab.get(id.0 as usize) {
            Some(e) if !e.is_free() && !e.flags.contains(ConnFlags::DETACHED) => {
                let deadline = tick_of(now).wrapping_add(e.timeout);
                self.wheel.arm(&mut self.slab[..], id.0, deadline);
                true
            }
            _ => false,
        }
    }

    /// Removes a live entry now, reporting it (and a template it releases) through
    /// `on_freed`. A template still controlling connections is invalidated instead: it leaves
    /// the index (no new connection finds it) and is freed, and reported, when its last
    /// connection goes. Returns whether `id` was live.
    pub fn remove(&mut self, id: ConnId, mut on_freed: impl FnMut(&Conn<A>)) -> bool {
        let Some(e) = self.slab.get(id.0 as usize) else {
            return false;
        };
        if e.is_free() || e.flags.contains(ConnFlags::DETACHED) {
            return false;
        }
        self.stats.removed += 1;
        if e.is_template() && e.controlled > 0 {
            self.unindex(id.0);
            self.wheel.cancel(&mut self.slab[..], id.0);
            self.slab[id.0 as usize].flags.set(ConnFlags::DETACHED, true);
        } else {
            self.free_entry(id.0, &mut on_freed);
        }
        true
    }

    /// Reaps every entry whose deadline has passed at `now`, reporting each through
    /// `on_expired`. Returns how many were freed. Call once per loop of the worker.
    pub fn expire(&mut self, now: Instant, on_expired: impl FnMut(&Conn<A>)) -> u32 {
        self.expire_at_most(now, u32::MAX, on_expired)
    }

    /// Like [`ConnTable::expire`], stopping after `max` entries are freed, or after
    /// `64 + 4 * max` steps of the timer wheel (re-arming refreshed entries,
    /// cascading a slot, advancing a tick), so a worker bounds the work of one loop whatever
    /// the wheel holds; the rest is done by later calls. Dead entries are unreachable from
    /// their deadline on, so reaping them late changes nothing but when their slot is free.
    pub fn expire_at_most(
        &mut self,
        now: Instant,
        max: u32,
        mut on_expired: impl FnMut(&Conn<A>),
    ) -> u32 {
        let now = tick_of(now);
        let mut budget =
            max.saturating_mul(EXPIRE_STEPS_PER_ENTRY).saturating_add(EXPIRE_STEPS_BASE);
        let mut n = 0;
        while n < max {
            let Some(idx) = self.wheel.pop_expired_within(&mut self.slab[..], now, &mut budget)
            else {
                break;
            };
            if self.fired(idx, now, &mut on_expired) {
                n += 1;
                self.stats.expired += 1;
            }
        }
        n
    }

    /// Seconds until entry `e` expires at `now` (0 once due).
    pub fn expires_in(&self, e: &Conn<A>, now: Instant) -> u32 {
        if !e.timer.is_armed() {
            return 0;
        }
        timer::remaining(e.timer.deadline(), tick_of(now)) / timer::TICKS_PER_SEC
    }

    /// Checks every structural invariant, panicking on the first broken one. For tests.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        let live = self.slab.iter().filter(|e| !e.is_free()).count();
        assert_eq!(live as u32, self.len, "len");
        let local = self.slab.iter().filter(|e| !e.is_free() && listed_with_local(e)).count();
        assert_eq!(local as u32, self.listed_local, "entries listed with a local address");
        let mut free = 0;
        let mut f = self.free_head;
        while f != NIL {
            assert!(self.slab[f as usize].is_free(), "free list holds a live entry");
            free += 1;
            assert!(free <= self.slab.len(), "free list loops");
            f = self.slab[f as usize].timer.spare_link();
        }
        assert_eq!(free + live, self.slab.len(), "free list length");
        let mut want_index = 0;
        let mut want_armed = 0;
        for (i, e) in self.slab.iter().enumerate() {
            if e.is_free() {
                continue;
            }
            let detached = e.flags.contains(ConnFlags::DETACHED);
            assert_eq!(e.timer.is_armed(), !detached, "entry {i} armed");
            want_armed += u32::from(!detached);
            for &d in indexed_dirs(e) {
                want_index += 1;
                assert_eq!(
                    self.find(&e.key(d), kind_of(e)),
                    Some((i as u32) << 1 | d as u32),
                    "entry {i} {d:?} not found by its key"
                );
            }
            if e.is_template() {
                let n = self
                    .slab
                    .iter()
                    .filter(|c| !c.is_free() && !c.is_template() && c.template == i as u32)
                    .count();
                assert_eq!(n as u32, e.controlled, "template {i} controlled count");
                assert!(!detached || e.controlled > 0, "detached template {i} with no conns");
            } else if e.template != NO_INDEX {
                let t = &self.slab[e.template as usize];
                assert!(!t.is_free() && t.is_template(), "conn {i} template link");
            }
        }
        assert_eq!(self.index.len(), want_index, "index size");
        for v in self.index.iter() {
            let e = &self.slab[(v >> 1) as usize];
            assert!(!e.is_free(), "index points at a free slot");
            assert!(indexed_dirs(e).contains(&dir_of(v)), "index holds an unindexed direction");
        }
        assert_eq!(self.wheel.armed(), want_armed, "wheel count");
    }
}
