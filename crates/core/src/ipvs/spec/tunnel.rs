//! Tunnel settings of a `Tunnel` real server: as configured ([`TunInfo`]: type, GUE port,
//! checksum mode) and as the data plane encapsulates ([`TunEncap`], the checked subset it
//! forwards: IPIP, and GUE with a port).

use serde::{Deserialize, Serialize};

/// Tunnel encapsulation of a `Tunnel` real server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum TunType {
    /// IP in IP (the default).
    #[default]
    Ipip,
    /// Generic UDP Encapsulation; needs a destination port.
    Gue,
    /// Generic Routing Encapsulation.
    Gre,
}

impl TunType {
    /// Name as written on the command line and in listings.
    pub fn name(self) -> &'static str {
        match self {
            TunType::Ipip => "ipip",
            TunType::Gue => "gue",
            TunType::Gre => "gre",
        }
    }
    /// Parse `ipip`, `gue` or `gre`.
    pub fn from_name(s: &str) -> Option<TunType> {
        match s {
            "ipip" => Some(TunType::Ipip),
            "gue" => Some(TunType::Gue),
            "gre" => Some(TunType::Gre),
            _ => None,
        }
    }
}

/// Outer checksum handling of a GUE/GRE tunnel (ipvsadm's
/// `--tun-nocsum/--tun-csum/--tun-remcsum`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum TunCsum {
    /// No checksum (the default; outer UDP checksum zero), shown `-c`.
    #[default]
    NoCsum,
    /// Checksum computed, shown `+c`.
    Csum,
    /// Remote checksum offload (GUE only; forwarded as `Csum` where the receiver does not
    /// support it), shown `r+c`.
    RemCsum,
}

impl TunCsum {
    /// Short form in the `TunnelInfo` column.
    pub fn short(self) -> &'static str {
        match self {
            TunCsum::NoCsum => "-c",
            TunCsum::Csum => "+c",
            TunCsum::RemCsum => "r+c",
        }
    }
    /// Option that selects it.
    pub fn option(self) -> &'static str {
        match self {
            TunCsum::NoCsum => "--tun-nocsum",
            TunCsum::Csum => "--tun-csum",
            TunCsum::RemCsum => "--tun-remcsum",
        }
    }
}

/// Tunnel details of a `Tunnel` real server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct TunInfo {
    /// Encapsulation.
    pub kind: TunType,
    /// GUE destination port; 0 when not applicable.
    pub port: u16,
    /// Checksum mode.
    pub csum: TunCsum,
}

impl TunInfo {
    /// The encapsulation the data plane performs for these settings, or why it cannot.
    pub fn encap(self) -> Result<TunEncap, &'static str> {
        match self.kind {
            TunType::Ipip => Ok(TunEncap::Ipip),
            TunType::Gue if self.port != 0 => {
                Ok(TunEncap::Gue { port: self.port, csum: self.csum })
            }
            TunType::Gue => Err("GUE tunnel without a port"),
            TunType::Gre => Err("GRE tunnels are not forwarded"),
        }
    }
}

/// The encapsulation of a TUN-mode dest as the data plane performs it: [`TunInfo`] checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunEncap {
    /// IPv4-in-IPv4 (protocol 4).
    Ipip,
    /// Generic UDP Encapsulation to `port`, with the outer UDP checksum mode.
    Gue {
        /// Destination UDP port on the real server.
        port: u16,
        /// Outer UDP checksum handling.
        csum: TunCsum,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encap_of_the_forwarded_kinds() {
        assert_eq!(TunInfo::default().encap(), Ok(TunEncap::Ipip));
        let gue = TunInfo { kind: TunType::Gue, port: 6080, csum: TunCsum::Csum };
        assert_eq!(gue.encap(), Ok(TunEncap::Gue { port: 6080, csum: TunCsum::Csum }));
        assert!(TunInfo { port: 0, ..gue }.encap().is_err());
        let gre = TunInfo { kind: TunType::Gre, ..TunInfo::default() };
        assert!(gre.encap().unwrap_err().contains("GRE"));
        for t in [TunType::Ipip, TunType::Gue, TunType::Gre] {
            assert_eq!(TunType::from_name(t.name()), Some(t));
        }
    }
}
