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
