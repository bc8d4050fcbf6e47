//! Rate estimation for `rvsadm -L --rate`, in the control plane (never on a worker).
//!
//! Owns [`Ewma`] (one object's smoothed rates) and [`Estimator`] (one per service and per dest,
//! keyed as the table keys them). The control plane samples the totals the workers report
//! every [`INTERVAL`] and feeds them here; listings read the rates back. Sans-IO: nothing here
//! reads a clock or asks a worker, so the maths is tested with made-up totals.
//!
//! The smoothing is IPVS's estimator, so rates read the same as on a kernel director:
//! - every 2 s the difference of each total since the last sample is turned into a per-second
//!   rate in fixed point: connections and packets scaled by 2^10 (`diff << 9`, the division by
//!   the 2 s interval folded into the shift), bytes scaled by 2^5 (`diff << 4`);
//! - each smoothed rate moves a quarter of the way to the new one: `avg += (rate - avg) >> 2`
//!   (an exponentially weighted moving average with weight 1/4, arithmetic shift);
//! - reading rounds to the nearest unit: `(avg + 0x1FF) >> 10` for CPS, InPPS, OutPPS and
//!   `(avg + 0xF) >> 5` for InBPS, OutBPS.
//!
//! An object seen for the first time in the very first sample starts from zero totals (the
//! workers counted it from their start); one that appears later starts from its totals then, so
//! a re-added service does not show its old counts as a burst. `-Z` sets the rates to zero.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use crate::proto::model::{MatchService, Rates, ServiceInfo, Stats};

use crate::ipvs::spec::{MatchSpec, ServiceKey};
use crate::time::Instant;

/// How often the totals are sampled: IPVS's 2 s.
pub const INTERVAL: Duration = Duration::from_secs(2);

/// Smoothed rates of one service or dest, in IPVS's fixed point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ewma {
    last: Stats,
    cps: i64,
    inpps: i64,
    outpps: i64,
    inbps: i64,
    outbps: i64,
}

fn smooth(avg: &mut i64, now: u64, last: u64, shift: u32) {
    // Totals only grow; a smaller one (a counter slot reused) counts as no traffic.
    let diff = now.saturating_sub(last).min(u64::MAX >> 16) as i64;
    let rate = diff << shift;
    *avg += (rate - *avg) >> 2;
}

fn read(avg: i64, round: i64, shift: u32) -> u64 {
    ((avg + round) >> shift).max(0) as u64
}

impl Ewma {
    /// An estimator whose previous sample is `totals` and whose rates are zero.
    pub fn starting_at(totals: Stats) -> Ewma {
        Ewma { last: totals, ..Ewma::default() }
    }

    /// Takes one sample, [`INTERVAL`] after the previous one.
    pub fn update(&mut self, t: Stats) {
        let l = self.last;
        smooth(&mut self.cps, t.conns, l.conns, 9);
        smooth(&mut self.inpps, t.inpkts, l.inpkts, 9);
        smooth(&mut self.outpps, t.outpkts, l.outpkts, 9);
        smooth(&mut self.inbps, t.inbytes, l.inbytes, 4);
        smooth(&mut self.outbps, t.outbytes, l.outbytes, 4);
        self.last = t;
    }

    /// The rates per second, rounded as IPVS reads them.
    pub fn rates(&self) -> Rates {
        Rates {
            cps: read(self.cps, 0x1FF, 10),
            inpps: read(self.inpps, 0x1FF, 10),
            outpps: read(self.outpps, 0x1FF, 10),
            inbps: read(self.inbps, 0xF, 5),
            outbps: read(self.outbps, 0xF, 5),
        }
    }

    /// Rates back to zero (`-Z`); the next sample counts from the current totals.
    pub fn zero(&mut self) {
        *self = Ewma::starting_at(self.last);
    }
}

/// When the next sample is due: every [`INTERVAL`] from a start, on a fixed cadence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cadence {
    next: Instant,
}

impl Cadence {
    /// The first sample is due one interval after `start`.
    pub fn new(start: Instant) -> Cadence {
        Cadence { next: start + INTERVAL }
    }

    /// Whether a sample is due at `now`; if so the next one is scheduled one interval later
    /// on the same cadence, or one interval from `now` when more than one was missed (the
    /// process was stopped): missed samples are not made up, as a late one would count a
    /// longer span as 2 s anyway.
    pub fn due(&mut self, now: Instant) -> bool {
        if now < self.next {
            return false;
        }
        self.next = self.next + INTERVAL;
        if self.next <= now {
            self.next = now + INTERVAL;
        }
        true
    }

    /// How long from `now` until the next sample.
    pub fn wait(&self, now: Instant) -> Duration {
        self.next.saturating_since(now)
    }
}

type DestId = (ServiceKey, IpAddr, u16);

/// The estimators of every service and dest. See the module documentation.
#[derive(Debug, Default)]
pub struct Estimator {
    services: HashMap<ServiceKey, Ewma>,
    dests: HashMap<DestId, Ewma>,
    sampled: bool,
    /// Match services (SNAT rules), by spec, and their SNAT addresses.
    matches: HashMap<MatchSpec, Ewma>,
    match_dests: HashMap<(MatchSpec, IpAddr), Ewma>,
    matches_sampled: bool,
}

impl Estimator {
    /// No estimator yet.
    pub fn new() -> Estimator {
        Estimator::default()
    }

    /// One sample of the raw totals (summed over workers, without `-Z` baselines). Objects no
    /// longer in `services` are forgotten.
    pub fn sample(&mut self, services: &[ServiceInfo]) {
        let first = !self.sampled;
        self.sampled = true;
        let start = |t: Stats| Ewma::starting_at(if first { Stats::default() } else { t });
        let mut svcs = HashMap::with_capacity(services.len());
        let mut dests = HashMap::new();
        for s in services {
            let key = s.spec.key;
            let mut e = self.services.get(&key).copied().unwrap_or_else(|| start(s.stats));
            e.update(s.stats);
            svcs.insert(key, e);
            for d in &s.dests {
                let id = (key, d.spec.addr, d.spec.port);
                let mut e = self.dests.get(&id).copied().unwrap_or_else(|| start(d.stats));
                e.update(d.stats);
                dests.insert(id, e);
            }
        }
        self.services = svcs;
        self.dests = dests;
    }

    /// Writes the current rates into a listing.
    pub fn fill(&self, services: &mut [ServiceInfo]) {
        for s in services {
            let key = s.spec.key;
            s.rates = self.services.get(&key).map(Ewma::rates).unwrap_or_default();
            for d in &mut s.dests {
                let id = (key, d.spec.addr, d.spec.port);
                d.rates = self.dests.get(&id).map(Ewma::rates).unwrap_or_default();
            }
        }
    }

    /// `-Z`: rates of one service (and its dests), or of all (match services included), back
    /// to zero.
    pub fn zero(&mut self, key: Option<ServiceKey>) {
        let hit = |k: &ServiceKey| key.map_or(true, |z| z == *k);
        self.services.iter_mut().filter(|(k, _)| hit(k)).for_each(|(_, e)| e.zero());
        self.dests.iter_mut().filter(|((k, _, _), _)| hit(k)).for_each(|(_, e)| e.zero());
        if key.is_none() {
            self.matches.values_mut().for_each(Ewma::zero);
            self.match_dests.values_mut().for_each(Ewma::zero);
        }
    }

    /// One sample of the match services' raw totals, as [`Estimator::sample`] for services.
    pub fn sample_matches(&mut self, matches: &[MatchService]) {
        let first = !self.matches_sampled;
        self.matches_sampled = true;
        let start = |t: Stats| Ewma::starting_at(if first { Stats::default() } else { t });
        let mut ms = HashMap::with_capacity(matches.len());
        let mut dests = HashMap::new();
        for m in matches {
            let mut e = self.matches.get(&m.spec).copied().unwrap_or_else(|| start(m.stats));
            e.update(m.stats);
            ms.insert(m.spec.clone(), e);
            for d in &m.dests {
                let id = (m.spec.clone(), d.spec.addr);
                let mut e = self.match_dests.get(&id).copied().unwrap_or_else(|| start(d.stats));
                e.update(d.stats);
                dests.insert(id, e);
            }
        }
        self.matches = ms;
        self.match_dests = dests;
    }

    /// Writes the current rates into a listing of match services.
    pub fn fill_matches(&self, matches: &mut [MatchService]) {
        for m in matches {
            m.rates = self.matches.get(&m.spec).map(Ewma::rates).unwrap_or_default();
            for d in &mut m.dests {
                let id = (m.spec.clone(), d.spec.addr);
                d.rates = self.match_dests.get(&id).map(Ewma::rates).unwrap_or_default();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::spec::{DestSpec, Protocol, ServiceSpec};
    use crate::proto::model::DestInfo;

    fn st(conns: u64, pkts: u64, bytes: u64) -> Stats {
        Stats { conns, inpkts: pkts, outpkts: pkts / 2, inbytes: bytes, outbytes: bytes / 4 }
    }

    #[test]
    fn a_steady_rate_converges_to_its_value() {
        // 1000 conn/s, 5000 pkt/s, 1 MB/s in; half the packets and a quarter of the bytes out.
        let mut e = Ewma::default();
        let mut t = Stats::default();
        for _ in 0..100 {
            t = st(t.conns + 2000, t.inpkts + 10_000, t.inbytes + 2_000_000);
            e.update(t);
        }
        assert_eq!(
            e.rates(),
            Rates { cps: 1000, inpps: 5000, outpps: 2500, inbps: 1_000_000, outbps: 250_000 }
        );
        // Traffic stops: the rates decay to zero.
        for _ in 0..100 {
            e.update(t);
        }
        assert_eq!(e.rates(), Rates::default());
    }

    #[test]
    fn hand_computed_sequence() {
        // Conns: +10, +10, +0 per 2 s. Fixed point: rate = 10 << 9 = 5120.
        //   avg1 = 0 + 5120/4 = 1280          -> (1280 + 511) >> 10 = 1
        //   avg2 = 1280 + (5120 - 1280)/4 = 2240 -> (2240 + 511) >> 10 = 2
        //   avg3 = 2240 + (0 - 2240)/4 = 1680  -> (1680 + 511) >> 10 = 2
        // Bytes: +1000, +1000, +0. rate = 1000 << 4 = 16000.
        //   avg1 = 4000 -> (4000 + 15) >> 5 = 125
        //   avg2 = 4000 + 3000 = 7000 -> 7015 >> 5 = 219
        //   avg3 = 7000 - 1750 = 5250 -> 5265 >> 5 = 164
        // Packets: +3 then +0: rate = 1536, avg1 = 384 -> 0; avg2 = 384 - 96 = 288 -> 0.
        // Out packets: +2000 once: rate = 1024000, avg1 = 256000 -> (256000 + 511) >> 10 = 250.
        let seq = [
            Stats { conns: 10, inpkts: 3, outpkts: 2000, inbytes: 1000, outbytes: 0 },
            Stats { conns: 20, inpkts: 3, outpkts: 2000, inbytes: 2000, outbytes: 0 },
            Stats { conns: 20, inpkts: 3, outpkts: 2000, inbytes: 2000, outbytes: 0 },
        ];
        let want = [
            Rates { cps: 1, inpps: 0, outpps: 250, inbps: 125, outbps: 0 },
            Rates { cps: 2, inpps: 0, outpps: 187, inbps: 219, outbps: 0 },
            Rates { cps: 2, inpps: 0, outpps: 141, inbps: 164, outbps: 0 },
        ];
        // outpps: avg2 = 256000 - 64000 = 192000 -> (192000 + 511) >> 10 = 187 (192511 < 188 * 1024);
        //         avg3 = 192000 - 48000 = 144000 -> (144000 + 511) >> 10 = 141.
        let mut e = Ewma::default();
        for (t, w) in seq.iter().zip(want) {
            e.update(*t);
            assert_eq!(e.rates(), w, "after {t:?}");
        }
        // The smoothed value goes below zero never: a negative step rounds down, not under 0.
        let mut e = Ewma::starting_at(st(0, 0, 0));
        e.update(st(1, 0, 0));
        for _ in 0..20 {
            e.update(st(1, 0, 0));
        }
        assert_eq!(e.rates().cps, 0);
    }

    #[test]
    fn cadence_is_every_two_seconds_on_a_fake_clock() {
        let t = |ms: u64| Instant::from_millis(ms);
        let mut c = Cadence::new(t(1_000));
        assert_eq!(c.wait(t(1_000)), Duration::from_secs(2));
        let due: Vec<u64> =
            (0..=60u64).map(|i| 1_000 + i * 100).filter(|&ms| c.due(t(ms))).collect();
        // On time at 3.0, 5.0, 7.0 s (a poll every 100 ms).
        assert_eq!(due, vec![3_000, 5_000, 7_000]);
        // A late poll (next was 9.0 s) samples and keeps the cadence: next at 11.0 s.
        assert!(c.due(t(10_500)));
        assert_eq!(c.wait(t(10_500)), Duration::from_millis(500));
        // Far behind (13.0 s missed too): one sample, then a new cadence from now.
        assert!(c.due(t(20_000)));
        assert_eq!(c.wait(t(20_000)), Duration::from_secs(2));
        assert!(!c.due(t(21_999)));
        assert!(c.due(t(22_000)));
        // A little late keeps the cadence.
        assert!(c.due(t(24_100)));
        assert_eq!(c.wait(t(24_100)), Duration::from_millis(1_900));
    }

    fn info(port: u16, stats: Stats, dest_stats: Stats) -> ServiceInfo {
        let key = ServiceKey { proto: Protocol::Tcp, addr: "10.0.0.1".parse().unwrap(), port };
        let mut s = ServiceInfo::new(ServiceSpec::new(key));
        s.stats = stats;
        let mut d = DestInfo::new(DestSpec::new("10.0.0.2".parse().unwrap(), port));
        d.stats = dest_stats;
        s.dests.push(d);
        s
    }

    #[test]
    fn first_sample_counts_from_zero_later_objects_from_their_totals_and_zero_resets() {
        let mut est = Estimator::new();
        est.sample(&[info(80, st(20, 0, 0), st(20, 0, 0))]);
        let mut l = [info(80, st(0, 0, 0), st(0, 0, 0)), info(81, st(0, 0, 0), st(0, 0, 0))];
        est.fill(&mut l);
        // 20 conns in the first 2 s: 10/s; a quarter of the way there: 2560 -> (2560 + 511) >> 10.
        assert_eq!((l[0].rates.cps, l[0].dests[0].rates.cps, l[1].rates.cps), (2, 2, 0));
        // Service 81 appears with 1000 connections already counted: no burst.
        est.sample(&[info(80, st(20, 0, 0), st(20, 0, 0)), info(81, st(1000, 0, 0), st(0, 0, 0))]);
        est.sample(&[info(80, st(20, 0, 0), st(20, 0, 0)), info(81, st(1002, 0, 0), st(0, 0, 0))]);
        est.fill(&mut l);
        // 81: +2 in 2 s = 1/s: avg = 0 then 1024/4 = 256 -> (256 + 511) >> 10 = 0.
        assert_eq!(l[1].rates.cps, 0);
        assert!(l[0].rates.cps > 0);
        est.zero(Some(l[0].spec.key));
        est.fill(&mut l);
        assert_eq!((l[0].rates, l[0].dests[0].rates), (Rates::default(), Rates::default()));
        // Removed services are forgotten.
        est.sample(&[]);
        est.fill(&mut l);
        assert_eq!(l[1].rates, Rates::default());
    }

    #[test]
    fn match_services_have_rates_and_only_a_full_zero_resets_them() {
        use crate::ipvs::spec::{FwdMethod, SnatProto, SnatRule};
        let rule = SnatRule {
            src: None,
            dst: None,
            proto: SnatProto::Udp,
            out_addr: "192.0.2.200".parse().unwrap(),
            synproxy: false,
        };
        let m = |conns: u64| {
            let mut m = MatchService::from_rule(&rule);
            m.stats = st(conns, 0, 0);
            m.dests[0].stats = st(conns, 0, 0);
            m
        };
        assert_eq!(m(0).dests[0].spec.fwd, FwdMethod::Snat);
        let mut est = Estimator::new();
        est.sample_matches(&[m(20)]);
        let mut l = [m(20)];
        est.fill_matches(&mut l);
        // As for services: 10/s, a quarter of the way there after one sample.
        assert_eq!((l[0].rates.cps, l[0].dests[0].rates.cps), (2, 2));
        est.zero(Some(info(80, st(0, 0, 0), st(0, 0, 0)).spec.key));
        est.fill_matches(&mut l);
        assert_eq!(l[0].rates.cps, 2, "-Z of a virtual service leaves match services alone");
        est.zero(None);
        est.fill_matches(&mut l);
        assert_eq!((l[0].rates, l[0].dests[0].rates), (Rates::default(), Rates::default()));
    }
}
