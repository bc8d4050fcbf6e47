//! `HTTP_GET`: each `url` is fetched on its own connection, within the timeout each; the check
//! passes when every answer has an expected status code and, where configured, the body's MD5
//! (`digest`) and regex match.
//!
//! The request is `GET path HTTP/1.0` (or `1.1`, always with `Connection: close` there) with a
//! `Host` header: the `virtualhost`, else the target address. The body is read to the end of
//! the connection (chunked bodies are decoded) only when a digest or regex needs it, and never
//! beyond [`MAX_BODY`]: a larger body fails the check.

use super::{left, tcp};
use crate::health::md5;
use crate::health::plan::{HttpCheck, HttpProtocol, UrlCheck};
use crate::health::state::CheckResult;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Largest response (headers and body) read for a digest or regex.
pub const MAX_BODY: usize = 4 << 20;
/// Largest header block.
const MAX_HEAD: usize = 64 << 10;

/// One `HTTP_GET` check; each URL gets `timeout`.
pub fn check(
    h: &HttpCheck,
    target: SocketAddr,
    bind: Option<SocketAddr>,
    timeout: Duration,
) -> CheckResult {
    for u in &h.urls {
        if let Err(e) = one(h.protocol, u, target, bind, Instant::now() + timeout) {
            return CheckResult::Failure(format!("GET {}: {e}", u.path));
        }
    }
    CheckResult::Success { weight: None }
}

fn request(p: HttpProtocol, u: &UrlCheck, target: SocketAddr) -> String {
    let host = u.virtualhost.clone().unwrap_or_else(|| match target.port() {
        80 => target.ip().to_string(),
        _ => target.to_string(),
    });
    let (version, close) = match p {
        HttpProtocol::V10 => ("1.0", false),
        HttpProtocol::V10Close => ("1.0", true),
        HttpProtocol::V11 => ("1.1", true),
    };
    let mut r =
        format!("GET {} HTTP/{version}\r\nUser-Agent: rvs-health\r\nHost: {host}\r\n", u.path);
    if close {
        r.push_str("Connection: close\r\n");
    }
    r.push_str("\r\n");
    r
}

fn read_some(s: &mut TcpStream, buf: &mut Vec<u8>, deadline: Instant) -> Result<usize, String> {
    let t = left(deadline).ok_or("timed out")?;
    s.set_read_timeout(Some(t)).map_err(|e| e.to_string())?;
    let mut chunk = [0u8; 16 << 10];
    match s.read(&mut chunk) {
        Ok(n) => {
            buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
            Ok(n)
        }
        Err(e)
            if e.kind() == std::io::ErrorKind::WouldBlock
                || e.kind() == std::io::ErrorKind::TimedOut =>
        {
            Err("timed out".into())
        }
        Err(e) => Err(format!("reading: {e}")),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Status code of a status line `HTTP/x.y NNN reason`.
pub fn parse_status(line: &[u8]) -> Option<u16> {
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split(' ');
    if !parts.next()?.starts_with("HTTP/") {
        return None;
    }
    let code = parts.next()?;
    if code.len() != 3 {
        return None;
    }
    code.parse().ok()
}

/// Decodes a complete chunked body; `None` when it is malformed or incomplete.
pub fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = find(b, b"\r\n")?;
        let size_text = std::str::from_utf8(b.get(..eol)?).ok()?;
        let size_text = size_text.split(';').next()?.trim();
        let size = usize::from_str_radix(size_text, 16).ok()?;
        b = b.get(eol + 2..)?;
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size..)?.strip_prefix(b"\r\n")?;
    }
}

fn one(
    p: HttpProtocol,
    u: &UrlCheck,
    target: SocketAddr,
    bind: Option<SocketAddr>,
    deadline: Instant,
) -> Result<(), String> {
    let mut s = tcp::connect(target, bind, deadline)?;
    let t = left(deadline).ok_or("timed out")?;
    s.set_write_timeout(Some(t)).map_err(|e| e.to_string())?;
    s.write_all(request(p, u, target).as_bytes()).map_err(|e| format!("sending: {e}"))?;
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err(format!("no end of headers in {MAX_HEAD} bytes"));
        }
        if read_some(&mut s, &mut buf, deadline)? == 0 {
            return Err("connection closed before the end of the headers".into());
        }
    };
    let head = buf.get(..head_end).unwrap_or_default();
    let status_line = head.split(|&c| c == b'\r').next().unwrap_or_default();
    let code = parse_status(status_line).ok_or_else(|| {
        format!("not an HTTP status line: {:?}", String::from_utf8_lossy(status_line))
    })?;
    if !u.status_ok(code) {
        return Err(format!("status {code}"));
    }
    if u.digest.is_none() && u.regex.is_none() {
        return Ok(());
    }
    let chunked = String::from_utf8_lossy(head).lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    while read_some(&mut s, &mut buf, deadline)? > 0 {
        if buf.len() > MAX_BODY {
            return Err(format!("response larger than {MAX_BODY} bytes"));
        }
    }
    let raw = buf.get(head_end + 4..).unwrap_or_default();
    let body = if chunked { dechunk(raw).ok_or("malformed chunked body")? } else { raw.to_vec() };
    if let Some(want) = &u.digest {
        let got = md5::digest(&body);
        if got != *want {
            return Err(format!("digest {} is not {}", md5::hex(&got), md5::hex(want)));
        }
    }
    if let Some(re) = &u.regex {
        if re.is_match(&body) == u.regex_no_match {
            let how = if u.regex_no_match { "matches" } else { "does not match" };
            return Err(format!("body {how} regex {}", re.as_str()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::sync::mpsc;

    /// A one-shot responder: answers each connection with `reply` (after `delay`), and sends the
    /// requests it got.
    fn serve(
        reply: &'static [u8],
        delay: Duration,
        n: usize,
    ) -> (SocketAddr, mpsc::Receiver<String>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for _ in 0..n {
                let Ok((mut c, _)) = l.accept() else { return };
                let mut req = Vec::new();
                let mut b = [0u8; 1024];
                while find(&req, b"\r\n\r\n").is_none() {
                    match c.read(&mut b) {
                        Ok(0) | Err(_) => break,
                        Ok(k) => req.extend_from_slice(&b[..k]),
                    }
                }
                let _ = tx.send(String::from_utf8_lossy(&req).into_owned());
                std::thread::sleep(delay);
                let _ = c.write_all(reply);
            }
        });
        (addr, rx)
    }

    fn url(path: &str) -> UrlCheck {
        UrlCheck {
            path: path.into(),
            status: vec![(200, 299)],
            digest: None,
            regex: None,
            regex_no_match: false,
            virtualhost: None,
        }
    }
    fn http(urls: Vec<UrlCheck>) -> HttpCheck {
        HttpCheck { urls, protocol: HttpProtocol::V10 }
    }
    const OK: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nrs1 alive\n";
    const SECS: Duration = Duration::from_secs(2);

    #[test]
    fn status_codes_decide_and_the_request_has_path_and_host() {
        let (addr, rx) = serve(OK, Duration::ZERO, 1);
        let mut u = url("/health");
        u.virtualhost = Some("www.example.com".into());
        assert_eq!(check(&http(vec![u]), addr, None, SECS), CheckResult::Success { weight: None });
        let req = rx.recv().unwrap();
        assert!(req.starts_with("GET /health HTTP/1.0\r\n"), "{req}");
        assert!(req.contains("\r\nHost: www.example.com\r\n"), "{req}");
        let (addr, _rx) = serve(b"HTTP/1.1 503 Busy\r\n\r\n", Duration::ZERO, 1);
        assert_eq!(
            check(&http(vec![url("/")]), addr, None, SECS),
            CheckResult::Failure("GET /: status 503".into())
        );
        let (addr, _rx) = serve(b"HTTP/1.1 503 Busy\r\n\r\n", Duration::ZERO, 1);
        let mut u = url("/");
        u.status = vec![(200, 200), (500, 503)];
        assert_eq!(check(&http(vec![u]), addr, None, SECS), CheckResult::Success { weight: None });
    }

    #[test]
    fn digest_and_regex_check_the_body() {
        let body = b"rs1 alive\n";
        let mut u = url("/");
        u.digest = Some(md5::digest(body));
        u.regex = Some(regex::bytes::Regex::new("al[i]ve").unwrap());
        let (addr, _rx) = serve(OK, Duration::ZERO, 1);
        assert_eq!(
            check(&http(vec![u.clone()]), addr, None, SECS),
            CheckResult::Success { weight: None }
        );
        u.regex_no_match = true;
        let (addr, _rx) = serve(OK, Duration::ZERO, 1);
        let CheckResult::Failure(why) = check(&http(vec![u.clone()]), addr, None, SECS) else {
            panic!()
        };
        assert!(why.contains("matches regex"), "{why}");
        u.regex = None;
        u.digest = Some(md5::digest(b"something else"));
        let (addr, _rx) = serve(OK, Duration::ZERO, 1);
        let CheckResult::Failure(why) = check(&http(vec![u]), addr, None, SECS) else { panic!() };
        assert!(why.contains("digest"), "{why}");
    }

    #[test]
    fn every_url_must_pass() {
        let (addr, rx) = serve(OK, Duration::ZERO, 2);
        assert_eq!(
            check(&http(vec![url("/a"), url("/b")]), addr, None, SECS),
            CheckResult::Success { weight: None }
        );
        assert!(rx.recv().unwrap().starts_with("GET /a "));
        assert!(rx.recv().unwrap().starts_with("GET /b "));
    }

    #[test]
    fn a_slow_server_fails_by_the_timeout() {
        // The server answers OK, but only after the check's 300 ms timeout: a check that ignored
        // its timeout would succeed (no time is measured here).
        let (addr, rx) = serve(OK, Duration::from_secs(3), 1);
        let r = check(&http(vec![url("/")]), addr, None, Duration::from_millis(300));
        assert_eq!(r, CheckResult::Failure("GET /: timed out".into()));
        assert!(rx.recv().unwrap().starts_with("GET / "), "the request was sent");
    }

    #[test]
    fn chunked_bodies_are_decoded_for_the_digest() {
        const CHUNKED: &[u8] =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nrs1 \r\n6;x=y\r\nalive\n\r\n0\r\n\r\n";
        let mut u = url("/");
        u.digest = Some(md5::digest(b"rs1 alive\n"));
        let (addr, rx) = serve(CHUNKED, Duration::ZERO, 1);
        let h = HttpCheck { urls: vec![u], protocol: HttpProtocol::V11 };
        assert_eq!(check(&h, addr, None, SECS), CheckResult::Success { weight: None });
        let req = rx.recv().unwrap();
        assert!(req.starts_with("GET / HTTP/1.1\r\n") && req.contains("Connection: close"));
    }

    #[test]
    fn parsers_refuse_garbage() {
        assert_eq!(parse_status(b"HTTP/1.1 204 No Content"), Some(204));
        assert_eq!(parse_status(b"HTTP/1.1 2040 x"), None);
        assert_eq!(parse_status(b"SSH-2.0-OpenSSH"), None);
        assert_eq!(dechunk(b"5\r\nabc"), None);
        assert_eq!(dechunk(b"zz\r\n"), None);
        assert_eq!(dechunk(b"0\r\n\r\n"), Some(vec![]));
        let (addr, _rx) = serve(b"garbage\r\n\r\n", Duration::ZERO, 1);
        let CheckResult::Failure(why) = check(&http(vec![url("/")]), addr, None, SECS) else {
            panic!()
        };
        assert!(why.contains("not an HTTP status line"), "{why}");
    }
}
