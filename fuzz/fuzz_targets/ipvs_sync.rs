//! The IPVS sync codec (`ipvs::sync`) on any bytes: a datagram as a peer director would send
//! it. Nothing may panic; an entry that decodes must encode again into the same entry.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rvs_core::ipvs::sync::{Message, MessageBuilder};

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = Message::parse(data) else {
        return;
    };
    let mut entries = msg.entries();
    let mut out = MessageBuilder::new(msg.syncid(), 65535).expect("65535 is a valid limit");
    for conn in entries.by_ref().flatten() {
        // A decoded entry is valid; one message of 65535 bytes holds the 255 a count allows.
        out.push(&conn).expect("a decoded entry encodes");
        let again = Message::parse(out.bytes()).expect("an encoded message parses");
        let last = again.entries().last().expect("one entry at least");
        assert_eq!(last.as_ref(), Ok(&conn), "round trip");
    }
    let _ = entries.ignored_options();
});
