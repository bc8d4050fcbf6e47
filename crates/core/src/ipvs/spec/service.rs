//! A virtual service: its key ([`ServiceKey`]), its configuration ([`ServiceSpec`]) and the
//! persistence granularity ([`Netmask`]).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use super::{Protocol, ServiceLimits, SpecError, MAX_TIMEOUT_S};
use crate::ipvs::sched::{SchedFlags, SchedKind};

/// Persistence timeout used when `-p` is given without a value: 300 s, as ipvsadm documents it
/// (its manual page) and as rvs's CLI reference fixes it. ipvsadm 1.31's library actually sends
/// `6*60` = 360 s; rvs follows the documented value.
pub const DEFAULT_PERSISTENCE_S: u32 = 300;
/// Scheduler used when `-s` is not given (ipvsadm's default).
pub const DEFAULT_SCHEDULER: SchedKind = SchedKind::Wlc;

/// Identity of a virtual service: protocol, virtual address and port (0 = all ports).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ServiceKey {
    /// Transport protocol.
    pub proto: Protocol,
    /// Virtual address (VIP).
    pub addr: IpAddr,
    /// Virtual port; 0 means every port (persistent services only).
    pub port: u16,
}

/// Persistence granularity (`-M`): a dotted mask for IPv4 services, a prefix length for IPv6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Netmask {
    /// IPv4 mask; any 32-bit value is accepted, as ipvsadm does.
    V4(Ipv4Addr),
    /// IPv6 prefix length, 1..=128.
    V6(u8),
}

impl Netmask {
    /// The per-host default for the family of `addr` (/32 or /128).
    pub fn host(addr: IpAddr) -> Netmask {
        match addr {
            IpAddr::V4(_) => Netmask::V4(Ipv4Addr::BROADCAST),
            IpAddr::V6(_) => Netmask::V6(128),
        }
    }
    /// True for /32 and /128 (listings then omit the mask).
    pub fn is_host(self) -> bool {
        matches!(self, Netmask::V4(m) if m == Ipv4Addr::BROADCAST) || self == Netmask::V6(128)
    }
}

impl fmt::Display for Netmask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Netmask::V4(m) => write!(f, "{m}"),
            Netmask::V6(p) => write!(f, "{p}"),
        }
    }
}

/// A virtual service as configured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSpec {
    /// Protocol, address, port.
    pub key: ServiceKey,
    /// Scheduler (`wlc` by default); serialized by its name.
    pub scheduler: SchedKind,
    /// Scheduler flags.
    pub flags: SchedFlags,
    /// Persistence timeout in seconds; `None` = not persistent.
    pub persistence: Option<u32>,
    /// Persistence granularity.
    pub netmask: Netmask,
    /// One-packet scheduling (UDP only).
    pub one_packet: bool,
    /// Persistence engine name, if any (rvs has none: [`ServiceSpec::validate`] refuses it).
    pub pe: Option<String>,
    /// FULLNAT: carry the client's address to the real server in TCP option 254 (TOA). Not an
    /// ipvsadm option: set from rvsd's config (`toa = true`), absent from `-S` output.
    #[serde(default)]
    pub toa: bool,
    /// SYN proxy (DPVS's `--synproxy`): the director answers SYNs with SYN cookies and opens
    /// the real server's connection only for clients that complete the handshake (TCP, NAT
    /// and FULLNAT dests; see `ipvs::synproxy`). An rvs extension to ipvsadm, saved by `-S`.
    #[serde(default)]
    pub synproxy: bool,
    /// Sloppy TCP (IPVS's `sloppy_tcp`, per service here): a TCP packet other than a SYN with
    /// no connection opens one, so a DR or TUN flow that ECMP moved from another director of a
    /// scale-out group goes on to the real server the same consistent scheduler (`mh`, `sh`)
    /// picks there. UDP needs nothing: any datagram opens a connection. rvsadm `--sloppy`,
    /// TOML `sloppy = true`.
    #[serde(default)]
    pub sloppy: bool,
    /// Admission limits (connection limit, per-source rate, allow and deny lists): rvs
    /// extensions, `--conn-limit`, `--source-rate`, `--allow`, `--deny`; see `spec::limits`.
    /// Boxed and `None` when nothing is limited, so a spec without limits stays small (it
    /// travels inside the control protocol's enums); read with [`ServiceSpec::limits`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Box<ServiceLimits>>,
}

impl ServiceSpec {
    /// A service with ipvsadm's defaults: `wlc`, not persistent, host mask.
    pub fn new(key: ServiceKey) -> ServiceSpec {
        ServiceSpec {
            key,
            scheduler: DEFAULT_SCHEDULER,
            flags: SchedFlags::default(),
            persistence: None,
            netmask: Netmask::host(key.addr),
            one_packet: false,
            pe: None,
            toa: false,
            synproxy: false,
            sloppy: false,
            limits: None,
        }
    }

    /// The service's limits (all unset when it has none).
    pub fn limits(&self) -> &ServiceLimits {
        static NONE: ServiceLimits = ServiceLimits::NONE;
        self.limits.as_deref().unwrap_or(&NONE)
    }

    /// Sets the limits; `None` is kept when `l` limits nothing, so equal limits compare equal.
    pub fn set_limits(&mut self, l: ServiceLimits) {
        self.limits = (!l.is_unset()).then(|| Box::new(l));
    }

    /// Rules every service must satisfy wherever it comes from.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.key.port == 0 && self.persistence.is_none() {
            return Err(SpecError::ZeroPortNotPersistent);
        }
        if self.one_packet && self.key.proto != Protocol::Udp {
            return Err(SpecError::OnePacketNotUdp);
        }
        if self.synproxy && self.key.proto != Protocol::Tcp {
            return Err(SpecError::SynproxyNotTcp);
        }
        if let Some(t) = self.persistence {
            if t == 0 || t > MAX_TIMEOUT_S {
                return Err(SpecError::InvalidTimeout(t.to_string()));
            }
        }
        match (self.key.addr, self.netmask) {
            (IpAddr::V4(_), Netmask::V4(_)) => {}
            (IpAddr::V6(_), Netmask::V6(p)) if (1..=128).contains(&p) => {}
            (IpAddr::V6(_), Netmask::V6(_)) => return Err(SpecError::IllegalIpv6Netmask),
            _ => return Err(SpecError::IllegalNetmask),
        }
        if self.pe.is_some() {
            return Err(SpecError::SchedulerNotFound);
        }
        self.limits().validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::spec::{DestSpec, FwdMethod};

    fn key(port: u16) -> ServiceKey {
        ServiceKey { proto: Protocol::Tcp, addr: "10.0.0.1".parse().unwrap(), port }
    }

    #[test]
    fn service_defaults_are_ipvsadm_defaults() {
        let s = ServiceSpec::new(key(80));
        assert_eq!(s.scheduler, SchedKind::Wlc);
        assert_eq!(s.netmask, Netmask::V4(Ipv4Addr::new(255, 255, 255, 255)));
        assert!(s.netmask.is_host());
        assert_eq!(s.persistence, None);
        assert_eq!(s.validate(), Ok(()));
        let d = DestSpec::new("10.0.0.2".parse().unwrap(), 80);
        assert_eq!((d.fwd, d.weight), (FwdMethod::Route, 1));
    }

    #[test]
    fn zero_port_needs_persistence() {
        let mut s = ServiceSpec::new(key(0));
        assert_eq!(s.validate(), Err(SpecError::ZeroPortNotPersistent));
        s.persistence = Some(DEFAULT_PERSISTENCE_S);
        assert_eq!(s.validate(), Ok(()));
        s.persistence = Some(MAX_TIMEOUT_S + 1);
        assert_eq!(s.validate(), Err(SpecError::InvalidTimeout((MAX_TIMEOUT_S + 1).to_string())));
    }

    #[test]
    fn one_packet_only_udp_and_persistence_engines_refused() {
        let mut s = ServiceSpec::new(key(53));
        s.one_packet = true;
        assert_eq!(s.validate(), Err(SpecError::OnePacketNotUdp));
        s.key.proto = Protocol::Udp;
        assert_eq!(s.validate(), Ok(()));
        s.pe = Some("sip".into());
        assert_eq!(s.validate(), Err(SpecError::SchedulerNotFound));
    }

    #[test]
    fn netmask_must_match_the_family() {
        let mut s = ServiceSpec::new(key(80));
        s.netmask = Netmask::V6(64);
        assert_eq!(s.validate(), Err(SpecError::IllegalNetmask));
        s.key.addr = "2001:db8::1".parse().unwrap();
        assert_eq!(s.validate(), Ok(()));
        s.netmask = Netmask::V6(0);
        assert_eq!(s.validate(), Err(SpecError::IllegalIpv6Netmask));
    }

    #[test]
    fn serde_names_the_scheduler() {
        let mut s = ServiceSpec::new(key(80));
        s.scheduler = SchedKind::Sh;
        s.flags = SchedFlags::SH_PORT;
        let text = toml::to_string(&s).unwrap();
        assert!(text.contains("scheduler = \"sh\""), "{text}");
        assert!(text.contains("flags = 2"), "{text}");
        assert_eq!(toml::from_str::<ServiceSpec>(&text).unwrap(), s);
        let bad = text.replace("\"sh\"", "\"fancy\"");
        assert!(toml::from_str::<ServiceSpec>(&bad).is_err());
    }
}
