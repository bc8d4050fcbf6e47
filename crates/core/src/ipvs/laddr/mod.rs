//! Local addresses and ports for FULLNAT and SNAT: which (local address, local port) a new
//! connection uses toward its real server, and which worker core owns which port.
//!
//! Owns the per-core, per-service [`LocalAddrPool`] and the port split between cores
//! ([`PortOwnership`]). It does not touch packets (the FULLNAT/SNAT transmitters rewrite them
//! with what [`LocalAddrPool::alloc`] returns), connections (the conn table calls
//! [`LocalAddrPool::release`] when one ends) or configuration parsing. Local addresses come from
//! `rvsadm -P/-Q -z` and dests from `rvsadm -a/-d`, as control messages the worker applies
//! between bursts; the port range and worker count come from the daemon's config.
//!
//! # FULLNAT: ports per (local address, dest)
//! A FULLNAT connection is seen by the real server as `(laddr, lport) -> (dest, dport)`, so a
//! local port only has to be unique per (local address, dest address and port) pair: the same
//! `lport` on the same `laddr` can serve one connection toward each dest at once. The pool keeps
//! a set of free ports for each such pair ([`PortScope::PerDest`]). Each set holds only this
//! core's ports ([`PortOwnership`]), so replies, addressed to `lport`, can be steered back by
//! port bits alone.
//!
//! Pools are per service, so two services sharing a local address toward the same dest keep
//! separate sets for one tuple space; the balancer passes over a port whose tuple another
//! service's live connection holds (`Balancer::alloc_local` in `ipvs/balancer/packet.rs`).
//!
//! New connections take local addresses round-robin; an address whose ports toward the dest
//! are all in use is skipped and counted as a miss; when every address is exhausted,
//! [`LocalAddrPool::alloc`] returns [`LaddrError::Exhausted`] and the pool counts it.
//!
//! # SNAT: ports per local address
//! SNAT uses the same pool with the WAN address as the local address and the outside server as
//! the dest. Outside servers are arbitrary and unbounded, so sets cannot be made per dest
//! ahead of time; [`PortScope::PerLaddr`] keeps one set per local address shared by all dests
//! (a port is unique per WAN address, as a plain NAT gateway does it). `add_dest` and
//! `remove_dest` are no-ops in that scope, and `alloc`/`release` accept any dest.
//!
//! # Memory and the packet path
//! Port sets are bitmaps made on the control path: when a local address or a dest is added
//! (one set per active pair), never on the packet path. A set takes about `ports / 8` bytes:
//! with the default range 1024..=65535, 8 KiB for one core, 1 KiB per core with eight; summed
//! over all cores, about 8 KiB per (local address, dest) pair. The number of pairs is bounded
//! by [`PoolLimits`] (local addresses x dests per service). `alloc` and `release` are a hash
//! lookup and a few word operations, with no allocation; `alloc` tries at most every local
//! address once.
//!
//! # Removal
//! Removing a local address or dest stops new allocations on it at once; connections keep their
//! ports until they release them. Its sets are freed by [`LocalAddrPool::reap`] (which every
//! add/remove also runs) once nothing is in use; adding it back before that revives it with
//! its in-use ports still marked, so a re-added dest never gets a port a live connection holds.

mod ownership;
mod pool;
mod port_set;

use std::net::{IpAddr, SocketAddr};

use thiserror::Error;

pub use ownership::{PortOwnership, PortRange, WorkerPorts, WorkerPortsIter, MAX_WORKERS};
pub use pool::{LaddrStats, LocalAddrPool, PoolLimits, PortScope};

/// Why a pool operation was refused. Nothing changed when one is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum LaddrError {
    /// The port range is empty or includes port 0.
    #[error("local port range {lo}-{hi} is invalid: give 1 <= low <= high <= 65535")]
    InvalidPortRange { lo: u16, hi: u16 },
    /// The worker count is 0 or too large.
    #[error("worker count {0} is invalid: give 1 to 1024 worker cores")]
    InvalidWorkerCount(usize),
    /// A pool was asked for a core that is not a worker.
    #[error("core {core} is not a worker: there are {n_workers} workers, numbered from 0")]
    NotAWorker { core: usize, n_workers: usize },
    /// The range is too small for this core to own any port.
    #[error(
        "worker {core} owns no port of the local port range {lo}-{hi}: \
         widen the range to at least as many ports as worker cores, rounded up to a power of two"
    )]
    NoPortsForWorker { core: usize, lo: u16, hi: u16 },
    /// The local address is already in the pool.
    #[error("local address {0} is already configured for this service")]
    LaddrExists(IpAddr),
    /// The local address is not in the pool.
    #[error("local address {0} is not configured for this service")]
    UnknownLaddr(IpAddr),
    /// The pool holds its maximum number of local addresses.
    #[error("a service takes at most {0} local addresses: remove one first")]
    TooManyLaddrs(usize),
    /// The dest is already in the pool.
    #[error("real server {0} already has local ports for this service")]
    DestExists(SocketAddr),
    /// The dest is not in the pool (or was removed).
    #[error("real server {0} is not configured for this service")]
    UnknownDest(SocketAddr),
    /// The pool holds its maximum number of dests.
    #[error("a FULLNAT service takes at most {0} real servers: remove one first")]
    TooManyDests(usize),
    /// No local address is active: FULLNAT/SNAT cannot pick a source.
    #[error("the service has no local address: add one with rvsadm -P -z ADDRESS")]
    NoLocalAddr,
    /// Every local address has all of this core's ports toward the dest in use.
    #[error(
        "all local ports toward {0} are in use on this core: add local addresses or widen the \
         local port range"
    )]
    Exhausted(SocketAddr),
    /// The port is not one this core hands out (outside the range or another core's).
    #[error("local port {0} does not belong to this core's range")]
    NotOwned(u16),
    /// The port is not allocated (already released, or never handed out).
    #[error("local port {laddr}:{port} is not in use (released twice?)")]
    NotAllocated { laddr: IpAddr, port: u16 },
    /// The port is already in use (a connection taken over from a peer collides with one of
    /// this director's).
    #[error("local port {laddr}:{port} is already in use on this core")]
    InUse { laddr: IpAddr, port: u16 },
}
