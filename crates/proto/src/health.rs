//! Health-check state as listed: the rows of `rvsadm -L --health`, sent over the control socket.
//!
//! Owns [`DestHealth`] and [`CheckerHealth`] (and the duration buckets their histograms count
//! in). The health checks fill them (`health::board`); rvsadm prints them. Must not touch:
//! running checks, the table.

use rvs_core::ipvs::spec::ServiceKey;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::time::Duration;

/// Upper bounds of the check-duration histogram, in seconds.
pub const DURATION_BUCKETS: [f64; 10] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 5.0];

/// One checker of a dest, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckerHealth {
    /// keepalived's name: `TCP_CHECK`, `HTTP_GET`, `UDP_CHECK`, `MISC_CHECK`.
    pub kind: String,
    /// Up or down.
    pub up: bool,
    /// Failures in a row while up (retries used).
    pub failures: u32,
    /// Checks run.
    pub checks: u64,
    /// Checks failed.
    pub failed: u64,
    /// Last check's duration, microseconds.
    pub last_us: u64,
    /// Last failure's reason, if the last check failed.
    pub last_error: Option<String>,
    /// Histogram counts per [`DURATION_BUCKETS`] bound (not cumulative), then above the last.
    pub buckets: Vec<u64>,
    /// Sum of durations, microseconds.
    pub sum_us: u64,
}

/// One dest (or sorry server) of a checked service, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestHealth {
    /// The service.
    pub service: ServiceKey,
    /// Dest address.
    pub addr: IpAddr,
    /// Dest port.
    pub port: u16,
    /// Alive (every checker up).
    pub alive: bool,
    /// Weight it runs with when in the pool (configured or dynamic).
    pub weight: u32,
    /// The service has quorum.
    pub quorum_up: bool,
    /// This row is the service's sorry server.
    pub sorry: bool,
    /// Its checkers (none for a sorry server or an unchecked dest).
    pub checkers: Vec<CheckerHealth>,
}

impl DestHealth {
    /// The `Health` column: `UP`, `DOWN`, `SORRY` (sorry server in use), `standby` (sorry
    /// server not in use) or `-` (not checked).
    pub fn state(&self) -> &'static str {
        match (self.sorry, self.checkers.is_empty(), self.alive) {
            (true, _, _) if !self.quorum_up => "SORRY",
            (true, _, _) => "standby",
            (false, true, _) => "-",
            (false, false, true) => "UP",
            (false, false, false) => "DOWN",
        }
    }
}

impl CheckerHealth {
    /// A checker that has not run yet.
    pub fn new(kind: &str, up: bool) -> CheckerHealth {
        CheckerHealth {
            kind: kind.to_string(),
            up,
            failures: 0,
            checks: 0,
            failed: 0,
            last_us: 0,
            last_error: None,
            buckets: vec![0; DURATION_BUCKETS.len() + 1],
            sum_us: 0,
        }
    }

    /// Records one check that took `took`; `error` when it failed.
    pub fn record(&mut self, took: Duration, error: Option<String>) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.checks += 1;
        if error.is_some() {
            self.failed += 1;
        }
        self.last_us = us;
        self.sum_us = self.sum_us.saturating_add(us);
        let secs = took.as_secs_f64();
        let i = DURATION_BUCKETS.iter().position(|&b| secs <= b).unwrap_or(DURATION_BUCKETS.len());
        if let Some(b) = self.buckets.get_mut(i) {
            *b += 1;
        }
        self.last_error = error;
    }
}
