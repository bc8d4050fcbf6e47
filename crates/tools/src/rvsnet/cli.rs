//! rvsnet's command line: `rvsnet OBJECT [COMMAND] [ARGS]`, in the spirit of `ip`, parsed by
//! clap.
//!
//! Owns the grammar (the clap types below), turning a parse into a [`NetRequest`] or a help
//! text, and the words of every command-line error (clap's, with the keywords spelled as
//! typed). Objects and commands abbreviate as `ip` allows the common ones (`a`, `r`, `n`, `l`,
//! `s`; `ls`, `list`, `sh`, `delete`), and a missing command is `show`. Nothing here talks to
//! rvsd.
//!
//! One `ip` form is not clap's: bare keywords followed by their value (`dev p0`, `via GW`,
//! `kind vip`), where clap has flags and positionals. [`ip_words`] turns such a keyword,
//! where a keyword can stand (not as the value of the one before it), into its long flag
//! (`--dev p0`) before clap parses; error texts spell it back as `dev PORT`, and the usage
//! lines show the `ip` form. Both spellings work. `ip`'s `-stats` becomes `--stats` the same
//! way.

use clap::builder::PossibleValue;
use clap::error::ErrorKind;
use clap::{Args, Command, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use rvs_proto::net::{AddrSpec, NetAddrKind, NetRequest, RouteSpec};
use std::net::Ipv4Addr;
use thiserror::Error;

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetCommand {
    /// Print this help text (of the whole program or of one object or command).
    Help(String),
    /// Send this request.
    Request(NetRequest),
}

/// A command line rvsnet cannot run: what is wrong, the usage of the command, and where help
/// is.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct NetCliError(String);

/// `ip`'s keywords: the word, the flag it stands for, the value's name.
const KEYWORDS: [(&str, &str, &str); 4] = [
    ("dev", "--dev", "PORT"),
    ("via", "--via", "GATEWAY"),
    ("kind", "--kind", "KIND"),
    ("type", "--kind", "KIND"),
];

/// Every command, `ip` style, for the usage lines: the command's path and its forms.
const FORMS: &[(&[&str], &[&str])] = &[
    (&["addr", "show"], &["addr show"]),
    (&["addr", "add"], &["addr add IP[/LEN] dev PORT [kind host|vip|local]"]),
    (&["addr", "del"], &["addr del IP [dev PORT]"]),
    (&["addr", "standby"], &["addr standby VIP"]),
    (&["addr", "take"], &["addr take VIP"]),
    (&["route", "show"], &["route show"]),
    (&["route", "add"], &["route add PREFIX/LEN|default [via GATEWAY] [dev PORT]"]),
    (&["route", "del"], &["route del PREFIX/LEN|default [via GATEWAY] [dev PORT]"]),
    (&["neigh", "show"], &["neigh show"]),
    (&["neigh", "flush"], &["neigh flush"]),
    (&["link", "show"], &["link show [-s]"]),
    (&["steering", "show"], &["steering show"]),
];

const SHOW: [&str; 4] = ["list", "ls", "lst", "sh"];

/// rvsd's plumbing over its control socket: addresses, routes, neighbours, links and reply
/// steering (RVS_SOCK overrides the socket's path)
#[derive(Parser, Debug)]
#[command(
    name = "rvsnet",
    version,
    subcommand_required = true,
    arg_required_else_help = false,
    subcommand_value_name = "OBJECT",
    subcommand_help_heading = "Objects",
    after_help = "COMMAND defaults to show. PORT is a [[port]] name of rvsd's config. Keywords \
                  are written as ip writes them (dev PORT) or as flags (--dev PORT)."
)]
struct Cli {
    #[command(subcommand)]
    object: Object,
}

#[derive(Subcommand, Debug)]
enum Object {
    /// The addresses rvsd answers ARP and ICMP for, per port
    #[command(visible_alias = "a", alias = "address")]
    Addr {
        #[command(subcommand)]
        cmd: Option<AddrCmd>,
    },
    /// The LPM routes
    #[command(visible_alias = "r")]
    Route {
        #[command(subcommand)]
        cmd: Option<RouteCmd>,
    },
    /// Each worker's neighbour (ARP) table
    #[command(visible_alias = "n", aliases = ["neighbour", "neighbor"])]
    Neigh {
        #[command(subcommand)]
        cmd: Option<NeighCmd>,
    },
    /// The ports and their counters
    #[command(visible_alias = "l")]
    Link(LinkArgs),
    /// How FULLNAT/SNAT replies reach the worker owning their local port
    #[command(visible_alias = "s", alias = "steer")]
    Steering {
        #[command(subcommand)]
        cmd: Option<ShowOnly>,
    },
}

#[derive(Subcommand, Debug)]
enum AddrCmd {
    /// List the addresses of every port (local addresses with their port-pool usage)
    #[command(visible_aliases = SHOW)]
    Show,
    /// Add an address to a port
    Add {
        /// The address and its network's length (32 when not given)
        #[arg(value_name = "IP[/LEN]", value_parser = host_prefix)]
        addr: (Ipv4Addr, u8),
        /// The port: a [[port]] name of rvsd's config
        #[arg(long, value_name = "PORT", required = true, allow_hyphen_values = true)]
        dev: String,
        /// What the address is for (`type` also works)
        #[arg(long, value_name = "KIND", default_value = "host")]
        kind: KindArg,
    },
    /// Delete an address
    #[command(visible_alias = "delete")]
    Del {
        /// The address (a /LEN is ignored)
        #[arg(value_name = "IP", value_parser = host_prefix)]
        addr: (Ipv4Addr, u8),
        /// Refuse unless the address is on this port
        #[arg(long, value_name = "PORT", allow_hyphen_values = true)]
        dev: Option<String>,
    },
    /// Hold a VIP in standby: its services stay, rvsd stops answering ARP for it and drops
    /// its traffic (director HA: the other director is master)
    Standby {
        /// The VIP (a kind vip address of rvsd)
        #[arg(value_name = "VIP", value_parser = ipv4)]
        vip: Ipv4Addr,
    },
    /// Take a VIP: answer for it again and announce it with gratuitous ARPs
    Take {
        /// The VIP (a kind vip address of rvsd)
        #[arg(value_name = "VIP", value_parser = ipv4)]
        vip: Ipv4Addr,
    },
}

#[derive(Subcommand, Debug)]
enum RouteCmd {
    /// List the routes, longest prefix first
    #[command(visible_aliases = SHOW)]
    Show,
    /// Add a route
    Add(RouteArgs),
    /// Delete a route
    #[command(visible_alias = "delete")]
    Del(RouteArgs),
}

#[derive(Args, Debug)]
struct RouteArgs {
    /// The destination network (a bare address is a /32), or `default`
    #[arg(value_name = "PREFIX/LEN|default", value_parser = route_prefix)]
    prefix: (Ipv4Addr, u8),
    /// The gateway
    #[arg(long, value_name = "GATEWAY", value_parser = ipv4)]
    via: Option<Ipv4Addr>,
    /// The port: a [[port]] name of rvsd's config
    #[arg(long, value_name = "PORT", allow_hyphen_values = true)]
    dev: Option<String>,
}

#[derive(Subcommand, Debug)]
enum NeighCmd {
    /// List each worker's neighbours
    #[command(visible_aliases = SHOW)]
    Show,
    /// List, then forget learned and incomplete neighbours on every worker
    Flush,
}

#[derive(Args, Debug)]
struct LinkArgs {
    /// Add each worker core's counters (polls, redirects, drops by reason)
    #[arg(short = 's', long = "stats", global = true)]
    stats: bool,
    #[command(subcommand)]
    cmd: Option<ShowOnly>,
}

#[derive(Subcommand, Debug)]
enum ShowOnly {
    /// List them (the default)
    #[command(visible_aliases = SHOW)]
    Show,
}

/// An address kind as clap reads it (the protocol's [`NetAddrKind`] is another crate's type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct KindArg(NetAddrKind);

impl ValueEnum for KindArg {
    fn value_variants<'a>() -> &'a [Self] {
        &[KindArg(NetAddrKind::Host), KindArg(NetAddrKind::Vip), KindArg(NetAddrKind::Local)]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.name()))
    }
}

impl Object {
    fn request(self) -> NetRequest {
        match self {
            Object::Addr { cmd: None | Some(AddrCmd::Show) } => NetRequest::AddrShow,
            Object::Addr { cmd: Some(AddrCmd::Add { addr: (ip, prefix_len), dev, kind }) } => {
                NetRequest::AddrAdd(AddrSpec { port: dev, ip, prefix_len, kind: kind.0 })
            }
            Object::Addr { cmd: Some(AddrCmd::Del { addr: (ip, _), dev }) } => {
                NetRequest::AddrDel { ip, port: dev }
            }
            Object::Addr { cmd: Some(AddrCmd::Standby { vip }) } => {
                NetRequest::AddrStandby { ip: vip }
            }
            Object::Addr { cmd: Some(AddrCmd::Take { vip }) } => NetRequest::AddrTake { ip: vip },
            Object::Route { cmd: None | Some(RouteCmd::Show) } => NetRequest::RouteShow,
            Object::Route { cmd: Some(RouteCmd::Add(r)) } => NetRequest::RouteAdd(r.spec()),
            Object::Route { cmd: Some(RouteCmd::Del(r)) } => NetRequest::RouteDel(r.spec()),
            Object::Neigh { cmd } => {
                NetRequest::Neigh { flush: matches!(cmd, Some(NeighCmd::Flush)) }
            }
            Object::Link(l) => NetRequest::LinkShow { stats: l.stats },
            Object::Steering { cmd: None | Some(ShowOnly::Show) } => NetRequest::SteeringShow,
        }
    }
}

impl RouteArgs {
    fn spec(self) -> RouteSpec {
        let (prefix, prefix_len) = self.prefix;
        RouteSpec { prefix, prefix_len, via: self.via, port: self.dev }
    }
}

const BAD_ADDR: &str = "not an IPv4 address: write a.b.c.d or a.b.c.d/LEN (LEN 0 to 32)";

/// Parses `a.b.c.d[/len]`; without `/len` the length is `default_len`.
pub fn parse_prefix(s: &str, default_len: u8) -> Option<(Ipv4Addr, u8)> {
    let (ip, len) = match s.split_once('/') {
        Some((ip, len)) => (ip, len.parse().ok()?),
        None => (s, default_len),
    };
    (len <= 32).then_some(())?;
    Some((ip.parse().ok()?, len))
}

fn host_prefix(s: &str) -> Result<(Ipv4Addr, u8), String> {
    parse_prefix(s, 32).ok_or_else(|| BAD_ADDR.to_string())
}

fn route_prefix(s: &str) -> Result<(Ipv4Addr, u8), String> {
    match s {
        "default" => Ok((Ipv4Addr::UNSPECIFIED, 0)),
        _ => parse_prefix(s, 32).ok_or_else(|| format!("{BAD_ADDR}, or default")),
    }
}

fn ipv4(s: &str) -> Result<Ipv4Addr, String> {
    s.parse().map_err(|_| "not an IPv4 address: write a.b.c.d".to_string())
}

/// argv as clap reads it: each `ip` keyword where a keyword can stand becomes its flag, and
/// `-stats` becomes `--stats`; every other word is kept as it is.
pub fn ip_words(args: &[&str]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut value_next = false;
    for (i, &w) in args.iter().enumerate() {
        let flag = KEYWORDS.iter().find(|k| k.0 == w).map(|k| k.1);
        let word = match flag {
            _ if value_next || i == 0 => w,
            Some(flag) => flag,
            None if w == "-stats" => "--stats",
            None => w,
        };
        value_next = !value_next && i > 0 && flag.is_some();
        out.push(word.to_string());
    }
    out
}

/// clap's message with the keywords spelled as typed: `dev PORT`, not `--dev <PORT>` (and
/// without clap's tip on passing a flag as a value, which speaks of flags nobody typed).
fn as_typed(message: &str) -> String {
    let message = message.strip_prefix("error: ").unwrap_or(message).trim_end();
    let mut m = message
        .split("\n\n")
        .filter(|part| !part.trim_start().starts_with("tip: to pass"))
        .collect::<Vec<_>>()
        .join("\n\n");
    for (word, flag, value) in KEYWORDS {
        m = m.replace(&format!("{flag} <{value}>"), &format!("{word} {value}"));
        m = m.replace(&format!("'{flag}'"), &format!("'{word}'"));
    }
    m
}

/// Sets the usage of the command at `path` below `cmd`.
fn set_usage(cmd: Command, path: &[&str], usage: String) -> Command {
    match path.split_first() {
        None => cmd.override_usage(usage),
        Some((&first, rest)) => {
            let rest = rest.to_vec();
            cmd.mut_subcommand(first, move |c| set_usage(c, &rest, usage))
        }
    }
}

/// The command with `ip`-style usage lines naming `program`.
pub fn command(program: &str) -> Command {
    const INDENT: &str = "\n       ";
    let lines = |forms: &mut dyn Iterator<Item = &str>| {
        forms.map(|f| format!("{program} {f}")).collect::<Vec<_>>().join(INDENT)
    };
    let mut all = lines(&mut FORMS.iter().flat_map(|(_, f)| f.iter().copied()));
    all = format!("{program} OBJECT [COMMAND] [ARGS]{INDENT}{all}");
    let mut cmd = Cli::command().bin_name(program).override_usage(all);
    for object in ["addr", "route", "neigh", "link", "steering"] {
        let of_object = FORMS.iter().filter(|(p, _)| p.first() == Some(&object));
        cmd = set_usage(cmd, &[object], lines(&mut of_object.flat_map(|(_, f)| f.iter().copied())));
    }
    for (path, forms) in FORMS {
        cmd = set_usage(cmd, path, lines(&mut forms.iter().copied()));
    }
    cmd
}

/// Parses the arguments after the program name; `program` names rvsnet in usage lines.
pub fn parse(program: &str, args: &[&str]) -> Result<NetCommand, NetCliError> {
    let mut cmd = command(program);
    let argv = std::iter::once(program.to_string()).chain(ip_words(args));
    let parsed = cmd
        .try_get_matches_from_mut(argv)
        .and_then(|mut m| Cli::from_arg_matches_mut(&mut m).map_err(|e| e.format(&mut cmd)));
    match parsed {
        Ok(cli) => Ok(NetCommand::Request(cli.object.request())),
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            Ok(NetCommand::Help(e.render().to_string()))
        }
        Err(e) => Err(NetCliError(as_typed(&e.render().to_string()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: &str) -> Result<NetCommand, NetCliError> {
        let argv: Vec<&str> = line.split_whitespace().collect();
        parse("rvsnet", &argv)
    }

    fn req(line: &str) -> NetRequest {
        match p(line) {
            Ok(NetCommand::Request(r)) => r,
            other => panic!("{line}: {other:?}"),
        }
    }

    fn err(line: &str) -> String {
        match p(line) {
            Err(e) => e.to_string(),
            other => panic!("{line}: {other:?}"),
        }
    }

    fn help(line: &str) -> String {
        match p(line) {
            Ok(NetCommand::Help(h)) => h,
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
        assert_eq!(req("address sh"), NetRequest::AddrShow);
        assert_eq!(req("route list"), NetRequest::RouteShow);
        assert_eq!(req("r"), NetRequest::RouteShow);
        assert_eq!(req("neigh"), NetRequest::Neigh { flush: false });
        assert_eq!(req("neighbour show"), NetRequest::Neigh { flush: false });
        assert_eq!(req("n flush"), NetRequest::Neigh { flush: true });
        assert_eq!(req("link"), NetRequest::LinkShow { stats: false });
        assert_eq!(req("l show"), NetRequest::LinkShow { stats: false });
        assert_eq!(req("link -s"), NetRequest::LinkShow { stats: true });
        assert_eq!(req("link show -s"), NetRequest::LinkShow { stats: true });
        assert_eq!(req("link -s show"), NetRequest::LinkShow { stats: true });
        assert_eq!(req("link -stats"), NetRequest::LinkShow { stats: true });
        assert_eq!(req("link show --stats"), NetRequest::LinkShow { stats: true });
        assert_eq!(req("steering"), NetRequest::SteeringShow);
        assert_eq!(req("s show"), NetRequest::SteeringShow);
        assert_eq!(req("steer"), NetRequest::SteeringShow);
    }

    #[test]
    fn addr_add_and_del() {
        let add = |port: &str, ip_: &str, prefix_len, kind| {
            NetRequest::AddrAdd(AddrSpec { port: port.into(), ip: ip(ip_), prefix_len, kind })
        };
        assert_eq!(
            req("addr add 192.0.2.50/24 dev p0"),
            add("p0", "192.0.2.50", 24, NetAddrKind::Host)
        );
        assert_eq!(
            req("addr add 192.0.2.60 dev p1 kind vip"),
            add("p1", "192.0.2.60", 32, NetAddrKind::Vip)
        );
        assert_eq!(
            req("a add dev p1 192.0.2.60 type local"),
            add("p1", "192.0.2.60", 32, NetAddrKind::Local)
        );
        assert_eq!(
            req("addr add 192.0.2.60 --dev p1 --kind vip"),
            add("p1", "192.0.2.60", 32, NetAddrKind::Vip)
        );
        // A port may be named like a keyword: it is the value of `dev`.
        assert_eq!(
            req("addr add 192.0.2.60 dev kind"),
            add("kind", "192.0.2.60", 32, NetAddrKind::Host)
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
    fn addr_standby_and_take() {
        assert_eq!(
            req("addr standby 192.0.2.100"),
            NetRequest::AddrStandby { ip: ip("192.0.2.100") }
        );
        assert_eq!(req("a take 192.0.2.100"), NetRequest::AddrTake { ip: ip("192.0.2.100") });
        assert!(err("addr take 192.0.2.100/32").contains("not an IPv4 address"));
        assert!(err("addr standby").contains("VIP"));
        assert!(help("addr help").contains("addr standby VIP"));
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
            req("r delete 198.51.100.7 dev p0"),
            NetRequest::RouteDel(RouteSpec {
                prefix: ip("198.51.100.7"),
                prefix_len: 32,
                via: None,
                port: Some("p0".into())
            })
        );
    }

    #[test]
    fn errors_say_what_to_write() {
        let e = err("");
        assert!(e.starts_with("'rvsnet' requires a subcommand"), "{e}");
        assert!(e.contains("[subcommands: addr, a, address, route, r, neigh, n,"), "{e}");
        let e = err("bridge");
        assert!(e.starts_with("unrecognized subcommand 'bridge'"), "{e}");
        let e = err("addr flush");
        assert!(e.starts_with("unrecognized subcommand 'flush'"), "{e}");
        assert!(
            e.contains("Usage: rvsnet addr show\n       rvsnet addr add IP[/LEN] dev PORT"),
            "{e}"
        );
        let e = err("addr add 10.0.0.1/33 dev p0");
        assert!(
            e.starts_with(&format!("invalid value '10.0.0.1/33' for '<IP[/LEN]>': {BAD_ADDR}")),
            "{e}"
        );
        let e = err("addr add 10.0.0.300 dev p0");
        assert!(e.starts_with("invalid value '10.0.0.300'"), "{e}");
        let e = err("addr add 10.0.0.1/24");
        assert!(
            e.starts_with("the following required arguments were not provided:\n  dev PORT\n"),
            "{e}"
        );
        assert!(
            e.contains("\nUsage: rvsnet addr add IP[/LEN] dev PORT [kind host|vip|local]\n"),
            "{e}"
        );
        let e = err("addr add 10.0.0.1 dev");
        assert!(e.starts_with("a value is required for 'dev PORT' but none was supplied"), "{e}");
        let e = err("addr add 10.0.0.1 dev p0 dev p1");
        assert!(e.starts_with("the argument 'dev PORT' cannot be used multiple times"), "{e}");
        let e = err("addr add 10.0.0.1 dev p0 kind wan");
        assert!(e.starts_with("invalid value 'wan' for 'kind KIND'"), "{e}");
        assert!(e.contains("[possible values: host, vip, local]"), "{e}");
        let e = err("addr add 10.0.0.1 dev p0 via 1.2.3.4");
        assert!(e.starts_with("unexpected argument 'via' found\n\nUsage: rvsnet addr add"), "{e}");
        let e = err("route show extra");
        assert!(e.starts_with("unexpected argument 'extra' found"), "{e}");
        let e = err("route add 10.0.0.0/8 via x");
        assert!(e.starts_with("invalid value 'x' for 'via GATEWAY': not an IPv4 address"), "{e}");
        let e = err("route add");
        assert!(e.contains("<PREFIX/LEN|default>"), "{e}");
        let e = err("neigh add 1.2.3.4");
        assert!(e.starts_with("unrecognized subcommand 'add'"), "{e}");
    }

    #[test]
    fn help_is_generated_for_each_level() {
        let top = help("help");
        assert!(
            top.contains("\nUsage: rvsnet OBJECT [COMMAND] [ARGS]\n       rvsnet addr show\n"),
            "{top}"
        );
        for (_, forms) in FORMS {
            assert!(top.contains(&format!("rvsnet {}\n", forms[0])), "{top}");
        }
        assert_eq!(help("--help"), top);
        assert_eq!(help("-h"), top);
        let route = help("route help");
        assert!(route.contains("\nUsage: rvsnet route show\n       rvsnet route add"), "{route}");
        assert_eq!(help("route -h"), route);
        let add = help("addr add --help");
        assert!(
            add.contains("\nUsage: rvsnet addr add IP[/LEN] dev PORT [kind host|vip|local]\n"),
            "{add}"
        );
        assert!(
            add.contains("--dev <PORT>") && add.contains("[possible values: host, vip, local]"),
            "{add}"
        );
        let link = help("link show -h");
        assert!(link.contains("-s, --stats"), "{link}");
        let named = match parse("/usr/sbin/rvsnet2", &["help"]) {
            Ok(NetCommand::Help(h)) => h,
            other => panic!("{other:?}"),
        };
        assert!(named.contains("\nUsage: /usr/sbin/rvsnet2 OBJECT"), "{named}");
    }

    #[test]
    fn keywords_become_flags_only_where_a_keyword_stands() {
        let w = |line: &str| ip_words(&line.split_whitespace().collect::<Vec<_>>()).join(" ");
        assert_eq!(w("addr add 1.2.3.4 dev p0 kind vip"), "addr add 1.2.3.4 --dev p0 --kind vip");
        assert_eq!(
            w("route add default via 1.2.3.4 dev via"),
            "route add default --via 1.2.3.4 --dev via"
        );
        assert_eq!(w("addr add 1.2.3.4 type local"), "addr add 1.2.3.4 --kind local");
        assert_eq!(w("link -stats"), "link --stats");
        assert_eq!(w("dev addr"), "dev addr", "the object is never a keyword");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(words in proptest::collection::vec("[a-z0-9./-]{0,12}", 0..6)) {
            let argv: Vec<&str> = words.iter().map(String::as_str).collect();
            let _ = parse("rvsnet", &argv);
        }

        #[test]
        fn keywords_and_flags_mean_the_same(
            ip in proptest::array::uniform4(0u8..=255),
            len in 0u8..=32,
            port in "[a-z][a-z0-9]{0,6}",
            kind in proptest::sample::select(vec!["host", "vip", "local"]),
        ) {
            let ip = Ipv4Addr::from(ip);
            let ipw: Vec<String> =
                ["addr", "add", &format!("{ip}/{len}"), "kind", kind, "dev", &port].map(String::from).into();
            let ipw: Vec<&str> = ipw.iter().map(String::as_str).collect();
            let flags = ["addr", "add", &format!("{ip}/{len}"), "--kind", kind, "--dev", &port].map(String::from);
            let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
            let want = NetRequest::AddrAdd(AddrSpec {
                port: port.clone(), ip, prefix_len: len, kind: NetAddrKind::from_name(kind).unwrap()
            });
            proptest::prop_assert_eq!(parse("rvsnet", &ipw), Ok(NetCommand::Request(want.clone())));
            proptest::prop_assert_eq!(parse("rvsnet", &flags), Ok(NetCommand::Request(want)));
        }
    }
}
