//! ipvs: the load balancer. Services, dests (real servers), connections and their state
//! machines, schedulers, forwarding modes and local address pools live here, sans-IO: they work on
//! packet buffers and a clock handed in, never on DPDK, sockets or the system clock.

pub mod conn;
pub mod laddr;
pub mod proto;
pub mod sched;
pub mod timer;
pub mod toa;
pub mod xmit;
