//! The virtual services as the data plane sees them: an immutable [`Services`] snapshot.
//!
//! Owns [`Services`] (every IPv4 virtual service with its dests, local addresses, the SNAT
//! rules and the protocol timeouts, plus a generation number), [`Service`] and [`SnatMatch`],
//! and the build from the load balancer's vocabulary ([`crate::ipvs::spec`]: service and dest
//! specs, local addresses, SNAT rules, timeouts, as the control plane's table validated them).
//! It must not hold per-core state
//! (connection counts, scheduler positions, port pools: that is the per-core
//! [`crate::ipvs::balancer::Balancer`]) and never changes once built: the control plane builds a
//! new snapshot for every change (allocation is fine there) and hands it to every worker as an
//! `Arc<Services>`, which each worker applies between bursts.
//!
//! # What the data plane cannot carry
//! The packet path is IPv4 only, and some spec values have no forwarding code. Building skips
//! them and says so in [`Services::skipped`] instead of refusing the whole configuration:
//! IPv6 services, dests and rules; dests forwarded as `Local` (the director serving itself) or
//! `SNAT` inside a virtual service (SNAT is configured with rules); GRE tunnels.
//!
//! # Lookup
//! [`Services::find`] is one hash probe for (protocol, VIP, port), and on a miss one for
//! (protocol, VIP, 0): a port-0 service (persistent, all ports) catches every port of its VIP
//! that has no service of its own, as IPVS does.

use std::net::{IpAddr, Ipv4Addr};
use std::ops::Range;
use std::sync::Arc;

use hashbrown::HashMap;
use thiserror::Error;

use super::dest::Dest;
use super::limits::SvcLimits;
use super::proto::StateTimeouts;
use super::sched::{MhTableSize, SchedFlags, SchedKind};
use super::spec::{
    AddrRange, DestSpec, FwdMethod, LocalAddrSpec, Netmask, Protocol, ServiceKey, ServiceSpec,
    SnatRule, Timeouts,
};
use crate::wire::IpProtocol;

/// Why a snapshot could not be built. Values the spec validated never fail; these guard
/// against producers that skipped validation.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ServicesError {
    /// A timeout is out of range.
    #[error(transparent)]
    Timeout(#[from] super::proto::TimeoutError),
    /// Two services with the same protocol, address and port.
    #[error("service {0} is defined twice")]
    Duplicate(String),
}

/// One IPv4 virtual service of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Transport protocol.
    pub proto: Protocol,
    /// Virtual address.
    pub addr: Ipv4Addr,
    /// Virtual port; 0 = every port (persistent services only).
    pub port: u16,
    /// Scheduler.
    pub sched: SchedKind,
    /// Scheduler flags (`-b`).
    pub flags: SchedFlags,
    /// Persistence timeout in seconds (`-p`), `None` when not persistent.
    pub persistence: Option<u32>,
    /// Persistence netmask (`-M`).
    pub netmask: Ipv4Addr,
    /// One-packet scheduling (`-o`, UDP only): every datagram is scheduled on its own and no
    /// connection is kept.
    pub one_packet: bool,
    /// FULLNAT: carry the client address to the real server in a TCP option (TOA).
    pub toa: bool,
    /// SYN proxy on: TCP, and every dest NAT or FULLNAT (see [`crate::ipvs::synproxy`]).
    pub synproxy: bool,
    /// Sloppy TCP: a mid-flow TCP packet may open a DR/TUN connection (see
    /// [`crate::ipvs::spec::ServiceSpec::sloppy`]).
    pub sloppy: bool,
    /// Admission limits (connection limit, per-source rate, allow and deny lists), compiled
    /// once here and shared by every core; `None` when the service has none.
    pub limits: Option<Arc<SvcLimits>>,
    /// Local addresses (`-P -z`) for FULLNAT dests.
    pub laddrs: Vec<Ipv4Addr>,
    /// This service's dests in [`Services::dests`].
    pub dests: Range<usize>,
}

impl Service {
    /// The service's key in the spec.
    pub fn key(&self) -> ServiceKey {
        ServiceKey { proto: self.proto, addr: IpAddr::V4(self.addr), port: self.port }
    }
}

/// A SNAT rule of a snapshot: which traffic from inside leaves from which WAN address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnatMatch {
    /// Source addresses matched (inclusive), `None` = any.
    pub src: Option<(Ipv4Addr, Ipv4Addr)>,
    /// Destination addresses matched (inclusive), `None` = any.
    pub dst: Option<(Ipv4Addr, Ipv4Addr)>,
    /// Protocol matched, `None` = TCP and UDP.
    pub proto: Option<IpProtocol>,
    /// The WAN address the traffic leaves from.
    pub out_addr: Ipv4Addr,
    /// TCP handshakes go through the SYN proxy before a port is taken.
    pub synproxy: bool,
}

impl SnatMatch {
    /// The data plane's form of a rule; `None` for IPv6 (not forwarded).
    pub fn from_rule(r: &SnatRule) -> Option<SnatMatch> {
        let (Ok(src), Ok(dst), IpAddr::V4(out_addr)) =
            (v4_range(&r.src), v4_range(&r.dst), r.out_addr)
        else {
            return None;
        };
        Some(SnatMatch { src, dst, proto: r.proto.ip_proto(), out_addr, synproxy: r.synproxy })
    }

    /// Whether a packet `proto` from `src` to `dst` matches.
    #[inline]
    pub fn matches(&self, proto: IpProtocol, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        let within = |r: Option<(Ipv4Addr, Ipv4Addr)>, a: Ipv4Addr| {
            r.map_or(true, |(lo, hi)| lo <= a && a <= hi)
        };
        let any = matches!(proto, IpProtocol::TCP | IpProtocol::UDP | IpProtocol::ICMP);
        self.proto.map_or(any, |p| p == proto) && within(self.src, src) && within(self.dst, dst)
    }
}

/// Options of a build that the spec does not carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildOptions {
    /// Generation number of the snapshot (the control plane counts its changes).
    pub generation: u64,
    /// Maglev table size for `mh` services.
    pub mh_table_size: MhTableSize,
    /// Whether TOA may be used at all: a service carries it when this and its own `toa` are set.
    pub toa: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions { generation: 0, mh_table_size: MhTableSize::DEFAULT, toa: true }
    }
}

/// An immutable snapshot of the data plane's configuration. See the module documentation.
#[derive(Debug, Clone, Default)]
pub struct Services {
    generation: u64,
    mh_table_size: MhTableSize,
    services: Vec<Service>,
    dests: Vec<Dest>,
    index: HashMap<(IpProtocol, Ipv4Addr, u16), u32>,
    snat: Vec<SnatMatch>,
    timeouts: StateTimeouts,
    skipped: Vec<String>,
}

fn svc_name(key: &ServiceKey) -> String {
    match key.addr {
        IpAddr::V4(a) => format!("{} {}:{}", key.proto.name(), a, key.port),
        IpAddr::V6(a) => format!("{} [{}]:{}", key.proto.name(), a, key.port),
    }
}

fn v4_range(r: &Option<AddrRange>) -> Result<Option<(Ipv4Addr, Ipv4Addr)>, ()> {
    match r {
        None => Ok(None),
        Some(AddrRange { first: IpAddr::V4(a), last: IpAddr::V4(b) }) => Ok(Some((*a, *b))),
        Some(_) => Err(()),
    }
}

impl Services {
    /// A snapshot with no service, no rule and default timeouts.
    pub fn empty() -> Self {
        Services::default()
    }

    /// The same snapshot under another generation number.
    pub fn with_generation(mut self, generation: u64) -> Self {
        self.generation = generation;
        self
    }

    /// Builds a snapshot from specs: services with their dests, local addresses by service,
    /// SNAT rules and the `--set` timeouts. Values the data plane cannot carry are skipped and
    /// listed in [`Services::skipped`].
    pub fn build<'a>(
        services: impl IntoIterator<Item = (&'a ServiceSpec, &'a [DestSpec])>,
        laddrs: &[(ServiceKey, LocalAddrSpec)],
        snat: &[SnatRule],
        timeouts: Timeouts,
        opts: BuildOptions,
    ) -> Result<Services, ServicesError> {
        let mut t = StateTimeouts::default();
        t.set(timeouts)?;
        let mut out = Services {
            generation: opts.generation,
            mh_table_size: opts.mh_table_size,
            timeouts: t,
            ..Services::default()
        };
        for (spec, dests) in services {
            let name = svc_name(&spec.key);
            let IpAddr::V4(addr) = spec.key.addr else {
                out.skipped.push(format!("{name}: IPv6 services are not forwarded"));
                continue;
            };
            let netmask = match spec.netmask {
                Netmask::V4(m) => m,
                Netmask::V6(_) => Ipv4Addr::BROADCAST,
            };
            let proto = spec.key.proto;
            let idx = out.services.len() as u32;
            if out.index.insert((proto.ip_proto(), addr, spec.key.port), idx).is_some() {
                return Err(ServicesError::Duplicate(name));
            }
            let first = out.dests.len();
            for d in dests {
                match Dest::from_spec(d) {
                    Ok(d) => out.dests.push(d),
                    Err(why) => out.skipped.push(format!("{name} -> {}:{}: {why}", d.addr, d.port)),
                }
            }
            let mut svc_laddrs = Vec::new();
            for (_, l) in laddrs.iter().filter(|(k, _)| *k == spec.key) {
                match l.addr {
                    IpAddr::V4(a) => svc_laddrs.push(a),
                    IpAddr::V6(a) => {
                        out.skipped.push(format!("{name}: IPv6 local address {a} not used"))
                    }
                }
            }
            let has_fullnat = out.dests[first..].iter().any(|d| d.fwd == FwdMethod::FullNat);
            out.services.push(Service {
                proto,
                addr,
                port: spec.key.port,
                sched: spec.scheduler,
                flags: spec.flags,
                persistence: spec.persistence,
                netmask,
                one_packet: spec.one_packet && proto == Protocol::Udp,
                toa: opts.toa && spec.toa && has_fullnat && proto == Protocol::Tcp,
                synproxy: spec.synproxy
                    && proto == Protocol::Tcp
                    && out.dests[first..]
                        .iter()
                        .all(|d| matches!(d.fwd, FwdMethod::Masq | FwdMethod::FullNat)),
                sloppy: spec.sloppy && proto == Protocol::Tcp,
                limits: SvcLimits::compile(spec.limits()).map(Arc::new),
                laddrs: svc_laddrs,
                dests: first..out.dests.len(),
            });
        }
        for r in snat {
            let Some(m) = SnatMatch::from_rule(r) else {
                out.skipped
                    .push(format!("SNAT rule via {}: IPv6 rules are not forwarded", r.out_addr));
                continue;
            };
            out.snat.push(m);
        }
        Ok(out)
    }

    /// The generation number given at build.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The Maglev table size for `mh` services.
    pub fn mh_table_size(&self) -> MhTableSize {
        self.mh_table_size
    }

    /// Every service, by index.
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// Every dest of every service, by index; [`Service::dests`] is a range of it.
    pub fn dests(&self) -> &[Dest] {
        &self.dests
    }

    /// The dests of service `svc` (empty for an unknown index).
    pub fn dests_of(&self, svc: &Service) -> &[Dest] {
        self.dests.get(svc.dests.clone()).unwrap_or(&[])
    }

    /// The SNAT rules, in order.
    pub fn snat(&self) -> &[SnatMatch] {
        &self.snat
    }

    /// The protocol timeouts.
    pub fn timeouts(&self) -> &StateTimeouts {
        &self.timeouts
    }

    /// What the build left out, one line each.
    pub fn skipped(&self) -> &[String] {
        &self.skipped
    }

    /// The service for a packet `proto` to `vip:port`: the exact one, else the VIP's port-0
    /// service. One or two hash probes, no allocation.
    #[inline]
    pub fn find(&self, proto: IpProtocol, vip: Ipv4Addr, port: u16) -> Option<u32> {
        self.index.get(&(proto, vip, port)).or_else(|| self.index.get(&(proto, vip, 0))).copied()
    }

    /// The first SNAT rule matching a packet, by index.
    #[inline]
    pub fn snat_match(&self, proto: IpProtocol, src: Ipv4Addr, dst: Ipv4Addr) -> Option<usize> {
        self.snat.iter().position(|r| r.matches(proto, src, dst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::spec::{SnatProto, TunInfo, TunType};

    fn key(proto: Protocol, addr: &str, port: u16) -> ServiceKey {
        ServiceKey { proto, addr: addr.parse().unwrap(), port }
    }

    #[test]
    fn find_prefers_exact_port_then_port_zero() {
        let mut p0 = ServiceSpec::new(key(Protocol::Tcp, "10.0.0.100", 0));
        p0.persistence = Some(300);
        let s80 = ServiceSpec::new(key(Protocol::Tcp, "10.0.0.100", 80));
        let u53 = ServiceSpec::new(key(Protocol::Udp, "10.0.0.100", 53));
        let d = [DestSpec::new("10.0.1.1".parse().unwrap(), 80)];
        let s = Services::build(
            [(&p0, &d[..]), (&s80, &d[..]), (&u53, &[][..])],
            &[],
            &[],
            Timeouts::default(),
            BuildOptions::default(),
        )
        .unwrap();
        let vip = Ipv4Addr::new(10, 0, 0, 100);
        assert_eq!(s.find(IpProtocol::TCP, vip, 80), Some(1));
        assert_eq!(s.find(IpProtocol::TCP, vip, 443), Some(0));
        assert_eq!(s.find(IpProtocol::UDP, vip, 53), Some(2));
        assert_eq!(s.find(IpProtocol::UDP, vip, 54), None, "no UDP port-0 service");
        assert_eq!(s.find(IpProtocol::TCP, Ipv4Addr::new(10, 0, 0, 101), 80), None);
        assert_eq!(s.dests_of(&s.services()[1]).len(), 1);
        assert_eq!(s.services()[1].key(), s80.key);
    }

    #[test]
    fn unforwardable_values_are_skipped_and_named() {
        let s4 = ServiceSpec::new(key(Protocol::Tcp, "10.0.0.100", 80));
        let s6 = ServiceSpec::new(key(Protocol::Tcp, "2001:db8::1", 80));
        let mut local = DestSpec::new("10.0.1.1".parse().unwrap(), 80);
        local.fwd = FwdMethod::Local;
        let mut gre = DestSpec::new("10.0.1.2".parse().unwrap(), 80);
        gre.fwd = FwdMethod::Tunnel;
        gre.tun = Some(TunInfo { kind: TunType::Gre, ..Default::default() });
        let ok = DestSpec::new("10.0.1.3".parse().unwrap(), 80);
        let d4 = [local, gre, ok];
        let s = Services::build(
            [(&s4, &d4[..]), (&s6, &[][..])],
            &[],
            &[],
            Timeouts { tcp: 10, tcpfin: 0, udp: 7 },
            BuildOptions::default(),
        )
        .unwrap();
        assert_eq!(s.services().len(), 1);
        assert_eq!(s.dests().len(), 1);
        assert_eq!(s.dests()[0].addr, Ipv4Addr::new(10, 0, 1, 3));
        assert_eq!(s.skipped().len(), 3, "{:?}", s.skipped());
        assert!(s.skipped().iter().any(|l| l.contains("GRE")));
        assert_eq!(s.timeouts().ipvsadm(), Timeouts { tcp: 10, tcpfin: 120, udp: 7 });
    }

    #[test]
    fn duplicate_refused() {
        let a = ServiceSpec::new(key(Protocol::Tcp, "10.0.0.100", 80));
        let e = Services::build(
            [(&a, &[][..]), (&a, &[][..])],
            &[],
            &[],
            Timeouts::default(),
            BuildOptions::default(),
        )
        .unwrap_err();
        assert_eq!(e, ServicesError::Duplicate("TCP 10.0.0.100:80".into()));
    }

    #[test]
    fn snat_rules_match_ranges_and_protocol() {
        let r = |src: Option<(&str, &str)>, proto| SnatRule {
            src: src
                .map(|(a, b)| AddrRange { first: a.parse().unwrap(), last: b.parse().unwrap() }),
            dst: None,
            proto,
            out_addr: "203.0.113.1".parse().unwrap(),
            synproxy: false,
        };
        let rules =
            [r(Some(("192.168.0.10", "192.168.0.20")), SnatProto::Udp), r(None, SnatProto::Any)];
        let s =
            Services::build([], &[], &rules, Timeouts::default(), BuildOptions::default()).unwrap();
        let a = |x: &str| x.parse::<Ipv4Addr>().unwrap();
        let out = a("8.8.8.8");
        assert_eq!(s.snat_match(IpProtocol::UDP, a("192.168.0.15"), out), Some(0));
        assert_eq!(s.snat_match(IpProtocol::TCP, a("192.168.0.15"), out), Some(1));
        assert_eq!(s.snat_match(IpProtocol::UDP, a("192.168.0.21"), out), Some(1));
        assert_eq!(
            s.snat_match(IpProtocol::ICMP, a("192.168.0.15"), out),
            Some(1),
            "'any' takes ICMP echo too"
        );
        assert_eq!(
            s.snat_match(IpProtocol::GRE, a("192.168.0.15"), out),
            None,
            "but not other protocols"
        );
        assert!(s.snat()[0].matches(IpProtocol::UDP, a("192.168.0.10"), out));
        assert!(s.snat()[0].matches(IpProtocol::UDP, a("192.168.0.20"), out));
    }
}
