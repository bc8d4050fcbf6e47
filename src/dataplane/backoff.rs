//! Idle backoff for a poll-mode worker.
//!
//! Owns the decision "sleep now, and for how long" after empty polls. A bare-metal director busy-polls
//! (no backoff configured); a shared machine (a laptop, CI, a 2-core lab) sets a threshold of empty
//! polls after which the worker sleeps, so kernel clients and servers on the same cores get CPU.
//! Pure logic: the worker loop does the sleeping.

use core::time::Duration;

/// When to sleep: after `empty_polls` empty polls in a row, sleep `sleep` before polling again;
/// while polls stay empty each sleep doubles, up to `max_sleep`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffParams {
    /// Empty polls in a row before the first sleep (at least 1).
    pub empty_polls: u32,
    /// How long the first sleep lasts.
    pub sleep: Duration,
    /// The longest sleep (at least `sleep`).
    pub max_sleep: Duration,
}

/// The state of one worker's backoff.
#[derive(Debug, Clone)]
pub struct IdleBackoff {
    params: Option<BackoffParams>,
    empty_in_row: u32,
    next_sleep: Duration,
}

impl IdleBackoff {
    /// Busy polling: never sleeps.
    pub fn busy() -> Self {
        IdleBackoff { params: None, empty_in_row: 0, next_sleep: Duration::ZERO }
    }

    /// Sleeps per `params`; `None` means busy polling.
    pub fn new(params: Option<BackoffParams>) -> Self {
        let params = params.map(|p| BackoffParams {
            empty_polls: p.empty_polls.max(1),
            max_sleep: p.max_sleep.max(p.sleep),
            ..p
        });
        let next_sleep = params.map_or(Duration::ZERO, |p| p.sleep);
        IdleBackoff { params, empty_in_row: 0, next_sleep }
    }

    /// Records one poll that received `received` packets; returns how long to sleep, if at all.
    #[inline]
    pub fn after_poll(&mut self, received: usize) -> Option<Duration> {
        let p = self.params?;
        if received > 0 {
            self.empty_in_row = 0;
            self.next_sleep = p.sleep;
            return None;
        }
        self.empty_in_row = self.empty_in_row.saturating_add(1);
        if self.empty_in_row < p.empty_polls {
            return None;
        }
        let sleep = self.next_sleep;
        self.next_sleep = (sleep * 2).min(p.max_sleep);
        Some(sleep)
    }

    /// Records one poll that took `nic_rx` packets from the NIC and `crossed_in` from other
    /// cores' rings; returns how long to sleep, if at all. Ring work is work: a core whose NIC
    /// is quiet but whose peer keeps handing it packets must keep draining its rings, or they
    /// fill while it sleeps and the peer's redirects are lost.
    #[inline]
    pub fn after_work(&mut self, nic_rx: usize, crossed_in: usize) -> Option<Duration> {
        self.after_poll(nic_rx.saturating_add(crossed_in))
    }

    /// Whether this backoff ever sleeps.
    pub fn is_busy_polling(&self) -> bool {
        self.params.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_polling_never_sleeps() {
        let mut b = IdleBackoff::busy();
        assert!(b.is_busy_polling());
        assert!((0..10_000).all(|_| b.after_poll(0).is_none()));
    }

    #[test]
    fn sleeps_after_threshold_and_resets_on_traffic() {
        let sleep = Duration::from_micros(200);
        let mut b =
            IdleBackoff::new(Some(BackoffParams { empty_polls: 3, sleep, max_sleep: sleep }));
        assert_eq!(b.after_poll(0), None);
        assert_eq!(b.after_poll(0), None);
        assert_eq!(b.after_poll(0), Some(sleep));
        assert_eq!(b.after_poll(0), Some(sleep));
        assert_eq!(b.after_poll(5), None);
        assert_eq!(b.after_poll(0), None);
    }

    #[test]
    fn packets_from_other_cores_keep_the_worker_awake() {
        let sleep = Duration::from_micros(200);
        let mut b = IdleBackoff::new(Some(BackoffParams {
            empty_polls: 2,
            sleep,
            max_sleep: Duration::from_millis(2),
        }));
        // A quiet NIC but a peer handing packets over: never idle, never asleep.
        assert!((0..100).all(|_| b.after_work(0, 3).is_none()));
        // Both quiet: sleeps after the threshold, and a redirect resets the backoff fully
        // (the next sleep is the first one again, after the threshold again).
        assert_eq!(b.after_work(0, 0), None);
        assert_eq!(b.after_work(0, 0), Some(sleep));
        assert_eq!(b.after_work(0, 0), Some(sleep * 2));
        assert_eq!(b.after_work(0, 1), None);
        assert_eq!(b.after_work(0, 0), None);
        assert_eq!(b.after_work(0, 0), Some(sleep));
        // NIC packets alone count as before.
        assert_eq!(b.after_work(4, 0), None);
    }

    #[test]
    fn zero_threshold_is_treated_as_one() {
        let sleep = Duration::from_micros(1);
        let mut b =
            IdleBackoff::new(Some(BackoffParams { empty_polls: 0, sleep, max_sleep: sleep }));
        assert_eq!(b.after_poll(0), Some(sleep));
    }

    #[test]
    fn sleep_doubles_while_idle_up_to_the_cap_and_resets_on_traffic() {
        let us = Duration::from_micros;
        let mut b = IdleBackoff::new(Some(BackoffParams {
            empty_polls: 1,
            sleep: us(100),
            max_sleep: us(500),
        }));
        let seq: Vec<_> = (0..5).map(|_| b.after_poll(0)).collect();
        assert_eq!(
            seq,
            [Some(us(100)), Some(us(200)), Some(us(400)), Some(us(500)), Some(us(500))]
        );
        assert_eq!(b.after_poll(1), None);
        assert_eq!(b.after_poll(0), Some(us(100)));
    }
}
