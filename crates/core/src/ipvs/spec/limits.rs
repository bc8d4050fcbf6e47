//! A service's admission limits as configured: [`ServiceLimits`] (connection limit, per-source
//! new-connection rate, allow and deny lists) and [`Ipv4Prefix`], with the rules every value
//! must satisfy wherever it comes from (rvsd's TOML, rvsadm's `--conn-limit`, `--source-rate`,
//! `--allow`, `--deny`, a restore file, the control socket).
//!
//! Owns the values and their checks only; the data plane's compiled form (the prefix sets, the
//! per-source table) is [`crate::ipvs::limits`].

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use super::SpecError;

/// Most prefixes one allow or deny list may hold.
pub const MAX_PREFIXES: usize = 65_536;
/// Highest `source_rate` (new connections per second per client address).
pub const MAX_SOURCE_RATE: u32 = 1_000_000;

/// An IPv4 prefix `a.b.c.d/len` with no bit set past `len` (a bare address is a /32).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv4Prefix {
    /// The network address (host bits clear).
    pub addr: Ipv4Addr,
    /// Prefix length, 0..=32.
    pub len: u8,
}

impl Ipv4Prefix {
    /// The mask of a `len`-bit prefix.
    pub const fn mask(len: u8) -> u32 {
        if len == 0 {
            0
        } else {
            u32::MAX << (32 - len as u32)
        }
    }

    /// The first and last address covered.
    pub fn range(self) -> (u32, u32) {
        let lo = u32::from(self.addr);
        (lo, lo | !Self::mask(self.len))
    }

    /// Whether `a` is inside the prefix.
    pub fn contains(self, a: Ipv4Addr) -> bool {
        u32::from(a) & Self::mask(self.len) == u32::from(self.addr)
    }
}

impl fmt::Display for Ipv4Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for Ipv4Prefix {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, SpecError> {
        let bad = || SpecError::BadPrefix(s.to_owned());
        let (a, len) = match s.split_once('/') {
            Some((a, l)) => (a, l.parse::<u8>().ok().filter(|l| *l <= 32).ok_or_else(bad)?),
            None => (s, 32),
        };
        let addr: Ipv4Addr = a.parse().map_err(|_| bad())?;
        if u32::from(addr) & !Self::mask(len) != 0 {
            let net = Ipv4Addr::from(u32::from(addr) & Self::mask(len));
            return Err(SpecError::PrefixHostBits(s.to_owned(), format!("{net}/{len}")));
        }
        Ok(Ipv4Prefix { addr, len })
    }
}

impl Serialize for Ipv4Prefix {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ipv4Prefix {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A service's admission limits; the default limits nothing.
///
/// - `conn_limit`: most connections the service holds at once, 0 = no limit. Each worker core
///   enforces its share, `ceil(conn_limit / workers)` (see `docs/hardening/limits.md`).
/// - `source_rate` / `source_burst`: new connections per second one client address may open to
///   the service on a worker (a token bucket of `source_burst` tokens, 0 = the rate), 0 = off.
/// - `deny`: sources refused whatever `allow` says (DPVS's blacklist); `allow`, when not empty,
///   the only sources admitted (DPVS's whitelist).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceLimits {
    /// Most connections at once (all workers together); 0 = no limit.
    pub conn_limit: u32,
    /// New connections per second per client address; 0 = no rate limit.
    pub source_rate: u32,
    /// Tokens a client's bucket banks; 0 = `source_rate`.
    pub source_burst: u32,
    /// When not empty, only these sources are admitted.
    pub allow: Vec<Ipv4Prefix>,
    /// These sources are refused (deny wins over allow).
    pub deny: Vec<Ipv4Prefix>,
}

impl ServiceLimits {
    /// Nothing limited.
    pub const NONE: ServiceLimits = ServiceLimits {
        conn_limit: 0,
        source_rate: 0,
        source_burst: 0,
        allow: Vec::new(),
        deny: Vec::new(),
    };

    /// Whether nothing is limited (the service is listed and saved as ipvsadm's).
    pub fn is_unset(&self) -> bool {
        *self == ServiceLimits::default()
    }

    /// The burst in force: `source_burst`, or the rate when 0.
    pub fn burst(&self) -> u32 {
        if self.source_burst == 0 {
            self.source_rate.max(1)
        } else {
            self.source_burst
        }
    }

    /// Rules every limit must satisfy.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.source_rate > MAX_SOURCE_RATE {
            return Err(SpecError::SourceRateRange(self.source_rate));
        }
        if self.source_burst != 0 && self.source_rate == 0 {
            return Err(SpecError::BurstWithoutRate);
        }
        if self.allow.len() > MAX_PREFIXES || self.deny.len() > MAX_PREFIXES {
            return Err(SpecError::TooManyPrefixes(self.allow.len().max(self.deny.len())));
        }
        for p in self.allow.iter().chain(&self.deny) {
            if p.len > 32 || u32::from(p.addr) & !Ipv4Prefix::mask(p.len) != 0 {
                return Err(SpecError::BadPrefix(p.to_string()));
            }
        }
        Ok(())
    }

    /// `--source-rate`'s value: `RATE` or `RATE:BURST`.
    pub fn rate_text(&self) -> String {
        if self.source_burst == 0 {
            self.source_rate.to_string()
        } else {
            format!("{}:{}", self.source_rate, self.source_burst)
        }
    }
}

/// A comma-separated prefix list (`--allow`, `--deny`); an empty word is refused.
pub fn parse_prefix_list(text: &str) -> Result<Vec<Ipv4Prefix>, SpecError> {
    let v = text.split(',').map(|w| w.trim().parse()).collect::<Result<Vec<_>, _>>()?;
    if v.len() > MAX_PREFIXES {
        return Err(SpecError::TooManyPrefixes(v.len()));
    }
    Ok(v)
}

/// The comma-separated form of a prefix list.
pub fn prefix_list_text(list: &[Ipv4Prefix]) -> String {
    let v: Vec<String> = list.iter().map(|p| p.to_string()).collect();
    v.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_parse_print_and_refuse_host_bits() {
        let p: Ipv4Prefix = "10.1.0.0/16".parse().unwrap();
        assert_eq!(p.to_string(), "10.1.0.0/16");
        assert_eq!(p.range(), (0x0A01_0000, 0x0A01_FFFF));
        assert!(p.contains("10.1.255.3".parse().unwrap()));
        assert!(!p.contains("10.2.0.0".parse().unwrap()));
        assert_eq!("1.2.3.4".parse::<Ipv4Prefix>().unwrap().len, 32);
        assert_eq!("0.0.0.0/0".parse::<Ipv4Prefix>().unwrap().range(), (0, u32::MAX));
        assert_eq!(
            "10.1.2.3/16".parse::<Ipv4Prefix>(),
            Err(SpecError::PrefixHostBits("10.1.2.3/16".into(), "10.1.0.0/16".into()))
        );
        for bad in ["", "10.0.0.0/33", "10.0.0/8", "x/8", "10.0.0.0/", "::1/128"] {
            assert_eq!(bad.parse::<Ipv4Prefix>(), Err(SpecError::BadPrefix(bad.into())), "{bad}");
        }
        assert_eq!(parse_prefix_list("1.0.0.0/8,2.2.2.2").unwrap().len(), 2);
        assert!(parse_prefix_list("1.0.0.0/8,").is_err());
    }

    #[test]
    fn limits_rules() {
        let mut l = ServiceLimits::default();
        assert!(l.is_unset());
        assert_eq!(l.validate(), Ok(()));
        l.source_burst = 5;
        assert_eq!(l.validate(), Err(SpecError::BurstWithoutRate));
        l.source_rate = MAX_SOURCE_RATE + 1;
        assert_eq!(l.validate(), Err(SpecError::SourceRateRange(MAX_SOURCE_RATE + 1)));
        l.source_rate = 10;
        assert_eq!((l.validate(), l.burst(), l.rate_text()), (Ok(()), 5, "10:5".into()));
        l.source_burst = 0;
        assert_eq!((l.burst(), l.rate_text()), (10, "10".into()));
        l.deny = vec![Ipv4Prefix { addr: "10.0.0.1".parse().unwrap(), len: 8 }];
        assert_eq!(l.validate(), Err(SpecError::BadPrefix("10.0.0.1/8".into())));
    }

    #[test]
    fn serde_uses_the_text_form() {
        let l = ServiceLimits {
            conn_limit: 3,
            allow: vec!["10.0.0.0/8".parse().unwrap()],
            ..ServiceLimits::default()
        };
        let text = toml::to_string(&l).unwrap();
        assert!(text.contains("allow = [\"10.0.0.0/8\"]"), "{text}");
        assert_eq!(toml::from_str::<ServiceLimits>(&text).unwrap(), l);
        assert!(toml::from_str::<ServiceLimits>("deny = [\"10.0.0.1/8\"]").is_err());
    }
}
