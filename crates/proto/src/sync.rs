//! Connection sync (docs/scale-out.md, "Connection sync"): the requests behind ipvsadm's
//! `--start-daemon`, `--stop-daemon` and `-L --daemon`, and the listing's rows.
//!
//! Owns these types and the one parse of a role word (`master`/`backup`), shared by rvsadm's
//! command line and rvsd's `[sync]` block. The daemon runs the sync threads (`rvs::sync`);
//! rvsadm formats the rows as ipvsadm prints them.

use core::net::IpAddr;
use serde::{Deserialize, Serialize};

/// Which of the two sync daemons.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SyncRole {
    /// Sends this director's connections.
    Master,
    /// Installs the peers' connections.
    Backup,
}

impl SyncRole {
    /// Both, master first (ipvsadm's listing order).
    pub const ALL: [SyncRole; 2] = [SyncRole::Master, SyncRole::Backup];

    /// `master` or `backup`.
    pub fn name(self) -> &'static str {
        match self {
            SyncRole::Master => "master",
            SyncRole::Backup => "backup",
        }
    }

    /// Reads `master` or `backup` (exactly, as ipvsadm and the kernel compare them).
    pub fn parse(word: &str) -> Option<SyncRole> {
        match word {
            "master" => Some(SyncRole::Master),
            "backup" => Some(SyncRole::Backup),
            _ => None,
        }
    }
}

/// The parameters of `--start-daemon` as given (the daemon fills in the defaults).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncDaemonParams {
    /// `--mcast-interface` (at most 15 characters are kept, as ipvsadm keeps them).
    pub mcast_interface: Option<String>,
    /// `--syncid` (0 to 255).
    pub syncid: Option<u8>,
    /// `--sync-maxlen` (1 to 65507: the largest UDP payload).
    pub sync_maxlen: Option<u16>,
    /// `--mcast-group` (IPv4 or IPv6 as ipvsadm reads it; rvsd takes IPv4).
    pub mcast_group: Option<IpAddr>,
    /// `--mcast-port` (1 to 65535).
    pub mcast_port: Option<u16>,
    /// `--mcast-ttl` (1 to 255).
    pub mcast_ttl: Option<u8>,
}

/// A running sync daemon as `-L --daemon` shows it (every value filled in by the daemon).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncDaemonInfo {
    /// Master or backup.
    pub role: SyncRole,
    /// The interface.
    pub mcast_interface: String,
    /// The sync id.
    pub syncid: u8,
    /// The message size limit (0: not shown).
    pub sync_maxlen: u16,
    /// The group (none: not shown).
    pub mcast_group: Option<IpAddr>,
    /// The port (0: not shown).
    pub mcast_port: u16,
    /// The TTL (0: not shown).
    pub mcast_ttl: u8,
}

/// A sync daemon request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncRequest {
    /// `--start-daemon`: start that role; refused ("Daemon has already run") if it runs.
    Start {
        /// Master or backup.
        role: SyncRole,
        /// Its parameters.
        params: SyncDaemonParams,
    },
    /// `--stop-daemon`: stop that role; refused ("No daemon is running") if it does not run.
    Stop {
        /// Master or backup.
        role: SyncRole,
    },
    /// `-L --daemon`: the running daemons.
    Show,
}

/// The kernel's words (through libipvs) for a second start of a role.
pub const ALREADY_RUNNING: &str = "Daemon has already run";
/// The kernel's words for a stop of a role that does not run.
pub const NOT_RUNNING: &str = "No daemon is running";
