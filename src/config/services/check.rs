//! `[timeouts]` and `[[service]]`: the config-only rules, then the commands `rvsadm` would send,
//! applied to a [`ServiceTable`] in file order (service, its dests, its local addresses).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};

use crate::config::checked::{Addr, AddrKind, Port};
use crate::config::error::{invalid, Invalid};
use crate::ctrl::table::ServiceTable;
use crate::ipvs::sched::{SchedFlags, SchedKind};
use crate::ipvs::spec::{
    DestSpec, FwdMethod, LocalAddrSpec, Netmask, Protocol, ServiceKey, ServiceSpec, SpecError,
    Timeouts, TunCsum, TunInfo, TunType, DEFAULT_SCHEDULER, MAX_TIMEOUT_S,
};
use crate::proto::change::Change;

use super::errors::{model_fix, table_error, Blame};
use super::raw::{RawDest, RawService, RawTimeouts};
use super::require_addr;

/// Builds the table of `[timeouts]` and every `[[service]]`.
pub(crate) fn check_services(
    timeouts: RawTimeouts,
    raw: Vec<RawService>,
    addrs: &[Addr],
    ports: &[Port],
) -> Result<ServiceTable, Invalid> {
    let mut table = ServiceTable::new();
    let set = Change::SetTimeouts(check_timeouts(&timeouts)?);
    table.apply(&set).map_err(|e| invalid("timeouts", e.to_string()))?;
    for (i, s) in raw.iter().enumerate() {
        let c = Ctx { i, addrs, ports };
        let spec = c.service(s)?;
        let key = spec.key;
        c.apply(&mut table, Blame::Service, Change::AddService(spec.clone()))?;
        for (k, d) in s.dests.iter().enumerate() {
            let dest = c.dest(k, d, &spec, !s.laddrs.is_empty())?;
            c.apply(&mut table, Blame::Dest(k), Change::AddDest { service: key, dest })?;
        }
        for (k, l) in s.laddrs.iter().enumerate() {
            let laddr = LocalAddrSpec { addr: IpAddr::V4(c.laddr(k, l)?), ifname: None };
            c.apply(&mut table, Blame::Laddr(k), Change::AddLocalAddr { service: key, laddr })?;
        }
        if !s.laddrs.is_empty() && !s.dests.is_empty() {
            let fullnat =
                s.dests.iter().any(|d| fwd_method(d.fwd.as_deref()) == Ok(FwdMethod::FullNat));
            if !fullnat {
                return Err(invalid(
                    c.key("laddrs"),
                    "local addresses are used only by fwd = \"fullnat\" dests and this service has none: remove laddrs or make its dests fullnat",
                ));
            }
        }
    }
    Ok(table)
}

fn check_timeouts(t: &RawTimeouts) -> Result<Timeouts, Invalid> {
    for (name, v) in [("tcp", t.tcp), ("tcpfin", t.tcpfin), ("udp", t.udp)] {
        if v > MAX_TIMEOUT_S {
            return Err(invalid(
                format!("timeouts.{name}"),
                format!(
                    "{}: give seconds up to {MAX_TIMEOUT_S}, or 0 for the default",
                    SpecError::InvalidTimeout(v.to_string())
                ),
            ));
        }
    }
    Ok(Timeouts { tcp: t.tcp, tcpfin: t.tcpfin, udp: t.udp })
}

/// `fwd` as written, with ipvsadm's long names as aliases; absent = direct routing.
pub(crate) fn fwd_method(fwd: Option<&str>) -> Result<FwdMethod, String> {
    match fwd.unwrap_or("dr") {
        "dr" | "route" | "gatewaying" => Ok(FwdMethod::Route),
        "nat" | "masq" | "masquerading" => Ok(FwdMethod::Masq),
        "tun" | "ipip" | "tunnel" => Ok(FwdMethod::Tunnel),
        "fullnat" => Ok(FwdMethod::FullNat),
        "snat" => Err("SNAT is not a forwarding method of a real server in the config: declare [[snat]] rules instead".to_owned()),
        other => Err(format!("`{other}` is not a forwarding method: write \"dr\", \"nat\", \"tun\" or \"fullnat\"")),
    }
}

/// The name `fwd` is written with in the config.
pub(super) fn fwd_name(fwd: FwdMethod) -> &'static str {
    match fwd {
        FwdMethod::Route | FwdMethod::Local => "dr",
        FwdMethod::Masq => "nat",
        FwdMethod::Tunnel => "tun",
        FwdMethod::FullNat => "fullnat",
        FwdMethod::Snat => "snat",
    }
}

/// The name of a checksum mode in the config.
pub(super) fn csum_name(csum: TunCsum) -> &'static str {
    match csum {
        TunCsum::NoCsum => "nocsum",
        TunCsum::Csum => "csum",
        TunCsum::RemCsum => "remcsum",
    }
}

/// One `[[service]]` being checked.
struct Ctx<'a> {
    i: usize,
    addrs: &'a [Addr],
    ports: &'a [Port],
}

impl Ctx<'_> {
    fn key(&self, field: &str) -> String {
        format!("service[{}].{field}", self.i)
    }

    fn dest_key(&self, k: usize, field: &str) -> String {
        format!("service[{}].dest[{k}].{field}", self.i)
    }

    fn apply(&self, table: &mut ServiceTable, blame: Blame, cmd: Change) -> Result<(), Invalid> {
        // The table changes nothing when it refuses, so it still shows what the command met.
        table.apply(&cmd).map_err(|e| table_error(self.i, blame, &cmd, e, table))
    }

    /// The `-A` of this service, with the config-only rules checked.
    fn service(&self, s: &RawService) -> Result<ServiceSpec, Invalid> {
        if s.fwmark.is_some() {
            let (_, fix) = model_fix(&SpecError::FwmarkUnsupported);
            return Err(invalid(
                self.key("fwmark"),
                format!("{}: {fix}", SpecError::FwmarkUnsupported),
            ));
        }
        let proto = match s.proto.as_deref() {
            Some("tcp") => Protocol::Tcp,
            Some("udp") => Protocol::Udp,
            Some("sctp") => {
                return Err(invalid(
                    self.key("proto"),
                    "SCTP services are not supported by rvs: write proto = \"tcp\" or \"udp\"",
                ))
            }
            Some(other) => {
                return Err(invalid(
                    self.key("proto"),
                    format!("`{other}` is not a protocol: write proto = \"tcp\" or \"udp\""),
                ))
            }
            None => {
                return Err(invalid(self.key("proto"), "missing: add proto = \"tcp\" or \"udp\""))
            }
        };
        let vip = self.vip(s.vip.as_deref())?;
        let scheduler = match s.scheduler.as_deref() {
            None => DEFAULT_SCHEDULER,
            Some(name) => name.parse::<SchedKind>().map_err(|e| {
                let e = SpecError::from(e);
                let (_, fix) = model_fix(&e);
                invalid(self.key("scheduler"), format!("{e}: {fix}"))
            })?,
        };
        let mut flags = SchedFlags::NONE;
        for (j, f) in s.flags.iter().enumerate() {
            let parsed = if f.is_empty() || f.contains(',') {
                Err(SpecError::InvalidSchedFlag(f.clone()))
            } else {
                SchedFlags::parse_for(f, Some(scheduler)).map_err(SpecError::from)
            };
            match parsed {
                Ok(bits) => flags = flags.union(bits),
                Err(e) => {
                    let (_, fix) = model_fix(&e);
                    return Err(invalid(self.key(&format!("flags[{j}]")), format!("{e}: {fix}")));
                }
            }
        }
        let netmask = match &s.netmask {
            None => Netmask::host(IpAddr::V4(*vip.ip())),
            Some(_) if s.persistence.is_none() => {
                return Err(invalid(
                    self.key("netmask"),
                    "netmask groups clients for persistence and this service is not persistent: add persistence = seconds or remove netmask",
                ))
            }
            Some(m) => Netmask::V4(m.parse::<Ipv4Addr>().map_err(|_| {
                let (_, fix) = model_fix(&SpecError::IllegalNetmask);
                invalid(self.key("netmask"), format!("{}: {fix}", SpecError::IllegalNetmask))
            })?),
        };
        if s.toa && proto != Protocol::Tcp {
            return Err(invalid(
                self.key("toa"),
                "TOA carries the client address in a TCP option: remove toa from this udp service",
            ));
        }
        if s.synproxy && proto != Protocol::Tcp {
            return Err(invalid(
                self.key("synproxy"),
                "the SYN proxy answers TCP handshakes: remove synproxy from this udp service",
            ));
        }
        let mut spec = ServiceSpec {
            key: ServiceKey { proto, addr: IpAddr::V4(*vip.ip()), port: vip.port() },
            scheduler,
            flags,
            persistence: s.persistence,
            netmask,
            one_packet: s.one_packet,
            pe: None,
            toa: s.toa,
            synproxy: s.synproxy,
            sloppy: s.sloppy,
            limits: None,
        };
        spec.set_limits(super::limits::check_limits(&s.limits, |f| self.key(f))?);
        Ok(spec)
    }

    /// `vip`: an IPv4 `address:port` that is an `[[addr]]` of kind `vip`.
    fn vip(&self, text: Option<&str>) -> Result<SocketAddrV4, Invalid> {
        let key = self.key("vip");
        let Some(text) = text else {
            return Err(invalid(
                key,
                "missing: add vip = \"a.b.c.d:port\" (port 0 = every port, with persistence)",
            ));
        };
        let vip = match text.parse::<SocketAddr>() {
            Ok(SocketAddr::V4(sa)) => sa,
            Ok(SocketAddr::V6(_)) => {
                return Err(invalid(
                    key,
                    format!("`{text}` is IPv6: IPv6 services are not forwarded yet (the director's own IPv6 addresses, ND and ping work; its data path is IPv4 only, docs/ipv6.md): write an IPv4 a.b.c.d:port"),
                ))
            }
            Err(_) => {
                let msg = match text.parse::<IpAddr>() {
                    Ok(IpAddr::V4(ip)) => format!(
                        "`{text}` has no port: write \"{ip}:80\" for one port, or \"{ip}:0\" for every port (with persistence)"
                    ),
                    _ => format!("`{text}` is not address:port: write a.b.c.d:port, for example \"192.168.100.100:80\""),
                };
                return Err(invalid(key, msg));
            }
        };
        require_addr(self.addrs, self.ports, *vip.ip(), AddrKind::Vip, "the VIP", key)?;
        Ok(vip)
    }

    /// `laddrs[k]`: an `[[addr]]` of kind `local`.
    fn laddr(&self, k: usize, text: &str) -> Result<Ipv4Addr, Invalid> {
        let key = self.key(&format!("laddrs[{k}]"));
        let ip = text.parse::<Ipv4Addr>().map_err(|_| {
            let msg = if crate::config::ipv6::is_v6_text(text) {
                format!("`{text}` is IPv6: IPv6 services are not forwarded yet, so IPv6 local addresses have no use (docs/ipv6.md); write an IPv4 a.b.c.d")
            } else {
                format!("`{text}` is not an IPv4 address: write a.b.c.d, without port or length")
            };
            invalid(key.clone(), msg)
        })?;
        require_addr(self.addrs, self.ports, ip, AddrKind::Local, "a local address", key)?;
        Ok(ip)
    }

    /// The `-a` of `dest[k]` of `svc`, with the config-only rules checked.
    fn dest(
        &self,
        k: usize,
        d: &RawDest,
        svc: &ServiceSpec,
        has_laddrs: bool,
    ) -> Result<DestSpec, Invalid> {
        let key = |field: &str| self.dest_key(k, field);
        let (addr, port) = match d.addr.parse::<SocketAddr>() {
            Ok(sa) => (sa.ip(), Some(sa.port())),
            Err(_) => match d.addr.parse::<IpAddr>() {
                Ok(ip) => (ip, None),
                Err(_) => {
                    return Err(invalid(
                        key("addr"),
                        format!(
                            "`{}` is not a real server address: write a.b.c.d or a.b.c.d:port",
                            d.addr
                        ),
                    ))
                }
            },
        };
        let fwd = fwd_method(d.fwd.as_deref()).map_err(|m| invalid(key("fwd"), m))?;
        let vport = svc.key.port;
        let port = match port {
            Some(p) if fwd.keeps_port() && p != vport => {
                let fix = if vport == 0 {
                    "the VIP takes every port and the real server sees the client's: leave the port out".to_owned()
                } else {
                    format!("write \"{addr}:{vport}\" or leave the port out")
                };
                return Err(invalid(
                    key("addr"),
                    format!(
                        "fwd = \"{}\" does not change the port, so the real server listens on the VIP's port {vport}: {fix}",
                        fwd_name(fwd)
                    ),
                ));
            }
            Some(0) if vport != 0 => {
                return Err(invalid(
                    key("addr"),
                    format!("port 0 is not a real server's port: write {addr}:port, or leave the port out to use the VIP's port {vport}"),
                ))
            }
            Some(p) => p,
            None => vport,
        };
        let tun = self.tunnel(k, d, fwd)?;
        if svc.toa && fwd != FwdMethod::FullNat {
            return Err(invalid(
                key("fwd"),
                format!(
                    "service[{}] has toa = true, which only fwd = \"fullnat\" carries: set fwd = \"fullnat\" or remove toa from the service",
                    self.i
                ),
            ));
        }
        if svc.synproxy && !matches!(fwd, FwdMethod::Masq | FwdMethod::FullNat) {
            return Err(invalid(
                key("fwd"),
                format!(
                    "service[{}] has synproxy = true, which needs the replies through the director: set fwd = \"nat\" or \"fullnat\", or remove synproxy from the service",
                    self.i
                ),
            ));
        }
        if fwd == FwdMethod::FullNat && !has_laddrs {
            let example = self
                .addrs
                .iter()
                .find(|a| a.kind == AddrKind::Local)
                .map_or_else(|| "a.b.c.d".to_owned(), |a| a.ip.to_string());
            return Err(invalid(
                key("fwd"),
                format!(
                    "fullnat sends from the service's local addresses and service[{}] has none: add laddrs = [\"{example}\"] to it (each an [[addr]] of kind \"local\")",
                    self.i
                ),
            ));
        }
        Ok(DestSpec { addr, port, fwd, weight: d.weight, upper: d.upper, lower: d.lower, tun })
    }

    /// The tunnel keys of `dest[k]`: only with `fwd = "tun"`, as each tunnel type takes them.
    fn tunnel(&self, k: usize, d: &RawDest, fwd: FwdMethod) -> Result<Option<TunInfo>, Invalid> {
        let key = |field: &str| self.dest_key(k, field);
        if fwd != FwdMethod::Tunnel {
            let given = [
                ("tun_type", d.tun_type.is_some()),
                ("tun_port", d.tun_port.is_some()),
                ("tun_csum", d.tun_csum.is_some()),
            ];
            return match given.iter().find(|(_, g)| *g) {
                Some((field, _)) => Err(invalid(
                    key(field),
                    format!(
                        "{}: {field} applies only to fwd = \"tun\"; remove it or set fwd = \"tun\"",
                        SpecError::TunnelOptionsConflict
                    ),
                )),
                None => Ok(None),
            };
        }
        let kind =
            match d.tun_type.as_deref() {
                None | Some("ipip") => TunType::Ipip,
                Some("gue") => TunType::Gue,
                Some("gre") => return Err(invalid(
                    key("tun_type"),
                    "GRE tunnels are not supported by rvs: write tun_type = \"ipip\" or \"gue\"",
                )),
                Some(other) => {
                    return Err(invalid(
                        key("tun_type"),
                        format!("`{other}` is not a tunnel type: write \"ipip\" or \"gue\""),
                    ))
                }
            };
        let csum = match d.tun_csum.as_deref() {
            None | Some("nocsum") => TunCsum::NoCsum,
            Some("csum") => TunCsum::Csum,
            Some("remcsum") => TunCsum::RemCsum,
            Some(other) => {
                return Err(invalid(
                    key("tun_csum"),
                    format!(
                    "`{other}` is not a checksum mode: write \"nocsum\", \"csum\" or \"remcsum\""
                ),
                ))
            }
        };
        let port = match (kind, d.tun_port) {
            (TunType::Gue, None) => return Err(invalid(
                key("tun_port"),
                "a gue tunnel needs the real server's GUE port: add tun_port = 6080 (for example)",
            )),
            (TunType::Gue, Some(0)) => {
                return Err(invalid(
                    key("tun_port"),
                    "illegal tunnel port specified: give 1 to 65535",
                ))
            }
            (TunType::Gue, Some(p)) => p,
            (_, Some(_)) => {
                return Err(invalid(
                    key("tun_port"),
                    "an ipip tunnel has no port: remove tun_port, or set tun_type = \"gue\"",
                ))
            }
            (_, None) => 0,
        };
        if kind == TunType::Ipip && d.tun_csum.is_some() {
            return Err(invalid(
                key("tun_csum"),
                "an ipip tunnel has no checksum: remove tun_csum, or set tun_type = \"gue\"",
            ));
        }
        Ok(Some(TunInfo { kind, port, csum }))
    }
}
