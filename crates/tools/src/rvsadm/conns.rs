//! `-L -c`: the connection listing, byte-for-byte as ipvsadm 1.31 prints it.
//!
//! Owns the header and row layout: `pro expire state source virtual destination` with widths
//! `%-3s %-6s %-11s %-18s %-18s %s`, expiry as `MM:SS` (minutes may exceed 99). rvs extension: a
//! FULLNAT/SNAT connection has a local address; such rows pad the destination to 18 and append
//! the local address, and the header gains a `local` column only when such a row exists, so the
//! first six columns never move. Rows keep the order they are given in (ipvsadm does not sort
//! connections). [`ConnWriter`] prints the listing as its chunks arrive from rvsd. Must not
//! touch: where connections come from.

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
pub fn list_conns(conns: &[ConnEntry], fmt: &ListFormat, names: &dyn Names) -> String {
    let mut w = ConnWriter::new(fmt, names);
    let mut out = w.push(conns.to_vec());
    out.push_str(&w.finish());
    out
}

/// The `-c` listing written as its chunks arrive, byte for byte what [`list_conns`] prints for
/// all of them. The header's `local` column depends on whether any row has a local address.
/// rvsd says so in the listing's first chunk ([`ConnWriter::push_chunk`]), and then every row
/// is printed as it comes and nothing is held. When it does not (an older rvsd, a listing
/// limited per worker), rows are held back only until that is known: from the first row with
/// a local address (or at once with `-o`, whose header has no such column) everything is
/// printed as it comes; a listing without any is held whole and printed at its end.
pub struct ConnWriter<'a> {
    fmt: &'a ListFormat,
    names: &'a dyn Names,
    started: bool,
    held: Vec<ConnEntry>,
}

impl<'a> ConnWriter<'a> {
    /// A listing in format `fmt`.
    pub fn new(fmt: &'a ListFormat, names: &'a dyn Names) -> Self {
        ConnWriter { fmt, names, started: false, held: Vec::new() }
    }

    /// The text that can be printed now that a chunk of `conns` arrived, with rvsd's word on
    /// whether the header has the `local` column (`local_column`, in the first chunk). Once
    /// the header is printed, a row with a local address still shows it (rvsd counted the
    /// tables when the listing began; a connection with one may have come since).
    pub fn push_chunk(&mut self, local_column: Option<bool>, conns: Vec<ConnEntry>) -> String {
        match local_column {
            Some(any_local) if !self.started => {
                let mut out = self.header(any_local && !self.fmt.persistent_conn);
                let held = std::mem::take(&mut self.held);
                out.push_str(&self.rows(&held));
                out.push_str(&self.rows(&conns));
                self.started = true;
                out
            }
            _ => self.push(conns),
        }
    }

    /// Rows held back until the header is known (none once it is printed).
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// The text that can be printed now that `conns` arrived (possibly none).
    pub fn push(&mut self, conns: Vec<ConnEntry>) -> String {
        if self.started {
            return self.rows(&conns);
        }
        if self.fmt.persistent_conn || conns.iter().any(|c| c.local.is_some()) {
            let mut out = self.header(!self.fmt.persistent_conn);
            let held = std::mem::take(&mut self.held);
            out.push_str(&self.rows(&held));
            out.push_str(&self.rows(&conns));
            self.started = true;
            return out;
        }
        self.held.extend(conns);
        String::new()
    }

    /// The rest of the listing, once every chunk arrived.
    pub fn finish(mut self) -> String {
        if self.started {
            return String::new();
        }
        let mut out = self.header(false);
        let held = std::mem::take(&mut self.held);
        out.push_str(&self.rows(&held));
        out
    }

    // The header keeps the C conversion layout (`%-11s ... %s`) visible, literals included.
    #[allow(clippy::write_literal)]
    fn header(&self, any_local: bool) -> String {
        let mut out = String::from("IPVS connection entries\n");
        // Writing to a String cannot fail.
        let _ = if self.fmt.persistent_conn {
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
        out
    }

    fn rows(&self, conns: &[ConnEntry]) -> String {
        let (fmt, names) = (self.fmt, self.names);
        let mut out = String::new();
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
}
