//! Worker liveness: which workers are dead or stuck, judged from their heartbeats.
//!
//! Owns [`Liveness`], the control plane's monitor. rvsd's main thread calls
//! [`Liveness::check`] every [`CHECK_EVERY`]; a worker whose function returned or panicked
//! while rvsd runs is dead, one whose beat has not moved for [`STALL_AFTER`] is stuck (a loop
//! iteration, an idle sleep included, never lasts that long: `idle_backoff.max_sleep_us` is at
//! most 100 ms). Time the worker's thread spent waiting on a run queue for a CPU does not count
//! towards that silence: on an oversubscribed host (a lab on two cores, a noisy VM) a runnable
//! worker the scheduler does not run is starved, not stuck, and restarting rvsd would not help.
//! The wait is the kernel's per-thread figure (`/proc/self/task/TID/schedstat`, second field).
//! A worker spinning in a loop or blocked in a call does not wait on a run queue, so it is still
//! found within the threshold. Either is a [`WorkerFault`]: rvsd logs it, exports it (`rvs_worker_up`) and
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
    /// Its beat has not moved for `silent`, of which its thread spent `waited` waiting for a
    /// CPU (not counted towards the threshold).
    Stalled { core: usize, lcore: u32, silent: Duration, waited: Duration },
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
            WorkerFault::Stalled { core, lcore, silent, waited } => write!(
                f,
                "worker {core} (lcore {lcore}) is stuck: no heartbeat for {} ms ({} ms of it \
                 waiting for a CPU)",
                silent.as_millis(),
                waited.as_millis()
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
    /// The thread's total run-queue wait when the beat last moved (None: unknown).
    waited_at_move: Option<u64>,
}

/// Reads a worker thread's total run-queue wait in nanoseconds, given its kernel thread id.
pub type WaitProbe = Box<dyn Fn(u32) -> Option<u64> + Send>;

/// The thread's total time waiting on a run queue (ns): the second field of its schedstat.
fn schedstat_wait_ns(tid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
    text.split_whitespace().nth(1)?.parse().ok()
}

/// The monitor of every worker's heartbeat.
pub struct Liveness {
    workers: Vec<Watched>,
    stall_after: Duration,
    up: Arc<Vec<AtomicBool>>,
    probe: WaitProbe,
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
        Liveness::with_probe(workers, now, stall_after, Box::new(schedstat_wait_ns))
    }

    /// As [`Liveness::with_stall_after`], reading the threads' run-queue wait with `probe`
    /// (tests).
    pub fn with_probe(
        workers: Vec<(usize, u32, Arc<CoreStats>)>,
        now: Instant,
        stall_after: Duration,
        probe: WaitProbe,
    ) -> Liveness {
        let up = Arc::new(workers.iter().map(|_| AtomicBool::new(true)).collect());
        let workers = workers
            .into_iter()
            .map(|(core, lcore, stats)| {
                let last_beat = stats.heartbeat.beats();
                Watched { core, lcore, stats, last_beat, moved_at: now, waited_at_move: None }
            })
            .collect();
        Liveness { workers, stall_after, up, probe }
    }

    /// The faults seen at `now` (empty while every worker is alive).
    pub fn check(&mut self, now: Instant) -> Vec<WorkerFault> {
        let mut faults = Vec::new();
        for (i, w) in self.workers.iter_mut().enumerate() {
            let fault = judge(w, now, self.stall_after, &self.probe);
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

fn judge(
    w: &mut Watched,
    now: Instant,
    stall_after: Duration,
    probe: &WaitProbe,
) -> Option<WorkerFault> {
    let (core, lcore) = (w.core, w.lcore);
    match w.stats.heartbeat.state() {
        WorkerState::Panicked(message) => {
            return Some(WorkerFault::Panicked { core, lcore, message })
        }
        WorkerState::Returned => return Some(WorkerFault::Returned { core, lcore }),
        WorkerState::Running => {}
    }
    let beat = w.stats.heartbeat.beats();
    let waited_now = w.stats.heartbeat.thread_id().and_then(probe);
    if beat != w.last_beat {
        w.last_beat = beat;
        w.moved_at = now;
        w.waited_at_move = waited_now;
        return None;
    }
    if w.waited_at_move.is_none() {
        // The thread id became known after the last move: count its wait from here (less than
        // its whole wait, so never more lenient than the wall time alone).
        w.waited_at_move = waited_now;
    }
    let silent = now.saturating_duration_since(w.moved_at);
    let waited = match (w.waited_at_move, waited_now) {
        (Some(then), Some(now_ns)) => Duration::from_nanos(now_ns.saturating_sub(then)),
        _ => Duration::ZERO,
    };
    (silent.saturating_sub(waited) >= stall_after).then_some(WorkerFault::Stalled {
        core,
        lcore,
        silent,
        waited,
    })
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
            vec![WorkerFault::Stalled {
                core: 1,
                lcore: 2,
                silent: Duration::from_millis(500),
                waited: Duration::ZERO
            }]
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

    #[test]
    fn time_spent_waiting_for_a_cpu_does_not_count_as_stuck() {
        use std::sync::atomic::AtomicU64;
        let stats = Arc::new(CoreStats::default());
        stats.heartbeat.record_thread();
        assert!(stats.heartbeat.thread_id().is_some(), "/proc/thread-self gives the thread id");
        let wait_ns = Arc::new(AtomicU64::new(7_000_000));
        let w = wait_ns.clone();
        let probe: WaitProbe = Box::new(move |_| Some(w.load(Ordering::Relaxed)));
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut l = Liveness::with_probe(vec![(0, 1, stats.clone())], t0, STALL_AFTER, probe);
        stats.heartbeat.beat(1);
        assert!(l.check(at(100)).is_empty());
        // Silent from 100 ms on, but runnable and not run for 1.2 s of it: starved, not stuck.
        wait_ns.fetch_add(1_200_000_000, Ordering::Relaxed);
        assert!(l.check(at(1400)).is_empty());
        // Its silence beyond the wait reaches the threshold at 1800 ms: stuck.
        assert!(l.check(at(1799)).is_empty());
        let f = l.check(at(1800));
        assert_eq!(
            f,
            vec![WorkerFault::Stalled {
                core: 0,
                lcore: 1,
                silent: Duration::from_millis(1700),
                waited: Duration::from_millis(1200)
            }]
        );
        assert!(f[0].to_string().ends_with("(1200 ms of it waiting for a CPU)"), "{}", f[0]);
        // It beats again: the wait is counted from the new beat.
        stats.heartbeat.beat(2);
        assert!(l.check(at(1900)).is_empty());
        assert!(l.check(at(2399)).is_empty());
        assert_eq!(l.check(at(2400)).len(), 1);
    }

    #[test]
    fn the_kernel_reports_a_threads_run_queue_wait() {
        let stats = CoreStats::default();
        stats.heartbeat.record_thread();
        let tid = stats.heartbeat.thread_id().expect("the thread id");
        let a = schedstat_wait_ns(tid).expect("/proc/self/task/TID/schedstat");
        std::thread::yield_now();
        let b = schedstat_wait_ns(tid).expect("schedstat again");
        assert!(b >= a, "the wait only grows: {a} then {b}");
    }
}
