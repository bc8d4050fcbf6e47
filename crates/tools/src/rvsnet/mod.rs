//! rvsnet: `rvsnet`, the companion of rvsadm for the director's own plumbing.
//!
//! rvsadm manages services; rvsnet shows and changes what the director is as a host on its
//! links: the addresses it answers ARP and ICMP for on each DPDK port (with the port-pool usage
//! of local addresses), its LPM routes, the per-worker neighbour tables, the ports and their
//! counters (with per-core counters), and which FULLNAT/SNAT reply steering is in force.
//!
//! Owns the command line ([`cli`]), the text layouts ([`format`], stable and documented in
//! docs/rvsnet.md) and the program as a library function ([`run`]); the request and listing
//! types it exchanges over the control socket are the protocol's (`proto::net`). Must not touch:
//! the daemon's tables (rvsd validates and applies changes, see `daemon::netctl`), sockets
//! beyond `proto::client`.

pub mod cli;
pub mod format;
pub mod run;
