use super::*;
use std::io::Cursor;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;

/// A fresh directory for one test's socket.
fn sock_path(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rvs-bird-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("bird.ctl")
}

fn reply(text: &str) -> Result<Vec<Line>, BirdError> {
    read_reply(&mut Cursor::new(text.as_bytes().to_vec()), "show protocols")
}

/// `show protocols` as BIRD 2 prints it with its default (ISO short) time format.
const PROTOCOLS: &str = "2002-Name       Proto      Table      State  Since         Info\n\
1002-device1    Device     ---        up     21:12:51.480  \n \
rvs_kernel Kernel     rvs_vips   up     21:12:51.480  \n \
bfd1       BFD        ---        up     21:12:51.480  \n \
upstream   BGP        ---        up     21:12:55.606  Established   \n \
backup     BGP        ---        start  21:12:51.480  Active        Socket: Connection refused\n\
0000 \n";

#[test]
fn the_bgp_rows_of_show_protocols_with_their_state() {
    let lines = reply(PROTOCOLS).unwrap();
    assert_eq!(lines.len(), 7);
    assert_eq!(
        bgp_sessions(&lines),
        vec![
            BgpSession {
                name: "upstream".into(),
                state: "up".into(),
                info: "Established".into(),
                established: true,
            },
            BgpSession {
                name: "backup".into(),
                state: "start".into(),
                info: "Active Socket: Connection refused".into(),
                established: false,
            },
        ]
    );
}

#[test]
fn a_since_column_with_a_date_is_two_words() {
    let text =
        "1002-upstream   BGP        ---        up     2026-12-07 21:12:55  Established\n0000 \n";
    let s = bgp_sessions(&reply(text).unwrap());
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].info, "Established");
    assert!(s[0].established);
}

#[test]
fn up_but_not_established_is_not_established() {
    // BIRD shows `up` only for an established session; the info column decides in any case.
    let text = "1002-upstream   BGP        ---        up     21:12:55.606  OpenConfirm\n0000 \n";
    assert!(!bgp_sessions(&reply(text).unwrap())[0].established);
}

#[test]
fn an_error_code_is_a_refusal_with_birds_words() {
    match reply("8001 Command too long\n") {
        Err(BirdError::Refused { line, .. }) => assert_eq!(line, "Command too long"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn replies_that_are_not_birds_protocol_are_errors() {
    for bad in ["", "hello\n", " continuation first\n", "12ab-x\n", "0001xready\n", "1002-row\n"] {
        assert!(matches!(reply(bad), Err(BirdError::Protocol(_))), "{bad:?}");
    }
}

#[test]
fn an_endless_reply_stops_at_the_line_bound() {
    let mut text = String::new();
    for _ in 0..(MAX_LINES + 5) {
        text.push_str("1002-x BGP --- up 1 Established\n");
    }
    assert!(matches!(reply(&text), Err(BirdError::Protocol(_))));
}

#[test]
fn a_huge_line_is_cut_at_the_byte_bound() {
    // One 10 kB line without a newline: read in MAX_LINE pieces, the second is not a line of
    // the protocol.
    let text = format!("1002-{}\n0000 \n", "x".repeat(10_000));
    assert!(reply(&text).is_err());
}

proptest::proptest! {
    #[test]
    fn any_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if let Ok(lines) = reply(&text) {
            let _ = bgp_sessions(&lines);
        }
    }
}

/// A peer that greets and answers like BIRD, over a real Unix socket.
#[test]
fn sessions_asks_over_the_socket() {
    let path = sock_path("asks");
    let listener = UnixListener::bind(&path).unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"0001 BIRD 2.0.12 ready.\n").unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut cmd = String::new();
        r.read_line(&mut cmd).unwrap();
        assert_eq!(cmd, "show protocols\n");
        s.write_all(PROTOCOLS.as_bytes()).unwrap();
    });
    let got = sessions(&path, Duration::from_secs(10)).unwrap();
    server.join().unwrap();
    assert_eq!(got.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["upstream", "backup"]);
}

#[test]
fn a_silent_peer_times_out_and_a_missing_one_names_the_path() {
    let path = sock_path("silent");
    match sessions(&path, Duration::from_secs(1)) {
        Err(e @ BirdError::Io { .. }) => assert!(e.to_string().contains("bird.ctl"), "{e}"),
        other => panic!("{other:?}"),
    }
    let listener = UnixListener::bind(&path).unwrap();
    let held = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        std::thread::sleep(Duration::from_secs(2));
        drop(s);
    });
    // Nothing is said: the greeting's read times out rather than waiting for ever.
    assert!(matches!(sessions(&path, Duration::from_millis(200)), Err(BirdError::Io { .. })));
    held.join().unwrap();
}
