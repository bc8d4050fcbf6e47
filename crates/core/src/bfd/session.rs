//! One BFD session (RFC 5880 §6.8, asynchronous mode), driven by the caller's clock.
//!
//! Owns the state variables of §6.8.1 (states, discriminators, intervals, detect multipliers),
//! the reception rules of §6.8.6 that need the session, the transmit schedule with jitter
//! (§6.8.7), the detection timer (§6.8.4) and the poll sequence for timer changes (§6.5,
//! §6.8.3). It must not touch sockets or the clock: the caller feeds parsed packets and the
//! time, asks [`Session::transmit`] for what to send and sleeps until [`Session::next_deadline`].

use super::packet::{ControlPacket, Diag, State};
use crate::time::Instant;
use core::time::Duration;
use thiserror::Error;

/// While a session is not Up, the transmit interval advertised is at least this (§6.8.3).
pub const SLOW_TX_US: u32 = 1_000_000;

/// A session's configuration. Intervals are in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Desired Min TX Interval while Up.
    pub min_tx: u32,
    /// Required Min RX Interval.
    pub min_rx: u32,
    /// Desired Min TX Interval while not Up (raised to [`SLOW_TX_US`] if lower).
    pub idle_tx: u32,
    /// Detect Mult sent to the peer (not zero).
    pub detect_mult: u8,
    /// Passive role: send nothing until the peer has spoken (§6.1).
    pub passive: bool,
}

/// What changed in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// The state before.
    pub from: State,
    /// The state now.
    pub to: State,
    /// The local diagnostic now.
    pub diag: Diag,
}

/// Why a parsed packet was discarded by the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Discard {
    /// Your Discriminator is set but is not this session's.
    #[error("BFD packet for discriminator {0}, not this session's")]
    WrongDiscriminator(u32),
    /// The session is AdminDown and ignores its peer (§6.8.6).
    #[error("BFD session is administratively down")]
    AdminDown,
}

/// One session's state.
#[derive(Debug, Clone)]
pub struct Session {
    cfg: Config,
    state: State,
    diag: Diag,
    local_discr: u32,
    remote_discr: u32,
    remote_state: State,
    remote_min_rx: u32,
    remote_min_tx: u32,
    remote_mult: u8,
    /// Values put in the packets (bfd.DesiredMinTxInterval, bfd.RequiredMinRxInterval).
    adv_tx: u32,
    adv_rx: u32,
    /// Values the timers use: differ from the advertised ones while a poll is running.
    eff_tx: u32,
    eff_rx: u32,
    poll: bool,
    send_final: bool,
    next_tx: Instant,
    detect_at: Option<Instant>,
    rng: u64,
}

impl Session {
    /// A new session in state Down. `local_discr` must be unique among the caller's sessions and
    /// not zero (zero is replaced by 1); `seed` feeds the transmit jitter.
    pub fn new(cfg: Config, local_discr: u32, seed: u64, now: Instant) -> Session {
        let cfg = Config { detect_mult: cfg.detect_mult.max(1), ..cfg };
        let tx = cfg.idle_tx.max(SLOW_TX_US);
        Session {
            cfg,
            state: State::Down,
            diag: Diag::None,
            local_discr: local_discr.max(1),
            remote_discr: 0,
            remote_state: State::Down,
            remote_min_rx: 1,
            remote_min_tx: 0,
            remote_mult: 0,
            adv_tx: tx,
            adv_rx: cfg.min_rx,
            eff_tx: tx,
            eff_rx: cfg.min_rx,
            poll: false,
            send_final: false,
            next_tx: now,
            detect_at: None,
            rng: seed | 1,
        }
    }

    /// The local state.
    pub fn state(&self) -> State {
        self.state
    }
    /// The local diagnostic.
    pub fn diag(&self) -> Diag {
        self.diag
    }
    /// The state the peer last reported.
    pub fn remote_state(&self) -> State {
        self.remote_state
    }
    /// This session's discriminator.
    pub fn local_discr(&self) -> u32 {
        self.local_discr
    }
    /// The peer's discriminator, 0 until known.
    pub fn remote_discr(&self) -> u32 {
        self.remote_discr
    }
    /// Whether a poll sequence is running.
    pub fn polling(&self) -> bool {
        self.poll
    }

    /// The periodic transmit interval before jitter: the larger of our desired TX and the peer's
    /// required RX (§6.8.7); `None` while the peer asks for no packets (Required Min RX 0).
    pub fn tx_interval(&self) -> Option<Duration> {
        (self.remote_min_rx != 0)
            .then(|| Duration::from_micros(u64::from(self.eff_tx.max(self.remote_min_rx))))
    }

    /// The detection time (§6.8.4): the peer's Detect Mult times the larger of our required RX
    /// and the peer's desired TX; `None` before the peer has spoken.
    pub fn detection_time(&self) -> Option<Duration> {
        (self.remote_mult != 0).then(|| {
            let i = u64::from(self.eff_rx.max(self.remote_min_tx));
            Duration::from_micros(u64::from(self.remote_mult) * i)
        })
    }

    /// When the caller must next call [`Session::transmit`] or [`Session::tick`].
    pub fn next_deadline(&self) -> Instant {
        match self.detect_at {
            Some(d) if d < self.next_tx => d,
            _ => self.next_tx,
        }
    }

    fn set_state(&mut self, to: State, diag: Diag) -> Option<Event> {
        let from = self.state;
        if from == to {
            return None;
        }
        self.state = to;
        self.diag = diag;
        // Leaving or reaching Up changes the desired TX (slow while not Up, §6.8.3).
        let tx = if to == State::Up { self.cfg.min_tx } else { self.cfg.idle_tx.max(SLOW_TX_US) };
        self.change_intervals(tx, self.adv_rx);
        if to != State::Up && to != State::Init {
            self.detect_at = None;
        }
        Some(Event { from, to, diag })
    }

    /// Changes the advertised intervals; starts a poll sequence if they differ (§6.8.3). An
    /// increased TX interval (while Up) and a reduced RX interval take effect on the timers
    /// only when the poll completes.
    fn change_intervals(&mut self, tx: u32, rx: u32) {
        if tx == self.adv_tx && rx == self.adv_rx {
            return;
        }
        self.adv_tx = tx;
        self.adv_rx = rx;
        if self.state == State::Up {
            self.eff_tx = self.eff_tx.min(tx);
            self.eff_rx = self.eff_rx.max(rx);
        } else {
            self.eff_tx = tx;
            self.eff_rx = rx;
        }
        // A poll needs a peer to answer it.
        self.poll = self.remote_discr != 0;
        if !self.poll {
            self.eff_tx = tx;
            self.eff_rx = rx;
        }
    }

    /// Sets new Up TX and RX intervals (microseconds), as an operator's change would.
    pub fn set_intervals(&mut self, min_tx: u32, min_rx: u32) {
        self.cfg.min_tx = min_tx;
        self.cfg.min_rx = min_rx;
        let tx = if self.state == State::Up { min_tx } else { self.adv_tx };
        self.change_intervals(tx, min_rx);
    }

    /// Puts the session administratively down (diag 7) or back to Down.
    pub fn set_admin_down(&mut self, down: bool, now: Instant) -> Option<Event> {
        let ev = if down {
            self.set_state(State::AdminDown, Diag::AdministrativelyDown)
        } else if self.state == State::AdminDown {
            self.set_state(State::Down, Diag::None)
        } else {
            None
        };
        self.next_tx = now;
        ev
    }

    /// Applies a parsed packet received at `now` (RFC 5880 §6.8.6, after the checks
    /// [`ControlPacket::parse`] made). Returns the state change, if any.
    pub fn receive(&mut self, p: &ControlPacket, now: Instant) -> Result<Option<Event>, Discard> {
        if p.your_discr != 0 && p.your_discr != self.local_discr {
            return Err(Discard::WrongDiscriminator(p.your_discr));
        }
        if self.state == State::AdminDown {
            return Err(Discard::AdminDown);
        }
        self.remote_discr = p.my_discr;
        self.remote_state = p.state;
        self.remote_min_rx = p.required_min_rx;
        self.remote_min_tx = p.desired_min_tx;
        self.remote_mult = p.detect_mult;
        if p.final_ && self.poll {
            self.poll = false;
            self.eff_tx = self.adv_tx;
            self.eff_rx = self.adv_rx;
        }
        if p.poll {
            self.send_final = true;
        }
        let ev = match (self.state, p.state) {
            (State::Down | State::Init | State::Up, State::AdminDown) => {
                let ev = self.set_state(State::Down, Diag::NeighborSignaledDown);
                // A peer AdminDown is no path failure: keep the discriminator, stop detecting.
                self.detect_at = None;
                ev
            }
            (State::Down, State::Down) => self.set_state(State::Init, Diag::None),
            (State::Down, State::Init) | (State::Init, State::Init | State::Up) => {
                self.set_state(State::Up, Diag::None)
            }
            (State::Up, State::Down) => self.set_state(State::Down, Diag::NeighborSignaledDown),
            _ => None,
        };
        if matches!(self.state, State::Init | State::Up) {
            self.detect_at = self.detection_time().map(|d| now + d);
        }
        // A slower peer RX may move our next packet later; a state change sends one at once.
        if ev.is_some() {
            self.next_tx = now;
        }
        Ok(ev)
    }

    /// Expires the detection timer if `now` has reached it: Init or Up goes Down with diag 1 and
    /// the peer's discriminator is forgotten (§6.8.1, §6.8.4).
    pub fn tick(&mut self, now: Instant) -> Option<Event> {
        match self.detect_at {
            Some(d) if now >= d => {
                self.detect_at = None;
                self.remote_discr = 0;
                self.remote_state = State::Down;
                self.remote_mult = 0;
                self.remote_min_rx = 1;
                self.poll = false;
                self.eff_tx = self.adv_tx;
                self.eff_rx = self.adv_rx;
                let ev = self.set_state(State::Down, Diag::ControlDetectionTimeExpired);
                self.next_tx = now;
                ev
            }
            _ => None,
        }
    }

    fn jittered(&mut self, base: Duration) -> Duration {
        // xorshift64: the jitter needs no more than uniform-looking spread.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        // §6.8.7: 75%-100% of the interval, 75%-90% when Detect Mult is 1.
        let span = if self.cfg.detect_mult == 1 { 15 } else { 25 };
        let pct = 75 + (self.rng % (span + 1)) as u32;
        base * pct / 100
    }

    /// The packet to send at `now`, if one is due: a Final answer to a Poll at once, else the
    /// periodic packet when its (jittered) time has come. Schedules the next one.
    pub fn transmit(&mut self, now: Instant) -> Option<ControlPacket> {
        let passive_quiet = self.cfg.passive && self.remote_discr == 0;
        let final_ = self.send_final;
        let periodic_due = now >= self.next_tx;
        if !final_ && !periodic_due {
            return None;
        }
        if periodic_due {
            let next = self.tx_interval().unwrap_or(Duration::from_micros(u64::from(SLOW_TX_US)));
            let next = self.jittered(next);
            self.next_tx = now + next;
        }
        let periodic_ok = periodic_due && self.remote_min_rx != 0;
        if passive_quiet || !(final_ || periodic_ok) {
            return None;
        }
        self.send_final = false;
        Some(ControlPacket {
            diag: self.diag,
            state: self.state,
            // P and F are never both set (§6.8.7).
            poll: self.poll && !final_,
            final_,
            cpi: false,
            demand: false,
            detect_mult: self.cfg.detect_mult,
            my_discr: self.local_discr,
            your_discr: self.remote_discr,
            desired_min_tx: self.adv_tx,
            required_min_rx: self.adv_rx,
            required_min_echo_rx: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        Config {
            min_tx: 100_000,
            min_rx: 100_000,
            idle_tx: 1_000_000,
            detect_mult: 3,
            passive: false,
        }
    }

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    /// Runs both sessions over a lossless wire from `from` to `to` ms in 1 ms steps; returns
    /// the events of `a`.
    fn run(a: &mut Session, b: &mut Session, from: u64, to: u64, b_alive: bool) -> Vec<Event> {
        let mut evs = Vec::new();
        for t in from..to {
            let now = at(t);
            evs.extend(a.tick(now));
            if b_alive {
                b.tick(now);
                if let Some(p) = b.transmit(now) {
                    let p = ControlPacket::parse(&p.to_bytes()).unwrap();
                    evs.extend(a.receive(&p, now).unwrap());
                }
            }
            if let Some(p) = a.transmit(now) {
                if b_alive {
                    let p = ControlPacket::parse(&p.to_bytes()).unwrap();
                    // An AdminDown peer discards what it gets.
                    let _ = b.receive(&p, now);
                }
            }
        }
        evs
    }

    #[test]
    fn two_sessions_come_up_through_init_and_speed_up() {
        let mut a = Session::new(cfg(), 11, 1, at(0));
        let mut b = Session::new(cfg(), 22, 2, at(0));
        let evs = run(&mut a, &mut b, 0, 3000, true);
        let states: Vec<_> = evs.iter().map(|e| e.to).collect();
        assert_eq!(states, vec![State::Init, State::Up], "a went Down -> Init -> Up");
        assert_eq!(b.state(), State::Up);
        assert_eq!(a.remote_discr(), 22);
        // Up: the fast interval after the poll for the TX change completed.
        assert!(!a.polling());
        assert_eq!(a.tx_interval(), Some(Duration::from_millis(100)));
        assert_eq!(a.detection_time(), Some(Duration::from_millis(300)));
    }

    #[test]
    fn a_silent_peer_times_out_to_down_with_diag_1() {
        let mut a = Session::new(cfg(), 11, 1, at(0));
        let mut b = Session::new(cfg(), 22, 2, at(0));
        run(&mut a, &mut b, 0, 3000, true);
        assert_eq!(a.state(), State::Up);
        // The peer's last packet came at most one (jittered) 100 ms interval before 3000: the
        // 300 ms detection time ends between 3200 and 3300.
        let evs = run(&mut a, &mut b, 3000, 3200, false);
        assert!(evs.is_empty(), "still Up before the detection time: {evs:?}");
        let evs = run(&mut a, &mut b, 3200, 3301, false);
        assert_eq!(
            evs,
            vec![Event {
                from: State::Up,
                to: State::Down,
                diag: Diag::ControlDetectionTimeExpired
            }]
        );
        assert_eq!(a.remote_discr(), 0);
        // Down again: slow transmission, your discriminator 0.
        let p = a.transmit(at(10_000)).unwrap();
        assert_eq!((p.state, p.your_discr, p.desired_min_tx), (State::Down, 0, 1_000_000));
    }

    #[test]
    fn a_peer_admin_down_takes_the_session_down_with_diag_3() {
        let mut a = Session::new(cfg(), 11, 1, at(0));
        let mut b = Session::new(cfg(), 22, 2, at(0));
        run(&mut a, &mut b, 0, 3000, true);
        b.set_admin_down(true, at(3000));
        let evs = run(&mut a, &mut b, 3000, 3100, true);
        assert_eq!(
            evs,
            vec![Event { from: State::Up, to: State::Down, diag: Diag::NeighborSignaledDown }]
        );
        // Down while the peer stays AdminDown: no Init, no detection timeout.
        assert!(run(&mut a, &mut b, 3100, 8000, true).is_empty());
        assert_eq!(a.state(), State::Down);
        // The peer back: up again.
        b.set_admin_down(false, at(8000));
        run(&mut a, &mut b, 8000, 12_000, true);
        assert_eq!(a.state(), State::Up);
    }

    #[test]
    fn a_poll_is_answered_with_final_and_ends_the_sequence() {
        let mut a = Session::new(cfg(), 11, 1, at(0));
        let mut b = Session::new(cfg(), 22, 2, at(0));
        run(&mut a, &mut b, 0, 3000, true);
        // A slower TX while Up: advertised at once, used only when the poll completes.
        a.set_intervals(200_000, 100_000);
        assert!(a.polling());
        assert_eq!(a.tx_interval(), Some(Duration::from_millis(100)));
        let p = a.transmit(at(4000)).unwrap();
        assert!(p.poll && !p.final_);
        assert_eq!(p.desired_min_tx, 200_000);
        b.receive(&p, at(4000)).unwrap();
        let f = b.transmit(at(4000)).expect("the final is sent at once");
        assert!(f.final_ && !f.poll);
        a.receive(&f, at(4000)).unwrap();
        assert!(!a.polling());
        assert_eq!(a.tx_interval(), Some(Duration::from_millis(200)));
        // The peer's detection time follows our slower TX.
        assert_eq!(b.detection_time(), Some(Duration::from_millis(600)));
    }

    #[test]
    fn a_reduced_rx_keeps_the_old_detection_time_until_the_final() {
        let mut a = Session::new(cfg(), 11, 1, at(0));
        let mut b = Session::new(Config { min_tx: 50_000, ..cfg() }, 22, 2, at(0));
        run(&mut a, &mut b, 0, 3000, true);
        assert_eq!(a.detection_time(), Some(Duration::from_millis(300)));
        a.set_intervals(100_000, 50_000);
        assert_eq!(a.detection_time(), Some(Duration::from_millis(300)), "old RX during the poll");
        run(&mut a, &mut b, 3000, 3500, true);
        assert!(!a.polling());
        assert_eq!(a.detection_time(), Some(Duration::from_millis(150)));
    }

    #[test]
    fn a_passive_session_waits_for_its_peer() {
        let mut a = Session::new(Config { passive: true, ..cfg() }, 11, 1, at(0));
        for t in 0..5000 {
            assert!(a.transmit(at(t)).is_none());
        }
        let mut b = Session::new(cfg(), 22, 2, at(0));
        run(&mut a, &mut b, 5000, 9000, true);
        assert_eq!(a.state(), State::Up);
    }

    #[test]
    fn a_foreign_discriminator_and_admin_down_are_discarded() {
        let mut a = Session::new(cfg(), 11, 1, at(0));
        let mut b = Session::new(cfg(), 22, 2, at(0));
        let mut p = b.transmit(at(0)).unwrap();
        p.your_discr = 99;
        assert_eq!(a.receive(&p, at(0)), Err(Discard::WrongDiscriminator(99)));
        a.set_admin_down(true, at(0));
        p.your_discr = 0;
        assert_eq!(a.receive(&p, at(0)), Err(Discard::AdminDown));
        let out = a.transmit(at(0)).unwrap();
        assert_eq!((out.state, out.diag), (State::AdminDown, Diag::AdministrativelyDown));
    }

    #[test]
    fn jitter_stays_within_the_rfc_bounds() {
        for mult in [1u8, 3] {
            let mut a = Session::new(Config { detect_mult: mult, ..cfg() }, 11, 7, at(0));
            let (lo, hi) = if mult == 1 { (750, 900) } else { (750, 1000) };
            let mut t = 0;
            let mut seen = std::collections::BTreeSet::new();
            for _ in 0..200 {
                a.transmit(at(t)).unwrap();
                let gap = a.next_deadline().as_millis() - t;
                assert!((lo..=hi).contains(&gap), "mult {mult}: gap {gap} ms");
                seen.insert(gap);
                t += gap;
            }
            assert!(seen.len() > 5, "the gaps vary: {seen:?}");
        }
    }

    proptest::proptest! {
        /// Whatever the peer sends, in any order and at any pace, the session neither panics
        /// nor leaves the RFC's bounds: its packets parse, it is never Up with an unknown peer,
        /// and it never sends twice at the same instant.
        #[test]
        fn any_datagrams_at_any_pace_keep_the_session_sane(
            records in proptest::collection::vec(
                (0u64..2000, proptest::collection::vec(proptest::prelude::any::<u8>(), 24..=24)), 0..64)
        ) {
            let mut s = Session::new(cfg(), 11, 3, at(0));
            let mut t = 0;
            for (step, mut bytes) in records {
                t += step;
                let now = at(t);
                s.tick(now);
                // Make most datagrams valid so that the state machine is reached.
                bytes[0] = 0x20 | (bytes[0] & 0x1f);
                bytes[1] &= !0x05;
                bytes[3] = 24;
                if let Ok(p) = ControlPacket::parse(&bytes) {
                    let _ = s.receive(&p, now);
                }
                if let Some(out) = s.transmit(now) {
                    proptest::prop_assert_eq!(ControlPacket::parse(&out.to_bytes()), Ok(out));
                }
                proptest::prop_assert!(s.state() != State::Up || s.remote_discr() != 0);
                // No burst: whatever arrived, one call sends at most one packet per instant.
                proptest::prop_assert!(s.transmit(now).is_none());
            }
        }
    }
}
