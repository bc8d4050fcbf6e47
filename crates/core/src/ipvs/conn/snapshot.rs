//! Listing of a connection table for the control plane (`ipvsadm -L -c`).
//!
//! Owns [`ConnInfo`], a self-contained copy of one entry in the terms the listing prints, and
//! [`ConnTable::snapshot`]. This is control-plane code: it allocates, and it walks the whole
//! slab, so the worker runs it between bursts when asked.

use std::net::SocketAddr;

use super::entry::{ConnCounters, FwdMethod};
use super::key::ConnAddr;
use super::table::ConnTable;
use crate::time::Instant;
use crate::wire::IpProtocol;

/// One entry as the connection listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnInfo {
    /// IP protocol.
    pub proto: IpProtocol,
    /// State name as `ipvsadm -L -c` prints it (`ESTABLISHED`, `UDP`, ...).
    pub state: &'static str,
    /// Whole seconds until the entry expires.
    pub expire_secs: u32,
    /// Client address and port (a template shows its client network and port 0).
    pub client: SocketAddr,
    /// Virtual address and port.
    pub virt: SocketAddr,
    /// Real server address and port.
    pub dest: SocketAddr,
    /// Local address and port the real server sees, for FULLNAT and SNAT.
    pub local: Option<SocketAddr>,
    /// Forwarding method.
    pub fwd: FwdMethod,
    /// Whether this is a persistence template.
    pub template: bool,
    /// Packet and byte counters.
    pub counters: ConnCounters,
}

impl ConnInfo {
    /// Protocol name as the listing prints it (`TCP`, `UDP`, or the number).
    pub fn proto_name(&self) -> std::borrow::Cow<'static, str> {
        match self.proto {
            IpProtocol::TCP => "TCP".into(),
            IpProtocol::UDP => "UDP".into(),
            IpProtocol::ICMP => "ICMP".into(),
            p => p.number().to_string().into(),
        }
    }
}

fn sock<A: ConnAddr>(a: A, p: u16) -> SocketAddr {
    SocketAddr::new(a.into(), p)
}

impl<A: ConnAddr> ConnTable<A> {
    /// Up to `limit` live entries, in slab order, as the listing shows them at `now`.
    pub fn snapshot(&self, now: Instant, limit: usize) -> Vec<ConnInfo> {
        self.iter()
            .take(limit)
            .map(|(_, e)| ConnInfo {
                proto: e.proto(),
                state: e.state().name(),
                expire_secs: self.expires_in(e, now),
                client: sock(e.caddr(), e.cport()),
                virt: sock(e.vaddr(), e.vport()),
                dest: sock(e.daddr(), e.dport()),
                local: (!e.is_template() && e.fwd().uses_local_addr())
                    .then(|| sock(e.laddr(), e.lport())),
                fwd: e.fwd(),
                template: e.is_template(),
                counters: e.counters,
            })
            .collect()
    }
}
