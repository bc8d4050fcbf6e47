//! rvs-dpdk: the safe layer over DPDK, the only crate (with `dpdk-sys`) that contains `unsafe`.
//!
//! What it owns and the rules it keeps:
//! - [`Eal`] is initialised once per process with explicit `--lcores`; the argument strings
//!   live for the process. Dropping it runs `rte_eal_cleanup` only when no mempool, ring or
//!   port is left.
//! - An [`Mbuf`] owns one mbuf and frees it on drop. Handing it to tx, a ring or
//!   [`Mbuf::into_raw`] moves ownership out; nothing is freed twice. [`MbufBatch`] is the
//!   fixed array bursts use: rx appends, tx removes only what the driver took, drop frees the
//!   rest.
//! - A [`Mempool`] outlives its mbufs: when its last clone drops while mbufs are still out, it
//!   is left allocated rather than freed under them.
//! - A [`ConfiguredPort`] hands out each [`RxQueue`]/[`TxQueue`] once (`Send`, not `Sync`:
//!   one worker per queue); the port closes only after it and all its queues are dropped, and
//!   [`ConfiguredPort::stop`] is refused while queues are out.
//! - A [`Ring`] moves [`RingItem`]s (mbufs, boxes) between threads; `Single` ends cannot be
//!   cloned; items left in a ring are dropped with it.
//! - [`launch`] runs a closure on a worker lcore; panics are caught before they reach C.
//! - [`flow`] probes and installs rte_flow steering rules.
//!
//! Nothing here logs or allocates on the per-packet path (rx/tx burst, mbuf operations,
//! ring enqueue/dequeue).

pub mod eal;
pub mod error;
pub mod flow;
pub mod lcore;
pub mod mbuf;
pub mod mempool;
pub mod port;
mod port_stats;
pub mod ring;

/// The raw bindings, for constants (`RTE_MBUF_F_*`, ...) the safe types do not wrap.
pub use dpdk_sys as sys;

pub use eal::Eal;
pub use error::{DpdkError, Errno};
pub use flow::{
    create_rule, probe_steering, FlowRule, FlowSteering, FlowSupport, L4Proto, SteeringRule,
};
pub use lcore::{launch, worker_lcores, LaunchHandle};
pub use mbuf::{Mbuf, MbufBatch, RxCksum, TxL3, TxL4, BURST_SIZE};
pub use mempool::Mempool;
pub use port::{
    ConfiguredPort, DevInfo, Link, Port, PortConfig, PortStats, RssState, RxQueue, SetupReport,
    TxQueue,
};
pub use ring::{Consumer, Discipline, Multi, Producer, Ring, RingItem, Single};
