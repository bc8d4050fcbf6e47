//! TUN (`-i`): the request is wrapped in IP-in-IP for the real server.

use super::common::*;

#[test]
fn tun_ipip_wraps_the_request_for_the_real_server() {
    let s = svc(Protocol::Tcp, 80, "rr");
    let u = svc(Protocol::Udp, 53, "rr");
    let d = [dest(3, 80, spec::FwdMethod::Tunnel, 1)];
    let ud = [dest(3, 53, spec::FwdMethod::Tunnel, 1)];
    let mut lab = Lab::new(snapshot(&[(&s, &d), (&u, &ud)], &[], &[]));
    let syn = tcp(CLIENT, 50000, VIP, 80, SYN, 9, 0, &[]);
    for (inner_in, state) in [
        (syn.clone(), "SYN_RECV"),
        (tcp(CLIENT, 50000, VIP, 80, ACK, 10, 1, b"hello"), "ESTABLISHED"),
    ] {
        let (port, f) = lab.one(0, &from_client(&inner_in));
        assert_eq!(port, 1);
        assert_eq!((mac(&f[0..6]), mac(&f[6..12])), (rs_mac(3), MAC1));
        let outer = &f[14..34];
        assert_eq!(outer[0], 0x45);
        assert_eq!(naive_checksum(outer), 0, "outer IPv4 checksum");
        assert_eq!(outer[9], 4, "IP-in-IP");
        assert_eq!(&outer[12..16], &HOST1.octets(), "from the director's address toward the RS");
        assert_eq!(&outer[16..20], &rs(3).octets());
        assert_eq!(usize::from(u16::from_be_bytes([outer[2], outer[3]])), f.len() - 14);
        // The inner packet: the original, TTL one lower, checksums valid.
        let mut inner_frame = f[..14].to_vec();
        inner_frame.extend_from_slice(&f[34..]);
        let inner = seen(&inner_frame);
        assert_eq!(
            (inner.src, inner.sport, inner.dst, inner.dport, inner.ttl),
            (CLIENT, 50000, VIP, 80, 63)
        );
        assert_eq!(&f[34 + 20..], &inner_in[20..], "transport untouched");
        assert_eq!(lab.states(), [state]);
    }
    assert_eq!(lab.dest_counts(3), (1, 0));
    let (_, f) = lab.one(0, &from_client(&udp(CLIENT, 5000, VIP, 53, b"q")));
    assert_eq!(f[14 + 9], 4);
    assert_eq!(&f[34 + 20 + 8..], b"q");
}
