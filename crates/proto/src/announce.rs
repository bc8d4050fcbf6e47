//! Scale-out (docs/scale-out.md): the requests and the reply about the VIPs rvsd announces to
//! the routing daemon (BIRD) beside it. Owns only these types; what is announced is decided by
//! rvsd's announcer, and rvsadm formats the reply.

use core::net::Ipv4Addr;
use serde::{Deserialize, Serialize};

/// What to do with the announcements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AnnounceRequest {
    /// Show them (`rvsadm --announced`).
    Show,
    /// Withdraw every VIP and keep serving the connections that are open (`rvsadm --drain`).
    Drain,
    /// Announce again what health allows (`rvsadm --resume`).
    Resume,
}

/// Why a VIP is or is not announced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VipState {
    /// Announced: some service of the VIP has a real server with weight above zero, or is
    /// announced whatever its health (`announce = "always"`).
    Announced,
    /// Withdrawn: no service of the VIP has a real server with weight above zero.
    NoHealthyServer,
    /// Withdrawn: every service of the VIP is `announce = "never"`.
    Never,
    /// Withdrawn: the director is draining.
    Draining,
}

impl VipState {
    /// Whether the VIP's route is announced.
    pub fn announced(self) -> bool {
        self == VipState::Announced
    }

    /// The words rvsadm prints.
    pub fn describe(self) -> &'static str {
        match self {
            VipState::Announced => "announced",
            VipState::NoHealthyServer => "withdrawn (no real server with weight above 0)",
            VipState::Never => "withdrawn (announce = \"never\")",
            VipState::Draining => "withdrawn (draining)",
        }
    }
}

/// The announcer's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnounceStatus {
    /// `rvsadm --drain` (or a stopping rvsd) withdrew everything.
    pub draining: bool,
    /// Every VIP of the table, in address order, with its state.
    pub vips: Vec<(Ipv4Addr, VipState)>,
    /// The routing daemon's BGP sessions as it last reported them (`[announce] bird_socket`);
    /// `None` when rvsd is not told where to ask.
    #[serde(default)]
    pub bgp: Option<BgpView>,
}

/// What the routing daemon said of its BGP sessions at the announcer's last round.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BgpView {
    /// Its BGP protocols, in its order.
    Sessions(Vec<BgpSession>),
    /// It could not be asked (the message says why).
    Unreachable(String),
}

/// One BGP protocol of the routing daemon (a row of BIRD's `show protocols`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BgpSession {
    /// The protocol's name in the daemon's configuration.
    pub name: String,
    /// Its state (`up`, `start`, `down`...).
    pub state: String,
    /// Its info column (`Established`, `Active`, `Connect`...).
    pub info: String,
    /// Whether the session is up and established (routes are exchanged).
    pub established: bool,
}
