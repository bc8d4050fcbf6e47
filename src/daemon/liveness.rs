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
//! The kernel adds a wait to that figure only when it ends (the thread gets a CPU), so a wait
//! still going on is inferred: a thread that is runnable now (`R` in `/proc/self/task/TID/stat`)
//! and has had less than a quarter of its unexplained silence on a CPU (schedstat's first field)
//! is waiting for one, not stuck. A worker spinning in a loop gets CPU time and one blocked in a
//! call is not runnable, so either is still found within the threshold; past [`STARVED_LIMIT`]
//! of silence a worker is stuck whatever the reason. Either is a [`WorkerFault`]: rvsd logs it, exports it (`rvs_worker_up`) and
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
/// A beat that has not moved for this long means the worker is stuck, even while it waits for
/// a CPU.
pub const STARVED_LIMIT: Duration = Duration::from_secs(30);

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
    /// The thread's times when the beat last moved (None: unknown).
    times_at_move: Option<ThreadTimes>,
}

/// What the kernel says of a worker's thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadTimes {
    /// Total time on a CPU, ns (schedstat's first field).
    pub on_cpu_ns: u64,
    /// Total time waiting on a run queue, ns, counting only waits that ended (schedstat's second
    /// field).
    pub waited_ns: u64,
    /// Whether the thread is running or runnable now (state `R`).
    pub runnable: bool,
}

/// Reads a worker thread's [`ThreadTimes`], given its kernel thread id.
pub type WaitProbe = Box<dyn Fn(u32) -> Option<ThreadTimes> + Send>;

/// The thread's schedstat and state from `/proc/self/task/TID/`.
fn thread_times(tid: u32) -> Option<ThreadTimes> {
    let sched = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
    let mut fields = sched.split_whitespace();
    let on_cpu_ns = fields.next()?.parse().ok()?;
    let waited_ns = fields.next()?.parse().ok()?;
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // `pid (comm) S ...`: the state follows the last ')' (comm may hold one).
    let state = stat.rsplit_once(')')?.1.split_whitespace().next()?;
    Some(ThreadTimes { on_cpu_ns, waited_ns, runnable: state == "R" })
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
        Liveness::with_probe(workers, now, stall_after, Box::new(thread_times))
    }

    /// As [`Liveness::with_stall_after`], reading the threads' times with `probe` (tests).
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
                Watched { core, lcore, stats, last_beat, moved_at: now, times_at_move: None }
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
    let times_now = w.stats.heartbeat.thread_id().and_then(probe);
    if beat != w.last_beat {
        w.last_beat = beat;
        w.moved_at = now;
        w.times_at_move = times_now;
        return None;
    }
    if w.times_at_move.is_none() {
        // The thread id became known after the last move: count its times from here (less than
        // its whole wait, so never more lenient than the wall time alone).
        w.times_at_move = times_now;
    }
    let silent = now.saturating_duration_since(w.moved_at);
    let (waited, waiting_now) = match (w.times_at_move, times_now) {
        (Some(then), Some(t)) => {
            let waited = Duration::from_nanos(t.waited_ns.saturating_sub(then.waited_ns));
            let on_cpu = Duration::from_nanos(t.on_cpu_ns.saturating_sub(then.on_cpu_ns));
            // Runnable, and hardly on a CPU through the silence the ended waits do not explain:
            // it is in a wait the kernel has not added up yet.
            let waiting = t.runnable && on_cpu < silent.saturating_sub(waited) / 4;
            (waited, waiting)
        }
        _ => (Duration::ZERO, false),
    };
    let stuck =
        silent >= STARVED_LIMIT || (silent.saturating_sub(waited) >= stall_after && !waiting_now);
    stuck.then_some(WorkerFault::Stalled { core, lcore, silent, waited })
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

    /// A probe whose times the test sets.
    fn settable_probe() -> (Arc<std::sync::Mutex<ThreadTimes>>, WaitProbe) {
        let t = ThreadTimes { on_cpu_ns: 0, waited_ns: 7_000_000, runnable: false };
        let times = Arc::new(std::sync::Mutex::new(t));
        let read = times.clone();
        let probe: WaitProbe = Box::new(move |_| read.lock().ok().map(|t| *t));
        (times, probe)
    }

    fn one_watched(probe: WaitProbe) -> (Arc<CoreStats>, Liveness, Instant) {
        let stats = Arc::new(CoreStats::default());
        stats.heartbeat.record_thread();
        assert!(stats.heartbeat.thread_id().is_some(), "/proc/thread-self gives the thread id");
        let t0 = Instant::now();
        let l = Liveness::with_probe(vec![(0, 1, stats.clone())], t0, STALL_AFTER, probe);
        (stats, l, t0)
    }

    #[test]
    fn time_spent_waiting_for_a_cpu_does_not_count_as_stuck() {
        let (times, probe) = settable_probe();
        let (stats, mut l, t0) = one_watched(probe);
        let at = |ms| t0 + Duration::from_millis(ms);
        stats.heartbeat.beat(1);
        assert!(l.check(at(100)).is_empty());
        // Silent from 100 ms on, but runnable and not run for 1.2 s of it: starved, not stuck.
        times.lock().unwrap().waited_ns += 1_200_000_000;
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
    fn a_wait_for_a_cpu_still_going_on_is_not_stuck_but_a_spinning_or_blocked_worker_is() {
        let (times, probe) = settable_probe();
        let (stats, mut l, t0) = one_watched(probe);
        let at = |ms| t0 + Duration::from_millis(ms);
        stats.heartbeat.beat(1);
        assert!(l.check(at(0)).is_empty());
        // Runnable with no CPU time since its beat, no wait added up yet: waiting, not stuck.
        times.lock().unwrap().runnable = true;
        assert!(l.check(at(900)).is_empty());
        // Given a CPU for most of that time without beating: spinning, stuck.
        times.lock().unwrap().on_cpu_ns += 700_000_000;
        assert_eq!(l.check(at(1000)).len(), 1);
        // Beating again, then asleep in a call (not runnable) without beating: stuck.
        stats.heartbeat.beat(2);
        assert!(l.check(at(1100)).is_empty());
        times.lock().unwrap().runnable = false;
        assert!(l.check(at(1599)).is_empty());
        assert_eq!(l.check(at(1600)).len(), 1);
        // Waiting for a CPU for longer than STARVED_LIMIT: stuck whatever the reason.
        stats.heartbeat.beat(3);
        assert!(l.check(at(2000)).is_empty());
        times.lock().unwrap().runnable = true;
        let limit = STARVED_LIMIT.as_millis() as u64;
        assert!(l.check(at(2000 + limit - 1)).is_empty());
        assert_eq!(l.check(at(2000 + limit)).len(), 1);
    }

    #[test]
    fn the_kernel_reports_a_threads_times_and_state() {
        let stats = CoreStats::default();
        stats.heartbeat.record_thread();
        let tid = stats.heartbeat.thread_id().expect("the thread id");
        let a = thread_times(tid).expect("/proc/self/task/TID/{schedstat,stat}");
        assert!(a.runnable, "the thread reading its own state is running");
        let spin = std::time::Instant::now();
        while spin.elapsed() < Duration::from_millis(20) {
            std::hint::spin_loop();
        }
        let b = thread_times(tid).expect("again");
        assert!(b.waited_ns >= a.waited_ns, "the wait only grows: {a:?} then {b:?}");
        assert!(b.on_cpu_ns > a.on_cpu_ns, "time on a CPU grows while it spins: {a:?} then {b:?}");
    }
}
