//! The BFD sessions of rvsd (keepalived's `bfd_instance`), run from the director's kernel side
//! in one long-lived thread, and what `BFD_CHECK` learns from them.
//!
//! Owns the I/O loop around the sans-IO sessions of `rvs_core::bfd`: one receive socket on
//! port 3784 (RFC 5881), one send socket per session (source port 49152-65535, TTL 255 unless
//! configured), the clock, the demultiplexing of received packets to sessions (by the sender's
//! address, then Your Discriminator), the GTSM rule (a packet whose TTL is below
//! `255 - max_hops` is counted and ignored) and the counters ([`BfdStats`]). BFD's timers are
//! tens to hundreds of milliseconds, so the sessions do not run in the probe pool: this thread
//! sleeps until the earliest session deadline or packet. Each state change is sent to the health
//! runner as a [`BfdEvent`]; a `BFD_CHECK` follows its session (up while it is Up, down when it
//! leaves Up), without retries, as keepalived's. Must not touch: the engine's decisions, the
//! table.

pub mod sock;

use super::plan::{BfdInstance, BfdPlan};
use crate::time;
use crossbeam_channel::Sender;
use rvs_core::bfd::packet::Error as PacketError;
use rvs_core::bfd::session::Discard;
use rvs_core::bfd::{Config, ControlPacket, Diag, Session, State};
use std::net::{Ipv4Addr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use tracing::{info, warn};

/// Longest the thread sleeps between looks at the stop flag.
const TICK: Duration = Duration::from_millis(100);

/// A session changed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BfdEvent {
    /// Index of the instance in [`BfdPlan::instances`].
    pub instance: usize,
    /// Its state now.
    pub state: State,
    /// Its diagnostic now.
    pub diag: Diag,
}

/// Why a received packet was ignored (a label of `rvs_bfd_bad_packets_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bad {
    /// TTL below `255 - max_hops` (RFC 5881 §5, GTSM), or not reported.
    Ttl,
    /// Not a valid control packet (RFC 5880 §6.8.6 checks).
    Malformed,
    /// Authentication present: rvs has none configured.
    Auth,
    /// Your Discriminator is not the session's.
    Discriminator,
}

impl Bad {
    /// Every reason, in label order.
    pub const ALL: [Bad; 4] = [Bad::Ttl, Bad::Malformed, Bad::Auth, Bad::Discriminator];

    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Bad::Ttl => "ttl",
            Bad::Malformed => "malformed",
            Bad::Auth => "auth",
            Bad::Discriminator => "discriminator",
        }
    }
}

/// Counters and state of one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStats {
    /// The instance's name.
    pub name: String,
    /// Its neighbour.
    pub neighbor: Ipv4Addr,
    /// The local state.
    pub state: State,
    /// Control packets accepted from the neighbour.
    pub packets_in: u64,
    /// Control packets sent.
    pub packets_out: u64,
    /// Packets from the neighbour ignored, by [`Bad::ALL`] index.
    pub bad: [u64; 4],
    /// Times the session went Up.
    pub ups: u64,
    /// Times it left Up.
    pub downs: u64,
}

/// Every session's counters, shared with the metrics (control plane only).
#[derive(Debug, Clone, Default)]
pub struct BfdStats {
    inner: Arc<Mutex<StatsInner>>,
}

#[derive(Debug, Default)]
struct StatsInner {
    sessions: Vec<SessionStats>,
    /// Datagrams from no configured neighbour.
    unknown: u64,
}

impl BfdStats {
    /// A copy of every session's counters.
    pub fn sessions(&self) -> Vec<SessionStats> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).sessions.clone()
    }

    /// Datagrams received from an address that is no instance's neighbour.
    pub fn unknown(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).unknown
    }

    fn with(&self, f: impl FnOnce(&mut StatsInner)) {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

fn config_of(i: &BfdInstance) -> Config {
    Config {
        min_tx: i.min_tx_us,
        min_rx: i.min_rx_us,
        idle_tx: i.idle_tx_us,
        detect_mult: i.multiplier,
        passive: i.passive,
    }
}

struct Live {
    plan: BfdInstance,
    session: Session,
    tx: UdpSocket,
}

/// The running sessions; stop with [`Bfd::stop`] or drop.
pub struct Bfd {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Bfd {
    /// Opens the sockets of every instance of `plan` and starts the thread; state changes go to
    /// `events`, counters to `stats`.
    pub fn start(
        plan: &BfdPlan,
        events: Sender<BfdEvent>,
        stats: BfdStats,
    ) -> std::io::Result<Bfd> {
        let port = plan.port();
        // One receive socket: on the instances' common source address if they share one (so a
        // neighbour on another loopback address can listen on the same port), else on all.
        let first = plan.instances.first().and_then(|i| i.source);
        let shared = plan.instances.iter().all(|i| i.source == first);
        let rx_addr =
            if shared { first.unwrap_or(Ipv4Addr::UNSPECIFIED) } else { Ipv4Addr::UNSPECIFIED };
        let rx = sock::Rx::bind(rx_addr, port)?;
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id()) << 32;
        let now = time::now();
        let mut live = Vec::new();
        for (n, i) in plan.instances.iter().enumerate() {
            let tx = sock::tx_socket(i.source, (seed as u32).wrapping_add(n as u32 * 97), i.ttl)?;
            // Discriminators: distinct per session (the index in the low bits), not guessable
            // from one run to the next.
            let discr = ((seed as u32) & 0xffff_0000) | (n as u32 + 1);
            let session = Session::new(config_of(i), discr, seed.wrapping_add(n as u64), now);
            live.push(Live { plan: i.clone(), session, tx });
        }
        stats.with(|s| {
            s.sessions = live
                .iter()
                .map(|l| SessionStats {
                    name: l.plan.name.clone(),
                    neighbor: l.plan.neighbor,
                    state: State::Down,
                    packets_in: 0,
                    packets_out: 0,
                    bad: [0; 4],
                    ups: 0,
                    downs: 0,
                })
                .collect()
        });
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        info!("bfd: {} session(s), port {port}", live.len());
        let thread = std::thread::Builder::new()
            .name("rvs-bfd".into())
            .spawn(move || run(live, port, &rx, &events, &stats, &s))?;
        Ok(Bfd { stop, thread: Some(thread) })
    }

    /// Stops the sessions (the neighbours see them time out).
    pub fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Bfd {
    fn drop(&mut self) {
        self.stop_now();
    }
}

fn changed(
    n: usize,
    l: &Live,
    ev: rvs_core::bfd::Event,
    events: &Sender<BfdEvent>,
    stats: &BfdStats,
) {
    info!(
        "bfd: {} ({}) {:?} -> {:?} ({:?})",
        l.plan.name, l.plan.neighbor, ev.from, ev.to, ev.diag
    );
    stats.with(|s| {
        if let Some(st) = s.sessions.get_mut(n) {
            st.state = ev.to;
            if ev.to == State::Up {
                st.ups += 1;
            } else if ev.from == State::Up {
                st.downs += 1;
            }
        }
    });
    let e = BfdEvent { instance: n, state: ev.to, diag: ev.diag };
    if events.send_timeout(e, Duration::from_secs(1)).is_err() {
        warn!("bfd: the health runner did not take the event {e:?}");
    }
}

fn bad(stats: &BfdStats, n: usize, why: Bad) {
    stats.with(|s| {
        if let Some(st) = s.sessions.get_mut(n) {
            if let Some(c) = Bad::ALL.iter().position(|b| *b == why).and_then(|i| st.bad.get_mut(i))
            {
                *c += 1;
            }
        }
    });
}

/// The session a packet from `from` is for: the neighbour's session whose discriminator it
/// names, or (Your Discriminator 0, as before the session knows its peer) its first one.
fn demux(live: &[Live], from: Ipv4Addr, bytes: &[u8]) -> Option<usize> {
    let your = bytes.get(8..12).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    let mut first = None;
    for (n, l) in live.iter().enumerate() {
        if l.plan.neighbor != from {
            continue;
        }
        first.get_or_insert(n);
        if your == Some(l.session.local_discr()) {
            return Some(n);
        }
    }
    first
}

fn run(
    mut live: Vec<Live>,
    port: u16,
    rx: &sock::Rx,
    events: &Sender<BfdEvent>,
    stats: &BfdStats,
    stop: &AtomicBool,
) {
    let mut buf = [0u8; 512];
    while !stop.load(Ordering::Relaxed) {
        let now = time::now();
        for (n, l) in live.iter_mut().enumerate() {
            if let Some(ev) = l.session.tick(now) {
                changed(n, l, ev, events, stats);
            }
            if let Some(p) = l.session.transmit(now) {
                match l.tx.send_to(&p.to_bytes(), (l.plan.neighbor, port)) {
                    Ok(_) => stats.with(|s| {
                        if let Some(st) = s.sessions.get_mut(n) {
                            st.packets_out += 1;
                        }
                    }),
                    // A neighbour not reachable yet is a session that stays Down.
                    Err(e) => tracing::debug!("bfd: {}: send: {e}", l.plan.name),
                }
            }
        }
        let next = live.iter().map(|l| l.session.next_deadline()).min();
        let wait = next.map_or(TICK, |t| t.saturating_since(now)).min(TICK);
        let r = match rx.recv(&mut buf, wait) {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => {
                warn!("bfd: receive: {e}");
                std::thread::sleep(TICK);
                continue;
            }
        };
        let bytes = buf.get(..r.len).unwrap_or(&[]);
        let Some(n) = demux(&live, *r.from.ip(), bytes) else {
            stats.with(|s| s.unknown += 1);
            continue;
        };
        let Some(l) = live.get_mut(n) else { continue };
        if !r.ttl.is_some_and(|t| l.plan.ttl_ok(t)) {
            bad(stats, n, Bad::Ttl);
            continue;
        }
        let p = match ControlPacket::parse(bytes) {
            Ok(p) => p,
            Err(PacketError::AuthNotSupported) => {
                bad(stats, n, Bad::Auth);
                continue;
            }
            Err(_) => {
                bad(stats, n, Bad::Malformed);
                continue;
            }
        };
        match l.session.receive(&p, time::now()) {
            Ok(ev) => {
                stats.with(|s| {
                    if let Some(st) = s.sessions.get_mut(n) {
                        st.packets_in += 1;
                    }
                });
                if let Some(ev) = ev {
                    changed(n, l, ev, events, stats);
                }
            }
            Err(Discard::WrongDiscriminator(_)) => bad(stats, n, Bad::Discriminator),
            Err(Discard::AdminDown) => {}
        }
    }
}

#[cfg(test)]
mod tests;
