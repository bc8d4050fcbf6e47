//! Prometheus exporter.
//!
//! Owns the HTTP endpoint (`/metrics`, text exposition format), small builders for metric
//! families, and every family rvsd exports: the director's per-core and per-port counters
//! ([`director`]), the load balancer's services, dests and pools ([`lb`], read through the view
//! [`lb_source::LbView`] the control plane fills) and the health checks' (`health::board`). It
//! does not own any counter: on each scrape it asks its [`MetricsSource`]s for the current
//! values, read from the per-core published blocks, the ports and the views. Rates are left to
//! Prometheus. Runs on its own thread, never on a worker core. Must not touch: the control
//! plane's internals.

pub mod director;
mod family;
pub mod lb;
pub mod lb_source;
mod server;

pub use family::{Family, Labels};
pub use server::{Exporter, MetricsError};

use prometheus::proto::MetricFamily;

/// Whatever can report metric families at scrape time.
pub trait MetricsSource: Send + Sync + 'static {
    /// Current values of every family this source exports.
    fn families(&self) -> Vec<MetricFamily>;
}

/// Renders `families` in the Prometheus text format.
pub fn render(families: &[MetricFamily]) -> String {
    use prometheus::Encoder;
    let mut out = Vec::new();
    let enc = prometheus::TextEncoder::new();
    // One family at a time: the encoder refuses a family without samples (no SNAT rule, no
    // local address yet) or with a malformed name, and would drop every family after it.
    // Encoding into a Vec cannot fail for I/O reasons.
    for f in families.iter().filter(|f| !f.get_metric().is_empty()) {
        let _ = enc.encode(std::slice::from_ref(f), &mut out);
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_family_without_samples_does_not_hide_the_next_ones() {
        let empty = Family::counter("rvs_test_empty_total", "Nothing yet.").build();
        let mut f = Family::gauge("rvs_test_after", "After.");
        f.sample(&[], 2.0);
        let text = render(&[empty, f.build()]);
        assert!(text.contains("rvs_test_after 2"), "{text}");
        assert!(!text.contains("rvs_test_empty_total"), "{text}");
    }
}
