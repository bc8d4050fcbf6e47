//! The load balancer's vocabulary: what a virtual service, a real server (dest), a forwarding
//! method, a tunnel, a local address, a SNAT rule and the connection timeouts are, each defined
//! once, with the rules every value must satisfy wherever it comes from (rvsadm's command line,
//! rvsd's config, a restore file, the control socket) and its serde form.
//!
//! Owns the spec types and [`SpecError`] (messages are ipvsadm's where ipvsadm has one). The
//! scheduler names and flags are [`crate::ipvs::sched`]'s ([`SchedKind`], [`SchedFlags`]); the
//! per-packet counters are [`crate::ipvs::counters::TrafficCounters`]. Must not touch: listing
//! and reply types (connection listings, rates, counters as listed: the control protocol owns
//! those), formatting of listings, sockets, the data plane.
//!
//! Names follow ipvsadm: a service is keyed by protocol, address and port (port 0 = all ports,
//! valid only with persistence); forwarding methods print as `Masq`, `Local`, `Tunnel`, `Route`,
//! `FullNat` and `SNAT`.
//!
//! [`SchedKind`]: crate::ipvs::sched::SchedKind
//! [`SchedFlags`]: crate::ipvs::sched::SchedFlags

mod dest;
mod error;
mod laddr;
mod limits;
mod protocol;
mod service;
mod snat;
mod timeouts;
mod tunnel;

pub use dest::{DestSpec, FwdMethod, MAX_THRESHOLD, MAX_WEIGHT};
pub use error::{SpecError, FWMARK_ALTERNATIVE};
pub use laddr::LocalAddrSpec;
pub use limits::{
    parse_prefix_list, prefix_list_text, Ipv4Prefix, ServiceLimits, MAX_PREFIXES, MAX_SOURCE_RATE,
};
pub use protocol::Protocol;
pub use service::{Netmask, ServiceKey, ServiceSpec, DEFAULT_PERSISTENCE_S, DEFAULT_SCHEDULER};
pub use snat::{AddrRange, MatchSpec, SnatProto, SnatRule};
pub use timeouts::{Timeouts, MAX_TIMEOUT_S};
pub use tunnel::{TunCsum, TunEncap, TunInfo, TunType};
