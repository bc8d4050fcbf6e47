//! ipvs: the load balancer. Services, dests (real servers), connections and their state
//! machines, schedulers, forwarding modes and local address pools live here, sans-IO: they work on
//! packet buffers and a clock handed in, never on DPDK, sockets or the system clock.
//!
//! The vocabulary they share (service key and spec, dest spec, forwarding method, tunnel,
//! timeouts, local address and SNAT specs) is defined once, in [`spec`], with its validation;
//! every other layer (control plane, config, rvsadm) speaks it, and nothing here imports them.
//!
//! The per-core [`balancer::Balancer`] ties them together: it takes a [`service::Services`]
//! snapshot from the control plane and decides, per packet, what the worker does with it.

pub mod balancer;
pub mod conn;
pub mod counters;
pub mod dest;
pub mod frag;
pub mod guard;
pub mod laddr;
pub mod limits;
pub mod proto;
pub mod reset;
pub mod sched;
pub mod service;
pub mod spec;
pub mod sync;
pub mod synproxy;
pub mod timer;
pub mod toa;
pub mod xmit;
