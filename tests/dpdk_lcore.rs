//! Launching closures on worker lcores: results, panics caught as errors, refusals; and the
//! once-per-process EAL guard.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use rvs::dpdk::{launch, worker_lcores, DpdkError, Eal};

#[test]
fn launch_runs_on_worker_and_reports_panics() {
    let _eal = common::eal("lcore", &[]);
    assert!(matches!(
        Eal::init(&common::eal_args("lcore-again", &[])),
        Err(DpdkError::EalAlreadyInitialised)
    ));
    assert_eq!(Eal::lcore_count(), 2);
    assert_eq!(Eal::main_lcore(), 0);
    assert_eq!(Eal::current_lcore(), Some(0));
    assert_eq!(worker_lcores().collect::<Vec<_>>(), [1]);
    assert!(Eal::tsc_hz() > 0);
    let t0 = Eal::tsc();
    assert!(Eal::tsc() >= t0);

    let seen = Arc::new(AtomicU32::new(u32::MAX));
    let s = Arc::clone(&seen);
    let h = launch(1, move || {
        s.store(Eal::current_lcore().unwrap_or(u32::MAX - 1), Ordering::SeqCst);
        42
    })
    .unwrap();
    assert_eq!(h.lcore(), 1);
    assert_eq!(h.join().unwrap(), 42);
    assert_eq!(seen.load(Ordering::SeqCst), 1, "the closure ran on lcore 1");

    let h = launch(1, || panic!("worker exploded")).unwrap();
    match h.join() {
        Err(DpdkError::LcorePanicked { lcore: 1, message }) => {
            assert_eq!(message, "worker exploded")
        }
        other => panic!("expected a panic report, got {other:?}"),
    }

    // The lcore is usable again after a panic.
    assert_eq!(launch(1, || 7).unwrap().join().unwrap(), 7);

    assert!(matches!(launch(0, || 0), Err(DpdkError::Launch { lcore: 0, .. })));
    assert!(matches!(launch(5, || 0), Err(DpdkError::Launch { lcore: 5, .. })));

    // Launch from a non-main thread is refused.
    let r = std::thread::spawn(|| launch(1, || 0).map(|_| ()).map_err(|e| e.to_string()));
    let err = r.join().unwrap().unwrap_err();
    assert!(err.contains("main lcore"), "{err}");
}
