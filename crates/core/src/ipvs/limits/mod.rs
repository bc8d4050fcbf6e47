//! Per-service admission limits on the packet path: the connection limit, the per-source
//! new-connection rate and the allow and deny lists (issue 14, item 3), as the data plane
//! holds them.
//!
//! Owns [`SvcLimits`] (one service's limits compiled off the packet path, shared by every core
//! through the [`crate::ipvs::service::Services`] snapshot), [`PrefixSet`] and [`SourceRates`]
//! (one per core, bounded). The configured values and their rules are
//! [`crate::ipvs::spec::ServiceLimits`]'; the balancer calls [`SvcLimits::check_source`] and
//! [`SourceRates::admit`] for each new connection and keeps the per-service connection counts
//! in its books. Must not touch the connection table.
//!
//! Order of the checks for a packet that would open a connection: deny list
//! (`source_denied`), allow list (`source_not_allowed`), connection limit
//! (`service_conn_limit`), then the source's bucket (`source_rate_limited`), so a refused
//! source never spends a token. For a SYN-proxied service the lists are checked on the SYN
//! (a denied source gets no SYN-ACK) and everything on the ACK that opens the connection.

pub mod prefix_set;
pub mod source_rate;

use std::net::Ipv4Addr;

use crate::ipvs::counters::IpvsDropReason;
use crate::ipvs::spec::ServiceLimits;

pub use prefix_set::PrefixSet;
pub use source_rate::{RateParams, SourceRates, WAYS};

/// Slots of a core's per-source table when the balancer's config does not say.
pub const DEFAULT_SOURCE_ENTRIES: usize = 65_536;

/// One service's limits in the data plane's form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SvcLimits {
    /// Most connections at once, all cores together; 0 = none. Each core enforces
    /// [`SvcLimits::core_share`].
    pub conn_limit: u32,
    /// The per-source bucket, when the service has one.
    pub rate: Option<RateParams>,
    /// When not empty, the only sources admitted.
    pub allow: PrefixSet,
    /// Sources refused.
    pub deny: PrefixSet,
}

impl SvcLimits {
    /// The compiled form of `l`; `None` when it limits nothing. Control path (allocates).
    pub fn compile(l: &ServiceLimits) -> Option<SvcLimits> {
        if l.is_unset() {
            return None;
        }
        Some(SvcLimits {
            conn_limit: l.conn_limit,
            rate: (l.source_rate > 0).then(|| RateParams::new(l.source_rate, l.burst())),
            allow: PrefixSet::build(&l.allow),
            deny: PrefixSet::build(&l.deny),
        })
    }

    /// The connections one of `n_cores` cores may hold: `ceil(conn_limit / n_cores)`, 0 = none.
    pub fn core_share(conn_limit: u32, n_cores: usize) -> u32 {
        if conn_limit == 0 {
            return 0;
        }
        let n = u32::try_from(n_cores.max(1)).unwrap_or(u32::MAX);
        conn_limit.div_ceil(n)
    }

    /// Whether the lists admit `src`: deny wins; a non-empty allow list admits only its own.
    #[inline]
    pub fn check_source(&self, src: Ipv4Addr) -> Result<(), IpvsDropReason> {
        if self.deny.contains(src) {
            return Err(IpvsDropReason::SourceDenied);
        }
        if !self.allow.is_empty() && !self.allow.contains(src) {
            return Err(IpvsDropReason::SourceNotAllowed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
