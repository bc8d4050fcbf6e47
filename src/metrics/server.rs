//! The `/metrics` HTTP endpoint: a small bounded HTTP/1.0 server on std sockets.
//!
//! Why hand-written: the exporter answers one GET from Prometheus every few seconds, and must
//! stay answerable while someone on the management network abuses it. tiny_http (used before)
//! spawns a thread per connection without a cap, has no read deadline and no header limit, and
//! its shutdown waits for a client that does not read; hyper would bring an async runtime into
//! rvsd for one endpoint. This file is the whole server, with every bound explicit in
//! [`Limits`]:
//!
//! - one accept thread, plus one thread per connection being served, at most
//!   [`Limits::max_connections`] of them (thread count is bounded by that plus one);
//! - when every slot is taken, the oldest connection is shut down to make room for the new one:
//!   idle or trickling clients cannot keep a scrape out, they only evict each other;
//! - a whole-request deadline ([`Limits::request_deadline`]) from accept to the end of the
//!   request head, a request head of at most [`Limits::max_request`] bytes (a larger one gets
//!   431 and is closed), requests parsed with httparse;
//! - a whole-response deadline ([`Limits::response_deadline`]): a client that does not read is
//!   cut off, never waited for;
//! - dropping the [`Exporter`] stops the accept thread and shuts down every open connection, so
//!   a stop never waits on a client.
//!
//! Must not touch: what is exported (the [`MetricsSource`]s decide that).

use super::{render, MetricsSource};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use thiserror::Error;

/// Why the exporter could not start.
#[derive(Debug, Error)]
pub enum MetricsError {
    /// The listen address could not be bound.
    #[error(
        "cannot listen for metrics on {addr}: {reason} (change [metrics] listen or free the port)"
    )]
    Bind { addr: SocketAddr, reason: String },
    /// The exporter thread could not be spawned.
    #[error("cannot start the metrics thread: {0}")]
    Thread(std::io::Error),
}

/// The exporter's bounds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections served at once (one thread each).
    pub max_connections: usize,
    /// Bytes of request head (request line and headers) accepted.
    pub max_request: usize,
    /// Time from accept to a complete request head.
    pub request_deadline: Duration,
    /// Time to write the whole response.
    pub response_deadline: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 8,
            max_request: 8 * 1024,
            request_deadline: Duration::from_secs(5),
            response_deadline: Duration::from_secs(10),
        }
    }
}

/// How long the accept thread sleeps when nobody is connecting (the listener is non-blocking
/// so that a stop is seen without a connection).
const ACCEPT_IDLE: Duration = Duration::from_millis(20);
/// How long a new connection waits for an evicted one's thread to end.
const EVICT_WAIT: Duration = Duration::from_secs(1);

/// Connections being served: a clone of each stream (to shut it down from outside) and when it
/// was accepted.
#[derive(Default)]
struct Slots {
    open: Vec<(u64, Instant, TcpStream)>,
    next_id: u64,
}

struct Shared {
    slots: Mutex<Slots>,
    freed: Condvar,
    limits: Limits,
    stop: AtomicBool,
    evicted: AtomicU64,
    refused: AtomicU64,
}

impl Shared {
    fn slots(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running exporter; stops when dropped.
pub struct Exporter {
    addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Exporter {
    /// Binds `addr` and serves `/metrics` from `source` with the default [`Limits`] until
    /// dropped.
    pub fn start(
        addr: SocketAddr,
        source: Arc<dyn MetricsSource>,
    ) -> Result<Exporter, MetricsError> {
        Exporter::start_with(addr, source, Limits::default())
    }

    /// Binds `addr` and serves `/metrics` from `source` within `limits` until dropped.
    pub fn start_with(
        addr: SocketAddr,
        source: Arc<dyn MetricsSource>,
        limits: Limits,
    ) -> Result<Exporter, MetricsError> {
        let bind = |e: io::Error| MetricsError::Bind { addr, reason: e.to_string() };
        let listener = TcpListener::bind(addr).map_err(bind)?;
        listener.set_nonblocking(true).map_err(bind)?;
        let addr = listener.local_addr().unwrap_or(addr);
        let limits = Limits { max_connections: limits.max_connections.max(1), ..limits };
        let shared = Arc::new(Shared {
            slots: Mutex::new(Slots::default()),
            freed: Condvar::new(),
            limits,
            stop: AtomicBool::new(false),
            evicted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("rvs-metrics".into())
            .spawn(move || accept_loop(&listener, &source, &s))
            .map_err(MetricsError::Thread)?;
        Ok(Exporter { addr, shared, thread: Some(thread) })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections being served now.
    pub fn open_connections(&self) -> usize {
        self.shared.slots().open.len()
    }

    /// Connections shut down to make room for a newer one, since the start.
    pub fn evicted(&self) -> u64 {
        self.shared.evicted.load(Ordering::Relaxed)
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        // Every open connection: its thread's next read or write fails and it ends. Nobody
        // waits for them.
        for (_, _, s) in &self.shared.slots().open {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

fn accept_loop(listener: &TcpListener, source: &Arc<dyn MetricsSource>, shared: &Arc<Shared>) {
    while !shared.stop.load(Ordering::Relaxed) {
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(ACCEPT_IDLE);
                continue;
            }
            Err(e) => {
                tracing::debug!("metrics: accept failed: {e}");
                std::thread::sleep(ACCEPT_IDLE);
                continue;
            }
        };
        let Some(id) = take_slot(shared, &stream) else {
            shared.refused.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let (src, sh) = (source.clone(), shared.clone());
        let spawned = std::thread::Builder::new().name("rvs-metrics-c".into()).spawn(move || {
            serve(stream, src.as_ref(), sh.limits);
            let mut slots = sh.slots();
            slots.open.retain(|(i, _, _)| *i != id);
            sh.freed.notify_all();
        });
        if let Err(e) = spawned {
            tracing::warn!("metrics: cannot start a connection thread: {e}");
            shared.slots().open.retain(|(i, _, _)| *i != id);
        }
    }
}

/// Registers `stream` in a free slot, evicting the oldest connection when all are taken.
/// `None` when no slot came free (the stream is then dropped, which closes it).
fn take_slot(shared: &Shared, stream: &TcpStream) -> Option<u64> {
    let clone = stream.try_clone().ok()?;
    let mut slots = shared.slots();
    if slots.open.len() >= shared.limits.max_connections {
        if let Some((_, _, oldest)) = slots.open.iter().min_by_key(|(_, t, _)| *t) {
            let _ = oldest.shutdown(Shutdown::Both);
            shared.evicted.fetch_add(1, Ordering::Relaxed);
        }
        let deadline = Instant::now() + EVICT_WAIT;
        while slots.open.len() >= shared.limits.max_connections {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            slots =
                shared.freed.wait_timeout(slots, left).unwrap_or_else(PoisonError::into_inner).0;
        }
    }
    let id = slots.next_id;
    slots.next_id += 1;
    slots.open.push((id, Instant::now(), clone));
    Some(id)
}

/// What a request asks for.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Metrics,
    Index,
    NotFound,
    BadMethod,
}

/// Why no request could be read.
#[derive(Debug, PartialEq, Eq)]
enum ReadError {
    TooLarge,
    Malformed,
    /// Deadline, reset, or closed before a whole head arrived: nothing to answer.
    Gone,
}

fn serve(mut stream: TcpStream, source: &dyn MetricsSource, limits: Limits) {
    let _ = stream.set_nodelay(true);
    let route = read_request(&mut stream, &limits);
    let deadline = Instant::now() + limits.response_deadline;
    let (status, body) = match route {
        Ok(Route::Metrics) => ("200 OK", render(&source.families())),
        Ok(Route::Index) => ("200 OK", "rvs metrics exporter: scrape /metrics\n".to_string()),
        Ok(Route::NotFound) => ("404 Not Found", "not found\n".to_string()),
        Ok(Route::BadMethod) => ("405 Method Not Allowed", "only GET\n".to_string()),
        Err(ReadError::TooLarge) => {
            ("431 Request Header Fields Too Large", "request head too large\n".to_string())
        }
        Err(ReadError::Malformed) => ("400 Bad Request", "malformed request\n".to_string()),
        Err(ReadError::Gone) => return,
    };
    let head = format!(
        "HTTP/1.0 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if write_all_by(&mut stream, head.as_bytes(), deadline)
        .and_then(|()| write_all_by(&mut stream, body.as_bytes(), deadline))
        .is_err()
    {
        tracing::debug!("metrics: a client did not take its response in time");
    }
    let _ = stream.shutdown(Shutdown::Both);
}

/// Reads one request head within the limits and routes it.
fn read_request(stream: &mut TcpStream, limits: &Limits) -> Result<Route, ReadError> {
    let deadline = Instant::now() + limits.request_deadline;
    let mut buf = vec![0u8; limits.max_request];
    let mut len = 0;
    loop {
        if let Some(route) = parse_head(&buf[..len])? {
            return Ok(route);
        }
        if len == buf.len() {
            return Err(ReadError::TooLarge);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return Err(ReadError::Gone);
        }
        match stream.read(&mut buf[len..]) {
            Ok(0) | Err(_) => return Err(ReadError::Gone),
            Ok(n) => len += n,
        }
    }
}

/// `Some(route)` once `head` holds a whole request head, `None` while it is incomplete.
fn parse_head(head: &[u8]) -> Result<Option<Route>, ReadError> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(head) {
        Ok(httparse::Status::Partial) => Ok(None),
        Ok(httparse::Status::Complete(_)) => {
            let path = req.path.unwrap_or("").split('?').next().unwrap_or("");
            Ok(Some(match (req.method, path) {
                (Some("GET"), "/metrics") => Route::Metrics,
                (Some("GET"), "/") => Route::Index,
                (Some("GET"), _) => Route::NotFound,
                _ => Route::BadMethod,
            }))
        }
        Err(httparse::Error::TooManyHeaders) => Err(ReadError::TooLarge),
        Err(_) => Err(ReadError::Malformed),
    }
}

/// Writes `data` before `deadline`; a client that does not read is cut off there.
fn write_all_by(stream: &mut TcpStream, mut data: &[u8], deadline: Instant) -> io::Result<()> {
    while !data.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        stream.set_write_timeout(Some(left))?;
        match stream.write(data) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
