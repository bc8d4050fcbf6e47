//! The health decisions of every checked service, sans-IO: checker results and the time in,
//! table actions and scripts to run out.
//!
//! Owns keepalived's rules above single checkers:
//! - A dest is alive when every one of its checkers is up (a dest without checkers always is).
//!   Its weight is the configured one, or the last dynamic weight a `misc_dynamic` script gave.
//! - Quorum: the sum of the alive dests' weights. An up service loses quorum when the sum is 0
//!   or below `quorum - hysteresis`; a down one gains it when the sum is positive and at least
//!   `quorum + hysteresis`. At start it is up when the sum reaches `quorum`.
//! - Pool: an alive dest is in the pool with its weight, unless quorum is lost and there is a
//!   sorry server (then every real server is out and the sorry server in, weight 1). A dest out
//!   of the pool is removed, or kept with weight 0 when `inhibit_on_failure`; a sorry server not
//!   in use is removed, or kept with weight 0 when `sorry_server_inhibit`.
//! - Scripts: `notify_up`/`notify_down` when a dest's alive state changes, `quorum_up`/
//!   `quorum_down` when the service's quorum does.
//!
//! Actions are emitted only for what an event changes (the pool before and after it are
//! compared), so an operator's rvsadm change to a dest stays until that dest's health changes.
//! Must not touch: the table itself (see [`super::apply`]), sockets, processes, clocks.

use super::plan::{DestPlan, HealthPlan, ServicePlan};
use super::state::{CheckResult, CheckerState, Transition};
use crate::ipvs::spec::{DestSpec, ServiceKey};
use crate::time::Instant;
use std::net::IpAddr;
use std::time::Duration;

/// One checker: service, dest and checker indexes into the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CheckId {
    /// Index of the service in the plan.
    pub service: usize,
    /// Index of the dest in the service.
    pub dest: usize,
    /// Index of the checker in the dest.
    pub checker: usize,
}

/// What the engine wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The dest must be in the service with this spec (weight included).
    Set {
        /// The service.
        service: ServiceKey,
        /// The dest, with the weight to run.
        dest: DestSpec,
    },
    /// The dest must not be in the service.
    Remove {
        /// The service.
        service: ServiceKey,
        /// Dest address.
        addr: IpAddr,
        /// Dest port.
        port: u16,
    },
    /// Run a notify script.
    Run {
        /// Command line (for `/bin/sh -c`).
        script: String,
        /// Environment: RVS_SERVICE, RVS_DEST (dest scripts), RVS_STATE (`up`/`down`).
        env: Vec<(String, String)>,
    },
}

/// Where a dest (or the sorry server) stands in the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// In the pool with this weight.
    In(u32),
    /// Kept with weight 0.
    Inhibited,
    /// Not in the table.
    Out,
}

struct DestState {
    checkers: Vec<CheckerState>,
}

struct SvcState {
    plan: ServicePlan,
    quorum_up: bool,
    dests: Vec<DestState>,
}

/// The decisions for every service of a [`HealthPlan`]. See the module documentation.
pub struct Engine {
    services: Vec<SvcState>,
}

fn dest_alive(d: &DestState) -> bool {
    d.checkers.iter().all(CheckerState::is_up)
}

fn dest_weight(p: &DestPlan, d: &DestState) -> u32 {
    // The last dynamic weight any of its scripts reported, else the configured one.
    d.checkers.iter().rev().find_map(CheckerState::weight).unwrap_or(p.spec.weight)
}

fn svc_label(key: &ServiceKey) -> String {
    format!("{} {}:{}", key.proto.name(), key.addr, key.port)
}

impl SvcState {
    fn alive_weight(&self) -> u64 {
        self.plan
            .dests
            .iter()
            .zip(&self.dests)
            .filter(|(_, d)| dest_alive(d))
            .map(|(p, d)| u64::from(dest_weight(p, d)))
            .sum()
    }

    /// Pool membership of every dest, then of the sorry server (if any).
    fn pool(&self) -> Vec<Membership> {
        let sorry_in = !self.quorum_up && self.plan.sorry.is_some();
        let mut out: Vec<Membership> = self
            .plan
            .dests
            .iter()
            .zip(&self.dests)
            .map(|(p, d)| {
                if dest_alive(d) && !sorry_in {
                    Membership::In(dest_weight(p, d))
                } else if p.inhibit_on_failure {
                    Membership::Inhibited
                } else {
                    Membership::Out
                }
            })
            .collect();
        if let Some(s) = &self.plan.sorry {
            out.push(if sorry_in {
                Membership::In(1)
            } else if s.inhibit {
                Membership::Inhibited
            } else {
                Membership::Out
            });
        }
        out
    }

    fn spec_of(&self, i: usize) -> Option<&DestSpec> {
        match self.plan.dests.get(i) {
            Some(d) => Some(&d.spec),
            None => self.plan.sorry.as_ref().map(|s| &s.spec),
        }
    }

    fn action(&self, i: usize, m: Membership) -> Option<Action> {
        let spec = self.spec_of(i)?;
        let service = self.plan.key;
        Some(match m {
            Membership::In(w) => {
                Action::Set { service, dest: DestSpec { weight: w, ..spec.clone() } }
            }
            Membership::Inhibited => {
                Action::Set { service, dest: DestSpec { weight: 0, ..spec.clone() } }
            }
            Membership::Out => Action::Remove { service, addr: spec.addr, port: spec.port },
        })
    }

    /// Re-evaluates quorum; returns the script to run if it changed.
    fn update_quorum(&mut self) -> Option<Action> {
        let sum = self.alive_weight();
        let q = u64::from(self.plan.quorum);
        let h = u64::from(self.plan.hysteresis);
        let (changed, script, state) = if self.quorum_up && (sum == 0 || sum + h < q) {
            self.quorum_up = false;
            (true, self.plan.quorum_down.clone(), "down")
        } else if !self.quorum_up && sum > 0 && sum >= q + h {
            self.quorum_up = true;
            (true, self.plan.quorum_up.clone(), "up")
        } else {
            (false, None, "")
        };
        if !changed {
            return None;
        }
        tracing::info!(
            "health: {} quorum {state} (alive weight {sum}, quorum {q}, hysteresis {h})",
            svc_label(&self.plan.key)
        );
        script.map(|script| Action::Run {
            script,
            env: vec![
                ("RVS_SERVICE".into(), svc_label(&self.plan.key)),
                ("RVS_STATE".into(), state.into()),
            ],
        })
    }
}

impl Engine {
    /// The engine for `plan` at `now`. `warmup(max)` draws each checker's first-check offset
    /// in `[0, max]` (random in the daemon, fixed in tests).
    pub fn new(
        plan: &HealthPlan,
        now: Instant,
        warmup: &mut dyn FnMut(Duration) -> Duration,
    ) -> Self {
        let services = plan
            .services
            .iter()
            .map(|s| {
                let dests = s
                    .dests
                    .iter()
                    .map(|d| DestState {
                        checkers: d
                            .checkers
                            .iter()
                            .map(|c| {
                                let off = warmup(c.timing.warmup);
                                CheckerState::new(c.timing, d.alpha || c.alpha, now, off)
                            })
                            .collect(),
                    })
                    .collect();
                let mut st = SvcState { plan: s.clone(), quorum_up: false, dests };
                let sum = st.alive_weight();
                st.quorum_up = sum > 0 && sum >= u64::from(s.quorum);
                st
            })
            .collect();
        Engine { services }
    }

    /// Actions that bring the configured table to the engine's starting pool (alpha dests out,
    /// a sorry server in when quorum is lost from the start, inhibited entries at weight 0).
    pub fn initial_actions(&self) -> Vec<Action> {
        let mut out = Vec::new();
        for s in &self.services {
            for (i, m) in s.pool().into_iter().enumerate() {
                out.extend(s.action(i, m));
            }
        }
        out
    }

    /// Every checker due at `now` (none in flight).
    pub fn due(&self, now: Instant) -> Vec<CheckId> {
        let mut out = Vec::new();
        for (si, s) in self.services.iter().enumerate() {
            for (di, d) in s.dests.iter().enumerate() {
                for (ci, c) in d.checkers.iter().enumerate() {
                    if c.is_due(now) {
                        out.push(CheckId { service: si, dest: di, checker: ci });
                    }
                }
            }
        }
        out
    }

    /// The earliest time a checker not in flight is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.services
            .iter()
            .flat_map(|s| s.dests.iter())
            .flat_map(|d| d.checkers.iter())
            .filter(|c| !c.in_flight())
            .map(CheckerState::next_due)
            .min()
    }

    fn checker_mut(&mut self, id: CheckId) -> Option<&mut CheckerState> {
        self.services.get_mut(id.service)?.dests.get_mut(id.dest)?.checkers.get_mut(id.checker)
    }

    /// The check `id` starts (it is not due again until it finishes).
    pub fn start(&mut self, id: CheckId) {
        if let Some(c) = self.checker_mut(id) {
            c.start();
        }
    }

    /// The check `id` ended at `now`; returns what must change.
    pub fn finish(&mut self, id: CheckId, now: Instant, result: &CheckResult) -> Vec<Action> {
        let Some(s) = self.services.get_mut(id.service) else { return Vec::new() };
        let before = s.pool();
        let Some(d) = s.dests.get_mut(id.dest) else { return Vec::new() };
        let was_alive = dest_alive(d);
        let Some(c) = d.checkers.get_mut(id.checker) else { return Vec::new() };
        let t = c.finish(now, result);
        let alive = dest_alive(d);
        let mut out = Vec::new();
        if t.is_none() {
            return out;
        }
        let Some(p) = s.plan.dests.get(id.dest) else { return out };
        if was_alive != alive {
            let state = if alive { "up" } else { "down" };
            let why = match (result, t) {
                (CheckResult::Failure(why), Some(Transition::Down)) => format!(": {why}"),
                _ => String::new(),
            };
            tracing::info!(
                "health: {} dest {}:{} {state}{why}",
                svc_label(&s.plan.key),
                p.spec.addr,
                p.spec.port
            );
            let script = if alive { &p.notify_up } else { &p.notify_down };
            if let Some(script) = script {
                out.push(Action::Run {
                    script: script.clone(),
                    env: vec![
                        ("RVS_SERVICE".into(), svc_label(&s.plan.key)),
                        ("RVS_DEST".into(), format!("{}:{}", p.spec.addr, p.spec.port)),
                        ("RVS_STATE".into(), state.into()),
                    ],
                });
            }
        }
        let quorum_script = s.update_quorum();
        let after = s.pool();
        for (i, (b, a)) in before.iter().zip(&after).enumerate() {
            if b != a {
                out.extend(s.action(i, *a));
            }
        }
        out.extend(quorum_script);
        out
    }

    /// Whether dest `dest` of service `service` is alive.
    pub fn alive(&self, service: usize, dest: usize) -> bool {
        self.services.get(service).and_then(|s| s.dests.get(dest)).is_some_and(dest_alive)
    }

    /// The weight dest `dest` of service `service` runs with when in the pool.
    pub fn weight(&self, service: usize, dest: usize) -> u32 {
        match self.services.get(service) {
            Some(s) => match (s.plan.dests.get(dest), s.dests.get(dest)) {
                (Some(p), Some(d)) => dest_weight(p, d),
                _ => 0,
            },
            None => 0,
        }
    }

    /// Whether the service has quorum.
    pub fn quorum_up(&self, service: usize) -> bool {
        self.services.get(service).is_some_and(|s| s.quorum_up)
    }

    /// Whether checker `id` is up, and its failures in a row.
    pub fn checker(&self, id: CheckId) -> Option<(bool, u32)> {
        let c = self.services.get(id.service)?.dests.get(id.dest)?.checkers.get(id.checker)?;
        Some((c.is_up(), c.failures()))
    }
}

#[cfg(test)]
mod tests;
