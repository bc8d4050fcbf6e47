//! A core's part in connection synchronisation (see [`crate::ipvs::sync`]): reporting its
//! connections to the control side as the kernel's sync daemon would send them, and installing
//! connections peers reported.
//!
//! Owns the report rule ([`SyncRule`]: when a connection is worth telling peers about) and the
//! core's [`ReportQueue`], and the mapping of a [`Learnt`] connection onto this core's services,
//! dests and local port pools. Reports leave from the packet path (no allocation, no lock: a
//! bounded queue that drops and counts when full); installs come from the control side between
//! bursts.
//!
//! # When a connection is reported (the kernel's rules for protocol version 1)
//! Only on packets from the client (the kernel's input path), and, for TCP, only in the states
//! ESTABLISHED, FIN_WAIT, CLOSE, CLOSE_WAIT and TIME_WAIT: at once when the packet moved the
//! connection into one of them other than ESTABLISHED, and otherwise when the connection's
//! count of client packets modulo `period` equals `threshold` (the kernel's
//! `sync_threshold`, defaults 3 and 50: the third packet, then every fiftieth; a TCP connection is
//! ESTABLISHED by its third client packet in a plain handshake). UDP follows the packet-count
//! rule alone. With `period` 0 only the `threshold`-th packet is reported.

use std::net::{IpAddr, Ipv4Addr};

use crate::ipvs::conn::{ConnId, ConnKey, ConnSpec, Direction, FwdMethod, InsertError};
use crate::ipvs::laddr::LaddrError;
use crate::ipvs::proto::tcp::TcpState;
use crate::ipvs::proto::{ConnState, Transition};
use crate::ipvs::sync::{Learnt, ReportQueue, SyncConn};
use crate::time::Instant;

use super::book::sock;
use super::Balancer;

/// When connections are reported (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncRule {
    /// The client packet count at which a connection is first reported (kernel default 3).
    pub threshold: u32,
    /// Reported again every `period` client packets (kernel default 50; 0 = never again).
    pub period: u32,
}

impl Default for SyncRule {
    fn default() -> Self {
        SyncRule { threshold: 3, period: 50 }
    }
}

impl SyncRule {
    /// Whether a client packet that brought the connection's client packet count to
    /// `in_pkts` and moved it `tr` makes it worth reporting.
    pub fn wants(&self, tr: Transition, in_pkts: u32) -> bool {
        if let ConnState::Tcp(to) = tr.to {
            let synced = matches!(
                to,
                TcpState::Established
                    | TcpState::FinWait
                    | TcpState::Close
                    | TcpState::CloseWait
                    | TcpState::TimeWait
            );
            if !synced {
                return false;
            }
            if tr.from != tr.to && to != TcpState::Established {
                return true;
            }
        }
        if self.period > 0 {
            in_pkts % self.period == self.threshold % self.period
        } else {
            in_pkts == self.threshold
        }
    }
}

/// A core's reporting: its queue and rule.
#[derive(Debug)]
pub struct SyncReports {
    /// Where reports go.
    pub queue: ReportQueue,
    /// When.
    pub rule: SyncRule,
    /// Reports pushed (not counting drops, which the queue counts).
    pub sent: u64,
}

/// Why a learnt connection was not installed on this core. Nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InstallError {
    /// No service of this director has the connection's virtual address and port.
    #[error("no virtual service {0}:{1} here")]
    NoService(Ipv4Addr, u16),
    /// The service has no such real server here.
    #[error("real server {0}:{1} is not in the service here")]
    NoDest(Ipv4Addr, u16),
    /// The real server forwards by another method here than the peer's.
    #[error("the real server forwards by {here:?} here, the peer by {peer:?}")]
    Fwd {
        /// This director's method.
        here: FwdMethod,
        /// The peer's.
        peer: FwdMethod,
    },
    /// The FULLNAT local address and port could not be taken here.
    #[error("FULLNAT local port: {0}")]
    Local(LaddrError),
    /// The connection table refused it.
    #[error(transparent)]
    Insert(InsertError),
}

/// What [`Balancer::install_batch`] did with a batch of learnt connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InstallCounts {
    /// Installed as new connections.
    pub installed: u64,
    /// Already here: state and timer updated.
    pub updated: u64,
    /// Refused ([`InstallError`]): no such service or dest here, a local port in use, a full
    /// table...
    pub refused: u64,
    /// Another core's.
    pub not_mine: u64,
}

/// A core's sync counters ([`Balancer::sync_core_counts`]), for the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncCoreCounts {
    /// Whether the core reports its connections now.
    pub reporting: bool,
    /// Reports pushed since reporting last started.
    pub reported: u64,
    /// Reports dropped (queue full or closed) since reporting last started.
    pub dropped: u64,
    /// Connections installed from peers' reports since the core started.
    pub learnt: u64,
}

/// What an install did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installed {
    /// A new connection.
    New(ConnId),
    /// A connection with that tuple existed: its state and timer were set from the report.
    Updated(ConnId),
}

impl Balancer {
    /// Starts (`Some`) or stops reporting this core's connections.
    pub fn set_sync_reports(&mut self, reports: Option<SyncReports>) {
        self.sync = reports;
    }

    /// Connections installed from peers' reports on this core.
    pub fn conns_learnt(&self) -> u64 {
        self.sync_learnt
    }

    /// Reports pushed and reports dropped (queue full or closed), if reporting.
    pub fn sync_report_counts(&self) -> Option<(u64, u64)> {
        self.sync.as_ref().map(|s| (s.sent, s.queue.dropped()))
    }

    /// The core's sync counters.
    pub fn sync_core_counts(&self) -> SyncCoreCounts {
        let (reported, dropped) = self.sync_report_counts().unwrap_or((0, 0));
        SyncCoreCounts {
            reporting: self.sync.is_some(),
            reported,
            dropped,
            learnt: self.sync_learnt,
        }
    }

    /// The packet path's hook: a client packet moved connection `id` by `tr`.
    #[inline]
    pub(super) fn sync_note(&mut self, id: ConnId, dir: Direction, tr: Transition) {
        let Some(s) = self.sync.as_mut() else { return };
        if dir != Direction::In {
            return;
        }
        let Some(c) = self.conns.get(id) else { return };
        if !s.rule.wants(tr, c.counters.in_pkts) {
            return;
        }
        if let Some(conn) = SyncConn::from_conn(c) {
            if s.queue.report(conn) {
                s.sent += 1;
            }
        }
    }

    /// The worker core a learnt connection belongs on, where this director's packet path will
    /// look for it: for FULLNAT the owner of its local port (the replies' core); for a service
    /// steered by client address (NAT, persistence with several cores) the core its client
    /// address picks; `None` when receive-side scaling decides (DR and TUN without steering:
    /// the caller installs it where RSS puts the client's packets).
    pub fn sync_owner(&self, l: &Learnt) -> Option<usize> {
        if let (FwdMethod::FullNat, Some((_, lport))) = (l.fwd, l.local) {
            return self.book.ownership.owner_of(lport);
        }
        if self.cfg.n_cores <= 1 {
            return Some(0);
        }
        let slot = self
            .snap
            .find(l.proto, l.virt.0, l.virt.1)
            .and_then(|si| self.book.svc_of_snap.get(si as usize).copied());
        let mask = self.book.steer_mask_of(slot, (l.proto, l.virt.0, l.virt.1))?;
        Some(self.steer_core(l.client.0, mask))
    }

    /// Installs the connections of `conns` that belong on this core ([`Balancer::sync_owner`];
    /// one whose core receive-side scaling decides is installed on every core, where it lives
    /// until its timer ends if no packet of it comes). Control path (between bursts).
    pub fn install_batch(&mut self, conns: &[Learnt], now: Instant) -> InstallCounts {
        let mut n = InstallCounts::default();
        for l in conns {
            if self.sync_owner(l).is_some_and(|k| k != self.cfg.core) {
                n.not_mine += 1;
                continue;
            }
            match self.install(l, now) {
                Ok(Installed::New(_)) => n.installed += 1,
                Ok(Installed::Updated(_)) => n.updated += 1,
                Err(_) => n.refused += 1,
            }
        }
        n
    }

    /// Installs a connection a peer reported, as one this core can continue: finds its
    /// service and real server in the current configuration, takes its FULLNAT local port out
    /// of the pool, and inserts it in the reported state and timer, counted against its
    /// real server like a connection scheduled here. A connection with the same client tuple
    /// that is already here is updated instead (state, timer), as the kernel does.
    pub fn install(&mut self, l: &Learnt, now: Instant) -> Result<Installed, InstallError> {
        let key = ConnKey::new(l.proto, l.client.0, l.client.1, l.virt.0, l.virt.1);
        if let Some((id, Direction::In)) = self.conns.lookup(&key, now) {
            let Some(c) = self.conns.get(id) else {
                return Err(InstallError::Insert(InsertError::Exists));
            };
            if c.daddr() != l.dest_addr.0 || c.dport() != l.dest_addr.1 {
                return Err(InstallError::Insert(InsertError::Exists));
            }
            let d = c.dest();
            let tr = self
                .conns
                .set_state(id, l.state, l.timeout, now)
                .ok_or(InstallError::Insert(InsertError::Exists))?;
            if let Some(up) = tr.activity_change() {
                self.book.activity(d, up);
            }
            return Ok(Installed::Updated(id));
        }
        let svc = self
            .snap
            .find(l.proto, l.virt.0, l.virt.1)
            .and_then(|si| self.book.svc_of_snap.get(si as usize).copied())
            .ok_or(InstallError::NoService(l.virt.0, l.virt.1))?;
        let d = self
            .book
            .dests
            .iter()
            .position(|x| {
                !x.free
                    && x.live
                    && x.svc == svc
                    && x.addr == l.dest_addr.0
                    && (x.port == l.dest_addr.1
                        || x.port == 0
                        || matches!(x.fwd, FwdMethod::Route | FwdMethod::Tunnel))
            })
            .ok_or(InstallError::NoDest(l.dest_addr.0, l.dest_addr.1))? as u32;
        let (pool_key, here) = match self.book.dests.get(d as usize) {
            Some(x) => (sock(x.addr, x.port), x.fwd),
            None => return Err(InstallError::NoDest(l.dest_addr.0, l.dest_addr.1)),
        };
        if here != l.fwd {
            return Err(InstallError::Fwd { here, peer: l.fwd });
        }
        let local = match (l.fwd, l.local) {
            (FwdMethod::FullNat, Some((a, p))) => {
                let pool = self.book.svcs.get_mut(svc as usize).and_then(|s| s.pool.as_mut());
                let pool = pool.ok_or(InstallError::Local(LaddrError::NoLocalAddr))?;
                pool.reserve(IpAddr::V4(a), p, pool_key).map_err(InstallError::Local)?;
                Some((a, p))
            }
            (FwdMethod::FullNat, None) => {
                return Err(InstallError::Local(LaddrError::NoLocalAddr));
            }
            _ => None,
        };
        let spec = ConnSpec {
            key,
            dest_addr: l.dest_addr,
            local,
            fwd: l.fwd,
            dest: d,
            svc,
            template: None,
        };
        let book = &mut self.book;
        match self.conns.install(&spec, l.state, l.timeout, now, |c| book.on_freed(c)) {
            Ok(id) => {
                self.book.bind(svc, d);
                if l.state.is_active() {
                    self.book.activity(d, true);
                }
                self.book.guard.conn_added(l.proto);
                self.sync_learnt += 1;
                Ok(Installed::New(id))
            }
            Err(e) => {
                if let (Some((a, p)), Some(pool)) =
                    (local, self.book.svcs.get_mut(svc as usize).and_then(|s| s.pool.as_mut()))
                {
                    let _ = pool.release(IpAddr::V4(a), p, pool_key);
                }
                Err(InstallError::Insert(e))
            }
        }
    }
}
