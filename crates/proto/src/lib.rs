//! rvs-proto: the control protocol, spoken by rvsd's control plane and by rvsadm and rvsnet.
//!
//! Everything that crosses the Unix control socket is defined here and nowhere else, so the
//! command-line tools need nothing of the daemon: [`change`] (the typed table changes),
//! [`model`] (the listing and reply data: services, dests, counters, local addresses,
//! connections, match services), [`health`] (the `-L --health` rows), [`net`] (rvsnet's
//! requests and listings) and [`client`] (the client end). Depends on the load balancer's
//! vocabulary only; must not depend on the control plane, config, health, metrics or the tools.
//!
//! This file owns the framing (a 4-byte big-endian body length, then a JSON body), the envelope
//! (`{"version": 1, "request": ...}` / `{"version": 1, "response": ...}`), the [`Request`] and
//! [`Response`] types, the stable [`ErrorCode`]s and the frame size limits. Must not touch: the
//! table, the data plane, output formatting (rvsadm formats listing data locally with
//! `rvsadm::format`, so the output stays byte-exact whatever the daemon's version).
//!
//! Reading never trusts the peer: a length above the limit is refused before any body byte is
//! read, a short body is an error, and the body must be one JSON object of the known version.

pub mod announce;
pub mod change;
pub mod chunks;
pub mod client;
pub mod health;
pub mod model;
pub mod net;
pub mod sync;

use crate::change::Change;
use crate::model::{ConnEntry, MatchService, ServiceInfo, ServiceLocalAddrs};
use crate::net::{NetReply, NetRequest};
use rvs_core::ipvs::spec::{ServiceKey, Timeouts};
use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};
use thiserror::Error;

/// The protocol version this build speaks.
pub const VERSION: u32 = 1;
/// Largest request body the server reads (4 MiB: a restore of tens of thousands of lines).
pub const MAX_REQUEST: usize = 4 << 20;
/// Largest response body the client reads (listings of large connection tables).
pub const MAX_RESPONSE: usize = 256 << 20;

/// What to list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ListRequest {
    /// Every service with its dests, counters and connection counts.
    Services,
    /// One service.
    Service(ServiceKey),
    /// Connection entries, at most `limit` per worker. Answered by a sequence of
    /// [`Reply::ConnChunk`] frames ([`chunks`]), or by an error.
    Conns {
        /// Most entries per worker.
        limit: usize,
    },
    /// The `--set` timeouts.
    Timeouts,
    /// Local addresses of one service or of all.
    LocalAddrs(Option<ServiceKey>),
    /// Health-check state of every checked dest (`rvsadm -L --health`).
    Health,
    /// Match services (`-H`, SNAT).
    Matches,
}

/// One operation on the daemon.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// A change: `-A -E -D -a -e -d -C -Z --set -P -Q`.
    Apply(Change),
    /// A listing.
    List(ListRequest),
    /// The table as `-S` prints it (services and dests, no counters needed).
    Save,
    /// `-R`: every command applied, or none.
    Restore(Vec<Change>),
    /// Daemon state.
    Status,
    /// Read the config file again and apply its services, dests, local addresses, timeouts
    /// and SNAT rules as live changes (what SIGHUP does); all or nothing.
    Reload,
    /// rvsnet: the director's plumbing (addresses, routes, neighbours, links, steering).
    Net(NetRequest),
    /// End now every connection of a service, dest or SNAT rule that is no longer in the
    /// table (`rvsadm --flush-removed`); they otherwise run until they expire.
    FlushRemoved,
    /// Scale-out: the VIPs rvsd announces to its routing daemon (`rvsadm --announced`,
    /// `--drain`, `--resume`; docs/scale-out.md).
    Announce(crate::announce::AnnounceRequest),
    /// Connection sync: `--start-daemon`, `--stop-daemon`, `-L --daemon`
    /// (docs/scale-out.md).
    Sync(crate::sync::SyncRequest),
}

/// Daemon state for [`Request::Status`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// Generation of the configuration every worker runs.
    pub generation: u64,
    /// Worker cores.
    pub workers: usize,
    /// Services in the table.
    pub services: usize,
    /// Connection hash size shown in the `-L` banner.
    pub conn_table_size: u32,
}

/// Data of a successful request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// The change is in force on every worker.
    Done,
    /// Services (for `-L`, and for `-S` without counters); `size` is the banner's size.
    Services {
        /// Connection hash size for the banner.
        size: u32,
        /// The services.
        services: Vec<ServiceInfo>,
    },
    /// One service.
    Service(ServiceInfo),
    /// One chunk of a connection listing ([`chunks`]): at most
    /// [`chunks::MAX_CHUNK_ENTRIES`] entries; `last` marks the final one.
    ConnChunk {
        /// Entries, in the order the listing prints them.
        conns: Vec<ConnEntry>,
        /// Whether this chunk ends the listing.
        last: bool,
        /// In the first chunk: whether the listing's header has the `local` column, i.e.
        /// whether some connection the listing shows had a local address (FULLNAT, SNAT) when
        /// the listing began, so the client can print rows as they arrive. Absent when not
        /// known (a listing limited per worker) and in every later chunk; the client then
        /// learns it from the rows.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        local_column: Option<bool>,
    },
    /// Timeouts.
    Timeouts(Timeouts),
    /// Local addresses.
    LocalAddrs(Vec<ServiceLocalAddrs>),
    /// Daemon state.
    Status(Status),
    /// The config was reloaded: `changes` live changes were applied (0: it matched already).
    Reloaded {
        /// Commands applied (`-A -E -D -a -e -d -P -Q --set`), plus one if the SNAT rules
        /// changed.
        changes: usize,
    },
    /// Health-check state (empty when nothing is checked).
    Health(Vec<crate::health::DestHealth>),
    /// rvsnet's data.
    Net(NetReply),
    /// Match services (`-H`, SNAT).
    Matches(Vec<MatchService>),
    /// Connections (and templates) ended by [`Request::FlushRemoved`], over every worker.
    Flushed {
        /// Entries ended.
        conns: u64,
    },
    /// Scale-out: what rvsd announces, after a [`Request::Announce`].
    Announce(crate::announce::AnnounceStatus),
    /// Connection sync: the running daemons, master first (after any [`Request::Sync`]).
    SyncDaemons(Vec<crate::sync::SyncDaemonInfo>),
}

/// Stable error classes; scripts may match on them, the message is for people.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorCode {
    /// The frame could not be read (bad length, truncated body).
    BadFrame,
    /// The frame is larger than the limit.
    TooLarge,
    /// The body names a protocol version this daemon does not speak.
    BadVersion,
    /// The body is not a valid request.
    BadRequest,
    /// The table refused the change (ipvsadm's words in the message); nothing changed.
    Refused,
    /// A listing asked for something that does not exist (`No such service`).
    NotFound,
    /// The workers did not take the change or answer in time.
    Dataplane,
    /// Too many clients are connected; try again.
    Busy,
    /// A reload was refused: the config does not validate, or changes a setting only a restart
    /// applies (the message names it); nothing changed.
    BadConfig,
}

/// The answer to one request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// Success with its data.
    Ok(Reply),
    /// Failure; nothing changed.
    Error {
        /// Class.
        code: ErrorCode,
        /// ipvsadm's words where ipvsadm has some.
        message: String,
    },
}

impl Reply {
    /// The reply's name, for messages about a reply that came where it should not.
    pub fn kind(&self) -> &'static str {
        match self {
            Reply::Done => "Done",
            Reply::Services { .. } => "Services",
            Reply::Service(_) => "Service",
            Reply::ConnChunk { .. } => "ConnChunk",
            Reply::Timeouts(_) => "Timeouts",
            Reply::LocalAddrs(_) => "LocalAddrs",
            Reply::Status(_) => "Status",
            Reply::Reloaded { .. } => "Reloaded",
            Reply::Health(_) => "Health",
            Reply::Net(_) => "Net",
            Reply::Matches(_) => "Matches",
            Reply::Flushed { .. } => "Flushed",
            Reply::Announce(_) => "Announce",
            Reply::SyncDaemons(_) => "SyncDaemons",
        }
    }
}

impl Response {
    /// An error response.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Response {
        Response::Error { code, message: message.into() }
    }
}

#[derive(Serialize, Deserialize)]
struct RequestEnvelope {
    version: u32,
    request: Request,
}

#[derive(Serialize, Deserialize)]
struct ResponseEnvelope {
    version: u32,
    response: Response,
}

/// Why a frame could not be read or understood.
#[derive(Debug, Error)]
pub enum FrameError {
    /// The peer closed the connection before a new frame began.
    #[error("connection closed")]
    Closed,
    /// A length of zero or above the limit.
    #[error("frame of {len} bytes is larger than the limit of {max} bytes")]
    TooLarge {
        /// Announced length.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// A zero length.
    #[error("empty frame")]
    Empty,
    /// The connection ended or timed out inside a frame.
    #[error("truncated frame: {0}")]
    Truncated(io::Error),
    /// The body is not JSON of the expected shape.
    #[error("malformed body: {0}")]
    Malformed(String),
    /// The body names another version.
    #[error("protocol version {got} is not supported (this side speaks {VERSION})")]
    Version {
        /// What the peer sent.
        got: u64,
    },
    /// A well-formed reply that has no place where it came (another reply inside a chunked
    /// listing).
    #[error("unexpected reply: {0}")]
    Unexpected(String),
    /// Writing failed.
    #[error("write failed: {0}")]
    Write(io::Error),
}

impl FrameError {
    /// The error code a server answers this with.
    pub fn code(&self) -> ErrorCode {
        match self {
            FrameError::TooLarge { .. } => ErrorCode::TooLarge,
            FrameError::Version { .. } => ErrorCode::BadVersion,
            FrameError::Malformed(_) => ErrorCode::BadRequest,
            _ => ErrorCode::BadFrame,
        }
    }
}

/// Reads one frame body of at most `max` bytes.
pub fn read_frame(r: &mut impl Read, max: usize) -> Result<Vec<u8>, FrameError> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < len.len() {
        let buf = len.get_mut(got..).unwrap_or_default();
        match r.read(buf) {
            Ok(0) if got == 0 => return Err(FrameError::Closed),
            Ok(0) => {
                return Err(FrameError::Truncated(io::ErrorKind::UnexpectedEof.into()));
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if got == 0 && e.kind() == io::ErrorKind::ConnectionReset => {
                return Err(FrameError::Closed)
            }
            Err(e) => return Err(FrameError::Truncated(e)),
        }
    }
    let len = u32::from_be_bytes(len) as usize;
    if len == 0 {
        return Err(FrameError::Empty);
    }
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).map_err(FrameError::Truncated)?;
    Ok(body)
}

/// Writes one frame.
pub fn write_frame(w: &mut impl Write, body: &[u8]) -> Result<(), FrameError> {
    let len = u32::try_from(body.len())
        .map_err(|_| FrameError::TooLarge { len: body.len(), max: u32::MAX as usize })?;
    w.write_all(&len.to_be_bytes()).map_err(FrameError::Write)?;
    w.write_all(body).map_err(FrameError::Write)?;
    w.flush().map_err(FrameError::Write)
}

/// Checks the envelope's version before the rest, so a newer peer gets a version error rather
/// than a shape error.
fn check_version(body: &[u8]) -> Result<(), FrameError> {
    #[derive(Deserialize)]
    struct V {
        version: Option<serde_json::Value>,
    }
    let v: V = serde_json::from_slice(body).map_err(|e| FrameError::Malformed(e.to_string()))?;
    match v.version {
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(u64::from(VERSION)) => Ok(()),
        Some(serde_json::Value::Number(n)) => {
            Err(FrameError::Version { got: n.as_u64().unwrap_or(u64::MAX) })
        }
        _ => Err(FrameError::Malformed("missing or non-numeric \"version\"".into())),
    }
}

/// Encodes a request body.
pub fn encode_request(req: &Request) -> Vec<u8> {
    let env = RequestEnvelope { version: VERSION, request: req.clone() };
    // Serialising these plain types cannot fail (no maps with non-string keys).
    serde_json::to_vec(&env).unwrap_or_default()
}

/// Decodes a request body.
pub fn decode_request(body: &[u8]) -> Result<Request, FrameError> {
    check_version(body)?;
    let env: RequestEnvelope =
        serde_json::from_slice(body).map_err(|e| FrameError::Malformed(e.to_string()))?;
    Ok(env.request)
}

/// Encodes a response body.
pub fn encode_response(resp: &Response) -> Vec<u8> {
    let env = ResponseEnvelope { version: VERSION, response: resp.clone() };
    serde_json::to_vec(&env).unwrap_or_default()
}

/// Decodes a response body.
pub fn decode_response(body: &[u8]) -> Result<Response, FrameError> {
    check_version(body)?;
    let env: ResponseEnvelope =
        serde_json::from_slice(body).map_err(|e| FrameError::Malformed(e.to_string()))?;
    Ok(env.response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::Change;
    use rvs_core::ipvs::spec::{
        DestSpec, FwdMethod, LocalAddrSpec, Protocol, ServiceSpec, TunCsum, TunInfo, TunType,
    };

    fn framed(body: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        write_frame(&mut v, body).unwrap();
        v
    }

    #[test]
    fn requests_round_trip_through_frames() {
        let key = ServiceKey { proto: Protocol::Tcp, addr: "10.0.0.1".parse().unwrap(), port: 80 };
        let service = ServiceSpec { persistence: Some(60), ..ServiceSpec::new(key) };
        let dest = DestSpec {
            fwd: FwdMethod::Tunnel,
            weight: 3,
            tun: Some(TunInfo { kind: TunType::Gue, port: 6080, csum: TunCsum::default() }),
            ..DestSpec::new("10.0.0.2".parse().unwrap(), 80)
        };
        let laddr =
            LocalAddrSpec { addr: "10.0.0.9".parse().unwrap(), ifname: Some("dpdk0".into()) };
        let changes = [
            Change::AddService(service),
            Change::AddDest { service: key, dest },
            Change::SetTimeouts(Timeouts { tcp: 100, tcpfin: 20, udp: 30 }),
            Change::AddLocalAddr { service: key, laddr },
            Change::Zero(None),
        ];
        let all = Request::Restore(changes.to_vec());
        for req in changes.into_iter().map(Request::Apply).chain([all]) {
            let wire = framed(&encode_request(&req));
            assert_eq!(u32::from_be_bytes(wire[..4].try_into().unwrap()) as usize, wire.len() - 4);
            let body = read_frame(&mut wire.as_slice(), MAX_REQUEST).unwrap();
            assert_eq!(decode_request(&body).unwrap(), req);
        }
        // rvsnet's requests and replies ride the same envelope.
        use crate::net::{NetReply, NetRequest, RouteEntry, RouteSpec};
        let net = Request::Net(NetRequest::RouteAdd(RouteSpec {
            prefix: "10.1.0.0".parse().unwrap(),
            prefix_len: 16,
            via: Some("192.0.2.254".parse().unwrap()),
            port: Some("p0".into()),
        }));
        let body = read_frame(&mut framed(&encode_request(&net)).as_slice(), MAX_REQUEST).unwrap();
        assert_eq!(decode_request(&body).unwrap(), net);
        let reply = Response::Ok(Reply::Net(NetReply::Routes(vec![RouteEntry {
            prefix: "192.0.2.0".parse().unwrap(),
            prefix_len: 24,
            via: None,
            port: "p0".into(),
            connected: true,
        }])));
        assert_eq!(decode_response(&encode_response(&reply)).unwrap(), reply);
        let resp = Response::error(ErrorCode::Refused, "Service already exists");
        let body = encode_response(&resp);
        assert!(std::str::from_utf8(&body).unwrap().starts_with("{\"version\":1,"));
        assert_eq!(decode_response(&body).unwrap(), resp);
    }

    #[test]
    fn bad_frames_are_typed_errors() {
        // Oversized: refused from the length alone.
        let mut big = ((MAX_REQUEST + 1) as u32).to_be_bytes().to_vec();
        big.extend_from_slice(b"{}");
        let e = read_frame(&mut big.as_slice(), MAX_REQUEST).unwrap_err();
        assert!(matches!(e, FrameError::TooLarge { .. }), "{e}");
        assert_eq!(e.code(), ErrorCode::TooLarge);
        // Truncated body and truncated length.
        let mut short = 10u32.to_be_bytes().to_vec();
        short.extend_from_slice(b"{\"ver");
        assert!(matches!(
            read_frame(&mut short.as_slice(), MAX_REQUEST),
            Err(FrameError::Truncated(_))
        ));
        assert!(matches!(read_frame(&mut &[0u8, 0][..], 10), Err(FrameError::Truncated(_))));
        assert!(matches!(read_frame(&mut &[][..], 10), Err(FrameError::Closed)));
        assert!(matches!(read_frame(&mut &[0u8; 4][..], 10), Err(FrameError::Empty)));
        // Garbage, wrong version, wrong shape.
        assert!(matches!(decode_request(b"\xff\x00garbage"), Err(FrameError::Malformed(_))));
        let e = decode_request(br#"{"version":2,"request":"Status"}"#).unwrap_err();
        assert!(matches!(e, FrameError::Version { got: 2 }), "{e}");
        assert_eq!(e.code(), ErrorCode::BadVersion);
        assert!(matches!(
            decode_request(br#"{"request":"Status"}"#),
            Err(FrameError::Malformed(_))
        ));
        assert!(matches!(
            decode_request(br#"{"version":1,"request":"Explode"}"#),
            Err(FrameError::Malformed(_))
        ));
        assert_eq!(
            decode_request(br#"{"version":1,"request":"Status"}"#).unwrap(),
            Request::Status
        );
    }
}
