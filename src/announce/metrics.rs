//! The announcer's state for Prometheus (docs/metrics.md, "Scale-out"): what rvsd announces and,
//! with `[announce] bird_socket`, the BGP sessions as BIRD reports them.
//!
//! Owns the `rvs_announce_*` and `rvs_bgp_*` families. Reads the announcer's last round at
//! scrape time ([`AnnounceHandle::status`]): a scrape never asks BIRD or the kernel anything.
//! Must not touch: the announcer's state.

use std::sync::{Arc, OnceLock};

use rvs_proto::announce::{AnnounceStatus, BgpView, VipState};

use super::AnnounceHandle;
use crate::metrics::{Family, MetricsSource};

/// The states of `rvs_announce_vip_state`, with their label values.
const STATES: [(VipState, &str); 4] = [
    (VipState::Announced, "announced"),
    (VipState::NoHealthyServer, "no_healthy_server"),
    (VipState::Never, "never"),
    (VipState::Draining, "draining"),
];

/// The metrics source; empty until the announcer runs (and for good without `[announce]`).
#[derive(Clone, Default)]
pub struct AnnounceMetrics {
    handle: Arc<OnceLock<AnnounceHandle>>,
}

impl AnnounceMetrics {
    /// A source that shows nothing until [`AnnounceMetrics::attach`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts showing `handle`'s state (once; a second handle is ignored).
    pub fn attach(&self, handle: AnnounceHandle) {
        let _ = self.handle.set(handle);
    }

    fn render(s: &AnnounceStatus) -> Vec<prometheus::proto::MetricFamily> {
        let mut draining = Family::gauge(
            "rvs_announce_draining",
            "1 while the director withdraws every VIP (rvsadm --drain, or a clean stop).",
        );
        draining.sample(&[], if s.draining { 1.0 } else { 0.0 });
        let mut vips = Family::gauge(
            "rvs_announce_vip_state",
            "1 for the VIP's state as rvsd announces it to the routing daemon, 0 for the others (announced, or withdrawn: no_healthy_server, never, draining).",
        );
        for (vip, state) in &s.vips {
            let vip = vip.to_string();
            for (st, name) in STATES {
                vips.sample(
                    &[("vip", &vip), ("state", name)],
                    if *state == st { 1.0 } else { 0.0 },
                );
            }
        }
        let mut out = vec![draining.build(), vips.build()];
        if let Some(bgp) = &s.bgp {
            let mut reachable = Family::gauge(
                "rvs_bgp_daemon_reachable",
                "1 when the routing daemon's control socket ([announce] bird_socket) answered at the announcer's last round.",
            );
            reachable.sample(&[], if matches!(bgp, BgpView::Sessions(_)) { 1.0 } else { 0.0 });
            out.push(reachable.build());
            if let BgpView::Sessions(sessions) = bgp {
                let mut up = Family::gauge(
                    "rvs_bgp_session_established",
                    "1 while the routing daemon's BGP protocol is up and Established, as it reported at the announcer's last round.",
                );
                for s in sessions {
                    up.sample(&[("protocol", &s.name)], if s.established { 1.0 } else { 0.0 });
                }
                out.push(up.build());
            }
        }
        out
    }
}

impl MetricsSource for AnnounceMetrics {
    fn families(&self) -> Vec<prometheus::proto::MetricFamily> {
        match self.handle.get() {
            Some(h) => Self::render(&h.status()),
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_proto::announce::BgpSession;

    fn status(bgp: Option<BgpView>) -> AnnounceStatus {
        AnnounceStatus {
            draining: false,
            vips: vec![
                ("10.99.9.100".parse().unwrap(), VipState::Announced),
                ("10.99.9.101".parse().unwrap(), VipState::NoHealthyServer),
            ],
            bgp,
        }
    }

    #[test]
    fn each_vip_has_one_state_set() {
        let text = crate::metrics::render(&AnnounceMetrics::render(&status(None)));
        assert!(text.contains("rvs_announce_draining 0"), "{text}");
        assert!(
            text.contains("rvs_announce_vip_state{vip=\"10.99.9.100\",state=\"announced\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("rvs_announce_vip_state{vip=\"10.99.9.100\",state=\"draining\"} 0"),
            "{text}"
        );
        assert!(
            text.contains(
                "rvs_announce_vip_state{vip=\"10.99.9.101\",state=\"no_healthy_server\"} 1"
            ),
            "{text}"
        );
        assert_eq!(text.matches("rvs_announce_vip_state{").count(), 8, "{text}");
        assert!(!text.contains("rvs_bgp_"), "no bird_socket, no BGP families: {text}");
    }

    #[test]
    fn bgp_sessions_as_bird_reported_them() {
        let sessions = vec![
            BgpSession {
                name: "upstream".into(),
                state: "up".into(),
                info: "Established".into(),
                established: true,
            },
            BgpSession {
                name: "backup".into(),
                state: "start".into(),
                info: "Active".into(),
                established: false,
            },
        ];
        let text = crate::metrics::render(&AnnounceMetrics::render(&status(Some(
            BgpView::Sessions(sessions),
        ))));
        assert!(text.contains("rvs_bgp_daemon_reachable 1"), "{text}");
        assert!(text.contains("rvs_bgp_session_established{protocol=\"upstream\"} 1"), "{text}");
        assert!(text.contains("rvs_bgp_session_established{protocol=\"backup\"} 0"), "{text}");
        let text = crate::metrics::render(&AnnounceMetrics::render(&status(Some(
            BgpView::Unreachable("no socket".into()),
        ))));
        assert!(text.contains("rvs_bgp_daemon_reachable 0"), "{text}");
        assert!(!text.contains("rvs_bgp_session_established"), "{text}");
    }

    #[test]
    fn nothing_before_the_announcer_runs() {
        assert!(AnnounceMetrics::new().families().is_empty());
    }
}
