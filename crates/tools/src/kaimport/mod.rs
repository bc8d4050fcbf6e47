//! `rvs-keepalived-import`: a keepalived.conf's load-balancing blocks as rvsd's TOML.
//!
//! [`import`] reads the file as keepalived does ([`lex`]: includes, comments, quotes,
//! conditional lines; [`tree`]: nested blocks), converts `virtual_server`,
//! `virtual_server_group` and `real_server` blocks with every checker ([`convert`],
//! [`checkers`]) and writes `[[service]]` sections ([`emit`]) to append to a director's
//! config. What rvs cannot do is refused with the file, the line and the reason; VRRP blocks
//! are left to keepalived and said so in the notes. The TOML it writes is for `rvsd --check`,
//! which decides what only the daemon's config check knows. docs/keepalived.md is the guide.

pub mod checkers;
pub mod convert;
pub mod emit;
pub mod lex;
pub mod tree;

#[cfg(test)]
mod tests;

use std::fmt;
use std::net::Ipv4Addr;
use std::path::Path;

/// A construct rvs cannot take, with where it is and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `file:line`.
    pub place: String,
    /// What and why, and what to do instead where there is something.
    pub reason: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.reason)
    }
}

/// What to write besides the services.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Write an `[[addr]]` of kind `vip` on this port for each VIP.
    pub vip_port: Option<String>,
    /// keepalived's config id (`-i`), which decides `@ID` lines.
    pub config_id: String,
    /// Mark those `[[addr]]`s `standby = true` (director HA: keepalived's VRRP notify scripts
    /// take and release the VIPs).
    pub vip_standby: bool,
}

/// A converted configuration.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The TOML to append to the director's config.
    pub toml: String,
    /// What was read but is not rvsd's (VRRP, keepalived's globals), one line each.
    pub notes: Vec<String>,
    /// Number of `[[service]]` sections written.
    pub services: usize,
}

/// Reads `path` (and its includes) and converts it, or gives every refusal.
pub fn import(path: &Path, opts: &Options) -> Result<Imported, Vec<Refusal>> {
    let src = lex::read(path, &opts.config_id)?;
    convert_source(&src, opts)
}

/// [`import`] of text as the file `name` (tests).
pub fn import_str(text: &str, name: &str, opts: &Options) -> Result<Imported, Vec<Refusal>> {
    let src = lex::read_str(text, name, &opts.config_id)?;
    convert_source(&src, opts)
}

fn convert_source(src: &lex::Source, opts: &Options) -> Result<Imported, Vec<Refusal>> {
    let nodes = tree::build(src)?;
    let mut conv = convert::Conv::new(src);
    conv.top(&nodes);
    if !conv.refusals.is_empty() {
        return Err(conv.refusals);
    }
    let mut toml = String::new();
    let files: Vec<String> = src.files.iter().map(|p| p.display().to_string()).collect();
    toml.push_str(&format!(
        "# rvs services imported from keepalived configuration: {}\n",
        files.join(", ")
    ));
    for n in &conv.notes {
        toml.push_str(&format!("# note: {n}\n"));
    }
    match &opts.vip_port {
        Some(port) => {
            for vip in &conv.vips {
                toml.push_str(&vip_addr(port, *vip));
                if opts.vip_standby {
                    toml.push_str("standby = true\n");
                }
            }
        }
        None if !conv.vips.is_empty() => {
            let list: Vec<String> = conv.vips.iter().map(Ipv4Addr::to_string).collect();
            toml.push_str(&format!(
                "# declare each VIP as an [[addr]] of kind \"vip\" in the director's config: {}\n",
                list.join(", ")
            ));
        }
        None => {}
    }
    for b in &conv.bfd {
        emit::write_table(&mut toml, "bfd_instance", b, true);
    }
    for s in &conv.services {
        emit::write_table(&mut toml, "service", s, true);
    }
    Ok(Imported { toml, notes: conv.notes, services: conv.services.len() })
}

fn vip_addr(port: &str, vip: Ipv4Addr) -> String {
    format!("\n[[addr]]\nport = {}\nip = \"{vip}/32\"\nkind = \"vip\"\n", emit::quote(port))
}
