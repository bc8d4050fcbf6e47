//! `PING_CHECK`: an ICMP echo request to the server is answered within the timeout.
//!
//! From the kernel side, as keepalived does: an unprivileged ICMP datagram socket
//! (`SOCK_DGRAM`/`IPPROTO_ICMP`, allowed by `net.ipv4.ping_group_range`; the kernel picks the
//! identifier and hands back only our replies), or, where that is not allowed, a raw ICMP
//! socket (`CAP_NET_RAW`), whose replies are matched by identifier and sequence here. The echo
//! header is built and read by hand: it is 8 bytes (RFC 792) and the core's ICMP views work on
//! IP packets, not on a datagram socket's payload.

use super::left;
use crate::health::state::CheckResult;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Instant;

/// Sequence numbers of this process's echoes (each check takes the next).
static SEQ: AtomicU16 = AtomicU16::new(1);
/// Bytes after the echo header.
const PAYLOAD: &[u8] = b"rvs-health-ping\0";

/// One `PING_CHECK` of `ip` (from `bind`'s address, if given).
pub fn check(ip: IpAddr, bind: Option<SocketAddr>, deadline: Instant) -> CheckResult {
    match ping(ip, bind, deadline) {
        Ok(()) => CheckResult::Success { weight: None },
        Err(why) => CheckResult::Failure(why),
    }
}

fn ones_complement(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for pair in data.chunks(2) {
        let hi = u32::from(pair.first().copied().unwrap_or(0));
        let lo = u32::from(pair.get(1).copied().unwrap_or(0));
        sum += (hi << 8) | lo;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An echo request with `id` and `seq`.
pub fn echo_request(id: u16, seq: u16) -> Vec<u8> {
    let mut p = vec![8u8, 0, 0, 0];
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(PAYLOAD);
    let c = ones_complement(&p);
    p[2..4].copy_from_slice(&c.to_be_bytes());
    p
}

/// Whether `icmp` (the ICMP message, no IP header) is the echo reply to (`id`, `seq`);
/// `id` `None` when the kernel owns identifiers (datagram socket).
pub fn is_reply(icmp: &[u8], id: Option<u16>, seq: u16) -> bool {
    let field = |i: usize| icmp.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    icmp.len() >= 8
        && icmp.first() == Some(&0)
        && id.map_or(true, |id| field(4) == Some(id))
        && field(6) == Some(seq)
}

fn ping(ip: IpAddr, bind: Option<SocketAddr>, deadline: Instant) -> Result<(), String> {
    let IpAddr::V4(_) = ip else { return Err("PING_CHECK pings IPv4 addresses only".into()) };
    let (sock, raw) = match Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::ICMPV4)) {
        Ok(s) => (s, false),
        Err(_) => match Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4)) {
            Ok(s) => (s, true),
            Err(e) => {
                return Err(format!(
                    "no ICMP socket: {e} (allow this group in net.ipv4.ping_group_range, or run with CAP_NET_RAW)"
                ))
            }
        },
    };
    if let Some(b) = bind {
        sock.bind(&SockAddr::from(SocketAddr::new(b.ip(), 0)))
            .map_err(|e| format!("bind {}: {e}", b.ip()))?;
    }
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    // A raw socket's identifier is ours to choose: the process id's low bits.
    let id = raw.then(|| (std::process::id() & 0xffff) as u16);
    let req = echo_request(id.unwrap_or(0), seq);
    // Both kinds are datagram sockets for sendto/recvfrom: std's UDP socket type drives them
    // (the port of an ICMP address is ignored).
    let sock: UdpSocket = sock.into();
    super::no_eintr(|| sock.send_to(&req, SocketAddr::new(ip, 0)))
        .map_err(|e| format!("ping {ip}: {e}"))?;
    let mut buf = [0u8; 1500];
    loop {
        let t = left(deadline).ok_or_else(|| format!("ping {ip}: no reply"))?;
        sock.set_read_timeout(Some(t)).map_err(|e| e.to_string())?;
        let (n, from) = match super::no_eintr(|| sock.recv_from(&mut buf)) {
            Ok(r) => r,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(format!("ping {ip}: no reply"))
            }
            Err(e) => return Err(format!("ping {ip}: {e}")),
        };
        let got = buf.get(..n).unwrap_or_default();
        if from.ip() != ip {
            continue;
        }
        // A raw socket hands the IP header too.
        let icmp = if raw {
            let ihl = usize::from(got.first().copied().unwrap_or(0) & 0x0f) * 4;
            got.get(ihl..).unwrap_or_default()
        } else {
            got
        };
        if is_reply(icmp, id, seq) {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn echo_requests_checksum_to_zero_and_replies_match() {
        let r = echo_request(0x1234, 7);
        assert_eq!(ones_complement(&r), 0, "a valid checksum sums to zero");
        assert_eq!(&r[..2], &[8, 0]);
        let mut reply = r.clone();
        reply[0] = 0;
        assert!(is_reply(&reply, Some(0x1234), 7));
        assert!(is_reply(&reply, None, 7));
        assert!(!is_reply(&reply, Some(0x1235), 7));
        assert!(!is_reply(&reply, None, 8));
        assert!(!is_reply(&r, None, 7), "a request is not a reply");
        assert!(!is_reply(&reply[..6], None, 7));
    }

    #[test]
    fn the_loopback_answers_and_an_unrouted_address_does_not() {
        // The kernel's own echo reply on lo (a real ICMP exchange, datagram or raw socket).
        let soon = || Instant::now() + Duration::from_secs(3);
        assert_eq!(
            check("127.0.0.1".parse().unwrap(), None, soon()),
            CheckResult::Success { weight: None }
        );
        // TEST-NET-1 with a 300 ms deadline: no reply (or no route), never a success.
        let r = check(
            "192.0.2.123".parse().unwrap(),
            None,
            Instant::now() + Duration::from_millis(300),
        );
        assert!(matches!(r, CheckResult::Failure(_)), "{r:?}");
    }
}
