//! rvsnet's command line: `rvsnet OBJECT [COMMAND] [ARGS]`, in the spirit of `ip`.
//!
//! Owns parsing argv into a [`NetRequest`] (or help), and the words of every command-line
//! error. Objects and commands may be abbreviated as `ip` allows the common ones (`a`, `r`,
//! `n`, `l`; `ls`, `list`, `delete`). Nothing here talks to rvsd.

use crate::proto::net::{AddrSpec, NetAddrKind, NetRequest, RouteSpec};
use std::net::Ipv4Addr;
use thiserror::Error;

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetCommand {
    /// Print the usage.
    Help,
    /// Send this request.
    Request(NetRequest),
}

/// A command line rvsnet cannot run; the message says what to write instead.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum NetCliError {
    /// No object given.
    #[error("missing object: write one of addr, route, neigh, link, steering (rvsnet help)")]
    NoObject,
    /// Unknown object.
    #[error("unknown object `{0}`: write one of addr, route, neigh, link, steering")]
    UnknownObject(String),
    /// A command the object does not have.
    #[error("`{object} {command}` does not exist: {object} takes {allowed}")]
    UnknownCommand {
        /// The object.
        object: &'static str,
        /// What was given.
        command: String,
        /// What it takes.
        allowed: &'static str,
    },
    /// A required argument is missing.
    #[error("{0}")]
    Missing(&'static str),
    /// A word the command does not take.
    #[error("unexpected `{0}`")]
    Unexpected(String),
    /// A keyword without its value.
    #[error("`{0}` needs a value")]
    NoValue(String),
    /// A keyword given twice.
    #[error("`{0}` is given twice")]
    Twice(String),
    /// Not an IPv4 address or prefix.
    #[error("`{0}` is not an IPv4 address: write a.b.c.d or a.b.c.d/len (len 0..=32)")]
    BadAddr(String),
    /// Unknown address kind.
    #[error("`{0}` is not an address kind: write host, vip or local")]
    BadKind(String),
}

fn object(word: &str) -> Option<&'static str> {
    match word {
        "addr" | "address" | "a" => Some("addr"),
        "route" | "r" => Some("route"),
        "neigh" | "neighbour" | "neighbor" | "n" => Some("neigh"),
        "link" | "l" => Some("link"),
        "steering" | "steer" | "s" => Some("steering"),
        _ => None,
    }
}

fn is_show(word: &str) -> bool {
    matches!(word, "show" | "list" | "ls" | "lst" | "sh")
}

fn is_del(word: &str) -> bool {
    matches!(word, "del" | "delete")
}

/// Parses `a.b.c.d[/len]`; without `/len` the length is `default_len`.
pub fn parse_prefix(s: &str, default_len: u8) -> Result<(Ipv4Addr, u8), NetCliError> {
    let bad = || NetCliError::BadAddr(s.to_string());
    let (ip, len) = match s.split_once('/') {
        Some((ip, len)) => {
            let len: u8 = len.parse().map_err(|_| bad())?;
            (ip, len)
        }
        None => (s, default_len),
    };
    if len > 32 {
        return Err(bad());
    }
    let ip: Ipv4Addr = ip.parse().map_err(|_| bad())?;
    Ok((ip, len))
}

fn parse_ip(s: &str) -> Result<Ipv4Addr, NetCliError> {
    s.parse().map_err(|_| NetCliError::BadAddr(s.to_string()))
}

/// Keyword arguments (`dev p0 via 10.0.0.1 kind vip`): each at most once, each with a value.
fn keywords<'a>(
    args: &[&'a str],
    allowed: &[&str],
) -> Result<Vec<(&'static str, &'a str)>, NetCliError> {
    let mut out: Vec<(&'static str, &'a str)> = Vec::new();
    let mut it = args.iter();
    while let Some(&k) = it.next() {
        let key = match k {
            "dev" => "dev",
            "via" => "via",
            "kind" | "type" => "kind",
            _ => return Err(NetCliError::Unexpected(k.to_string())),
        };
        if !allowed.contains(&key) {
            return Err(NetCliError::Unexpected(k.to_string()));
        }
        let v = it.next().ok_or_else(|| NetCliError::NoValue(k.to_string()))?;
        if out.iter().any(|(seen, _)| *seen == key) {
            return Err(NetCliError::Twice(key.to_string()));
        }
        out.push((key, v));
    }
    Ok(out)
}

fn get<'a>(kw: &[(&'static str, &'a str)], key: &str) -> Option<&'a str> {
    kw.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

fn no_more(rest: &[&str]) -> Result<(), NetCliError> {
    match rest.first() {
        Some(w) => Err(NetCliError::Unexpected(w.to_string())),
        None => Ok(()),
    }
}

/// Parses the arguments after the program name.
pub fn parse(args: &[&str]) -> Result<NetCommand, NetCliError> {
    let Some((&first, rest)) = args.split_first() else {
        return Err(NetCliError::NoObject);
    };
    if matches!(first, "help" | "-h" | "--help") {
        return Ok(NetCommand::Help);
    }
    let obj = object(first).ok_or_else(|| NetCliError::UnknownObject(first.to_string()))?;
    let (cmd, rest) = match rest.split_first() {
        Some((&c, r)) if c != "-s" && c != "-stats" => (c, r),
        _ => ("show", rest),
    };
    if matches!(cmd, "help" | "-h" | "--help") {
        return Ok(NetCommand::Help);
    }
    let req = match obj {
        "addr" if is_show(cmd) => {
            no_more(rest)?;
            NetRequest::AddrShow
        }
        "addr" if cmd == "add" => {
            let (&a, rest) = rest
                .split_first()
                .ok_or(NetCliError::Missing("addr add needs IP[/LEN] dev PORT"))?;
            let (ip, prefix_len) = parse_prefix(a, 32)?;
            let kw = keywords(rest, &["dev", "kind"])?;
            let port = get(&kw, "dev")
                .ok_or(NetCliError::Missing("addr add needs `dev PORT` (a port name of rvsd)"))?;
            let kind = match get(&kw, "kind") {
                None => NetAddrKind::Host,
                Some(k) => {
                    NetAddrKind::from_name(k).ok_or_else(|| NetCliError::BadKind(k.into()))?
                }
            };
            NetRequest::AddrAdd(AddrSpec { port: port.to_string(), ip, prefix_len, kind })
        }
        "addr" if is_del(cmd) => {
            let (&a, rest) =
                rest.split_first().ok_or(NetCliError::Missing("addr del needs IP [dev PORT]"))?;
            let (ip, _) = parse_prefix(a, 32)?;
            let kw = keywords(rest, &["dev"])?;
            NetRequest::AddrDel { ip, port: get(&kw, "dev").map(str::to_string) }
        }
        "addr" => {
            return Err(NetCliError::UnknownCommand {
                object: "addr",
                command: cmd.to_string(),
                allowed: "show, add, del",
            })
        }
        "route" if is_show(cmd) => {
            no_more(rest)?;
            NetRequest::RouteShow
        }
        "route" if cmd == "add" || is_del(cmd) => {
            let (&p, rest) = rest.split_first().ok_or(NetCliError::Missing(
                "route add|del needs PREFIX/LEN|default [via GW] [dev PORT]",
            ))?;
            let (prefix, prefix_len) =
                if p == "default" { (Ipv4Addr::UNSPECIFIED, 0) } else { parse_prefix(p, 32)? };
            let kw = keywords(rest, &["dev", "via"])?;
            let via = get(&kw, "via").map(parse_ip).transpose()?;
            let port = get(&kw, "dev").map(str::to_string);
            let spec = RouteSpec { prefix, prefix_len, via, port };
            if cmd == "add" {
                NetRequest::RouteAdd(spec)
            } else {
                NetRequest::RouteDel(spec)
            }
        }
        "route" => {
            return Err(NetCliError::UnknownCommand {
                object: "route",
                command: cmd.to_string(),
                allowed: "show, add, del",
            })
        }
        "neigh" if is_show(cmd) || cmd == "flush" => {
            no_more(rest)?;
            NetRequest::Neigh { flush: cmd == "flush" }
        }
        "neigh" => {
            return Err(NetCliError::UnknownCommand {
                object: "neigh",
                command: cmd.to_string(),
                allowed: "show, flush",
            })
        }
        "link" if is_show(cmd) => {
            let stats = args.iter().any(|a| matches!(*a, "-s" | "-stats"));
            no_more(
                &rest
                    .iter()
                    .copied()
                    .filter(|a| !matches!(*a, "-s" | "-stats"))
                    .collect::<Vec<_>>(),
            )?;
            NetRequest::LinkShow { stats }
        }
        "link" => {
            return Err(NetCliError::UnknownCommand {
                object: "link",
                command: cmd.to_string(),
                allowed: "show [-s]",
            })
        }
        "steering" if is_show(cmd) => {
            no_more(rest)?;
            NetRequest::SteeringShow
        }
        _ => {
            return Err(NetCliError::UnknownCommand {
                object: "steering",
                command: cmd.to_string(),
                allowed: "show",
            })
        }
    };
    Ok(NetCommand::Request(req))
}

/// The usage text.
pub fn usage(program: &str) -> String {
    format!(
        "Usage: {p} OBJECT [COMMAND] [ARGS]   (rvsd's plumbing over its control socket; RVS_SOCK overrides the path)
  {p} addr show
  {p} addr add IP[/LEN] dev PORT [kind host|vip|local]
  {p} addr del IP [dev PORT]
  {p} route show
  {p} route add PREFIX/LEN|default [via GATEWAY] [dev PORT]
  {p} route del PREFIX/LEN|default [via GATEWAY] [dev PORT]
  {p} neigh show|flush
  {p} link show [-s]
  {p} steering show
COMMAND defaults to show. PORT is a [[port]] name of rvsd's config.
",
        p = program
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: &str) -> Result<NetCommand, NetCliError> {
        let argv: Vec<&str> = line.split_whitespace().collect();
        parse(&argv)
    }

    fn req(line: &str) -> NetRequest {
        match p(line) {
            Ok(NetCommand::Request(r)) => r,
            other => panic!("{line}: {other:?}"),
        }
    }

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn shows_default_and_abbreviate() {
        assert_eq!(req("addr"), NetRequest::AddrShow);
        assert_eq!(req("a ls"), NetRequest::AddrShow);
        assert_eq!(req("route list"), NetRequest::RouteShow);
        assert_eq!(req("neigh"), NetRequest::Neigh { flush: false });
        assert_eq!(req("n flush"), NetRequest::Neigh { flush: true });
        assert_eq!(req("link"), NetRequest::LinkShow { stats: false });
        assert_eq!(req("link -s"), NetRequest::LinkShow { stats: true });
        assert_eq!(req("link show -s"), NetRequest::LinkShow { stats: true });
        assert_eq!(req("steering"), NetRequest::SteeringShow);
        assert_eq!(p("help"), Ok(NetCommand::Help));
        assert_eq!(p("route help"), Ok(NetCommand::Help));
    }

    #[test]
    fn addr_add_and_del() {
        assert_eq!(
            req("addr add 192.0.2.50/24 dev p0"),
            NetRequest::AddrAdd(AddrSpec {
                port: "p0".into(),
                ip: ip("192.0.2.50"),
                prefix_len: 24,
                kind: NetAddrKind::Host
            })
        );
        assert_eq!(
            req("addr add 192.0.2.60 dev p1 kind vip"),
            NetRequest::AddrAdd(AddrSpec {
                port: "p1".into(),
                ip: ip("192.0.2.60"),
                prefix_len: 32,
                kind: NetAddrKind::Vip
            })
        );
        assert_eq!(
            req("addr del 192.0.2.60/32"),
            NetRequest::AddrDel { ip: ip("192.0.2.60"), port: None }
        );
        assert_eq!(
            req("addr delete 192.0.2.60 dev p0"),
            NetRequest::AddrDel { ip: ip("192.0.2.60"), port: Some("p0".into()) }
        );
    }

    #[test]
    fn route_add_and_del() {
        assert_eq!(
            req("route add 10.1.0.0/16 via 192.0.2.254 dev p0"),
            NetRequest::RouteAdd(RouteSpec {
                prefix: ip("10.1.0.0"),
                prefix_len: 16,
                via: Some(ip("192.0.2.254")),
                port: Some("p0".into())
            })
        );
        assert_eq!(
            req("route del default via 192.0.2.254"),
            NetRequest::RouteDel(RouteSpec {
                prefix: Ipv4Addr::UNSPECIFIED,
                prefix_len: 0,
                via: Some(ip("192.0.2.254")),
                port: None
            })
        );
        assert_eq!(
            req("route add 198.51.100.7 dev p0"),
            NetRequest::RouteAdd(RouteSpec {
                prefix: ip("198.51.100.7"),
                prefix_len: 32,
                via: None,
                port: Some("p0".into())
            })
        );
    }

    #[test]
    fn errors_say_what_to_write() {
        assert_eq!(p(""), Err(NetCliError::NoObject));
        assert_eq!(p("bridge"), Err(NetCliError::UnknownObject("bridge".into())));
        assert_eq!(
            p("addr flush").unwrap_err().to_string(),
            "`addr flush` does not exist: addr takes show, add, del"
        );
        assert_eq!(
            p("addr add 10.0.0.1/33 dev p0"),
            Err(NetCliError::BadAddr("10.0.0.1/33".into()))
        );
        assert_eq!(p("addr add 10.0.0.300 dev p0"), Err(NetCliError::BadAddr("10.0.0.300".into())));
        assert!(matches!(p("addr add 10.0.0.1/24"), Err(NetCliError::Missing(_))));
        assert_eq!(p("addr add 10.0.0.1 dev"), Err(NetCliError::NoValue("dev".into())));
        assert_eq!(p("addr add 10.0.0.1 dev p0 dev p1"), Err(NetCliError::Twice("dev".into())));
        assert_eq!(p("addr add 10.0.0.1 dev p0 kind wan"), Err(NetCliError::BadKind("wan".into())));
        assert_eq!(
            p("addr add 10.0.0.1 dev p0 via 1.2.3.4"),
            Err(NetCliError::Unexpected("via".into()))
        );
        assert_eq!(p("route show extra"), Err(NetCliError::Unexpected("extra".into())));
        assert_eq!(p("route add 10.0.0.0/8 via x"), Err(NetCliError::BadAddr("x".into())));
        assert!(matches!(p("route add"), Err(NetCliError::Missing(_))));
        assert!(matches!(p("neigh add 1.2.3.4"), Err(NetCliError::UnknownCommand { .. })));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(words in proptest::collection::vec("[a-z0-9./-]{0,12}", 0..6)) {
            let argv: Vec<&str> = words.iter().map(String::as_str).collect();
            let _ = parse(&argv);
        }
    }
}
