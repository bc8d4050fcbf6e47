//! An in-memory IPVS table that applies [`Command`]s with ipvsadm/IPVS semantics.
//!
//! Owns the reference behaviour the daemon's control plane follows: adding an existing service
//! or dest fails and changes nothing; dest commands on a missing service say "Service not
//! defined"; edits replace every setting but keep counters; `-Z` zeroes counters (one service
//! or all); `--set` with 0 keeps a timeout; `-C` removes everything. Errors carry the kernel's
//! words as ipvsadm prints them. Used by tests (`-S`/`-C`/`-R` round trip) and as the model for
//! rvsd's validation. Must not touch: sockets, the data plane, formatting.

use super::cli::Command;
use crate::ctrl::model::{
    LocalAddrInfo, LocalAddrSpec, ModelError, Rates, ServiceInfo, ServiceKey, ServiceLocalAddrs,
    Stats, Timeouts, DestInfo,
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
    Invalid(#[from] ModelError),
}

/// The table: services with their dests and counters, local addresses, timeouts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceTable {
    services: Vec<ServiceInfo>,
    laddrs: Vec<ServiceLocalAddrs>,
    timeouts: Timeouts,
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

    /// Local addresses of every service that has some.
    pub fn local_addrs(&self) -> &[ServiceLocalAddrs] {
        &self.laddrs
    }

    /// A service, for reading or updating counters.
    pub fn service_mut(&mut self, key: &ServiceKey) -> Option<&mut ServiceInfo> {
        self.services.iter_mut().find(|s| s.spec.key == *key)
    }

    fn index(&self, key: &ServiceKey) -> Option<usize> {
        self.services.iter().position(|s| s.spec.key == *key)
    }

    /// Apply one command. Commands that only read (`-L`, `-S`, `-G`, `-h`, `-v`, `-R`) change
    /// nothing and succeed.
    pub fn apply(&mut self, cmd: &Command) -> Result<(), TableError> {
        match cmd {
            Command::AddService(spec) => {
                if self.index(&spec.key).is_some() {
                    return Err(TableError::ServiceExists);
                }
                spec.validate()?;
                self.services.push(ServiceInfo::new(spec.clone()));
            }
            Command::EditService(spec) => {
                let i = self.index(&spec.key).ok_or(TableError::NoSuchService)?;
                spec.validate()?;
                if let Some(s) = self.services.get_mut(i) {
                    s.spec = spec.clone();
                }
            }
            Command::DeleteService(key) => {
                let i = self.index(key).ok_or(TableError::NoSuchService)?;
                self.services.remove(i);
                self.laddrs.retain(|l| l.key != *key);
            }
            Command::Clear => {
                self.services.clear();
                self.laddrs.clear();
            }
            Command::AddDest { service, dest } => {
                let s = self.service_mut(service).ok_or(TableError::ServiceNotDefined)?;
                if s
                    .dests
                    .iter()
                    .any(|d| d.spec.addr == dest.addr && d.spec.port == dest.port)
                {
                    return Err(TableError::DestExists);
                }
                dest.validate(service)?;
                s.dests.push(DestInfo::new(dest.clone()));
            }
            Command::EditDest { service, dest } => {
                let s = self.service_mut(service).ok_or(TableError::ServiceNotDefined)?;
                let d = s
                    .dests
                    .iter_mut()
                    .find(|d| d.spec.addr == dest.addr && d.spec.port == dest.port)
                    .ok_or(TableError::NoSuchDest)?;
                dest.validate(service)?;
                d.spec = dest.clone();
            }
            Command::DeleteDest {
                service,
                addr,
                port,
            } => {
                let s = self.service_mut(service).ok_or(TableError::ServiceNotDefined)?;
                let i = s
                    .dests
                    .iter()
                    .position(|d| d.spec.addr == *addr && d.spec.port == *port)
                    .ok_or(TableError::NoSuchDest)?;
                s.dests.remove(i);
            }
            Command::Zero(None) => self.services.iter_mut().for_each(zero),
            Command::Zero(Some(key)) => zero(self.service_mut(key).ok_or(TableError::NoSuchService)?),
            Command::SetTimeouts(t) => {
                let keep = |new: u32, old: u32| if new == 0 { old } else { new };
                self.timeouts = Timeouts {
                    tcp: keep(t.tcp, self.timeouts.tcp),
                    tcpfin: keep(t.tcpfin, self.timeouts.tcpfin),
                    udp: keep(t.udp, self.timeouts.udp),
                };
            }
            Command::AddLocalAddr { service, laddr } => {
                if self.index(service).is_none() {
                    return Err(TableError::ServiceNotDefined);
                }
                if !self.laddrs.iter().any(|l| l.key == *service) {
                    self.laddrs.push(ServiceLocalAddrs {
                        key: *service,
                        laddrs: Vec::new(),
                    });
                }
                let entry = self
                    .laddrs
                    .iter_mut()
                    .find(|l| l.key == *service)
                    .ok_or(TableError::ServiceNotDefined)?;
                if entry.laddrs.iter().any(|l| l.spec.addr == laddr.addr) {
                    return Err(TableError::LocalAddrExists);
                }
                entry.laddrs.push(LocalAddrInfo {
                    spec: laddr.clone(),
                    conflicts: 0,
                    conns: 0,
                });
            }
            Command::DelLocalAddr { service, laddr } => {
                if self.index(service).is_none() {
                    return Err(TableError::ServiceNotDefined);
                }
                self.del_laddr(service, laddr)?;
            }
            Command::List { .. }
            | Command::Save { .. }
            | Command::Restore
            | Command::ListLocalAddrs { .. }
            | Command::Help
            | Command::Version => {}
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

fn zero(s: &mut ServiceInfo) {
    s.stats = Stats::default();
    s.rates = Rates::default();
    for d in &mut s.dests {
        d.stats = Stats::default();
        d.rates = Rates::default();
    }
}
