//! The sync daemon's counters: written by its two threads (relaxed atomics: each counter has
//! one writer), read by the metrics and listings.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters of a sync daemon.
#[derive(Debug, Default)]
pub struct SyncStats {
    sent_messages: AtomicU64,
    sent_conns: AtomicU64,
    send_errors: AtomicU64,
    received_messages: AtomicU64,
    received_conns: AtomicU64,
    dropped_malformed: AtomicU64,
    dropped_syncid: AtomicU64,
    dropped_own: AtomicU64,
    dropped_entry: AtomicU64,
    dropped_busy: AtomicU64,
    learnt: AtomicU64,
    updated: AtomicU64,
    refused: AtomicU64,
}

/// A copy of [`SyncStats`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncCounts {
    /// Datagrams sent.
    pub sent_messages: u64,
    /// Connection entries in them.
    pub sent_conns: u64,
    /// Datagrams the socket refused.
    pub send_errors: u64,
    /// Datagrams received and decoded.
    pub received_messages: u64,
    /// Connection entries in them.
    pub received_conns: u64,
    /// Datagrams dropped: not a version 1 message.
    pub dropped_malformed: u64,
    /// Datagrams dropped: another sync id.
    pub dropped_syncid: u64,
    /// Datagrams dropped: this director's own (its own source address).
    pub dropped_own: u64,
    /// Entries dropped: undecodable, or nothing a director can continue (templates, IPv6...).
    pub dropped_entry: u64,
    /// Entries dropped: a worker's inbox was full.
    pub dropped_busy: u64,
    /// Connections installed from peers.
    pub learnt: u64,
    /// Connections already here, updated.
    pub updated: u64,
    /// Connections the workers refused (no such service or dest here, port in use...).
    pub refused: u64,
}

fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

impl SyncStats {
    pub(super) fn sent(&self, conns: u64) {
        add(&self.sent_messages, 1);
        add(&self.sent_conns, conns);
    }
    pub(super) fn send_error(&self) {
        add(&self.send_errors, 1);
    }
    pub(super) fn received(&self, conns: u64) {
        add(&self.received_messages, 1);
        add(&self.received_conns, conns);
    }
    pub(super) fn malformed(&self) {
        add(&self.dropped_malformed, 1);
    }
    pub(super) fn other_syncid(&self) {
        add(&self.dropped_syncid, 1);
    }
    pub(super) fn own(&self) {
        add(&self.dropped_own, 1);
    }
    pub(super) fn bad_entry(&self) {
        add(&self.dropped_entry, 1);
    }
    pub(super) fn busy(&self, n: u64) {
        add(&self.dropped_busy, n);
    }
    pub(super) fn installed(&self, c: crate::ipvs::balancer::InstallCounts) {
        add(&self.learnt, c.installed);
        add(&self.updated, c.updated);
        add(&self.refused, c.refused);
    }

    /// The counters now.
    pub fn counts(&self) -> SyncCounts {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SyncCounts {
            sent_messages: g(&self.sent_messages),
            sent_conns: g(&self.sent_conns),
            send_errors: g(&self.send_errors),
            received_messages: g(&self.received_messages),
            received_conns: g(&self.received_conns),
            dropped_malformed: g(&self.dropped_malformed),
            dropped_syncid: g(&self.dropped_syncid),
            dropped_own: g(&self.dropped_own),
            dropped_entry: g(&self.dropped_entry),
            dropped_busy: g(&self.dropped_busy),
            learnt: g(&self.learnt),
            updated: g(&self.updated),
            refused: g(&self.refused),
        }
    }
}
