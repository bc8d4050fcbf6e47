//! `SSL_GET`: `HTTP_GET` over TLS (rustls): each `url` on its own TLS connection, the answer
//! checked as [`super::http`] checks it (status, digest, regex), through its [`http::exchange`].
//!
//! As keepalived without an `SSL { ca ... }` block, the server's certificate is not verified
//! against a CA (real servers behind a director often carry the public name's certificate, or
//! a self-signed one); the handshake's signature is still checked against the certificate the
//! server presents. With `enable_sni` the virtualhost is sent as the server name; otherwise no
//! name is sent. TLS 1.2 and 1.3, ring's algorithms.

use super::http::{self, Conn};
use super::{left, tcp};
use crate::health::plan::{SslCheck, UrlCheck};
use crate::health::state::CheckResult;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Accepts the server's certificate whatever it is (see the module doc), but checks the
/// handshake's signatures with it.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The client configuration, built once.
fn config() -> Result<Arc<ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            // ring rather than aws-lc-rs keeps the build free of cmake; its lack of
            // post-quantum key exchange (the deprecation) does not matter to a health check.
            #[allow(deprecated)]
            let provider = Arc::new(ring::default_provider());
            let c = ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("TLS configuration: {e}"))?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
                .with_no_client_auth();
            Ok(Arc::new(c))
        })
        .clone()
}

impl Conn for StreamOwned<ClientConnection, TcpStream> {
    fn tcp(&self) -> &TcpStream {
        &self.sock
    }
}

/// One `SSL_GET` check; each URL gets `timeout`.
pub fn check(
    s: &SslCheck,
    target: SocketAddr,
    bind: Option<SocketAddr>,
    timeout: Duration,
) -> CheckResult {
    for u in &s.http.urls {
        if let Err(e) = one(s, u, target, bind, Instant::now() + timeout) {
            return CheckResult::Failure(format!("GET {} (TLS): {e}", u.path));
        }
    }
    CheckResult::Success { weight: None }
}

fn one(
    s: &SslCheck,
    u: &UrlCheck,
    target: SocketAddr,
    bind: Option<SocketAddr>,
    deadline: Instant,
) -> Result<(), String> {
    let sock = tcp::connect(target, bind, deadline)?;
    // The handshake reads and writes inside the first write: both need the deadline.
    let t = left(deadline).ok_or("timed out")?;
    sock.set_read_timeout(Some(t)).map_err(|e| e.to_string())?;
    sock.set_write_timeout(Some(t)).map_err(|e| e.to_string())?;
    let name = match (&u.virtualhost, s.sni) {
        (Some(host), true) => ServerName::try_from(host.clone())
            .map_err(|e| format!("virtualhost `{host}` as a TLS server name: {e}"))?,
        _ => ServerName::IpAddress(target.ip().into()),
    };
    let conn = ClientConnection::new(config()?, name).map_err(|e| format!("TLS: {e}"))?;
    let mut tls = StreamOwned::new(conn, sock);
    let r = http::exchange(&mut tls, s.http.protocol, u, target, deadline);
    tls.conn.send_close_notify();
    let _ = tls.conn.complete_io(&mut tls.sock);
    r
}

#[cfg(test)]
mod tests;
