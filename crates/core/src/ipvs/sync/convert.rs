//! Between rvs's connection entries and sync entries: what a director sends for one of its
//! connections ([`SyncConn::from_conn`]), and what a received entry asks a director to install
//! ([`Learnt::from_sync`]).
//!
//! Owns the mapping of vocabularies only: rvs's TCP states are numbered as the kernel's
//! `IP_VS_TCP_S_*` (NONE 0 to SYNACK 10), UDP has the one state 0; forwarding methods map to the
//! kernel's `IP_VS_CONN_F_*` bits, FULLNAT as masquerading plus rvs's local address option (see
//! the module doc of [`super`]). Reads the table through [`Conn`]'s public accessors only; which
//! service and real server a learnt connection belongs to is the receiver's lookup, not this
//! module's.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::conn::{SyncAddrs, SyncConn, SyncFwd};
use super::flags;
use crate::ipvs::conn::Conn;
use crate::ipvs::proto::tcp::TcpState;
use crate::ipvs::proto::udp::UdpState;
use crate::ipvs::proto::ConnState;
use crate::ipvs::spec::FwdMethod;
use crate::wire::IpProtocol;

impl SyncConn {
    /// The entry a director sends for `conn`: its tuple, forwarding method, state and the
    /// state's timeout in seconds (as the kernel sends it: the receiver's timer starts on
    /// reception). `None` for what the format cannot carry: persistence templates (rvs keeps
    /// them per worker; a taken-over connection is scheduled again only if it ends) and SNAT
    /// connections (the kernel has no SNAT).
    pub fn from_conn(conn: &Conn<Ipv4Addr>) -> Option<SyncConn> {
        if conn.is_template() {
            return None;
        }
        let (fwd, local) = match conn.fwd() {
            FwdMethod::Masq => (flags::MASQ, None),
            FwdMethod::Local => (flags::LOCALNODE, None),
            FwdMethod::Tunnel => (flags::TUNNEL, None),
            FwdMethod::Route => (flags::DROUTE, None),
            FwdMethod::FullNat => {
                (flags::MASQ, Some(SocketAddr::new(IpAddr::V4(conn.laddr()), conn.lport())))
            }
            FwdMethod::Snat => return None,
        };
        let state = match conn.state() {
            ConnState::Tcp(s) => s as u16,
            ConnState::Udp(_) => 0,
        };
        Some(SyncConn {
            protocol: u8::from(conn.proto()),
            flags: fwd | if conn.is_active() { 0 } else { flags::INACTIVE },
            state,
            cport: conn.cport(),
            vport: conn.vport(),
            dport: conn.dport(),
            fwmark: 0,
            timeout: conn.timeout_secs(),
            addrs: SyncAddrs::V4 { caddr: conn.caddr(), vaddr: conn.vaddr(), daddr: conn.daddr() },
            seq: None,
            pe: None,
            local,
        })
    }
}

/// A connection a peer reported, in rvs's vocabulary: what the receiver installs (after finding
/// the service by `virt` and the real server by `dest_addr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Learnt {
    /// TCP or UDP.
    pub proto: IpProtocol,
    /// Client address and port.
    pub client: (Ipv4Addr, u16),
    /// Virtual address and port.
    pub virt: (Ipv4Addr, u16),
    /// Real server address and port.
    pub dest_addr: (Ipv4Addr, u16),
    /// The FULLNAT local address and port.
    pub local: Option<(Ipv4Addr, u16)>,
    /// Forwarding method.
    pub fwd: FwdMethod,
    /// Protocol state.
    pub state: ConnState,
    /// Timeout in seconds (0: the receiver's timeout for the state).
    pub timeout: u32,
}

/// Why a received entry is not installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LearnError {
    /// A persistence template (not taken over).
    #[error("persistence templates are not taken over")]
    Template,
    /// Neither TCP nor UDP.
    #[error("protocol {0} is not synced")]
    Protocol(u8),
    /// A state number the protocol does not have.
    #[error("state {state} is not a state of protocol {proto}")]
    State {
        /// The protocol.
        proto: u8,
        /// The state number.
        state: u16,
    },
    /// Bypass or an undefined forwarding method.
    #[error("forwarding method {0:?} is not taken over")]
    Fwd(SyncFwd),
    /// An IPv6 entry (rvs forwards IPv4 only).
    #[error("IPv6 connections are not taken over")]
    Ipv6,
}

impl Learnt {
    /// Reads a received entry; refuses what a director cannot continue.
    pub fn from_sync(c: &SyncConn) -> Result<Learnt, LearnError> {
        if c.is_template() {
            return Err(LearnError::Template);
        }
        let SyncAddrs::V4 { caddr, vaddr, daddr } = c.addrs else {
            return Err(LearnError::Ipv6);
        };
        let proto = IpProtocol::from(c.protocol);
        let bad_state = LearnError::State { proto: c.protocol, state: c.state };
        let state = match proto {
            IpProtocol::TCP => {
                ConnState::Tcp(*TcpState::ALL.get(usize::from(c.state)).ok_or(bad_state)?)
            }
            IpProtocol::UDP if c.state == 0 => ConnState::Udp(UdpState::Normal),
            IpProtocol::UDP => return Err(bad_state),
            _ => return Err(LearnError::Protocol(c.protocol)),
        };
        let local = match c.local {
            Some(SocketAddr::V4(l)) => Some((*l.ip(), l.port())),
            _ => None,
        };
        let fwd = match (c.fwd(), local) {
            (SyncFwd::Masq, Some(_)) => FwdMethod::FullNat,
            (SyncFwd::Masq, None) => FwdMethod::Masq,
            (SyncFwd::Local, _) => FwdMethod::Local,
            (SyncFwd::Tunnel, _) => FwdMethod::Tunnel,
            (SyncFwd::DirectRoute, _) => FwdMethod::Route,
            (other, _) => return Err(LearnError::Fwd(other)),
        };
        Ok(Learnt {
            proto,
            client: (caddr, c.cport),
            virt: (vaddr, c.vport),
            dest_addr: (daddr, c.dport),
            local: local.filter(|_| fwd == FwdMethod::FullNat),
            fwd,
            state,
            timeout: c.timeout,
        })
    }
}
