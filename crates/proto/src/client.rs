//! The client end of the control socket, used by rvsadm and by tests.
//!
//! Owns connecting to rvsd (path from `RVS_SOCK`, else the default), sending one request and
//! reading its response with a timeout (each frame of a chunked listing within it).
//! Must not touch: formatting, the table.

use super::chunks::{self, ChunksEnd};
use super::model::ConnEntry;
use super::{self as proto, FrameError, ListRequest, Request, Response, MAX_RESPONSE};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// Where rvsd listens unless `[ctrl] socket` says otherwise.
pub const DEFAULT_SOCKET: &str = "/run/rvs/rvs.sock";
/// Environment variable that overrides the socket path for clients.
pub const SOCKET_ENV: &str = "RVS_SOCK";
/// How long a client waits for an answer (a change waits for every worker).
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// The socket path clients use: `RVS_SOCK`, else [`DEFAULT_SOCKET`].
pub fn socket_path() -> PathBuf {
    std::env::var_os(SOCKET_ENV)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_SOCKET), PathBuf::from)
}

/// Why a request got no answer.
#[derive(Debug, Error)]
pub enum ClientError {
    /// Nothing listens on the path.
    #[error("cannot reach rvsd at {path}: is it running? ({SOCKET_ENV} overrides the path)")]
    Unreachable {
        /// Socket path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The exchange failed.
    #[error("talking to rvsd at {path}: {source}")]
    Exchange {
        /// Socket path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: FrameError,
    },
}

/// A connection to rvsd.
pub struct Client {
    path: PathBuf,
    stream: UnixStream,
}

impl Client {
    /// Connects to `path`.
    pub fn connect(path: &Path) -> Result<Client, ClientError> {
        let unreachable = |source| ClientError::Unreachable { path: path.to_path_buf(), source };
        let stream = UnixStream::connect(path).map_err(unreachable)?;
        let _ = stream.set_read_timeout(Some(CLIENT_TIMEOUT));
        let _ = stream.set_write_timeout(Some(CLIENT_TIMEOUT));
        Ok(Client { path: path.to_path_buf(), stream })
    }

    /// Sends `req` and reads its response.
    pub fn request(&mut self, req: &Request) -> Result<Response, ClientError> {
        let exchange = |source| ClientError::Exchange { path: self.path.clone(), source };
        proto::write_frame(&mut self.stream, &proto::encode_request(req)).map_err(exchange)?;
        let body = proto::read_frame(&mut self.stream, MAX_RESPONSE).map_err(exchange)?;
        proto::decode_response(&body).map_err(exchange)
    }

    /// Asks for the connection listing (at most `limit` entries per worker) and hands each
    /// chunk's entries to `each` as it arrives.
    pub fn list_conns(
        &mut self,
        limit: usize,
        each: impl FnMut(Vec<ConnEntry>),
    ) -> Result<ChunksEnd, ClientError> {
        let exchange = |source| ClientError::Exchange { path: self.path.clone(), source };
        let req = Request::List(ListRequest::Conns { limit });
        proto::write_frame(&mut self.stream, &proto::encode_request(&req)).map_err(exchange)?;
        chunks::read_conn_chunks(&mut self.stream, each).map_err(exchange)
    }

    /// [`Client::list_conns`], also handing on whether the listing's header has the `local`
    /// column when rvsd says so ([`chunks::read_conn_chunks_with_column`]).
    pub fn list_conns_with_column(
        &mut self,
        limit: usize,
        each: impl FnMut(Option<bool>, Vec<ConnEntry>),
    ) -> Result<ChunksEnd, ClientError> {
        let exchange = |source| ClientError::Exchange { path: self.path.clone(), source };
        let req = Request::List(ListRequest::Conns { limit });
        proto::write_frame(&mut self.stream, &proto::encode_request(&req)).map_err(exchange)?;
        chunks::read_conn_chunks_with_column(&mut self.stream, each).map_err(exchange)
    }
}
