//! The SYN proxy (DPVS's synproxy, item 1 of the hardening issue): for TCP services that enable
//! it, the director answers a client's SYN itself with a SYN cookie, keeps nothing for it, and
//! only when the client's ACK carries a valid cookie creates the connection (scheduling, local
//! port), opens the real server's connection with the client's options, completes it on the
//! server's SYN-ACK and from then on translates sequence numbers, SACK blocks and timestamps
//! both ways. A spoofed SYN flood costs the director one SYN-ACK per SYN (rate-limited per
//! core) and no table entry or local port.
//!
//! Owns, per core, [`SynProxy`]: the cookie keys ([`cookie::CookieSecret`], the same for every
//! worker of a process), the SYN-ACK token bucket, the per-connection [`seq::Deltas`] kept beside
//! the connection table by entry index ([`ProxyConn`]), the bounded table of handshakes in
//! progress toward real servers ([`Pending`], each with room for the data that came with the
//! client's third ACK) and its counters ([`SynProxyCounters`]). The packet decisions are made
//! by the balancer (`balancer::synproxy`), which owns the connection table; this module never
//! touches it, nor routes, transmits or reads clocks.
//!
//! Memory: the deltas take 12 bytes per connection-table entry, allocated the first time a
//! snapshot enables the proxy on a service; the handshake table is fixed at build time.

pub mod cookie;
pub mod segment;
pub mod seq;

use std::time::Duration;

use crate::net::TokenBucket;
use crate::time::Instant;

pub use cookie::CookieSecret;
pub use seq::Deltas;

/// How a core's SYN proxy is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynProxyConfig {
    /// The cookie keys (one per process: every worker is given the same).
    pub keys: [[u8; 16]; 2],
    /// Cookie SYN-ACKs one core sends per second (0: unlimited).
    pub synack_rate: u64,
    /// Burst of SYN-ACKs above the rate.
    pub synack_burst: u64,
    /// Handshakes toward real servers one core has in progress at once.
    pub pending: u32,
    /// Most bytes of data held from a client's third ACK until the server has answered.
    pub hold_bytes: u16,
    /// How long the proxy waits for a real server's SYN-ACK before ending the connection.
    pub server_timeout: Duration,
    /// Window scale the director offers clients that offer one.
    pub wscale: u8,
}

impl SynProxyConfig {
    /// Defaults: random keys, 100k SYN-ACKs per second and core (burst 10k), 4096 pending
    /// handshakes holding up to 1460 bytes each, 10 s for the server, window scale 7.
    pub fn new() -> Self {
        SynProxyConfig {
            keys: random_keys(),
            synack_rate: 100_000,
            synack_burst: 10_000,
            pending: 4096,
            hold_bytes: 1460,
            server_timeout: Duration::from_secs(10),
            wscale: 7,
        }
    }
}

impl Default for SynProxyConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// Keys from the system's random source; falls back to the standard library's per-process
/// random hasher keys when that source cannot be read (control path, once per process).
pub fn random_keys() -> [[u8; 16]; 2] {
    let mut keys = [[0u8; 16]; 2];
    if getrandom::fill(keys.as_flattened_mut()).is_err() {
        use std::hash::{BuildHasher, Hasher};
        for (i, k) in keys.as_flattened_mut().chunks_mut(8).enumerate() {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_usize(i);
            k.copy_from_slice(&h.finish().to_le_bytes());
        }
    }
    keys
}

/// Counters of one core's SYN proxy (plain, single writer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SynProxyCounters {
    /// Cookie SYN-ACKs sent.
    pub cookies_sent: u64,
    /// SYNs not answered: the SYN-ACK bucket was empty.
    pub synack_rate_limited: u64,
    /// Third ACKs whose cookie was valid (a connection was opened toward a real server).
    pub ack_valid: u64,
    /// ACKs of no connection whose cookie was not ours or was stale.
    pub ack_invalid: u64,
    /// Connections whose real server completed the handshake (translated from then on).
    pub conns_proxied: u64,
    /// SYNs sent again to a real server on a retransmitted third ACK.
    pub syn_retransmits: u64,
    /// Client data that came before the server answered, held and sent with the handshake.
    pub data_held: u64,
    /// Client segments dropped while the server handshake was in progress (the client
    /// retransmits them).
    pub pending_drops: u64,
    /// Valid third ACKs refused: the table of handshakes in progress was full.
    pub pending_full: u64,
    /// Connections ended because the real server never answered.
    pub server_timeouts: u64,
    /// Real servers that answered the proxied SYN with a reset (passed to the client).
    pub server_resets: u64,
}

/// The SYN proxy's part of one connection-table entry (by index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyConn {
    /// Translation in force once the server has answered.
    pub deltas: Deltas,
    /// Index of the connection's handshake in progress, or [`NO_PENDING`].
    pub pending: u32,
}

/// "No handshake in progress".
pub const NO_PENDING: u32 = u32::MAX;

impl ProxyConn {
    const EMPTY: ProxyConn = ProxyConn { deltas: Deltas::ZERO, pending: NO_PENDING };
}

/// A handshake toward a real server in progress: what the completing ACK needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    /// Connection-table index of the connection.
    pub conn: u32,
    /// The cookie (the director's ISN toward the client).
    pub cookie_isn: u32,
    /// The client's ISN.
    pub client_isn: u32,
    /// The director's TSval in the cookie SYN-ACK (the client's TSecr), if timestamps are on.
    pub cookie_ts: Option<u32>,
    /// The client's TSval in its third ACK.
    pub client_tsval: u32,
    /// The client's window field in its third ACK.
    pub client_win: u16,
    /// The options the SYN to the server carries.
    pub syn: segment::SynOpts,
    /// Bytes of held data in this slot's hold area.
    pub held: u16,
    /// When the server is given up on.
    pub deadline: Instant,
}

/// One core's SYN proxy state. See the module documentation.
#[derive(Debug)]
pub struct SynProxy {
    cfg: SynProxyConfig,
    secret: CookieSecret,
    bucket: TokenBucket,
    conns: Vec<ProxyConn>,
    pending: Vec<Option<Pending>>,
    free: Vec<u32>,
    hold: Vec<u8>,
    sweep_at: usize,
}

impl SynProxy {
    /// A proxy for a core at `now`: the handshake table and hold area are allocated here, the
    /// per-connection deltas on [`SynProxy::enable`].
    pub fn new(cfg: SynProxyConfig, now: Instant) -> Self {
        let n = cfg.pending as usize;
        SynProxy {
            secret: CookieSecret::from_bytes(cfg.keys),
            bucket: TokenBucket::new(cfg.synack_rate, cfg.synack_burst, now),
            conns: Vec::new(),
            pending: vec![None; n],
            free: (0..cfg.pending).rev().collect(),
            hold: vec![0; n * usize::from(cfg.hold_bytes)],
            sweep_at: 0,
            cfg,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SynProxyConfig {
        &self.cfg
    }

    /// The cookie keys.
    pub fn secret(&self) -> &CookieSecret {
        &self.secret
    }

    /// Makes room for the deltas of a table of `capacity` entries (control path; once).
    pub fn enable(&mut self, capacity: u32) {
        if self.conns.len() < capacity as usize {
            self.conns.resize(capacity as usize, ProxyConn::EMPTY);
        }
    }

    /// Whether [`SynProxy::enable`] ran.
    pub fn enabled(&self) -> bool {
        !self.conns.is_empty()
    }

    /// Takes a SYN-ACK token at `now`.
    #[inline]
    pub fn take_synack(&mut self, now: Instant) -> bool {
        self.bucket.take(now)
    }

    /// The entry of connection index `idx`.
    #[inline]
    pub fn conn(&self, idx: u32) -> Option<&ProxyConn> {
        self.conns.get(idx as usize)
    }

    /// The entry of connection index `idx`, writable.
    #[inline]
    pub fn conn_mut(&mut self, idx: u32) -> Option<&mut ProxyConn> {
        self.conns.get_mut(idx as usize)
    }

    /// Starts a handshake toward a server for connection `p.conn`, holding `data` (when it
    /// fits). `None` when the table is full.
    pub fn start(
        &mut self,
        mut p: Pending,
        data: &[u8],
        counters: &mut SynProxyCounters,
    ) -> Option<u32> {
        let slot = self.free.pop()?;
        let cap = usize::from(self.cfg.hold_bytes);
        p.held = 0;
        if !data.is_empty() && data.len() <= cap {
            let at = slot as usize * cap;
            if let Some(h) = self.hold.get_mut(at..at + data.len()) {
                h.copy_from_slice(data);
                p.held = data.len() as u16;
                counters.data_held += 1;
            }
        } else if !data.is_empty() {
            counters.pending_drops += 1;
        }
        if let Some(s) = self.pending.get_mut(slot as usize) {
            *s = Some(p);
        }
        if let Some(c) = self.conns.get_mut(p.conn as usize) {
            *c = ProxyConn { deltas: Deltas::ZERO, pending: slot };
        }
        Some(slot)
    }

    /// Ties the handshake in `slot` to connection index `conn` (once the connection exists).
    pub fn bind(&mut self, slot: u32, conn: u32) {
        if let Some(Some(p)) = self.pending.get_mut(slot as usize) {
            p.conn = conn;
            if let Some(c) = self.conns.get_mut(conn as usize) {
                *c = ProxyConn { deltas: Deltas::ZERO, pending: slot };
            }
        }
    }

    /// The handshake in slot `slot`, if it is connection `conn`'s.
    #[inline]
    pub fn pending(&self, slot: u32, conn: u32) -> Option<&Pending> {
        self.pending.get(slot as usize)?.as_ref().filter(|p| p.conn == conn)
    }

    /// Holds `data` for the handshake in `slot` when it holds nothing yet and the data fits.
    pub fn hold(&mut self, slot: u32, data: &[u8], counters: &mut SynProxyCounters) -> bool {
        let cap = usize::from(self.cfg.hold_bytes);
        let Some(Some(p)) = self.pending.get_mut(slot as usize) else { return false };
        if p.held != 0 || data.is_empty() || data.len() > cap {
            return false;
        }
        let at = slot as usize * cap;
        match self.hold.get_mut(at..at + data.len()) {
            Some(h) => {
                h.copy_from_slice(data);
                p.held = data.len() as u16;
                counters.data_held += 1;
                true
            }
            None => false,
        }
    }

    /// The data held in `slot`.
    pub fn held(&self, slot: u32) -> &[u8] {
        let cap = usize::from(self.cfg.hold_bytes);
        let n = self.pending.get(slot as usize).and_then(|p| p.as_ref()).map_or(0, |p| p.held);
        let at = slot as usize * cap;
        self.hold.get(at..at + usize::from(n)).unwrap_or(&[])
    }

    /// Ends the handshake in `slot` (completed, reset, or given up), and with it the
    /// connection's link to it.
    pub fn finish(&mut self, slot: u32) {
        if let Some(s) = self.pending.get_mut(slot as usize) {
            if let Some(p) = s.take() {
                if let Some(c) = self.conns.get_mut(p.conn as usize) {
                    if c.pending == slot {
                        c.pending = NO_PENDING;
                    }
                }
                self.free.push(slot);
            }
        }
    }

    /// Looks at up to `budget` handshake slots (round robin) and ends those past their
    /// deadline; calls `gone(conn index)` for each whose connection still waits on it (the
    /// caller ends that connection).
    pub fn sweep(
        &mut self,
        now: Instant,
        budget: usize,
        counters: &mut SynProxyCounters,
        mut gone: impl FnMut(u32),
    ) {
        let n = self.pending.len();
        for _ in 0..budget.min(n) {
            let slot = self.sweep_at;
            self.sweep_at = (self.sweep_at + 1) % n.max(1);
            let Some(Some(p)) = self.pending.get(slot) else { continue };
            if p.deadline > now {
                continue;
            }
            let conn = p.conn;
            let waiting = self.conns.get(conn as usize).is_some_and(|c| c.pending == slot as u32);
            self.finish(slot as u32);
            if waiting {
                counters.server_timeouts += 1;
                gone(conn);
            }
        }
    }

    /// Handshakes in progress.
    pub fn pending_count(&self) -> usize {
        self.pending.len() - self.free.len()
    }
}

#[cfg(test)]
mod tests;
