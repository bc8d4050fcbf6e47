//! The announcer (scale-out, docs/scale-out.md): keeps the set of VIPs rvsd announces to the
//! routing daemon beside it in a kernel routing table of rvsd's own.
//!
//! Owns that table (`[announce] table`, flushed at start) and nothing else of the system. A
//! VIP is announced by a route `VIP/32 dev <kernel iface> proto static` in the table; BIRD's
//! `kernel` protocol learns the table (`learn`) and its BGP session to the router exports it.
//! This shape was chosen over a file that BIRD includes plus `birdc configure` because the
//! routes go through the kernel interface rvsd itself creates: when rvsd dies, the interface
//! and with it every route vanish, and BIRD withdraws without rvsd's help; nothing is left
//! announced by a stale file, BIRD's config is static, and no control socket of BIRD's is
//! needed. (The routing daemon's BGP session also runs through that interface, so the router
//! sees the session drop by BFD or its hold timer.)
//!
//! What is announced is [`decide`]d from the control plane's table every `interval` and at
//! once on `rvsadm --drain`/`--resume`. Routes are set with iproute2's `ip`, as the kernel
//! interfaces' addresses are (`daemon::kernel`): no netlink code of rvs's own. Must not touch:
//! the data plane, the table's rules, BIRD's configuration.

pub mod bird;
mod decide;
pub mod metrics;
mod routes;
pub mod settings;

pub use decide::decide;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use rvs_proto::announce::{AnnounceRequest, AnnounceStatus, BgpView, VipState};
use rvs_proto::model::ServiceInfo;

use routes::KernelRoutes;
pub use settings::{vip_of, Announce, AnnouncePolicy};

/// The state shared by the announcer's thread and the control plane: whether the director
/// drains, and what is in the kernel table.
#[derive(Debug)]
struct Shared {
    draining: bool,
    last: Vec<(Ipv4Addr, VipState)>,
    routes: KernelRoutes,
    /// What BIRD said of its BGP sessions at the last round (with `bird_socket`).
    bgp: Option<BgpView>,
}

impl Shared {
    /// Brings the kernel table to what `services` call for now; returns the status.
    fn reconcile(&mut self, cfg: &Announce, services: &[ServiceInfo]) -> AnnounceStatus {
        let vips = decide(services, &cfg.policies, self.draining);
        let wanted: BTreeSet<Ipv4Addr> =
            vips.iter().filter(|(_, s)| s.announced()).map(|(v, _)| *v).collect();
        self.routes.set(&wanted);
        if vips != self.last {
            for (vip, state) in &vips {
                tracing::info!("announce: {vip} {}", state.describe());
            }
            self.last = vips.clone();
        }
        AnnounceStatus { draining: self.draining, vips, bgp: self.bgp.clone() }
    }
}

/// The control plane's side of the announcer (`rvsadm --announced/--drain/--resume`).
#[derive(Clone, Debug)]
pub struct AnnounceHandle {
    cfg: Arc<Announce>,
    shared: Arc<Mutex<Shared>>,
}

impl AnnounceHandle {
    /// Answers a request given the table in force (the caller holds the control plane).
    pub fn handle(&self, req: AnnounceRequest, services: &[ServiceInfo]) -> AnnounceStatus {
        let mut s = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        match req {
            AnnounceRequest::Show => {}
            AnnounceRequest::Drain => s.draining = true,
            AnnounceRequest::Resume => s.draining = false,
        }
        s.reconcile(&self.cfg, services)
    }

    /// The state as last reconciled (for the metrics; does not look at the table again).
    pub fn status(&self) -> AnnounceStatus {
        let s = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        AnnounceStatus { draining: s.draining, vips: s.last.clone(), bgp: s.bgp.clone() }
    }

    /// Withdraws everything (a clean stop's first step).
    pub fn drain(&self) {
        let mut s = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        s.draining = true;
        s.routes.set(&BTreeSet::new());
    }
}

/// The announcer's thread.
pub struct Announcer {
    handle: AnnounceHandle,
    stop: Sender<()>,
    thread: Option<JoinHandle<()>>,
}

impl Announcer {
    /// Flushes the table and starts looking at the table through `services` (called without
    /// any lock held; returns the control plane's table).
    pub fn start<F>(cfg: &Announce, services: F) -> std::io::Result<Announcer>
    where
        F: Fn() -> Vec<ServiceInfo> + Send + 'static,
    {
        let routes = KernelRoutes::new(cfg.table, cfg.dev.clone());
        routes.flush();
        let handle = AnnounceHandle {
            cfg: Arc::new(cfg.clone()),
            shared: Arc::new(Mutex::new(Shared {
                draining: false,
                last: Vec::new(),
                routes,
                bgp: None,
            })),
        };
        let (stop, rx) = crossbeam_channel::bounded(1);
        let h = handle.clone();
        let thread = std::thread::Builder::new()
            .name("rvs-announce".into())
            .spawn(move || run(&h, &rx, services))?;
        Ok(Announcer { handle, stop, thread: Some(thread) })
    }

    /// `[announce] drain_timeout`: how long a clean stop serves after withdrawing.
    pub fn drain_timeout(&self) -> Duration {
        self.handle.cfg.drain_timeout
    }

    /// The control plane's handle.
    pub fn handle(&self) -> AnnounceHandle {
        self.handle.clone()
    }

    /// Withdraws every VIP and waits until `active()` (the director's established connections)
    /// is 0 or `timeout` has passed; returns the connections still open.
    pub fn drain_for(&self, timeout: Duration, active: impl Fn() -> u64) -> u64 {
        self.handle.drain();
        let deadline = Instant::now() + timeout;
        loop {
            let n = active();
            if n == 0 || Instant::now() >= deadline {
                return n;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stops the thread and withdraws every VIP.
    pub fn stop(mut self) {
        let _ = self.stop.send(());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.handle.drain();
    }
}

/// How long one question to BIRD may wait per read or write.
const BIRD_TIMEOUT: Duration = Duration::from_secs(1);

/// Asks BIRD (without any lock held); logs a change between reachable and not once.
fn ask_bird(path: &std::path::Path, before: Option<&BgpView>) -> BgpView {
    match bird::sessions(path, BIRD_TIMEOUT) {
        Ok(s) => {
            if matches!(before, Some(BgpView::Unreachable(_))) {
                tracing::info!("announce: BIRD's control socket answers again");
            }
            BgpView::Sessions(s)
        }
        Err(e) => {
            let e = e.to_string();
            if !matches!(before, Some(BgpView::Unreachable(b)) if *b == e) {
                tracing::warn!("announce: {e}");
            }
            BgpView::Unreachable(e)
        }
    }
}

fn run<F: Fn() -> Vec<ServiceInfo>>(h: &AnnounceHandle, stop: &Receiver<()>, services: F) {
    loop {
        let table = services();
        if let Some(path) = &h.cfg.bird_socket {
            let before = h.shared.lock().unwrap_or_else(|p| p.into_inner()).bgp.clone();
            let view = ask_bird(path, before.as_ref());
            h.shared.lock().unwrap_or_else(|p| p.into_inner()).bgp = Some(view);
        }
        h.shared.lock().unwrap_or_else(|p| p.into_inner()).reconcile(&h.cfg, &table);
        match stop.recv_timeout(h.cfg.interval) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}
