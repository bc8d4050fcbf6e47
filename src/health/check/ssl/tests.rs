//! `SSL_GET` against a real TLS server on loopback: rustls's server with a self-signed
//! certificate made for the test (rcgen), answering HTTP over TLS.

use super::*;
use crate::health::md5;
use crate::health::plan::{HttpCheck, HttpProtocol};
use rustls::pki_types::PrivateKeyDer;
use rustls::{ServerConfig, ServerConnection};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;

const BODY: &[u8] = b"rs1 over tls\n";

fn server_config() -> Arc<ServerConfig> {
    let cert = rcgen::generate_simple_self_signed(vec!["rs1.example.test".to_owned()]).unwrap();
    let key = PrivateKeyDer::try_from(cert.key_pair.serialize_der()).unwrap();
    #[allow(deprecated)]
    let provider = Arc::new(ring::default_provider());
    let c = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
    Arc::new(c)
}

/// Serves `n` TLS connections with `reply`; sends (request, SNI) of each.
fn serve(reply: Vec<u8>, n: usize) -> (SocketAddr, mpsc::Receiver<(String, Option<String>)>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let cfg = server_config();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for _ in 0..n {
            let Ok((sock, _)) = l.accept() else { return };
            sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let conn = ServerConnection::new(cfg.clone()).unwrap();
            let mut tls = StreamOwned::new(conn, sock);
            let mut req = Vec::new();
            let mut b = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match tls.read(&mut b) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => req.extend_from_slice(&b[..k]),
                }
            }
            let sni = tls.conn.server_name().map(str::to_owned);
            let _ = tx.send((String::from_utf8_lossy(&req).into_owned(), sni));
            let _ = tls.write_all(&reply);
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    (addr, rx)
}

fn ok_reply() -> Vec<u8> {
    let mut r = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n".to_vec();
    r.extend_from_slice(BODY);
    r
}

fn ssl(urls: Vec<UrlCheck>, sni: bool) -> SslCheck {
    SslCheck { http: HttpCheck { urls, protocol: HttpProtocol::V10 }, sni }
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

const SECS: Duration = Duration::from_secs(5);

#[test]
fn a_self_signed_server_passes_with_the_right_digest_and_fails_with_another() {
    let mut u = url("/index.html");
    u.digest = Some(md5::digest(BODY));
    let (addr, rx) = serve(ok_reply(), 1);
    assert_eq!(
        check(&ssl(vec![u.clone()], false), addr, None, SECS),
        CheckResult::Success { weight: None }
    );
    let (req, sni) = rx.recv().unwrap();
    assert!(req.starts_with("GET /index.html HTTP/1.0\r\n"), "{req}");
    assert_eq!(sni, None, "no server name without enable_sni");
    u.digest = Some(md5::digest(b"another body"));
    let (addr, _rx) = serve(ok_reply(), 1);
    let CheckResult::Failure(why) = check(&ssl(vec![u], false), addr, None, SECS) else { panic!() };
    assert!(why.starts_with("GET /index.html (TLS): digest "), "{why}");
}

#[test]
fn status_codes_and_sni_come_through_tls() {
    let mut u = url("/");
    u.virtualhost = Some("rs1.example.test".into());
    let (addr, rx) = serve(b"HTTP/1.1 503 Busy\r\n\r\n".to_vec(), 1);
    assert_eq!(
        check(&ssl(vec![u.clone()], true), addr, None, SECS),
        CheckResult::Failure("GET / (TLS): status 503".into())
    );
    let (req, sni) = rx.recv().unwrap();
    assert_eq!(sni.as_deref(), Some("rs1.example.test"));
    assert!(req.contains("\r\nHost: rs1.example.test\r\n"), "{req}");
}

#[test]
fn a_plain_http_server_fails_the_handshake() {
    // A server that answers in clear text is not TLS: the check fails, by the handshake.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        if let Ok((mut c, _)) = l.accept() {
            let mut b = [0u8; 512];
            let _ = c.read(&mut b);
            let _ = c.write_all(b"HTTP/1.0 200 OK\r\n\r\nplain\n");
        }
    });
    let CheckResult::Failure(why) = check(&ssl(vec![url("/")], false), addr, None, SECS) else {
        panic!("clear text passed an SSL_GET")
    };
    assert!(why.starts_with("GET / (TLS): "), "{why}");
}
