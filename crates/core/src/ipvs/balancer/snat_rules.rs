//! Per-rule counts of SNAT rules (match services) on one core.
//!
//! Owns [`SnatRuleSlot`]: for each SNAT rule the core has known, its live connections
//! (active = TCP ESTABLISHED, inactive = the others, as for dests), and its connections,
//! packets and bytes. A rule is identified by its whole [`SnatMatch`] (protocol, source and
//! destination ranges, WAN address): the match service's spec plus its one SNAT real server.
//! A SNAT connection names its rule slot in its service field (its dest field names the WAN
//! address's pool slot, see `book`). Slots follow the books' life cycle: created or found by
//! key in [`Book::apply_snat_rules`] (control path), kept while a connection refers to them,
//! reused when removed and unreferenced. The packet path only moves plain counts here.

use crate::ipvs::conn::{Conn, Direction};
use crate::ipvs::counters::TrafficCounters;
use crate::ipvs::service::{Services, SnatMatch};

use super::book::{forget_activity, reuse_or_push, shift_activity, Book};

/// One core's counts of one SNAT rule.
#[derive(Debug)]
pub(super) struct SnatRuleSlot {
    pub rule: SnatMatch,
    /// In the current snapshot.
    pub live: bool,
    /// Removed and unreferenced: free for reuse.
    pub free: bool,
    /// Connections naming this slot.
    pub refs: u32,
    pub active: u32,
    pub inactive: u32,
    pub stats: TrafficCounters,
}

impl Book {
    /// Finds or creates the slot of every SNAT rule of `snap`; frees removed, unreferenced ones.
    pub(super) fn apply_snat_rules(&mut self, snap: &Services) {
        for s in &mut self.snat_rules {
            if !s.live && s.refs == 0 {
                s.free = true;
            }
            s.live = false;
        }
        self.snat_rule_of_rule.clear();
        for r in snap.snat() {
            let slot = match self.snat_rules.iter().position(|s| !s.free && s.rule == *r) {
                Some(i) => i as u32,
                None => {
                    let new = SnatRuleSlot {
                        rule: *r,
                        live: true,
                        free: false,
                        refs: 0,
                        active: 0,
                        inactive: 0,
                        stats: TrafficCounters::default(),
                    };
                    reuse_or_push(&mut self.snat_rules, |s| s.free, new)
                }
            };
            if let Some(s) = self.snat_rules.get_mut(slot as usize) {
                s.live = true;
            }
            self.snat_rule_of_rule.push(slot);
        }
    }

    /// A new SNAT connection of rule slot `rule` (inactive until TCP is established).
    #[inline]
    pub(super) fn snat_rule_bind(&mut self, rule: u32) {
        if let Some(s) = self.snat_rules.get_mut(rule as usize) {
            s.refs = s.refs.saturating_add(1);
            s.inactive = s.inactive.saturating_add(1);
            s.stats.conns += 1;
        }
    }

    /// A connection of rule slot `rule` became active (`true`) or inactive.
    #[inline]
    pub(super) fn snat_rule_activity(&mut self, rule: u32, active: bool) {
        if let Some(s) = self.snat_rules.get_mut(rule as usize) {
            shift_activity(&mut s.active, &mut s.inactive, active);
        }
    }

    /// Counts a packet of `len` bytes in `dir` for rule slot `rule`.
    #[inline]
    pub(super) fn snat_rule_traffic(&mut self, rule: u32, dir: Direction, len: u32) {
        if let Some(s) = self.snat_rules.get_mut(rule as usize) {
            s.stats.count_packet(dir == Direction::In, len);
        }
    }

    /// A SNAT connection left the table: its rule slot loses it.
    pub(super) fn snat_rule_freed(&mut self, c: &Conn<std::net::Ipv4Addr>) {
        if let Some(s) = self.snat_rules.get_mut(c.svc() as usize) {
            forget_activity(&mut s.active, &mut s.inactive, c.is_active());
            s.refs = s.refs.saturating_sub(1);
        }
    }
}
