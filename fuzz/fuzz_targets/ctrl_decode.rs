//! The control protocol's decoders on any bytes, as rvsd's socket reads them (a frame, then its
//! request) and as rvsadm reads replies. None may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rvs_proto as proto;

fuzz_target!(|data: &[u8]| {
    let _ = proto::decode_request(data);
    let _ = proto::decode_response(data);
    let mut r = data;
    while let Ok(body) = proto::read_frame(&mut r, proto::MAX_REQUEST) {
        let _ = proto::decode_request(&body);
    }
});
