//! Checks of `[guard]`: the per-worker flood defences of the load balancer (see
//! `rvs_core::ipvs::guard`). Every key has a protective default sized from
//! `[dataplane].conns_per_worker`; the section is only needed to change them.

use crate::config::error::{invalid, Invalid};
use crate::config::raw::RawGuard;
use crate::ipvs::guard::GuardConfig;

/// Longest SYN_RECV timeout under pressure (the normal one is 60 s).
const MAX_PRESSURE_TIMEOUT_S: u32 = 60;

fn share(key: &str, pct: u8) -> Result<u8, Invalid> {
    if !(1..=100).contains(&pct) {
        return Err(invalid(
            format!("guard.{key}"),
            format!("{pct}: give a percentage of the connection table from 1 to 100 (100 = no share of its own)"),
        ));
    }
    Ok(pct)
}

/// `[guard]` for workers whose tables hold `conns_per_worker` entries.
pub(crate) fn check_guard(raw: &RawGuard, conns_per_worker: u32) -> Result<GuardConfig, Invalid> {
    let d = GuardConfig::protective(conns_per_worker);
    let embryonic_max = raw.embryonic_max.unwrap_or(d.embryonic_max);
    if embryonic_max > conns_per_worker {
        return Err(invalid(
            "guard.embryonic_max",
            format!("{embryonic_max}: give at most dataplane.conns_per_worker ({conns_per_worker}), or 0 for no embryonic budget"),
        ));
    }
    let t = raw.syn_recv_pressure_timeout_s;
    if !(1..=MAX_PRESSURE_TIMEOUT_S).contains(&t) {
        return Err(invalid(
            "guard.syn_recv_pressure_timeout_s",
            format!("{t} s: give 1 to {MAX_PRESSURE_TIMEOUT_S}; it replaces the SYN_RECV timeout while half the embryonic budget is in use"),
        ));
    }
    if raw.reset_pps > 0 && raw.reset_burst == 0 {
        return Err(invalid(
            "guard.reset_burst",
            "0: give at least 1 (the resets one core may send at once after a quiet spell)",
        ));
    }
    Ok(GuardConfig {
        embryonic_max,
        syn_recv_pressure_timeout: t,
        tcp_share: share("tcp_share_pct", raw.tcp_share_pct)?,
        udp_share: share("udp_share_pct", raw.udp_share_pct)?,
        other_share: share("other_share_pct", raw.other_share_pct)?,
        reset_pps: raw.reset_pps,
        reset_burst: raw.reset_burst.max(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> RawGuard {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn defaults_are_protective_and_sized_from_the_table() {
        let g = check_guard(&raw(""), 20_000).unwrap();
        assert_eq!(g, GuardConfig::protective(20_000));
        assert_eq!(g.embryonic_max, 5_000);
        let g = check_guard(&raw("embryonic_max = 0\nudp_share_pct = 100"), 20_000).unwrap();
        assert_eq!((g.embryonic_max, g.udp_share), (0, 100));
    }

    #[test]
    fn bad_values_name_the_key() {
        for (text, key) in [
            ("embryonic_max = 30000", "guard.embryonic_max"),
            ("syn_recv_pressure_timeout_s = 0", "guard.syn_recv_pressure_timeout_s"),
            ("tcp_share_pct = 0", "guard.tcp_share_pct"),
            ("udp_share_pct = 101", "guard.udp_share_pct"),
            ("other_share_pct = 0", "guard.other_share_pct"),
            ("reset_burst = 0", "guard.reset_burst"),
        ] {
            assert_eq!(check_guard(&raw(text), 20_000).unwrap_err().key, key, "{text}");
        }
        assert!(toml::from_str::<RawGuard>("embryonic = 3").is_err(), "unknown keys refused");
    }
}
