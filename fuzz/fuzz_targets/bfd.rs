//! The BFD control packet codec and a session on any bytes: parsing never panics, what parses
//! emits the same mandatory section, and a session fed the parsed packets (at advancing times)
//! never panics either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rvs_core::bfd::{packet, Config, ControlPacket, Session};
use rvs_core::time::Instant;

fuzz_target!(|data: &[u8]| {
    let cfg = Config {
        min_tx: 10_000,
        min_rx: 10_000,
        idle_tx: 1_000_000,
        detect_mult: 3,
        passive: false,
    };
    let mut s = Session::new(cfg, 1, 7, Instant::ZERO);
    let mut t = 0u64;
    // The input is a sequence of datagrams, each prefixed by its length (one byte) and a
    // time step in milliseconds (one byte).
    let mut rest = data;
    while let [len, step, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (dgram, next) = tail.split_at(n);
        rest = next;
        t += u64::from(*step);
        let now = Instant::from_millis(t);
        let _ = s.tick(now);
        if let Ok(p) = ControlPacket::parse(dgram) {
            let mut want = [0u8; packet::LEN];
            want.copy_from_slice(&dgram[..packet::LEN]);
            want[3] = packet::LEN as u8;
            assert_eq!(p.to_bytes(), want);
            let _ = s.receive(&p, now);
        }
        let _ = s.transmit(now);
        let _ = s.next_deadline();
    }
});
