//! The director process: what starts in what order, and how it stops.
//!
//! Owns the start sequence of `rvsd` — [`rvsd::Rvsd::start`] lists it in order: EAL, packet pool,
//! ports, kernel interfaces, the L2/L3 tables and one worker per configured core (the
//! [`Director`]), then the control plane, its socket, the health checks and the metrics
//! exporter — and the orderly stop in reverse: workers first, then ports, then pools, then EAL. Every start failure is a [`StartError`] whose message says what to do. It maps
//! the checked config onto the types of `net` and `dpdk`; it holds no packet logic itself.

/// The director's own IPv6 into the stacks (issue 16).
pub mod ipv6;
mod kernel;
pub mod liveness;
pub mod netctl;
mod plumbing;
pub mod rvsd;
mod steering;
mod vip_metrics;

pub use crate::metrics::director::DirectorMetrics;
use netctl::{NetFailure, NetPlumbing, PortMeta};
pub use plumbing::{build_ifaces, build_routes, config_routes, neigh_params, static_neighs};

use crate::config::{Config, LocalPortStart, TxChecksumOffload};
use crate::dataplane::backoff::{BackoffParams, IdleBackoff};
use crate::dataplane::control::{self, ControlError, WorkerHandle};
use crate::dataplane::crossing::{redirect_ring_size, Crossing};
use crate::dataplane::pipeline::Pipeline;
use crate::dataplane::stats::CoreStats;
use crate::dataplane::worker::{KernelQueues, RxSlot, Worker};
use crate::dpdk::{self, ConfiguredPort, DpdkError, Eal, LaunchHandle, Mempool, Port, PortConfig};
use crate::ipvs::balancer::{Balancer, BalancerConfig};
use crate::ipvs::service::{BuildOptions, Services};
use crate::metrics::{Exporter, MetricsError};
use crate::net::Stack;
use crate::time;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use thiserror::Error;
use tracing::{info, warn};

/// The transmit checksum offloads rvs uses when a port has all three.
const TX_CSUM_OFFLOADS: u64 = dpdk::port::TX_OFFLOAD_IPV4_CKSUM
    | dpdk::port::TX_OFFLOAD_TCP_CKSUM
    | dpdk::port::TX_OFFLOAD_UDP_CKSUM;

/// Bytes of buffer per mbuf: DPDK's default (2048 of data + 128 of headroom), enough for a
/// 1500-byte MTU frame. Jumbo MTUs need a larger value.
const MBUF_DATA_ROOM: u16 = 2048 + 128;

/// How long the control plane waits for a worker to answer.
const CONTROL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Why the director could not start.
#[derive(Debug, Error)]
pub enum StartError {
    /// DPDK refused something; the message says what and what to check.
    #[error(transparent)]
    Dpdk(#[from] DpdkError),
    /// The config names something that does not fit the machine.
    #[error("{0}")]
    Setup(String),
    /// The metrics exporter could not start.
    #[error(transparent)]
    Metrics(#[from] MetricsError),
}

pub use crate::ctrl::control::WorkerReports;

/// The control plane's way to the workers, usable from another thread than the director's.
#[derive(Clone)]
pub struct DirectorControl {
    handles: Vec<WorkerHandle>,
    generation: Arc<AtomicU64>,
    // Snapshots are numbered and pushed one at a time, whoever pushes them.
    lock: Arc<std::sync::Mutex<()>>,
    // Addresses and routes (rvsnet); `None` before the workers start.
    net: Arc<std::sync::Mutex<Option<NetPlumbing>>>,
}

impl DirectorControl {
    /// Runs `snap` on every worker under the next generation number; returns once all do.
    pub fn push(&self, snap: Services) -> Result<(), ControlError> {
        let _one_at_a_time = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let generation = self.generation.load(Ordering::Relaxed) + 1;
        self.generation.store(generation, Ordering::Relaxed);
        let snap = Arc::new(snap.with_generation(generation));
        control::set_services_everywhere(&self.handles, &snap, CONTROL_TIMEOUT)
    }

    /// Every worker's connection table (up to `limit` entries each).
    pub fn conns(&self, limit: usize) -> Result<Vec<crate::ipvs::conn::ConnInfo>, ControlError> {
        let mut all = Vec::new();
        for h in &self.handles {
            all.extend(h.conns(limit, CONTROL_TIMEOUT)?);
        }
        Ok(all)
    }

    /// Every worker's reports.
    pub fn worker_reports(&self) -> Result<Vec<WorkerReports>, ControlError> {
        self.handles.iter().map(|h| h.reports(CONTROL_TIMEOUT)).collect()
    }

    /// The generation every worker runs (the oldest among them).
    pub fn generation(&self) -> u64 {
        self.handles.iter().map(WorkerHandle::generation).min().unwrap_or(0)
    }
}

/// The workers' connection tables, walked a slice per request (`rvsadm -L -c`).
struct WorkerTables(Vec<WorkerHandle>);

impl crate::ctrl::conn_stream::ConnSource for WorkerTables {
    fn workers(&self) -> usize {
        self.0.len()
    }
    fn slice(
        &self,
        worker: usize,
        from: u32,
        slots: u32,
    ) -> Result<crate::ipvs::balancer::control::ConnSlice, String> {
        let h = self.0.get(worker).ok_or_else(|| format!("no worker {worker}"))?;
        h.conn_slice(from, slots, CONTROL_TIMEOUT).map_err(|e| e.to_string())
    }
    fn listed_with_local(&self, worker: usize) -> Result<u32, String> {
        let h = self.0.get(worker).ok_or_else(|| format!("no worker {worker}"))?;
        h.conns_listed_with_local(CONTROL_TIMEOUT).map_err(|e| e.to_string())
    }
}

impl crate::ctrl::control::Dataplane for DirectorControl {
    fn set_services(&mut self, snap: Services) -> Result<(), String> {
        self.push(snap).map_err(|e| e.to_string())
    }
    fn reports(&self) -> Result<Vec<WorkerReports>, String> {
        self.worker_reports().map_err(|e| e.to_string())
    }
    fn conn_source(&self) -> Box<dyn crate::ctrl::conn_stream::ConnSource> {
        Box::new(WorkerTables(self.handles.clone()))
    }
    fn generation(&self) -> u64 {
        DirectorControl::generation(self)
    }
    fn workers(&self) -> usize {
        self.handles.len()
    }
    fn flush_removed(&mut self) -> Result<u64, String> {
        let mut n = 0;
        for h in &self.handles {
            n += u64::from(h.flush_removed(CONTROL_TIMEOUT).map_err(|e| e.to_string())?);
        }
        Ok(n)
    }
    fn pools(&self) -> Result<Vec<crate::ipvs::balancer::PoolReports>, String> {
        self.handles.iter().map(|h| h.pools(CONTROL_TIMEOUT).map_err(|e| e.to_string())).collect()
    }
    fn net(
        &mut self,
        req: crate::proto::net::NetRequest,
        in_use: &[(std::net::IpAddr, String)],
    ) -> Result<crate::proto::net::NetReply, (crate::proto::ErrorCode, String)> {
        use crate::proto::ErrorCode;
        let mut guard = self.net.lock().unwrap_or_else(|p| p.into_inner());
        let Some(net) = guard.as_mut() else {
            return Err((ErrorCode::Dataplane, "the workers are not running".into()));
        };
        net.handle(req, &self.handles, in_use, CONTROL_TIMEOUT).map_err(|e| match e {
            NetFailure::Refused(m) => (ErrorCode::Refused, m),
            NetFailure::Dataplane(m) => (ErrorCode::Dataplane, m),
        })
    }
    fn port_names(&self) -> Option<Vec<String>> {
        let guard = self.net.lock().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().map(NetPlumbing::port_names)
    }
}

/// A running director.
pub struct Director {
    stop: Arc<AtomicBool>,
    workers: Vec<LaunchHandle>,
    ports: Vec<ConfiguredPort>,
    /// The ports' kernel interfaces (exception path), with the index of the port each serves.
    kernel_ports: Vec<(u16, ConfiguredPort)>,
    exporter: Option<Exporter>,
    metrics: Option<Arc<DirectorMetrics>>,
    stats: Vec<Arc<CoreStats>>,
    /// The lcore of each worker, by core index.
    lcores: Vec<u32>,
    handles: Vec<WorkerHandle>,
    generation: Arc<AtomicU64>,
    control_lock: Arc<std::sync::Mutex<()>>,
    net: Arc<std::sync::Mutex<Option<NetPlumbing>>>,
    flow_rules: Vec<dpdk::FlowRule>,
    /// Connection sync: the master's ends of the report queues the workers started with
    /// (when `[sync]` runs a master), taken by [`Director::take_sync_reports`].
    sync_reports: Option<Vec<crossbeam_channel::Receiver<crate::ipvs::sync::SyncConn>>>,
    // Declared last: dropped after the ports and workers that use them.
    pool: Option<Mempool>,
    eal: Option<Eal>,
}

impl Director {
    /// Starts the data plane `cfg` describes and its metrics exporter (rvsd's whole start list
    /// is [`rvsd::Rvsd::start`]). On error, whatever was started is stopped again.
    pub fn start(cfg: &Config) -> Result<Director, StartError> {
        let mut d = Director::start_dataplane(cfg)?;
        d.start_metrics(cfg, Vec::new())?;
        Ok(d)
    }

    /// Starts, in this order, EAL, the packet pool, the ports, their kernel interfaces and one
    /// worker per configured core. On error, whatever was started is stopped again.
    pub fn start_dataplane(cfg: &Config) -> Result<Director, StartError> {
        let args = cfg.eal_args();
        info!("starting EAL: {}", args.join(" "));
        let eal = Eal::init(&args)?;
        let dp = cfg.dataplane();
        let pool = Mempool::new("rvs_pkt", dp.mbufs, dp.mbuf_cache, MBUF_DATA_ROOM, None)?;
        let mut d = Director {
            stop: Arc::new(AtomicBool::new(false)),
            workers: Vec::new(),
            ports: Vec::new(),
            kernel_ports: Vec::new(),
            exporter: None,
            metrics: None,
            stats: Vec::new(),
            lcores: Vec::new(),
            handles: Vec::new(),
            generation: Arc::new(AtomicU64::new(0)),
            control_lock: Arc::new(std::sync::Mutex::new(())),
            net: Arc::new(std::sync::Mutex::new(None)),
            flow_rules: Vec::new(),
            sync_reports: None,
            pool: Some(pool.clone()),
            eal: Some(eal),
        };
        // The local handle goes before `d` can drop on an error, so that EAL's cleanup sees no
        // pool left alive.
        let started = d
            .start_ports(cfg, &pool)
            .and_then(|()| d.start_kernel_ifaces(cfg, &pool))
            .and_then(|()| d.start_workers(cfg, &pool));
        drop(pool);
        started?;
        Ok(d)
    }

    /// Starts the metrics exporter (when `[metrics] listen` is set): the director's per-core
    /// and per-port families, then `extra`'s (the load balancer's, the health checks').
    pub fn start_metrics(
        &mut self,
        cfg: &Config,
        extra: Vec<Arc<dyn crate::metrics::MetricsSource>>,
    ) -> Result<(), StartError> {
        let Some(addr) = cfg.metrics().listen else { return Ok(()) };
        if addr.ip().is_unspecified() {
            warn!(
                "metrics listen on {addr}: every address of the host, the internet-facing ones \
                 too; set [metrics] listen to the management address"
            );
        }
        let names = cfg.ports().iter().map(|p| p.name.clone()).collect();
        let ids = self.ports.iter().map(|p| p.id()).collect();
        let mut extra = extra;
        extra.push(Arc::new(vip_metrics::VipMetrics { net: self.net.clone() }));
        let source =
            Arc::new(DirectorMetrics::new(self.stats.clone(), names, ids).with_extra(extra));
        self.metrics = Some(source.clone());
        let ex = Exporter::start(addr, source)?;
        info!("metrics on http://{}/metrics", ex.local_addr());
        self.exporter = Some(ex);
        Ok(())
    }

    fn start_ports(&mut self, cfg: &Config, pool: &Mempool) -> Result<(), StartError> {
        for p in cfg.ports() {
            let port = Port::by_name(p.device.name())?;
            let pc = PortConfig {
                rx_queues: p.rx_queues,
                tx_queues: p.tx_queues,
                rx_desc: p.rx_desc,
                tx_desc: p.tx_desc,
                mtu: Some(p.mtu),
                mac: p.mac,
                promiscuous: p.promiscuous,
                rss: p.rx_queues > 1,
                rx_offloads: 0,
                tx_offloads: match cfg.dataplane().tx_checksum_offload {
                    TxChecksumOffload::Auto => TX_CSUM_OFFLOADS,
                    TxChecksumOffload::Off => 0,
                },
            };
            let configured = port.configure(&pc, pool)?;
            let mac = configured.mac()?;
            let info = configured.info();
            info!(
                "port {} ({}, driver {}): mac {}, {} rx / {} tx queues, {:?}",
                p.name,
                p.device.name(),
                info.driver,
                crate::wire::MacAddr(mac),
                p.rx_queues,
                p.tx_queues,
                configured.report().rss
            );
            for note in &configured.report().notes {
                warn!("port {}: {note}", p.name);
            }
            let csum = configured.report().tx_offloads & TX_CSUM_OFFLOADS == TX_CSUM_OFFLOADS;
            match (cfg.dataplane().tx_checksum_offload, csum) {
                (TxChecksumOffload::Off, _) => {
                    info!("port {}: tx checksum offload off (config): software checksums", p.name)
                }
                (TxChecksumOffload::Auto, true) => info!(
                    "port {}: tx checksum offload on: the NIC computes IPv4/TCP/UDP checksums of forwarded packets",
                    p.name
                ),
                (TxChecksumOffload::Auto, false) => info!(
                    "port {}: tx checksum offload not offered by driver {} (tx_offload_capa {:#x}): software checksums",
                    p.name, info.driver, info.tx_offload_capa
                ),
            }
            match configured.link() {
                Ok(l) => info!("port {}: link {:?}", p.name, l),
                Err(e) => warn!("port {}: link status unknown: {e}", p.name),
            }
            self.ports.push(configured);
        }
        Ok(())
    }

    fn start_workers(&mut self, cfg: &Config, pool: &Mempool) -> Result<(), StartError> {
        let macs: Vec<[u8; 6]> =
            self.ports.iter().map(|p| p.mac()).collect::<Result<_, DpdkError>>()?;
        let ifaces = Arc::new(
            build_ifaces(cfg, &macs)
                .and_then(|t| kernel::with_kernel_addrs(t, cfg))
                .map_err(|e| StartError::Setup(format!("addresses: {e}")))?,
        );
        let kernel_port_list: Vec<u16> = self.kernel_ports.iter().map(|(i, _)| *i).collect();
        let routes = Arc::new(
            build_routes(cfg, &ifaces).map_err(|e| StartError::Setup(format!("routes: {e}")))?,
        );
        let statics = static_neighs(cfg);
        let v6_tables = ipv6::tables(cfg, &ifaces).map_err(StartError::Setup)?;
        let backoff = cfg.dataplane().idle_backoff.map(|b| BackoffParams {
            empty_polls: b.empty_polls,
            sleep: b.sleep,
            max_sleep: b.max_sleep,
        });
        let n_workers = cfg.workers().len();
        let services = Arc::new(
            cfg.services()
                .snapshot(cfg.snat_rules(), BuildOptions::default())
                .map_err(|e| StartError::Setup(format!("services: {e}")))?,
        );
        for s in services.skipped() {
            warn!("not forwarded: {s}");
        }
        info!(
            "{} virtual service(s), {} SNAT rule(s), {} worker(s)",
            services.services().len(),
            services.snat().len(),
            n_workers
        );
        let (rules, steering_shown) = steering::install(cfg, &services, &self.ports);
        self.flow_rules = rules;
        // Redirect rings take the mbufs beyond the pool's minimum (see dataplane/crossing.rs).
        let spare = u64::from(cfg.dataplane().mbufs).saturating_sub(cfg.min_mbufs());
        let ring = redirect_ring_size(spare, n_workers);
        info!("rings between workers: {ring} packets each");
        let mut crossings = Crossing::build(n_workers, ring)?.into_iter();
        // One SYN proxy configuration (and so one set of cookie keys) for every worker: a
        // cookie made on one core validates on any.
        let synproxy = crate::ipvs::synproxy::SynProxyConfig::new();
        // Connection sync: a configured master's workers report from their first packet.
        let master = cfg.sync().is_some_and(|s| s.roles.contains(&crate::sync::SyncRole::Master));
        let mut sync_queues = if master {
            let (queues, rx) = crate::sync::control::report_queues(n_workers);
            self.sync_reports = Some(rx);
            queues.into_iter().map(Some).collect()
        } else {
            Vec::new()
        }
        .into_iter();
        for (core, w) in cfg.workers().iter().enumerate() {
            let crossing = crossings.next().unwrap_or_default();
            let mut rx = Vec::new();
            for q in &w.rx {
                let port = self.port_mut(q.port)?;
                rx.push(RxSlot { port: q.port, queue: port.rx_queue(q.queue)? });
            }
            let mut tx = Vec::new();
            let mut csum_offload = Vec::new();
            for port in &mut self.ports {
                tx.push(port.tx_queue(w.tx_queue)?);
                csum_offload.push(port.report().tx_offloads & TX_CSUM_OFFLOADS == TX_CSUM_OFFLOADS);
            }
            let stack = Stack::new(ifaces.clone(), routes.clone(), &statics, neigh_params(cfg))
                .map_err(|e| StartError::Setup(format!("neighbours: {e}")))?
                .with_exception(kernel::exception(cfg, &kernel_port_list))
                .with_arp_limit(cfg.exc_guard().arp_pps, cfg.exc_guard().arp_burst, time::now());
            let stack = match &v6_tables {
                Some(t) => stack.with_ipv6(
                    ipv6::setup(cfg, t, neigh_params(cfg), time::now())
                        .map_err(StartError::Setup)?,
                ),
                None => stack,
            };
            let mut kernel_queues = Vec::new();
            for (index, kp) in &mut self.kernel_ports {
                kernel_queues.push(KernelQueues {
                    port: *index,
                    rx: kp.rx_queue(w.tx_queue)?,
                    tx: kp.tx_queue(w.tx_queue)?,
                });
            }
            let lb_cfg = BalancerConfig {
                conn_capacity: cfg.dataplane().conns_per_worker,
                port_cursor_seed: match cfg.dataplane().local_port_start {
                    LocalPortStart::Random => BalancerConfig::random_port_cursor_seed(),
                    LocalPortStart::First => 0,
                },
                guard: *cfg.guard(),
                synproxy,
                tx_csum_offload: csum_offload.iter().any(|&on| on),
                ..BalancerConfig::new(core, n_workers)
            };
            let mut lb = Balancer::new(lb_cfg, time::now())
                .map_err(|e| StartError::Setup(format!("load balancer of worker {core}: {e}")))?;
            lb.set_sync_reports(sync_queues.next().flatten());
            let mut pipeline = Pipeline::with_balancer(stack, lb);
            pipeline.set_services(services.clone(), time::now());
            let stats = Arc::new(CoreStats::default());
            self.stats.push(stats.clone());
            self.lcores.push(w.lcore);
            let beat = stats.clone();
            let worker = Worker::new(
                core,
                rx,
                tx,
                pool.clone(),
                pipeline,
                IdleBackoff::new(backoff),
                core == 0,
                crossing,
                stats,
                self.stop.clone(),
            );
            let (handle, inbox) = control::channel(core);
            self.handles.push(handle);
            let worker = worker
                .with_inbox(inbox)
                .with_burst(usize::from(cfg.dataplane().burst))
                .with_kernel(kernel_queues, cfg.exception().poll)
                .with_tx_csum_offload(&csum_offload);
            #[cfg(feature = "test-support")]
            let worker =
                worker.with_test_fault(crate::dataplane::heartbeat::TestFault::from_env(core));
            let mut worker = worker;
            let lcore = w.lcore;
            let handle = dpdk::launch(lcore, move || {
                info!("worker {core} running on lcore {lcore}");
                beat.heartbeat.record_thread();
                // A panic is recorded as it starts, so the monitor sees "panicked" even while
                // the backtrace is still being printed.
                let at_panic = beat.clone();
                crate::dataplane::heartbeat::record_panics_with(move |m| {
                    at_panic.heartbeat.panicked(m.to_owned())
                });
                // The heartbeat records how the function ended, a panic included, for the
                // liveness monitor; the panic still reaches `join` as before.
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| worker.run())) {
                    Ok(c) => {
                        beat.heartbeat.returned();
                        info!("worker {core} stopped: {c:?}");
                        0
                    }
                    Err(payload) => {
                        let message = crate::dataplane::heartbeat::panic_message(payload.as_ref());
                        beat.heartbeat.panicked(message);
                        std::panic::resume_unwind(payload)
                    }
                }
            })?;
            self.workers.push(handle);
        }
        let metas = cfg
            .ports()
            .iter()
            .zip(&self.ports)
            .map(|(p, c)| PortMeta {
                index: p.index,
                name: p.name.clone(),
                device: p.device.name().to_string(),
                id: c.id(),
                driver: c.info().driver.clone(),
            })
            .collect();
        let net = NetPlumbing::new(
            metas,
            &ifaces,
            config_routes(cfg),
            steering_shown,
            self.stats.clone(),
            neigh_params(cfg).timeout,
        );
        *self.net.lock().unwrap_or_else(|p| p.into_inner()) = Some(net);
        Ok(())
    }

    fn port_mut(&mut self, index: u16) -> Result<&mut ConfiguredPort, StartError> {
        self.ports
            .get_mut(usize::from(index))
            .ok_or_else(|| StartError::Setup(format!("port index {index} was not started")))
    }

    /// The MAC address each port runs with, in config order.
    pub fn port_macs(&self) -> Vec<[u8; 6]> {
        self.ports.iter().map(|p| p.mac().unwrap_or([0; 6])).collect()
    }

    /// Applies a new configuration snapshot on every worker at its next burst boundary and
    /// returns once all of them run it. Established connections are untouched.
    pub fn set_services(&mut self, snap: Services) -> Result<(), ControlError> {
        self.control().push(snap)
    }

    /// Every worker's connection table (up to `limit` entries each), read without stopping them.
    pub fn conns(&self, limit: usize) -> Result<Vec<crate::ipvs::conn::ConnInfo>, ControlError> {
        self.control().conns(limit)
    }

    /// Every worker's per-service and per-dest reports, one entry per worker.
    pub fn reports(&self) -> Result<Vec<WorkerReports>, ControlError> {
        self.control().worker_reports()
    }

    /// Connection sync: the report queues the workers started with (once).
    pub fn take_sync_reports(
        &mut self,
    ) -> Option<Vec<crossbeam_channel::Receiver<crate::ipvs::sync::SyncConn>>> {
        self.sync_reports.take()
    }

    /// The workers' request channels (for the sync daemons).
    pub fn worker_handles(&self) -> Vec<WorkerHandle> {
        self.handles.clone()
    }

    /// A handle for the control plane (the control socket's thread): it reaches the workers
    /// through their inboxes and shares the snapshot generation counter with the director.
    pub fn control(&self) -> DirectorControl {
        DirectorControl {
            handles: self.handles.clone(),
            generation: self.generation.clone(),
            lock: self.control_lock.clone(),
            net: self.net.clone(),
        }
    }

    /// The generation of the configuration every worker runs (the oldest among them).
    pub fn generation(&self) -> u64 {
        self.handles.iter().map(WorkerHandle::generation).min().unwrap_or(0)
    }

    /// A flag that stops the workers when set (for signal handlers).
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// Adds families to the metrics endpoint (the control plane's services, dests and pools).
    /// Does nothing when `[metrics] listen` is not set.
    pub fn add_metrics_source(&self, source: Arc<dyn crate::metrics::MetricsSource>) {
        if let Some(m) = &self.metrics {
            m.add_source(source);
        }
    }

    /// The address the metrics endpoint listens on, if it runs.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.exporter.as_ref().map(Exporter::local_addr)
    }

    /// A monitor of every worker's heartbeat, from `now` on (see [`liveness`]).
    pub fn liveness(&self, now: std::time::Instant) -> liveness::Liveness {
        let workers = self
            .stats
            .iter()
            .zip(&self.lcores)
            .enumerate()
            .map(|(core, (s, l))| (core, *l, s.clone()))
            .collect();
        liveness::Liveness::new(workers, now)
    }

    /// Published counters of every worker core.
    pub fn core_stats(&self) -> &[Arc<CoreStats>] {
        &self.stats
    }

    /// Stops workers, then ports, pools and EAL. Returns an error if a worker failed.
    pub fn shutdown(mut self) -> Result<(), StartError> {
        self.stop_all()
    }

    fn stop_all(&mut self) -> Result<(), StartError> {
        self.stop.store(true, Ordering::Relaxed);
        let mut first_err = None;
        for h in self.workers.drain(..) {
            let lcore = h.lcore();
            match h.join() {
                Ok(0) => {}
                Ok(code) => warn!("worker on lcore {lcore} exited with {code}"),
                Err(e) => {
                    warn!("worker on lcore {lcore} failed: {e}");
                    first_err.get_or_insert(StartError::Dpdk(e));
                }
            }
        }
        self.exporter = None;
        self.metrics = None;
        self.flow_rules.clear();
        for p in &mut self.ports {
            if let Err(e) = p.stop() {
                warn!("stopping port {}: {e}", p.id());
            }
        }
        self.ports.clear();
        for (_, p) in &mut self.kernel_ports {
            if let Err(e) = p.stop() {
                warn!("stopping kernel interface port {}: {e}", p.id());
            }
        }
        self.kernel_ports.clear();
        self.pool = None;
        self.eal = None;
        first_err.map_or(Ok(()), Err)
    }
}

impl Drop for Director {
    fn drop(&mut self) {
        let _ = self.stop_all();
    }
}
