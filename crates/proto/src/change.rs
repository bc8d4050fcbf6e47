//! Typed changes to the service table: what `-A -E -D -C -a -e -d -Z --set -P -Q` and their
//! match-service (`-H`) forms mean, as the control socket carries them.
//!
//! Owns [`Change`], the one vocabulary of table changes: rvsadm's parser produces it (at the edge
//! of its front end), the config file is checked by applying it, the health checks produce it,
//! a reload is a list of it, and the control plane's table applies it with IPVS semantics
//! (`ctrl::table`). Listings, saves, reloads and flushes are requests of their own
//! ([`super::Request`]), never changes. Must not touch: the table's rules, parsing, formatting.

use rvs_core::ipvs::spec::{DestSpec, LocalAddrSpec, MatchSpec, ServiceKey, ServiceSpec, Timeouts};

use rvs_core::ipvs::sched::SchedKind;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// One change to the service table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// `-A`: add a virtual service.
    AddService(ServiceSpec),
    /// `-E`: replace a virtual service's settings (every setting, as ipvsadm does).
    EditService(ServiceSpec),
    /// `-D`: delete a virtual service.
    DeleteService(ServiceKey),
    /// `-C`: delete every service.
    Clear,
    /// `-a`: add a real server.
    AddDest {
        /// Its service.
        service: ServiceKey,
        /// The real server.
        dest: DestSpec,
    },
    /// `-e`: replace a real server's settings.
    EditDest {
        /// Its service.
        service: ServiceKey,
        /// The real server.
        dest: DestSpec,
    },
    /// `-d`: delete a real server.
    DeleteDest {
        /// Its service.
        service: ServiceKey,
        /// Real server address.
        addr: IpAddr,
        /// Real server port.
        port: u16,
    },
    /// `-Z [service]`: zero counters of one or all services (and all match services).
    Zero(Option<ServiceKey>),
    /// `--set tcp tcpfin udp`: timeouts; 0 keeps the current value.
    SetTimeouts(Timeouts),
    /// `-P -z addr [-F ifname]`: add a local address to a FULLNAT/SNAT service.
    AddLocalAddr {
        /// The service.
        service: ServiceKey,
        /// The local address.
        laddr: LocalAddrSpec,
    },
    /// `-Q -z addr`: delete a local address.
    DelLocalAddr {
        /// The service.
        service: ServiceKey,
        /// The local address.
        laddr: LocalAddrSpec,
    },
    /// `-A -H match [-s scheduler] [--synproxy]`: add a match service (SNAT).
    AddMatch {
        /// What it selects.
        matcher: MatchSpec,
        /// Scheduler.
        scheduler: SchedKind,
        /// `--synproxy`: SYN proxy for its TCP traffic (rvs extension; absent = off).
        #[serde(default)]
        synproxy: bool,
    },
    /// `-E -H match -s scheduler [--synproxy]`: change a match service's scheduler and proxy.
    EditMatch {
        /// What it selects.
        matcher: MatchSpec,
        /// Scheduler.
        scheduler: SchedKind,
        /// `--synproxy`: SYN proxy for its TCP traffic (rvs extension; absent = off).
        #[serde(default)]
        synproxy: bool,
    },
    /// `-D -H match`: delete a match service.
    DeleteMatch(MatchSpec),
    /// `-a -H match -r addr -J`: give a match service its SNAT address.
    AddMatchDest {
        /// The match service.
        matcher: MatchSpec,
        /// The SNAT address as a real server.
        dest: DestSpec,
    },
    /// `-e -H match -r addr -J`: change it.
    EditMatchDest {
        /// The match service.
        matcher: MatchSpec,
        /// The SNAT address as a real server.
        dest: DestSpec,
    },
    /// `-d -H match -r addr`: remove it.
    DeleteMatchDest {
        /// The match service.
        matcher: MatchSpec,
        /// Address.
        addr: IpAddr,
        /// Port.
        port: u16,
    },
}
