//! `[[snat]]`: source-NAT rules. Inside hosts matched by `src` (and `dst`, `proto`) leave
//! from `out`, an `[[addr]]` of kind `local`.

use std::net::{IpAddr, Ipv4Addr};

use crate::config::checked::{Addr, AddrKind, Port};
use crate::config::error::{invalid, Invalid};
use crate::ipvs::spec::{SnatProto, SnatRule};

use super::range::parse_range;
use super::raw::RawSnat;
use super::require_addr;

/// Checks every `[[snat]]`, in file order.
pub(crate) fn check_snats(
    raw: Vec<RawSnat>,
    addrs: &[Addr],
    ports: &[Port],
) -> Result<Vec<SnatRule>, Invalid> {
    let mut rules: Vec<SnatRule> = Vec::with_capacity(raw.len());
    for (i, r) in raw.into_iter().enumerate() {
        let key = |field: &str| format!("snat[{i}].{field}");
        let src = parse_range(&r.src).map_err(|m| invalid(key("src"), m))?;
        let dst = match &r.dst {
            Some(d) => parse_range(d).map_err(|m| invalid(key("dst"), m))?,
            None => None,
        };
        let proto = match &r.proto {
            None => SnatProto::Any,
            Some(p) => SnatProto::from_name(p).ok_or_else(|| {
                invalid(
                    key("proto"),
                    format!(
                        "`{p}` is not a protocol here: write \"tcp\", \"udp\", \"icmp\" or \"any\""
                    ),
                )
            })?,
        };
        let out = r.out.parse::<Ipv4Addr>().map_err(|_| {
            invalid(
                key("out"),
                format!(
                    "`{}` is not an IPv4 address: write a.b.c.d, without port or length",
                    r.out
                ),
            )
        })?;
        require_addr(addrs, ports, out, AddrKind::Local, "the SNAT source", key("out"))?;
        if r.synproxy && !matches!(proto, SnatProto::Tcp | SnatProto::Any) {
            return Err(invalid(
                key("synproxy"),
                format!(
                    "the SYN proxy answers TCP handshakes only, and this rule matches `{}`: \
                     remove `synproxy` or write proto = \"tcp\" (or \"any\")",
                    proto.name()
                ),
            ));
        }
        let rule = SnatRule { src, dst, proto, out_addr: IpAddr::V4(out), synproxy: r.synproxy };
        if let Some(j) = rules
            .iter()
            .position(|o| o.src == rule.src && o.dst == rule.dst && o.proto == rule.proto)
        {
            return Err(invalid(
                format!("snat[{i}]"),
                format!(
                    "matches the same traffic as snat[{j}] (same src, dst and proto): remove one"
                ),
            ));
        }
        rules.push(rule);
    }
    Ok(rules)
}
