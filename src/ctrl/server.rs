//! rvsd's Unix control socket: accepting rvsadm clients and answering their requests.
//!
//! Owns the socket file (parent directory created, a stale socket removed, mode 0600, or 0660
//! and the configured group), the accept thread, one thread per client up to a bound (a client
//! beyond it gets a `Busy` error and is closed), a deadline for each whole request (from the
//! moment the server waits for it to its last byte: a client trickling a byte now and then is
//! cut off as surely as a silent one) and for each whole response (a client that reads slowly
//! is dropped), and the framing errors' answers (an error reply, then close). The connection
//! listing is written a chunk at a time (`conn_stream`), each chunk within the response deadline,
//! without the control plane's lock.
//!
//! No window between bind and chmod: the socket is bound inside a fresh private directory
//! (mode 0700, next to the final path), given its mode and group there, and only then renamed
//! onto the final path, so nobody can connect before its permissions are in force. A umask
//! would do the same for the bind, but it is process-wide: changed while other threads of rvsd
//! create files (DPDK's runtime files, the health checks' scripts), it would change theirs too.
//! A second thread samples the totals for the `--rate` estimator every 2 s. Requests run one
//! at a time against the shared [`Control`] (the control plane may lock; the
//! data plane never sees this lock). Must not touch: the table's rules (`control`), the data
//! plane (reached only through [`Dataplane`]).

use super::conn_stream::ConnStream;
use super::control::{Control, Dataplane};
use super::estimator::Cadence;
use crate::proto::{
    self, ErrorCode, FrameError, ListRequest, Reply, Request, Response, MAX_REQUEST,
};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use thiserror::Error;
use tracing::{debug, warn};

/// Clients served at once by default.
pub const DEFAULT_MAX_CLIENTS: usize = 16;
/// Default request deadline: a client that has not sent a whole request this long after the
/// server started waiting for it (silent or trickling) is dropped.
pub const DEFAULT_IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Default response deadline: a client that has not read its whole response in this time is
/// dropped (the largest listings are read in well under it by rvsadm).
pub const DEFAULT_RESPONSE_DEADLINE: Duration = Duration::from_secs(60);

/// Where and how to serve.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Socket path.
    pub path: PathBuf,
    /// Group allowed to use the socket (mode 0660); `None` = owner only (0600).
    pub group: Option<String>,
    /// Clients served at once.
    pub max_clients: usize,
    /// Deadline of a whole request (see [`DEFAULT_IO_TIMEOUT`]).
    pub io_timeout: Duration,
    /// Deadline of a whole response (see [`DEFAULT_RESPONSE_DEADLINE`]).
    pub response_deadline: Duration,
}

impl ServerConfig {
    /// Defaults for `path`.
    pub fn new(path: impl Into<PathBuf>) -> ServerConfig {
        ServerConfig {
            path: path.into(),
            group: None,
            max_clients: DEFAULT_MAX_CLIENTS,
            io_timeout: DEFAULT_IO_TIMEOUT,
            response_deadline: DEFAULT_RESPONSE_DEADLINE,
        }
    }
}

/// Why the server could not start.
#[derive(Debug, Error)]
pub enum ServerError {
    /// Socket directory, bind or permissions.
    #[error("control socket {path}: {what}: {source}")]
    Io {
        /// Socket path.
        path: PathBuf,
        /// The step that failed.
        what: &'static str,
        /// Cause.
        source: io::Error,
    },
    /// Another process answers on the path.
    #[error("control socket {0} is in use by a running process (another rvsd?); stop it or set [ctrl] socket to another path")]
    InUse(PathBuf),
    /// Something else than a socket is at the path; rvsd never removes it.
    #[error("{0} exists and is not a socket; remove it or set [ctrl] socket to another path")]
    NotASocket(PathBuf),
    /// `[ctrl] group` does not exist.
    #[error("[ctrl] group {0:?} does not exist on this system; create it (groupadd) or remove the setting")]
    NoSuchGroup(String),
}

fn io_err<'a>(path: &'a Path, what: &'static str) -> impl FnOnce(io::Error) -> ServerError + 'a {
    move |source| ServerError::Io { path: path.to_path_buf(), what, source }
}

/// Resolves a group name to its id from `/etc/group` (`name:password:gid:members`). Read here
/// rather than through libc's `getgrnam`, which would need `unsafe` outside `src/dpdk/`; groups
/// known only through other NSS sources (LDAP, ...) are therefore not found.
fn group_id(name: &str) -> Result<u32, ServerError> {
    let text = std::fs::read_to_string("/etc/group").unwrap_or_default();
    group_id_in(&text, name).ok_or_else(|| ServerError::NoSuchGroup(name.to_string()))
}

fn group_id_in(group_file: &str, name: &str) -> Option<u32> {
    group_file.lines().find_map(|line| {
        let mut f = line.split(':');
        (f.next()? == name).then_some(())?;
        f.next()?;
        f.next()?.trim().parse().ok()
    })
}

/// A running control server; stops on [`Server::stop`] or drop.
pub struct Server {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    active: Arc<AtomicUsize>,
    accept: Option<JoinHandle<()>>,
    rates: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds `cfg.path` and serves `control` from a new thread.
    pub fn start<D: Dataplane>(
        cfg: ServerConfig,
        control: Control<D>,
    ) -> Result<Server, ServerError> {
        Server::start_shared(cfg, Arc::new(Mutex::new(control)))
    }

    /// Binds `cfg.path` and serves `control`, which others (the metrics exporter, the rate
    /// estimator, a reload on SIGHUP, the health checks) share under the same lock, one request
    /// at a time with rvsadm's.
    pub fn start_shared<D: Dataplane>(
        cfg: ServerConfig,
        shared: Arc<Mutex<Control<D>>>,
    ) -> Result<Server, ServerError> {
        let path = cfg.path.clone();
        let gid = cfg.group.as_deref().map(group_id).transpose()?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_err(&path, "creating its directory"))?;
        }
        if let Ok(meta) = std::fs::symlink_metadata(&path) {
            if !std::os::unix::fs::FileTypeExt::is_socket(&meta.file_type()) {
                return Err(ServerError::NotASocket(path));
            }
            if UnixStream::connect(&path).is_ok() {
                return Err(ServerError::InUse(path));
            }
            std::fs::remove_file(&path).map_err(io_err(&path, "removing the stale socket"))?;
        }
        let listener = bind_private(&path, gid)?;
        listener.set_nonblocking(true).map_err(io_err(&path, "setting non-blocking accept"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let active = Arc::new(AtomicUsize::new(0));
        let (s, a) = (stop.clone(), active.clone());
        let (s2, c2) = (stop.clone(), shared.clone());
        let accept = std::thread::Builder::new()
            .name("rvs-ctrl".into())
            .spawn(move || accept_loop(&listener, &cfg, &shared, &s, &a))
            .map_err(io_err(&path, "starting its thread"))?;
        let mut server = Server { path, stop, active, accept: Some(accept), rates: None };
        let rates = std::thread::Builder::new()
            .name("rvs-rates".into())
            .spawn(move || rate_loop(&c2, &s2))
            .map_err(io_err(&server.path, "starting the rate estimator's thread"))?;
        server.rates = Some(rates);
        Ok(server)
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Clients being served now.
    pub fn active_clients(&self) -> usize {
        self.active.load(Ordering::Relaxed)
    }

    /// Stops accepting, waits a little for requests in flight, removes the socket file.
    pub fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.rates.take() {
            let _ = t.join();
        }
        if let Some(t) = self.accept.take() {
            let _ = t.join();
            let deadline = Instant::now() + Duration::from_secs(2);
            while self.active.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// Binds `path` with its final mode (and group `gid`) in force before anyone can reach it:
/// bound in a fresh 0700 directory beside it, chmod'ed there, then renamed into place.
fn bind_private(path: &Path, gid: Option<u32>) -> Result<UnixListener, ServerError> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let private = dir.join(format!(".{name}.{}.bind", std::process::id()));
    let _ = std::fs::remove_dir_all(&private);
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&private)
        .map_err(io_err(path, "creating a private directory to bind in"))?;
    let staged = private.join("sock");
    let bound = (|| {
        let listener = UnixListener::bind(&staged).map_err(io_err(path, "binding"))?;
        let mode = if gid.is_some() { 0o660 } else { 0o600 };
        std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(mode))
            .map_err(io_err(path, "setting its mode"))?;
        if let Some(gid) = gid {
            std::os::unix::fs::chown(&staged, None, Some(gid))
                .map_err(io_err(path, "giving it to [ctrl] group"))?;
        }
        std::fs::rename(&staged, path).map_err(io_err(path, "moving it into place"))?;
        Ok(listener)
    })();
    let _ = std::fs::remove_dir_all(&private);
    bound
}

/// A stream's reads or writes, all of them ended by one deadline.
struct Deadline<'a> {
    stream: &'a UnixStream,
    until: Instant,
}

impl Deadline<'_> {
    fn left(&self) -> io::Result<Duration> {
        let left = self.until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "deadline passed"));
        }
        Ok(left)
    }
}

impl io::Read for Deadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.set_read_timeout(Some(self.left()?))?;
        io::Read::read(&mut self.stream, buf)
    }
}

impl io::Write for Deadline<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.set_write_timeout(Some(self.left()?))?;
        io::Write::write(&mut self.stream, buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        io::Write::flush(&mut self.stream)
    }
}

fn accept_loop<D: Dataplane>(
    listener: &UnixListener,
    cfg: &ServerConfig,
    control: &Arc<Mutex<Control<D>>>,
    stop: &Arc<AtomicBool>,
    active: &Arc<AtomicUsize>,
) {
    while !stop.load(Ordering::Relaxed) {
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            Err(e) => {
                warn!("control socket: accept failed: {e}");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(cfg.io_timeout));
        let _ = stream.set_write_timeout(Some(cfg.io_timeout));
        if active.fetch_add(1, Ordering::AcqRel) >= cfg.max_clients {
            active.fetch_sub(1, Ordering::AcqRel);
            let mut s = stream;
            let _ = s.set_write_timeout(Some(Duration::from_millis(200)));
            let busy = Response::error(ErrorCode::Busy, "too many rvsadm clients; try again");
            let _ = proto::write_frame(&mut s, &proto::encode_response(&busy));
            continue;
        }
        let (c, s, a) = (control.clone(), stop.clone(), active.clone());
        let deadlines = (cfg.io_timeout, cfg.response_deadline);
        let spawned = std::thread::Builder::new().name("rvs-ctrl-client".into()).spawn(move || {
            serve_client(stream, &c, &s, deadlines);
            a.fetch_sub(1, Ordering::AcqRel);
        });
        if let Err(e) = spawned {
            active.fetch_sub(1, Ordering::AcqRel);
            warn!("control socket: cannot start a client thread: {e}");
        }
    }
}

/// Samples the totals for `--rate` every 2 s ([`Cadence`]) until the server stops.
fn rate_loop<D: Dataplane>(control: &Mutex<Control<D>>, stop: &AtomicBool) {
    let mut cadence = Cadence::new(crate::time::now());
    while !stop.load(Ordering::Relaxed) {
        let now = crate::time::now();
        if cadence.due(now) {
            if let Ok(mut c) = control.lock() {
                if let Err(e) = c.sample_rates() {
                    debug!("rate estimator: no sample this time: {e}");
                }
            }
            continue;
        }
        std::thread::sleep(cadence.wait(now).min(Duration::from_millis(100)));
    }
}

/// Serves requests on one connection until it closes, misbehaves, misses a deadline
/// (`(request, response)`) or the server stops.
fn serve_client<D: Dataplane>(
    stream: UnixStream,
    control: &Mutex<Control<D>>,
    stop: &AtomicBool,
    (request_deadline, response_deadline): (Duration, Duration),
) {
    while !stop.load(Ordering::Relaxed) {
        let mut input = Deadline { stream: &stream, until: Instant::now() + request_deadline };
        let req = proto::read_frame(&mut input, MAX_REQUEST)
            .and_then(|body| proto::decode_request(&body));
        let req = match req {
            Ok(r) => r,
            Err(FrameError::Closed) => return,
            Err(e) => {
                debug!("control socket: dropping a client: {e}");
                if !matches!(e, FrameError::Truncated(_)) {
                    let until = Instant::now() + response_deadline;
                    let mut output = Deadline { stream: &stream, until };
                    let resp = Response::error(e.code(), e.to_string());
                    let _ = proto::write_frame(&mut output, &proto::encode_response(&resp));
                }
                return;
            }
        };
        if let Request::List(ListRequest::Conns { limit }) = req {
            // The lock only to take the stream out; the listing runs without it.
            if let Ok(listing) = control.lock().map(|c| c.conn_stream(limit)) {
                if stream_conns(&stream, listing, stop, response_deadline) {
                    continue;
                }
                return;
            }
        }
        let resp = match control.lock() {
            Ok(mut c) => c.handle(req),
            Err(_) => Response::error(ErrorCode::Dataplane, "control plane failed earlier"),
        };
        let mut output = Deadline { stream: &stream, until: Instant::now() + response_deadline };
        if proto::write_frame(&mut output, &proto::encode_response(&resp)).is_err() {
            return;
        }
    }
}

/// Writes `listing` to the client a chunk at a time, each chunk fetched only once the one
/// before is written (the stream holds one chunk; a slow reader slows the walk, never a worker)
/// and each written within `deadline` (a client that stops reading is dropped). A worker that
/// fails ends the listing with an error frame. Returns whether the client may go on.
fn stream_conns(
    stream: &UnixStream,
    mut listing: ConnStream,
    stop: &AtomicBool,
    deadline: Duration,
) -> bool {
    // Told in the first chunk only: the client prints rows as they come once it knows.
    let mut column = listing.local_column();
    loop {
        let chunk = match &mut column {
            Ok(c) => listing.next_chunk().map(|conns| (conns, c.take())),
            Err(e) => Err(e.clone()),
        };
        let resp = match chunk {
            Ok((conns, local_column)) => {
                Response::Ok(Reply::ConnChunk { conns, last: listing.done(), local_column })
            }
            Err(e) => Response::error(ErrorCode::Dataplane, e),
        };
        let end = !matches!(resp, Response::Ok(Reply::ConnChunk { last: false, .. }));
        let mut output = Deadline { stream, until: Instant::now() + deadline };
        if proto::write_frame(&mut output, &proto::encode_response(&resp)).is_err() {
            debug!("control socket: dropping a client that does not read its listing");
            return false;
        }
        if end {
            return true;
        }
        if stop.load(Ordering::Relaxed) {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn group_ids_come_from_the_group_file() {
        let file = "root:x:0:\nrvs:x:1234:alice,bob\n# comment\nbroken\nodd:x:notanumber:\n";
        assert_eq!(group_id_in(file, "rvs"), Some(1234));
        assert_eq!(group_id_in(file, "root"), Some(0));
        assert_eq!(group_id_in(file, "odd"), None);
        assert_eq!(group_id_in(file, "nobody-here"), None);
        assert_eq!(group_id_in(file, "broken"), None);
    }
    use super::*;
    use crate::ctrl::abuse;
    use crate::ctrl::control::tests::FakeDp;
    use crate::ctrl::table::ServiceTable;
    use crate::ipvs::service::BuildOptions;

    fn temp_path(tag: &str) -> PathBuf {
        std::env::temp_dir().join(format!("rvs-ctrl-{tag}-{}/rvs.sock", std::process::id()))
    }

    #[test]
    fn survives_abuse_and_keeps_serving() {
        let path = temp_path("abuse");
        let control = Control::new(
            ServiceTable::new(),
            Vec::new(),
            BuildOptions::default(),
            FakeDp::default(),
        );
        let mut cfg = ServerConfig::new(&path);
        cfg.io_timeout = Duration::from_millis(500);
        cfg.max_clients = 4;
        let server = Server::start(cfg, control).expect("server starts");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        abuse::run(&path, 4, Duration::from_millis(500)).expect("abuse survived");
        // A second server on a live socket is refused; a stale one is replaced.
        let again = Server::start(
            ServerConfig::new(&path),
            Control::new(
                ServiceTable::new(),
                Vec::new(),
                BuildOptions::default(),
                FakeDp::default(),
            ),
        );
        assert!(matches!(again, Err(ServerError::InUse(_))));
        let file = path.with_file_name("not-a-socket");
        std::fs::write(&file, b"keep me").unwrap();
        let on_file = Server::start(
            ServerConfig::new(&file),
            Control::new(
                ServiceTable::new(),
                Vec::new(),
                BuildOptions::default(),
                FakeDp::default(),
            ),
        );
        assert!(matches!(on_file, Err(ServerError::NotASocket(_))));
        assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
        server.stop();
        assert!(!path.exists(), "socket removed at stop");
        // A stale socket (its server died without removing it) is replaced.
        drop(UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let fresh = Server::start(
            ServerConfig::new(&path),
            Control::new(
                ServiceTable::new(),
                Vec::new(),
                BuildOptions::default(),
                FakeDp::default(),
            ),
        )
        .expect("stale socket replaced");
        abuse::still_serving(&path, "restart").unwrap();
        fresh.stop();
    }

    #[test]
    fn a_trickling_client_is_cut_off_at_the_request_deadline() {
        use std::io::{Read, Write};
        let path = temp_path("trickle");
        let control = Control::new(
            ServiceTable::new(),
            Vec::new(),
            BuildOptions::default(),
            FakeDp::default(),
        );
        let mut cfg = ServerConfig::new(&path);
        cfg.io_timeout = Duration::from_millis(800);
        let server = Server::start(cfg, control).expect("server starts");
        // No window: the socket is in place with its mode, and the private directory it was
        // bound in is gone.
        let dir = path.parent().unwrap();
        let leftovers: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".bind"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        // A frame announcing 1000 bytes, then one byte every 100 ms: every single read is far
        // within the deadline, the whole request never is.
        let mut s = UnixStream::connect(&path).unwrap();
        s.write_all(&1000u32.to_be_bytes()).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let mut cut = false;
        for _ in 0..300 {
            if s.write_all(b"x").is_err() {
                cut = true;
                break;
            }
            let mut b = [0u8; 16];
            match s.read(&mut b) {
                Ok(0) => {
                    cut = true;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    cut = true;
                    break;
                }
                _ => {}
            }
        }
        assert!(cut, "a client trickling a byte every 100 ms was never cut off");
        abuse::still_serving(&path, "trickle").unwrap();
        server.stop();
    }

    #[test]
    fn a_group_gets_mode_0660_and_the_socket() {
        use std::os::unix::fs::MetadataExt;
        // The name of this process's own group, which it may always give a file to.
        let probe = temp_path("probe");
        std::fs::create_dir_all(probe.parent().unwrap()).unwrap();
        std::fs::write(&probe, b"").unwrap();
        let gid = std::fs::metadata(&probe).unwrap().gid();
        let _ = std::fs::remove_dir_all(probe.parent().unwrap());
        let groups = std::fs::read_to_string("/etc/group").unwrap_or_default();
        let Some(name) = groups.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.get(2) == Some(&gid.to_string().as_str())).then(|| f[0].to_string())
        }) else {
            return; // the group is not in /etc/group (NSS only): nothing to check here
        };
        let path = temp_path("group-ok");
        let mut cfg = ServerConfig::new(&path);
        cfg.group = Some(name);
        let control = Control::new(
            ServiceTable::new(),
            Vec::new(),
            BuildOptions::default(),
            FakeDp::default(),
        );
        let server = Server::start(cfg, control).expect("server starts");
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!((meta.permissions().mode() & 0o777, meta.gid()), (0o660, gid));
        server.stop();
    }

    #[test]
    fn missing_group_is_a_clear_error() {
        let mut cfg = ServerConfig::new(temp_path("group"));
        cfg.group = Some("rvs-no-such-group-x".into());
        let control = Control::new(
            ServiceTable::new(),
            Vec::new(),
            BuildOptions::default(),
            FakeDp::default(),
        );
        let e = Server::start(cfg, control).err().expect("refused");
        assert!(e.to_string().contains("\"rvs-no-such-group-x\" does not exist"), "{e}");
    }
}

#[cfg(test)]
#[path = "server_stream_tests.rs"]
mod stream_tests;
