//! The option vocabulary of rvsadm and which options each command takes.
//!
//! Owns: the option spellings (short, long, argument kind), the option and command names used
//! in error messages, and the legality table (compulsory / illegal / mutually exclusive /
//! optional per command) checked the way ipvsadm 1.31 checks it, so the first complaint is the
//! same one ipvsadm would print. Must not touch: value parsing (`hostport`) or building commands
//! (`cli`).

use super::error::CliError;
use rvs_proto::announce::AnnounceRequest;

/// Commands, in the order of the legality table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cmd {
    Add,
    Edit,
    Del,
    Flush,
    List,
    AddDest,
    DelDest,
    EditDest,
    Set,
    Restore,
    Save,
    Zero,
    AddLaddr,
    DelLaddr,
    GetLaddr,
    Reload,
    FlushRemoved,
    /// Scale-out (docs/scale-out.md): `--announced`, `--drain`, `--resume`.
    Announce(rvs_proto::announce::AnnounceRequest),
}

impl Cmd {
    /// Name in error messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Cmd::Add => "add-service",
            Cmd::Edit => "edit-service",
            Cmd::Del => "delete-service",
            Cmd::Flush => "flush",
            Cmd::List => "list",
            Cmd::AddDest => "add-server",
            Cmd::DelDest => "delete-server",
            Cmd::EditDest => "edit-server",
            Cmd::Set => "set",
            Cmd::Restore => "restore",
            Cmd::Save => "save",
            Cmd::Zero => "zero",
            Cmd::AddLaddr => "add-laddr",
            Cmd::DelLaddr => "del-laddr",
            Cmd::GetLaddr => "get-laddr",
            Cmd::Reload => "reload",
            Cmd::FlushRemoved => "flush-removed",
            Cmd::Announce(rvs_proto::announce::AnnounceRequest::Show) => "announced",
            Cmd::Announce(rvs_proto::announce::AnnounceRequest::Drain) => "drain",
            Cmd::Announce(rvs_proto::announce::AnnounceRequest::Resume) => "resume",
        }
    }

    /// Legality row: one character per [`Opt`], `+` compulsory, `x` illegal, `1` at most one
    /// of the `1` options, space optional.
    fn row(self) -> &'static [u8; Opt::COUNT] {
        //                        n c s s p M r f w x y t d s r t p s e o p b t t t n c r z F s
        //                        u o v c e a s w e u l o m t a h c o x p e f i y p o s e l i y
        match self {
            Cmd::Add | Cmd::Edit => b"xx+   xxxxxxxxxxxxx   xxxxxxxx ",
            Cmd::Del => b"xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            Cmd::List => b" 11xxxxxxxx11      xxx xxxxxxxx",
            Cmd::AddDest | Cmd::EditDest => b"xx+xxx+    xxxxxxxxxxxx     xxx",
            Cmd::DelDest => b"xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxx",
            Cmd::Flush
            | Cmd::Set
            | Cmd::Restore
            | Cmd::Reload
            | Cmd::FlushRemoved
            | Cmd::Announce(_) => b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            Cmd::Save => b" xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            Cmd::Zero => b"xx xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            Cmd::AddLaddr | Cmd::DelLaddr => b"xx+xxxxxxxxxxxxxxxxxxxxxxxxx+ x",
            Cmd::GetLaddr => b" x xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        }
    }
}

/// Options that are recorded in the option set (each may appear once).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Opt {
    Numeric,
    Connection,
    Service,
    Scheduler,
    Persistent,
    Netmask,
    RealServer,
    Forward,
    Weight,
    UThreshold,
    LThreshold,
    Timeout,
    Daemon,
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    NoSort,
    Exact,
    Ops,
    Pe,
    SchedFlags,
    TunInfo,
    TunType,
    TunPort,
    TunNoCsum,
    TunCsum,
    TunRemCsum,
    Laddr,
    Ifname,
    /// rvs and DPVS extension: the SYN proxy on a service.
    Synproxy,
}

impl Opt {
    pub(crate) const COUNT: usize = 31;
    const ALL: [Opt; Opt::COUNT] = [
        Opt::Numeric,
        Opt::Connection,
        Opt::Service,
        Opt::Scheduler,
        Opt::Persistent,
        Opt::Netmask,
        Opt::RealServer,
        Opt::Forward,
        Opt::Weight,
        Opt::UThreshold,
        Opt::LThreshold,
        Opt::Timeout,
        Opt::Daemon,
        Opt::Stats,
        Opt::Rate,
        Opt::Thresholds,
        Opt::PersistentConn,
        Opt::NoSort,
        Opt::Exact,
        Opt::Ops,
        Opt::Pe,
        Opt::SchedFlags,
        Opt::TunInfo,
        Opt::TunType,
        Opt::TunPort,
        Opt::TunNoCsum,
        Opt::TunCsum,
        Opt::TunRemCsum,
        Opt::Laddr,
        Opt::Ifname,
        Opt::Synproxy,
    ];

    /// Name in error messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Opt::Numeric => "numeric",
            Opt::Connection => "connection",
            Opt::Service => "service-address",
            Opt::Scheduler => "scheduler",
            Opt::Persistent => "persistent",
            Opt::Netmask => "netmask",
            Opt::RealServer => "real-server",
            Opt::Forward => "forwarding-method",
            Opt::Weight => "weight",
            Opt::UThreshold => "u-threshold",
            Opt::LThreshold => "l-threshold",
            Opt::Timeout => "timeout",
            Opt::Daemon => "daemon",
            Opt::Stats => "stats",
            Opt::Rate => "rate",
            Opt::Thresholds => "thresholds",
            Opt::PersistentConn => "persistent-conn",
            Opt::NoSort => "nosort",
            Opt::Exact => "exact",
            Opt::Ops => "ops",
            Opt::Pe => "pe",
            Opt::SchedFlags => "sched-flags",
            Opt::TunInfo => "tun-info",
            Opt::TunType => "tun-type",
            Opt::TunPort => "tun-port",
            Opt::TunNoCsum => "tun-nocsum",
            Opt::TunCsum => "tun-csum",
            Opt::TunRemCsum => "tun-remcsum",
            Opt::Laddr => "laddr",
            Opt::Ifname => "ifname",
            Opt::Synproxy => "synproxy",
        }
    }

    fn bit(self) -> u32 {
        1 << (self as u8)
    }
}

/// The set of options seen on one command line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct OptSet(u32);

impl OptSet {
    /// Record `o`; a second occurrence is an error.
    pub(crate) fn set(&mut self, o: Opt) -> Result<(), CliError> {
        if self.has(o) {
            return Err(CliError::MultipleOption(o.name()));
        }
        self.0 |= o.bit();
        Ok(())
    }

    pub(crate) fn has(self, o: Opt) -> bool {
        self.0 & o.bit() != 0
    }

    /// Check the options against the command's legality row, first complaint first.
    pub(crate) fn check(self, cmd: Cmd) -> Result<(), CliError> {
        let row = cmd.row();
        let mut exclusive: Option<Opt> = None;
        for (o, rule) in Opt::ALL.iter().zip(row.iter()) {
            let present = self.has(*o);
            match (present, rule) {
                (false, b'+') => {
                    return Err(CliError::MissingOption { opt: o.name(), cmd: cmd.name() })
                }
                (true, b'x') => {
                    return Err(CliError::IllegalOption { opt: o.name(), cmd: cmd.name() })
                }
                (true, b'1') => match exclusive {
                    None => exclusive = Some(*o),
                    Some(other) => {
                        return Err(CliError::ConflictingOptions {
                            opt: o.name(),
                            other: other.name(),
                            cmd: cmd.name(),
                        })
                    }
                },
                _ => {}
            }
        }
        Ok(())
    }
}

/// Whether an option takes a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ArgKind {
    None,
    Required,
    Optional,
}

/// What an option means, before its value is interpreted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tag {
    Cmd(Cmd),
    Help,
    Version,
    Tcp,
    Udp,
    Sctp,
    Fwmark,
    Scheduler,
    Persistent,
    Netmask,
    RealServer,
    Masq,
    Ipip,
    Gatewaying,
    FullNat,
    Snat,
    SchedFlags,
    Weight,
    UThreshold,
    LThreshold,
    Numeric,
    Connection,
    Timeout,
    Daemon,
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    NoSort,
    Sort,
    Exact,
    Ipv6,
    Ops,
    Pe,
    TunInfo,
    TunType,
    TunPort,
    TunNoCsum,
    TunCsum,
    TunRemCsum,
    Laddr,
    Ifname,
    Match,
    SyncDaemon(&'static str),
    Health,
    Synproxy,
    /// `--sloppy`: rvs's per-service sloppy TCP (docs/scale-out.md); not in the legality table,
    /// the parser allows it only with -A/-E.
    Sloppy,
    // Service limits (rvs extensions, docs/hardening/limits.md); like `--sloppy`, not in the
    // legality table: the parser allows them only with -A/-E.
    /// `--conn-limit N`.
    ConnLimit,
    /// `--source-rate RATE[:BURST]`.
    SourceRate,
    /// `--allow PREFIX[,PREFIX...]`.
    Allow,
    /// `--deny PREFIX[,PREFIX...]`.
    Deny,
}

/// One spelling of an option.
pub(crate) struct Spec {
    pub(crate) long: &'static str,
    pub(crate) short: Option<char>,
    pub(crate) arg: ArgKind,
    pub(crate) tag: Tag,
}

const fn spec(long: &'static str, short: Option<char>, arg: ArgKind, tag: Tag) -> Spec {
    Spec { long, short, arg, tag }
}

use ArgKind::{None as N, Optional as O, Required as R};

/// Every option rvsadm knows. `-b` is listed twice: its meaning depends on the command
/// (see [`lookup_short`]).
pub(crate) const SPECS: &[Spec] = &[
    spec("add-service", Some('A'), N, Tag::Cmd(Cmd::Add)),
    spec("edit-service", Some('E'), N, Tag::Cmd(Cmd::Edit)),
    spec("delete-service", Some('D'), N, Tag::Cmd(Cmd::Del)),
    spec("clear", Some('C'), N, Tag::Cmd(Cmd::Flush)),
    spec("list", Some('L'), N, Tag::Cmd(Cmd::List)),
    spec("list", Some('l'), N, Tag::Cmd(Cmd::List)),
    spec("zero", Some('Z'), N, Tag::Cmd(Cmd::Zero)),
    spec("add-server", Some('a'), N, Tag::Cmd(Cmd::AddDest)),
    spec("edit-server", Some('e'), N, Tag::Cmd(Cmd::EditDest)),
    spec("delete-server", Some('d'), N, Tag::Cmd(Cmd::DelDest)),
    spec("set", None, N, Tag::Cmd(Cmd::Set)),
    spec("help", Some('h'), N, Tag::Help),
    spec("version", Some('v'), N, Tag::Version),
    spec("restore", Some('R'), N, Tag::Cmd(Cmd::Restore)),
    spec("save", Some('S'), N, Tag::Cmd(Cmd::Save)),
    spec("add-laddr", Some('P'), N, Tag::Cmd(Cmd::AddLaddr)),
    spec("del-laddr", Some('Q'), N, Tag::Cmd(Cmd::DelLaddr)),
    spec("get-laddr", Some('G'), N, Tag::Cmd(Cmd::GetLaddr)),
    spec("reload", None, N, Tag::Cmd(Cmd::Reload)),
    spec("flush-removed", None, N, Tag::Cmd(Cmd::FlushRemoved)),
    spec("announced", None, N, Tag::Cmd(Cmd::Announce(AnnounceRequest::Show))),
    spec("drain", None, N, Tag::Cmd(Cmd::Announce(AnnounceRequest::Drain))),
    spec("resume", None, N, Tag::Cmd(Cmd::Announce(AnnounceRequest::Resume))),
    spec("start-daemon", None, R, Tag::SyncDaemon("--start-daemon")),
    spec("stop-daemon", None, R, Tag::SyncDaemon("--stop-daemon")),
    spec("tcp-service", Some('t'), R, Tag::Tcp),
    spec("udp-service", Some('u'), R, Tag::Udp),
    spec("sctp-service", None, R, Tag::Sctp),
    spec("fwmark-service", Some('f'), R, Tag::Fwmark),
    spec("scheduler", Some('s'), R, Tag::Scheduler),
    spec("persistent", Some('p'), O, Tag::Persistent),
    spec("netmask", Some('M'), R, Tag::Netmask),
    spec("real-server", Some('r'), R, Tag::RealServer),
    spec("masquerading", Some('m'), N, Tag::Masq),
    spec("ipip", Some('i'), N, Tag::Ipip),
    spec("gatewaying", Some('g'), N, Tag::Gatewaying),
    spec("fullnat", Some('b'), N, Tag::FullNat),
    spec("snat", Some('J'), N, Tag::Snat),
    spec("weight", Some('w'), R, Tag::Weight),
    spec("u-threshold", Some('x'), R, Tag::UThreshold),
    spec("l-threshold", Some('y'), R, Tag::LThreshold),
    spec("numeric", Some('n'), N, Tag::Numeric),
    spec("connection", Some('c'), N, Tag::Connection),
    spec("mcast-interface", None, R, Tag::SyncDaemon("--mcast-interface")),
    spec("syncid", None, R, Tag::SyncDaemon("--syncid")),
    spec("timeout", None, N, Tag::Timeout),
    spec("daemon", None, N, Tag::Daemon),
    spec("stats", None, N, Tag::Stats),
    spec("rate", None, N, Tag::Rate),
    spec("thresholds", None, N, Tag::Thresholds),
    spec("persistent-conn", None, N, Tag::PersistentConn),
    spec("nosort", None, N, Tag::NoSort),
    spec("sort", None, N, Tag::Sort),
    spec("exact", Some('X'), N, Tag::Exact),
    spec("ipv6", Some('6'), N, Tag::Ipv6),
    spec("ops", Some('o'), N, Tag::Ops),
    spec("pe", None, R, Tag::Pe),
    spec("sched-flags", Some('b'), R, Tag::SchedFlags),
    spec("mcast-group", None, R, Tag::SyncDaemon("--mcast-group")),
    spec("mcast-port", None, R, Tag::SyncDaemon("--mcast-port")),
    spec("mcast-ttl", None, R, Tag::SyncDaemon("--mcast-ttl")),
    spec("sync-maxlen", None, R, Tag::SyncDaemon("--sync-maxlen")),
    spec("tun-info", None, N, Tag::TunInfo),
    spec("tun-type", None, R, Tag::TunType),
    spec("tun-port", None, R, Tag::TunPort),
    spec("tun-nocsum", None, N, Tag::TunNoCsum),
    spec("tun-csum", None, N, Tag::TunCsum),
    spec("tun-remcsum", None, N, Tag::TunRemCsum),
    spec("laddr", Some('z'), R, Tag::Laddr),
    spec("ifname", Some('F'), R, Tag::Ifname),
    spec("health", None, N, Tag::Health),
    spec("sloppy", None, N, Tag::Sloppy),
    spec("match", Some('H'), R, Tag::Match),
    spec("synproxy", None, N, Tag::Synproxy),
    spec("conn-limit", None, R, Tag::ConnLimit),
    spec("source-rate", None, R, Tag::SourceRate),
    spec("allow", None, R, Tag::Allow),
    spec("deny", None, R, Tag::Deny),
];

/// Look up `--name`.
pub(crate) fn lookup_long(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.long == name)
}

/// Look up `-c`. `-b` is the FULLNAT forwarding method for add-server/edit-server (rvs and
/// DPVS extension) and the scheduler flags (taking a value) everywhere else.
pub(crate) fn lookup_short(c: char, cmd: Option<Cmd>) -> Option<&'static Spec> {
    let dest_cmd = matches!(cmd, Some(Cmd::AddDest | Cmd::EditDest));
    SPECS.iter().find(|s| {
        s.short == Some(c)
            && match s.tag {
                Tag::FullNat => dest_cmd,
                Tag::SchedFlags => !dest_cmd,
                _ => true,
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_have_one_rule_per_option() {
        for cmd in [
            Cmd::Add,
            Cmd::Del,
            Cmd::List,
            Cmd::AddDest,
            Cmd::DelDest,
            Cmd::Flush,
            Cmd::Save,
            Cmd::Zero,
            Cmd::AddLaddr,
            Cmd::GetLaddr,
        ] {
            assert!(cmd.row().iter().all(|c| b"+x1 ".contains(c)), "{cmd:?}");
        }
    }

    #[test]
    fn add_service_rules() {
        let mut s = OptSet::default();
        assert_eq!(
            s.check(Cmd::Add),
            Err(CliError::MissingOption { opt: "service-address", cmd: "add-service" })
        );
        s.set(Opt::Service).unwrap();
        s.set(Opt::Scheduler).unwrap();
        s.set(Opt::Persistent).unwrap();
        s.set(Opt::SchedFlags).unwrap();
        s.set(Opt::Ops).unwrap();
        s.set(Opt::Pe).unwrap();
        s.set(Opt::Netmask).unwrap();
        assert_eq!(s.check(Cmd::Add), Ok(()));
        assert_eq!(s.set(Opt::Ops), Err(CliError::MultipleOption("ops")));
        s.set(Opt::Weight).unwrap();
        assert_eq!(
            s.check(Cmd::Add),
            Err(CliError::IllegalOption { opt: "weight", cmd: "add-service" })
        );
    }

    #[test]
    fn list_exclusive_options() {
        let mut s = OptSet::default();
        for o in [Opt::Numeric, Opt::Stats, Opt::Rate, Opt::Exact, Opt::NoSort] {
            s.set(o).unwrap();
        }
        assert_eq!(s.check(Cmd::List), Ok(()));
        s.set(Opt::Connection).unwrap();
        s.set(Opt::Service).unwrap();
        assert_eq!(
            s.check(Cmd::List),
            Err(CliError::ConflictingOptions {
                opt: "service-address",
                other: "connection",
                cmd: "list"
            })
        );
    }

    #[test]
    fn dest_rules() {
        let mut s = OptSet::default();
        for o in [
            Opt::Service,
            Opt::RealServer,
            Opt::Forward,
            Opt::Weight,
            Opt::UThreshold,
            Opt::LThreshold,
            Opt::TunType,
            Opt::TunPort,
            Opt::TunCsum,
        ] {
            s.set(o).unwrap();
        }
        assert_eq!(s.check(Cmd::AddDest), Ok(()));
        assert_eq!(s.check(Cmd::EditDest), Ok(()));
        assert_eq!(
            s.check(Cmd::DelDest),
            Err(CliError::IllegalOption { opt: "forwarding-method", cmd: "delete-server" })
        );
    }

    #[test]
    fn b_depends_on_command() {
        assert_eq!(lookup_short('b', Some(Cmd::AddDest)).unwrap().tag, Tag::FullNat);
        assert_eq!(lookup_short('b', Some(Cmd::EditDest)).unwrap().tag, Tag::FullNat);
        assert_eq!(lookup_short('b', Some(Cmd::Add)).unwrap().tag, Tag::SchedFlags);
        assert_eq!(lookup_short('b', None).unwrap().tag, Tag::SchedFlags);
        assert!(lookup_short('q', None).is_none());
        assert_eq!(lookup_long("sched-flags").unwrap().arg, ArgKind::Required);
    }
}
