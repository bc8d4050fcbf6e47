//! `-L -c`: the connection listing, byte-for-byte as ipvsadm 1.31 prints it.
//!
//! Owns the header and row layout: `pro expire state source virtual destination` with widths
//! `%-3s %-6s %-11s %-18s %-18s %s`, expiry as `MM:SS` (minutes may exceed 99). rvs extension: a
//! FULLNAT/SNAT connection has a local address; such rows pad the destination to 18 and append
//! the local address, and the header gains a `local` column only when such a row exists, so the
//! first six columns never move. Rows keep the order they are given in (ipvsadm does not sort
//! connections). Must not touch: where connections come from.

use super::cli::ListFormat;
use super::format::addrport;
use super::names::Names;
use rvs_proto::model::ConnEntry;
use std::fmt::Write;
use std::net::SocketAddr;

fn expire(s: u32) -> String {
    format!("{:02}:{:02}", s / 60, s % 60)
}

/// The `-c` listing of `conns`.
// The header keeps the C conversion layout (`%-11s ... %s`) visible, literals included.
#[allow(clippy::write_literal)]
pub fn list_conns(conns: &[ConnEntry], fmt: &ListFormat, names: &dyn Names) -> String {
    let mut out = String::from("IPVS connection entries\n");
    let any_local = conns.iter().any(|c| c.local.is_some());
    // Writing to a String cannot fail.
    let _ = if fmt.persistent_conn {
        writeln!(
            out,
            "pro expire {:<11} {:<18} {:<18} {:<18} {:<16} {}",
            "state", "source", "virtual", "destination", "pe name", "pe_data"
        )
    } else if any_local {
        writeln!(
            out,
            "pro expire {:<11} {:<18} {:<18} {:<18} {}",
            "state", "source", "virtual", "destination", "local"
        )
    } else {
        writeln!(
            out,
            "pro expire {:<11} {:<18} {:<18} {}",
            "state", "source", "virtual", "destination"
        )
    };
    for c in conns {
        let name = |a: SocketAddr| addrport(a.ip(), a.port(), c.proto, fmt.numeric, names);
        let head = format!(
            "{:<3} {:<6} {:<11} {:<18} {:<18}",
            c.proto.name(),
            expire(c.expire_s),
            c.state,
            name(c.client),
            name(c.virt)
        );
        let _ = match c.local {
            Some(l) => writeln!(out, "{head} {:<18} {}", name(c.dest), name(l)),
            None => writeln!(out, "{head} {}", name(c.dest)),
        };
    }
    out
}
