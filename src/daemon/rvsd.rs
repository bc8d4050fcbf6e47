//! rvsd's one start list: everything the daemon runs, started in order and stopped in reverse.
//!
//! Owns [`Rvsd`]: the [`Director`] (EAL, packet pool, ports, kernel interfaces, workers), the
//! control plane over it, the control socket, the health checks and the metrics exporter, and
//! what a reload (SIGHUP) does. `bin/rvsd.rs` parses the command line, loads the config and
//! calls [`Rvsd::start`]. A step that fails stops the steps before it. Must not touch: packet
//! logic, the table's rules, the protocol.

use super::liveness::{Liveness, WorkerFault};
use super::{Director, DirectorControl, StartError};
use crate::announce::Announcer;
use crate::config::{Config, Reloader};
use crate::ctrl::control::Control;
use crate::ctrl::server::{Server, ServerConfig};
use crate::health::board::Board;
use crate::health::runner::{Health, DEFAULT_PROBE_THREADS};
use crate::ipvs::service::BuildOptions;
use crate::metrics::lb_source::LbMetrics;
use crate::metrics::MetricsSource;
use crate::proto::{ListRequest, Reply, Request, Response};
use crate::sync::{SyncControl, SyncMetrics};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The order [`Rvsd::start`] starts things in (and logs); [`Rvsd::stop`] goes in reverse.
pub const START_ORDER: [&str; 11] = [
    "EAL",
    "packet pools",
    "ports",
    "kernel interfaces",
    "workers",
    "control plane",
    "sync daemons",
    "control socket",
    "health checks",
    "metrics",
    "announcer",
];

/// A running rvsd.
pub struct Rvsd {
    director: Director,
    control: Arc<Mutex<Control<DirectorControl>>>,
    server: Server,
    health: Option<Health>,
    liveness: Liveness,
    announcer: Option<Announcer>,
    sync: Arc<Mutex<SyncControl>>,
}

impl Rvsd {
    /// Starts everything `cfg` describes, in [`START_ORDER`]. With `config_file`, reloads read
    /// that file again; without, a reload is refused.
    pub fn start(cfg: &Config, config_file: Option<&Path>) -> Result<Rvsd, StartError> {
        tracing::info!("starting {}", START_ORDER.join(", "));
        // EAL, packet pools, ports, kernel interfaces, workers.
        let mut director = Director::start_dataplane(cfg)?;
        // The control plane: the authoritative table over the running workers.
        let board = Board::new();
        let mut control = Control::new(
            cfg.services().clone(),
            cfg.snat_rules().to_vec(),
            BuildOptions::default(),
            director.control(),
        )
        .with_health(board.clone());
        if let Some(path) = config_file {
            control.set_reloader(Reloader::from_file(cfg.clone(), path.to_path_buf()));
        }
        // Connection sync (docs/scale-out.md): the daemons `[sync]` names; rvsadm starts and
        // stops them later through the control plane.
        let mut sync = SyncControl::new(director.worker_handles(), cfg.sync_ifaces());
        if let Some(rx) = director.take_sync_reports() {
            sync = sync.with_primed_reports(rx);
        }
        if let Err(e) = sync.apply_config(cfg.sync()) {
            drop(sync);
            return Err(stop_after(director, format!("starting the connection sync: {e}")));
        }
        let sync = Arc::new(Mutex::new(sync));
        control.set_sync(sync.clone());
        let control = Arc::new(Mutex::new(control));
        // The control socket (rvsadm, rvsnet).
        let server_cfg = ServerConfig {
            group: cfg.ctrl().group.clone(),
            ..ServerConfig::new(&cfg.ctrl().socket)
        };
        let server = match Server::start_shared(server_cfg, control.clone()) {
            Ok(s) => s,
            Err(e) => return Err(stop_after(director, format!("control socket: {e}"))),
        };
        // The health checks (docs/health.md): control-plane threads, changes through `control`.
        let health = if cfg.health().services.is_empty() {
            None
        } else {
            let plan = cfg.health().clone();
            match Health::start(plan, control.clone(), board.clone(), DEFAULT_PROBE_THREADS) {
                Ok(h) => Some(h),
                Err(e) => {
                    server.stop();
                    return Err(stop_after(director, format!("starting the health checks: {e}")));
                }
            }
        };
        // The metrics: the director's own, the load balancer's, the health checks'.
        let liveness = director.liveness(std::time::Instant::now());
        let announce_metrics = crate::announce::metrics::AnnounceMetrics::new();
        let sources: Vec<Arc<dyn MetricsSource>> = vec![
            Arc::new(board),
            Arc::new(LbMetrics::new(control.clone())),
            Arc::new(liveness.metrics()),
            Arc::new(announce_metrics.clone()),
            Arc::new(SyncMetrics::new(sync.clone())),
        ];
        if let Err(e) = director.start_metrics(cfg, sources) {
            if let Some(h) = health {
                h.stop();
            }
            server.stop();
            return Err(stop_after(director, e.to_string()));
        }
        // Scale-out: the VIPs' routes for the routing daemon, once everything serves.
        let announcer = match cfg.announce() {
            None => None,
            Some(a) => {
                let c = control.clone();
                let table =
                    move || c.lock().unwrap_or_else(|p| p.into_inner()).table().services().to_vec();
                match Announcer::start(a, table) {
                    Ok(an) => {
                        control.lock().unwrap_or_else(|p| p.into_inner()).set_announce(an.handle());
                        announce_metrics.attach(an.handle());
                        Some(an)
                    }
                    Err(e) => {
                        if let Some(h) = health {
                            h.stop();
                        }
                        server.stop();
                        return Err(stop_after(director, format!("starting the announcer: {e}")));
                    }
                }
            }
        };
        Ok(Rvsd { director, control, server, health, liveness, announcer, sync })
    }

    /// The control socket's path.
    pub fn socket(&self) -> &Path {
        self.server.path()
    }

    /// Reads the config file again and applies it live (SIGHUP); the control plane logs the
    /// outcome.
    pub fn reload(&self) {
        if let Ok(mut c) = self.control.lock() {
            let _ = c.reload();
        }
    }

    /// The workers found dead or stuck now (see [`super::liveness`]); empty while all live.
    pub fn check_workers(&mut self) -> Vec<WorkerFault> {
        self.liveness.check(std::time::Instant::now())
    }

    /// Stops everything, in the reverse of [`START_ORDER`].
    pub fn stop(self) -> Result<(), StartError> {
        if let Some(a) = self.announcer {
            // Withdraw first; with a drain timeout, serve what is established until it ends.
            let timeout = a.drain_timeout();
            if !timeout.is_zero() {
                tracing::info!(
                    "draining: VIPs withdrawn, waiting up to {timeout:?} for connections"
                );
                let left = a.drain_for(timeout, || active_conns(&self.control));
                tracing::info!("drained: {left} established connection(s) left");
            }
            a.stop();
        }
        if let Some(h) = self.health {
            h.stop();
        }
        self.server.stop();
        // A master sends what it holds; then no worker reports or installs any more.
        self.sync.lock().unwrap_or_else(|p| p.into_inner()).stop_all();
        // Metrics, workers, kernel interfaces, ports, pools, EAL.
        self.director.shutdown()
    }
}

/// Established connections over every service (for a drain).
fn active_conns(control: &Mutex<Control<DirectorControl>>) -> u64 {
    let reply = control
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .handle(Request::List(ListRequest::Services));
    match reply {
        Response::Ok(Reply::Services { services, .. }) => {
            services.iter().flat_map(|s| &s.dests).map(|d| u64::from(d.active)).sum()
        }
        _ => 0,
    }
}

/// Stops `director` after a later step failed with `why`; the error to return.
fn stop_after(director: Director, why: String) -> StartError {
    if let Err(e) = director.shutdown() {
        tracing::warn!("stopping after a failed start: {e}");
    }
    StartError::Setup(why)
}
