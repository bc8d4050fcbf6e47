//! keepalived's remaining checkers against real servers on loopback: `SMTP_CHECK` against
//! aiosmtpd (Debian's python3-aiosmtpd), `DNS_CHECK` against dnsmasq (Debian's dnsmasq-base),
//! `PING_CHECK` against the kernel. `SSL_GET` has its TLS server in its unit tests
//! (src/health/check/ssl/tests.rs). ci/deps installs both servers; without them these tests
//! fail and say which package is missing.

use rvs::health::check::{dns, ping, smtp};
use rvs::health::plan::{DnsCheck, DnsType, SmtpCheck};
use rvs::health::state::CheckResult;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const OK: CheckResult = CheckResult::Success { weight: None };

/// A child process killed when the test ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(5)
}

fn start(program: &str, args: &[&str], package: &str) -> Server {
    match Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => Server(c),
        Err(e) => panic!("{program}: {e}: install Debian's {package} (ci/deps)"),
    }
}

#[test]
fn smtp_check_against_aiosmtpd() {
    let port = free_tcp_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let _srv = start(
        "/usr/bin/python3",
        &["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")],
        "python3-aiosmtpd",
    );
    // Wait (on the event, with a generous deadline) until it listens.
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "aiosmtpd did not listen on {addr} within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    let c = SmtpCheck { helo_name: "director.example.test".into() };
    assert_eq!(smtp::check(&c, addr, None, soon()), OK);
    // Not SMTP: an HTTP-ish server that greets with something else.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let other = l.local_addr().unwrap();
    std::thread::spawn(move || {
        use std::io::Write;
        if let Ok((mut s, _)) = l.accept() {
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        }
    });
    assert!(
        matches!(smtp::check(&c, other, None, soon()), CheckResult::Failure(w) if w.contains("not an SMTP reply"))
    );
    drop(_srv);
    assert!(
        matches!(smtp::check(&c, addr, None, soon()), CheckResult::Failure(_)),
        "a stopped server fails"
    );
}

#[test]
fn dns_check_against_dnsmasq() {
    let port = free_udp_port();
    let target: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let _srv = start(
        "/usr/sbin/dnsmasq",
        &[
            "--keep-in-foreground",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--listen-address=127.0.0.1",
            &format!("--port={port}"),
            "--address=/www.example.test/192.0.2.80",
            "--pid-file=",
            "--user=root",
        ],
        "dnsmasq-base",
    );
    let a = DnsCheck { qtype: DnsType::A, name: "www.example.test".into() };
    // dnsmasq answers once it has bound the port: retry the check until then (30 s at most).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = dns::check(&a, target, None, Instant::now() + Duration::from_millis(500));
        if r == OK {
            break;
        }
        assert!(Instant::now() < deadline, "dnsmasq never answered: {r:?}");
        // Refused (port not bound yet) fails at once: pause before asking again.
        std::thread::sleep(Duration::from_millis(50));
    }
    // A name dnsmasq does not know and has no upstream for: not NOERROR.
    let unknown = DnsCheck { qtype: DnsType::A, name: "nowhere.invalid".into() };
    let r = dns::check(&unknown, target, None, soon());
    assert!(matches!(&r, CheckResult::Failure(w) if w.contains("answered")), "{r:?}");
    drop(_srv);
    let r = dns::check(&a, target, None, Instant::now() + Duration::from_secs(1));
    assert!(matches!(r, CheckResult::Failure(_)), "a stopped server fails: {r:?}");
}

#[test]
fn ping_check_against_the_kernel() {
    assert_eq!(ping::check("127.0.0.1".parse().unwrap(), None, soon()), OK);
}
