//! rvs-core: the director's sans-IO core. Packet buffers ([`buf`]) and time ([`time`]), header
//! views and checksums ([`wire`]), the director's own L2/L3 ([`net`]: ARP, neighbours, routes,
//! ICMP), the BFD codec and session ([`bfd`], for the health checker), the load balancer
//! ([`ipvs`]: its vocabulary in [`ipvs::spec`], services, schedulers, connections, forwarding
//! modes) and the per-core chain that ties them ([`pipeline`]).
//!
//! Everything here works on any [`buf::PacketBuf`] and a clock passed in ([`time::Instant`]):
//! no DPDK, no sockets, no system clock, no `unsafe` (forbidden below). It builds and its tests
//! run on a machine without DPDK: `cargo test -p rvs-core`. The DPDK mbuf implements
//! [`buf::PacketBuf`] in rvs-dpdk; the daemon (rvs) drives this core from its worker loop.

#![forbid(unsafe_code)]

pub mod bfd;
pub mod buf;
pub mod ipvs;
pub mod net;
pub mod pipeline;
// The fuzz targets (fuzz/, built with `--cfg fuzzing`) build their frames with it too.
#[cfg(any(test, fuzzing))]
pub mod testkit;
pub mod time;
pub mod wire;
