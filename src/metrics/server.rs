//! The `/metrics` HTTP endpoint, on its own thread.

use super::{render, MetricsSource};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use thiserror::Error;

/// Why the exporter could not start.
#[derive(Debug, Error)]
pub enum MetricsError {
    /// The listen address could not be bound.
    #[error(
        "cannot listen for metrics on {addr}: {reason} (change [metrics] listen or free the port)"
    )]
    Bind { addr: SocketAddr, reason: String },
    /// The exporter thread could not be spawned.
    #[error("cannot start the metrics thread: {0}")]
    Thread(std::io::Error),
}

/// A running exporter; stops when dropped.
pub struct Exporter {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Exporter {
    /// Binds `addr` and serves `/metrics` from `source` until dropped.
    pub fn start(
        addr: SocketAddr,
        source: Arc<dyn MetricsSource>,
    ) -> Result<Exporter, MetricsError> {
        let server = tiny_http::Server::http(addr)
            .map_err(|e| MetricsError::Bind { addr, reason: e.to_string() })?;
        let addr = server.server_addr().to_ip().unwrap_or(addr);
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name("rvs-metrics".into())
            .spawn(move || serve(server, source, stop2))
            .map_err(MetricsError::Thread)?;
        Ok(Exporter { addr, stop, thread: Some(thread) })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(server: tiny_http::Server, source: Arc<dyn MetricsSource>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let req = match server.recv_timeout(Duration::from_millis(200)) {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!("metrics: accept failed: {e}");
                continue;
            }
        };
        let path = req.url().split('?').next().unwrap_or("");
        let resp = match (req.method(), path) {
            (tiny_http::Method::Get, "/metrics") => {
                let body = render(&source.families());
                let ct = tiny_http::Header::from_bytes(
                    &b"Content-Type"[..],
                    &b"text/plain; version=0.0.4; charset=utf-8"[..],
                );
                let mut r = tiny_http::Response::from_string(body);
                if let Ok(h) = ct {
                    r = r.with_header(h);
                }
                r
            }
            (tiny_http::Method::Get, "/") => tiny_http::Response::from_string(
                "rvs metrics exporter: scrape /metrics\n".to_string(),
            ),
            _ => tiny_http::Response::from_string("not found\n".to_string()).with_status_code(404),
        };
        if let Err(e) = req.respond(resp) {
            tracing::debug!("metrics: response failed: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Family;
    use std::io::{Read, Write};

    struct Fixed;
    impl MetricsSource for Fixed {
        fn families(&self) -> Vec<prometheus::proto::MetricFamily> {
            let mut f = Family::counter("rvs_fixed_total", "A fixed counter.");
            f.sample(&[("core", "0")], 42.0);
            vec![f.build()]
        }
    }

    fn get(addr: SocketAddr, path: &str) -> String {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn serves_metrics_and_404() {
        let ex = Exporter::start("127.0.0.1:0".parse().unwrap(), Arc::new(Fixed)).unwrap();
        let body = get(ex.local_addr(), "/metrics");
        assert!(body.starts_with("HTTP/1.0 200") || body.starts_with("HTTP/1.1 200"), "{body}");
        assert!(body.contains("rvs_fixed_total{core=\"0\"} 42"), "{body}");
        let nf = get(ex.local_addr(), "/nope");
        assert!(nf.contains(" 404 "), "{nf}");
    }

    #[test]
    fn bind_failure_names_the_fix() {
        let ex = Exporter::start("127.0.0.1:0".parse().unwrap(), Arc::new(Fixed)).unwrap();
        let err = Exporter::start(ex.local_addr(), Arc::new(Fixed)).err().unwrap();
        assert!(err.to_string().contains("[metrics] listen"), "{err}");
    }
}
