//! rvs-tools: the command-line programs beside their front ends. [`rvsadm`] speaks ipvsadm's
//! grammar and prints its listings byte for byte; [`rvsnet`] shows and changes the director's
//! plumbing (addresses, routes, neighbours, links, reply steering). Both talk to rvsd over its
//! control socket with [`rvs_proto`] and know the load balancer's vocabulary from
//! [`rvs_core::ipvs::spec`]; nothing here depends on the daemon or on DPDK, so the tools build
//! on any machine.

pub mod kaimport;
pub mod rvsadm;
pub mod rvsnet;
