//! Per-service admission limits through the whole pipeline (see `crate::ipvs::limits`): the
//! connection limit, the per-source rate, the allow and deny lists, a live change, and the
//! lists in front of the SYN proxy. Every refusal is counted by reason and leaves the dest
//! counts and the table as they were.

use super::common::*;
use crate::ipvs::spec::ServiceLimits;

fn limited_lab(limits: ServiceLimits, persistence: Option<u32>) -> Lab {
    let mut s = svc(Protocol::Tcp, 80, "rr");
    s.set_limits(limits);
    s.persistence = persistence;
    let d = [dest(2, 80, spec::FwdMethod::Route, 1)];
    Lab::new(snapshot(&[(&s, &d)], &[], &[]))
}

/// A SYN from `src:port` to the VIP; whether it was forwarded.
fn syn(lab: &mut Lab, src: Ipv4Addr, port: u16) -> bool {
    !lab.send(0, &from_client(&tcp(src, port, VIP, 80, SYN, 1, 0, &[]))).is_empty()
}

fn prefixes(list: &[&str]) -> Vec<spec::Ipv4Prefix> {
    list.iter().map(|p| p.parse().unwrap()).collect()
}

#[test]
fn the_connection_limit_holds_and_frees_with_departures() {
    let mut lab = limited_lab(ServiceLimits { conn_limit: 5, ..Default::default() }, None);
    let admitted = (0..8).filter(|i| syn(&mut lab, CLIENT, 40000 + i)).count();
    assert_eq!(admitted, 5);
    assert_eq!(lab.drops(R::ServiceConnLimit), 3);
    assert_eq!(lab.lb().conn_count(), 5);
    assert_eq!(lab.dest_counts(2), (0, 5), "the refused SYNs were never scheduled");
    // A retransmitted SYN of an admitted connection is its own, not a new one.
    assert!(syn(&mut lab, CLIENT, 40000));
    // Once the embryos expire the service takes new connections again.
    lab.advance(61);
    assert_eq!(lab.lb().conn_count(), 0);
    assert_eq!(lab.dest_counts(2), (0, 0));
    assert!((0..5).all(|i| syn(&mut lab, CLIENT, 41000 + i)));
    assert!(!syn(&mut lab, CLIENT, 41005));
    assert_eq!(lab.drops(R::ServiceConnLimit), 4);
}

#[test]
fn a_refused_connection_creates_no_persistence_template() {
    let mut lab = limited_lab(ServiceLimits { conn_limit: 2, ..Default::default() }, Some(300));
    assert!(syn(&mut lab, CLIENT, 40000) && syn(&mut lab, CLIENT, 40001));
    assert!(!syn(&mut lab, Ipv4Addr::new(10, 0, 0, 60), 40000), "another client, no template");
    assert_eq!(lab.states().len(), 2);
    assert_eq!(lab.lb().conn_count(), 3, "two connections and one template");
    assert_eq!(lab.drops(R::ServiceConnLimit), 1);
}

#[test]
fn a_rate_limited_source_is_dropped_while_another_is_served() {
    let l = ServiceLimits { source_rate: 2, source_burst: 3, ..Default::default() };
    let mut lab = limited_lab(l, None);
    let admitted = (0..10).filter(|i| syn(&mut lab, CLIENT, 40000 + i)).count();
    assert_eq!(admitted, 3, "the burst");
    assert_eq!(lab.drops(R::SourceRateLimited), 7);
    let other = Ipv4Addr::new(10, 0, 0, 60);
    assert!(syn(&mut lab, other, 40000), "another source has its own bucket");
    assert_eq!(lab.dest_counts(2), (0, 4));
    lab.now = lab.now + core::time::Duration::from_secs(1);
    let admitted = (10..20).filter(|i| syn(&mut lab, CLIENT, 40000 + i)).count();
    assert_eq!(admitted, 2, "two tokens a second");
    assert_eq!(lab.drops(R::SourceRateLimited), 15);
}

#[test]
fn deny_wins_and_an_allow_list_admits_only_its_prefixes() {
    let l = ServiceLimits {
        allow: prefixes(&["10.0.0.0/24"]),
        deny: prefixes(&["10.0.0.50/32"]),
        ..Default::default()
    };
    let mut lab = limited_lab(l, None);
    assert!(!syn(&mut lab, CLIENT, 40000), "10.0.0.50 is denied though inside the allow list");
    assert!(syn(&mut lab, Ipv4Addr::new(10, 0, 0, 60), 40000));
    assert!(!syn(&mut lab, Ipv4Addr::new(10, 1, 0, 1), 40000), "outside the allow list");
    assert_eq!(lab.drops(R::SourceDenied), 1);
    assert_eq!(lab.drops(R::SourceNotAllowed), 1);
    assert_eq!(lab.lb().conn_count(), 1);
    assert_eq!(lab.dest_counts(2), (0, 1));
}

#[test]
fn a_live_change_applies_and_lifts_the_limits() {
    let l = ServiceLimits { deny: prefixes(&["10.0.0.0/16"]), ..Default::default() };
    let mut lab = limited_lab(l, None);
    assert!(!syn(&mut lab, CLIENT, 40000));
    // The same service with other limits: one connection at most.
    let mut s = svc(Protocol::Tcp, 80, "rr");
    s.set_limits(ServiceLimits { conn_limit: 1, ..Default::default() });
    let d = [dest(2, 80, spec::FwdMethod::Route, 1)];
    lab.p.set_services(snapshot(&[(&s, &d)], &[], &[]), lab.now);
    assert!(syn(&mut lab, CLIENT, 40001), "no longer denied");
    assert!(!syn(&mut lab, CLIENT, 40002), "now limited to one");
    // And without any limit.
    let s = svc(Protocol::Tcp, 80, "rr");
    lab.p.set_services(snapshot(&[(&s, &d)], &[], &[]), lab.now);
    assert!(syn(&mut lab, CLIENT, 40003));
    assert_eq!(
        (lab.drops(R::SourceDenied), lab.drops(R::ServiceConnLimit), lab.dest_counts(2)),
        (1, 1, (0, 2))
    );
}

#[test]
fn a_denied_source_gets_no_syn_ack_from_the_syn_proxy() {
    let mut s = svc(Protocol::Tcp, 80, "rr");
    s.synproxy = true;
    s.set_limits(ServiceLimits { deny: prefixes(&["10.0.0.60/32"]), ..Default::default() });
    let d = [dest(2, 8080, spec::FwdMethod::Masq, 1)];
    let mut lab = Lab::new(snapshot(&[(&s, &d)], &[], &[]));
    assert!(!syn(&mut lab, Ipv4Addr::new(10, 0, 0, 60), 40000));
    assert_eq!(lab.drops(R::SourceDenied), 1);
    assert_eq!(lab.lb().counters().synproxy.cookies_sent, 0);
    let (port, f) = lab.one(0, &from_client(&tcp(CLIENT, 40000, VIP, 80, SYN, 1, 0, &[])));
    assert_eq!((port, seen(&f).flags), (0, SYN | ACK), "another source gets its cookie");
}

proptest! {
    /// Whatever the order of connections opened and ended, the service never holds more than
    /// its limit, every refusal is counted, and the dest counts equal the table's.
    #[test]
    fn the_limit_is_never_exceeded_and_counts_stay_exact(
        limit in 1u32..8,
        ops in prop::collection::vec((any::<bool>(), 0u16..12), 1..80),
    ) {
        let mut lab = limited_lab(ServiceLimits { conn_limit: limit, ..Default::default() }, None);
        let mut refused = 0u64;
        for (open, p) in ops {
            let port = 40000 + p;
            if open {
                let had = lab.lb().conn_count();
                let fwd = syn(&mut lab, CLIENT, port);
                if !fwd {
                    refused += 1;
                    prop_assert_eq!(had, limit);
                }
            } else {
                // The client resets: a DR connection goes to CLOSE, then expires.
                lab.send(0, &from_client(&tcp(CLIENT, port, VIP, 80, RST | ACK, 2, 1, &[])));
                lab.advance(11);
            }
            prop_assert!(lab.lb().conn_count() <= limit);
            let (a, i) = lab.dest_counts(2);
            prop_assert_eq!(a + i, lab.lb().conn_count());
        }
        prop_assert_eq!(lab.drops(R::ServiceConnLimit), refused);
    }
}
