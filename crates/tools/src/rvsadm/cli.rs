//! The ipvsadm-compatible command line of rvsadm: argv in, a typed [`Command`] out.
//!
//! Owns: tokenising argv the way ipvsadm's option library does, turning options into a
//! [`Command`] with ipvsadm's defaults (direct routing, weight 1, `wlc`, persistence 300 s when
//! `-p` has no value) and ipvsadm's checks in ipvsadm's order, so the first error is the one
//! ipvsadm would print. Must not touch: the daemon, the socket, output formatting.
//!
//! The parser is written by hand rather than with clap because ipvsadm's syntax is irregular in
//! ways clap does not model: `-p` takes an *optional* value (`-p`, `-p 600`, `-p600`), `-b`
//! means scheduler flags (with a value) on `-A/-E` but FULLNAT forwarding (no value) on `-a/-e`,
//! the first option must be the command, short options cluster (`-Ln`, `-lnc`, `-srr`), and
//! legality is a per-command table with compulsory, illegal and mutually exclusive options.
//! The service is one of the `-t|-u|-f` groups, whose value shape depends on the letter, and
//! an option's meaning depends on the command before it. So rvsadm keeps this hand-written
//! parser for ipvsadm's grammar, while rvsnet's `ip`-style line is clap's (`rvsnet::cli`).
//!
//! Extensions (rvs and DPVS): `-b` on a real server = FULLNAT, `-J` = SNAT forwarding,
//! `-P/-Q/-G` add/delete/list local addresses of a service with `-z addr` and optional
//! `-F ifname`. Firewall-mark services (`-f`) are refused with a message naming what to use.

use super::error::CliError;
use super::hostport::{number_in, parse_hostport, parse_netmask_v4, parse_netmask_v6, HostPort};
use super::matchspec::parse_match;
use super::names::Names;
use super::opts::{lookup_long, lookup_short, ArgKind, Cmd, Opt, OptSet, Spec, Tag};
use rvs_core::ipvs::sched::{SchedFlags, SchedKind};
use rvs_core::ipvs::spec::{
    parse_prefix_list, DestSpec, FwdMethod, LocalAddrSpec, Netmask, Protocol, ServiceKey,
    ServiceLimits, ServiceSpec, SnatProto, SpecError, Timeouts, TunCsum, TunInfo, TunType,
    DEFAULT_PERSISTENCE_S, DEFAULT_SCHEDULER, MAX_THRESHOLD, MAX_TIMEOUT_S, MAX_WEIGHT,
};
use rvs_proto::change::Change;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// What to list with `-L`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ListWhat {
    /// The whole table (with the version banner).
    All,
    /// One service (no banner).
    Service(ServiceKey),
    /// Connection entries (`-c`).
    Conns,
    /// Timeouts (`--timeout`).
    Timeouts,
    /// Sync daemons (`--daemon`): the ones rvsd runs.
    Daemon,
}

/// How to list: the output options of `-L`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListFormat {
    /// `-n`: numeric addresses and ports.
    pub numeric: bool,
    /// `--stats`.
    pub stats: bool,
    /// `--rate`.
    pub rate: bool,
    /// `--thresholds`.
    pub thresholds: bool,
    /// `--persistent-conn`.
    pub persistent_conn: bool,
    /// `--tun-info`.
    pub tun_info: bool,
    /// `--exact`: full numbers instead of K/M/G/T.
    pub exact: bool,
    /// `--nosort`: keep the daemon's order.
    pub nosort: bool,
    /// `--health` (rvs): the plain listing with a `Health` column (see docs/health.md).
    #[serde(default)]
    pub health: bool,
}

/// One rvsadm command: the parse result. A change of the table is a [`Change`] (sent as it is);
/// the other commands are listings, local answers or requests of their own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `-A -E -D -C -a -e -d -Z --set -P -Q` and their `-H` forms.
    Change(Change),
    /// `-L`/`-l`.
    List {
        /// What.
        what: ListWhat,
        /// How.
        format: ListFormat,
    },
    /// `-S [-n]`: print the table as commands.
    Save {
        /// `-n`.
        numeric: bool,
    },
    /// `-R`: read commands from standard input.
    Restore,
    /// `-G [service]`: list local addresses.
    ListLocalAddrs {
        /// One service, or all.
        service: Option<ServiceKey>,
    },
    /// `-h`.
    Help,
    /// `-v`.
    Version,
    /// `--reload` (rvs extension): rvsd reads its config file again and applies it live.
    Reload,
    /// `--flush-removed` (rvs extension): end the connections of removed services, real
    /// servers and SNAT rules now instead of letting them run until they expire.
    FlushRemoved,
    /// `--announced`, `--drain`, `--resume` (rvs extension, scale-out): show, withdraw or
    /// announce again the VIPs rvsd announces to its routing daemon.
    Announce(rvs_proto::announce::AnnounceRequest),
    /// `--start-daemon`, `--stop-daemon` (connection sync, docs/scale-out.md).
    SyncDaemon(super::daemon::SyncDaemonCmd),
}

impl From<Change> for Command {
    fn from(c: Change) -> Command {
        Command::Change(c)
    }
}

impl Command {
    /// The change this command makes to the table; `None` for the other commands.
    pub fn into_change(self) -> Option<Change> {
        match self {
            Command::Change(c) => Some(c),
            _ => None,
        }
    }
}

/// Parse a full argv (`argv[0]` is the program name). No arguments at all lists the table,
/// as ipvsadm does.
pub fn parse<S: AsRef<str>>(argv: &[S], names: &dyn Names) -> Result<Command, CliError> {
    let program = argv.first().map_or("rvsadm", |s| s.as_ref());
    let args: Vec<&str> = argv.iter().skip(1).map(|s| s.as_ref()).collect();
    if args.is_empty() {
        return Ok(Command::List { what: ListWhat::All, format: ListFormat::default() });
    }
    parse_args(program, &args, names, false)
}

/// Parse the words of one line (no program name). `in_restore` refuses a nested `-R`.
pub(crate) fn parse_args(
    program: &str,
    args: &[&str],
    names: &dyn Names,
    in_restore: bool,
) -> Result<Command, CliError> {
    if let Some(daemon) = super::daemon::parse(args) {
        return daemon.map(Command::SyncDaemon);
    }
    let mut p = Parser {
        program,
        names,
        cmd: None,
        opts: OptSet::default(),
        st: Raw::default(),
        positional: Vec::new(),
    };
    let mut i = 0;
    let mut only_positional = false;
    while let Some(&tok) = args.get(i) {
        i += 1;
        if only_positional || tok == "-" || !tok.starts_with('-') {
            p.positional.push(tok.to_string());
            continue;
        }
        if tok == "--" {
            only_positional = true;
            continue;
        }
        if let Some(body) = tok.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            let spec = lookup_long(name).ok_or_else(|| CliError::UnknownOption(tok.into()))?;
            let shown = format!("--{name}");
            let value = match (spec.arg, inline) {
                (ArgKind::None, Some(_)) => return Err(CliError::UnexpectedValue(shown)),
                (ArgKind::None, None) => None,
                (_, Some(v)) => Some(v.to_string()),
                (ArgKind::Required, None) => {
                    let v = args.get(i).ok_or(CliError::MissingArgument(shown.clone()))?;
                    i += 1;
                    Some(v.to_string())
                }
                (ArgKind::Optional, None) => take_optional(args, &mut i),
            };
            if p.option(spec, &shown, value)? {
                return Ok(done_early(spec));
            }
            continue;
        }
        // A cluster of short options: -lnc, -srr, -p600.
        let cluster = &tok[1..];
        for (pos, c) in cluster.char_indices() {
            let shown = format!("-{c}");
            let spec =
                lookup_short(c, p.cmd).ok_or_else(|| CliError::UnknownOption(shown.clone()))?;
            let rest = &cluster[pos + c.len_utf8()..];
            let (value, ends_cluster) = match spec.arg {
                ArgKind::None => (None, false),
                _ if !rest.is_empty() => (Some(rest.to_string()), true),
                ArgKind::Required => {
                    let v = args.get(i).ok_or(CliError::MissingArgument(shown.clone()))?;
                    i += 1;
                    (Some(v.to_string()), true)
                }
                ArgKind::Optional => (take_optional(args, &mut i), true),
            };
            if p.option(spec, &shown, value)? {
                return Ok(done_early(spec));
            }
            if ends_cluster {
                break;
            }
        }
    }
    p.finish(in_restore)
}

/// An optional value is the next word unless that word looks like an option.
fn take_optional(args: &[&str], i: &mut usize) -> Option<String> {
    match args.get(*i) {
        Some(v) if !v.starts_with('-') => {
            *i += 1;
            Some(v.to_string())
        }
        _ => None,
    }
}

fn done_early(spec: &Spec) -> Command {
    match spec.tag {
        Tag::Version => Command::Version,
        _ => Command::Help,
    }
}

/// Values collected while reading options; interpreted in [`Parser::finish`].
#[derive(Default)]
struct Raw {
    service: Option<(Protocol, HostPort)>,
    scheduler: Option<String>,
    persistence: Option<u32>,
    netmask: Option<String>,
    real_server: Option<String>,
    fwd: Option<FwdMethod>,
    weight: Option<u32>,
    upper: Option<u32>,
    lower: Option<u32>,
    one_packet: bool,
    /// `--synproxy` (rvs and DPVS extension).
    synproxy: bool,
    pe: Option<String>,
    sched_flags: Option<String>,
    tun_type: Option<TunType>,
    tun_port: Option<u16>,
    tun_csum: Option<TunCsum>,
    laddr: Option<String>,
    ifname: Option<String>,
    matcher: Option<String>,
    format: ListFormat,
    /// `--sloppy` (rvs extension, scale-out): add/edit-service only.
    sloppy: bool,
    /// `--conn-limit`, `--source-rate`, `--allow`, `--deny` (rvs extensions): add/edit-service
    /// only; the first of them given, for the refusal on another command.
    limits: ServiceLimits,
    limits_opt: Option<&'static str>,
}

struct Parser<'a> {
    program: &'a str,
    names: &'a dyn Names,
    cmd: Option<Cmd>,
    opts: OptSet,
    st: Raw,
    positional: Vec<String>,
}

fn bounded(v: &str, max: u32) -> Option<u32> {
    number_in(v, 0, i64::from(max)).and_then(|n| u32::try_from(n).ok())
}

impl Parser<'_> {
    /// Record one option. Returns `true` when the line is complete (help, version).
    fn option(
        &mut self,
        spec: &Spec,
        shown: &str,
        value: Option<String>,
    ) -> Result<bool, CliError> {
        let v = value.unwrap_or_default();
        if self.cmd.is_none() {
            // The first option must be the command.
            return match spec.tag {
                Tag::Cmd(c) => {
                    self.cmd = Some(c);
                    Ok(false)
                }
                Tag::Help | Tag::Version => Ok(true),
                _ => Err(CliError::TryHelp(self.program.to_string())),
            };
        }
        let st = &mut self.st;
        match spec.tag {
            Tag::Cmd(_) | Tag::Help | Tag::Version => {
                return Err(CliError::InvalidOption(shown.to_string()))
            }
            Tag::Tcp | Tag::Udp => {
                self.opts.set(Opt::Service)?;
                let proto = if spec.tag == Tag::Tcp { Protocol::Tcp } else { Protocol::Udp };
                let hp =
                    parse_hostport(&v, proto, self.names).ok_or(CliError::IllegalServiceAddress)?;
                st.service = Some((proto, hp));
            }
            Tag::Sctp => return Err(CliError::SctpUnsupported),
            Tag::Fwmark => return Err(CliError::fwmark()),
            Tag::Ipv6 => return Err(CliError::Ipv6WithoutFwmark),
            // Sync daemon commands are read by `daemon` when they come first; after another
            // command they are a second command, and their options are illegal.
            Tag::SyncDaemon("--start-daemon" | "--stop-daemon") => {
                return Err(CliError::MultipleCommands)
            }
            Tag::SyncDaemon(name) => {
                let cmd = self.cmd.map_or("", |c| c.name());
                return Err(CliError::IllegalOption { opt: name.trim_start_matches('-'), cmd });
            }
            Tag::Scheduler => {
                self.opts.set(Opt::Scheduler)?;
                st.scheduler = Some(v);
            }
            Tag::Persistent => {
                self.opts.set(Opt::Persistent)?;
                st.persistence = Some(if shown_has_value(&v) {
                    bounded(&v, MAX_TIMEOUT_S)
                        .filter(|t| *t >= 1)
                        .ok_or(CliError::InvalidTimeout(v))?
                } else {
                    DEFAULT_PERSISTENCE_S
                });
            }
            Tag::Netmask => {
                self.opts.set(Opt::Netmask)?;
                st.netmask = Some(v);
            }
            Tag::RealServer => {
                self.opts.set(Opt::RealServer)?;
                st.real_server = Some(v);
            }
            Tag::Masq | Tag::Ipip | Tag::Gatewaying | Tag::FullNat | Tag::Snat => {
                self.opts.set(Opt::Forward)?;
                st.fwd = Some(match spec.tag {
                    Tag::Masq => FwdMethod::Masq,
                    Tag::Ipip => FwdMethod::Tunnel,
                    Tag::FullNat => FwdMethod::FullNat,
                    Tag::Snat => FwdMethod::Snat,
                    _ => FwdMethod::Route,
                });
            }
            Tag::Weight => {
                self.opts.set(Opt::Weight)?;
                st.weight = Some(bounded(&v, MAX_WEIGHT).ok_or(CliError::IllegalWeight)?);
            }
            Tag::UThreshold => {
                self.opts.set(Opt::UThreshold)?;
                st.upper = Some(bounded(&v, MAX_THRESHOLD).ok_or(CliError::IllegalUThreshold)?);
            }
            Tag::LThreshold => {
                self.opts.set(Opt::LThreshold)?;
                st.lower = Some(bounded(&v, MAX_THRESHOLD).ok_or(CliError::IllegalLThreshold)?);
            }
            Tag::Numeric => {
                self.opts.set(Opt::Numeric)?;
                st.format.numeric = true;
            }
            Tag::Connection => self.opts.set(Opt::Connection)?,
            Tag::Timeout => self.opts.set(Opt::Timeout)?,
            Tag::Daemon => self.opts.set(Opt::Daemon)?,
            Tag::Stats => {
                self.opts.set(Opt::Stats)?;
                st.format.stats = true;
            }
            Tag::Rate => {
                self.opts.set(Opt::Rate)?;
                st.format.rate = true;
            }
            Tag::Thresholds => {
                self.opts.set(Opt::Thresholds)?;
                st.format.thresholds = true;
            }
            Tag::PersistentConn => {
                self.opts.set(Opt::PersistentConn)?;
                st.format.persistent_conn = true;
            }
            Tag::NoSort => {
                self.opts.set(Opt::NoSort)?;
                st.format.nosort = true;
            }
            Tag::Sort => {}
            Tag::Exact => {
                self.opts.set(Opt::Exact)?;
                st.format.exact = true;
            }
            Tag::Ops => {
                self.opts.set(Opt::Ops)?;
                st.one_packet = true;
            }
            Tag::Synproxy => {
                self.opts.set(Opt::Synproxy)?;
                st.synproxy = true;
            }
            Tag::Pe => {
                self.opts.set(Opt::Pe)?;
                st.pe = Some(v);
            }
            Tag::SchedFlags => {
                self.opts.set(Opt::SchedFlags)?;
                st.sched_flags = Some(v);
            }
            Tag::Health => st.format.health = true,
            Tag::Sloppy => {
                if st.sloppy {
                    return Err(CliError::MultipleOption("sloppy"));
                }
                st.sloppy = true;
            }
            Tag::ConnLimit | Tag::SourceRate | Tag::Allow | Tag::Deny => {
                Self::limit_option(st, spec.tag, &v)?;
            }
            Tag::TunInfo => {
                self.opts.set(Opt::TunInfo)?;
                st.format.tun_info = true;
            }
            Tag::TunType => {
                self.opts.set(Opt::TunType)?;
                st.tun_type = Some(TunType::from_name(&v).ok_or(CliError::IllegalTunnelType)?);
            }
            Tag::TunPort => {
                self.opts.set(Opt::TunPort)?;
                let port = number_in(&v, 1, 65_535).and_then(|n| u16::try_from(n).ok());
                st.tun_port = Some(port.ok_or(CliError::IllegalTunnelPort)?);
            }
            Tag::TunNoCsum | Tag::TunCsum | Tag::TunRemCsum => {
                let (o, c) = match spec.tag {
                    Tag::TunNoCsum => (Opt::TunNoCsum, TunCsum::NoCsum),
                    Tag::TunCsum => (Opt::TunCsum, TunCsum::Csum),
                    _ => (Opt::TunRemCsum, TunCsum::RemCsum),
                };
                self.opts.set(o)?;
                st.tun_csum = Some(c);
            }
            Tag::Laddr => {
                self.opts.set(Opt::Laddr)?;
                st.laddr = Some(v);
            }
            Tag::Ifname => {
                self.opts.set(Opt::Ifname)?;
                st.ifname = Some(v);
            }
            Tag::Match => {
                // A match selects a service, as -t/-u do.
                self.opts.set(Opt::Service)?;
                st.matcher = Some(v);
            }
        }
        Ok(false)
    }

    /// One of the service-limit options (see `Raw::limits`); each may be given once.
    fn limit_option(st: &mut Raw, tag: Tag, v: &str) -> Result<(), CliError> {
        let l = &mut st.limits;
        let (name, unset) = match tag {
            Tag::ConnLimit => ("conn-limit", l.conn_limit == 0),
            Tag::SourceRate => ("source-rate", l.source_rate == 0),
            Tag::Allow => ("allow", l.allow.is_empty()),
            _ => ("deny", l.deny.is_empty()),
        };
        if !unset {
            return Err(CliError::MultipleOption(name));
        }
        st.limits_opt.get_or_insert(name);
        match tag {
            Tag::ConnLimit => {
                l.conn_limit = bounded(v, u32::MAX)
                    .filter(|n| *n > 0)
                    .ok_or_else(|| CliError::IllegalLimit { opt: name, value: v.to_string() })?;
            }
            Tag::SourceRate => {
                let (rate, burst) = match v.split_once(':') {
                    Some((r, b)) => (r, Some(b)),
                    None => (v, None),
                };
                let bad = || CliError::IllegalLimit { opt: name, value: v.to_string() };
                l.source_rate = bounded(rate, u32::MAX).filter(|n| *n > 0).ok_or_else(bad)?;
                l.source_burst = match burst {
                    Some(b) => bounded(b, u32::MAX).filter(|n| *n > 0).ok_or_else(bad)?,
                    None => 0,
                };
            }
            Tag::Allow => l.allow = parse_prefix_list(v)?,
            _ => l.deny = parse_prefix_list(v)?,
        }
        Ok(())
    }

    fn finish(mut self, in_restore: bool) -> Result<Command, CliError> {
        let Some(cmd) = self.cmd else {
            return Err(CliError::TryHelp(self.program.to_string()));
        };
        let mut positional = std::mem::take(&mut self.positional).into_iter();
        let mut timeouts = Timeouts::default();
        if cmd == Cmd::Set {
            // ipvsadm takes all three words before checking any of them.
            let (Some(a), Some(b), Some(c)) =
                (positional.next(), positional.next(), positional.next())
            else {
                return Err(CliError::SetNeedsThreeValues);
            };
            let t = |v: String| bounded(&v, MAX_TIMEOUT_S).ok_or(CliError::InvalidTimeout(v));
            timeouts = Timeouts { tcp: t(a)?, tcpfin: t(b)?, udp: t(c)? };
        }
        if let Some(extra) = positional.next() {
            return Err(CliError::UnexpectedArgument(extra));
        }
        let st = &self.st;
        if st.sloppy && !matches!(cmd, Cmd::Add | Cmd::Edit) {
            return Err(CliError::IllegalOption { opt: "sloppy", cmd: cmd.name() });
        }
        if let Some(opt) = st.limits_opt {
            if !matches!(cmd, Cmd::Add | Cmd::Edit) {
                return Err(CliError::IllegalOption { opt, cmd: cmd.name() });
            }
        }
        // An unknown scheduler is refused after the legality checks, as the kernel would.
        let scheduler = match st.scheduler.as_deref() {
            Some(name) => name.parse::<SchedKind>().map_err(SpecError::from),
            None => Ok(DEFAULT_SCHEDULER),
        };
        let flags = match &st.sched_flags {
            Some(list) => SchedFlags::parse_for(list, scheduler.as_ref().ok().copied())
                .map_err(SpecError::from)?,
            None => SchedFlags::default(),
        };
        let service = st.service.map(|(proto, hp)| ServiceKey {
            proto,
            addr: hp.addr,
            port: hp.port.unwrap_or(0),
        });
        let proto = service.map_or(Protocol::Tcp, |s| s.proto);
        let real = match &st.real_server {
            Some(r) => {
                Some(parse_hostport(r, proto, self.names).ok_or(CliError::IllegalRealServer)?)
            }
            None => None,
        };
        let laddr = match &st.laddr {
            Some(z) => Some(
                parse_hostport(z, proto, self.names).ok_or(CliError::IllegalLocalAddress)?.addr,
            ),
            None => None,
        };
        let netmask = match (&st.netmask, service) {
            (Some(m), Some(ServiceKey { addr: IpAddr::V6(_), .. })) => {
                Netmask::V6(parse_netmask_v6(m).ok_or(CliError::IllegalIpv6Netmask)?)
            }
            (Some(m), _) => {
                Netmask::V4(parse_netmask_v4(m, self.names).ok_or(CliError::IllegalNetmask)?)
            }
            (None, Some(s)) => Netmask::host(s.addr),
            (None, None) => Netmask::host(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
        };

        self.opts.check(cmd)?;
        if st.format.health && cmd != Cmd::List {
            return Err(CliError::IllegalOption { opt: "health", cmd: cmd.name() });
        }
        let scheduler = scheduler?;
        if let Some(arg) = &st.matcher {
            return self.finish_match(cmd, arg, scheduler, real);
        }

        // The legality table guarantees the compulsory values below; a missing one is refused
        // with the table's own message rather than unwrapped.
        let need_service =
            || service.ok_or(CliError::MissingOption { opt: Opt::Service.name(), cmd: cmd.name() });
        let need_real =
            || real.ok_or(CliError::MissingOption { opt: Opt::RealServer.name(), cmd: cmd.name() });
        let need_laddr =
            || laddr.ok_or(CliError::MissingOption { opt: Opt::Laddr.name(), cmd: cmd.name() });

        Ok(match cmd {
            Cmd::Add | Cmd::Edit => {
                let key = need_service()?;
                let mut spec = ServiceSpec {
                    key,
                    scheduler,
                    flags,
                    persistence: st.persistence,
                    netmask,
                    one_packet: st.one_packet,
                    pe: st.pe.clone(),
                    toa: false,
                    synproxy: st.synproxy,
                    sloppy: st.sloppy,
                    limits: None,
                };
                spec.set_limits(st.limits.clone());
                if key.port == 0 && spec.persistence.is_none() {
                    return Err(SpecError::ZeroPortNotPersistent.into());
                }
                if spec.one_packet && key.proto != Protocol::Udp {
                    return Err(SpecError::OnePacketNotUdp.into());
                }
                if spec.synproxy && key.proto != Protocol::Tcp {
                    return Err(SpecError::SynproxyNotTcp.into());
                }
                spec.limits().validate()?;
                if cmd == Cmd::Add {
                    Command::Change(Change::AddService(spec))
                } else {
                    Command::Change(Change::EditService(spec))
                }
            }
            Cmd::Del => Command::Change(Change::DeleteService(need_service()?)),
            Cmd::Flush => Command::Change(Change::Clear),
            Cmd::AddDest | Cmd::EditDest => {
                let service = need_service()?;
                let real = need_real()?;
                let dest = self.dest(service, real)?;
                if cmd == Cmd::AddDest {
                    Command::Change(Change::AddDest { service, dest })
                } else {
                    Command::Change(Change::EditDest { service, dest })
                }
            }
            Cmd::DelDest => {
                let service = need_service()?;
                let real = need_real()?;
                Command::Change(Change::DeleteDest {
                    service,
                    addr: real.addr,
                    port: real.port.unwrap_or(service.port),
                })
            }
            Cmd::Set => Command::Change(Change::SetTimeouts(timeouts)),
            Cmd::List => {
                let o = self.opts;
                let listing = o.has(Opt::Stats) || o.has(Opt::Rate) || o.has(Opt::Thresholds);
                if ((o.has(Opt::Connection) || o.has(Opt::Timeout) || o.has(Opt::Daemon))
                    && listing)
                    || ((o.has(Opt::Timeout) || o.has(Opt::Daemon)) && o.has(Opt::PersistentConn))
                {
                    return Err(CliError::ListConflict);
                }
                if st.format.health {
                    let other = [
                        (Opt::Connection, "connection"),
                        (Opt::Timeout, "timeout"),
                        (Opt::Daemon, "daemon"),
                        (Opt::Stats, "stats"),
                        (Opt::Rate, "rate"),
                        (Opt::Thresholds, "thresholds"),
                        (Opt::PersistentConn, "persistent-conn"),
                        (Opt::TunInfo, "tun-info"),
                    ]
                    .into_iter()
                    .find(|(opt, _)| o.has(*opt));
                    if let Some((_, other)) = other {
                        return Err(CliError::ConflictingOptions {
                            opt: "health",
                            other,
                            cmd: cmd.name(),
                        });
                    }
                }
                let what = if o.has(Opt::Connection) {
                    ListWhat::Conns
                } else if let Some(s) = service {
                    ListWhat::Service(s)
                } else if o.has(Opt::Timeout) {
                    ListWhat::Timeouts
                } else if o.has(Opt::Daemon) {
                    ListWhat::Daemon
                } else {
                    ListWhat::All
                };
                Command::List { what, format: st.format }
            }
            Cmd::Restore if in_restore => return Err(CliError::NestedRestore),
            Cmd::Restore => Command::Restore,
            Cmd::Save => Command::Save { numeric: st.format.numeric },
            Cmd::Zero => Command::Change(Change::Zero(service)),
            Cmd::AddLaddr | Cmd::DelLaddr => {
                let service = need_service()?;
                let laddr = LocalAddrSpec { addr: need_laddr()?, ifname: st.ifname.clone() };
                if cmd == Cmd::AddLaddr {
                    Command::Change(Change::AddLocalAddr { service, laddr })
                } else {
                    Command::Change(Change::DelLocalAddr { service, laddr })
                }
            }
            Cmd::GetLaddr => Command::ListLocalAddrs { service },
            Cmd::Reload if in_restore => return Err(CliError::NestedRestore),
            Cmd::Reload => Command::Reload,
            Cmd::FlushRemoved if in_restore => return Err(CliError::NestedRestore),
            Cmd::FlushRemoved => Command::FlushRemoved,
            Cmd::Announce(_) if in_restore => return Err(CliError::NestedRestore),
            Cmd::Announce(r) => Command::Announce(r),
        })
    }

    /// The commands on a match service (`-H`).
    fn finish_match(
        &self,
        cmd: Cmd,
        arg: &str,
        scheduler: SchedKind,
        real: Option<HostPort>,
    ) -> Result<Command, CliError> {
        let matcher = parse_match(arg)?;
        let st = &self.st;
        let refuse = |why: String| CliError::Model(SpecError::BadMatch(arg.to_string(), why));
        let need_real =
            || real.ok_or(CliError::MissingOption { opt: Opt::RealServer.name(), cmd: cmd.name() });
        Ok(match cmd {
            Cmd::Add | Cmd::Edit => {
                if st.persistence.is_some()
                    || st.netmask.is_some()
                    || st.one_packet
                    || st.sched_flags.is_some()
                    || st.sloppy
                    || st.pe.is_some()
                    || st.limits_opt.is_some()
                {
                    return Err(refuse(
                        "a match service takes only -s and --synproxy (not -p, -M, -o, -b or --pe)"
                            .into(),
                    ));
                }
                let synproxy = st.synproxy;
                if synproxy && !matches!(matcher.proto, SnatProto::Tcp | SnatProto::Any) {
                    return Err(SpecError::SynproxyNotTcp.into());
                }
                if cmd == Cmd::Add {
                    Command::Change(Change::AddMatch { matcher, scheduler, synproxy })
                } else {
                    Command::Change(Change::EditMatch { matcher, scheduler, synproxy })
                }
            }
            Cmd::Del => Command::Change(Change::DeleteMatch(matcher)),
            Cmd::AddDest | Cmd::EditDest => {
                // No virtual address or port: the SNAT address keeps the port it is given (0).
                let any = ServiceKey {
                    proto: Protocol::Tcp,
                    addr: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                    port: 0,
                };
                let dest = self.dest(any, need_real()?)?;
                if cmd == Cmd::AddDest {
                    Command::Change(Change::AddMatchDest { matcher, dest })
                } else {
                    Command::Change(Change::EditMatchDest { matcher, dest })
                }
            }
            Cmd::DelDest => {
                let real = need_real()?;
                Command::Change(Change::DeleteMatchDest {
                    matcher,
                    addr: real.addr,
                    port: real.port.unwrap_or(0),
                })
            }
            _ => {
                return Err(refuse(format!(
                    "-H selects a match service, which {} does not take",
                    cmd.name()
                )))
            }
        })
    }

    /// Build and check a real server for `-a`/`-e`, in ipvsadm's order.
    fn dest(&self, service: ServiceKey, real: HostPort) -> Result<DestSpec, CliError> {
        let st = &self.st;
        let fwd = st.fwd.unwrap_or(FwdMethod::Route);
        // DR and TUN cannot change the port: the real server listens on the virtual port.
        let port = if fwd.keeps_port() { service.port } else { real.port.unwrap_or(service.port) };
        if real.addr.is_ipv4() != service.addr.is_ipv4() && fwd != FwdMethod::Tunnel {
            return Err(SpecError::DifferentFamily.into());
        }
        let o = self.opts;
        let tun_opts = [Opt::TunType, Opt::TunPort, Opt::TunNoCsum, Opt::TunCsum, Opt::TunRemCsum];
        if tun_opts.iter().any(|t| o.has(*t)) && fwd != FwdMethod::Tunnel {
            return Err(SpecError::TunnelOptionsConflict.into());
        }
        let kind = st.tun_type.unwrap_or_default();
        check_tunnel_options(kind, o)?;
        let tun = (fwd == FwdMethod::Tunnel).then(|| TunInfo {
            kind,
            port: st.tun_port.unwrap_or(0),
            csum: st.tun_csum.unwrap_or_default(),
        });
        Ok(DestSpec {
            addr: real.addr,
            port,
            fwd,
            weight: st.weight.unwrap_or(1),
            upper: st.upper.unwrap_or(0),
            lower: st.lower.unwrap_or(0),
            tun,
        })
    }
}

/// `-p` given with a value (an empty inline value counts as none).
fn shown_has_value(v: &str) -> bool {
    !v.is_empty()
}

/// Which tunnel options each tunnel type takes: `+` compulsory, `x` illegal, `1` one of.
fn check_tunnel_options(kind: TunType, o: OptSet) -> Result<(), CliError> {
    let cols = [Opt::TunPort, Opt::TunNoCsum, Opt::TunCsum, Opt::TunRemCsum];
    let row: &[u8; 4] = match kind {
        TunType::Ipip => b"xxxx",
        TunType::Gue => b"+111",
        TunType::Gre => b"x11x",
    };
    let tun = kind.name();
    let mut first: Option<Opt> = None;
    for (opt, rule) in cols.iter().zip(row.iter()) {
        match (o.has(*opt), rule) {
            (false, b'+') => return Err(CliError::MissingTunnelOption { opt: opt.name(), tun }),
            (true, b'x') => return Err(CliError::IllegalTunnelOption { opt: opt.name(), tun }),
            (true, b'1') => match first {
                None => first = Some(*opt),
                Some(other) => {
                    return Err(CliError::ConflictingTunnelOptions {
                        opt: opt.name(),
                        other: other.name(),
                        tun,
                    })
                }
            },
            _ => {}
        }
    }
    Ok(())
}

/// Short help text.
pub fn usage(program: &str) -> String {
    format!(
        "Usage:
  {p} -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [-b sched-flags] [-o]
  {p} -D virtual-service
  {p} -C
  {p} -R
  {p} -S [-n]
  {p} -a|e virtual-service -r server-address [-g|-i|-m|-b|-J] [-w weight] [-x upper] [-y lower]
        [--tun-type ipip|gue|gre] [--tun-port port] [--tun-nocsum|--tun-csum|--tun-remcsum]
  {p} -d virtual-service -r server-address
  {p} -L|l [virtual-service] [-n] [-c] [--stats|--rate|--thresholds|--persistent-conn|--tun-info]
        [--exact] [--nosort] [--timeout]
  {p} -Z [virtual-service]
  {p} --set tcp tcpfin udp
  {p} -P|Q virtual-service -z local-address [-F ifname]
  {p} -G [virtual-service]
  {p} --reload
  {p} --flush-removed
  {p} --announced | --drain | --resume
  {p} -h | -v

virtual-service: -t|--tcp-service host[:port] or -u|--udp-service host[:port]
Forwarding: -g direct routing (default), -i tunnel, -m NAT, -b FULLNAT, -J SNAT.
Defaults: scheduler {sched}, weight 1, persistence {pers} s when -p has no value.
Firewall-mark services (-f) do not exist in rvs: DPDK has no netfilter marks.
--reload (rvs): rvsd reads its config file again and applies it as live changes (as SIGHUP).
--flush-removed (rvs): end now the connections of removed services and real servers (they
    otherwise run until they expire, as in IPVS).
--announced, --drain, --resume (rvs, scale-out): show the VIPs rvsd announces to its routing
    daemon; withdraw them all while established connections go on; announce them again.
--sloppy (rvs, with -A/-E): a TCP segment other than a SYN may open a DR/TUN connection, so a
    flow another director began goes on to the same real server (use mh or sh).
Service limits (rvs, with -A/-E; -E sets them all, an absent one is removed):
  --conn-limit N            at most N connections at once (each of W workers holds N/W, rounded up)
  --source-rate R[:B]       at most R new connections/s per client address (bucket of B, default R)
  --allow P[,P...]          only these IPv4 prefixes (a.b.c.d/len) may connect
  --deny P[,P...]           these prefixes may not connect (deny wins over allow)
",
        p = program,
        sched = DEFAULT_SCHEDULER,
        pers = DEFAULT_PERSISTENCE_S,
    )
}

#[cfg(test)]
#[path = "cli_tests.rs"]
mod tests;

/// Version line.
pub fn version(program: &str) -> String {
    format!(
        "{program} {} (rvs; ipvsadm 1.31 command line, IPVS v1.2.1 listings)\n",
        env!("CARGO_PKG_VERSION")
    )
}
