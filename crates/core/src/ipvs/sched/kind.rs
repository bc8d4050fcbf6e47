//! Scheduler names as users type them (`-s wlc`), the errors of parsing them and the flags, and
//! the factory that builds a scheduler for one worker core.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::{dh, fo, lblc, lblcr, lc, mh, nq, ovf, rr, sed, sh, twos, wlc, wrr};
use super::{SchedFlags, Scheduler};

/// Why a scheduler name, flag string or table size was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SchedError {
    /// The scheduler name is not one rvs knows.
    #[error(
        "Scheduler not found: `{0}' (choose one of rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos)"
    )]
    UnknownScheduler(String),
    /// A `-b` flag is not a scheduler flag.
    #[error("invalid scheduler flag `{0}' (choose from flag-1, flag-2, flag-3, sh-fallback, sh-port, mh-fallback, mh-port)")]
    InvalidFlag(String),
    /// A `-b` flag names another scheduler (`sh-port` with `-s mh`).
    #[error("incompatible scheduler flag `{flag}' for scheduler {sched}")]
    IncompatibleFlag {
        /// The flag as typed.
        flag: String,
        /// The service's scheduler.
        sched: SchedKind,
    },
    /// The Maglev table size is not a prime in the accepted range.
    #[error("mh table size {0} is not a prime between 2 and {max}", max = MhTableSize::MAX)]
    BadMhTableSize(u32),
}

/// The IPVS schedulers, by the names users type after `-s`. Serialized by that name.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(try_from = "String", into = "&'static str")]
pub enum SchedKind {
    /// Round robin.
    Rr,
    /// Weighted round robin.
    Wrr,
    /// Least connection.
    Lc,
    /// Weighted least connection (ipvsadm's default).
    #[default]
    Wlc,
    /// Locality-based least connection.
    Lblc,
    /// Locality-based least connection with replication.
    Lblcr,
    /// Destination hashing.
    Dh,
    /// Source hashing.
    Sh,
    /// Shortest expected delay.
    Sed,
    /// Never queue.
    Nq,
    /// Weighted failover.
    Fo,
    /// Weighted overflow.
    Ovf,
    /// Maglev hashing.
    Mh,
    /// Weighted random twos choice.
    Twos,
}

impl SchedKind {
    /// Every scheduler, in ipvsadm's listing order.
    pub const ALL: [SchedKind; 14] = [
        SchedKind::Rr,
        SchedKind::Wrr,
        SchedKind::Lc,
        SchedKind::Wlc,
        SchedKind::Lblc,
        SchedKind::Lblcr,
        SchedKind::Dh,
        SchedKind::Sh,
        SchedKind::Sed,
        SchedKind::Nq,
        SchedKind::Fo,
        SchedKind::Ovf,
        SchedKind::Mh,
        SchedKind::Twos,
    ];

    /// The name as typed after `-s` and printed by `-L`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SchedKind::Rr => "rr",
            SchedKind::Wrr => "wrr",
            SchedKind::Lc => "lc",
            SchedKind::Wlc => "wlc",
            SchedKind::Lblc => "lblc",
            SchedKind::Lblcr => "lblcr",
            SchedKind::Dh => "dh",
            SchedKind::Sh => "sh",
            SchedKind::Sed => "sed",
            SchedKind::Nq => "nq",
            SchedKind::Fo => "fo",
            SchedKind::Ovf => "ovf",
            SchedKind::Mh => "mh",
            SchedKind::Twos => "twos",
        }
    }

    /// Builds this scheduler for worker `core_id` of `n_cores`. `flags` are the service's `-b`
    /// flags (only `sh` and `mh` read them); `mh_table_size` is used by `mh` only. Call
    /// [`Scheduler::update`] with the dest list before scheduling.
    pub fn build(
        self,
        flags: SchedFlags,
        core_id: usize,
        n_cores: usize,
        mh_table_size: MhTableSize,
    ) -> Box<dyn Scheduler> {
        match self {
            SchedKind::Rr => Box::new(rr::RoundRobin::new(core_id, n_cores)),
            SchedKind::Wrr => Box::new(wrr::WeightedRoundRobin::new()),
            SchedKind::Lc => Box::new(lc::LeastConn),
            SchedKind::Wlc => Box::new(wlc::WeightedLeastConn),
            SchedKind::Lblc => Box::new(lblc::Lblc::new()),
            SchedKind::Lblcr => Box::new(lblcr::Lblcr::new()),
            SchedKind::Dh => Box::new(dh::DestHash::new()),
            SchedKind::Sh => Box::new(sh::SourceHash::new(flags)),
            SchedKind::Sed => Box::new(sed::ShortestExpectedDelay),
            SchedKind::Nq => Box::new(nq::NeverQueue),
            SchedKind::Fo => Box::new(fo::Failover),
            SchedKind::Ovf => Box::new(ovf::Overflow),
            SchedKind::Mh => Box::new(mh::Maglev::new(flags, mh_table_size)),
            SchedKind::Twos => Box::new(twos::TwoChoices::new(core_id)),
        }
    }
}

impl fmt::Display for SchedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for SchedKind {
    type Error = SchedError;
    fn try_from(s: String) -> Result<Self, SchedError> {
        s.parse()
    }
}

impl From<SchedKind> for &'static str {
    fn from(k: SchedKind) -> &'static str {
        k.as_str()
    }
}

impl FromStr for SchedKind {
    type Err = SchedError;

    fn from_str(s: &str) -> Result<Self, SchedError> {
        SchedKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| SchedError::UnknownScheduler(s.to_string()))
    }
}

/// Size of a Maglev lookup table: a prime, so every dest's skip walks the whole table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MhTableSize(u32);

impl MhTableSize {
    /// Largest accepted size (a table of `u32` indices is 4 bytes a slot per core and service).
    pub const MAX: u32 = 1 << 20;

    /// 65537 slots (2^16 + 1, prime): within 1% of fair shares up to ~650 dests.
    pub const DEFAULT: MhTableSize = MhTableSize(65537);

    /// Checks that `n` is a prime in `2..=MAX`.
    pub fn new(n: u32) -> Result<Self, SchedError> {
        if (2..=Self::MAX).contains(&n) && is_prime(n) {
            Ok(MhTableSize(n))
        } else {
            Err(SchedError::BadMhTableSize(n))
        }
    }

    /// Number of slots.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl Default for MhTableSize {
    fn default() -> Self {
        Self::DEFAULT
    }
}

fn is_prime(n: u32) -> bool {
    if n < 2 {
        return false;
    }
    let mut d = 2u32;
    while d.saturating_mul(d) <= n {
        if n % d == 0 {
            return false;
        }
        d += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in SchedKind::ALL {
            assert_eq!(k.to_string().parse::<SchedKind>(), Ok(k));
            assert_eq!(k.build(SchedFlags::NONE, 0, 1, MhTableSize::DEFAULT).name(), k.as_str());
        }
        let names: Vec<_> = SchedKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.join(" "), "rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos");
        assert_eq!(SchedKind::default(), SchedKind::Wlc);
    }

    #[test]
    fn unknown_name_is_refused_with_its_name() {
        let e = "WLC".parse::<SchedKind>().unwrap_err();
        assert_eq!(e, SchedError::UnknownScheduler("WLC".into()));
        assert!(e.to_string().starts_with("Scheduler not found: `WLC'"));
        assert!("".parse::<SchedKind>().is_err());
    }

    #[test]
    fn mh_table_size_must_be_prime_and_bounded() {
        assert_eq!(MhTableSize::new(65537).map(MhTableSize::get), Ok(65537));
        assert_eq!(MhTableSize::new(251).map(MhTableSize::get), Ok(251));
        assert!(MhTableSize::new(2).is_ok());
        for bad in [0, 1, 4, 65536, 65535, 1_048_583] {
            assert_eq!(MhTableSize::new(bad), Err(SchedError::BadMhTableSize(bad)));
        }
        assert_eq!(MhTableSize::default().get(), 65537);
    }
}
