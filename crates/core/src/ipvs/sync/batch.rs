//! The sending side's two halves, sans-IO: the per-worker [`ReportQueue`] the data path pushes
//! new and state-changed connections into, and the [`Batcher`] that the control side drains it
//! into, turning entries into datagrams of at most `sync_maxlen` bytes.
//!
//! The queue is a bounded crossbeam channel of [`SyncConn`]s made by [`SyncConn::from_conn`]
//! (which allocates nothing: no persistence data): one push per reported connection, never a
//! wait; a full queue drops the report and counts it. The batcher sends a datagram when the next
//! entry does not fit, and a partly filled one once its first entry has waited `flush_after`
//! (the kernel waits at most 2 s), so a quiet director still tells its peers within that time.

use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};

use super::{EncodeError, MessageBuilder, SyncConn};
use crate::time::Instant;

/// A worker's end of its report queue.
#[derive(Debug)]
pub struct ReportQueue {
    tx: Sender<SyncConn>,
    dropped: u64,
}

impl ReportQueue {
    /// A queue of at most `capacity` reports, and the control side's end of it.
    pub fn bounded(capacity: usize) -> (ReportQueue, Receiver<SyncConn>) {
        let (tx, rx) = crossbeam_channel::bounded(capacity);
        (ReportQueue { tx, dropped: 0 }, rx)
    }

    /// Reports `conn`; `false` (and one more drop counted) when the queue is full or the
    /// control side is gone.
    pub fn report(&mut self, conn: SyncConn) -> bool {
        match self.tx.try_send(conn) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped += 1;
                false
            }
        }
    }

    /// Reports dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// What the batcher has done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// Datagrams handed out to be sent.
    pub messages: u64,
    /// Entries in them.
    pub conns: u64,
    /// Entries that can never be encoded (longer than a message).
    pub unencodable: u64,
}

/// Turns entries into datagrams.
#[derive(Debug)]
pub struct Batcher {
    builder: MessageBuilder,
    first_at: Option<Instant>,
    flush_after: Duration,
    stats: BatchStats,
}

impl Batcher {
    /// A batcher for `syncid`, datagrams of at most `maxlen` bytes, a partial datagram sent
    /// `flush_after` after its first entry.
    pub fn new(syncid: u8, maxlen: usize, flush_after: Duration) -> Result<Batcher, EncodeError> {
        Ok(Batcher {
            builder: MessageBuilder::new(syncid, maxlen)?,
            first_at: None,
            flush_after,
            stats: BatchStats::default(),
        })
    }

    /// Adds `conn` at `now`; returns the datagram to send when it did not fit in the current one
    /// (the entry then starts the next).
    pub fn push(&mut self, conn: &SyncConn, now: Instant) -> Option<Vec<u8>> {
        match self.builder.push(conn) {
            Ok(()) => {
                self.first_at.get_or_insert(now);
                None
            }
            Err(EncodeError::Full) => {
                let out = self.take();
                // An entry that fits a message alone fits an empty one.
                if self.builder.push(conn).is_ok() {
                    self.first_at = Some(now);
                } else {
                    self.stats.unencodable += 1;
                }
                Some(out)
            }
            Err(_) => {
                self.stats.unencodable += 1;
                None
            }
        }
    }

    /// The partial datagram once its first entry has waited `flush_after`.
    pub fn poll(&mut self, now: Instant) -> Option<Vec<u8>> {
        let first = self.first_at?;
        (now.saturating_since(first) >= self.flush_after).then(|| self.take())
    }

    /// Whatever is pending, now (a stop).
    pub fn flush(&mut self) -> Option<Vec<u8>> {
        (!self.builder.is_empty()).then(|| self.take())
    }

    /// When [`Batcher::poll`] will next have something, if anything is pending.
    pub fn deadline(&self) -> Option<Instant> {
        self.first_at.map(|t| t + self.flush_after)
    }

    /// What it has done.
    pub fn stats(&self) -> BatchStats {
        self.stats
    }

    fn take(&mut self) -> Vec<u8> {
        self.stats.messages += 1;
        self.stats.conns += self.builder.conn_count() as u64;
        self.first_at = None;
        self.builder.take()
    }
}
