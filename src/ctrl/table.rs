//! The control plane's authoritative IPVS table: it applies typed [`Change`]s with ipvsadm/IPVS
//! semantics.
//!
//! Owns [`ServiceTable`] (services and their dests, local addresses, timeouts, match services)
//! and its rules, the kernel's: adding an existing service or dest fails and changes nothing;
//! dest changes on a missing service say "Service not defined"; edits replace every setting but
//! keep counters; `-Z` zeroes counters (one service or all); `--set` with 0 keeps a timeout;
//! `-C` removes everything. Errors ([`TableError`]) carry the kernel's words as ipvsadm prints
//! them. rvsd runs one (`ctrl::control`); the config file is checked by applying its services
//! to one. Must not touch: sockets, the data plane, formatting.

use crate::ipvs::service::{BuildOptions, Services, ServicesError};
use crate::ipvs::spec::{
    DestSpec, FwdMethod, LocalAddrSpec, MatchSpec, ServiceKey, ServiceSpec, SnatProto, SnatRule,
    SpecError, Timeouts,
};
use crate::proto::change::Change;
use crate::proto::model::{
    DestInfo, LocalAddrInfo, MatchService, Rates, ServiceInfo, ServiceLocalAddrs, Stats,
};
use thiserror::Error;

/// Why a command was refused by the table.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum TableError {
    /// `-A` of an existing service.
    #[error("Service already exists")]
    ServiceExists,
    /// `-E`, `-D`, `-Z` of a missing service.
    #[error("No such service")]
    NoSuchService,
    /// `-a`, `-e`, `-d`, `-P`, `-Q` on a missing service.
    #[error("Service not defined")]
    ServiceNotDefined,
    /// `-a` of an existing dest.
    #[error("Destination already exists")]
    DestExists,
    /// `-e`, `-d` of a missing dest.
    #[error("No such destination")]
    NoSuchDest,
    /// `-P` of an existing local address.
    #[error("Local address already exists")]
    LocalAddrExists,
    /// `-Q` of a missing local address.
    #[error("No such local address")]
    NoSuchLocalAddr,
    /// A value the model refuses.
    #[error(transparent)]
    Invalid(#[from] SpecError),
    /// A match service's real server that does not forward by SNAT.
    #[error("a match service (-H) forwards only by SNAT: give its real server -J")]
    MatchNeedsSnat,
    /// A second real server on a match service.
    #[error("a match service (-H) leaves from one SNAT address in rvs: delete the current one (-d) first")]
    MatchOneAddress,
}

/// The table: services with their dests and counters, local addresses, timeouts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceTable {
    services: Vec<ServiceInfo>,
    laddrs: Vec<ServiceLocalAddrs>,
    timeouts: Timeouts,
    matches: Vec<MatchService>,
}

impl ServiceTable {
    /// An empty table with default timeouts.
    pub fn new() -> ServiceTable {
        ServiceTable::default()
    }

    /// Services in insertion order.
    pub fn services(&self) -> &[ServiceInfo] {
        &self.services
    }

    /// Current timeouts.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// The data plane's snapshot of this table (its services, dests, local addresses and
    /// timeouts) and the SNAT rules `snat`.
    pub fn snapshot(
        &self,
        snat: &[SnatRule],
        opts: BuildOptions,
    ) -> Result<Services, ServicesError> {
        let dests: Vec<(&ServiceSpec, Vec<DestSpec>)> = self
            .services
            .iter()
            .map(|s| (&s.spec, s.dests.iter().map(|d| d.spec.clone()).collect()))
            .collect();
        let laddrs: Vec<(ServiceKey, LocalAddrSpec)> = self
            .laddrs
            .iter()
            .flat_map(|l| l.laddrs.iter().map(|a| (l.key, a.spec.clone())))
            .collect();
        Services::build(
            dests.iter().map(|(s, d)| (*s, d.as_slice())),
            &laddrs,
            snat,
            self.timeouts,
            opts,
        )
    }

    /// Local addresses of every service that has some.
    pub fn local_addrs(&self) -> &[ServiceLocalAddrs] {
        &self.laddrs
    }

    /// Match services (`-H`, SNAT), in insertion order.
    pub fn matches(&self) -> &[MatchService] {
        &self.matches
    }

    /// The SNAT rules the match services stand for (those that have their address).
    pub fn snat_rules(&self) -> Vec<SnatRule> {
        self.matches.iter().filter_map(MatchService::rule).collect()
    }

    /// Adds `[[snat]]` rules as match services (rules already there are skipped).
    pub fn add_snat_rules(&mut self, rules: &[SnatRule]) {
        for r in rules {
            let m = MatchService::from_rule(r);
            if !self.matches.iter().any(|o| o.spec == m.spec) {
                self.matches.push(m);
            }
        }
    }

    /// Replaces every match service with those of `rules` (a config reload declares them).
    pub fn set_snat_rules(&mut self, rules: &[SnatRule]) {
        let keep: Vec<MatchService> = self.matches.drain(..).collect();
        for r in rules {
            let m = MatchService::from_rule(r);
            // A live-edited scheduler of the same match stays (it does not change forwarding).
            let scheduler = keep
                .iter()
                .find(|o| o.spec == m.spec && o.rule().as_ref() == Some(r))
                .map(|o| o.scheduler);
            self.matches.push(MatchService { scheduler: scheduler.unwrap_or(m.scheduler), ..m });
        }
    }

    fn match_mut(&mut self, m: &MatchSpec) -> Option<&mut MatchService> {
        self.matches.iter_mut().find(|o| o.spec == *m)
    }

    /// A service, for reading or updating counters.
    pub fn service_mut(&mut self, key: &ServiceKey) -> Option<&mut ServiceInfo> {
        self.services.iter_mut().find(|s| s.spec.key == *key)
    }

    fn index(&self, key: &ServiceKey) -> Option<usize> {
        self.services.iter().position(|s| s.spec.key == *key)
    }

    /// Applies one change; a refused change leaves the table as it was.
    pub fn apply(&mut self, cmd: &Change) -> Result<(), TableError> {
        match cmd {
            Change::AddService(spec) => {
                if self.index(&spec.key).is_some() {
                    return Err(TableError::ServiceExists);
                }
                spec.validate()?;
                self.services.push(ServiceInfo::new(spec.clone()));
            }
            Change::EditService(spec) => {
                let i = self.index(&spec.key).ok_or(TableError::NoSuchService)?;
                spec.validate()?;
                if let Some(s) = self.services.get_mut(i) {
                    s.spec = spec.clone();
                }
            }
            Change::DeleteService(key) => {
                let i = self.index(key).ok_or(TableError::NoSuchService)?;
                self.services.remove(i);
                self.laddrs.retain(|l| l.key != *key);
            }
            Change::Clear => {
                self.services.clear();
                self.laddrs.clear();
                self.matches.clear();
            }
            Change::AddMatch { matcher, scheduler, synproxy } => {
                if self.matches.iter().any(|o| o.spec == *matcher) {
                    return Err(TableError::ServiceExists);
                }
                check_match_synproxy(matcher, *synproxy)?;
                self.matches.push(MatchService {
                    spec: matcher.clone(),
                    scheduler: *scheduler,
                    dests: Vec::new(),
                    stats: Default::default(),
                    rates: Default::default(),
                    synproxy: *synproxy,
                });
            }
            Change::EditMatch { matcher, scheduler, synproxy } => {
                check_match_synproxy(matcher, *synproxy)?;
                let m = self.match_mut(matcher).ok_or(TableError::NoSuchService)?;
                m.scheduler = *scheduler;
                m.synproxy = *synproxy;
            }
            Change::DeleteMatch(matcher) => {
                let i = self
                    .matches
                    .iter()
                    .position(|o| o.spec == *matcher)
                    .ok_or(TableError::NoSuchService)?;
                self.matches.remove(i);
            }
            Change::AddMatchDest { matcher, dest } => {
                let m = self.match_mut(matcher).ok_or(TableError::ServiceNotDefined)?;
                if m.dests.iter().any(|d| d.spec.addr == dest.addr && d.spec.port == dest.port) {
                    return Err(TableError::DestExists);
                }
                check_match_dest(dest)?;
                if !m.dests.is_empty() {
                    return Err(TableError::MatchOneAddress);
                }
                m.dests.push(DestInfo::new(dest.clone()));
            }
            Change::EditMatchDest { matcher, dest } => {
                let m = self.match_mut(matcher).ok_or(TableError::ServiceNotDefined)?;
                let d = m
                    .dests
                    .iter_mut()
                    .find(|d| d.spec.addr == dest.addr && d.spec.port == dest.port)
                    .ok_or(TableError::NoSuchDest)?;
                check_match_dest(dest)?;
                d.spec = dest.clone();
            }
            Change::DeleteMatchDest { matcher, addr, port } => {
                let m = self.match_mut(matcher).ok_or(TableError::ServiceNotDefined)?;
                let i = m
                    .dests
                    .iter()
                    .position(|d| d.spec.addr == *addr && d.spec.port == *port)
                    .ok_or(TableError::NoSuchDest)?;
                m.dests.remove(i);
            }
            Change::AddDest { service, dest } => {
                let s = self.service_mut(service).ok_or(TableError::ServiceNotDefined)?;
                if s.dests.iter().any(|d| d.spec.addr == dest.addr && d.spec.port == dest.port) {
                    return Err(TableError::DestExists);
                }
                dest.validate(service)?;
                s.dests.push(DestInfo::new(dest.clone()));
            }
            Change::EditDest { service, dest } => {
                let s = self.service_mut(service).ok_or(TableError::ServiceNotDefined)?;
                let d = s
                    .dests
                    .iter_mut()
                    .find(|d| d.spec.addr == dest.addr && d.spec.port == dest.port)
                    .ok_or(TableError::NoSuchDest)?;
                dest.validate(service)?;
                d.spec = dest.clone();
            }
            Change::DeleteDest { service, addr, port } => {
                let s = self.service_mut(service).ok_or(TableError::ServiceNotDefined)?;
                let i = s
                    .dests
                    .iter()
                    .position(|d| d.spec.addr == *addr && d.spec.port == *port)
                    .ok_or(TableError::NoSuchDest)?;
                s.dests.remove(i);
            }
            Change::Zero(None) => self.services.iter_mut().for_each(zero),
            Change::Zero(Some(key)) => {
                zero(self.service_mut(key).ok_or(TableError::NoSuchService)?)
            }
            Change::SetTimeouts(t) => self.timeouts = t.over(self.timeouts),
            Change::AddLocalAddr { service, laddr } => {
                if self.index(service).is_none() {
                    return Err(TableError::ServiceNotDefined);
                }
                if !self.laddrs.iter().any(|l| l.key == *service) {
                    self.laddrs.push(ServiceLocalAddrs { key: *service, laddrs: Vec::new() });
                }
                let entry = self
                    .laddrs
                    .iter_mut()
                    .find(|l| l.key == *service)
                    .ok_or(TableError::ServiceNotDefined)?;
                if entry.laddrs.iter().any(|l| l.spec.addr == laddr.addr) {
                    return Err(TableError::LocalAddrExists);
                }
                entry.laddrs.push(LocalAddrInfo { spec: laddr.clone(), conflicts: 0, conns: 0 });
            }
            Change::DelLocalAddr { service, laddr } => {
                if self.index(service).is_none() {
                    return Err(TableError::ServiceNotDefined);
                }
                self.del_laddr(service, laddr)?;
            }
        }
        Ok(())
    }

    fn del_laddr(&mut self, service: &ServiceKey, laddr: &LocalAddrSpec) -> Result<(), TableError> {
        let entry = self
            .laddrs
            .iter_mut()
            .find(|l| l.key == *service)
            .ok_or(TableError::NoSuchLocalAddr)?;
        let i = entry
            .laddrs
            .iter()
            .position(|l| l.spec.addr == laddr.addr)
            .ok_or(TableError::NoSuchLocalAddr)?;
        entry.laddrs.remove(i);
        if entry.laddrs.is_empty() {
            self.laddrs.retain(|l| l.key != *service);
        }
        Ok(())
    }
}

/// `--synproxy` on a match service: only when it matches TCP (`tcp` or `any`).
fn check_match_synproxy(m: &MatchSpec, synproxy: bool) -> Result<(), TableError> {
    if synproxy && !matches!(m.proto, SnatProto::Tcp | SnatProto::Any) {
        return Err(SpecError::SynproxyNotTcp.into());
    }
    Ok(())
}

/// The SNAT address of a match service: `-J`, IPv4, a valid weight.
fn check_match_dest(dest: &DestSpec) -> Result<(), TableError> {
    if dest.fwd != FwdMethod::Snat {
        return Err(TableError::MatchNeedsSnat);
    }
    let any = ServiceKey {
        proto: crate::ipvs::spec::Protocol::Tcp,
        addr: std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        port: 0,
    };
    dest.validate(&any)?;
    Ok(())
}

fn zero(s: &mut ServiceInfo) {
    s.stats = Stats::default();
    s.rates = Rates::default();
    for d in &mut s.dests {
        d.stats = Stats::default();
        d.rates = Rates::default();
    }
}

#[cfg(test)]
mod round_trip;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::spec::DestSpec;
    use crate::rvsadm::cli::parse;
    use crate::rvsadm::names::NoNames;

    fn cmd(line: &str) -> Change {
        let argv: Vec<&str> = line.split_whitespace().collect();
        parse(&argv, &NoNames)
            .unwrap_or_else(|e| panic!("{line}: {e}"))
            .into_change()
            .expect("a change")
    }

    fn run(t: &mut ServiceTable, line: &str) -> Result<(), TableError> {
        t.apply(&cmd(line))
    }

    fn base() -> ServiceTable {
        let mut t = ServiceTable::new();
        for l in [
            "rvsadm -A -t 192.168.0.38:80 -s wrr",
            "rvsadm -a -t 192.168.0.38:80 -r 192.168.0.18:80 -g -w 3",
            "rvsadm -a -t 192.168.0.38:80 -r 192.168.0.28:80 -g -w 1",
        ] {
            run(&mut t, l).unwrap();
        }
        t
    }

    fn key() -> ServiceKey {
        ServiceKey {
            proto: crate::ipvs::spec::Protocol::Tcp,
            addr: "192.168.0.38".parse().unwrap(),
            port: 80,
        }
    }

    #[test]
    fn add_existing_service_errors_and_changes_nothing() {
        let mut t = base();
        let before = t.clone();
        assert_eq!(
            run(&mut t, "rvsadm -A -t 192.168.0.38:80 -s rr"),
            Err(TableError::ServiceExists)
        );
        assert_eq!(t, before);
        assert_eq!(TableError::ServiceExists.to_string(), "Service already exists");
    }

    #[test]
    fn dest_errors_use_ipvsadm_words() {
        let mut t = base();
        let before = t.clone();
        let cases = [
            ("rvsadm -a -t 10.0.0.1:80 -r 10.0.0.2", "Service not defined"),
            ("rvsadm -e -t 10.0.0.1:80 -r 10.0.0.2", "Service not defined"),
            ("rvsadm -d -t 10.0.0.1:80 -r 10.0.0.2", "Service not defined"),
            ("rvsadm -a -t 192.168.0.38:80 -r 192.168.0.18", "Destination already exists"),
            ("rvsadm -e -t 192.168.0.38:80 -r 192.168.0.99", "No such destination"),
            ("rvsadm -d -t 192.168.0.38:80 -r 192.168.0.99", "No such destination"),
            ("rvsadm -E -t 10.0.0.1:80", "No such service"),
            ("rvsadm -D -t 10.0.0.1:80", "No such service"),
            ("rvsadm -Z -t 10.0.0.1:80", "No such service"),
            ("rvsadm -A -t 10.0.0.1:80 --pe sip", "Scheduler or persistence engine not found"),
            (
                "rvsadm -a -t 192.168.0.38:80 -r 192.168.0.40 -y 10",
                "Numerical result out of range (lower threshold -y is higher than upper threshold -x)",
            ),
        ];
        for (line, want) in cases {
            let e = run(&mut t, line).expect_err(line);
            assert_eq!(e.to_string(), want, "{line}");
            assert_eq!(t, before, "{line} must change nothing");
        }
    }

    #[test]
    fn edits_replace_settings_and_keep_counters() {
        let mut t = base();
        if let Some(s) = t.service_mut(&key()) {
            s.stats.conns = 10;
            if let Some(d) = s.dests.first_mut() {
                d.stats.conns = 7;
                d.active = 3;
            }
        }
        run(&mut t, "rvsadm -E -t 192.168.0.38:80 -s rr -p 60").unwrap();
        run(&mut t, "rvsadm -e -t 192.168.0.38:80 -r 192.168.0.18:80 -g -w 9").unwrap();
        let s = t.services().first().unwrap();
        assert_eq!((s.spec.scheduler.as_str(), s.spec.persistence), ("rr", Some(60)));
        assert_eq!(s.stats.conns, 10);
        let d = s.dests.first().unwrap();
        assert_eq!((d.spec.weight, d.stats.conns, d.active), (9, 7, 3));
        // -E without -p drops persistence, as ipvsadm's edit sends every setting.
        run(&mut t, "rvsadm -E -t 192.168.0.38:80 -s rr").unwrap();
        assert_eq!(t.services().first().unwrap().spec.persistence, None);
    }

    #[test]
    fn delete_clear_zero_timeouts() {
        let mut t = base();
        run(&mut t, "rvsadm -d -t 192.168.0.38:80 -r 192.168.0.18").unwrap();
        assert_eq!(t.services().first().map(|s| s.dests.len()), Some(1));

        if let Some(s) = t.service_mut(&key()) {
            s.stats.inbytes = 5;
            s.rates.cps = 5;
            if let Some(d) = s.dests.first_mut() {
                d.stats.outpkts = 4;
                d.active = 2;
            }
        }
        run(&mut t, "rvsadm -Z").unwrap();
        let s = t.services().first().unwrap();
        assert_eq!((s.stats, s.rates), (Stats::default(), Rates::default()));
        let d = s.dests.first().unwrap();
        assert_eq!((d.stats, d.active), (Stats::default(), 2), "zero keeps connection counts");

        run(&mut t, "rvsadm --set 0 60 0").unwrap();
        assert_eq!(t.timeouts(), Timeouts { tcp: 900, tcpfin: 60, udp: 300 });
        run(&mut t, "rvsadm --set 1000 0 5").unwrap();
        assert_eq!(t.timeouts(), Timeouts { tcp: 1000, tcpfin: 60, udp: 5 });

        run(&mut t, "rvsadm -D -t 192.168.0.38:80").unwrap();
        assert!(t.services().is_empty());
        let mut t = base();
        run(&mut t, "rvsadm -P -t 192.168.0.38:80 -z 10.0.0.250").unwrap();
        run(&mut t, "rvsadm -C").unwrap();
        assert!(t.services().is_empty() && t.local_addrs().is_empty());
    }

    #[test]
    fn local_addresses() {
        let mut t = base();
        assert_eq!(
            run(&mut t, "rvsadm -P -t 10.0.0.1:80 -z 10.0.0.250"),
            Err(TableError::ServiceNotDefined)
        );
        run(&mut t, "rvsadm -P -t 192.168.0.38:80 -z 10.0.0.250 -F dpdk0").unwrap();
        run(&mut t, "rvsadm -P -t 192.168.0.38:80 -z 10.0.0.251").unwrap();
        assert_eq!(
            run(&mut t, "rvsadm -P -t 192.168.0.38:80 -z 10.0.0.250"),
            Err(TableError::LocalAddrExists)
        );
        let l = t.local_addrs().first().unwrap();
        assert_eq!(l.laddrs.len(), 2);
        assert_eq!(l.laddrs.first().unwrap().spec.ifname.as_deref(), Some("dpdk0"));
        run(&mut t, "rvsadm -Q -t 192.168.0.38:80 -z 10.0.0.250").unwrap();
        assert_eq!(
            run(&mut t, "rvsadm -Q -t 192.168.0.38:80 -z 10.0.0.250"),
            Err(TableError::NoSuchLocalAddr)
        );
        run(&mut t, "rvsadm -D -t 192.168.0.38:80").unwrap();
        assert!(t.local_addrs().is_empty());
    }

    #[test]
    fn model_checks_apply_to_commands_from_anywhere() {
        // A dest that bypassed the parser is still checked by the table.
        let mut t = base();
        let mut d = DestSpec::new("192.168.0.50".parse().unwrap(), 80);
        d.weight = 70_000;
        assert_eq!(
            t.apply(&Change::AddDest { service: key(), dest: d }),
            Err(TableError::Invalid(SpecError::WeightRange(70_000)))
        );
    }
}
