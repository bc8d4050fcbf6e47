//! ipvsadm's sync daemon commands: `--start-daemon master|backup`, `--stop-daemon
//! master|backup` with `--mcast-interface IF --syncid N [--sync-maxlen N --mcast-group ADDR
//! --mcast-port N --mcast-ttl N]`, and the `-L --daemon` listing, as ipvsadm 1.31 parses and
//! prints them.
//!
//! Owns: reading those command lines into a [`SyncDaemonCmd`] with ipvsadm's ranges and error
//! words, and printing [`SyncDaemonInfo`] rows. Must not touch: the rest of the command line
//! (`cli`, which hands a line starting with `--start-daemon`/`--stop-daemon` here), the daemon.
//!
//! The options are long-only, as in ipvsadm. The command must come first (as every ipvsadm
//! command); options of other commands are illegal with it. ipvsadm 1.31's option table makes
//! every daemon option optional for `--start-daemon` and the interface and sync id optional for
//! `--stop-daemon` (the kernel wants an interface to start; rvsd will say so).

use std::fmt::Write as _;
use std::net::IpAddr;

use super::error::CliError;
use super::hostport::number_in;
use super::opts::lookup_long;

pub use rvs_proto::sync::{SyncDaemonInfo, SyncDaemonParams, SyncRole};

impl SyncDaemonCmd {
    /// The request rvsd answers.
    pub fn request(&self) -> rvs_proto::sync::SyncRequest {
        use rvs_proto::sync::SyncRequest;
        match self {
            SyncDaemonCmd::Start { role, params } => {
                SyncRequest::Start { role: *role, params: params.clone() }
            }
            SyncDaemonCmd::Stop { role } => SyncRequest::Stop { role: *role },
        }
    }
}

/// A sync daemon command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncDaemonCmd {
    /// `--start-daemon`.
    Start {
        /// Master or backup.
        role: SyncRole,
        /// Its parameters.
        params: SyncDaemonParams,
    },
    /// `--stop-daemon` (the interface and sync id, if given, are ignored as ipvsadm ignores
    /// them).
    Stop {
        /// Master or backup.
        role: SyncRole,
    },
}

/// ipvsadm keeps `IP_VS_IFNAME_MAXLEN - 1` characters of the interface name.
const IFNAME_KEPT: usize = 15;

/// Reads `args` (the words after the program name) when they start with `--start-daemon` or
/// `--stop-daemon`; `None` for any other command line.
pub fn parse(args: &[&str]) -> Option<Result<SyncDaemonCmd, CliError>> {
    let first = args.first()?;
    let (name, inline) = match first.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (*first, None),
    };
    let start = match name {
        "--start-daemon" => true,
        "--stop-daemon" => false,
        _ => return None,
    };
    Some(parse_daemon(start, inline, &args[1..]))
}

fn parse_daemon(
    start: bool,
    inline: Option<&str>,
    rest: &[&str],
) -> Result<SyncDaemonCmd, CliError> {
    let shown = if start { "--start-daemon" } else { "--stop-daemon" };
    let cmd_name = if start { "start-daemon" } else { "stop-daemon" };
    let mut rest = rest.iter();
    let role_word = match inline {
        Some(v) => v,
        None => *rest.next().ok_or_else(|| CliError::MissingArgument(shown.to_string()))?,
    };
    let role = SyncRole::parse(role_word).ok_or(CliError::IllegalDaemonState { start })?;
    let mut p = SyncDaemonParams::default();
    while let Some(tok) = rest.next() {
        let Some(body) = tok.strip_prefix("--") else {
            // ipvsadm reads a leftover word as a service address, illegal with this command.
            if tok.starts_with('-') && tok.len() > 1 {
                return Err(CliError::UnknownOption(tok.to_string()));
            }
            return Err(CliError::IllegalOption { opt: "service-address", cmd: cmd_name });
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let Some(spec) = lookup_long(name) else {
            return Err(CliError::UnknownOption(tok.to_string()));
        };
        let daemon_opt = matches!(
            name,
            "mcast-interface"
                | "syncid"
                | "sync-maxlen"
                | "mcast-group"
                | "mcast-port"
                | "mcast-ttl"
        );
        if !daemon_opt || (!start && !matches!(name, "mcast-interface" | "syncid")) {
            return Err(match spec.tag {
                super::opts::Tag::Cmd(_) => CliError::MultipleCommands,
                _ => CliError::IllegalOption { opt: option_name(name), cmd: cmd_name },
            });
        }
        let v = match inline {
            Some(v) => v.to_string(),
            None => rest
                .next()
                .map(|s| s.to_string())
                .ok_or_else(|| CliError::MissingArgument(format!("--{name}")))?,
        };
        let twice = CliError::MultipleOption(option_name(name));
        match name {
            "mcast-interface" => {
                if p.mcast_interface.is_some() {
                    return Err(twice);
                }
                p.mcast_interface = Some(v.chars().take(IFNAME_KEPT).collect());
            }
            "syncid" => {
                if p.syncid.is_some() {
                    return Err(twice);
                }
                p.syncid = Some(ranged(&v, 0, 255).ok_or(CliError::IllegalSyncId)? as u8);
            }
            "sync-maxlen" => {
                if p.sync_maxlen.is_some() {
                    return Err(twice);
                }
                let max = 65535 - 20 - 8;
                p.sync_maxlen = Some(ranged(&v, 1, max).ok_or(CliError::IllegalSyncMaxlen)? as u16);
            }
            "mcast-group" => {
                if p.mcast_group.is_some() {
                    return Err(twice);
                }
                let a: IpAddr = v.parse().map_err(|_| CliError::IllegalMcastGroup)?;
                if !a.is_multicast() {
                    return Err(CliError::IllegalMcastGroup);
                }
                p.mcast_group = Some(a);
            }
            "mcast-port" => {
                if p.mcast_port.is_some() {
                    return Err(twice);
                }
                p.mcast_port = Some(ranged(&v, 1, 65535).ok_or(CliError::IllegalMcastPort)? as u16);
            }
            _ => {
                if p.mcast_ttl.is_some() {
                    return Err(twice);
                }
                p.mcast_ttl = Some(ranged(&v, 1, 255).ok_or(CliError::IllegalMcastTtl)? as u8);
            }
        }
    }
    Ok(if start { SyncDaemonCmd::Start { role, params: p } } else { SyncDaemonCmd::Stop { role } })
}

fn ranged(v: &str, min: i64, max: i64) -> Option<i64> {
    number_in(v, min, max)
}

/// The option's name in ipvsadm's messages.
fn option_name(long: &str) -> &'static str {
    match long {
        "mcast-interface" => "mcast-interface",
        "syncid" => "syncid",
        "sync-maxlen" => "sync-maxlen",
        "mcast-group" => "mcast-group",
        "mcast-port" => "mcast-port",
        "mcast-ttl" => "mcast-ttl",
        _ => lookup_long(long).map_or("option", |s| s.long),
    }
}

/// `-L --daemon`: one line per running daemon, master first, as ipvsadm 1.31 prints them
/// (`master sync daemon (mcast=eth1, syncid=1, maxlen=1472, group=224.0.0.81, port=8848,
/// ttl=1)`); values of 0 (and no group) are left out, as ipvsadm leaves out what the kernel
/// leaves unset.
pub fn format_daemons(rows: &[SyncDaemonInfo]) -> String {
    let mut out = String::new();
    for role in SyncRole::ALL {
        for d in rows.iter().filter(|d| d.role == role) {
            let _ = write!(
                out,
                "{} sync daemon (mcast={}, syncid={}",
                role.name(),
                d.mcast_interface,
                d.syncid
            );
            if d.sync_maxlen != 0 {
                let _ = write!(out, ", maxlen={}", d.sync_maxlen);
            }
            if let Some(g) = d.mcast_group {
                let _ = write!(out, ", group={g}");
            }
            if d.mcast_port != 0 {
                let _ = write!(out, ", port={}", d.mcast_port);
            }
            if d.mcast_ttl != 0 {
                let _ = write!(out, ", ttl={}", d.mcast_ttl);
            }
            out.push_str(")\n");
        }
    }
    out
}
