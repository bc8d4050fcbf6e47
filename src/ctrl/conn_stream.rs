//! The connection listing as a stream of bounded chunks (`rvsadm -L -c`, with `--exact`, `-o`
//! and the persistence templates: everything that grows with the connection tables).
//!
//! Owns [`ConnSource`], the interface a data plane offers for walking its workers' tables a
//! step at a time, and [`ConnStream`], which walks them worker after worker and hands out
//! chunks of at most [`MAX_CHUNK_ENTRIES`] entries. Each step asks one worker for the entries
//! of at most [`SLICE_SLOTS`] table slots and waits for them before asking again, so a worker
//! copies one bounded slice per request and forwards in between, and the stream holds at most
//! one chunk: memory is bounded whatever the table size, and a client that reads slowly only
//! slows the walk (the server writes a chunk before the stream fetches the next). Nothing here
//! holds the control plane's lock: the server takes the stream out of [`super::control::Control`]
//! and drives it from the client's thread. Must not touch: sockets, the table's rules.
//!
//! The listing is not a snapshot, as ipvsadm's is not: an entry that lives through the whole
//! walk is listed exactly once, one created or ended during it at most once.

use crate::ipvs::balancer::control::ConnSlice;
use crate::ipvs::conn::ConnInfo;
use crate::ipvs::spec::Protocol;
use crate::proto::chunks::MAX_CHUNK_ENTRIES;
use crate::proto::model::ConnEntry;

/// Table slots one step asks a worker to visit (half a chunk: a step never overfills one).
pub const SLICE_SLOTS: u32 = (MAX_CHUNK_ENTRIES / 2) as u32;

/// A data plane's workers, walkable a slice at a time from any thread.
pub trait ConnSource: Send {
    /// Number of workers.
    fn workers(&self) -> usize;
    /// Worker `worker`'s live entries among at most `slots` slots from slot `from`.
    fn slice(&self, worker: usize, from: u32, slots: u32) -> Result<ConnSlice, String>;
    /// How many of worker `worker`'s connections the listing shows with a local address.
    fn listed_with_local(&self, worker: usize) -> Result<u32, String>;
}

/// One connection listing in progress. See the module documentation.
pub struct ConnStream {
    source: Box<dyn ConnSource>,
    limit: usize,
    worker: usize,
    at: Option<u32>,
    taken: usize,
}

/// A listing row, if the protocol has a name in the listing.
pub fn conn_entry(c: &ConnInfo) -> Option<ConnEntry> {
    let proto = Protocol::from_ip_proto(c.proto)?;
    Some(ConnEntry {
        proto,
        state: c.state.to_string(),
        expire_s: c.expire_secs,
        client: c.client,
        virt: c.virt,
        dest: c.dest,
        local: c.local,
    })
}

impl ConnStream {
    /// A walk of every worker of `source`, at most `limit` entries of each.
    pub fn new(source: Box<dyn ConnSource>, limit: usize) -> ConnStream {
        ConnStream { source, limit, worker: 0, at: Some(0), taken: 0 }
    }

    /// Whether the listing's header has the `local` column, asked of every worker before the
    /// walk: whether any of them has a connection the listing shows with a local address.
    /// That is exact for tables that do not change during the walk; otherwise the header
    /// tells the tables as they were when the listing began, as each row tells its entry as
    /// it was when its slot was visited. `None` (not known) for a listing limited per worker,
    /// which may leave out the rows with a local address. A worker that does not answer is an
    /// error.
    pub fn local_column(&self) -> Result<Option<bool>, String> {
        if self.limit != usize::MAX {
            return Ok(None);
        }
        for w in 0..self.source.workers() {
            if self.source.listed_with_local(w)? > 0 {
                return Ok(Some(true));
            }
        }
        Ok(Some(false))
    }

    /// Whether every worker has been walked.
    pub fn done(&self) -> bool {
        self.worker >= self.source.workers()
    }

    /// The next chunk: between half of [`MAX_CHUNK_ENTRIES`] and all of it, or less when it
    /// ends the listing ([`ConnStream::done`] then says so). A worker that does not answer is
    /// an error, and the listing ends there.
    pub fn next_chunk(&mut self) -> Result<Vec<ConnEntry>, String> {
        let mut chunk = Vec::new();
        // A step adds at most SLICE_SLOTS entries: a chunk stops below MAX_CHUNK_ENTRIES.
        while !self.done() && chunk.len() < MAX_CHUNK_ENTRIES / 2 {
            let Some(from) = self.at.filter(|_| self.taken < self.limit) else {
                self.worker += 1;
                (self.at, self.taken) = (Some(0), 0);
                continue;
            };
            let slice = self.source.slice(self.worker, from, SLICE_SLOTS)?;
            let room = self.limit - self.taken;
            let rows = slice.conns.iter().take(room).filter_map(conn_entry);
            chunk.extend(rows);
            self.taken += slice.conns.len().min(room);
            self.at = slice.next;
        }
        Ok(chunk)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ipvs::conn::{ConnCounters, FwdMethod};
    use crate::wire::IpProtocol;
    use std::net::SocketAddr;

    /// Workers' tables as slot arrays (`None`: a free slot).
    pub(crate) struct FakeTables(pub Vec<Vec<Option<ConnInfo>>>);

    impl ConnSource for FakeTables {
        fn workers(&self) -> usize {
            self.0.len()
        }
        fn slice(&self, worker: usize, from: u32, slots: u32) -> Result<ConnSlice, String> {
            let t = self.0.get(worker).ok_or_else(|| format!("worker {worker} has stopped"))?;
            let end = (from as usize + slots as usize).min(t.len());
            let conns = t.get(from as usize..end).unwrap_or_default().iter().flatten().cloned();
            Ok(ConnSlice { conns: conns.collect(), next: (end < t.len()).then_some(end as u32) })
        }
        fn listed_with_local(&self, worker: usize) -> Result<u32, String> {
            let t = self.0.get(worker).ok_or_else(|| format!("worker {worker} has stopped"))?;
            Ok(t.iter().flatten().filter(|c| c.local.is_some()).count() as u32)
        }
    }

    pub(crate) fn info(worker: u8, n: u32) -> ConnInfo {
        let sa = |s: String| s.parse::<SocketAddr>().unwrap();
        ConnInfo {
            proto: IpProtocol::TCP,
            state: "ESTABLISHED",
            expire_secs: n % 900,
            client: sa(format!("10.{worker}.{}.{}:{}", n >> 16 & 255, n >> 8 & 255, n & 255)),
            virt: sa("192.0.2.1:80".into()),
            dest: sa("192.0.2.9:80".into()),
            local: None,
            fwd: FwdMethod::Masq,
            template: false,
            counters: ConnCounters::default(),
        }
    }

    /// `n` entries spread over `slots` slots (every `slots / n`-th slot used).
    pub(crate) fn table(worker: u8, n: u32, slots: u32) -> Vec<Option<ConnInfo>> {
        let mut t = vec![None; slots as usize];
        let stride = (slots / n.max(1)).max(1);
        for i in 0..n {
            t[(i * stride) as usize] = Some(info(worker, i));
        }
        t
    }

    fn drain(s: &mut ConnStream) -> Vec<Vec<ConnEntry>> {
        let mut chunks = Vec::new();
        while !s.done() {
            let c = s.next_chunk().unwrap();
            assert!(c.len() <= MAX_CHUNK_ENTRIES, "chunk of {}", c.len());
            chunks.push(c);
        }
        chunks
    }

    #[test]
    fn every_entry_of_every_worker_comes_once_in_bounded_chunks() {
        let tables = vec![table(0, 10_000, 40_000), table(1, 0, 4096), table(2, 3, 1 << 16)];
        let want: Vec<ConnEntry> =
            tables.iter().flatten().flatten().filter_map(conn_entry).collect();
        let mut s = ConnStream::new(Box::new(FakeTables(tables)), usize::MAX);
        let chunks = drain(&mut s);
        assert_eq!(chunks.concat(), want);
        // Only the last chunk may be small.
        let (last, full) = chunks.split_last().unwrap();
        assert!(full.iter().all(|c| c.len() >= MAX_CHUNK_ENTRIES / 2), "{:?}", chunks.len());
        assert!(last.len() <= MAX_CHUNK_ENTRIES);
    }

    #[test]
    fn the_limit_is_per_worker_and_an_empty_data_plane_is_one_empty_chunk() {
        let tables = vec![table(0, 5000, 6000), table(1, 7, 100)];
        let mut s = ConnStream::new(Box::new(FakeTables(tables)), 4100);
        let got = drain(&mut s).concat();
        assert_eq!(got.len(), 4107);
        assert_eq!(got[4100].client, info(1, 0).client);
        let mut s = ConnStream::new(Box::new(FakeTables(vec![table(0, 0, 10)])), usize::MAX);
        assert_eq!(drain(&mut s), vec![Vec::<ConnEntry>::new()]);
        let s = ConnStream::new(Box::new(FakeTables(Vec::new())), usize::MAX);
        assert!(s.done());
    }

    #[test]
    fn a_worker_that_fails_ends_the_listing_with_its_error() {
        struct Failing;
        impl ConnSource for Failing {
            fn workers(&self) -> usize {
                2
            }
            fn slice(&self, worker: usize, from: u32, _: u32) -> Result<ConnSlice, String> {
                match worker {
                    0 => Ok(ConnSlice { conns: vec![info(0, from)], next: None }),
                    _ => Err("worker 1 did not answer within 5000 ms".into()),
                }
            }
            fn listed_with_local(&self, worker: usize) -> Result<u32, String> {
                match worker {
                    0 => Ok(0),
                    _ => Err("worker 1 did not answer within 5000 ms".into()),
                }
            }
        }
        let mut s = ConnStream::new(Box::new(Failing), usize::MAX);
        assert_eq!(s.local_column(), Err("worker 1 did not answer within 5000 ms".into()));
        assert_eq!(s.next_chunk(), Err("worker 1 did not answer within 5000 ms".into()));
    }

    #[test]
    fn the_header_is_known_before_the_walk_from_every_workers_count() {
        let with_local = |mut t: Vec<Option<ConnInfo>>, at: usize| {
            let mut c = info(9, 9);
            c.local = Some("172.16.0.1:5000".parse().unwrap());
            c.fwd = FwdMethod::FullNat;
            t[at] = Some(c);
            t
        };
        // No worker has one; the last worker has one; a limited listing cannot tell.
        let none = || vec![table(0, 10, 100), table(1, 10, 100)];
        let s = ConnStream::new(Box::new(FakeTables(none())), usize::MAX);
        assert_eq!(s.local_column(), Ok(Some(false)));
        let last = vec![table(0, 10, 100), with_local(table(1, 10, 100), 99)];
        let s = ConnStream::new(Box::new(FakeTables(last)), usize::MAX);
        assert_eq!(s.local_column(), Ok(Some(true)));
        let s = ConnStream::new(Box::new(FakeTables(none())), 5);
        assert_eq!(s.local_column(), Ok(None));
        assert_eq!(
            ConnStream::new(Box::new(FakeTables(vec![])), usize::MAX).local_column(),
            Ok(Some(false))
        );
    }
}
