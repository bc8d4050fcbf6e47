//! `rvsadm -L -c` against a stand-in for rvsd's control socket: the peer sends a long listing
//! chunk by chunk and sends each chunk only once rvsadm has written every row of the chunks
//! before it, so rvsadm holds at most one chunk whatever the listing's size, and what it
//! writes is byte for byte the listing printed whole.

use crate::rvsadm::conns::list_conns;
use crate::rvsadm::names::NoNames;
use crate::rvsadm::run::run;
use crate::rvsadm::ListFormat;
use rvs_core::ipvs::spec::Protocol;
use rvs_proto::model::ConnEntry;
use rvs_proto::{encode_response, read_frame, write_frame, Reply, Response};
use std::io::Write;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::{Duration, Instant};

const CHUNKS: usize = 40;
const ROWS: usize = 1000;
/// How long the peer waits for rvsadm to write a chunk's rows before it gives up.
const PRINT_DEADLINE: Duration = Duration::from_secs(30);

fn row(n: usize, local: bool) -> ConnEntry {
    let sa = |s: String| s.parse().unwrap();
    ConnEntry {
        proto: Protocol::Tcp,
        state: "ESTABLISHED".into(),
        expire_s: (n % 900) as u32,
        client: sa(format!(
            "10.{}.{}.{}:{}",
            n >> 16 & 255,
            n >> 8 & 255,
            n & 255,
            1024 + n % 60_000
        )),
        virt: sa("192.0.2.1:80".into()),
        dest: sa("192.0.2.9:80".into()),
        local: local.then(|| sa(format!("172.16.0.1:{}", 1024 + n % 60_000))),
    }
}

/// rvsadm's standard output: every write is reported as the number of lines written so far.
struct Watched {
    text: Vec<u8>,
    lines: Sender<usize>,
}

impl Write for Watched {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.text.extend_from_slice(b);
        let _ = self.lines.send(self.text.iter().filter(|&&c| c == b'\n').count());
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Serves one listing of `chunks` on `listener`, the first chunk saying `column`; each chunk
/// after the first is sent only once `printed` reports the header and every row before it.
/// Returns the chunk before which rvsadm had not written what came before, if any.
fn serve(
    listener: UnixListener,
    chunks: Vec<Vec<ConnEntry>>,
    column: Option<bool>,
    printed: Receiver<usize>,
) -> Option<usize> {
    let (mut s, _) = listener.accept().unwrap();
    read_frame(&mut s, 1 << 20).unwrap();
    let (mut seen, mut sent) = (0, 0);
    let last = chunks.len() - 1;
    for (i, conns) in chunks.into_iter().enumerate() {
        // Two header lines, then every row sent so far.
        let want = if i == 0 { 0 } else { 2 + sent };
        let until = Instant::now() + PRINT_DEADLINE;
        while seen < want {
            match printed.recv_timeout(until.saturating_duration_since(Instant::now())) {
                Ok(n) => seen = n,
                // Ends the listing early: rvsadm fails, and the test says where.
                Err(_) => return Some(i),
            }
        }
        sent += conns.len();
        let local_column = if i == 0 { column } else { None };
        let resp = Response::Ok(Reply::ConnChunk { conns, last: i == last, local_column });
        write_frame(&mut s, &encode_response(&resp)).unwrap();
    }
    None
}

fn socket(tag: &str) -> (UnixListener, PathBuf) {
    let dir = std::env::temp_dir().join(format!("rvsadm-run-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rvs.sock");
    (UnixListener::bind(&path).unwrap(), path)
}

#[test]
fn a_long_listing_is_written_chunk_by_chunk_and_byte_for_byte() {
    // DR/NAT rows only (the listing rvsadm used to hold whole), then a FULLNAT listing whose
    // one row with a local address comes in the last chunk (rvsadm used to hold until then).
    for (tag, column, local_at) in
        [("plain", false, None), ("local", true, Some(CHUNKS * ROWS - 1))]
    {
        let all: Vec<ConnEntry> = (0..CHUNKS * ROWS).map(|n| row(n, Some(n) == local_at)).collect();
        let chunks: Vec<Vec<ConnEntry>> = all.chunks(ROWS).map(<[_]>::to_vec).collect();
        let (listener, path) = socket(tag);
        let (tx, rx) = channel();
        let peer = std::thread::spawn(move || serve(listener, chunks, Some(column), rx));
        let mut out = Watched { text: Vec::new(), lines: tx };
        let argv: Vec<String> = ["rvsadm", "-L", "-c", "-n"].map(String::from).to_vec();
        let mut err = Vec::new();
        let status = run(&argv, &mut std::io::empty(), &mut out, &mut err, &path, &NoNames);
        let late = peer.join().unwrap();
        assert_eq!(late, None, "{tag}: rvsadm held the rows before chunk {late:?}");
        assert_eq!(status, 0, "{tag}: {}", String::from_utf8_lossy(&err));
        let fmt = ListFormat { numeric: true, ..ListFormat::default() };
        let whole = list_conns(&all, &fmt, &NoNames);
        assert!(String::from_utf8_lossy(&out.text) == whole, "{tag}: not the same bytes");
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
