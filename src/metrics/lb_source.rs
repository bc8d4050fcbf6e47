//! The load balancer's metrics: services, dests, local-address pools and SNAT WAN addresses.
//!
//! Owns [`LbView`] (what these metrics read: the services as `rvsadm -L --stats` lists them, summed
//! over the workers with `-Z` applied, and every core's pool reports), the [`LbViewSource`]
//! interface the control plane fills it through, and [`LbMetrics`], the [`MetricsSource`] that
//! renders a fresh view at each scrape with [`crate::metrics::lb`]. The workers are asked
//! through their request queues at a burst boundary, never touched per packet. Must not touch:
//! the control plane's internals (it only sees the view).

use prometheus::proto::MetricFamily;

use crate::ipvs::balancer::PoolReports;
use crate::metrics::{lb, MetricsSource};
use crate::proto::model::ServiceInfo;

/// What the load balancer's metrics show at one scrape.
#[derive(Clone, Debug, Default)]
pub struct LbView {
    /// The services and their dests with their counters, as `rvsadm -L --stats` lists them.
    pub services: Vec<ServiceInfo>,
    /// Every worker's local-address pool and SNAT reports.
    pub pools: Vec<PoolReports>,
}

/// Whoever can fill an [`LbView`] on demand (rvsd: the control plane).
pub trait LbViewSource: Send + Sync + 'static {
    /// The view now, or why it cannot be had.
    fn lb_view(&self) -> Result<LbView, String>;
}

/// Metrics of the services, dests and pools an [`LbViewSource`] shows.
pub struct LbMetrics<S> {
    source: S,
}

impl<S: LbViewSource> LbMetrics<S> {
    /// A metrics source over `source`.
    pub fn new(source: S) -> Self {
        LbMetrics { source }
    }
}

impl<S: LbViewSource> MetricsSource for LbMetrics<S> {
    fn families(&self) -> Vec<MetricFamily> {
        match self.source.lb_view() {
            Ok(view) => {
                let mut out = Vec::new();
                lb::service_families(&view.services, &mut out);
                lb::pool_families(&view.pools, &mut out);
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
    use crate::ipvs::balancer::{LaddrReport, PoolOwner, SnatReport};
    use crate::ipvs::counters::TrafficCounters;

    struct Fixed(LbView);

    impl LbViewSource for Fixed {
        fn lb_view(&self) -> Result<LbView, String> {
            Ok(self.0.clone())
        }
    }

    struct Broken;

    impl LbViewSource for Broken {
        fn lb_view(&self) -> Result<LbView, String> {
            Err("control plane failed earlier".into())
        }
    }

    #[test]
    fn snat_series_are_scraped_when_there_is_no_virtual_service() {
        // A SNAT-only director: every service and dest family is empty; the SNAT and pool
        // families after them must still be in the scrape.
        let wan = "203.0.113.1".parse().unwrap();
        let pools = vec![PoolReports {
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
        let m = LbMetrics::new(Fixed(LbView { services: Vec::new(), pools }));
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

    #[test]
    fn a_view_that_cannot_be_had_exports_nothing() {
        assert!(LbMetrics::new(Broken).families().is_empty());
    }
}
