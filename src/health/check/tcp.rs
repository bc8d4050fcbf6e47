//! `TCP_CHECK`: the server accepts a connection within the timeout; the probe closes it at once.

use super::left;
use crate::health::state::CheckResult;
use socket2::{Domain, SockAddr, Socket, Type};
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

/// A TCP connection to `target` from `bind` (if given), established before `deadline`.
pub fn connect(
    target: SocketAddr,
    bind: Option<SocketAddr>,
    deadline: Instant,
) -> Result<TcpStream, String> {
    let sock = Socket::new(Domain::for_address(target), Type::STREAM, None)
        .map_err(|e| format!("socket: {e}"))?;
    if let Some(b) = bind {
        // A fixed source port may still be in TIME_WAIT from the previous check.
        let _ = sock.set_reuse_address(true);
        sock.bind(&SockAddr::from(b)).map_err(|e| format!("bind {b}: {e}"))?;
    }
    let t = left(deadline).ok_or("timed out")?;
    sock.connect_timeout(&SockAddr::from(target), t).map_err(|e| {
        if e.kind() == std::io::ErrorKind::TimedOut || e.kind() == std::io::ErrorKind::WouldBlock {
            format!("connect {target}: timed out")
        } else {
            format!("connect {target}: {e}")
        }
    })?;
    Ok(sock.into())
}

/// One `TCP_CHECK`.
pub fn check(target: SocketAddr, bind: Option<SocketAddr>, deadline: Instant) -> CheckResult {
    match connect(target, bind, deadline) {
        Ok(s) => {
            let _ = s.shutdown(std::net::Shutdown::Both);
            CheckResult::Success { weight: None }
        }
        Err(e) => CheckResult::Failure(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::time::Duration;

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(2)
    }

    #[test]
    fn listening_port_is_up_closed_port_is_down() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        assert_eq!(check(addr, None, soon()), CheckResult::Success { weight: None });
        drop(l);
        let CheckResult::Failure(why) = check(addr, None, soon()) else { panic!("closed port up") };
        assert!(why.contains("refused"), "{why}");
    }

    #[test]
    fn bindto_sets_the_source_address() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let src: SocketAddr = "127.0.0.2:0".parse().unwrap();
        assert_eq!(check(addr, Some(src), soon()), CheckResult::Success { weight: None });
        let (_, peer) = l.accept().unwrap();
        assert_eq!(peer.ip(), src.ip());
        // A source address that is not ours fails with the bind error.
        let bad: SocketAddr = "192.0.2.1:0".parse().unwrap();
        let CheckResult::Failure(why) = check(addr, Some(bad), soon()) else { panic!() };
        assert!(why.starts_with("bind 192.0.2.1:0"), "{why}");
    }

    #[test]
    fn silent_address_fails_at_the_deadline() {
        // TEST-NET-1 is not routed: the SYN goes nowhere (or the route is refused at once); the
        // connect ends at the deadline, not the kernel's minutes of SYN retries.
        let r = check(
            "192.0.2.1:80".parse().unwrap(),
            None,
            Instant::now() + Duration::from_millis(300),
        );
        let CheckResult::Failure(why) = r else { panic!("{r:?}") };
        assert!(why.starts_with("connect 192.0.2.1:80: "), "{why}");
    }

    #[test]
    fn a_deadline_already_passed_fails_without_connecting() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let past = Instant::now();
        while Instant::now() == past {
            std::hint::spin_loop();
        }
        assert_eq!(check(addr, None, past), CheckResult::Failure("timed out".into()));
        l.set_nonblocking(true).unwrap();
        assert!(l.accept().is_err(), "a connection was made after the deadline");
    }
}
