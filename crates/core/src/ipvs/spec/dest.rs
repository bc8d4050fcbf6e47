//! A real server of a service ([`DestSpec`]) and how packets reach it ([`FwdMethod`]).

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

use super::{ServiceKey, SpecError, TunInfo};

/// Largest real-server weight.
pub const MAX_WEIGHT: u32 = 65_535;
/// Largest connection threshold (`-x`, `-y`), C `INT_MAX`.
pub const MAX_THRESHOLD: u32 = i32::MAX as u32;

/// Forwarding method of a real server, and of each connection to it. One byte (`repr(u8)`), so
/// a connection entry stores it as it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum FwdMethod {
    /// NAT (`-m`): destination rewritten, replies come back through the director.
    Masq = 0,
    /// The director itself serves (shown as `Local`, saved as `-g`); never forwarded.
    Local = 1,
    /// IP tunnelling (`-i`): IPIP, GUE or GRE encapsulation; replies bypass the director.
    Tunnel = 2,
    /// Direct routing (`-g`, the default): only the MAC is rewritten; replies bypass the
    /// director.
    Route = 3,
    /// Full NAT (`-b` on a real server): both addresses rewritten, source from a local address.
    FullNat = 4,
    /// Source NAT (`-J`): outbound traffic leaves from a local address.
    Snat = 5,
}

impl FwdMethod {
    /// Name in listings (`Forward` column).
    pub fn name(self) -> &'static str {
        match self {
            FwdMethod::Masq => "Masq",
            FwdMethod::Local => "Local",
            FwdMethod::Tunnel => "Tunnel",
            FwdMethod::Route => "Route",
            FwdMethod::FullNat => "FullNat",
            FwdMethod::Snat => "SNAT",
        }
    }
    /// Option written by `-S`.
    pub fn switch(self) -> &'static str {
        match self {
            FwdMethod::Masq => "-m",
            FwdMethod::Tunnel => "-i",
            FwdMethod::Local | FwdMethod::Route => "-g",
            FwdMethod::FullNat => "-b",
            FwdMethod::Snat => "-J",
        }
    }
    /// Whether the real server must listen on the virtual port (DR and TUN do not rewrite ports).
    pub fn keeps_port(self) -> bool {
        matches!(self, FwdMethod::Route | FwdMethod::Tunnel)
    }
    /// Whether replies pass through the director, so a connection's out-direction tuple is
    /// indexed.
    pub const fn sees_replies(self) -> bool {
        matches!(self, FwdMethod::Masq | FwdMethod::FullNat | FwdMethod::Snat)
    }
    /// Whether the out direction goes to a local address of the director rather than to the
    /// client.
    pub const fn uses_local_addr(self) -> bool {
        matches!(self, FwdMethod::FullNat | FwdMethod::Snat)
    }
}

/// A real server (dest) of a service as configured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestSpec {
    /// Real server address.
    pub addr: IpAddr,
    /// Real server port (the virtual port for DR and TUN).
    pub port: u16,
    /// Forwarding method.
    pub fwd: FwdMethod,
    /// Weight 0..=65535; 0 = quiescent (no new connections).
    pub weight: u32,
    /// Upper connection threshold (`-x`), 0 = none.
    pub upper: u32,
    /// Lower connection threshold (`-y`), 0 = none.
    pub lower: u32,
    /// Tunnel details (only for `Tunnel`).
    pub tun: Option<TunInfo>,
}

impl DestSpec {
    /// A dest with ipvsadm's defaults: direct routing, weight 1, no thresholds.
    pub fn new(addr: IpAddr, port: u16) -> DestSpec {
        DestSpec { addr, port, fwd: FwdMethod::Route, weight: 1, upper: 0, lower: 0, tun: None }
    }

    /// Rules every dest of `service` must satisfy.
    pub fn validate(&self, service: &ServiceKey) -> Result<(), SpecError> {
        if self.weight > MAX_WEIGHT {
            return Err(SpecError::WeightRange(self.weight));
        }
        if self.upper > MAX_THRESHOLD {
            return Err(SpecError::IllegalUThreshold);
        }
        if self.lower > MAX_THRESHOLD {
            return Err(SpecError::IllegalLThreshold);
        }
        if self.lower > self.upper {
            return Err(SpecError::ThresholdOrder);
        }
        if self.addr.is_ipv4() != service.addr.is_ipv4() && self.fwd != FwdMethod::Tunnel {
            return Err(SpecError::DifferentFamily);
        }
        if self.tun.is_some() && self.fwd != FwdMethod::Tunnel {
            return Err(SpecError::TunnelOptionsConflict);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::spec::Protocol;

    #[test]
    fn dest_validation() {
        let k = ServiceKey { proto: Protocol::Tcp, addr: "10.0.0.1".parse().unwrap(), port: 80 };
        let mut d = DestSpec::new("10.0.0.2".parse().unwrap(), 80);
        d.weight = 65_536;
        assert_eq!(d.validate(&k), Err(SpecError::WeightRange(65_536)));
        d.weight = 65_535;
        assert_eq!(d.validate(&k), Ok(()));
        d.lower = 5;
        assert_eq!(d.validate(&k), Err(SpecError::ThresholdOrder));
        d.upper = 5;
        assert_eq!(d.validate(&k), Ok(()));
        d.addr = "2001:db8::1".parse().unwrap();
        assert_eq!(d.validate(&k), Err(SpecError::DifferentFamily));
        d.fwd = FwdMethod::Tunnel;
        assert_eq!(d.validate(&k), Ok(()));
        d.fwd = FwdMethod::Masq;
        d.addr = "10.0.0.2".parse().unwrap();
        d.tun = Some(TunInfo::default());
        assert_eq!(d.validate(&k), Err(SpecError::TunnelOptionsConflict));
    }

    #[test]
    fn forward_names_switches_and_paths() {
        let all = [
            (FwdMethod::Masq, "Masq", "-m", true, false),
            (FwdMethod::Local, "Local", "-g", false, false),
            (FwdMethod::Tunnel, "Tunnel", "-i", false, false),
            (FwdMethod::Route, "Route", "-g", false, false),
            (FwdMethod::FullNat, "FullNat", "-b", true, true),
            (FwdMethod::Snat, "SNAT", "-J", true, true),
        ];
        for (m, n, s, replies, local) in all {
            assert_eq!((m.name(), m.switch()), (n, s));
            assert_eq!((m.sees_replies(), m.uses_local_addr()), (replies, local), "{n}");
        }
        assert_eq!(std::mem::size_of::<FwdMethod>(), 1);
    }
}
