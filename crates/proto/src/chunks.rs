//! Chunked replies: a listing that scales with the connection tables (`-L -c`, with or without
//! `--exact`, `-o`, templates) comes back as a sequence of frames rather than one.
//!
//! Owns the reading side of the sequence: [`read_conn_chunks`] takes frames, each an ordinary
//! response envelope holding [`Reply::ConnChunk`], hands each chunk's entries on as it arrives
//! and stops after the one marked `last`. An error response may end the sequence at any point
//! (the daemon lost a worker mid-listing); anything else inside the sequence, a garbled body or a
//! connection that ends before the last chunk is a typed [`FrameError`]. The writing side is the
//! daemon's (`ctrl::server`): it writes one frame per chunk with [`crate::write_frame`]. Must not
//! touch: sockets (any `Read` will do), formatting.

use crate::model::ConnEntry;
use crate::{decode_response, read_frame, ErrorCode, FrameError, Reply, Response, MAX_RESPONSE};
use std::io::{self, Read};

/// Most entries the daemon puts in one chunk; a chunk frame stays far below [`MAX_RESPONSE`].
pub const MAX_CHUNK_ENTRIES: usize = 4096;

/// How a chunked listing ended.
#[derive(Debug, PartialEq, Eq)]
pub enum ChunksEnd {
    /// Every chunk arrived, the last one marked so; `entries` in all.
    Complete {
        /// Entries received.
        entries: u64,
    },
    /// The daemon answered with an error, before or between chunks; what came before it was
    /// handed on.
    Error {
        /// Class.
        code: ErrorCode,
        /// The daemon's words.
        message: String,
    },
}

/// Reads the frames of one chunked connection listing from `r`, calling `each` with every
/// chunk's entries in order, until the chunk marked `last` or an error response.
pub fn read_conn_chunks(
    r: &mut impl Read,
    mut each: impl FnMut(Vec<ConnEntry>),
) -> Result<ChunksEnd, FrameError> {
    read_conn_chunks_with_column(r, |_, conns| each(conns))
}

/// [`read_conn_chunks`], also handing on each chunk's `local_column` (whether the listing's
/// header has the `local` column, when the daemon says so: in the first chunk).
pub fn read_conn_chunks_with_column(
    r: &mut impl Read,
    mut each: impl FnMut(Option<bool>, Vec<ConnEntry>),
) -> Result<ChunksEnd, FrameError> {
    let mut entries = 0u64;
    loop {
        let body = match read_frame(r, MAX_RESPONSE) {
            // The peer closing between frames is a truncation here: the last chunk is missing.
            Err(FrameError::Closed) => {
                return Err(FrameError::Truncated(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("the listing ended after {entries} entries, before its last chunk"),
                )))
            }
            other => other?,
        };
        match decode_response(&body)? {
            Response::Ok(Reply::ConnChunk { conns, last, local_column }) => {
                entries += conns.len() as u64;
                each(local_column, conns);
                if last {
                    return Ok(ChunksEnd::Complete { entries });
                }
            }
            Response::Error { code, message } => return Ok(ChunksEnd::Error { code, message }),
            Response::Ok(other) => {
                return Err(FrameError::Unexpected(format!(
                    "expected a connection chunk, got {}",
                    other.kind()
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{encode_response, write_frame};
    use rvs_core::ipvs::spec::Protocol;

    fn entry(n: u16) -> ConnEntry {
        ConnEntry {
            proto: Protocol::Tcp,
            state: "ESTABLISHED".into(),
            expire_s: u32::from(n),
            client: format!("10.0.0.1:{n}").parse().unwrap(),
            virt: "192.0.2.1:80".parse().unwrap(),
            dest: "192.0.2.9:80".parse().unwrap(),
            local: (n % 2 == 0).then(|| format!("172.16.0.1:{n}").parse().unwrap()),
        }
    }

    fn chunk(range: std::ops::Range<u16>, last: bool) -> Vec<u8> {
        let resp = Response::Ok(Reply::ConnChunk {
            conns: range.map(entry).collect(),
            last,
            local_column: None,
        });
        let mut wire = Vec::new();
        write_frame(&mut wire, &encode_response(&resp)).unwrap();
        wire
    }

    fn read_all(wire: &[u8]) -> (Result<ChunksEnd, FrameError>, Vec<Vec<ConnEntry>>) {
        let mut got = Vec::new();
        let end = read_conn_chunks(&mut &wire[..], |c| got.push(c));
        (end, got)
    }

    #[test]
    fn chunks_arrive_in_order_and_the_last_ends_the_listing() {
        let wire = [chunk(0..3, false), chunk(3..3, false), chunk(3..5, true), chunk(9..10, false)]
            .concat();
        let (end, got) = read_all(&wire);
        assert_eq!(end.unwrap(), ChunksEnd::Complete { entries: 5 });
        let want: Vec<Vec<ConnEntry>> =
            vec![(0..3).map(entry).collect(), vec![], (3..5).map(entry).collect()];
        assert_eq!(got, want, "the frame after the last chunk is not read");
        // An empty listing is one empty last chunk.
        assert_eq!(read_all(&chunk(0..0, true)).0.unwrap(), ChunksEnd::Complete { entries: 0 });
    }

    #[test]
    fn the_first_chunk_may_say_whether_the_header_has_the_local_column() {
        let mut wire = Vec::new();
        for (n, column) in [(0u16, Some(true)), (1, None)] {
            let resp = Response::Ok(Reply::ConnChunk {
                conns: vec![entry(n)],
                last: n == 1,
                local_column: column,
            });
            write_frame(&mut wire, &encode_response(&resp)).unwrap();
        }
        let mut got = Vec::new();
        let end = read_conn_chunks_with_column(&mut &wire[..], |c, conns| got.push((c, conns)));
        assert_eq!(end.unwrap(), ChunksEnd::Complete { entries: 2 });
        assert_eq!(got, vec![(Some(true), vec![entry(0)]), (None, vec![entry(1)])]);
        // Absent, the field is not written; a frame without it (an older rvsd) reads as None.
        let old = br#"{"version":1,"response":{"Ok":{"ConnChunk":{"conns":[],"last":true}}}}"#;
        assert!(!String::from_utf8_lossy(&chunk(0..0, true)).contains("local_column"));
        let mut wire = Vec::new();
        write_frame(&mut wire, old).unwrap();
        let mut got = Vec::new();
        let end = read_conn_chunks_with_column(&mut &wire[..], |c, conns| got.push((c, conns)));
        assert_eq!((end.unwrap(), got), (ChunksEnd::Complete { entries: 0 }, vec![(None, vec![])]));
    }

    #[test]
    fn an_error_response_ends_the_listing_after_what_came_before() {
        let err = Response::error(ErrorCode::Dataplane, "worker 1 did not answer within 5000 ms");
        let mut wire = chunk(0..2, false);
        write_frame(&mut wire, &encode_response(&err)).unwrap();
        let (end, got) = read_all(&wire);
        assert_eq!(
            end.unwrap(),
            ChunksEnd::Error {
                code: ErrorCode::Dataplane,
                message: "worker 1 did not answer within 5000 ms".into()
            }
        );
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn a_truncated_or_garbled_chunk_is_a_typed_error() {
        let wire = [chunk(0..3, false), chunk(3..6, true)].concat();
        let first = chunk(0..3, false).len();
        // Cut anywhere before the end: inside a length, inside a body, or between frames.
        for cut in [0, 2, 4, 10, first - 1, first, first + 3, wire.len() - 1] {
            let (end, _) = read_all(&wire[..cut]);
            assert!(matches!(end, Err(FrameError::Truncated(_))), "cut at {cut}: {end:?}");
        }
        // A body that is not JSON, and one of another version.
        let mut garbled = chunk(0..1, false);
        let body_start = 4;
        garbled[body_start] = b'#';
        let (end, _) = read_all(&garbled);
        assert!(matches!(end, Err(FrameError::Malformed(_))), "{end:?}");
        let mut v2 = Vec::new();
        write_frame(&mut v2, br#"{"version":2,"response":{"Ok":"Done"}}"#).unwrap();
        assert!(matches!(read_all(&v2).0, Err(FrameError::Version { got: 2 })));
        // A chunk whose entries have the wrong shape.
        let mut shape = Vec::new();
        let bad = br#"{"version":1,"response":{"Ok":{"ConnChunk":{"conns":[{"proto":"Tcp"}],"last":true}}}}"#;
        write_frame(&mut shape, bad).unwrap();
        assert!(matches!(read_all(&shape).0, Err(FrameError::Malformed(_))));
        // Another reply inside the sequence.
        let mut other = chunk(0..1, false);
        write_frame(&mut other, &encode_response(&Response::Ok(Reply::Done))).unwrap();
        let (end, got) = read_all(&other);
        let e = end.unwrap_err();
        assert!(matches!(e, FrameError::Unexpected(_)), "{e}");
        assert_eq!(e.code(), ErrorCode::BadFrame);
        assert_eq!(got.len(), 1);
        // An oversized length is refused before its body.
        let huge = ((MAX_RESPONSE + 1) as u32).to_be_bytes();
        assert!(matches!(read_all(&huge).0, Err(FrameError::TooLarge { .. })));
    }
}
