//! Prometheus exporter.
//!
//! Owns the HTTP endpoint (`/metrics`, text exposition format) and small builders for metric
//! families. It does not own any counter: on each scrape it asks a [`MetricsSource`] (the daemon)
//! for the current values, which the source reads from the per-core published blocks and the
//! ports. Rates are left to Prometheus. Runs on its own thread, never on a worker core.

mod family;
pub mod lb;
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
    // Encoding into a Vec cannot fail for I/O reasons; a family with a malformed name is skipped
    // by returning what was encoded so far.
    let _ = prometheus::TextEncoder::new().encode(families, &mut out);
    String::from_utf8(out).unwrap_or_default()
}
