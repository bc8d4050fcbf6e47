//! Builders for metric families with labels.

use prometheus::proto::{Counter, Gauge, LabelPair, Metric, MetricFamily, MetricType};

/// Label name/value pairs of one sample.
pub type Labels<'a> = &'a [(&'a str, &'a str)];

/// A metric family being built: a name, a help line, a type and its samples.
pub struct Family {
    inner: MetricFamily,
    kind: MetricType,
}

impl Family {
    /// A counter family (name should end in `_total`).
    pub fn counter(name: &str, help: &str) -> Self {
        Self::new(name, help, MetricType::COUNTER)
    }

    /// A gauge family.
    pub fn gauge(name: &str, help: &str) -> Self {
        Self::new(name, help, MetricType::GAUGE)
    }

    fn new(name: &str, help: &str, kind: MetricType) -> Self {
        let mut inner = MetricFamily::default();
        inner.set_name(name.to_string());
        inner.set_help(help.to_string());
        inner.set_field_type(kind);
        Family { inner, kind }
    }

    /// Adds one sample.
    pub fn sample(&mut self, labels: Labels<'_>, value: f64) -> &mut Self {
        let mut m = Metric::default();
        m.set_label(
            labels
                .iter()
                .map(|(k, v)| {
                    let mut l = LabelPair::default();
                    l.set_name((*k).to_string());
                    l.set_value((*v).to_string());
                    l
                })
                .collect(),
        );
        match self.kind {
            MetricType::COUNTER => {
                let mut c = Counter::default();
                c.set_value(value);
                m.set_counter(c);
            }
            _ => {
                let mut g = Gauge::default();
                g.set_value(value);
                m.set_gauge(g);
            }
        }
        self.inner.mut_metric().push(m);
        self
    }

    /// The finished family.
    pub fn build(self) -> MetricFamily {
        self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counter_with_labels() {
        let mut f = Family::counter("rvs_test_drops_total", "Drops.");
        f.sample(&[("core", "1"), ("reason", "bad")], 3.0);
        let text = crate::metrics::render(&[f.build()]);
        assert!(text.contains("# TYPE rvs_test_drops_total counter"), "{text}");
        assert!(text.contains("rvs_test_drops_total{core=\"1\",reason=\"bad\"} 3"), "{text}");
    }

    #[test]
    fn renders_gauge() {
        let mut f = Family::gauge("rvs_test_up", "Up.");
        f.sample(&[], 1.0);
        let text = crate::metrics::render(&[f.build()]);
        assert!(text.contains("# TYPE rvs_test_up gauge"), "{text}");
        assert!(text.contains("rvs_test_up 1"), "{text}");
    }
}
