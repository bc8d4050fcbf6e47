//! The sync daemons rvsd runs: at most one master and one backup, started from `[sync]` or by
//! `rvsadm --start-daemon`, stopped by `--stop-daemon`, listed by `-L --daemon`, brought to a
//! changed `[sync]` block by a reload.
//!
//! Owns [`SyncControl`]: the running [`SyncDaemon`]s, turning the workers' reporting on while
//! a master runs and off when it stops ([`LbRequest::SyncReports`]), the lookup of
//! `--mcast-interface` among the ports' kernel interfaces, and the counters of daemons that
//! have stopped (so the metrics only grow). A refused request changes nothing. Must not touch:
//! the service table, the config file, sockets (the daemons own theirs).

use crossbeam_channel::Receiver;

use super::daemon::{SyncDaemon, SyncRole, SyncSettings};
use super::settings::{SyncConfig, SyncIface};
use super::stats::SyncCounts;
use crate::dataplane::control::WorkerHandle;
use crate::ipvs::balancer::control::LbRequest;
use crate::ipvs::balancer::{SyncReports, SyncRule};
use crate::ipvs::sync::{ReportQueue, SyncConn};
use crate::proto::sync::{
    SyncDaemonInfo, SyncDaemonParams, SyncRequest, ALREADY_RUNNING, NOT_RUNNING,
};
use crate::proto::ErrorCode;

/// Reports a worker may hold for the master before it drops (and counts) them.
pub const REPORT_QUEUE: usize = 8192;

/// Why a request was refused (nothing changed): the class and the words for rvsadm.
pub type Refusal = (ErrorCode, String);

/// rvsd's sync daemons. See the module documentation.
pub struct SyncControl {
    workers: Vec<WorkerHandle>,
    ifaces: Vec<SyncIface>,
    master: Option<SyncDaemon>,
    backup: Option<SyncDaemon>,
    /// Counters of the daemons that ran and stopped, per role (master, backup).
    retired: [SyncCounts; 2],
    /// `[sync]` as the config last declared it (a reload acts only when it changes).
    declared: Option<SyncConfig>,
    /// Report queues the workers were started with (so that no connection of the first
    /// packets goes unreported), for the first master.
    primed: Option<Vec<Receiver<SyncConn>>>,
    /// Each worker's reports and drops of masters that stopped (its counts restart with
    /// each master).
    retired_reports: Vec<(u64, u64)>,
}

impl std::fmt::Debug for SyncControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncControl")
            .field("master", &self.master)
            .field("backup", &self.backup)
            .finish()
    }
}

/// A fresh report queue for each worker: the workers' ends and the master's.
pub fn report_queues(workers: usize) -> (Vec<SyncReports>, Vec<Receiver<SyncConn>>) {
    (0..workers)
        .map(|_| {
            let (queue, rx) = ReportQueue::bounded(REPORT_QUEUE);
            (SyncReports { queue, rule: SyncRule::default(), sent: 0 }, rx)
        })
        .unzip()
}

fn add(a: &mut SyncCounts, b: SyncCounts) {
    a.sent_messages += b.sent_messages;
    a.sent_conns += b.sent_conns;
    a.send_errors += b.send_errors;
    a.received_messages += b.received_messages;
    a.received_conns += b.received_conns;
    a.dropped_malformed += b.dropped_malformed;
    a.dropped_syncid += b.dropped_syncid;
    a.dropped_own += b.dropped_own;
    a.dropped_entry += b.dropped_entry;
    a.dropped_busy += b.dropped_busy;
    a.learnt += b.learnt;
    a.updated += b.updated;
    a.refused += b.refused;
}

fn index(role: SyncRole) -> usize {
    match role {
        SyncRole::Master => 0,
        SyncRole::Backup => 1,
    }
}

impl SyncControl {
    /// No daemon yet; `workers` are the data plane's, `ifaces` the ports' kernel interfaces
    /// that `--mcast-interface` may name.
    pub fn new(workers: Vec<WorkerHandle>, ifaces: Vec<SyncIface>) -> SyncControl {
        SyncControl {
            workers,
            ifaces,
            master: None,
            backup: None,
            retired: [SyncCounts::default(); 2],
            declared: None,
            primed: None,
            retired_reports: Vec::new(),
        }
    }

    /// The workers already report into these queues (they were started with reporting on):
    /// the first master drains them instead of turning reporting on.
    pub fn with_primed_reports(mut self, rx: Vec<Receiver<SyncConn>>) -> SyncControl {
        self.primed = Some(rx);
        self
    }

    fn slot(&mut self, role: SyncRole) -> &mut Option<SyncDaemon> {
        match role {
            SyncRole::Master => &mut self.master,
            SyncRole::Backup => &mut self.backup,
        }
    }

    /// The daemon of `role`, if it runs.
    pub fn daemon(&self, role: SyncRole) -> Option<&SyncDaemon> {
        match role {
            SyncRole::Master => self.master.as_ref(),
            SyncRole::Backup => self.backup.as_ref(),
        }
    }

    /// Answers an rvsadm request; the running daemons after it, or why it was refused.
    pub fn handle(&mut self, req: SyncRequest) -> Result<Vec<SyncDaemonInfo>, Refusal> {
        match req {
            SyncRequest::Show => {}
            SyncRequest::Start { role, params } => {
                if self.daemon(role).is_some() {
                    return Err((ErrorCode::Refused, ALREADY_RUNNING.into()));
                }
                let settings = self.settings_of(&params)?;
                self.start(role, settings).map_err(|e| (ErrorCode::Refused, e))?;
            }
            SyncRequest::Stop { role } => {
                if self.daemon(role).is_none() {
                    return Err((ErrorCode::Refused, NOT_RUNNING.into()));
                }
                self.stop(role);
            }
        }
        Ok(self.rows())
    }

    /// `-L --daemon`'s rows, master first.
    pub fn rows(&self) -> Vec<SyncDaemonInfo> {
        SyncRole::ALL
            .iter()
            .filter_map(|r| self.daemon(*r))
            .map(|d| {
                let s = d.settings();
                SyncDaemonInfo {
                    role: d.role(),
                    mcast_interface: s.ifname.clone(),
                    syncid: s.syncid,
                    sync_maxlen: s.maxlen,
                    mcast_group: Some(s.group.into()),
                    mcast_port: s.port,
                    mcast_ttl: s.ttl,
                }
            })
            .collect()
    }

    /// `--start-daemon`'s parameters with the kernel's defaults filled in.
    fn settings_of(&self, p: &SyncDaemonParams) -> Result<SyncSettings, Refusal> {
        let refuse = |m: String| Err((ErrorCode::Refused, m));
        let names = || {
            if self.ifaces.is_empty() {
                "no port has a kernel_iface with kernel_addrs".to_owned()
            } else {
                self.ifaces.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", ")
            }
        };
        let Some(ifname) = &p.mcast_interface else {
            return refuse(format!(
                "--start-daemon needs --mcast-interface: a port's kernel interface ({})",
                names()
            ));
        };
        let Some(iface) = self.ifaces.iter().find(|i| &i.name == ifname) else {
            return refuse(format!(
                "--mcast-interface {ifname}: not a kernel interface of rvsd's ports with an IPv4 \
                 address; use one of: {}",
                names()
            ));
        };
        let mut s = SyncSettings::new(&iface.name, iface.addr);
        s.maxlen = iface.default_maxlen();
        if let Some(v) = p.syncid {
            s.syncid = v;
        }
        if let Some(v) = p.sync_maxlen {
            s.maxlen = v;
        }
        match p.mcast_group {
            None => {}
            Some(std::net::IpAddr::V4(g)) => s.group = g,
            Some(std::net::IpAddr::V6(g)) => {
                return refuse(format!(
                    "--mcast-group {g}: rvsd syncs over IPv4; give an IPv4 group such as 224.0.0.81"
                ))
            }
        }
        if let Some(v) = p.mcast_port {
            s.port = v;
        }
        if let Some(v) = p.mcast_ttl {
            s.ttl = v;
        }
        Ok(s)
    }

    /// Starts `role` with `settings` (it must not run); for a master, turns the workers'
    /// reporting on. Nothing changes on an error.
    pub fn start(&mut self, role: SyncRole, settings: SyncSettings) -> Result<(), String> {
        if self.daemon(role).is_some() {
            return Err(ALREADY_RUNNING.into());
        }
        let d = match role {
            SyncRole::Master => {
                if let Some(rx) = self.primed.take() {
                    SyncDaemon::master(settings, rx).map_err(|e| e.to_string())?
                } else {
                    let (queues, rx) = report_queues(self.workers.len());
                    let d = SyncDaemon::master(settings, rx).map_err(|e| e.to_string())?;
                    if let Err(e) = self.set_reports(Some(queues)) {
                        self.set_reports(None).ok();
                        d.stop();
                        return Err(e);
                    }
                    d
                }
            }
            SyncRole::Backup => {
                SyncDaemon::backup(settings, self.workers.clone()).map_err(|e| e.to_string())?
            }
        };
        tracing::info!("sync: {} daemon started", role.name());
        *self.slot(role) = Some(d);
        Ok(())
    }

    /// Stops `role` if it runs; for a master, turns the workers' reporting off first.
    pub fn stop(&mut self, role: SyncRole) {
        if role == SyncRole::Master && self.master.is_some() {
            self.retire_reports();
            if let Err(e) = self.set_reports(None) {
                // The master's end closes below: the workers' reports then drop.
                tracing::warn!("sync: turning reporting off: {e}");
            }
        }
        if let Some(d) = self.slot(role).take() {
            let counts = d.stats().counts();
            d.stop();
            add(&mut self.retired[index(role)], counts);
            tracing::info!("sync: {} daemon stopped", role.name());
        }
    }

    /// Stops both daemons (rvsd stops).
    pub fn stop_all(&mut self) {
        self.stop(SyncRole::Master);
        self.stop(SyncRole::Backup);
    }

    fn set_reports(&self, queues: Option<Vec<SyncReports>>) -> Result<(), String> {
        let mut queues = queues.map(|q| q.into_iter());
        for w in &self.workers {
            let r = queues.as_mut().and_then(Iterator::next);
            w.send(LbRequest::SyncReports(r)).map_err(|e| {
                format!("worker {} did not take the sync request ({e}); try again", w.core())
            })?;
        }
        Ok(())
    }

    /// Brings the daemons to `cfg` (`[sync]`), at start and on a reload: only when it differs
    /// from what the config declared last, so daemons started or stopped by rvsadm stay as
    /// they are while the file's block does not change. A daemon whose settings changed is
    /// restarted. Whether the block changed; the first error is returned (the roles before it
    /// are applied).
    pub fn apply_config(&mut self, cfg: Option<&SyncConfig>) -> Result<bool, String> {
        if self.declared.as_ref() == cfg {
            return Ok(false);
        }
        self.declared = cfg.cloned();
        for role in SyncRole::ALL {
            let wanted = cfg.filter(|c| c.roles.contains(&role)).map(|c| &c.settings);
            let same = match (self.daemon(role), wanted) {
                (Some(d), Some(w)) => d.settings() == w,
                (None, None) => true,
                _ => false,
            };
            if same {
                continue;
            }
            self.stop(role);
            if wanted.is_none() && role == SyncRole::Master && self.primed.take().is_some() {
                // The workers were started reporting for a master that is no longer wanted.
                self.set_reports(None).ok();
            }
            if let Some(w) = wanted {
                self.start(role, w.clone()).map_err(|e| format!("sync {}: {e}", role.name()))?;
            }
        }
        Ok(true)
    }

    /// The counters of `role`, over every daemon of it that ran.
    pub fn counts(&self, role: SyncRole) -> SyncCounts {
        let mut c = self.retired[index(role)];
        if let Some(d) = self.daemon(role) {
            add(&mut c, d.stats().counts());
        }
        c
    }

    /// Adds the workers' report counts to the retired ones (before reporting stops).
    fn retire_reports(&mut self) {
        let n = self.workers.len();
        self.retired_reports.resize(n, (0, 0));
        for (w, r) in self.workers.iter().zip(self.retired_reports.iter_mut()) {
            if let Ok(k) = w.sync_counts(std::time::Duration::from_secs(1)) {
                r.0 += k.reported;
                r.1 += k.dropped;
            }
        }
    }

    /// Each worker's reports and drops under masters that have stopped.
    pub fn retired_reports(&self) -> &[(u64, u64)] {
        &self.retired_reports
    }

    /// The workers (for the metrics' per-core counters).
    pub fn workers(&self) -> &[WorkerHandle] {
        &self.workers
    }
}

impl Drop for SyncControl {
    fn drop(&mut self) {
        self.stop_all();
    }
}
