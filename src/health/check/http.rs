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
/// Largest response head (status line, headers, blank line).
pub const MAX_HEAD: usize = 64 << 10;

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

/// A connection the checks read and write with deadlines: TCP, or TLS over TCP (`SSL_GET`,
/// which sends the same requests through [`exchange`]).
pub trait Conn: Read + Write {
    /// The TCP socket underneath, for its timeouts.
    fn tcp(&self) -> &TcpStream;
}

impl Conn for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

fn read_some<S: Conn>(s: &mut S, buf: &mut Vec<u8>, deadline: Instant) -> Result<usize, String> {
    let t = left(deadline).ok_or("timed out")?;
    s.tcp().set_read_timeout(Some(t)).map_err(|e| e.to_string())?;
    let mut chunk = [0u8; 16 << 10];
    match super::no_eintr(|| s.read(&mut chunk)) {
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
        // TLS: the server closed without close_notify, as many HTTP servers do after the body.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(0),
        Err(e) => Err(format!("reading: {e}")),
    }
}

/// Most header lines read from a response head.
const MAX_HEADERS: usize = 100;

/// What the check needs from a response head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// The status code.
    pub code: u16,
    /// `Transfer-Encoding` ends in `chunked`: the body is chunked.
    pub chunked: bool,
    /// Bytes of the head, the blank line included: the body starts there.
    pub len: usize,
}

/// Parses the response head at the start of `buf`: `Ok(None)` while it is incomplete.
pub fn parse_head(buf: &[u8]) -> Result<Option<Head>, String> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut r = httparse::Response::new(&mut headers);
    let len = match r.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::Version | httparse::Error::Status) => {
            let line = buf.split(|&c| c == b'\n').next().unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let line = line.get(..80).unwrap_or(line);
            return Err(format!("not an HTTP status line: {:?}", String::from_utf8_lossy(line)));
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Err(format!("more than {MAX_HEADERS} header lines"));
        }
        Err(e) => return Err(format!("malformed response head: {e}")),
    };
    let code = r.code.ok_or("no status code")?;
    let chunked = r.headers.iter().any(|h| {
        h.name.eq_ignore_ascii_case("transfer-encoding")
            && h.value
                .rsplit(|&c| c == b',')
                .next()
                .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"))
    });
    Ok(Some(Head { code, chunked, len }))
}

/// Decodes a complete chunked body (trailers after the last chunk are ignored); `None` when it
/// is malformed or incomplete.
pub fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let (taken, size) = match httparse::parse_chunk_size(b).ok()? {
            httparse::Status::Complete(c) => c,
            httparse::Status::Partial => return None,
        };
        b = b.get(taken..)?;
        if size == 0 {
            return Some(out);
        }
        let size = usize::try_from(size).ok()?;
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
    exchange(&mut s, p, u, target, deadline)
}

/// Sends `u`'s request on `s` and checks the answer, by `deadline`.
pub fn exchange<S: Conn>(
    s: &mut S,
    p: HttpProtocol,
    u: &UrlCheck,
    target: SocketAddr,
    deadline: Instant,
) -> Result<(), String> {
    let t = left(deadline).ok_or("timed out")?;
    s.tcp().set_write_timeout(Some(t)).map_err(|e| e.to_string())?;
    s.write_all(request(p, u, target).as_bytes()).map_err(|e| format!("sending: {e}"))?;
    let mut buf = Vec::new();
    let head = loop {
        if let Some(head) = parse_head(&buf)? {
            break head;
        }
        if buf.len() > MAX_HEAD {
            return Err(format!("no end of headers in {MAX_HEAD} bytes"));
        }
        if read_some(s, &mut buf, deadline)? == 0 {
            return Err("connection closed before the end of the headers".into());
        }
    };
    if head.len > MAX_HEAD {
        return Err(format!("no end of headers in {MAX_HEAD} bytes"));
    }
    if !u.status_ok(head.code) {
        return Err(format!("status {}", head.code));
    }
    if u.digest.is_none() && u.regex.is_none() {
        return Ok(());
    }
    while read_some(s, &mut buf, deadline)? > 0 {
        if buf.len() > MAX_BODY {
            return Err(format!("response larger than {MAX_BODY} bytes"));
        }
    }
    let raw = buf.get(head.len..).unwrap_or_default();
    let body =
        if head.chunked { dechunk(raw).ok_or("malformed chunked body")? } else { raw.to_vec() };
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

    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }

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

    /// A responder that writes `pieces` one by one (pausing between them, so they arrive in
    /// separate reads), then holds the connection open for `hold` before closing it.
    fn serve_pieces(pieces: Vec<Vec<u8>>, hold: Duration) -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            let Ok((mut c, _)) = l.accept() else { return };
            let _ = c.set_nodelay(true);
            let mut req = Vec::new();
            let mut b = [0u8; 1024];
            while find(&req, b"\r\n\r\n").is_none() {
                match c.read(&mut b) {
                    Ok(0) | Err(_) => return,
                    Ok(k) => req.extend_from_slice(&b[..k]),
                }
            }
            for p in pieces {
                if c.write_all(&p).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(30));
            }
            std::thread::sleep(hold);
        });
        addr
    }

    fn failure(r: CheckResult) -> String {
        match r {
            CheckResult::Failure(why) => why,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn status_lines_give_their_code() {
        let head = |b: &[u8]| parse_head(b).unwrap().unwrap();
        assert_eq!(head(b"HTTP/1.1 204 No Content\r\n\r\n").code, 204);
        assert_eq!(head(b"HTTP/1.0 302 Found\r\nLocation: /x\r\n\r\n").code, 302);
        assert_eq!(head(b"HTTP/1.1 200\r\n\r\n").code, 200, "the reason phrase may be empty");
        let h = head(b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\nbody");
        assert_eq!((h.len, h.chunked), (b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\n".len(), false));
    }

    #[test]
    fn a_head_is_incomplete_until_its_blank_line_whatever_the_split() {
        let resp = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-A: b\r\n\r\nrs1 alive\n";
        let end = find(resp, b"\r\n\r\n").unwrap() + 4;
        for cut in 0..end {
            assert_eq!(parse_head(&resp[..cut]), Ok(None), "cut at {cut}");
        }
        for cut in end..=resp.len() {
            assert_eq!(parse_head(&resp[..cut]).unwrap().unwrap().len, end, "cut at {cut}");
        }
    }

    #[test]
    fn headers_split_across_reads_are_joined() {
        let pieces: Vec<Vec<u8>> = [
            &b"HTT"[..],
            b"P/1.1 200 OK\r\nTransfer-Enc",
            b"oding: gzip, chunked\r",
            b"\n\r",
            b"\n4\r\nrs1 \r\n6\r\nalive\n\r\n0\r\n\r\n",
        ]
        .iter()
        .map(|p| p.to_vec())
        .collect();
        let addr = serve_pieces(pieces, Duration::ZERO);
        let mut u = url("/");
        u.digest = Some(md5::digest(b"rs1 alive\n"));
        let h = HttpCheck { urls: vec![u], protocol: HttpProtocol::V11 };
        assert_eq!(check(&h, addr, None, SECS), CheckResult::Success { weight: None });
    }

    #[test]
    fn chunked_decoding_follows_the_chunk_sizes() {
        assert_eq!(dechunk(b"0\r\n\r\n"), Some(vec![]));
        assert_eq!(
            dechunk(b"3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n"),
            Some(b"abc0123456789".to_vec())
        );
        assert_eq!(
            dechunk(b"3;name=\"v\"\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n"),
            Some(b"abc".to_vec())
        );
        assert_eq!(
            dechunk(b"2\r\n\r\n\r\n0\r\n\r\n"),
            Some(b"\r\n".to_vec()),
            "data is not parsed"
        );
        assert_eq!(dechunk(b"5\r\nabc"), None, "short chunk");
        assert_eq!(dechunk(b"3\r\nabcd\r\n0\r\n\r\n"), None, "chunk longer than its size");
        assert_eq!(dechunk(b"3\r\nabc\r\n"), None, "no last chunk");
        assert_eq!(dechunk(b"zz\r\n"), None);
        assert_eq!(dechunk(b""), None);
        assert_eq!(dechunk(b"fffffffffffffffff\r\n"), None, "size overflows");
        assert_eq!(dechunk(b"ffffffffffffff\r\nabc\r\n0\r\n\r\n"), None, "size beyond the data");
    }

    #[test]
    fn transfer_encoding_is_chunked_only_when_chunked_comes_last() {
        let chunked = |te: &str| {
            let r = format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: {te}\r\n\r\n");
            parse_head(r.as_bytes()).unwrap().unwrap().chunked
        };
        assert!(chunked("chunked"));
        assert!(chunked("Chunked"));
        assert!(chunked("gzip, chunked"));
        assert!(!chunked("chunked, gzip"));
        assert!(!chunked("gzip"));
    }

    #[test]
    fn a_malformed_chunked_body_fails_the_check() {
        let addr = serve_pieces(
            vec![b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab".to_vec()],
            Duration::ZERO,
        );
        let mut u = url("/");
        u.digest = Some(md5::digest(b"ab"));
        assert_eq!(
            failure(check(&http(vec![u]), addr, None, SECS)),
            "GET /: malformed chunked body"
        );
    }

    #[test]
    fn a_head_over_the_size_limit_fails_the_check() {
        let mut big = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
        big.resize(MAX_HEAD + 20_000, b'a');
        let addr = serve_pieces(vec![big.clone()], SECS);
        let why = failure(check(&http(vec![url("/")]), addr, None, SECS));
        assert_eq!(why, format!("GET /: no end of headers in {MAX_HEAD} bytes"));
        big.extend_from_slice(b"\r\n\r\n");
        assert_eq!(parse_head(&big).unwrap().unwrap().len, big.len(), "the parser has no limit");
        let addr = serve_pieces(vec![big], SECS);
        let why = failure(check(&http(vec![url("/")]), addr, None, SECS));
        assert_eq!(
            why,
            format!("GET /: no end of headers in {MAX_HEAD} bytes"),
            "complete but too big"
        );
        let many: String = (0..MAX_HEADERS + 1).map(|i| format!("X-{i}: v\r\n")).collect();
        let many = format!("HTTP/1.1 200 OK\r\n{many}\r\n");
        assert_eq!(
            parse_head(many.as_bytes()),
            Err(format!("more than {MAX_HEADERS} header lines"))
        );
    }

    #[test]
    fn parsers_refuse_garbage() {
        for garbage in
            [&b"SSH-2.0-OpenSSH_9.6\r\n"[..], b"\xff\x00\x01", b"HTTP/1.1 2040 x\r\n\r\n"]
        {
            let why = parse_head(garbage).unwrap_err();
            assert!(why.starts_with("not an HTTP status line"), "{garbage:?}: {why}");
        }
        let why = parse_head(b"HTTP/1.1 200 OK\r\nBad Name: v\r\n\r\n").unwrap_err();
        assert!(why.starts_with("malformed response head"), "{why}");
        let why = parse_head(b"HTTP/1.1 200 OK\r\nX: \x01\r\n\r\n").unwrap_err();
        assert!(why.starts_with("malformed response head"), "{why}");
        // A server that is not HTTP fails as soon as its first bytes arrive, not by the timeout,
        // even when it keeps the connection open.
        let addr = serve_pieces(vec![b"SSH-2.0-OpenSSH_9.6\r\n".to_vec()], Duration::from_secs(5));
        let why = failure(check(&http(vec![url("/")]), addr, None, SECS));
        assert_eq!(why, "GET /: not an HTTP status line: \"SSH-2.0-OpenSSH_9.6\"");
        let (addr, _rx) = serve(b"garbage\r\n\r\n", Duration::ZERO, 1);
        let why = failure(check(&http(vec![url("/")]), addr, None, SECS));
        assert!(why.contains("not an HTTP status line"), "{why}");
    }
}
