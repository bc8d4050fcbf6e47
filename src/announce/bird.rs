//! The BGP sessions as the routing daemon beside rvsd reports them (`[announce] bird_socket`):
//! BIRD's control socket, asked `show protocols` once per announcer round.
//!
//! Owns the client side of BIRD's control-socket protocol and the parsing of the protocol
//! table. Hand-written because no crate speaks it: the protocol is lines of text, each a
//! four-digit code followed by `-` (more lines follow) or a space (the last line of the reply),
//! or a line starting with a space that continues the previous code; `0001` greets the client,
//! `1002` rows are the protocol table (`2002` its header), `0000` ends a good reply and codes
//! from 8000 up are errors. The reader is bounded (lines, bytes, time), so a wedged or hostile
//! peer on that socket cannot stall the announcer or fill memory. Must not touch: BIRD's
//! configuration or state (only `show` commands are sent), the kernel table.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

pub use rvs_proto::announce::BgpSession;

/// The longest reply line read (BIRD's are under 200 bytes).
const MAX_LINE: u64 = 4096;
/// The most lines of one reply (a protocol per line).
const MAX_LINES: usize = 10_000;

/// Why BIRD could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum BirdError {
    /// Connecting, reading or writing failed (no BIRD, a wrong path, a timeout).
    #[error("BIRD's control socket {path}: {source} (is BIRD running with `-s {path}`?)")]
    Io {
        /// The socket's path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// BIRD answered with an error code.
    #[error("BIRD refused `{command}`: {line}")]
    Refused {
        /// The command sent.
        command: &'static str,
        /// BIRD's error line.
        line: String,
    },
    /// The reply is not in BIRD's control protocol.
    #[error("BIRD's reply is not its control protocol: {0}")]
    Protocol(String),
}

/// One line of a reply: its code (the previous line's for a continuation) and its text.
#[derive(Debug, PartialEq, Eq)]
struct Line {
    code: u16,
    last: bool,
    text: String,
}

fn parse_line(raw: &str, prev: Option<u16>) -> Result<Line, BirdError> {
    let raw = raw.trim_end_matches(['\n', '\r']);
    if let Some(rest) = raw.strip_prefix(' ') {
        let code =
            prev.ok_or_else(|| BirdError::Protocol(format!("a continuation first: {raw:?}")))?;
        return Ok(Line { code, last: false, text: rest.to_owned() });
    }
    let (code, rest) = raw.split_at_checked(4).unwrap_or((raw, ""));
    let code = code
        .parse::<u16>()
        .ok()
        .filter(|_| code.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| BirdError::Protocol(format!("no code: {raw:?}")))?;
    let last = match rest.as_bytes().first() {
        Some(b'-') => false,
        Some(b' ') | None => true,
        Some(_) => {
            return Err(BirdError::Protocol(format!("no separator after the code: {raw:?}")))
        }
    };
    Ok(Line { code, last, text: rest.get(1..).unwrap_or("").to_owned() })
}

/// Reads one whole reply (until a last line), bounded.
fn read_reply<R: BufRead>(r: &mut R, command: &'static str) -> Result<Vec<Line>, BirdError> {
    let mut lines = Vec::new();
    let mut prev = None;
    let mut buf = String::new();
    loop {
        buf.clear();
        let n = r
            .by_ref()
            .take(MAX_LINE)
            .read_line(&mut buf)
            .map_err(|e| BirdError::Io { path: String::new(), source: e })?;
        if n == 0 {
            return Err(BirdError::Protocol("the reply ended before its last line".into()));
        }
        let line = parse_line(&buf, prev)?;
        if line.code >= 8000 {
            return Err(BirdError::Refused { command, line: line.text });
        }
        prev = Some(line.code);
        let last = line.last;
        lines.push(line);
        if last {
            return Ok(lines);
        }
        if lines.len() >= MAX_LINES {
            return Err(BirdError::Protocol(format!("more than {MAX_LINES} lines")));
        }
    }
}

/// The BGP rows of `show protocols` (`1002` lines whose protocol is `BGP`).
fn bgp_sessions(lines: &[Line]) -> Vec<BgpSession> {
    lines
        .iter()
        .filter(|l| l.code == 1002)
        .filter_map(|l| {
            let mut words = l.text.split_whitespace();
            let name = words.next()?;
            let proto = words.next()?;
            let _table = words.next()?;
            let state = words.next()?;
            let rest: Vec<&str> = words.collect();
            // "Since" is one word (a time) or two (a date and a time), per BIRD's timeformat.
            let since = match rest.as_slice() {
                [d, t, ..] if d.contains('-') && t.contains(':') => 2,
                [_, ..] => 1,
                [] => 0,
            };
            let info = rest.get(since..).unwrap_or(&[]).join(" ");
            (proto == "BGP").then(|| BgpSession {
                established: state == "up" && info.starts_with("Established"),
                name: name.to_owned(),
                state: state.to_owned(),
                info,
            })
        })
        .collect()
}

/// Asks the BIRD listening on `path` for its BGP sessions, waiting at most `timeout` per read
/// or write.
pub fn sessions(path: &Path, timeout: Duration) -> Result<Vec<BgpSession>, BirdError> {
    let io = |source| BirdError::Io { path: path.display().to_string(), source };
    let stream = UnixStream::connect(path).map_err(io)?;
    stream.set_read_timeout(Some(timeout)).map_err(io)?;
    stream.set_write_timeout(Some(timeout)).map_err(io)?;
    let with_path = |e: BirdError| match e {
        BirdError::Io { source, .. } => io(source),
        other => other,
    };
    let mut reader = BufReader::new(stream.try_clone().map_err(io)?);
    read_reply(&mut reader, "(greeting)").map_err(with_path)?;
    (&stream).write_all(b"show protocols\n").map_err(io)?;
    let lines = read_reply(&mut reader, "show protocols").map_err(with_path)?;
    Ok(bgp_sessions(&lines))
}

#[cfg(test)]
#[path = "bird_tests.rs"]
mod tests;
