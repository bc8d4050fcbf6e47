//! [`SpecError`]: why a spec value is refused. Messages are ipvsadm's where ipvsadm has one.

use thiserror::Error;

use crate::ipvs::sched::SchedError;

/// What rvs offers instead of firewall-mark services; part of the message users see.
pub const FWMARK_ALTERNATIVE: &str =
    "a match service (-H proto=...,src-range=...) or a per-port service (-t|-u host:port)";

/// Why a spec value is refused. Messages are ipvsadm's where ipvsadm has one.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SpecError {
    /// Weight outside 0..=65535.
    #[error("illegal weight specified")]
    WeightRange(u32),
    /// Upper threshold above `INT_MAX`.
    #[error("illegal u_threshold specified")]
    IllegalUThreshold,
    /// Lower threshold above `INT_MAX`.
    #[error("illegal l_threshold specified")]
    IllegalLThreshold,
    /// Lower threshold above the upper one (the kernel answers ERANGE).
    #[error(
        "Numerical result out of range (lower threshold -y is higher than upper threshold -x)"
    )]
    ThresholdOrder,
    /// Port 0 needs persistence.
    #[error("Zero port specified for non-persistent service")]
    ZeroPortNotPersistent,
    /// `-o` on a TCP service.
    #[error("One-Packet Scheduling is only for UDP virtual services")]
    OnePacketNotUdp,
    /// `--synproxy` on a UDP service (rvs extension).
    #[error("the SYN proxy answers TCP handshakes: --synproxy is only for TCP virtual services")]
    SynproxyNotTcp,
    /// Timeout out of range.
    #[error("invalid timeout value `{0}' specified")]
    InvalidTimeout(String),
    /// IPv4 netmask on an IPv6 service or the reverse.
    #[error("illegal virtual server persistent mask specified")]
    IllegalNetmask,
    /// IPv6 prefix outside 1..=128.
    #[error("illegal ipv6 netmask specified")]
    IllegalIpv6Netmask,
    /// Unknown scheduler or persistence engine.
    #[error("Scheduler or persistence engine not found")]
    SchedulerNotFound,
    /// Unknown scheduler flag.
    #[error("invalid scheduler flag `{0}'")]
    InvalidSchedFlag(String),
    /// Flag for another scheduler (`sh-port` with `rr`).
    #[error("incompatible scheduler flag `{0}'")]
    IncompatibleSchedFlag(String),
    /// Real server of another address family without tunnelling.
    #[error("Different address family is allowed only for tunneling servers")]
    DifferentFamily,
    /// Tunnel options on a non-tunnel real server.
    #[error("Tunnel options conflict with forward method")]
    TunnelOptionsConflict,
    /// Firewall-mark services do not exist in rvs.
    #[error(
        "fwmark services are not supported: DPDK has no netfilter marks; use {FWMARK_ALTERNATIVE}"
    )]
    FwmarkUnsupported,
    /// A `-H` match that rvs cannot take; the message says what to write.
    #[error("invalid match `{0}': {1}")]
    BadMatch(String, String),
    // Service limits (rvs extensions; see `spec::limits`).
    /// Not an IPv4 prefix `a.b.c.d/len`.
    #[error("invalid prefix `{0}': write a.b.c.d/len (len 0 to 32), or a.b.c.d for one address")]
    BadPrefix(String),
    /// A prefix with bits set past its length.
    #[error("prefix `{0}' has host bits set: write {1}")]
    PrefixHostBits(String, String),
    /// An allow or deny list longer than [`super::limits::MAX_PREFIXES`].
    #[error("{0} prefixes in one list: at most 65536 (merge them into shorter prefixes)")]
    TooManyPrefixes(usize),
    /// A per-source rate above [`super::limits::MAX_SOURCE_RATE`].
    #[error("source rate {0} is out of range: give 1 to 1000000 new connections per second, or 0 for none")]
    SourceRateRange(u32),
    /// A burst given without a rate.
    #[error("a source burst needs a source rate: give the rate too (RATE:BURST)")]
    BurstWithoutRate,
}

/// A scheduler name or flag refused while parsing, in ipvsadm's words.
impl From<SchedError> for SpecError {
    fn from(e: SchedError) -> Self {
        match e {
            SchedError::UnknownScheduler(_) | SchedError::BadMhTableSize(_) => {
                SpecError::SchedulerNotFound
            }
            SchedError::InvalidFlag(f) => SpecError::InvalidSchedFlag(f),
            SchedError::IncompatibleFlag { flag, .. } => SpecError::IncompatibleSchedFlag(flag),
        }
    }
}
