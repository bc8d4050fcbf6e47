//! Connection tracking of one worker core: which real server each flow goes to, in what
//! protocol state, until when.
//!
//! Owns the per-core [`ConnTable`] (slab + hash index + timer wheel), its bucket index
//! (`index.rs`: 64-byte buckets of signatures, looked up a burst at a time by
//! [`ConnTable::lookup_burst`] / [`ConnTable::prefetch_burst`]), its entries ([`Conn`],
//! connections and persistence templates), their keys and the listing for the control plane.
//! Protocol state machines live in [`crate::ipvs::proto`], the timer wheel in
//! [`crate::ipvs::timer`]. This module does not parse packets, schedule, or rewrite: the
//! forwarding path reads a tuple from a packet, calls [`ConnTable::lookup`], and on a miss
//! asks the scheduler and calls [`ConnTable::insert`]; it passes the time in.
//!
//! One table holds one address family ([`std::net::Ipv4Addr`] or [`std::net::Ipv6Addr`]) so
//! IPv4 entries stay at 104 bytes.
//!
//! ```
//! use std::net::Ipv4Addr;
//! use rvs::ipvs::conn::{ConnKey, ConnSpec, ConnTable, Direction, FwdMethod, HashSeed};
//! use rvs::wire::TcpFlags;
//! use rvs::time::Instant;
//!
//! let now = Instant::from_secs(1);
//! let mut t = ConnTable::<Ipv4Addr>::new(1024, HashSeed::random(), now).unwrap();
//! let client = (Ipv4Addr::new(10, 0, 0, 5), 51234);
//! let vip = (Ipv4Addr::new(192, 168, 0, 38), 80);
//! let rs = (Ipv4Addr::new(192, 168, 0, 18), 80);
//! let spec = ConnSpec { proto: 6, client, virt: vip, dest_addr: rs, local: None,
//!                       fwd: FwdMethod::Masq, dest: 0, svc: 0, template: None };
//! let id = t.insert(&spec, now, |_gone| {}).unwrap();
//! t.on_packet(id, Direction::In, TcpFlags::SYN, 60, now);
//! // The server's reply is found by its own tuple.
//! let reply = ConnKey::new(6, rs.0, rs.1, client.0, client.1);
//! assert_eq!(t.lookup(&reply, now), Some((id, Direction::Out)));
//! t.on_packet(id, Direction::Out, TcpFlags::SYN | TcpFlags::ACK, 60, now);
//! let tr = t.on_packet(id, Direction::In, TcpFlags::ACK, 52, now).unwrap();
//! assert_eq!(tr.activity_change(), Some(true)); // now ESTABLISHED: count it active
//! assert_eq!(t.snapshot(now, 10)[0].state, "ESTABLISHED");
//! ```

mod entry;
mod index;
mod key;
mod snapshot;
mod table;

pub use entry::{
    Conn, ConnCounters, ConnFlags, ConnId, ConnSpec, Direction, FwdMethod, TemplateSpec, NO_INDEX,
};
pub use key::{ConnAddr, ConnKey, HashSeed, TemplateKey};
pub use snapshot::ConnInfo;
pub use table::{ConnStats, ConnTable, ConnTableError, InsertError};

#[cfg(test)]
mod index_tests;
#[cfg(test)]
mod install_tests;
#[cfg(test)]
mod tests;
