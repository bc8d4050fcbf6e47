//! The control plane's metrics: services, dests, local-address pools and SNAT WAN addresses.
//!
//! Owns [`ControlMetrics`], a [`MetricsSource`] over the shared [`Control`]. At each scrape it
//! takes the control lock (as an rvsadm listing does), gets the services exactly as
//! `rvsadm -L --stats` lists them (summed over the workers' reports, `-Z` applied) and every
//! core's pool reports, and renders them with [`crate::metrics::lb`]. The workers are asked
//! through their request queues at a burst boundary, never touched per packet.

use std::sync::{Arc, Mutex};

use prometheus::proto::MetricFamily;

use super::control::{Control, Dataplane};
use crate::metrics::{lb, MetricsSource};

/// Metrics of the services, dests and pools of a [`Control`].
pub struct ControlMetrics<D> {
    control: Arc<Mutex<Control<D>>>,
}

impl<D: Dataplane> ControlMetrics<D> {
    /// A source over the shared control plane.
    pub fn new(control: Arc<Mutex<Control<D>>>) -> Self {
        ControlMetrics { control }
    }
}

impl<D: Dataplane> MetricsSource for ControlMetrics<D> {
    fn families(&self) -> Vec<MetricFamily> {
        let view = match self.control.lock() {
            Ok(c) => c.metrics_view(),
            Err(_) => Err("control plane failed earlier".to_string()),
        };
        match view {
            Ok((services, pools)) => {
                let mut out = Vec::new();
                lb::service_families(&services, &mut out);
                lb::pool_families(&pools, &mut out);
                out
            }
            Err(e) => {
                tracing::warn!("metrics: service counters unavailable: {e}");
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctrl::control::tests::FakeDp;
    use crate::ctrl::table::ServiceTable;
    use crate::ipvs::balancer::{LaddrReport, PoolOwner, PoolReports, SnatReport};
    use crate::ipvs::counters::TrafficCounters;
    use crate::ipvs::service::BuildOptions;

    #[test]
    fn snat_series_are_scraped_when_there_is_no_virtual_service() {
        // A SNAT-only director: every service and dest family is empty; the SNAT and pool
        // families after them must still be in the scrape.
        let dp = FakeDp::default();
        let wan = "203.0.113.1".parse().unwrap();
        *dp.pools.lock().unwrap() = vec![PoolReports {
            laddrs: vec![LaddrReport {
                owner: PoolOwner::Snat,
                addr: wan,
                in_use: 1,
                allocs: 1,
                misses: 0,
            }],
            exhausted: Vec::new(),
            snat: vec![SnatReport {
                out_addr: wan,
                live: true,
                stats: TrafficCounters {
                    conns: 1,
                    inpkts: 4,
                    outpkts: 3,
                    inbytes: 400,
                    outbytes: 300,
                },
            }],
            rules: Vec::new(),
        }];
        let c = Control::new(ServiceTable::new(), Vec::new(), BuildOptions::default(), dp);
        let m = ControlMetrics::new(Arc::new(Mutex::new(c)));
        let text = crate::metrics::render(&m.families());
        for line in [
            r#"rvs_snat_connections_total{out="203.0.113.1"} 1"#,
            r#"rvs_snat_in_packets_total{out="203.0.113.1"} 4"#,
            r#"rvs_snat_out_bytes_total{out="203.0.113.1"} 300"#,
            r#"rvs_laddr_ports_in_use{pool="snat/203.0.113.1",laddr="203.0.113.1"} 1"#,
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
        assert!(!text.contains("rvs_service_"), "{text}");
    }
}
