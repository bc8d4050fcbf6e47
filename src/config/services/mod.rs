//! Virtual services in rvsd's config: `[timeouts]`, `[[service]]` with `[[service.dest]]`, and
//! `[[snat]]`, validated through the same model `rvsadm` uses.
//!
//! Owns turning those sections into the control-plane model, and back ([`to_toml`]). A
//! `[[service]]` becomes the typed changes `rvsadm -A`, `-a` and `-P` would send
//! ([`crate::proto::change::Change`]); they are applied to a [`crate::ctrl::table::ServiceTable`],
//! so every rule and every error of `rvsadm` holds for the file exactly as for the command line
//! (the error says the key, `service[1].dest[0].weight`, and the fix). On top come the rules
//! only a config can check: a VIP is an `[[addr]]` of kind `vip`, local addresses and SNAT
//! sources are `[[addr]]`s of kind `local`, DR and TUN real servers listen on the VIP's port,
//! tunnel keys only with `fwd = "tun"`, `toa` only with FULLNAT. The config is IPv4, like the
//! director's addresses.
//!
//! Must not touch: the data plane, sockets. The daemon starts from the resulting table and the
//! control socket changes it live; `rvsadm -S` and [`to_toml`] are two writings of it.

mod check;
mod errors;
pub(crate) mod limits;
mod range;
pub(crate) mod raw;
mod snat;
mod to_toml;

use std::net::Ipv4Addr;

use super::checked::{Addr, AddrKind, Port};
use super::error::{invalid, Invalid};

pub(crate) use check::{check_services, fwd_method};
pub(crate) use snat::check_snats;
pub use to_toml::to_toml;

fn kind_name(kind: AddrKind) -> &'static str {
    match kind {
        AddrKind::Host => "host",
        AddrKind::Vip => "vip",
        AddrKind::Local => "local",
    }
}

/// `ip` must be an `[[addr]]` of `kind`; `role` names what it is used as, for the message.
fn require_addr(
    addrs: &[Addr],
    ports: &[Port],
    ip: Ipv4Addr,
    kind: AddrKind,
    role: &str,
    key: String,
) -> Result<(), Invalid> {
    let want = kind_name(kind);
    match addrs.iter().enumerate().find(|(_, a)| a.ip == ip) {
        Some((_, a)) if a.kind == kind => Ok(()),
        Some((j, a)) => Err(invalid(
            key,
            format!(
                "{ip} is addr[{j}], of kind \"{}\"; {role} must be an [[addr]] of kind \"{want}\": change addr[{j}].kind to \"{want}\" (ip = \"{ip}/32\") or use another address",
                kind_name(a.kind)
            ),
        )),
        None => {
            // The port of the connected network the address is on, else the first port.
            let port = addrs
                .iter()
                .find(|a| a.kind == AddrKind::Host && a.net().contains(ip))
                .and_then(|a| ports.get(usize::from(a.port)))
                .or(ports.first())
                .map_or("<port>", |p| p.name.as_str());
            Err(invalid(
                key,
                format!(
                    "{ip} is not an address of this director; {role} must be one: add [[addr]] port = \"{port}\" ip = \"{ip}/32\" kind = \"{want}\""
                ),
            ))
        }
    }
}
