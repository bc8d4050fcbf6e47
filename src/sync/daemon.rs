//! The sync daemon's threads: one [`SyncDaemon`] per role, as the kernel runs a master and a
//! backup daemon (both at once is active-active: each director sends its connections and
//! installs its peers').
//!
//! - **Master** (sending): drains every worker's report queue, batches the entries into v1
//!   messages of at most `sync_maxlen` bytes (a partial one leaves within a second), and sends
//!   each to the multicast group (TTL `mcast_ttl`, leaving by the interface that holds
//!   `local_addr`, multicast loopback off) or to every listed unicast peer. It sleeps 10 ms
//!   when the queues are empty.
//! - **Backup** (receiving): takes datagrams on the group (joined on the interface of
//!   `local_addr`) or, with unicast peers, on `local_addr` itself; drops this director's own
//!   messages (source address `local_addr`: with multicast loopback off they do not come back,
//!   but a peer list or a looping network could return them), messages of another sync id
//!   (when ours is not 0, as the kernel does) and what does not decode; hands each message's
//!   connections to every worker in one bounded request ([`LbRequest::SyncInstall`]); each
//!   worker installs those that belong on it. A full worker inbox drops the message's entries
//!   for that worker and counts them.
//!
//! In rvsd the sockets are the host kernel's: `local_addr` is a kernel address on the port's
//! kernel interface (the exception path), through which the datagrams leave and arrive.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver};
use socket2::{Domain, Protocol, Socket, Type};
use thiserror::Error;
use tracing::{info, warn};

use super::stats::SyncStats;
use crate::dataplane::control::WorkerHandle;
use crate::ipvs::balancer::control::LbRequest;
use crate::ipvs::balancer::InstallCounts;
use crate::ipvs::sync::{Batcher, Learnt, Message, SyncConn, DEFAULT_GROUP, DEFAULT_PORT};
use crate::time;

pub use crate::proto::sync::SyncRole;

/// How a sync daemon runs (ipvsadm's `--start-daemon` options plus rvs's peers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncSettings {
    /// The interface named by `--mcast-interface` (for listings; `local_addr` is what is used).
    pub ifname: String,
    /// This director's kernel address on that interface.
    pub local_addr: Ipv4Addr,
    /// `--syncid`: 0 to 255 (a backup with 0 takes every sync id).
    pub syncid: u8,
    /// `--sync-maxlen`: the largest message (UDP payload), at least one entry long.
    pub maxlen: u16,
    /// `--mcast-group`.
    pub group: Ipv4Addr,
    /// `--mcast-port`.
    pub port: u16,
    /// `--mcast-ttl`.
    pub ttl: u8,
    /// Unicast peers instead of the group (rvs's extension); empty: multicast.
    pub peers: Vec<SocketAddr>,
}

impl SyncSettings {
    /// The kernel's defaults on an interface with MTU 1500: sync id 0, messages of 1472 bytes
    /// (the MTU less the IPv4 and UDP headers), group 224.0.0.81, port 8848, TTL 1.
    pub fn new(ifname: &str, local_addr: Ipv4Addr) -> SyncSettings {
        SyncSettings {
            ifname: ifname.to_string(),
            local_addr,
            syncid: 0,
            maxlen: 1472,
            group: DEFAULT_GROUP,
            port: DEFAULT_PORT,
            ttl: 1,
            peers: Vec::new(),
        }
    }
}

/// Why a daemon did not start.
#[derive(Debug, Error)]
pub enum SyncError {
    /// A socket could not be made, bound or joined to the group.
    #[error("sync {role} daemon on {addr}: {what}: {err} (is {addr} a kernel address on the sync interface?)")]
    Socket {
        /// The daemon.
        role: &'static str,
        /// The address it used.
        addr: SocketAddr,
        /// The step that failed.
        what: &'static str,
        /// The system's error.
        err: io::Error,
    },
    /// The message size cannot hold one entry.
    #[error("sync-maxlen {0} is too small: give at least 80 bytes")]
    Maxlen(u16),
    /// The group is not a multicast address.
    #[error("mcast-group {0} is not an IPv4 multicast address")]
    Group(Ipv4Addr),
}

/// A running sync daemon: its thread, stop flag and counters. Dropping it stops it.
pub struct SyncDaemon {
    role: SyncRole,
    settings: SyncSettings,
    stats: Arc<SyncStats>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SyncDaemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncDaemon")
            .field("role", &self.role)
            .field("settings", &self.settings)
            .finish()
    }
}

/// How long a quiet sender sleeps, and the receiver's socket timeout (how soon a stop is seen).
const IDLE: Duration = Duration::from_millis(10);
const RECV_TIMEOUT: Duration = Duration::from_millis(200);
/// A partial message leaves this long after its first entry (the kernel waits up to 2 s).
const FLUSH_AFTER: Duration = Duration::from_secs(1);
/// Reports taken from one queue before the next queue gets its turn.
const DRAIN_BATCH: usize = 1024;

fn sock_err(
    role: SyncRole,
    addr: SocketAddr,
    what: &'static str,
) -> impl FnOnce(io::Error) -> SyncError {
    move |err| SyncError::Socket { role: role.name(), addr, what, err }
}

fn check(s: &SyncSettings) -> Result<(), SyncError> {
    if usize::from(s.maxlen) < crate::ipvs::sync::HEADER_LEN + crate::ipvs::sync::CONN_V6_LEN {
        return Err(SyncError::Maxlen(s.maxlen));
    }
    if s.peers.is_empty() && !s.group.is_multicast() {
        return Err(SyncError::Group(s.group));
    }
    Ok(())
}

impl SyncDaemon {
    /// Starts the master: sends what the workers report on `reports` (one queue per worker;
    /// the caller hands the other ends to the workers with [`LbRequest::SyncReports`]).
    pub fn master(
        settings: SyncSettings,
        reports: Vec<Receiver<SyncConn>>,
    ) -> Result<SyncDaemon, SyncError> {
        check(&settings)?;
        let role = SyncRole::Master;
        let from = SocketAddr::V4(SocketAddrV4::new(settings.local_addr, 0));
        let socket = UdpSocket::bind(from).map_err(sock_err(role, from, "bind"))?;
        if settings.peers.is_empty() {
            socket.set_multicast_ttl_v4(u32::from(settings.ttl)).map_err(sock_err(
                role,
                from,
                "set the TTL",
            ))?;
            socket.set_multicast_loop_v4(false).map_err(sock_err(
                role,
                from,
                "turn multicast loopback off",
            ))?;
            Socket::from(socket.try_clone().map_err(sock_err(role, from, "clone"))?)
                .set_multicast_if_v4(&settings.local_addr)
                .map_err(sock_err(role, from, "choose the multicast interface"))?;
        }
        let targets: Vec<SocketAddr> = if settings.peers.is_empty() {
            vec![SocketAddr::V4(SocketAddrV4::new(settings.group, settings.port))]
        } else {
            settings.peers.clone()
        };
        let batcher = Batcher::new(settings.syncid, usize::from(settings.maxlen), FLUSH_AFTER)
            .map_err(|_| SyncError::Maxlen(settings.maxlen))?;
        let stats = Arc::new(SyncStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (stats.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("rvs-sync-master".into())
            .spawn(move || send_loop(socket, targets, batcher, reports, &st, &sp))
            .map_err(sock_err(role, from, "start the thread"))?;
        info!("sync master daemon: syncid {} to {:?}", settings.syncid, settings.peers);
        Ok(SyncDaemon { role, settings, stats, stop, thread: Some(thread) })
    }

    /// Starts the backup: installs what peers send on `workers`.
    pub fn backup(
        settings: SyncSettings,
        workers: Vec<WorkerHandle>,
    ) -> Result<SyncDaemon, SyncError> {
        check(&settings)?;
        let role = SyncRole::Backup;
        let multicast = settings.peers.is_empty();
        let at = if multicast {
            SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, settings.port))
        } else {
            SocketAddr::V4(SocketAddrV4::new(settings.local_addr, settings.port))
        };
        let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))
            .map_err(sock_err(role, at, "open"))?;
        s.set_reuse_address(true).map_err(sock_err(role, at, "reuse the address"))?;
        s.bind(&at.into()).map_err(sock_err(role, at, "bind"))?;
        if multicast {
            s.join_multicast_v4(&settings.group, &settings.local_addr).map_err(sock_err(
                role,
                at,
                "join the group",
            ))?;
        }
        s.set_read_timeout(Some(RECV_TIMEOUT)).map_err(sock_err(role, at, "set the timeout"))?;
        let socket: UdpSocket = s.into();
        let stats = Arc::new(SyncStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp, cfg) = (stats.clone(), stop.clone(), settings.clone());
        let thread = std::thread::Builder::new()
            .name("rvs-sync-backup".into())
            .spawn(move || recv_loop(socket, &cfg, &workers, &st, &sp))
            .map_err(sock_err(role, at, "start the thread"))?;
        info!("sync backup daemon: syncid {} on {at}", settings.syncid);
        Ok(SyncDaemon { role, settings, stats, stop, thread: Some(thread) })
    }

    /// Master or backup.
    pub fn role(&self) -> SyncRole {
        self.role
    }

    /// Its settings.
    pub fn settings(&self) -> &SyncSettings {
        &self.settings
    }

    /// Its counters.
    pub fn stats(&self) -> &Arc<SyncStats> {
        &self.stats
    }

    /// Stops the thread (a master sends what it holds first) and waits for it.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SyncDaemon {
    fn drop(&mut self) {
        self.halt();
    }
}

fn send_to_all(
    socket: &UdpSocket,
    targets: &[SocketAddr],
    gram: &[u8],
    conns: u64,
    stats: &SyncStats,
) {
    for t in targets {
        match socket.send_to(gram, t) {
            Ok(_) => stats.sent(conns),
            Err(e) => {
                stats.send_error();
                warn!("sync master: sending to {t}: {e}");
            }
        }
    }
}

fn send_loop(
    socket: UdpSocket,
    targets: Vec<SocketAddr>,
    mut batcher: Batcher,
    reports: Vec<Receiver<SyncConn>>,
    stats: &SyncStats,
    stop: &AtomicBool,
) {
    let send = |gram: Vec<u8>| {
        let conns = Message::parse(&gram).map_or(0, |m| u64::from(m.conn_count()));
        send_to_all(&socket, &targets, &gram, conns, stats);
    };
    while !stop.load(Ordering::Relaxed) {
        let mut got = 0;
        let now = time::now();
        for rx in &reports {
            for c in rx.try_iter().take(DRAIN_BATCH) {
                got += 1;
                if let Some(gram) = batcher.push(&c, now) {
                    send(gram);
                }
            }
        }
        if let Some(gram) = batcher.poll(time::now()) {
            send(gram);
        }
        if got == 0 {
            std::thread::sleep(IDLE);
        }
    }
    if let Some(gram) = batcher.flush() {
        send(gram);
    }
}

fn recv_loop(
    socket: UdpSocket,
    cfg: &SyncSettings,
    workers: &[WorkerHandle],
    stats: &SyncStats,
    stop: &AtomicBool,
) {
    let mut buf = vec![0u8; 65536];
    // Each worker answers each install with its counts; twice the inbox depth is room enough.
    let (counts_tx, counts_rx) = bounded::<InstallCounts>(256);
    while !stop.load(Ordering::Relaxed) {
        for c in counts_rx.try_iter() {
            stats.installed(c);
        }
        let (n, from) = match socket.recv_from(&mut buf) {
            Ok(v) => v,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                continue
            }
            Err(e) => {
                warn!("sync backup: receiving: {e}");
                std::thread::sleep(RECV_TIMEOUT);
                continue;
            }
        };
        if from.ip() == IpAddr::V4(cfg.local_addr) {
            stats.own();
            continue;
        }
        let Some(gram) = buf.get(..n) else { continue };
        let Ok(msg) = Message::parse(gram) else {
            stats.malformed();
            continue;
        };
        if cfg.syncid != 0 && msg.syncid() != cfg.syncid {
            stats.other_syncid();
            continue;
        }
        stats.received(u64::from(msg.conn_count()));
        let mut learnt = Vec::with_capacity(usize::from(msg.conn_count()));
        for e in msg.entries() {
            match e.ok().as_ref().map(Learnt::from_sync) {
                Some(Ok(l)) => learnt.push(l),
                _ => stats.bad_entry(),
            }
        }
        if learnt.is_empty() {
            continue;
        }
        for w in workers {
            let req = LbRequest::SyncInstall { conns: learnt.clone(), reply: counts_tx.clone() };
            if w.send(req).is_err() {
                stats.busy(learnt.len() as u64);
            }
        }
    }
    for c in counts_rx.try_iter() {
        stats.installed(c);
    }
}
