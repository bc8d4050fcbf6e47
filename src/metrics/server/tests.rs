//! The exporter's answers and its bounds: idle, trickling, oversized and non-reading clients
//! never keep a scrape out, the connection count stays within its limit, and a stop does not
//! wait for anyone.

use super::*;
use crate::metrics::Family;

struct Fixed;
impl MetricsSource for Fixed {
    fn families(&self) -> Vec<prometheus::proto::MetricFamily> {
        let mut f = Family::counter("rvs_fixed_total", "A fixed counter.");
        f.sample(&[("core", "0")], 42.0);
        vec![f.build()]
    }
}

/// A source whose scrape is large (about 2 MB), so that a client that does not read fills its
/// socket buffers long before the response is written.
struct Large;
impl MetricsSource for Large {
    fn families(&self) -> Vec<prometheus::proto::MetricFamily> {
        let mut f = Family::gauge("rvs_large", "Many samples.");
        for i in 0..40_000 {
            f.sample(&[("i", &i.to_string())], 1.0);
        }
        vec![f.build()]
    }
}

fn local() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn request(addr: SocketAddr, raw: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(raw).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn get(addr: SocketAddr, path: &str) -> String {
    request(addr, format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
}

#[test]
fn serves_metrics_and_404() {
    let ex = Exporter::start(local(), Arc::new(Fixed)).unwrap();
    let body = get(ex.local_addr(), "/metrics");
    assert!(body.starts_with("HTTP/1.0 200"), "{body}");
    assert!(body.contains("Content-Type: text/plain; version=0.0.4"), "{body}");
    assert!(body.contains("rvs_fixed_total{core=\"0\"} 42"), "{body}");
    let nf = get(ex.local_addr(), "/nope");
    assert!(nf.starts_with("HTTP/1.0 404"), "{nf}");
    let post = request(ex.local_addr(), b"POST /metrics HTTP/1.0\r\n\r\n");
    assert!(post.starts_with("HTTP/1.0 405"), "{post}");
    let bad = request(ex.local_addr(), b"\x00\x01garbage\r\n\r\n");
    assert!(bad.starts_with("HTTP/1.0 400"), "{bad}");
}

#[test]
fn bind_failure_names_the_fix() {
    let ex = Exporter::start(local(), Arc::new(Fixed)).unwrap();
    let err = Exporter::start(ex.local_addr(), Arc::new(Fixed)).err().unwrap();
    assert!(err.to_string().contains("[metrics] listen"), "{err}");
}

#[test]
fn a_huge_header_is_refused_and_the_next_scrape_answers() {
    let ex = Exporter::start(local(), Arc::new(Fixed)).unwrap();
    let mut raw = b"GET /metrics HTTP/1.0\r\nX-Big: ".to_vec();
    raw.extend(vec![b'a'; 64 * 1024]);
    raw.extend_from_slice(b"\r\n\r\n");
    // The server answers 431 once it has read its limit and closes; the rest of our write may
    // then fail with a reset, which is fine.
    let mut s = TcpStream::connect(ex.local_addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let _ = s.write_all(&raw);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out);
    assert!(out.is_empty() || out.starts_with("HTTP/1.0 431"), "{out}");
    assert!(get(ex.local_addr(), "/metrics").contains("rvs_fixed_total"));
}

#[test]
fn idle_and_trickling_clients_never_keep_a_scrape_out() {
    let limits = Limits { max_connections: 4, ..Limits::default() };
    let ex = Exporter::start_with(local(), Arc::new(Fixed), limits).unwrap();
    // Many more idle connections than slots, one of them trickling a byte now and then.
    let mut idle: Vec<TcpStream> =
        (0..40).map(|_| TcpStream::connect(ex.local_addr()).unwrap()).collect();
    idle[0].write_all(b"G").unwrap();
    for round in 0..5 {
        let body = get(ex.local_addr(), "/metrics");
        assert!(body.contains("rvs_fixed_total"), "scrape {round} under abuse: {body}");
        assert!(ex.open_connections() <= 4, "{} connections open", ex.open_connections());
        let _ = idle[0].write_all(b"E");
    }
    assert!(ex.evicted() > 0, "the idle connections had to be evicted to answer");
}

#[test]
fn a_client_that_never_reads_neither_blocks_scrapes_nor_the_stop() {
    let limits = Limits { max_connections: 2, ..Limits::default() };
    let ex = Exporter::start_with(local(), Arc::new(Large), limits).unwrap();
    let mut stuck = TcpStream::connect(ex.local_addr()).unwrap();
    stuck.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    // Wait (event: the server took the request and is blocked writing) until the connection
    // is registered, then scrape beside it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while ex.open_connections() == 0 {
        assert!(Instant::now() < deadline, "the stuck client was never accepted");
        std::thread::sleep(Duration::from_millis(10));
    }
    let body = get(ex.local_addr(), "/metrics");
    assert!(body.contains("rvs_large{i=\"39999\"} 1"), "a scrape beside a non-reader");
    // Start another non-reader, then stop: the drop returns while both still hold their
    // sockets, and their connections are shut down.
    let mut stuck2 = TcpStream::connect(ex.local_addr()).unwrap();
    stuck2.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    drop(ex);
    stuck.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut sink = Vec::new();
    // The connection ends (EOF or reset) instead of staying open.
    let _ = stuck.read_to_end(&mut sink);
    drop(stuck2);
}

#[test]
fn request_heads_parse_as_routes() {
    assert_eq!(parse_head(b"GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"), Ok(Some(Route::Metrics)));
    assert_eq!(parse_head(b"GET /metrics?x=1 HTTP/1.0\r\n\r\n"), Ok(Some(Route::Metrics)));
    assert_eq!(parse_head(b"GET / HTTP/1.0\r\n\r\n"), Ok(Some(Route::Index)));
    assert_eq!(parse_head(b"GET /metrics HTTP/1.0\r\nHost"), Ok(None));
    assert_eq!(parse_head(b"HEAD / HTTP/1.0\r\n\r\n"), Ok(Some(Route::BadMethod)));
    assert_eq!(parse_head(b"\x01 / HTTP/1.0\r\n\r\n"), Err(ReadError::Malformed));
    let many: String = (0..100).map(|i| format!("H{i}: v\r\n")).collect();
    let head = format!("GET / HTTP/1.0\r\n{many}\r\n");
    assert_eq!(parse_head(head.as_bytes()), Err(ReadError::TooLarge));
}
