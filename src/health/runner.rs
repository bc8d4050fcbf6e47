//! The health threads of rvsd: one scheduler thread that owns the [`Engine`], a fixed pool of
//! probe threads, and the way actions reach the table.
//!
//! Owns the I/O loop around the sans-IO engine: it reads the clock, hands due checks to the
//! probe threads, feeds their results back, applies the resulting actions through an
//! [`Applier`] (rvsd: the control plane's [`HealthChanges`], so a change is acked when every
//! worker runs it),
//! runs notify scripts (detached, reaped by a thread of their own) and refreshes the [`Board`].
//! Bounded: a checker has at most one check in flight, so at most one job per checker is ever
//! queued; a silent server holds one probe thread for at most its timeout. Everything here runs
//! on control-plane threads, never on a worker core. Must not touch: decisions (the engine's).

use super::apply::command_for;
use super::bfd::{Bfd, BfdEvent};
use super::board::Board;
use super::check;
use super::engine::{Action, CheckId, Engine};
use super::plan::{CheckKind, CheckerPlan, HealthPlan};
use super::state::CheckResult;
use crate::ctrl::health_state::HealthChanges;
use crate::proto::health::{CheckerHealth, DestHealth};
use crate::time;
use crossbeam_channel::{bounded, Receiver, Sender};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tracing::{info, warn};

/// Probe threads by default (fewer when there are fewer checkers).
pub const DEFAULT_PROBE_THREADS: usize = 8;
/// Longest the scheduler sleeps between looks at the stop flag.
const TICK: Duration = Duration::from_millis(100);

/// Where the table actions go.
pub trait Applier: Send + 'static {
    /// Carries out the table actions of one event together (all or none); returns why not.
    fn apply(&mut self, actions: &[Action]) -> Result<(), String>;
}

/// rvsd: the control plane's interface for health checks; each action becomes the typed
/// change it needs against the table in force.
impl<T: HealthChanges> Applier for T {
    fn apply(&mut self, actions: &[Action]) -> Result<(), String> {
        self.apply_health(&mut |table| {
            actions.iter().filter_map(|a| command_for(table, a)).collect()
        })
    }
}

/// Running health checks; stop with [`Health::stop`] or drop.
pub struct Health {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    board: Board,
    /// The BFD sessions, when a `BFD_CHECK` follows one.
    bfd: Option<Bfd>,
}

struct Job {
    id: CheckId,
    plan: Arc<CheckerPlan>,
}

struct Done {
    id: CheckId,
    result: CheckResult,
    took: Duration,
}

/// A small xorshift for the warm-up offsets (not for anything that needs real randomness).
struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Rng(t ^ (u64::from(std::process::id()) << 32) | 1)
    }
    fn below(&mut self, max: Duration) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let us = u64::try_from(max.as_micros()).unwrap_or(u64::MAX);
        Duration::from_micros(if us == 0 { 0 } else { self.0 % (us + 1) })
    }
}

/// How long a notify script may run before its process group is killed.
pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs a notify script as every health script runs (`check::misc`: script user, clean
/// environment plus `env`, no inherited descriptors), without waiting for it; a thread waits,
/// [`NOTIFY_TIMEOUT`] at most.
pub fn run_script(script: &str, env: &[(String, String)]) {
    use crate::health::check::misc;
    let env: Vec<(&str, String)> = env.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    match misc::spawn_script(script, &env, misc::script_user(None).as_ref()) {
        Ok(mut child) => {
            let script = script.to_string();
            let deadline = std::time::Instant::now() + NOTIFY_TIMEOUT;
            let _ = std::thread::Builder::new().name("rvs-notify".into()).spawn(move || {
                match misc::wait_until(&mut child, deadline) {
                    Ok(Some(st)) if st.success() => {}
                    Ok(Some(st)) => warn!("health: notify script {script:?} ended with {st}"),
                    Ok(None) => warn!(
                        "health: notify script {script:?} killed after {} s",
                        NOTIFY_TIMEOUT.as_secs()
                    ),
                    Err(e) => warn!("health: notify script {script:?}: {e}"),
                }
            });
        }
        Err(e) => warn!("health: cannot run notify script {script:?}: {e}"),
    }
}

struct Loop<A> {
    plan: HealthPlan,
    engine: Engine,
    applier: A,
    board: Board,
    stats: Vec<Vec<Vec<CheckerHealth>>>,
    checkers: Vec<(CheckId, Arc<CheckerPlan>)>,
    /// State changes of the BFD sessions, and the `BFD_CHECK`s of each session.
    bfd_events: Receiver<BfdEvent>,
    bfd_checks: Vec<Vec<CheckId>>,
}

impl<A: Applier> Loop<A> {
    fn act(&mut self, actions: Vec<Action>) {
        let table: Vec<Action> =
            actions.iter().filter(|a| !matches!(a, Action::Run { .. })).cloned().collect();
        if !table.is_empty() {
            if let Err(e) = self.applier.apply(&table) {
                warn!("health: the table refused {table:?}: {e}");
            }
        }
        for a in &actions {
            if let Action::Run { script, env } = a {
                run_script(script, env);
            }
        }
    }

    fn publish(&self) {
        let mut rows = Vec::new();
        for (si, s) in self.plan.services.iter().enumerate() {
            let quorum_up = self.engine.quorum_up(si);
            for (di, d) in s.dests.iter().enumerate() {
                let mut checkers =
                    self.stats.get(si).and_then(|v| v.get(di)).cloned().unwrap_or_default();
                for (ci, c) in checkers.iter_mut().enumerate() {
                    if let Some((up, failures)) =
                        self.engine.checker(CheckId { service: si, dest: di, checker: ci })
                    {
                        c.up = up;
                        c.failures = failures;
                    }
                }
                rows.push(DestHealth {
                    service: s.key,
                    addr: d.spec.addr,
                    port: d.spec.port,
                    alive: self.engine.alive(si, di),
                    weight: self.engine.weight(si, di),
                    quorum_up,
                    sorry: false,
                    checkers,
                });
            }
            if let Some(sorry) = &s.sorry {
                rows.push(DestHealth {
                    service: s.key,
                    addr: sorry.spec.addr,
                    port: sorry.spec.port,
                    alive: true,
                    weight: 1,
                    quorum_up,
                    sorry: true,
                    checkers: Vec::new(),
                });
            }
        }
        self.board.set(rows);
    }

    fn record(&mut self, d: &Done) {
        let err = match &d.result {
            CheckResult::Failure(e) => Some(e.clone()),
            CheckResult::Success { .. } => None,
        };
        if let Some(c) = self
            .stats
            .get_mut(d.id.service)
            .and_then(|v| v.get_mut(d.id.dest))
            .and_then(|v| v.get_mut(d.id.checker))
        {
            c.record(d.took, err);
        }
    }

    /// A session changed: each `BFD_CHECK` following it takes the new state as its result at
    /// once (retry 0), and stays "in flight" so that it is never scheduled as a probe.
    fn bfd_event(&mut self, e: BfdEvent) {
        let result = if e.state == rvs_core::bfd::State::Up {
            CheckResult::Success { weight: None }
        } else {
            CheckResult::Failure(format!("BFD session {:?} ({:?})", e.state, e.diag))
        };
        let ids = self.bfd_checks.get(e.instance).cloned().unwrap_or_default();
        for id in ids {
            self.record(&Done { id, result: result.clone(), took: Duration::ZERO });
            let a = self.engine.finish(id, time::now(), &result);
            self.engine.start(id);
            self.act(a);
        }
        self.publish();
    }

    fn run(mut self, stop: &AtomicBool, jobs: &Sender<Job>, done: &Receiver<Done>) {
        let initial = self.engine.initial_actions();
        self.act(initial);
        for id in self.bfd_checks.iter().flatten() {
            self.engine.start(*id);
        }
        self.publish();
        while !stop.load(Ordering::Relaxed) {
            let now = time::now();
            for id in self.engine.due(now) {
                let Some((_, plan)) = self.checkers.iter().find(|(c, _)| *c == id) else {
                    continue;
                };
                self.engine.start(id);
                if jobs.try_send(Job { id, plan: plan.clone() }).is_err() {
                    // Cannot happen (one job per checker at most); fail the check rather than hang.
                    let r = CheckResult::Failure("no probe thread".into());
                    let a = self.engine.finish(id, now, &r);
                    self.act(a);
                }
            }
            let wait = self.engine.next_due().map_or(TICK, |t| t.saturating_since(now)).min(TICK);
            crossbeam_channel::select! {
                recv(done) -> d => match d {
                    Ok(d) => {
                        self.record(&d);
                        let a = self.engine.finish(d.id, time::now(), &d.result);
                        self.act(a);
                        self.publish();
                    }
                    Err(_) => break,
                },
                recv(self.bfd_events) -> e => match e {
                    Ok(e) => self.bfd_event(e),
                    // The BFD thread ended: its checkers keep their last state.
                    Err(_) => self.bfd_events = crossbeam_channel::never(),
                },
                default(wait) => {}
            }
        }
    }
}

fn probe(jobs: &Receiver<Job>, done: &Sender<Done>) {
    while let Ok(job) = jobs.recv() {
        let start = std::time::Instant::now();
        let result = check::run(&job.plan);
        let d = Done { id: job.id, result, took: start.elapsed() };
        if done.send(d).is_err() {
            return;
        }
    }
}

impl Health {
    /// Starts checking `plan` with `threads` probe threads (at least 1, at most one per
    /// checker), applying actions through `applier` and publishing on `board`.
    pub fn start<A: Applier>(
        plan: HealthPlan,
        applier: A,
        board: Board,
        threads: usize,
    ) -> std::io::Result<Health> {
        let mut rng = Rng::seeded();
        let engine = Engine::new(&plan, time::now(), &mut |max| rng.below(max));
        let mut checkers = Vec::new();
        let mut stats = Vec::new();
        for (si, s) in plan.services.iter().enumerate() {
            let mut sv = Vec::new();
            for (di, d) in s.dests.iter().enumerate() {
                let mut dv = Vec::new();
                for (ci, c) in d.checkers.iter().enumerate() {
                    checkers.push((
                        CheckId { service: si, dest: di, checker: ci },
                        Arc::new(c.clone()),
                    ));
                    dv.push(CheckerHealth::new(c.kind.name(), !(c.alpha || d.alpha)));
                }
                sv.push(dv);
            }
            stats.push(sv);
        }
        // BFD_CHECKs are no probes: their sessions run in a thread of their own.
        let mut bfd_checks = vec![Vec::new(); plan.bfd.instances.len()];
        checkers.retain(|(id, c)| match &c.kind {
            CheckKind::Bfd(b) => {
                if let Some(v) = bfd_checks.get_mut(b.instance) {
                    v.push(*id);
                }
                false
            }
            _ => true,
        });
        let (bfd, bfd_events) = if bfd_checks.iter().any(|v| !v.is_empty()) {
            let (tx, rx) = bounded::<BfdEvent>(64);
            (Some(Bfd::start(&plan.bfd, tx, board.bfd().clone())?), rx)
        } else {
            (None, crossbeam_channel::never())
        };
        let n = checkers.len();
        let (job_tx, job_rx) = bounded::<Job>(n.max(1));
        let (done_tx, done_rx) = bounded::<Done>(n.max(1));
        for i in 0..threads.clamp(1, n.max(1)) {
            let (rx, tx) = (job_rx.clone(), done_tx.clone());
            std::thread::Builder::new()
                .name(format!("rvs-probe{i}"))
                .spawn(move || probe(&rx, &tx))?;
        }
        drop((job_rx, done_tx));
        let stop = Arc::new(AtomicBool::new(false));
        let l = Loop {
            plan,
            engine,
            applier,
            board: board.clone(),
            stats,
            checkers,
            bfd_events,
            bfd_checks,
        };
        let s = stop.clone();
        info!("health: {n} checker(s)");
        let thread = std::thread::Builder::new()
            .name("rvs-health".into())
            .spawn(move || l.run(&s, &job_tx, &done_rx))?;
        Ok(Health { stop, thread: Some(thread), board, bfd })
    }

    /// The rows this instance publishes.
    pub fn board(&self) -> &Board {
        &self.board
    }

    /// Stops scheduling checks (probes in flight end by their own timeouts).
    pub fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Some(b) = self.bfd.take() {
            b.stop();
        }
    }
}

impl Drop for Health {
    fn drop(&mut self) {
        self.stop_now();
    }
}

#[cfg(test)]
mod tests;
