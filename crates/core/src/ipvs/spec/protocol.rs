//! [`Protocol`]: the transport protocol of a virtual service (`-t` TCP, `-u` UDP).

use serde::{Deserialize, Serialize};

use crate::wire::IpProtocol;

/// Transport protocol of a virtual service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Protocol {
    /// TCP (IP protocol 6).
    Tcp,
    /// UDP (IP protocol 17).
    Udp,
}

impl Protocol {
    /// Name in listings: `TCP` or `UDP`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        }
    }
    /// Option that selects it on the command line: `-t` or `-u`.
    pub fn option(self) -> &'static str {
        match self {
            Protocol::Tcp => "-t",
            Protocol::Udp => "-u",
        }
    }
    /// Lower-case name as in /etc/services: `tcp` or `udp`.
    pub fn services_name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
    /// The service protocol of an IP protocol: `None` for any but TCP and UDP.
    pub const fn from_ip_proto(p: IpProtocol) -> Option<Protocol> {
        match p {
            IpProtocol::TCP => Some(Protocol::Tcp),
            IpProtocol::UDP => Some(Protocol::Udp),
            _ => None,
        }
    }
    /// The IP protocol: TCP or UDP.
    pub const fn ip_proto(self) -> IpProtocol {
        match self {
            Protocol::Tcp => IpProtocol::TCP,
            Protocol::Udp => IpProtocol::UDP,
        }
    }
}
