//! What rvsd exports to Prometheus: per-core loop and stack counters, per-port NIC counters,
//! and whatever sources the daemon adds after it (services, dests, pools: [`super::lb_source`];
//! the health checks).

use crate::dataplane::stats::{CoreStats, LoopStat, EXCEPTION_EVENTS, LB_EVENTS, NET_EVENTS};
use crate::dpdk;
use crate::ipvs::counters::IpvsDropReason;
use crate::metrics::{Family, MetricsSource};
use crate::net::{DropReason, ExcClass, ExceptionDrop};
use prometheus::proto::MetricFamily;
use std::sync::{Arc, RwLock};

/// The director's metrics, read at scrape time from the workers' published blocks and the ports.
pub struct DirectorMetrics {
    cores: Vec<Arc<CoreStats>>,
    port_names: Vec<String>,
    port_ids: Vec<u16>,
    // Sources added once the control plane runs (services, dests, pools).
    extra: RwLock<Vec<Arc<dyn MetricsSource>>>,
}

impl DirectorMetrics {
    /// Metrics over `cores` (index = core) and the ports (config names and DPDK ids, same order).
    pub fn new(cores: Vec<Arc<CoreStats>>, port_names: Vec<String>, port_ids: Vec<u16>) -> Self {
        DirectorMetrics { cores, port_names, port_ids, extra: RwLock::new(Vec::new()) }
    }

    /// Adds a source whose families follow the director's own at every scrape.
    pub fn add_source(&self, source: Arc<dyn MetricsSource>) {
        if let Ok(mut v) = self.extra.write() {
            v.push(source);
        }
    }

    /// Also exports `extra`'s families (the health checks').
    pub fn with_extra(self, extra: Vec<Arc<dyn MetricsSource>>) -> Self {
        for e in extra {
            self.add_source(e);
        }
        self
    }

    fn core_families(&self, out: &mut Vec<MetricFamily>) {
        let loop_metrics: [(LoopStat, &str, &str); 9] = [
            (LoopStat::BusyPolls, "rvs_core_busy_polls_total", "Polls that received packets."),
            (LoopStat::IdlePolls, "rvs_core_idle_polls_total", "Polls that received nothing."),
            (LoopStat::Sleeps, "rvs_core_sleeps_total", "Idle-backoff sleeps."),
            (LoopStat::RxPackets, "rvs_core_rx_packets_total", "Packets received by the worker."),
            (LoopStat::TxPackets, "rvs_core_tx_packets_total", "Packets sent by the worker."),
            (LoopStat::TxDropped, "rvs_core_tx_dropped_total", "Packets dropped: tx ring full."),
            (LoopStat::CrossedIn, "rvs_core_crossed_in_total", "Packets taken from other cores."),
            (
                LoopStat::ArpCopiesLost,
                "rvs_core_arp_copies_lost_total",
                "ARP copies for other cores that could not be queued.",
            ),
            (
                LoopStat::RedirectsLost,
                "rvs_core_redirects_lost_total",
                "Packets for another core dropped: its ring was full.",
            ),
        ];
        for (stat, name, help) in loop_metrics {
            let mut f = Family::counter(name, help);
            for (i, c) in self.cores.iter().enumerate() {
                let core = i.to_string();
                f.sample(&[("core", &core)], c.loop_stat(stat) as f64);
            }
            out.push(f.build());
        }
        let mut f = Family::gauge(
            "rvs_mempool_mbufs_in_use",
            "Mbufs of the packet pool in use (in rings, queues and tables), as the first worker last saw it.",
        );
        if let Some(c) = self.cores.first() {
            f.sample(&[], c.pool_in_use.load(std::sync::atomic::Ordering::Relaxed) as f64);
        }
        out.push(f.build());
        let mut f = Family::gauge(
            "rvs_core_longest_poll_seconds",
            "The longest worker loop iteration since the worker started (sleeps excluded).",
        );
        for (i, c) in self.cores.iter().enumerate() {
            let core = i.to_string();
            f.sample(&[("core", &core)], c.loop_stat(LoopStat::LongestPollNs) as f64 * 1e-9);
        }
        out.push(f.build());
        for (idx, ev) in NET_EVENTS.iter().enumerate() {
            let mut f = Family::counter(ev.metric, ev.help);
            for (i, c) in self.cores.iter().enumerate() {
                let core = i.to_string();
                f.sample(&[("core", &core)], c.net_event(idx) as f64);
            }
            out.push(f.build());
        }
        for (idx, ev) in LB_EVENTS.iter().enumerate() {
            let mut f = if ev.gauge {
                Family::gauge(ev.metric, ev.help)
            } else {
                Family::counter(ev.metric, ev.help)
            };
            for (i, c) in self.cores.iter().enumerate() {
                let core = i.to_string();
                f.sample(&[("core", &core)], c.lb_event(idx) as f64);
            }
            out.push(f.build());
        }
        let mut f =
            Family::counter("rvs_lb_drops_total", "Packets the load balancer dropped, by reason.");
        for (i, c) in self.cores.iter().enumerate() {
            let core = i.to_string();
            for r in IpvsDropReason::ALL {
                f.sample(&[("core", &core), ("reason", r.name())], c.lb_drops(r) as f64);
            }
        }
        out.push(f.build());
        let mut f = Family::counter("rvs_net_drops_total", "Packets dropped, by core and reason.");
        for (i, c) in self.cores.iter().enumerate() {
            let core = i.to_string();
            for r in DropReason::ALL {
                f.sample(&[("core", &core), ("reason", r.name())], c.drops(r) as f64);
            }
        }
        out.push(f.build());
        exception_families(&self.cores, &self.port_names, out);
    }

    fn port_families(&self, out: &mut Vec<MetricFamily>) {
        let stats: Vec<_> = self
            .port_ids
            .iter()
            .map(|&id| dpdk::Port::by_id(id).and_then(|p| p.stats()).ok())
            .collect();
        type Get = fn(&dpdk::PortStats) -> u64;
        let port_metrics: [(&str, &str, Get); 8] = [
            ("rvs_port_rx_packets_total", "Packets received by the port.", |s| s.ipackets),
            ("rvs_port_tx_packets_total", "Packets sent by the port.", |s| s.opackets),
            ("rvs_port_rx_bytes_total", "Bytes received by the port.", |s| s.ibytes),
            ("rvs_port_tx_bytes_total", "Bytes sent by the port.", |s| s.obytes),
            ("rvs_port_rx_missed_total", "Packets the NIC dropped: rx ring full.", |s| s.imissed),
            ("rvs_port_rx_errors_total", "Erroneous packets received.", |s| s.ierrors),
            ("rvs_port_tx_errors_total", "Failed transmissions.", |s| s.oerrors),
            ("rvs_port_rx_nombuf_total", "Rx mbuf allocation failures.", |s| s.rx_nombuf),
        ];
        for (name, help, get) in port_metrics {
            let mut f = Family::counter(name, help);
            for (pname, s) in self.port_names.iter().zip(&stats) {
                if let Some(s) = s {
                    f.sample(&[("port", pname)], get(s) as f64);
                }
            }
            out.push(f.build());
        }
    }
}

/// The exception path's counters per core, and its drops by core and reason.
fn exception_families(cores: &[Arc<CoreStats>], ports: &[String], out: &mut Vec<MetricFamily>) {
    type ClassCounts = fn(&CoreStats, usize, ExcClass) -> (u64, u64);
    let to: ClassCounts = CoreStats::exception_class;
    let from: ClassCounts = CoreStats::exception_class_from_kernel;
    for (passed, read, metric, help) in [
        (true, to, "rvs_exception_class_packets_total", "Packets handed on to the kernel by their (port, class) bucket, by core, port and class."),
        (false, to, "rvs_exception_class_limited_total", "Packets for the kernel refused by their (port, class) rate limit, by core, port and class."),
        (true, from, "rvs_exception_from_kernel_class_packets_total", "Packets the kernel sent, passed out of the port by their (port, class) bucket, by core, port and class."),
        (false, from, "rvs_exception_from_kernel_class_limited_total", "Packets the kernel sent, refused by their (port, class) rate limit, by core, port and class."),
    ] {
        let mut f = Family::counter(metric, help);
        for (i, c) in cores.iter().enumerate() {
            let core = i.to_string();
            for (p, pname) in ports.iter().enumerate() {
                for class in ExcClass::ALL {
                    let (ok, limited) = read(c, p, class);
                    let v = if passed { ok } else { limited };
                    f.sample(&[("core", &core), ("port", pname), ("class", class.name())], v as f64);
                }
            }
        }
        out.push(f.build());
    }
    for (idx, ev) in EXCEPTION_EVENTS.iter().enumerate() {
        let mut f = Family::counter(ev.metric, ev.help);
        for (i, c) in cores.iter().enumerate() {
            let core = i.to_string();
            f.sample(&[("core", &core)], c.exception_event(idx) as f64);
        }
        out.push(f.build());
    }
    let mut f = Family::counter(
        "rvs_exception_drops_total",
        "Packets on the exception path dropped, by core and reason.",
    );
    for (i, c) in cores.iter().enumerate() {
        let core = i.to_string();
        for r in ExceptionDrop::ALL {
            f.sample(&[("core", &core), ("reason", r.name())], c.exception_drops(r) as f64);
        }
    }
    out.push(f.build());
}

impl MetricsSource for DirectorMetrics {
    fn families(&self) -> Vec<MetricFamily> {
        let mut out = Vec::new();
        let mut info = Family::gauge("rvs_build_info", "Build of the running rvsd (value 1).");
        info.sample(
            &[
                ("version", crate::build_info::VERSION),
                ("git", crate::build_info::GIT_REV),
                ("dpdk", crate::build_info::DPDK_VERSION),
            ],
            1.0,
        );
        out.push(info.build());
        self.core_families(&mut out);
        self.port_families(&mut out);
        let extra: Vec<Arc<dyn MetricsSource>> =
            self.extra.read().map(|v| v.clone()).unwrap_or_default();
        for s in extra {
            out.extend(s.families());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::stats::exception_class_slots;
    use crate::net::ClassCount;

    #[test]
    fn exception_classes_of_both_directions_are_exported_and_promtool_clean() {
        let core = CoreStats::default();
        let mut to = vec![[ClassCount::default(); ExcClass::COUNT]; 2];
        to[0][ExcClass::Other as usize] = ClassCount { passed: 3, limited: 4 };
        let mut from = vec![[ClassCount::default(); ExcClass::COUNT]; 2];
        from[1][ExcClass::Other as usize] = ClassCount { passed: 5, limited: 7 };
        from[1][ExcClass::Replies as usize] = ClassCount { passed: 11, limited: 0 };
        core.exception_classes.store(&exception_class_slots(&to));
        core.exception_classes_from_kernel.store(&exception_class_slots(&from));
        let mut out = Vec::new();
        exception_families(&[Arc::new(core)], &["wan".into(), "lan".into()], &mut out);
        let text = crate::metrics::render(&out);
        for line in [
            r#"rvs_exception_class_limited_total{core="0",port="wan",class="other"} 4"#,
            r#"rvs_exception_from_kernel_class_limited_total{core="0",port="lan",class="other"} 7"#,
            r#"rvs_exception_from_kernel_class_packets_total{core="0",port="lan",class="replies"} 11"#,
            r#"rvs_exception_from_kernel_class_packets_total{core="0",port="wan",class="other"} 0"#,
            r#"rvs_exception_drops_total{core="0",reason="from_kernel_class_limited"} 0"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from:\n{text}");
        }
        // promtool (ci/deps) finds nothing to fix in these families.
        let mut p = std::process::Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("promtool (the prometheus package, from ci/deps) runs");
        use std::io::Write;
        p.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        let o = p.wait_with_output().unwrap();
        let said =
            String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success() && said.trim().is_empty(), "promtool: {said}");
    }
}
