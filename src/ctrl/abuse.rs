//! A misbehaving-client check of a running control socket, shared by the unit tests (over a
//! test double) and the DPDK integration test (over a real director).
//!
//! Owns the scenarios: garbage bytes, an oversized length, a truncated frame, a wrong version,
//! more concurrent clients than the server serves, and a client that stops mid-frame. After
//! each, the server must have answered with an error or closed, and a fresh client must still
//! get its `Status`. Must not touch: the server's internals (it only speaks on the socket).

use crate::proto::client::Client;
use crate::proto::{self, ErrorCode, Request, Response, MAX_RESPONSE};
use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

fn connect(path: &Path) -> Result<UnixStream, String> {
    let s = UnixStream::connect(path).map_err(|e| format!("connect: {e}"))?;
    // Longer than any server's client timeout, so that the server is the one that gives up.
    s.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| e.to_string())?;
    Ok(s)
}

/// Reads what the server says after abuse: an error with `code`, then the end of the stream.
fn expect_error_then_close(mut s: UnixStream, code: ErrorCode, what: &str) -> Result<(), String> {
    let body = proto::read_frame(&mut s, MAX_RESPONSE).map_err(|e| format!("{what}: {e}"))?;
    match proto::decode_response(&body) {
        Ok(Response::Error { code: c, .. }) if c == code => {}
        other => return Err(format!("{what}: expected a {code:?} error, got {other:?}")),
    }
    expect_closed(s, what)
}

fn expect_closed(mut s: UnixStream, what: &str) -> Result<(), String> {
    let mut rest = [0u8; 16];
    match s.read(&mut rest) {
        Ok(0) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Ok(()),
        other => Err(format!("{what}: expected the server to close, got {other:?}")),
    }
}

/// The server still answers a well-formed client.
pub fn still_serving(path: &Path, what: &str) -> Result<(), String> {
    let mut c = Client::connect(path).map_err(|e| format!("after {what}: {e}"))?;
    match c.request(&Request::Status) {
        Ok(Response::Ok(_)) => Ok(()),
        other => Err(format!("after {what}: status gave {other:?}")),
    }
}

/// Like [`still_serving`], but a `Busy` answer (other clients' threads not yet finished) is
/// retried for a while, as a well-behaved client would.
fn served_patiently(path: &Path, what: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut c = Client::connect(path).map_err(|e| format!("{what}: {e}"))?;
        match c.request(&Request::Status) {
            Ok(Response::Ok(_)) => return Ok(()),
            Ok(Response::Error { code: ErrorCode::Busy, .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            other => return Err(format!("{what}: status gave {other:?}")),
        }
    }
}

fn send(s: &mut UnixStream, bytes: &[u8], what: &str) -> Result<(), String> {
    s.write_all(bytes).map_err(|e| format!("{what}: write: {e}"))
}

/// Runs every scenario against the server at `path`, which serves at most `max_clients` at
/// once and drops a client silent for `io_timeout`.
pub fn run(path: &Path, max_clients: usize, io_timeout: Duration) -> Result<(), String> {
    still_serving(path, "start")?;

    // Garbage: an HTTP request reads as a huge length.
    let mut s = connect(path)?;
    send(&mut s, b"GET / HTTP/1.0\r\n\r\n", "garbage")?;
    expect_error_then_close(s, ErrorCode::TooLarge, "garbage")?;
    still_serving(path, "garbage")?;

    // A well-sized frame holding garbage.
    let mut s = connect(path)?;
    let junk = [0xffu8, 0x00, 0x13, 0x37, b'{', b'x'];
    let mut f = Vec::new();
    proto::write_frame(&mut f, &junk).map_err(|e| e.to_string())?;
    send(&mut s, &f, "junk body")?;
    expect_error_then_close(s, ErrorCode::BadRequest, "junk body")?;
    still_serving(path, "junk body")?;

    // Oversized length.
    let mut s = connect(path)?;
    send(&mut s, &u32::MAX.to_be_bytes(), "oversized")?;
    expect_error_then_close(s, ErrorCode::TooLarge, "oversized")?;
    still_serving(path, "oversized")?;

    // Wrong version.
    let mut s = connect(path)?;
    let mut f = Vec::new();
    proto::write_frame(&mut f, br#"{"version":99,"request":"Status"}"#)
        .map_err(|e| e.to_string())?;
    send(&mut s, &f, "wrong version")?;
    expect_error_then_close(s, ErrorCode::BadVersion, "wrong version")?;
    still_serving(path, "wrong version")?;

    // Truncated frame, then a half-close: the server closes without an answer.
    let mut s = connect(path)?;
    send(&mut s, &100u32.to_be_bytes(), "truncated")?;
    send(&mut s, b"{\"version\":1", "truncated")?;
    s.shutdown(Shutdown::Write).map_err(|e| e.to_string())?;
    expect_closed(s, "truncated")?;
    still_serving(path, "truncated")?;

    // A slow client stops mid-frame: others are served meanwhile, and it is dropped.
    let mut slow = connect(path)?;
    send(&mut slow, &[0, 0], "slow client")?;
    still_serving(path, "a slow client")?;
    let t0 = Instant::now();
    expect_closed(slow, "slow client")?;
    if t0.elapsed() > io_timeout + Duration::from_secs(5) {
        return Err(format!("slow client kept for {:?}", t0.elapsed()));
    }

    // More clients than the bound: the extra ones are told Busy; all are served once freed.
    // Each held client has been answered once, so the server has taken it (an event, not a
    // wait) and holds its slot while it stays connected.
    let held: Vec<Client> = (0..max_clients)
        .map(|i| {
            let mut c = Client::connect(path).map_err(|e| format!("held client {i}: {e}"))?;
            match c.request(&Request::Status) {
                Ok(Response::Ok(_)) => Ok(c),
                other => Err(format!("held client {i}: status gave {other:?}")),
            }
        })
        .collect::<Result<_, String>>()?;
    let extra = connect(path)?;
    expect_error_then_close(extra, ErrorCode::Busy, "one client too many")?;
    drop(held);
    let deadline = Instant::now() + io_timeout + Duration::from_secs(5);
    loop {
        match still_serving(path, "many clients") {
            Ok(()) => break,
            Err(e) if Instant::now() > deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    let workers: Vec<_> = (0..max_clients)
        .map(|i| {
            let p = path.to_path_buf();
            std::thread::spawn(move || {
                for _ in 0..5 {
                    served_patiently(&p, &format!("concurrent client {i}"))?;
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    for w in workers {
        w.join().map_err(|_| "a concurrent client panicked".to_string())??;
    }
    still_serving(path, "concurrent clients")
}
