//! The sync daemons' configuration once checked: `[sync]` ([`SyncConfig`]) and the kernel
//! interfaces that can carry sync traffic ([`SyncIface`]). The config module parses and checks
//! the keys into these types (`crate::config::sync`); they live here so that the daemon depends
//! on nothing of the config module. Must not touch: parsing, sockets, threads.

use std::net::Ipv4Addr;

use super::daemon::{SyncRole, SyncSettings};

/// `[sync]`, checked: which daemons start, and how they run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncConfig {
    /// The daemons to run, master first.
    pub roles: Vec<SyncRole>,
    /// Their settings (the same for both, as the kernel's two daemons share an interface).
    pub settings: SyncSettings,
}

/// A port's kernel interface that can carry sync traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncIface {
    /// The kernel interface's name.
    pub name: String,
    /// Its first IPv4 kernel address: the sockets' source and, with peers, where the backup
    /// listens.
    pub addr: Ipv4Addr,
    /// The port's MTU (the default message size is this less the IPv4 and UDP headers).
    pub mtu: u16,
}

impl SyncIface {
    /// The kernel's default `sync_maxlen` on this interface.
    pub fn default_maxlen(&self) -> u16 {
        self.mtu.saturating_sub(28)
    }
}
