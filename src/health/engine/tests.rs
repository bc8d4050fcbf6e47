use super::*;
use crate::health::plan::{CheckKind, CheckerPlan, SorryPlan, Timing};
use crate::ipvs::spec::Protocol;
use std::net::SocketAddr;

fn key() -> ServiceKey {
    ServiceKey { proto: Protocol::Tcp, addr: "10.0.0.100".parse().unwrap(), port: 80 }
}

fn timing() -> Timing {
    Timing {
        delay_loop: Duration::from_secs(5),
        timeout: Duration::from_secs(1),
        retry: 0,
        delay_before_retry: Duration::from_secs(1),
        warmup: Duration::ZERO,
    }
}

fn dest(last: u8, weight: u32) -> DestPlan {
    let addr: IpAddr = format!("10.0.0.{last}").parse().unwrap();
    DestPlan {
        spec: DestSpec { weight, ..DestSpec::new(addr, 80) },
        inhibit_on_failure: false,
        alpha: false,
        notify_up: None,
        notify_down: None,
        checkers: vec![CheckerPlan {
            kind: CheckKind::Tcp,
            timing: timing(),
            target: SocketAddr::new(addr, 80),
            bind: None,
            alpha: false,
        }],
    }
}

fn service(dests: Vec<DestPlan>) -> ServicePlan {
    ServicePlan {
        key: key(),
        quorum: 1,
        hysteresis: 0,
        quorum_up: None,
        quorum_down: None,
        sorry: None,
        dests,
    }
}

fn engine(s: ServicePlan) -> Engine {
    Engine::new(&HealthPlan { services: vec![s], ..Default::default() }, Instant::ZERO, &mut |_| {
        Duration::ZERO
    })
}

fn id(dest: usize) -> CheckId {
    CheckId { service: 0, dest, checker: 0 }
}

fn run(e: &mut Engine, dest: usize, now: u64, r: CheckResult) -> Vec<Action> {
    e.start(id(dest));
    e.finish(id(dest), Instant::from_secs(now), &r)
}

fn up() -> CheckResult {
    CheckResult::Success { weight: None }
}
fn down() -> CheckResult {
    CheckResult::Failure("connection refused".into())
}

fn set(last: u8, weight: u32) -> Action {
    Action::Set { service: key(), dest: DestSpec { weight, ..DestSpec::new(ip(last), 80) } }
}
fn remove(last: u8) -> Action {
    Action::Remove { service: key(), addr: ip(last), port: 80 }
}
fn ip(last: u8) -> IpAddr {
    format!("10.0.0.{last}").parse().unwrap()
}
fn scripts(a: &[Action]) -> Vec<(String, String)> {
    a.iter()
        .filter_map(|a| match a {
            Action::Run { script, env } => {
                let state = env.iter().find(|(k, _)| k == "RVS_STATE").map(|(_, v)| v.clone());
                Some((script.clone(), state.unwrap_or_default()))
            }
            _ => None,
        })
        .collect()
}
fn table_actions(a: &[Action]) -> Vec<Action> {
    a.iter().filter(|a| !matches!(a, Action::Run { .. })).cloned().collect()
}

#[test]
fn failure_removes_and_success_restores_the_configured_weight() {
    let mut e = engine(service(vec![dest(1, 3), dest(2, 1)]));
    assert_eq!(e.initial_actions(), vec![set(1, 3), set(2, 1)]);
    assert_eq!(run(&mut e, 0, 1, down()), vec![remove(1)]);
    assert!(!e.alive(0, 0));
    assert_eq!(run(&mut e, 0, 6, down()), vec![]);
    assert_eq!(run(&mut e, 0, 11, up()), vec![set(1, 3)]);
    assert!(e.alive(0, 0));
}

#[test]
fn inhibit_on_failure_sets_weight_zero_instead_of_removing() {
    let mut d = dest(1, 4);
    d.inhibit_on_failure = true;
    let mut e = engine(service(vec![d, dest(2, 1)]));
    assert_eq!(run(&mut e, 0, 1, down()), vec![set(1, 0)]);
    assert_eq!(run(&mut e, 0, 6, up()), vec![set(1, 4)]);
}

#[test]
fn alpha_dests_start_out_of_the_pool() {
    let mut d = dest(1, 2);
    d.alpha = true;
    let mut e = engine(service(vec![d, dest(2, 1)]));
    assert_eq!(e.initial_actions(), vec![remove(1), set(2, 1)]);
    assert_eq!(run(&mut e, 0, 0, up()), vec![set(1, 2)]);
}

#[test]
fn every_checker_of_a_dest_must_be_up() {
    let mut d = dest(1, 1);
    let second = d.checkers[0].clone();
    d.checkers.push(second);
    let mut e = engine(service(vec![d, dest(2, 1)]));
    let two = CheckId { service: 0, dest: 0, checker: 1 };
    e.start(two);
    assert_eq!(e.finish(two, Instant::from_secs(1), &down()), vec![remove(1)]);
    // The other checker failing too changes nothing more; one recovering is not enough.
    assert_eq!(run(&mut e, 0, 2, down()), vec![]);
    assert_eq!(run(&mut e, 0, 7, up()), vec![]);
    e.start(two);
    assert_eq!(e.finish(two, Instant::from_secs(8), &up()), vec![set(1, 1)]);
}

#[test]
fn notify_scripts_run_on_dest_transitions_only() {
    let mut d = dest(1, 1);
    d.notify_up = Some("up.sh".into());
    d.notify_down = Some("down.sh".into());
    let mut e = engine(service(vec![d, dest(2, 1)]));
    assert_eq!(scripts(&run(&mut e, 0, 0, up())), vec![]);
    let a = run(&mut e, 0, 5, down());
    assert_eq!(scripts(&a), vec![("down.sh".into(), "down".into())]);
    let Some(Action::Run { env, .. }) = a.iter().find(|a| matches!(a, Action::Run { .. })) else {
        panic!("no script")
    };
    assert!(env.contains(&("RVS_DEST".into(), "10.0.0.1:80".into())));
    assert!(env.contains(&("RVS_SERVICE".into(), "TCP 10.0.0.100:80".into())));
    assert_eq!(scripts(&run(&mut e, 0, 10, down())), vec![]);
    assert_eq!(scripts(&run(&mut e, 0, 15, up())), vec![("up.sh".into(), "up".into())]);
}

#[test]
fn quorum_with_hysteresis_and_scripts() {
    // Weights 2+2+2 = 6, quorum 4, hysteresis 1: lost below 3, gained at 5 or more.
    let mut s = service(vec![dest(1, 2), dest(2, 2), dest(3, 2)]);
    s.quorum = 4;
    s.hysteresis = 1;
    s.quorum_up = Some("qup".into());
    s.quorum_down = Some("qdown".into());
    let mut e = engine(s);
    assert!(e.quorum_up(0));
    // 4 left: still >= 3.
    assert_eq!(scripts(&run(&mut e, 0, 1, down())), vec![]);
    assert!(e.quorum_up(0));
    // 2 left: < 3, lost.
    assert_eq!(scripts(&run(&mut e, 1, 1, down())), vec![("qdown".into(), "down".into())]);
    assert!(!e.quorum_up(0));
    // Back to 4: below quorum + hysteresis = 5, still lost.
    assert_eq!(scripts(&run(&mut e, 1, 6, up())), vec![]);
    assert!(!e.quorum_up(0));
    // 6 >= 5: gained.
    assert_eq!(scripts(&run(&mut e, 0, 6, up())), vec![("qup".into(), "up".into())]);
    assert!(e.quorum_up(0));
}

#[test]
fn quorum_is_lost_at_zero_weight_even_when_hysteresis_exceeds_quorum() {
    let mut s = service(vec![dest(1, 1)]);
    s.hysteresis = 5;
    s.quorum_down = Some("qdown".into());
    let mut e = engine(s);
    assert!(e.quorum_up(0));
    assert_eq!(scripts(&run(&mut e, 0, 1, down())), vec![("qdown".into(), "down".into())]);
}

#[test]
fn sorry_server_replaces_every_real_server_while_quorum_is_lost() {
    let mut s = service(vec![dest(1, 1), dest(2, 1)]);
    s.quorum = 2;
    s.sorry = Some(SorryPlan { spec: DestSpec::new(ip(9), 80), inhibit: false });
    let mut e = engine(s);
    assert_eq!(e.initial_actions(), vec![set(1, 1), set(2, 1), remove(9)]);
    // One down: sum 1 < 2, quorum lost: the live one goes out too, the sorry server comes in.
    let a = table_actions(&run(&mut e, 0, 1, down()));
    assert_eq!(a, vec![remove(1), remove(2), set(9, 1)]);
    // Back: sorry out, both in.
    let a = table_actions(&run(&mut e, 0, 6, up()));
    assert_eq!(a, vec![set(1, 1), set(2, 1), remove(9)]);
}

#[test]
fn sorry_server_inhibit_keeps_it_at_weight_zero() {
    let mut s = service(vec![dest(1, 1)]);
    s.sorry = Some(SorryPlan { spec: DestSpec::new(ip(9), 80), inhibit: true });
    let mut e = engine(s);
    assert_eq!(e.initial_actions(), vec![set(1, 1), set(9, 0)]);
    assert_eq!(table_actions(&run(&mut e, 0, 1, down())), vec![remove(1), set(9, 1)]);
    assert_eq!(table_actions(&run(&mut e, 0, 6, up())), vec![set(1, 1), set(9, 0)]);
}

#[test]
fn all_alpha_with_sorry_server_starts_on_the_sorry_server() {
    let mut d = dest(1, 1);
    d.alpha = true;
    let mut s = service(vec![d]);
    s.sorry = Some(SorryPlan { spec: DestSpec::new(ip(9), 80), inhibit: false });
    let e = engine(s);
    assert!(!e.quorum_up(0));
    assert_eq!(e.initial_actions(), vec![remove(1), set(9, 1)]);
}

#[test]
fn dynamic_weight_sets_the_weight_and_counts_for_quorum() {
    let mut s = service(vec![dest(1, 1)]);
    s.quorum = 3;
    s.quorum_down = Some("qdown".into());
    let mut e = engine(s);
    let w = |n| CheckResult::Success { weight: Some(n) };
    // Exit status 7: weight 5.
    assert_eq!(run(&mut e, 0, 0, w(5)), vec![set(1, 5)]);
    assert_eq!(e.weight(0, 0), 5);
    // Exit status 3: weight 1, below quorum 3.
    let a = run(&mut e, 0, 5, w(1));
    assert_eq!(table_actions(&a), vec![set(1, 1)]);
    assert_eq!(scripts(&a), vec![("qdown".into(), "down".into())]);
    // Down and up again: comes back with the last dynamic weight.
    run(&mut e, 0, 10, down());
    assert_eq!(run(&mut e, 0, 15, up()), vec![set(1, 1)]);
}

#[test]
fn due_and_next_due_follow_the_checkers() {
    let mut e = engine(service(vec![dest(1, 1), dest(2, 1)]));
    assert_eq!(e.due(Instant::ZERO), vec![id(0), id(1)]);
    e.start(id(0));
    assert_eq!(e.due(Instant::ZERO), vec![id(1)]);
    e.finish(id(0), Instant::from_secs(1), &up());
    assert_eq!(e.next_due(), Some(Instant::ZERO));
    run(&mut e, 1, 2, up());
    assert_eq!(e.next_due(), Some(Instant::from_secs(6)));
    assert_eq!(e.due(Instant::from_secs(6)), vec![id(0)]);
}

#[test]
fn warmup_offsets_are_drawn_per_checker_within_warmup() {
    let mut d = dest(1, 1);
    d.checkers[0].timing.warmup = Duration::from_secs(10);
    let plan = HealthPlan { services: vec![service(vec![d])], ..Default::default() };
    let mut asked = Vec::new();
    let e = Engine::new(&plan, Instant::from_secs(100), &mut |max| {
        asked.push(max);
        Duration::from_secs(7)
    });
    assert_eq!(asked, vec![Duration::from_secs(10)]);
    assert_eq!(e.next_due(), Some(Instant::from_secs(107)));
}

#[test]
fn unknown_ids_are_ignored() {
    let mut e = engine(service(vec![dest(1, 1)]));
    let bad = CheckId { service: 3, dest: 0, checker: 0 };
    e.start(bad);
    assert_eq!(e.finish(bad, Instant::ZERO, &down()), vec![]);
    assert_eq!(e.checker(bad), None);
}
