//! `rvs_vip_active{vip}`: whether the director answers for each of its VIPs (1) or holds it in
//! standby (0), director HA's state as Prometheus sees it.
//!
//! Owns that family only; it reads the VIPs from the plumbing rvsnet changes
//! ([`NetPlumbing::vip_states`]) at scrape time. Must not touch: the plumbing's state.

use std::sync::{Arc, Mutex};

use super::netctl::NetPlumbing;
use crate::metrics::{Family, MetricsSource};

/// The metrics source over the director's plumbing (empty before the workers start).
pub struct VipMetrics {
    pub(super) net: Arc<Mutex<Option<NetPlumbing>>>,
}

impl VipMetrics {
    /// The family for `states` (each VIP and whether it is active).
    fn family(states: &[(std::net::Ipv4Addr, bool)]) -> prometheus::proto::MetricFamily {
        let mut f = Family::gauge(
            "rvs_vip_active",
            "1 while rvsd answers for the VIP (ARP, traffic); 0 while it holds it in standby (director HA: rvsnet addr standby|take).",
        );
        for (vip, active) in states {
            f.sample(&[("vip", &vip.to_string())], if *active { 1.0 } else { 0.0 });
        }
        f.build()
    }
}

impl MetricsSource for VipMetrics {
    fn families(&self) -> Vec<prometheus::proto::MetricFamily> {
        let states = {
            let guard = self.net.lock().unwrap_or_else(|p| p.into_inner());
            guard.as_ref().map(NetPlumbing::vip_states).unwrap_or_default()
        };
        vec![Self::family(&states)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn one_sample_per_vip() {
        let f = VipMetrics::family(&[
            (Ipv4Addr::new(10, 0, 0, 100), true),
            (Ipv4Addr::new(10, 0, 0, 101), false),
        ]);
        let text = crate::metrics::render(&[f]);
        assert!(text.contains("rvs_vip_active{vip=\"10.0.0.100\"} 1"), "{text}");
        assert!(text.contains("rvs_vip_active{vip=\"10.0.0.101\"} 0"), "{text}");
        assert!(text.contains("# TYPE rvs_vip_active gauge"), "{text}");
    }
}
