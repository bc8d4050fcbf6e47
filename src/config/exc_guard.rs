//! `[arp_limit]`, `[exception_classes]` and `[exception_classes_from_kernel]`: the per-worker ARP
//! rate limit and the per-(port, class) rate limits of the exception path, towards the kernel and
//! from it (issue 14, items 5 and 6; see docs/hardening/floods.md). Raw keys, defaults and checks
//! live together here; every table is optional and every key has a protective default.
//!
//! It owns only these three tables; `[neigh]` and `[exception]` (the aggregate to/from-kernel
//! limits) stay where they are.

use serde::Deserialize;

use super::error::{invalid, Invalid};
use crate::net::exc_class::DEFAULT_CLASS_RATES;
use crate::net::exc_from_kernel::DEFAULT_FROM_KERNEL_CLASS_RATES;
use crate::net::stack::{DEFAULT_ARP_BURST, DEFAULT_ARP_PPS};
use crate::net::{ClassRate, ExcClass};

/// Largest burst a bucket may bank (as `[exception]`'s bursts).
const MAX_BURST: u64 = 1_000_000;

/// `[arp_limit]`: ARP packets one worker processes per second (0 = unlimited) and its burst.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawArpLimit {
    pub pps: u64,
    pub burst: u64,
}

impl Default for RawArpLimit {
    fn default() -> Self {
        RawArpLimit { pps: DEFAULT_ARP_PPS, burst: DEFAULT_ARP_BURST }
    }
}

/// One class's `{ pps = N, burst = M }`; a missing key keeps the class's default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRate {
    pub pps: Option<u64>,
    pub burst: Option<u64>,
}

/// `[exception_classes]` and `[exception_classes_from_kernel]`: one inline table per class, by
/// its metric label name.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawExceptionClasses {
    pub arp: RawRate,
    pub icmp: RawRate,
    pub routing: RawRate,
    pub ssh: RawRate,
    pub replies: RawRate,
    pub other: RawRate,
}

/// `[arp_limit]` and `[exception_classes]`, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExcGuard {
    /// ARP packets per second per worker; 0 = unlimited.
    pub arp_pps: u64,
    /// ARP packets banked.
    pub arp_burst: u64,
    /// Per (port, class) rates to the kernel, per worker, by [`ExcClass`] discriminant.
    pub classes: [ClassRate; ExcClass::COUNT],
    /// Per (port, class) rates of what the kernel sends out of a port, per worker, by
    /// [`ExcClass`] discriminant.
    pub from_kernel_classes: [ClassRate; ExcClass::COUNT],
}

fn burst(key: String, b: u64) -> Result<u64, Invalid> {
    if !(1..=MAX_BURST).contains(&b) {
        return Err(invalid(key, format!("{b} packets: give 1 to {MAX_BURST}")));
    }
    Ok(b)
}

/// Checks the tables; errors name the key (`arp_limit.burst`, `exception_classes.ssh.burst`,
/// `exception_classes_from_kernel.other.burst`).
pub(crate) fn check_exc_guard(
    arp: &RawArpLimit,
    classes: &RawExceptionClasses,
    from_kernel: &RawExceptionClasses,
) -> Result<ExcGuard, Invalid> {
    let arp_burst = burst("arp_limit.burst".into(), arp.burst)?;
    Ok(ExcGuard {
        arp_pps: arp.pps,
        arp_burst,
        classes: class_rates("exception_classes", classes, DEFAULT_CLASS_RATES)?,
        from_kernel_classes: class_rates(
            "exception_classes_from_kernel",
            from_kernel,
            DEFAULT_FROM_KERNEL_CLASS_RATES,
        )?,
    })
}

/// One table's rates: each class's keys over its default.
fn class_rates(
    table: &str,
    classes: &RawExceptionClasses,
    defaults: [ClassRate; ExcClass::COUNT],
) -> Result<[ClassRate; ExcClass::COUNT], Invalid> {
    let raw = [
        &classes.arp,
        &classes.icmp,
        &classes.routing,
        &classes.ssh,
        &classes.replies,
        &classes.other,
    ];
    let mut out = defaults;
    for ((class, r), slot) in ExcClass::ALL.iter().zip(raw).zip(out.iter_mut()) {
        let pps = r.pps.unwrap_or(slot.pps);
        let b = burst(format!("{table}.{}.burst", class.name()), r.burst.unwrap_or(slot.burst))?;
        *slot = ClassRate { pps, burst: b };
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::net::ExcClass;

    fn base() -> String {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/conf/lab-dr.toml")).unwrap()
    }

    #[test]
    fn defaults_without_the_tables() {
        let c = Config::from_toml_str(&base()).unwrap();
        let g = c.exc_guard();
        assert_eq!((g.arp_pps, g.arp_burst), (2000, 200));
        assert_eq!(g.classes[ExcClass::Replies as usize].pps, 4000);
    }

    #[test]
    fn keys_override_one_class_and_errors_name_the_key() {
        let t = base()
            + "\n[arp_limit]\npps = 50\nburst = 5\n\n[exception_classes]\nother = { pps = 10 }\nssh = { pps = 7, burst = 3 }\n";
        let c = Config::from_toml_str(&t).unwrap();
        let g = c.exc_guard();
        assert_eq!((g.arp_pps, g.arp_burst), (50, 5));
        assert_eq!(g.classes[ExcClass::Other as usize].pps, 10);
        assert_eq!(g.classes[ExcClass::Other as usize].burst, 100, "default burst kept");
        assert_eq!(g.classes[ExcClass::Ssh as usize].burst, 3);
        let bad = base() + "\n[exception_classes]\nssh = { burst = 0 }\n";
        let e = Config::from_toml_str(&bad).unwrap_err().to_string();
        assert!(e.contains("exception_classes.ssh.burst"), "{e}");
        let bad = base() + "\n[exception_classes]\ntelnet = { pps = 1 }\n";
        assert!(Config::from_toml_str(&bad).is_err());
    }

    #[test]
    fn the_kernel_side_table_has_its_own_defaults_keys_and_errors() {
        let c = Config::from_toml_str(&base()).unwrap();
        let g = c.exc_guard();
        assert_eq!(
            g.from_kernel_classes,
            crate::net::exc_from_kernel::DEFAULT_FROM_KERNEL_CLASS_RATES
        );
        let t = base()
            + "\n[exception_classes_from_kernel]\nother = { pps = 50, burst = 5 }\nreplies = { pps = 0 }\n";
        let c = Config::from_toml_str(&t).unwrap();
        let g = c.exc_guard();
        let other = g.from_kernel_classes[ExcClass::Other as usize];
        assert_eq!((other.pps, other.burst), (50, 5));
        assert_eq!(g.from_kernel_classes[ExcClass::Replies as usize].pps, 0, "0: unlimited");
        assert_eq!(g.classes[ExcClass::Other as usize].pps, 1000, "the other direction unchanged");
        let bad = base() + "\n[exception_classes_from_kernel]\nother = { burst = 2000000 }\n";
        let e = Config::from_toml_str(&bad).unwrap_err().to_string();
        assert!(e.contains("exception_classes_from_kernel.other.burst"), "{e}");
        let bad = base() + "\n[exception_classes_from_kernel]\nssh = { rate = 1 }\n";
        assert!(Config::from_toml_str(&bad).is_err());
    }
}
