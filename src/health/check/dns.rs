//! `DNS_CHECK`: a query (`type`, `name`; default SOA of `.`) over UDP is answered by the
//! server with the same id, as a response, with RCODE NOERROR, within the timeout. An answer
//! with no records (NODATA) passes; NXDOMAIN, SERVFAIL, REFUSED and silence fail.
//!
//! The query and the few header fields read back are built by hand (RFC 1035 4.1): twelve
//! bytes of header and one question are all a health check needs, and a resolver crate would
//! bring its own sockets and timers where the probe keeps std's with its deadline.

use super::left;
use crate::health::plan::DnsCheck;
use crate::health::state::CheckResult;
use socket2::{Domain, SockAddr, Socket, Type};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Instant;

/// Query ids of this process (each check takes the next).
static ID: AtomicU16 = AtomicU16::new(0x5256);

/// `name` in DNS wire form (length-prefixed labels, a zero at the end); `None` when it is not
/// a domain name (a label of 0 or more than 63 bytes, characters other than letters, digits,
/// `-` and `_`, more than 253 bytes).
pub fn encode_name(name: &str) -> Option<Vec<u8>> {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    let mut out = Vec::new();
    if !trimmed.is_empty() {
        if trimmed.len() > 253 {
            return None;
        }
        for label in trimmed.split('.') {
            let ok = !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return None;
            }
            out.push(label.len() as u8);
            out.extend_from_slice(label.as_bytes());
        }
    }
    out.push(0);
    Some(out)
}

/// The query for `c` with `id` (recursion desired, class IN).
pub fn query(c: &DnsCheck, id: u16) -> Vec<u8> {
    let mut q = Vec::with_capacity(64);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    q.extend_from_slice(&encode_name(&c.name).unwrap_or_else(|| vec![0]));
    q.extend_from_slice(&c.qtype.code().to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    q
}

/// Checks a reply to the query with `id`: `Ok(None)` when it is someone else's datagram
/// (another id, or not a response), `Ok(Some(()))` when it passes.
pub fn judge(reply: &[u8], id: u16) -> Result<Option<()>, String> {
    let Some(h) = reply.get(..12) else { return Ok(None) };
    if u16::from_be_bytes([h[0], h[1]]) != id || h[2] & 0x80 == 0 {
        return Ok(None);
    }
    match h[3] & 0x0f {
        0 => Ok(Some(())),
        rcode => {
            let name = match rcode {
                1 => "FORMERR",
                2 => "SERVFAIL",
                3 => "NXDOMAIN",
                4 => "NOTIMP",
                5 => "REFUSED",
                _ => "an error",
            };
            Err(format!("answered {name} (rcode {rcode})"))
        }
    }
}

/// One `DNS_CHECK`.
pub fn check(
    c: &DnsCheck,
    target: SocketAddr,
    bind: Option<SocketAddr>,
    deadline: Instant,
) -> CheckResult {
    match ask(c, target, bind, deadline) {
        Ok(()) => CheckResult::Success { weight: None },
        Err(why) => CheckResult::Failure(format!("DNS {:?} {}: {why}", c.qtype, c.name)),
    }
}

fn ask(
    c: &DnsCheck,
    target: SocketAddr,
    bind: Option<SocketAddr>,
    deadline: Instant,
) -> Result<(), String> {
    let sock = Socket::new(Domain::for_address(target), Type::DGRAM, None)
        .map_err(|e| format!("socket: {e}"))?;
    if let Some(b) = bind {
        sock.bind(&SockAddr::from(b)).map_err(|e| format!("bind {b}: {e}"))?;
    }
    let sock: UdpSocket = sock.into();
    // Connected: the kernel drops datagrams from others and reports ICMP port unreachable.
    sock.connect(target).map_err(|e| format!("connect {target}: {e}"))?;
    let id = ID.fetch_add(1, Ordering::Relaxed);
    super::no_eintr(|| sock.send(&query(c, id))).map_err(|e| format!("sending: {e}"))?;
    let mut buf = [0u8; 4096];
    loop {
        let t = left(deadline).ok_or("no answer")?;
        sock.set_read_timeout(Some(t)).map_err(|e| e.to_string())?;
        let n = match super::no_eintr(|| sock.recv(&mut buf)) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err("no answer".into())
            }
            Err(e) => return Err(format!("{e}")),
        };
        if judge(buf.get(..n).unwrap_or_default(), id)?.is_some() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::plan::DnsType;

    #[test]
    fn names_and_queries_are_wire_form() {
        assert_eq!(encode_name("."), Some(vec![0]));
        assert_eq!(
            encode_name("www.example.test."),
            Some(b"\x03www\x07example\x04test\x00".to_vec())
        );
        assert_eq!(encode_name("a..b"), None);
        assert_eq!(encode_name("sp ace.test"), None);
        assert_eq!(encode_name(&"a".repeat(64)), None);
        let c = DnsCheck { qtype: DnsType::A, name: "x.test".into() };
        assert_eq!(
            query(&c, 0xabcd),
            b"\xab\xcd\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01x\x04test\x00\x00\x01\x00\x01"
                .to_vec()
        );
    }

    #[test]
    fn replies_are_judged_by_id_flag_and_rcode() {
        let mut r = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
        assert_eq!(judge(&r, 0x1234), Ok(Some(())));
        assert_eq!(judge(&r, 0x1235), Ok(None), "another query's answer");
        assert_eq!(judge(&r[..11], 0x1234), Ok(None), "short");
        r[2] = 0x01;
        assert_eq!(judge(&r, 0x1234), Ok(None), "a query, not a response");
        r[2] = 0x81;
        r[3] = 0x83;
        assert_eq!(judge(&r, 0x1234), Err("answered NXDOMAIN (rcode 3)".into()));
    }
}
