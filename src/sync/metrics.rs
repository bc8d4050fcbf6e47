//! The sync daemons' Prometheus families (`rvs_sync_*`, docs/metrics.md): what the master
//! sent, what the backup received, dropped, installed and refused (over every daemon of each
//! role that ran since rvsd started), and each worker's reports and drops (its bounded queue
//! to the master) and connections installed from peers.
//!
//! Owns the families' names and help; reads [`SyncControl`] (its lock held for the copy of
//! the counters, not across the workers' answers). Must not touch the daemons.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::proto::MetricFamily;

use super::control::SyncControl;
use super::daemon::SyncRole;
use crate::metrics::{Family, MetricsSource};

/// How long a scrape waits for each worker's counters.
const WORKER_TIMEOUT: Duration = Duration::from_secs(1);

/// The sync families, read from rvsd's [`SyncControl`].
pub struct SyncMetrics {
    sync: Arc<Mutex<SyncControl>>,
}

impl SyncMetrics {
    /// The families of `sync`'s daemons and of its workers.
    pub fn new(sync: Arc<Mutex<SyncControl>>) -> SyncMetrics {
        SyncMetrics { sync }
    }
}

impl MetricsSource for SyncMetrics {
    fn families(&self) -> Vec<MetricFamily> {
        let (running, m, b, workers, retired) = {
            let s = self.sync.lock().unwrap_or_else(|p| p.into_inner());
            let running: Vec<(SyncRole, bool)> =
                SyncRole::ALL.iter().map(|r| (*r, s.daemon(*r).is_some())).collect();
            (
                running,
                s.counts(SyncRole::Master),
                s.counts(SyncRole::Backup),
                s.workers().to_vec(),
                s.retired_reports().to_vec(),
            )
        };
        let mut up = Family::gauge(
            "rvs_sync_daemon_running",
            "1 while the connection-sync daemon of the role runs (rvsadm -L --daemon).",
        );
        for (r, on) in running {
            up.sample(&[("role", r.name())], if on { 1.0 } else { 0.0 });
        }
        let c = |name: &str, help: &str, v: u64| {
            let mut f = Family::counter(name, help);
            f.sample(&[], v as f64);
            f.build()
        };
        let mut dropped_msgs = Family::counter(
            "rvs_sync_dropped_messages_total",
            "Sync datagrams the backup dropped: malformed (not a version 1 message), syncid \
             (another sync id), own (this director's own).",
        );
        dropped_msgs.sample(&[("reason", "malformed")], b.dropped_malformed as f64);
        dropped_msgs.sample(&[("reason", "syncid")], b.dropped_syncid as f64);
        dropped_msgs.sample(&[("reason", "own")], b.dropped_own as f64);
        let mut dropped_conns = Family::counter(
            "rvs_sync_dropped_conns_total",
            "Connection entries the backup dropped: entry (undecodable or nothing to continue), \
             busy (a worker's inbox was full).",
        );
        dropped_conns.sample(&[("reason", "entry")], b.dropped_entry as f64);
        dropped_conns.sample(&[("reason", "busy")], b.dropped_busy as f64);
        let mut reports = Family::counter(
            "rvs_sync_worker_reports_total",
            "Connections a worker reported to the sync master.",
        );
        let mut drops = Family::counter(
            "rvs_sync_worker_report_drops_total",
            "Reports a worker dropped because its queue to the sync master was full.",
        );
        let mut installs = Family::counter(
            "rvs_sync_worker_installed_total",
            "Connections a worker installed from peers' sync messages.",
        );
        for (core, w) in workers.iter().enumerate() {
            let Ok(k) = w.sync_counts(WORKER_TIMEOUT) else { continue };
            let (old_r, old_d) = retired.get(core).copied().unwrap_or((0, 0));
            let l = core.to_string();
            reports.sample(&[("core", &l)], (old_r + k.reported) as f64);
            drops.sample(&[("core", &l)], (old_d + k.dropped) as f64);
            installs.sample(&[("core", &l)], k.learnt as f64);
        }
        vec![
            up.build(),
            c("rvs_sync_sent_messages_total", "Sync datagrams the master sent.", m.sent_messages),
            c("rvs_sync_sent_conns_total", "Connection entries in them.", m.sent_conns),
            c(
                "rvs_sync_send_errors_total",
                "Sync datagrams the master's socket refused.",
                m.send_errors,
            ),
            c(
                "rvs_sync_received_messages_total",
                "Sync datagrams the backup received and decoded.",
                b.received_messages,
            ),
            c("rvs_sync_received_conns_total", "Connection entries in them.", b.received_conns),
            dropped_msgs.build(),
            dropped_conns.build(),
            c(
                "rvs_sync_conns_learnt_total",
                "Connections installed from peers (new here).",
                b.learnt,
            ),
            c(
                "rvs_sync_conns_updated_total",
                "Peers' connections already here: state and timer updated.",
                b.updated,
            ),
            c(
                "rvs_sync_conns_refused_total",
                "Peers' connections not installed (no such service or real server here, local \
                 port in use, table full).",
                b.refused,
            ),
            reports.build(),
            drops.build(),
            installs.build(),
        ]
    }
}
