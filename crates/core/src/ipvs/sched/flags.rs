//! Scheduler flags, as given to ipvsadm's `-b` and printed by `-L`/`-S`.
//!
//! There are three generic flags; `sh` and `mh` give the first two their own names:
//! flag-1 is `sh-fallback`/`mh-fallback`, flag-2 is `sh-port`/`mh-port`. They are the same bits,
//! so `-s sh -b flag-1` enables fallback exactly like `-s sh -b sh-fallback`.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{SchedError, SchedKind};

/// A set of scheduler flags (`-b`). Serialized as its bits (bit 0 = flag-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(from = "u8", into = "u8")]
pub struct SchedFlags(u8);

impl From<u8> for SchedFlags {
    fn from(bits: u8) -> Self {
        SchedFlags::from_bits(bits)
    }
}

impl From<SchedFlags> for u8 {
    fn from(f: SchedFlags) -> u8 {
        f.bits()
    }
}

/// Flag names and bits, in the order ipvsadm prints them per scheduler.
const GENERIC: [(&str, u8); 3] = [("flag-1", 1), ("flag-2", 2), ("flag-3", 4)];
const SH: [(&str, u8); 3] = [("sh-fallback", 1), ("sh-port", 2), ("flag-3", 4)];
const MH: [(&str, u8); 3] = [("mh-fallback", 1), ("mh-port", 2), ("flag-3", 4)];

impl SchedFlags {
    /// No flags.
    pub const NONE: SchedFlags = SchedFlags(0);
    /// flag-1.
    pub const FLAG_1: SchedFlags = SchedFlags(1);
    /// flag-2.
    pub const FLAG_2: SchedFlags = SchedFlags(2);
    /// flag-3.
    pub const FLAG_3: SchedFlags = SchedFlags(4);
    /// `sh`: if the hashed dest cannot take the connection, use the next one in the table.
    pub const SH_FALLBACK: SchedFlags = Self::FLAG_1;
    /// `sh`: hash the client port too, not only its address.
    pub const SH_PORT: SchedFlags = Self::FLAG_2;
    /// `mh`: if the hashed dest cannot take the connection, use the next one in the table.
    pub const MH_FALLBACK: SchedFlags = Self::FLAG_1;
    /// `mh`: hash the client port too, not only its address.
    pub const MH_PORT: SchedFlags = Self::FLAG_2;

    /// The flags from their bits (bit 0 = flag-1, bit 1 = flag-2, bit 2 = flag-3; others ignored).
    pub const fn from_bits(bits: u8) -> Self {
        SchedFlags(bits & 7)
    }

    /// Bit 0 = flag-1, bit 1 = flag-2, bit 2 = flag-3.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Both sets of flags.
    pub const fn union(self, other: SchedFlags) -> Self {
        SchedFlags(self.0 | other.0)
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: SchedFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// flag-1 is set.
    pub const fn flag_1(self) -> bool {
        self.contains(Self::FLAG_1)
    }
    /// flag-2 is set.
    pub const fn flag_2(self) -> bool {
        self.contains(Self::FLAG_2)
    }
    /// flag-3 is set.
    pub const fn flag_3(self) -> bool {
        self.contains(Self::FLAG_3)
    }
    /// `sh-fallback` (flag-1) is set.
    pub const fn sh_fallback(self) -> bool {
        self.flag_1()
    }
    /// `sh-port` (flag-2) is set.
    pub const fn sh_port(self) -> bool {
        self.flag_2()
    }
    /// `mh-fallback` (flag-1) is set.
    pub const fn mh_fallback(self) -> bool {
        self.flag_1()
    }
    /// `mh-port` (flag-2) is set.
    pub const fn mh_port(self) -> bool {
        self.flag_2()
    }

    /// Parses a comma-separated `-b` list for a service using `sched` (if known yet). Empty items
    /// are skipped. `sh-*` names are refused for other schedulers than `sh`, `mh-*` likewise.
    pub fn parse_for(s: &str, sched: Option<SchedKind>) -> Result<Self, SchedError> {
        let mut flags = SchedFlags::NONE;
        for item in s.split(',').filter(|i| !i.is_empty()) {
            let (bit, owner) = match item {
                "flag-1" => (Self::FLAG_1, None),
                "flag-2" => (Self::FLAG_2, None),
                "flag-3" => (Self::FLAG_3, None),
                "sh-fallback" => (Self::SH_FALLBACK, Some(SchedKind::Sh)),
                "sh-port" => (Self::SH_PORT, Some(SchedKind::Sh)),
                "mh-fallback" => (Self::MH_FALLBACK, Some(SchedKind::Mh)),
                "mh-port" => (Self::MH_PORT, Some(SchedKind::Mh)),
                _ => return Err(SchedError::InvalidFlag(item.to_string())),
            };
            if let (Some(owner), Some(sched)) = (owner, sched) {
                if owner != sched {
                    return Err(SchedError::IncompatibleFlag { flag: item.to_string(), sched });
                }
            }
            flags = flags.union(bit);
        }
        Ok(flags)
    }

    /// The flags as `-L` and `-S` print them for a service using `sched`: comma-separated, with
    /// `sh-*`/`mh-*` names for those schedulers; empty when no flag is set.
    pub fn display_for(self, sched: SchedKind) -> FlagsDisplay {
        FlagsDisplay { flags: self, sched }
    }
}

/// Parses without knowing the scheduler: every flag name is accepted.
impl FromStr for SchedFlags {
    type Err = SchedError;
    fn from_str(s: &str) -> Result<Self, SchedError> {
        Self::parse_for(s, None)
    }
}

/// Generic names (`flag-1,flag-3`); see [`SchedFlags::display_for`] for per-scheduler names.
impl fmt::Display for SchedFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_names(f, self.0, &GENERIC)
    }
}

/// [`SchedFlags`] printed with the names of one scheduler.
#[derive(Debug, Clone, Copy)]
pub struct FlagsDisplay {
    flags: SchedFlags,
    sched: SchedKind,
}

impl fmt::Display for FlagsDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = match self.sched {
            SchedKind::Sh => &SH,
            SchedKind::Mh => &MH,
            _ => &GENERIC,
        };
        write_names(f, self.flags.0, names)
    }
}

fn write_names(f: &mut fmt::Formatter<'_>, bits: u8, names: &[(&str, u8); 3]) -> fmt::Result {
    let mut sep = "";
    for (name, bit) in names {
        if bits & bit != 0 {
            write!(f, "{sep}{name}")?;
            sep = ",";
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_shared_bits() {
        let f: SchedFlags = "sh-fallback,sh-port".parse().unwrap();
        assert!(f.sh_fallback() && f.sh_port() && !f.flag_3());
        assert_eq!(f, "flag-1,flag-2".parse().unwrap());
        assert!(f.mh_fallback() && f.mh_port(), "mh-* share flag-1/flag-2");
        let f: SchedFlags = "flag-3".parse().unwrap();
        assert!(f.flag_3() && !f.flag_1() && !f.flag_2());
        assert_eq!("".parse::<SchedFlags>(), Ok(SchedFlags::NONE));
        assert_eq!("mh-port,,".parse::<SchedFlags>(), Ok(SchedFlags::MH_PORT));
    }

    #[test]
    fn bad_flags_are_named() {
        let e = "sh-port,sh-fallbak".parse::<SchedFlags>().unwrap_err();
        assert_eq!(e, SchedError::InvalidFlag("sh-fallbak".into()));
        assert!(e.to_string().contains("`sh-fallbak'"));
        let e = SchedFlags::parse_for("mh-port", Some(SchedKind::Sh)).unwrap_err();
        assert_eq!(
            e,
            SchedError::IncompatibleFlag { flag: "mh-port".into(), sched: SchedKind::Sh }
        );
        assert_eq!(e.to_string(), "incompatible scheduler flag `mh-port' for scheduler sh");
        assert!(SchedFlags::parse_for("sh-port", Some(SchedKind::Wlc)).is_err());
        assert_eq!(SchedFlags::parse_for("flag-2", Some(SchedKind::Wlc)), Ok(SchedFlags::FLAG_2));
        assert_eq!(SchedFlags::parse_for("sh-port", Some(SchedKind::Sh)), Ok(SchedFlags::SH_PORT));
    }

    #[test]
    fn printed_with_the_schedulers_names() {
        let all = SchedFlags::from_bits(7);
        assert_eq!(all.display_for(SchedKind::Sh).to_string(), "sh-fallback,sh-port,flag-3");
        assert_eq!(all.display_for(SchedKind::Mh).to_string(), "mh-fallback,mh-port,flag-3");
        assert_eq!(all.display_for(SchedKind::Rr).to_string(), "flag-1,flag-2,flag-3");
        assert_eq!(SchedFlags::SH_PORT.display_for(SchedKind::Sh).to_string(), "sh-port");
        assert_eq!(SchedFlags::NONE.display_for(SchedKind::Sh).to_string(), "");
        assert_eq!(SchedFlags::FLAG_1.union(SchedFlags::FLAG_3).to_string(), "flag-1,flag-3");
        // Printed flags parse back to the same set.
        for bits in 0..8 {
            let f = SchedFlags::from_bits(bits);
            for k in [SchedKind::Sh, SchedKind::Mh, SchedKind::Wrr] {
                assert_eq!(SchedFlags::parse_for(&f.display_for(k).to_string(), Some(k)), Ok(f));
            }
        }
    }
}
