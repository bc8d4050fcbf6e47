//! The director's own L2/L3 duties, sans-IO.
//!
//! Owns what a director must do as a host on its links, before and after load balancing:
//! interfaces and the addresses it owns ([`iface`]), static routes with longest-prefix match
//! ([`route`]), the per-core ARP neighbour table with its bounded queue of packets waiting for
//! resolution ([`neigh`]), ARP answers, learning and announcements ([`arp`]), IPv6 neighbour
//! discovery and DAD for the director's IPv6 addresses over the same table ([`nd`]), its IPv6
//! addresses and routes ([`route6`]) and the IPv6 half of the stack ([`stack6`]), ICMP echo and ICMP
//! error messages ([`icmp`]), the per-core entry point that validates and dispatches received
//! frames and sends the director's packets ([`stack`]), the counters and drop reasons of all of
//! it ([`counters`]), and the exception path to the host kernel: which frames go to the kernel
//! (decided in [`stack`] and [`arp`] from the kernel's addresses in [`iface`]), its per-core
//! rate limits and counters ([`exception`]), and the requests the control plane sends a core's
//! stack, answered beside it ([`control`]).
//!
//! It must not know services, dests or conns (that is `ipvs`): an IPv4 packet that is not an ARP
//! or ICMP echo duty goes back to the caller as [`Input::Ipv4`]. It must not know DPDK or clocks:
//! packets are any [`crate::buf::PacketBuf`], the time is a [`crate::time::Instant`] passed in,
//! and all transmission, allocation and freeing goes through [`NetIo`]. Headers are read and
//! written only through [`crate::wire`]'s views.
//!
//! Its data comes from the configuration, mapped by the dataplane into [`Iface`]s, [`Route`]s,
//! [`StaticNeigh`]s and [`NeighParams`]; the interface and route tables are built once and shared
//! read-only by every core's [`Stack`], the neighbour table and counters are per core.

pub mod arp;
pub mod control;
pub mod counters;
pub mod exc_class;
pub mod exc_from_kernel;
pub mod exception;
pub mod icmp;
pub mod iface;
pub mod io;
pub mod l2cache;
pub mod nd;
pub mod neigh;
pub mod route;
pub mod route6;
pub mod stack;
pub mod stack6;

#[cfg(test)]
mod arp_guard_tests;
#[cfg(test)]
mod exception_from_kernel_tests;
#[cfg(test)]
mod exception_tests;
#[cfg(test)]
mod standby_tests;
#[cfg(test)]
pub(crate) mod testutil;

pub use counters::{DropReason, NetCounters};
pub use exc_class::{ClassCount, ClassRate, ExcClass};
pub use exception::{Exception, ExceptionCounters, ExceptionDrop, ExceptionParams, TokenBucket};
pub use icmp::IcmpError;
pub use iface::{AddrKind, IfAddr, Iface, IfaceError, IfaceTable};
pub use io::{Ctx, NetIo};
pub use l2cache::{L2Cache, L2Hop};
pub use neigh::{
    Learn, NeighAddr, NeighError, NeighInfo, NeighParams, NeighState, NeighTable, Resolution,
    StaticNeigh,
};
pub use route::{Route, RouteError, RouteHit, RouteTable};
pub use route6::{IfAddr6, Ipv6Addrs, Route6, Route6Error, Route6Hit, Route6Table};
pub use stack::{is_arp_frame, Input, Stack};
pub use stack6::{is_ipv6_frame, is_nd_frame, Icmp6Error, Ipv6Setup};
