//! The control socket's chunked connection listing: complete and in order through the real
//! server and client, never holding the control plane's lock while a client reads, and a client
//! that stops reading is cut off at the response deadline while others are served.

use super::*;
use crate::ctrl::abuse;
use crate::ctrl::conn_stream::tests::table;
use crate::ctrl::control::tests::FakeDp;
use crate::ctrl::table::ServiceTable;
use crate::ipvs::service::BuildOptions;
use crate::proto::chunks::{ChunksEnd, MAX_CHUNK_ENTRIES};
use crate::proto::client::Client;
use crate::proto::model::ConnEntry;

fn server(
    tag: &str,
    workers: &[(u32, u32)],
    deadline: Duration,
) -> (Server, PathBuf, Vec<ConnEntry>) {
    let path = std::env::temp_dir().join(format!("rvs-ctrl-{tag}-{}/rvs.sock", std::process::id()));
    let dp = FakeDp::default();
    let tables: Vec<_> =
        workers.iter().enumerate().map(|(w, &(n, slots))| table(w as u8, n, slots)).collect();
    let want = tables
        .iter()
        .flatten()
        .flatten()
        .filter_map(crate::ctrl::conn_stream::conn_entry)
        .collect();
    *dp.conns.lock().unwrap() = tables;
    let control = Control::new(ServiceTable::new(), Vec::new(), BuildOptions::default(), dp);
    let mut cfg = ServerConfig::new(&path);
    cfg.response_deadline = deadline;
    (Server::start(cfg, control).expect("server starts"), path, want)
}

#[test]
fn a_large_listing_arrives_whole_in_bounded_chunks() {
    let (server, path, want) = server(
        "chunks",
        &[(30_000, 70_000), (0, 1000), (12_345, 12_345)],
        DEFAULT_RESPONSE_DEADLINE,
    );
    let mut chunks = Vec::new();
    let end = Client::connect(&path).unwrap().list_conns(usize::MAX, |c| chunks.push(c));
    assert_eq!(end.unwrap(), ChunksEnd::Complete { entries: want.len() as u64 });
    assert!(chunks.len() > 10, "{} chunks", chunks.len());
    assert!(chunks.iter().all(|c| c.len() <= MAX_CHUNK_ENTRIES));
    assert_eq!(chunks.concat(), want);
    // The first chunk tells the header (no row has a local address here), the others nothing.
    let mut columns = Vec::new();
    let mut c = Client::connect(&path).unwrap();
    c.list_conns_with_column(usize::MAX, |column, _| columns.push(column)).unwrap();
    assert_eq!(columns.len(), chunks.len());
    assert_eq!(columns[0], Some(false));
    assert!(columns[1..].iter().all(Option::is_none), "{columns:?}");
    // The same connection answers the next request, and the per-worker limit holds; a
    // limited listing does not tell the header.
    let mut n = 0;
    assert_eq!(
        c.list_conns_with_column(10, |column, chunk| {
            assert_eq!(column, None);
            n += chunk.len()
        })
        .unwrap(),
        ChunksEnd::Complete { entries: 20 }
    );
    assert_eq!(n, 20);
    assert!(matches!(c.request(&crate::proto::Request::Status), Ok(Response::Ok(_))));
    server.stop();
}

#[test]
fn a_client_that_stops_reading_is_cut_off_and_stalls_nobody() {
    use std::io::Write;
    let deadline = Duration::from_millis(700);
    let (server, path, want) = server("stall", &[(60_000, 60_000)], deadline);
    // Ask for the listing and read nothing: the server fills the socket buffer and waits.
    let mut stalled = UnixStream::connect(&path).unwrap();
    let req = proto::encode_request(&Request::List(ListRequest::Conns { limit: usize::MAX }));
    proto::write_frame(&mut stalled, &req).unwrap();
    stalled.flush().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    // Meanwhile other clients are answered, listings included: no lock is held while it waits.
    abuse::still_serving(&path, "a stalled listing").unwrap();
    let mut n = 0;
    let end = Client::connect(&path).unwrap().list_conns(usize::MAX, |c| n += c.len());
    assert_eq!(end.unwrap(), ChunksEnd::Complete { entries: want.len() as u64 });
    // Past the deadline the stalled client is dropped: what it then reads ends before the last
    // chunk.
    std::thread::sleep(deadline * 3);
    stalled.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut got = 0;
    let end = crate::proto::chunks::read_conn_chunks(&mut stalled, |c| got += c.len());
    assert!(matches!(end, Err(FrameError::Truncated(_))), "{end:?}");
    assert!(got < want.len(), "the stalled client got all {got} entries");
    server.stop();
}
