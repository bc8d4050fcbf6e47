//! Worker liveness: which workers are dead or stuck, judged from their heartbeats.
//!
//! Owns [`Liveness`], the control plane's monitor. rvsd's main thread calls
//! [`Liveness::check`] every [`CHECK_EVERY`]; a worker whose function returned or panicked
//! while rvsd runs is dead, one whose beat has not moved for [`STALL_AFTER`] is stuck (a loop
//! iteration, an idle sleep included, never lasts that long: `idle_backoff.max_sleep_us` is at
//! most 100 ms). Either is a [`WorkerFault`]: rvsd logs it, exports it (`rvs_worker_up`) and
//! exits non-zero so that its supervisor restarts it; while every worker is alive it pings
//! systemd's watchdog. Must not touch: the workers (it only reads what they publish).

use crate::dataplane::heartbeat::WorkerState;
use crate::dataplane::stats::CoreStats;
use crate::metrics::{Family, MetricsSource};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often rvsd checks its workers.
pub const CHECK_EVERY: Duration = Duration::from_millis(100);
/// A beat that has not moved for this long means the worker is stuck.
pub const STALL_AFTER: Duration = Duration::from_millis(500);

/// What is wrong with a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerFault {
    /// Its function panicked.
    Panicked { core: usize, lcore: u32, message: String },
    /// Its function returned while rvsd runs.
    Returned { core: usize, lcore: u32 },
    /// Its beat has not moved for `silent`.
    Stalled { core: usize, lcore: u32, silent: Duration },
}

impl WorkerFault {
    /// Whether the worker's function has ended (it can be joined; a stalled one cannot).
    pub fn ended(&self) -> bool {
        !matches!(self, WorkerFault::Stalled { .. })
    }
}

impl fmt::Display for WorkerFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkerFault::Panicked { core, lcore, message } => {
                write!(f, "worker {core} (lcore {lcore}) panicked: {message}")
            }
            WorkerFault::Returned { core, lcore } => {
                write!(f, "worker {core} (lcore {lcore}) stopped on its own")
            }
            WorkerFault::Stalled { core, lcore, silent } => write!(
                f,
                "worker {core} (lcore {lcore}) is stuck: no heartbeat for {} ms",
                silent.as_millis()
            ),
        }
    }
}

struct Watched {
    core: usize,
    lcore: u32,
    stats: Arc<CoreStats>,
    last_beat: u64,
    moved_at: Instant,
}

/// The monitor of every worker's heartbeat.
pub struct Liveness {
    workers: Vec<Watched>,
    stall_after: Duration,
    up: Arc<Vec<AtomicBool>>,
}

impl Liveness {
    /// Watches the workers `(core, lcore, stats)` from `now` on.
    pub fn new(workers: Vec<(usize, u32, Arc<CoreStats>)>, now: Instant) -> Liveness {
        Liveness::with_stall_after(workers, now, STALL_AFTER)
    }

    /// As [`Liveness::new`], with another stall threshold (tests).
    pub fn with_stall_after(
        workers: Vec<(usize, u32, Arc<CoreStats>)>,
        now: Instant,
        stall_after: Duration,
    ) -> Liveness {
        let up = Arc::new(workers.iter().map(|_| AtomicBool::new(true)).collect());
        let workers = workers
            .into_iter()
            .map(|(core, lcore, stats)| {
                let last_beat = stats.heartbeat.beats();
                Watched { core, lcore, stats, last_beat, moved_at: now }
            })
            .collect();
        Liveness { workers, stall_after, up }
    }

    /// The faults seen at `now` (empty while every worker is alive).
    pub fn check(&mut self, now: Instant) -> Vec<WorkerFault> {
        let mut faults = Vec::new();
        for (i, w) in self.workers.iter_mut().enumerate() {
            let fault = judge(w, now, self.stall_after);
            if let Some(up) = self.up.get(i) {
                up.store(fault.is_none(), Ordering::Relaxed);
            }
            faults.extend(fault);
        }
        faults
    }

    /// A metrics source exporting `rvs_worker_up` and `rvs_worker_heartbeats_total` per core.
    pub fn metrics(&self) -> LivenessMetrics {
        LivenessMetrics {
            cores: self.workers.iter().map(|w| (w.core, w.stats.clone())).collect(),
            up: self.up.clone(),
        }
    }
}

fn judge(w: &mut Watched, now: Instant, stall_after: Duration) -> Option<WorkerFault> {
    let (core, lcore) = (w.core, w.lcore);
    match w.stats.heartbeat.state() {
        WorkerState::Panicked(message) => {
            return Some(WorkerFault::Panicked { core, lcore, message })
        }
        WorkerState::Returned => return Some(WorkerFault::Returned { core, lcore }),
        WorkerState::Running => {}
    }
    let beat = w.stats.heartbeat.beats();
    if beat != w.last_beat {
        w.last_beat = beat;
        w.moved_at = now;
        return None;
    }
    let silent = now.saturating_duration_since(w.moved_at);
    (silent >= stall_after).then_some(WorkerFault::Stalled { core, lcore, silent })
}

/// `rvs_worker_up` (1 while the monitor finds the worker alive) and
/// `rvs_worker_heartbeats_total` per core.
pub struct LivenessMetrics {
    cores: Vec<(usize, Arc<CoreStats>)>,
    up: Arc<Vec<AtomicBool>>,
}

impl MetricsSource for LivenessMetrics {
    fn families(&self) -> Vec<prometheus::proto::MetricFamily> {
        let mut up = Family::gauge(
            "rvs_worker_up",
            "1 while the worker's heartbeat moves and its function runs; 0 once it is dead or stuck (rvsd then exits).",
        );
        let mut beats = Family::counter(
            "rvs_worker_heartbeats_total",
            "The worker's heartbeat: its loop count at its last publication.",
        );
        for (i, (core, stats)) in self.cores.iter().enumerate() {
            let c = core.to_string();
            let alive = self.up.get(i).is_some_and(|u| u.load(Ordering::Relaxed));
            up.sample(&[("core", &c)], if alive { 1.0 } else { 0.0 });
            beats.sample(&[("core", &c)], stats.heartbeat.beats() as f64);
        }
        vec![up.build(), beats.build()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watched(n: usize) -> (Vec<Arc<CoreStats>>, Liveness, Instant) {
        let stats: Vec<Arc<CoreStats>> = (0..n).map(|_| Arc::new(CoreStats::default())).collect();
        let t0 = Instant::now();
        let workers = stats.iter().enumerate().map(|(i, s)| (i, i as u32 + 1, s.clone())).collect();
        (stats, Liveness::new(workers, t0), t0)
    }

    #[test]
    fn beating_workers_are_alive_and_a_silent_one_is_stuck_after_the_threshold() {
        let (stats, mut l, t0) = watched(2);
        let at = |ms| t0 + Duration::from_millis(ms);
        for (step, ms) in [100u64, 200, 300, 400, 500].iter().enumerate() {
            stats[0].heartbeat.beat(step as u64 + 1);
            stats[1].heartbeat.beat(step as u64 + 1);
            assert!(l.check(at(*ms)).is_empty());
        }
        // Worker 1 stops beating at 500 ms: alive until 999 ms, stuck at 1000 ms.
        for ms in [600u64, 800, 999] {
            stats[0].heartbeat.beat(ms);
            assert!(l.check(at(ms)).is_empty(), "{ms}");
        }
        stats[0].heartbeat.beat(1000);
        let f = l.check(at(1000));
        assert_eq!(
            f,
            vec![WorkerFault::Stalled { core: 1, lcore: 2, silent: Duration::from_millis(500) }]
        );
        assert!(f[0].to_string().contains("worker 1 (lcore 2) is stuck"), "{}", f[0]);
        let text = crate::metrics::render(&l.metrics().families());
        assert!(text.contains("rvs_worker_up{core=\"0\"} 1"), "{text}");
        assert!(text.contains("rvs_worker_up{core=\"1\"} 0"), "{text}");
        // It beats again: alive.
        stats[1].heartbeat.beat(99);
        stats[0].heartbeat.beat(1001);
        assert!(l.check(at(1100)).is_empty());
    }

    #[test]
    fn a_panicked_or_returned_worker_is_dead_at_once() {
        let (stats, mut l, t0) = watched(2);
        stats[0].heartbeat.panicked("index out of bounds".into());
        stats[1].heartbeat.returned();
        let f = l.check(t0);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].to_string(), "worker 0 (lcore 1) panicked: index out of bounds");
        assert!(f[0].ended() && f[1].ended());
        assert_eq!(f[1], WorkerFault::Returned { core: 1, lcore: 2 });
    }
}
