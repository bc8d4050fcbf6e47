//! The health state as others see it: rows for `rvsadm -L --health` and the metrics.
//!
//! Owns [`Board`] (the listing's rows, [`DestHealth`], are the control protocol's), the
//! shared copy the runner updates after every check and readers copy out under a short lock
//! (control plane only; workers never see it). Also the metric families: `rvs_dest_up`,
//! `rvs_health_checks_total`, `rvs_health_check_failures_total` and the
//! `rvs_health_check_duration_seconds` histogram.

use crate::ctrl::health_state::HealthRows;
use crate::metrics::{Family, MetricsSource};
use crate::proto::health::{DestHealth, DURATION_BUCKETS};
use prometheus::proto::{Bucket, Histogram, LabelPair, Metric, MetricFamily, MetricType};
use std::sync::{Arc, Mutex};

/// The shared health rows. Cloning shares them.
#[derive(Clone, Default)]
pub struct Board {
    rows: Arc<Mutex<Vec<DestHealth>>>,
    bfd: crate::health::bfd::BfdStats,
}

impl Board {
    /// An empty board.
    pub fn new() -> Board {
        Board::default()
    }

    /// A copy of every row.
    pub fn rows(&self) -> Vec<DestHealth> {
        self.rows.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces every row.
    pub fn set(&self, rows: Vec<DestHealth>) {
        *self.rows.lock().unwrap_or_else(|p| p.into_inner()) = rows;
    }

    /// The BFD sessions' counters (filled by `health::bfd`).
    pub fn bfd(&self) -> &crate::health::bfd::BfdStats {
        &self.bfd
    }

    /// Changes the rows in place.
    pub fn update(&self, f: impl FnOnce(&mut Vec<DestHealth>)) {
        f(&mut self.rows.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

fn labels(r: &DestHealth) -> (String, String) {
    (
        format!("{}:{}:{}", r.service.proto.services_name(), r.service.addr, r.service.port),
        format!("{}:{}", r.addr, r.port),
    )
}

fn label(name: &str, value: &str) -> LabelPair {
    let mut l = LabelPair::default();
    l.set_name(name.to_string());
    l.set_value(value.to_string());
    l
}

impl HealthRows for Board {
    fn rows(&self) -> Vec<DestHealth> {
        Board::rows(self)
    }
}

impl MetricsSource for Board {
    fn families(&self) -> Vec<MetricFamily> {
        let rows = self.rows();
        let mut up = Family::gauge(
            "rvs_dest_up",
            "1 when the dest's health checks pass (every checker up), else 0.",
        );
        let mut checks = Family::counter("rvs_health_checks_total", "Health checks run.");
        let mut failed =
            Family::counter("rvs_health_check_failures_total", "Health checks that failed.");
        let mut hist = MetricFamily::default();
        hist.set_name("rvs_health_check_duration_seconds".into());
        hist.set_help("How long health checks took.".into());
        hist.set_field_type(MetricType::HISTOGRAM);
        for r in rows.iter().filter(|r| !r.sorry && !r.checkers.is_empty()) {
            let (svc, dest) = labels(r);
            up.sample(&[("service", &svc), ("dest", &dest)], if r.alive { 1.0 } else { 0.0 });
            for c in &r.checkers {
                let l = [("service", svc.as_str()), ("dest", dest.as_str()), ("check", &c.kind)];
                checks.sample(&l, c.checks as f64);
                failed.sample(&l, c.failed as f64);
                let mut h = Histogram::default();
                h.set_sample_count(c.checks);
                h.set_sample_sum(c.sum_us as f64 / 1e6);
                let mut cumulative = 0;
                let mut buckets = Vec::new();
                for (bound, n) in DURATION_BUCKETS.iter().zip(&c.buckets) {
                    cumulative += n;
                    let mut b = Bucket::default();
                    b.set_upper_bound(*bound);
                    b.set_cumulative_count(cumulative);
                    buckets.push(b);
                }
                h.set_bucket(buckets);
                let mut m = Metric::default();
                m.set_label(l.iter().map(|(k, v)| label(k, v)).collect());
                m.set_histogram(h);
                hist.mut_metric().push(m);
            }
        }
        let mut out = vec![up.build(), checks.build(), failed.build(), hist];
        out.extend(bfd_families(&self.bfd));
        out
    }
}

/// `rvs_bfd_*`: per session (labels `instance`, `neighbor`) its state, packets and ignored
/// packets by reason; datagrams from no neighbour. None while no session runs.
fn bfd_families(stats: &crate::health::bfd::BfdStats) -> Vec<MetricFamily> {
    use crate::health::bfd::Bad;
    let sessions = stats.sessions();
    if sessions.is_empty() {
        return Vec::new();
    }
    let mut up = Family::gauge("rvs_bfd_session_up", "1 while the BFD session is Up, else 0.");
    let mut rx = Family::counter(
        "rvs_bfd_packets_received_total",
        "BFD control packets accepted from the neighbour.",
    );
    let mut tx = Family::counter("rvs_bfd_packets_sent_total", "BFD control packets sent.");
    let mut bad = Family::counter(
        "rvs_bfd_bad_packets_total",
        "BFD packets from the neighbour ignored, by reason (ttl: not 255 - max_hops or more).",
    );
    let mut downs =
        Family::counter("rvs_bfd_session_downs_total", "Times the BFD session left Up.");
    for s in &sessions {
        let n = s.neighbor.to_string();
        let l = [("instance", s.name.as_str()), ("neighbor", n.as_str())];
        let is_up = s.state == rvs_core::bfd::State::Up;
        up.sample(&l, if is_up { 1.0 } else { 0.0 });
        rx.sample(&l, s.packets_in as f64);
        tx.sample(&l, s.packets_out as f64);
        downs.sample(&l, s.downs as f64);
        for (b, v) in Bad::ALL.iter().zip(s.bad) {
            bad.sample(&[l[0], l[1], ("reason", b.label())], v as f64);
        }
    }
    let mut unknown = Family::counter(
        "rvs_bfd_unknown_packets_total",
        "Datagrams on the BFD port from an address that is no instance's neighbour.",
    );
    unknown.sample(&[], stats.unknown() as f64);
    vec![up.build(), rx.build(), tx.build(), bad.build(), downs.build(), unknown.build()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::spec::{Protocol, ServiceKey};
    use crate::proto::health::CheckerHealth;
    use std::time::Duration;

    fn row(alive: bool) -> DestHealth {
        DestHealth {
            service: ServiceKey {
                proto: Protocol::Tcp,
                addr: "10.0.0.100".parse().unwrap(),
                port: 80,
            },
            addr: "10.0.0.1".parse().unwrap(),
            port: 80,
            alive,
            weight: 1,
            quorum_up: true,
            sorry: false,
            checkers: vec![CheckerHealth::new("HTTP_GET", alive)],
        }
    }

    #[test]
    fn metrics_render_up_counts_and_histogram() {
        let b = Board::new();
        let mut r = row(false);
        r.checkers[0].record(Duration::from_millis(3), None);
        r.checkers[0].record(Duration::from_secs(2), Some("timed out".into()));
        b.set(vec![r]);
        let text = crate::metrics::render(&b.families());
        let l = "service=\"tcp:10.0.0.100:80\",dest=\"10.0.0.1:80\"";
        assert!(text.contains(&format!("rvs_dest_up{{{l}}} 0")), "{text}");
        let lc = format!("{l},check=\"HTTP_GET\"");
        assert!(text.contains(&format!("rvs_health_checks_total{{{lc}}} 2")), "{text}");
        assert!(text.contains(&format!("rvs_health_check_failures_total{{{lc}}} 1")), "{text}");
        assert!(
            text.contains(&format!(
                "rvs_health_check_duration_seconds_bucket{{{lc},le=\"0.005\"}} 1"
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "rvs_health_check_duration_seconds_bucket{{{lc},le=\"+Inf\"}} 2"
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!("rvs_health_check_duration_seconds_sum{{{lc}}} 2.003")),
            "{text}"
        );
    }

    #[test]
    fn state_column() {
        let mut r = row(true);
        assert_eq!(r.state(), "UP");
        r.alive = false;
        assert_eq!(r.state(), "DOWN");
        r.checkers.clear();
        assert_eq!(r.state(), "-");
        r.sorry = true;
        assert_eq!(r.state(), "standby");
        r.quorum_up = false;
        assert_eq!(r.state(), "SORRY");
    }
}
