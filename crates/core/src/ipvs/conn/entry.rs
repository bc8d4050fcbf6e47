//! One entry of the connection table: a connection or a persistence template.
//!
//! Owns [`Conn`] and the small types it is made of ([`ConnFlags`],
//! [`ConnCounters`], [`ConnId`], [`Direction`]; the one-byte [`FwdMethod`] is the spec's) plus what a caller gives to create one
//! ([`ConnSpec`], [`TemplateSpec`]). The table (`table.rs`) decides when entries live and die;
//! this file only describes them. Fields that the table's index or timer depend on are private
//! and read through accessors, so holding `&mut Conn` cannot corrupt the table.
//!
//! # Layout
//! Four addresses are stored: client, virtual, destination (real server) and local. The
//! in-direction tuple is client -> virtual, the out-direction tuple destination -> local; for
//! NAT, DR and TUN the local address and port are the client's. Each entry also carries its
//! cached L2 header per direction ([`L2Cache`], 20 bytes: destination MAC and port of each
//! direction plus the epoch they are valid in), so the established path neither routes nor
//! resolves. With [`Ipv4Addr`] the entry is 84 bytes (see the size test); with IPv6
//! addresses 132.
//!
//! [`Ipv4Addr`]: std::net::Ipv4Addr

use super::key::{ConnAddr, ConnKey};
use crate::ipvs::proto::ConnState;
pub use crate::ipvs::spec::FwdMethod;
use crate::ipvs::timer::TimerNode;
use crate::net::L2Cache;
use crate::wire::IpProtocol;

/// Index of an entry in its table. Valid until the entry leaves the table (every departure is
/// reported through the callback of the call that caused it); after that the index may name a
/// different entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub(super) u32);

impl ConnId {
    /// The slab index.
    pub const fn index(self) -> u32 {
        self.0
    }

    /// The id of slab index `idx` (for ids that travelled through a ring or a message; the
    /// table checks every id it is given).
    pub const fn from_index(idx: u32) -> Self {
        ConnId(idx)
    }
}

/// Which of a connection's tuples a packet matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Direction {
    /// Client to virtual service (the original direction).
    In = 0,
    /// Real server back towards the client (or the local address for FULLNAT/SNAT).
    Out = 1,
}

/// Flag bits of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ConnFlags(u8);

impl ConnFlags {
    /// The slot is free.
    pub(super) const FREE: u8 = 0x01;
    /// A persistence template, not a connection.
    pub const TEMPLATE: u8 = 0x02;
    /// No reply seen yet on a connection whose replies bypass the director (DR, TUN): TCP
    /// uses the input-only table.
    pub const NO_OUTPUT: u8 = 0x04;
    /// A template taken out of the index (invalidated) that lives on until its controlled
    /// connections are gone.
    pub const DETACHED: u8 = 0x08;
    /// FULLNAT: the client address option (TOA) has been added to this connection.
    pub const TOA_DONE: u8 = 0x10;
    /// The SYN proxy answered this connection's handshake: its segments are translated by
    /// `ipvs::synproxy` (which keeps the sequence deltas beside the table, by entry index).
    pub const SYNPROXY: u8 = 0x20;

    /// The raw bits.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether all of `bits` are set.
    pub const fn contains(self, bits: u8) -> bool {
        self.0 & bits == bits
    }

    pub(super) fn set(&mut self, bits: u8, on: bool) {
        if on {
            self.0 |= bits;
        } else {
            self.0 &= !bits;
        }
    }
}

/// What an entry counts of its own packets: the client's packets only (saturating), which the
/// connection-sync threshold and the half-seen-handshake rule read (as IPVS keeps only
/// `in_pkts` per connection). Packets and bytes in both directions are counted where they are
/// listed, per dest and per service (`ipvs::counters`), not per entry: 20 bytes less per
/// entry, and no 8-byte read-modify-write of a byte count per packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConnCounters {
    /// Packets client -> server.
    pub in_pkts: u32,
}

impl ConnCounters {
    /// Counts one packet in `dir` (only the client's are counted here).
    #[inline]
    pub fn add(&mut self, dir: Direction) {
        if dir == Direction::In {
            self.in_pkts = self.in_pkts.saturating_add(1);
        }
    }
}

/// "None" for the `u32` index fields of an entry.
pub const NO_INDEX: u32 = u32::MAX;

/// A connection or persistence template entry.
#[derive(Debug, Clone, Copy)]
pub struct Conn<A> {
    pub(super) caddr: A,
    pub(super) vaddr: A,
    pub(super) daddr: A,
    pub(super) laddr: A,
    pub(super) cport: u16,
    pub(super) vport: u16,
    pub(super) dport: u16,
    pub(super) lport: u16,
    pub(super) proto: IpProtocol,
    pub(super) fwd: FwdMethod,
    /// [`ConnState::to_u8`], one byte where the enum takes two.
    pub(super) state: u8,
    pub(super) flags: ConnFlags,
    pub(super) dest: u32,
    pub(super) svc: u32,
    /// The cached L2 header of each direction (see [`L2Cache`]).
    pub(super) l2: L2Cache,
    /// Connection: index of its controlling template or [`NO_INDEX`].
    pub(super) template: u32,
    /// Template: number of live connections it controls.
    pub(super) controlled: u32,
    /// Timeout in ticks, re-armed from on each refresh.
    pub(super) timeout: u32,
    pub(super) timer: TimerNode,
    /// The client packets of this connection (see [`ConnCounters`]).
    pub counters: ConnCounters,
}

impl<A: ConnAddr> Conn<A> {
    pub(super) fn free() -> Self {
        Conn {
            caddr: A::UNSPECIFIED,
            vaddr: A::UNSPECIFIED,
            daddr: A::UNSPECIFIED,
            laddr: A::UNSPECIFIED,
            cport: 0,
            vport: 0,
            dport: 0,
            lport: 0,
            proto: IpProtocol(0),
            fwd: FwdMethod::Masq,
            state: ConnState::Tcp(crate::ipvs::proto::TcpState::None).to_u8(),
            flags: ConnFlags(ConnFlags::FREE),
            dest: NO_INDEX,
            svc: NO_INDEX,
            l2: L2Cache::EMPTY,
            template: NO_INDEX,
            controlled: 0,
            timeout: 0,
            timer: TimerNode::UNARMED,
            counters: ConnCounters::default(),
        }
    }

    /// The tuple a packet in `dir` carries.
    pub fn key(&self, dir: Direction) -> ConnKey<A> {
        match dir {
            Direction::In => {
                ConnKey::new(self.proto, self.caddr, self.cport, self.vaddr, self.vport)
            }
            Direction::Out => {
                ConnKey::new(self.proto, self.daddr, self.dport, self.laddr, self.lport)
            }
        }
    }

    pub(super) fn is_free(&self) -> bool {
        self.flags.contains(ConnFlags::FREE)
    }

    /// IP protocol number.
    pub fn proto(&self) -> IpProtocol {
        self.proto
    }
    /// Client address (for a template: the client network).
    pub fn caddr(&self) -> A {
        self.caddr
    }
    /// Client port (0 for a template).
    pub fn cport(&self) -> u16 {
        self.cport
    }
    /// Virtual address.
    pub fn vaddr(&self) -> A {
        self.vaddr
    }
    /// Virtual port.
    pub fn vport(&self) -> u16 {
        self.vport
    }
    /// Real server address.
    pub fn daddr(&self) -> A {
        self.daddr
    }
    /// Real server port.
    pub fn dport(&self) -> u16 {
        self.dport
    }
    /// Local address the real server sees (the client's for NAT, DR, TUN).
    pub fn laddr(&self) -> A {
        self.laddr
    }
    /// Local port the real server sees (the client's for NAT, DR, TUN).
    pub fn lport(&self) -> u16 {
        self.lport
    }
    /// Forwarding method.
    pub fn fwd(&self) -> FwdMethod {
        self.fwd
    }
    /// Protocol state.
    pub fn state(&self) -> ConnState {
        ConnState::from_u8(self.state)
    }
    /// Whether this connection counts as active for its real server (templates never do).
    pub fn is_active(&self) -> bool {
        !self.is_template() && self.state().is_active()
    }
    /// Flag bits.
    pub fn flags(&self) -> ConnFlags {
        self.flags
    }
    /// Whether this entry is a persistence template.
    pub fn is_template(&self) -> bool {
        self.flags.contains(ConnFlags::TEMPLATE)
    }
    /// Index of the real server in the worker's configuration snapshot.
    pub fn dest(&self) -> u32 {
        self.dest
    }
    /// Index of the virtual service in the worker's configuration snapshot.
    pub fn svc(&self) -> u32 {
        self.svc
    }
    /// Controlling template of a connection.
    pub fn template(&self) -> Option<ConnId> {
        (self.template != NO_INDEX).then_some(ConnId(self.template))
    }
    /// Number of live connections a template controls.
    pub fn controlled(&self) -> u32 {
        self.controlled
    }
    /// Timeout applied on each refresh, in seconds (rounded down).
    pub fn timeout_secs(&self) -> u32 {
        self.timeout / crate::ipvs::timer::TICKS_PER_SEC
    }
    /// The cached L2 headers (destination MAC and port per direction), filled and checked by
    /// the stack's send path; empty on a new entry.
    pub fn l2_cache(&self) -> &L2Cache {
        &self.l2
    }
    /// The cached L2 headers, writable (for the stack's send path).
    pub fn l2_cache_mut(&mut self) -> &mut L2Cache {
        &mut self.l2
    }
    /// Whether the FULLNAT client address option was added.
    pub fn toa_done(&self) -> bool {
        self.flags.contains(ConnFlags::TOA_DONE)
    }
    /// Records that the FULLNAT client address option was added.
    pub fn set_toa_done(&mut self, done: bool) {
        self.flags.set(ConnFlags::TOA_DONE, done);
    }
    /// Whether the SYN proxy owns this connection's sequence translation.
    pub fn synproxy(&self) -> bool {
        self.flags.contains(ConnFlags::SYNPROXY)
    }
    /// Marks the connection as the SYN proxy's (set once, right after the insert).
    pub fn set_synproxy(&mut self, on: bool) {
        self.flags.set(ConnFlags::SYNPROXY, on);
    }
}

/// What the scheduler decided for a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnSpec<A> {
    /// The client's tuple to the virtual address and port (for SNAT: the inside host's to the
    /// outside server): the connection's `In` key. TCP, UDP and ICMP echo are tracked.
    pub key: ConnKey<A>,
    /// Real server address and port (for DR and TUN the port is the virtual port).
    pub dest_addr: (A, u16),
    /// Local address and port for FULLNAT/SNAT; `None` means the client's.
    pub local: Option<(A, u16)>,
    /// Forwarding method.
    pub fwd: FwdMethod,
    /// Real server index in the configuration snapshot.
    pub dest: u32,
    /// Service index in the configuration snapshot.
    pub svc: u32,
    /// The persistence template this connection was scheduled through.
    pub template: Option<ConnId>,
}

/// What the scheduler decided for a new persistence template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemplateSpec<A> {
    /// The template's key.
    pub key: super::key::TemplateKey<A>,
    /// Real server address and port chosen for the client network.
    pub dest_addr: (A, u16),
    /// Real server index in the configuration snapshot.
    pub dest: u32,
    /// Service index in the configuration snapshot.
    pub svc: u32,
    /// The service's persistence timeout (`-p`), in seconds.
    pub timeout_secs: u32,
}
