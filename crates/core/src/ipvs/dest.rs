//! Real servers (dests): their configuration in a snapshot ([`Dest`]) and one worker core's
//! share of their connection thresholds ([`CoreThresholds`]).
//!
//! Owns the mapping from a [`DestSpec`] to what the forwarding path needs, and the overload
//! rule of `-x`/`-y`. It does not count connections itself (the per-core balancer does and asks
//! [`CoreThresholds`] whether a dest is overloaded), schedule, or touch packets.
//!
//! # Thresholds on several cores
//! IPVS compares a dest's total connections (active + inactive) with its thresholds. Here every
//! worker core counts only its own connections, and reading other cores' counts on the packet
//! path would break "share nothing". So each threshold is split across the `n` cores: core `k`
//! gets `floor(t * (k + 1) / n) - floor(t * k / n)`, shares that differ by at most one and add up
//! to exactly `t`. With RSS spreading clients evenly this admits the configured number of
//! connections overall; a core whose share is 0 (a threshold below the core count) takes no new
//! connection for that dest at all.
//!
//! Per core, as in IPVS: the dest becomes overloaded when a new connection brings its total to
//! the upper share or beyond; it takes connections again once its total falls below the lower
//! share, or, with no lower threshold, below three quarters of the upper share. A lower
//! threshold whose share rounds to 0 re-enables the dest when its last connection on the core
//! goes.

use std::net::{IpAddr, Ipv4Addr};

use super::spec::{DestSpec, FwdMethod, TunEncap};

/// One dest of a service in a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dest {
    /// Real server address.
    pub addr: Ipv4Addr,
    /// Real server port (ignored by DR and TUN, which keep the virtual port; 0 on a port-0
    /// service means "the port the client asked for").
    pub port: u16,
    /// Forwarding method.
    pub fwd: FwdMethod,
    /// Weight; 0 = quiescent (no new connections, existing ones continue).
    pub weight: u32,
    /// Upper connection threshold (`-x`), 0 = none.
    pub upper: u32,
    /// Lower connection threshold (`-y`), 0 = none.
    pub lower: u32,
    /// TUN: the encapsulation.
    pub tun: Option<TunEncap>,
}

impl Dest {
    /// The dest of a spec, or why the data plane cannot forward to it.
    pub fn from_spec(d: &DestSpec) -> Result<Dest, &'static str> {
        let IpAddr::V4(addr) = d.addr else { return Err("IPv6 real servers are not forwarded") };
        let tun = match d.fwd {
            FwdMethod::Masq | FwdMethod::Route | FwdMethod::FullNat => None,
            FwdMethod::Tunnel => Some(d.tun.unwrap_or_default().encap()?),
            FwdMethod::Local => return Err("the director does not serve locally"),
            FwdMethod::Snat => {
                return Err("SNAT is configured with SNAT rules, not as a real server")
            }
        };
        let fwd = d.fwd;
        Ok(Dest { addr, port: d.port, fwd, weight: d.weight, upper: d.upper, lower: d.lower, tun })
    }
}

/// The share of `t` core `k` of `n` gets (see the module documentation).
pub fn core_share(t: u32, core: usize, n_cores: usize) -> u32 {
    let n = n_cores.max(1) as u64;
    let k = (core as u64).min(n - 1);
    let t = u64::from(t);
    (t * (k + 1) / n - t * k / n) as u32
}

/// One core's share of a dest's thresholds and the overload rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CoreThresholds {
    /// Upper share, `None` when the dest has no upper threshold.
    upper: Option<u32>,
    /// Lower share, `None` when the dest has no lower threshold.
    lower: Option<u32>,
}

impl CoreThresholds {
    /// The shares of core `core` of `n_cores` of thresholds `upper`/`lower` (0 = none).
    pub fn new(upper: u32, lower: u32, core: usize, n_cores: usize) -> Self {
        CoreThresholds {
            upper: (upper != 0).then(|| core_share(upper, core, n_cores)),
            lower: (lower != 0).then(|| core_share(lower, core, n_cores)),
        }
    }

    /// The upper share, if any.
    pub fn upper(&self) -> Option<u32> {
        self.upper
    }

    /// Whether a dest with `total` connections on this core (the new one included) is
    /// overloaded after a connection was bound to it.
    pub fn overloaded_after_bind(&self, total: u64) -> bool {
        matches!(self.upper, Some(u) if total >= u64::from(u))
    }

    /// Whether an overloaded dest with `total` connections on this core takes connections
    /// again (checked when one is unbound).
    pub fn recovered_after_unbind(&self, total: u64) -> bool {
        match (self.upper, self.lower) {
            (None, _) => true,
            (Some(0), _) => false,
            (Some(_), Some(l)) => total < u64::from(l.max(1)),
            (Some(u), None) => total * 4 < u64::from(u) * 3,
        }
    }

    /// Whether a dest with these shares is overloaded with `total` connections, judged afresh
    /// (after a threshold change).
    pub fn overloaded_now(&self, total: u64, was_overloaded: bool) -> bool {
        match self.upper {
            None => false,
            Some(0) => true,
            Some(u) if total >= u64::from(u) => true,
            Some(_) => was_overloaded && !self.recovered_after_unbind(total),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shares_add_up_and_differ_by_at_most_one() {
        for t in [0u32, 1, 2, 3, 7, 10, 100, 1001, u32::MAX] {
            for n in 1..9 {
                let s: Vec<u32> = (0..n).map(|k| core_share(t, k, n)).collect();
                assert_eq!(s.iter().map(|&x| u64::from(x)).sum::<u64>(), u64::from(t), "{t} {n}");
                let (lo, hi) = (s.iter().min().unwrap(), s.iter().max().unwrap());
                assert!(hi - lo <= 1, "{t} {n} {s:?}");
            }
        }
        assert_eq!(core_share(3, 0, 4), 0);
        assert_eq!(core_share(3, 9, 4), core_share(3, 3, 4), "out-of-range core clamps");
    }

    #[test]
    fn overload_rule_one_core() {
        // -x 4: overloaded at 4, back below 3/4 * 4 = 3.
        let t = CoreThresholds::new(4, 0, 0, 1);
        assert!(!t.overloaded_after_bind(3));
        assert!(t.overloaded_after_bind(4));
        assert!(!t.recovered_after_unbind(3));
        assert!(t.recovered_after_unbind(2));
        // -x 10 -y 5: back below 5.
        let t = CoreThresholds::new(10, 5, 0, 1);
        assert!(t.overloaded_after_bind(10));
        assert!(!t.recovered_after_unbind(5));
        assert!(t.recovered_after_unbind(4));
        // No thresholds: never overloaded.
        let t = CoreThresholds::new(0, 0, 0, 1);
        assert!(!t.overloaded_after_bind(u64::MAX));
        assert!(t.recovered_after_unbind(u64::MAX));
        assert!(!t.overloaded_now(1 << 40, true));
    }

    #[test]
    fn zero_share_takes_nothing_and_small_lower_share_needs_an_empty_core() {
        // -x 1 on two cores: core 0 gets 0, core 1 gets 1.
        let c0 = CoreThresholds::new(1, 0, 0, 2);
        assert_eq!(c0.upper(), Some(0));
        assert!(c0.overloaded_now(0, false));
        assert!(!c0.recovered_after_unbind(0));
        let c1 = CoreThresholds::new(1, 0, 1, 2);
        assert!(!c1.overloaded_now(0, false));
        assert!(c1.overloaded_after_bind(1));
        // -x 4 -y 1 on two cores: lower shares 0 and 1; core 0 recovers only when empty.
        let c0 = CoreThresholds::new(4, 1, 0, 2);
        assert!(!c0.recovered_after_unbind(1));
        assert!(c0.recovered_after_unbind(0));
    }

    #[test]
    fn from_spec_maps_methods() {
        use crate::ipvs::spec::{TunCsum, TunInfo, TunType};
        let mut d = DestSpec::new("10.0.0.2".parse().unwrap(), 8080);
        d.weight = 3;
        d.fwd = FwdMethod::Masq;
        let got = Dest::from_spec(&d).unwrap();
        assert_eq!((got.fwd, got.weight, got.port, got.tun), (FwdMethod::Masq, 3, 8080, None));
        d.fwd = FwdMethod::Tunnel;
        assert_eq!(Dest::from_spec(&d).unwrap().tun, Some(TunEncap::Ipip));
        d.tun = Some(TunInfo { kind: TunType::Gue, port: 6080, csum: TunCsum::Csum });
        assert_eq!(
            Dest::from_spec(&d).unwrap().tun,
            Some(TunEncap::Gue { port: 6080, csum: TunCsum::Csum })
        );
        d.fwd = FwdMethod::Route;
        d.tun = None;
        assert_eq!(Dest::from_spec(&d).unwrap().fwd, FwdMethod::Route);
        d.fwd = FwdMethod::FullNat;
        assert_eq!(Dest::from_spec(&d).unwrap().fwd, FwdMethod::FullNat);
        d.fwd = FwdMethod::Local;
        assert!(Dest::from_spec(&d).is_err());
    }

    proptest! {
        /// Binding one at a time from empty, a dest is overloaded exactly when its count reaches
        /// the upper share; unbinding from there, it recovers at the documented point.
        #[test]
        fn hysteresis(upper in 1u32..50, lower_frac in 0u32..101, n in 1usize..5, k in 0usize..5) {
            let lower = upper * lower_frac / 100;
            let t = CoreThresholds::new(upper, lower, k, n);
            let u = u64::from(core_share(upper, k, n));
            if u == 0 {
                prop_assert!(t.overloaded_now(0, false));
            } else {
                for total in 1..=u {
                    prop_assert_eq!(t.overloaded_after_bind(total), total >= u);
                }
                let l = u64::from(core_share(lower, k, n));
                for total in 0..u {
                    let want = if lower != 0 { total < l.max(1) } else { total * 4 < u * 3 };
                    prop_assert_eq!(t.recovered_after_unbind(total), want);
                }
            }
        }
    }
}
