//! `SMTP_CHECK`: the server greets with 220, answers `HELO helo_name` with 250 and `QUIT`
//! with 221 (RFC 5321 4.2: replies may span lines `code-text`, the last is `code text`),
//! within the timeout. Replies longer than [`MAX_REPLY`] fail the check.

use super::{left, tcp};
use crate::health::plan::SmtpCheck;
use crate::health::state::CheckResult;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

/// Most bytes of one reply (all its lines).
pub const MAX_REPLY: usize = 4096;

/// One `SMTP_CHECK`.
pub fn check(
    c: &SmtpCheck,
    target: SocketAddr,
    bind: Option<SocketAddr>,
    deadline: Instant,
) -> CheckResult {
    match dialogue(c, target, bind, deadline) {
        Ok(()) => CheckResult::Success { weight: None },
        Err(why) => CheckResult::Failure(why),
    }
}

fn dialogue(
    c: &SmtpCheck,
    target: SocketAddr,
    bind: Option<SocketAddr>,
    deadline: Instant,
) -> Result<(), String> {
    let mut s = tcp::connect(target, bind, deadline)?;
    let mut buf = Vec::new();
    expect(&mut s, &mut buf, deadline, 220, "greeting")?;
    send(&mut s, format!("HELO {}\r\n", c.helo_name).as_bytes(), deadline)?;
    expect(&mut s, &mut buf, deadline, 250, "HELO")?;
    send(&mut s, b"QUIT\r\n", deadline)?;
    expect(&mut s, &mut buf, deadline, 221, "QUIT")?;
    Ok(())
}

fn send(s: &mut TcpStream, what: &[u8], deadline: Instant) -> Result<(), String> {
    s.set_write_timeout(Some(left(deadline).ok_or("timed out")?)).map_err(|e| e.to_string())?;
    s.write_all(what).map_err(|e| format!("sending: {e}"))
}

/// Reads one whole reply (from `buf` first, which keeps what follows it) and checks its code.
fn expect(
    s: &mut TcpStream,
    buf: &mut Vec<u8>,
    deadline: Instant,
    code: u16,
    step: &str,
) -> Result<(), String> {
    loop {
        match parse_reply(buf)? {
            Some((got, used)) => {
                buf.drain(..used);
                return if got == code {
                    Ok(())
                } else {
                    Err(format!("{step}: reply {got}, not {code}"))
                };
            }
            None if buf.len() > MAX_REPLY => {
                return Err(format!("{step}: reply longer than {MAX_REPLY} bytes"))
            }
            None => {}
        }
        s.set_read_timeout(Some(left(deadline).ok_or_else(|| format!("{step}: timed out"))?))
            .map_err(|e| e.to_string())?;
        let mut chunk = [0u8; 1024];
        match super::no_eintr(|| s.read(&mut chunk)) {
            Ok(0) => return Err(format!("{step}: connection closed")),
            Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(format!("{step}: timed out"))
            }
            Err(e) => return Err(format!("{step}: {e}")),
        }
    }
}

/// The code of the complete reply at the start of `buf` and its length; `None` while it is
/// incomplete.
pub fn parse_reply(buf: &[u8]) -> Result<Option<(u16, usize)>, String> {
    let mut at = 0;
    let mut code: Option<u16> = None;
    while let Some(end) = buf.get(at..).and_then(|b| b.iter().position(|&c| c == b'\n')) {
        let line = buf.get(at..at + end).unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let this = line
            .get(..3)
            .filter(|d| d.iter().all(u8::is_ascii_digit))
            .and_then(|d| std::str::from_utf8(d).ok()?.parse::<u16>().ok())
            .ok_or_else(|| {
                format!(
                    "not an SMTP reply: {:?}",
                    String::from_utf8_lossy(line.get(..80).unwrap_or(line))
                )
            })?;
        if code.is_some_and(|c| c != this) {
            return Err(format!("reply lines with codes {} and {this}", code.unwrap_or(this)));
        }
        code = Some(this);
        at += end + 1;
        match line.get(3) {
            None | Some(b' ') => return Ok(Some((this, at))),
            Some(b'-') => {}
            Some(_) => {
                return Err(format!("not an SMTP reply: {:?}", String::from_utf8_lossy(line)))
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_read_whole() {
        assert_eq!(parse_reply(b"220 mx ESMTP\r\n"), Ok(Some((220, 14))));
        assert_eq!(
            parse_reply(b"250-mx hello\r\n250-SIZE 1\r\n250 HELP\r\nrest"),
            Ok(Some((250, 36)))
        );
        assert_eq!(parse_reply(b"250-mx hello\r\n250 HE"), Ok(None));
        assert_eq!(parse_reply(b"221\r\n"), Ok(Some((221, 5))));
        assert!(parse_reply(b"HTTP/1.1 200 OK\r\n").is_err());
        assert!(parse_reply(b"250-a\r\n251 b\r\n").is_err());
    }
}
