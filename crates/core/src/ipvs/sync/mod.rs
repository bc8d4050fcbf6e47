//! Connection synchronisation between directors: the Linux kernel's IPVS sync protocol,
//! version 1 (the message layout of `net/netfilter/ipvs/ip_vs_sync.c`), encoded and decoded
//! sans-IO.
//!
//! Owns the wire format: [`Message`] reads a received datagram and iterates over its
//! connection entries ([`SyncConn`]) without allocating for entries without persistence-engine
//! data; [`MessageBuilder`] batches entries into datagrams no longer than the daemon's
//! `sync_maxlen`. And the mapping to rvs's vocabulary (`convert.rs`): [`SyncConn::from_conn`]
//! for a table entry, [`Learnt::from_sync`] for a received one. And the sending side's queue
//! and batching (`batch.rs`: [`ReportQueue`], [`Batcher`]). It knows nothing of sockets or
//! workers, and reads the connection table through its public accessors only.
//!
//! # Layout (all fields in network byte order)
//!
//! A datagram is an 8-byte header and `count` entries:
//! ```text
//!  0               1               2               3
//! +---------------+---------------+-------------------------------+
//! |   reserved 0  |    syncid     |      size (whole datagram)    |
//! +---------------+---------------+-------------------------------+
//! |     count     |  version (1)  |          spare (0)            |
//! +---------------+---------------+-------------------------------+
//! ```
//! An entry is 36 bytes for IPv4 (72 for IPv6) then its options:
//! ```text
//! | type | protocol | ver(4 bits, 0) size(12 bits: entry incl. options) |
//! | flags (32)  | state (16) | cport | vport | dport | fwmark (32) | timeout s (32) |
//! | caddr | vaddr | daddr   (4 or 16 bytes each)                      |
//! | options: type (8) | length (8, never 0) | data ...                 |
//! ```
//! Type bit 0 set means IPv6. An entry's size leaves out the padding that aligns the next
//! entry to 4 bytes; the header's size counts that padding (none follows the last entry).
//! Options: 1 = sequence adjustment data (24 bytes), 2 = persistence-engine data (at most 255),
//! 3 = persistence-engine name (at most 16). Bit 6 of an option type (`0x40`) marks it
//! optional: a receiver that does not know it skips it; an unknown option without that bit makes
//! the kernel drop the entry (the rest of the message is still read).
//!
//! # The FULLNAT extension
//!
//! The kernel has no FULLNAT: an entry has no field for the local address and port the director
//! puts as the source towards the real server. rvs carries them in option type
//! [`OPT_FULLNAT_LOCAL`] (`0x48`: bit 6, "optional", over number 8, which the kernel does not
//! define), 6 bytes for IPv4 (address, port) or 18 for IPv6. The entry's forwarding method says
//! masquerading (`IP_VS_CONN_F_MASQ`), the nearest the kernel knows. A kernel receiver masks bit
//! 6 off the type, finds none of its three known options, sees the optional bit and steps over
//! the option by its length (the `default:` branch of `ip_vs_proc_sync_conn`), so it installs a
//! plain NAT connection and is not disturbed; an rvs receiver reads the option and installs a
//! FULLNAT connection with that local address and port.
//!
//! Hand-written rather than a crate: no crate implements this format; the parser follows the
//! `wire/` rules (checked lengths, typed errors, no panic on any input) and is fuzzed
//! (`fuzz/fuzz_targets/ipvs_sync.rs`).

mod batch;
mod conn;
mod convert;
mod error;
mod message;

pub use batch::{BatchStats, Batcher, ReportQueue};
pub use conn::{PeData, SeqAdjust, SeqData, SyncAddrs, SyncConn, SyncFwd};
pub use convert::{LearnError, Learnt};
pub use error::{EncodeError, SyncError};
pub use message::{Entries, Message, MessageBuilder};

use std::net::Ipv4Addr;

/// The multicast group the kernel's sync daemon uses by default (224.0.0.81).
pub const DEFAULT_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 81);
/// The UDP port the kernel's sync daemon uses by default.
pub const DEFAULT_PORT: u16 = 8848;
/// The protocol version this module speaks.
pub const VERSION: u8 = 1;
/// Length of the message header.
pub const HEADER_LEN: usize = 8;
/// Length of an IPv4 entry without options.
pub const CONN_V4_LEN: usize = 36;
/// Length of an IPv6 entry without options.
pub const CONN_V6_LEN: usize = 72;
/// Largest entry (its size field has 12 bits).
pub const MAX_CONN_LEN: usize = 0x0fff;
/// Most entries in one message (the count is one byte).
pub const MAX_CONNS: usize = 255;

/// Option: sequence adjustment data (`IPVS_OPT_SEQ_DATA`).
pub const OPT_SEQ_DATA: u8 = 1;
/// Option: persistence-engine data (`IPVS_OPT_PE_DATA`).
pub const OPT_PE_DATA: u8 = 2;
/// Option: persistence-engine name (`IPVS_OPT_PE_NAME`).
pub const OPT_PE_NAME: u8 = 3;
/// Bit of an option type that makes the option optional (`IPVS_OPT_F_PARAM`).
pub const OPT_F_OPTIONAL: u8 = 1 << 6;
/// rvs's option: the FULLNAT local address and port (see the module doc).
pub const OPT_FULLNAT_LOCAL: u8 = OPT_F_OPTIONAL | 8;
/// Longest persistence-engine data (`IP_VS_PEDATA_MAXLEN`).
pub const PE_DATA_MAX: usize = 255;
/// Longest persistence-engine name (`IP_VS_PENAME_MAXLEN`).
pub const PE_NAME_MAX: usize = 16;

/// Connection flags (`IP_VS_CONN_F_*`), as carried in an entry's 32-bit flags field.
pub mod flags {
    /// Forwarding method bits.
    pub const FWD_MASK: u32 = 0x0007;
    /// Masquerading (NAT).
    pub const MASQ: u32 = 0x0000;
    /// Local node.
    pub const LOCALNODE: u32 = 0x0001;
    /// IP tunnelling.
    pub const TUNNEL: u32 = 0x0002;
    /// Direct routing.
    pub const DROUTE: u32 = 0x0003;
    /// Cache bypass.
    pub const BYPASS: u32 = 0x0004;
    /// Entry created by sync (set by receivers, not sent).
    pub const SYNC: u32 = 0x0020;
    /// Hashed entry (cleared by senders).
    pub const HASHED: u32 = 0x0040;
    /// No output packets.
    pub const NOOUTPUT: u32 = 0x0080;
    /// Not established (counted inactive).
    pub const INACTIVE: u32 = 0x0100;
    /// Output sequence adjustment.
    pub const OUT_SEQ: u32 = 0x0200;
    /// Input sequence adjustment.
    pub const IN_SEQ: u32 = 0x0400;
    /// Both sequence adjustment bits.
    pub const SEQ_MASK: u32 = 0x0600;
    /// No client port yet (persistence with port 0).
    pub const NO_CPORT: u32 = 0x0800;
    /// A persistence template, not a connection.
    pub const TEMPLATE: u32 = 0x1000;
    /// One-packet scheduling (never synced).
    pub const ONE_PACKET: u32 = 0x2000;
    /// The bits a kernel receiver keeps (`IP_VS_CONN_F_BACKUP_MASK`).
    pub const BACKUP_MASK: u32 = FWD_MASK | NOOUTPUT | INACTIVE | SEQ_MASK | NO_CPORT | TEMPLATE;
}

#[cfg(test)]
mod batch_tests;
#[cfg(test)]
mod convert_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tshark_tests;
