//! `UDP_CHECK`: a datagram with the `payload` to the server. Without `require_reply` the check
//! fails only on an ICMP error (port unreachable and the like, seen as a refused receive) within
//! the timeout; with it, a reply must come within the timeout, be `min_reply_length` to
//! `max_reply_length` bytes long and match the pattern over the shorter of the two.

use super::left;
use crate::health::plan::UdpCheck;
use crate::health::state::CheckResult;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::Instant;

/// Whether `reply` matches `pattern` (value, mask pairs) over their common length.
pub fn matches(pattern: &[(u8, u8)], reply: &[u8]) -> bool {
    pattern.iter().zip(reply).all(|(&(v, m), &b)| b & m == v & m)
}

/// One `UDP_CHECK`.
pub fn check(
    u: &UdpCheck,
    target: SocketAddr,
    bind: Option<SocketAddr>,
    deadline: Instant,
) -> CheckResult {
    match run(u, target, bind, deadline) {
        Ok(()) => CheckResult::Success { weight: None },
        Err(e) => CheckResult::Failure(e),
    }
}

fn run(
    u: &UdpCheck,
    target: SocketAddr,
    bind: Option<SocketAddr>,
    deadline: Instant,
) -> Result<(), String> {
    let any = match target.ip() {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let local = bind.unwrap_or(SocketAddr::new(any, 0));
    let s = UdpSocket::bind(local).map_err(|e| format!("bind {local}: {e}"))?;
    s.connect(target).map_err(|e| format!("connect {target}: {e}"))?;
    super::no_eintr(|| s.send(&u.payload)).map_err(|e| format!("send to {target}: {e}"))?;
    let mut buf = vec![0u8; u.max_reply_length.max(1) + 1];
    let n = loop {
        let Some(t) = left(deadline) else {
            return match u.require_reply {
                Some(_) => Err(format!("no reply from {target}")),
                None => Ok(()),
            };
        };
        s.set_read_timeout(Some(t)).map_err(|e| e.to_string())?;
        match s.recv(&mut buf) {
            Ok(n) => break n,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("{target}: {e}")),
        }
    };
    let Some(pattern) = &u.require_reply else { return Ok(()) };
    if n < u.min_reply_length || n > u.max_reply_length {
        return Err(format!(
            "reply of {n} bytes, not {} to {}",
            u.min_reply_length, u.max_reply_length
        ));
    }
    if !matches(pattern, buf.get(..n).unwrap_or_default()) {
        return Err("reply does not match require_reply".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn echo() -> SocketAddr {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = s.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut b = [0u8; 512];
            while let Ok((n, from)) = s.recv_from(&mut b) {
                let mut reply = b"echo ".to_vec();
                reply.extend_from_slice(&b[..n]);
                let _ = s.send_to(&reply, from);
            }
        });
        addr
    }
    fn udp(require: Option<Vec<(u8, u8)>>) -> UdpCheck {
        UdpCheck {
            payload: b"ping".to_vec(),
            require_reply: require,
            min_reply_length: 0,
            max_reply_length: 255,
        }
    }
    fn soon() -> Instant {
        Instant::now() + Duration::from_millis(500)
    }
    fn exact(s: &[u8]) -> Vec<(u8, u8)> {
        s.iter().map(|&b| (b, 0xff)).collect()
    }

    #[test]
    fn echo_reply_matches_the_pattern_with_wildcards() {
        let addr = echo();
        let ok = CheckResult::Success { weight: None };
        assert_eq!(check(&udp(Some(exact(b"echo ping"))), addr, None, soon()), ok);
        // `x` nibbles: "echo" with any second byte.
        let mut p = exact(b"echo");
        p[1] = (0, 0);
        assert_eq!(check(&udp(Some(p)), addr, None, soon()), ok);
        assert_eq!(check(&udp(Some(vec![])), addr, None, soon()), ok);
        assert_eq!(
            check(&udp(Some(exact(b"pong"))), addr, None, soon()),
            CheckResult::Failure("reply does not match require_reply".into())
        );
        let mut short = udp(Some(vec![]));
        short.max_reply_length = 4;
        let CheckResult::Failure(why) = check(&short, addr, None, soon()) else { panic!() };
        assert!(why.starts_with("reply of 5 bytes"), "{why}");
    }

    #[test]
    fn closed_port_fails_and_silence_depends_on_require_reply() {
        let closed = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let CheckResult::Failure(why) = check(&udp(None), closed, None, soon()) else {
            panic!("port unreachable not seen")
        };
        assert!(why.contains("refused"), "{why}");
        // A socket that reads and never answers.
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = silent.local_addr().unwrap();
        // Silence until the deadline (no time is measured: the deadline is what ends the wait).
        assert_eq!(check(&udp(None), addr, None, soon()), CheckResult::Success { weight: None });
        assert_eq!(
            check(&udp(Some(vec![])), addr, None, soon()),
            CheckResult::Failure(format!("no reply from {addr}"))
        );
    }

    #[test]
    fn pattern_matching_rules() {
        assert!(matches(&[(0xab, 0xff), (0x10, 0xf0)], &[0xab, 0x1f, 0x99]));
        assert!(!matches(&[(0xab, 0xff), (0x10, 0xf0)], &[0xab, 0x2f]));
        assert!(matches(&[(1, 0xff), (2, 0xff)], &[1]));
    }
}
