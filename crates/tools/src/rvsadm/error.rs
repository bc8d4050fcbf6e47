//! Errors of the rvsadm command line, worded as ipvsadm 1.31 words them so that scripts and
//! people who grep for ipvsadm's messages find them; rvs-only cases say what to do instead.
//!
//! Owns [`CliError`] and its exit codes. Must not touch: parsing itself (`cli`).

use rvs_core::ipvs::spec::SpecError;
use thiserror::Error;

/// A command line rvsadm refuses.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum CliError {
    /// The first option is not a command, or the line is empty.
    #[error("Try `{0} -h' or '{0} --help' for more information.")]
    TryHelp(String),
    /// Two commands on one line.
    #[error("multiple commands specified")]
    MultipleCommands,
    /// An option that does not exist.
    #[error("{0}: unknown option")]
    UnknownOption(String),
    /// An option that needs a value got none.
    #[error("{0}: missing argument")]
    MissingArgument(String),
    /// A command option after the command (`-A ... -L`).
    #[error("invalid option `{0}'")]
    InvalidOption(String),
    /// A value given to an option that takes none (`--numeric=1`).
    #[error("{0}: option does not take an argument")]
    UnexpectedValue(String),
    /// The same option twice.
    #[error("multiple '{0}' options specified")]
    MultipleOption(&'static str),
    /// An option the command does not take.
    #[error("Illegal '{opt}' option with the '{cmd}' command")]
    IllegalOption {
        /// Option name.
        opt: &'static str,
        /// Command name.
        cmd: &'static str,
    },
    /// A service-limit value that is not a number in range (rvs extension).
    #[error("illegal --{opt} value `{value}': give a positive number (--source-rate RATE or RATE:BURST)")]
    IllegalLimit {
        /// Option name.
        opt: &'static str,
        /// The value given.
        value: String,
    },
    /// An option the command requires is missing.
    #[error("You need to supply the '{opt}' option for the '{cmd}' command")]
    MissingOption {
        /// Option name.
        opt: &'static str,
        /// Command name.
        cmd: &'static str,
    },
    /// Two mutually exclusive options.
    #[error("The option '{opt}' conflicts with the '{other}' option in the '{cmd}' command")]
    ConflictingOptions {
        /// Option name.
        opt: &'static str,
        /// The option given before it.
        other: &'static str,
        /// Command name.
        cmd: &'static str,
    },
    /// Bad `-t`/`-u` value.
    #[error("illegal virtual server address[:port] specified")]
    IllegalServiceAddress,
    /// Bad `-r` value.
    #[error("illegal real server address[:port] specified")]
    IllegalRealServer,
    /// Bad `-z` value.
    #[error("illegal local address")]
    IllegalLocalAddress,
    /// Bad `-M` value on an IPv4 service.
    #[error("illegal virtual server persistent mask specified")]
    IllegalNetmask,
    /// Bad `-M` value on an IPv6 service.
    #[error("illegal ipv6 netmask specified")]
    IllegalIpv6Netmask,
    /// Bad `-w` value.
    #[error("illegal weight specified")]
    IllegalWeight,
    /// Bad `-x` value.
    #[error("illegal u_threshold specified")]
    IllegalUThreshold,
    /// Bad `-y` value.
    #[error("illegal l_threshold specified")]
    IllegalLThreshold,
    /// Bad `-p` or `--set` value.
    #[error("invalid timeout value `{0}' specified")]
    InvalidTimeout(String),
    /// `--set` without three values.
    #[error("--set option requires 3 timeout values")]
    SetNeedsThreeValues,
    /// A word that is not an option where none is expected.
    #[error("unexpected argument {0}")]
    UnexpectedArgument(String),
    /// Bad `--tun-type`.
    #[error("illegal tunnel type specified")]
    IllegalTunnelType,
    /// Bad `--tun-port`.
    #[error("illegal tunnel port specified")]
    IllegalTunnelPort,
    /// A tunnel option the tunnel type does not take.
    #[error("Illegal '{opt}' option with the '{tun}' tunnel type")]
    IllegalTunnelOption {
        /// Option name.
        opt: &'static str,
        /// Tunnel type.
        tun: &'static str,
    },
    /// A tunnel option the tunnel type requires.
    #[error("You need to supply the '{opt}' option for the '{tun}' tunnel type")]
    MissingTunnelOption {
        /// Option name.
        opt: &'static str,
        /// Tunnel type.
        tun: &'static str,
    },
    /// Two checksum modes.
    #[error("The option '{opt}' conflicts with the '{other}' option in the '{tun}' tunnel type")]
    ConflictingTunnelOptions {
        /// Option name.
        opt: &'static str,
        /// The option given before it.
        other: &'static str,
        /// Tunnel type.
        tun: &'static str,
    },
    /// `-c` with `--stats` and the like.
    #[error("options conflicts in the list command")]
    ListConflict,
    /// `-6` without `-f`.
    #[error("-6 used before -f")]
    Ipv6WithoutFwmark,
    /// `--sctp-service`.
    #[error("SCTP services are not supported by rvs; use -t or -u")]
    SctpUnsupported,
    /// `--start-daemon`/`--stop-daemon` with neither `master` nor `backup` (ipvsadm's words,
    /// its stop-daemon typo included).
    #[error("{}", if *start { "illegal start-daemon parameter specified" } else { "illegal start_daemon specified" })]
    IllegalDaemonState {
        /// `--start-daemon` (true) or `--stop-daemon`.
        start: bool,
    },
    /// `--syncid` outside 0-255.
    #[error("illegal syncid specified")]
    IllegalSyncId,
    /// `--sync-maxlen` outside 1-65507.
    #[error("illegal sync-maxlen specified")]
    IllegalSyncMaxlen,
    /// `--mcast-group` not a multicast address.
    #[error("illegal mcast-group specified")]
    IllegalMcastGroup,
    /// `--mcast-port` outside 1-65535.
    #[error("illegal mcast-port specified")]
    IllegalMcastPort,
    /// `--mcast-ttl` outside 1-255.
    #[error("illegal mcast-ttl specified")]
    IllegalMcastTtl,
    /// `-R` inside a restore file.
    #[error("-R cannot be used inside restore input")]
    NestedRestore,
    /// A listing, `-S`, `-h`, `-v`, `--reload` or `--flush-removed` inside restore input.
    #[error("restore input may only hold changes (-A -E -D -a -e -d -C -Z --set -P -Q)")]
    NotAChange,
    /// A model rule (zero port, one-packet, scheduler flags, address family...).
    #[error(transparent)]
    Model(#[from] SpecError),
}

impl CliError {
    /// Exit status ipvsadm uses for this error: 255 for the "try help" cases and an unknown
    /// scheduler (the kernel's refusal in ipvsadm), else 2.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::TryHelp(_)
            | CliError::UnknownOption(_)
            | CliError::MissingArgument(_)
            | CliError::UnexpectedValue(_)
            | CliError::Model(SpecError::SchedulerNotFound) => 255,
            _ => 2,
        }
    }

    /// The fwmark refusal.
    pub fn fwmark() -> CliError {
        CliError::Model(SpecError::FwmarkUnsupported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_core::ipvs::spec::FWMARK_ALTERNATIVE;

    #[test]
    fn messages_are_ipvsadms() {
        assert_eq!(
            CliError::IllegalOption { opt: "weight", cmd: "add-service" }.to_string(),
            "Illegal 'weight' option with the 'add-service' command"
        );
        assert_eq!(
            CliError::TryHelp("rvsadm".into()).to_string(),
            "Try `rvsadm -h' or 'rvsadm --help' for more information."
        );
        let f = CliError::fwmark().to_string();
        assert!(f.contains("DPDK has no netfilter marks"), "{f}");
        assert!(f.contains(FWMARK_ALTERNATIVE), "{f}");
        assert_eq!(CliError::fwmark().exit_code(), 2);
    }
}
