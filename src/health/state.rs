//! One checker's state machine: up or down, retries, and when its next check is due.
//!
//! Owns the timing rules of keepalived's checkers, sans-IO: it is told when a check starts and
//! how it ended, with the time, and answers with the transition (if any) and the next due time.
//! - A success brings a down checker up at once and resets the failure count; the next check
//!   comes `delay_loop` later.
//! - A failure of an up checker is retried `retry` times, each `delay_before_retry` after the
//!   previous failure; the failure after the last retry takes it down. The next check of a down
//!   checker comes `delay_loop` later, and failures of a down checker change nothing.
//! - At most one check is in flight: a checker is not due while one runs.
//! - A script check may report a weight (`misc_dynamic`); a changed weight of an up checker is a
//!   transition of its own.
//!
//! Must not touch: sockets, processes, clocks (the caller passes `now`).

use super::plan::Timing;
use crate::time::Instant;

/// How one check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckResult {
    /// The server answered as expected; `weight` is a dynamic weight reported by a script.
    Success {
        /// `misc_dynamic` weight (exit status - 2), if reported.
        weight: Option<u32>,
    },
    /// It did not; the text says why (for listings and logs).
    Failure(String),
}

/// A transition of one checker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Down to up.
    Up,
    /// Up to down (retries exhausted).
    Down,
    /// Still up, with a new dynamic weight.
    Weight(u32),
}

/// One checker's state. See the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckerState {
    timing: Timing,
    up: bool,
    failures: u32,
    next_due: Instant,
    in_flight: bool,
    weight: Option<u32>,
}

impl CheckerState {
    /// A checker whose first check is due `warmup_offset` after `now` (the caller draws it at
    /// random in `[0, timing.warmup]`); up unless `alpha`.
    pub fn new(
        timing: Timing,
        alpha: bool,
        now: Instant,
        warmup_offset: std::time::Duration,
    ) -> Self {
        CheckerState {
            timing,
            up: !alpha,
            failures: 0,
            next_due: now + warmup_offset.min(timing.warmup),
            in_flight: false,
            weight: None,
        }
    }

    /// Whether the checker considers its server up.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Failures in a row while up (retries used so far).
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The dynamic weight last reported, if any.
    pub fn weight(&self) -> Option<u32> {
        self.weight
    }

    /// When the next check is due (meaningless while one is in flight).
    pub fn next_due(&self) -> Instant {
        self.next_due
    }

    /// Whether a check is running.
    pub fn in_flight(&self) -> bool {
        self.in_flight
    }

    /// Whether a check should start at `now`.
    pub fn is_due(&self, now: Instant) -> bool {
        !self.in_flight && now >= self.next_due
    }

    /// A check starts.
    pub fn start(&mut self) {
        self.in_flight = true;
    }

    /// The running check ended at `now` with `result`.
    pub fn finish(&mut self, now: Instant, result: &CheckResult) -> Option<Transition> {
        self.in_flight = false;
        match result {
            CheckResult::Success { weight } => {
                self.failures = 0;
                self.next_due = now + self.timing.delay_loop;
                let changed = weight.is_some() && *weight != self.weight;
                if weight.is_some() {
                    self.weight = *weight;
                }
                if !self.up {
                    self.up = true;
                    Some(Transition::Up)
                } else if changed {
                    weight.map(Transition::Weight)
                } else {
                    None
                }
            }
            CheckResult::Failure(_) if self.up => {
                self.failures += 1;
                if self.failures > self.timing.retry {
                    self.up = false;
                    self.failures = 0;
                    self.next_due = now + self.timing.delay_loop;
                    Some(Transition::Down)
                } else {
                    self.next_due = now + self.timing.delay_before_retry;
                    None
                }
            }
            CheckResult::Failure(_) => {
                self.next_due = now + self.timing.delay_loop;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn timing(retry: u32) -> Timing {
        Timing {
            delay_loop: Duration::from_secs(6),
            timeout: Duration::from_secs(2),
            retry,
            delay_before_retry: Duration::from_secs(1),
            warmup: Duration::from_secs(6),
        }
    }
    fn t(s: u64) -> Instant {
        Instant::from_secs(s)
    }
    fn fail() -> CheckResult {
        CheckResult::Failure("refused".into())
    }
    fn ok() -> CheckResult {
        CheckResult::Success { weight: None }
    }

    #[test]
    fn first_check_waits_for_the_warmup_offset_capped_at_warmup() {
        let c = CheckerState::new(timing(1), false, t(100), Duration::from_secs(4));
        assert!(!c.is_due(t(103)));
        assert!(c.is_due(t(104)));
        let c = CheckerState::new(timing(1), false, t(100), Duration::from_secs(60));
        assert_eq!(c.next_due(), t(106));
        let c = CheckerState::new(timing(1), false, t(100), Duration::ZERO);
        assert!(c.is_due(t(100)) && c.is_up());
    }

    #[test]
    fn alpha_starts_down_and_one_success_brings_it_up() {
        let mut c = CheckerState::new(timing(3), true, t(0), Duration::ZERO);
        assert!(!c.is_up());
        c.start();
        assert_eq!(c.finish(t(1), &ok()), Some(Transition::Up));
        assert!(c.is_up());
        assert_eq!(c.next_due(), t(7));
    }

    #[test]
    fn failures_retry_then_go_down_and_success_resets() {
        let mut c = CheckerState::new(timing(2), false, t(0), Duration::ZERO);
        c.start();
        assert_eq!(c.finish(t(1), &fail()), None);
        assert_eq!((c.failures(), c.next_due(), c.is_up()), (1, t(2), true));
        c.start();
        assert_eq!(c.finish(t(2), &fail()), None);
        assert_eq!((c.failures(), c.next_due()), (2, t(3)));
        // A success in between resets the count: two more retries again.
        c.start();
        assert_eq!(c.finish(t(3), &ok()), None);
        assert_eq!((c.failures(), c.next_due()), (0, t(9)));
        for (now, want) in [(9, None), (10, None), (11, Some(Transition::Down))] {
            c.start();
            assert_eq!(c.finish(t(now), &fail()), want, "at {now}");
        }
        assert!(!c.is_up());
        assert_eq!((c.failures(), c.next_due()), (0, t(17)));
        // Down: failures wait delay_loop, no retries, no transition.
        c.start();
        assert_eq!(c.finish(t(17), &fail()), None);
        assert_eq!(c.next_due(), t(23));
        c.start();
        assert_eq!(c.finish(t(23), &ok()), Some(Transition::Up));
    }

    #[test]
    fn retry_zero_goes_down_on_the_first_failure() {
        let mut c = CheckerState::new(timing(0), false, t(0), Duration::ZERO);
        c.start();
        assert_eq!(c.finish(t(0), &fail()), Some(Transition::Down));
    }

    #[test]
    fn worst_case_detection_time_is_delay_loop_plus_retries_and_timeouts() {
        // A server that dies right after a success is seen down at most
        // delay_loop + (retry + 1) * timeout + retry * delay_before_retry later.
        let tm = timing(1);
        let mut c = CheckerState::new(tm, false, t(0), Duration::ZERO);
        c.start();
        c.finish(t(0), &ok());
        let mut now = c.next_due();
        let mut down_at = None;
        for _ in 0..3 {
            c.start();
            now = now + tm.timeout;
            if c.finish(now, &fail()) == Some(Transition::Down) {
                down_at = Some(now);
                break;
            }
            now = c.next_due();
        }
        let bound = tm.delay_loop + 2 * tm.timeout + tm.delay_before_retry;
        assert_eq!(down_at, Some(t(0) + bound));
    }

    #[test]
    fn one_check_in_flight_at_a_time() {
        let mut c = CheckerState::new(timing(1), false, t(0), Duration::ZERO);
        c.start();
        assert!(c.in_flight() && !c.is_due(t(1000)));
        c.finish(t(1), &ok());
        assert!(!c.in_flight() && c.is_due(t(7)));
    }

    #[test]
    fn dynamic_weight_changes_are_transitions_only_when_up_and_changed() {
        let mut c = CheckerState::new(timing(0), false, t(0), Duration::ZERO);
        let w = |n| CheckResult::Success { weight: Some(n) };
        c.start();
        assert_eq!(c.finish(t(0), &w(5)), Some(Transition::Weight(5)));
        c.start();
        assert_eq!(c.finish(t(6), &w(5)), None);
        // Exit 0: weight unchanged.
        c.start();
        assert_eq!(c.finish(t(12), &ok()), None);
        assert_eq!(c.weight(), Some(5));
        c.start();
        assert_eq!(c.finish(t(18), &fail()), Some(Transition::Down));
        // Coming up with a weight: the transition is Up (the weight is read from the state).
        c.start();
        assert_eq!(c.finish(t(24), &w(9)), Some(Transition::Up));
        assert_eq!(c.weight(), Some(9));
    }
}
