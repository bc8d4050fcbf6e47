//! Port set-up on a net_ring vdev: queue limits, RSS fallback, one configuration and one
//! handle per queue, stop refused while queues are out, and the rte_flow probe.

mod common;

use rvs::dpdk::{probe_steering, DpdkError, FlowSupport, Mempool, Port, PortConfig, RssState};

#[test]
fn port_configure_limits_and_flow_probe() {
    let _eal = common::eal("port", &["net_ring0"]);
    let pool = Mempool::new("port_pool", 2047, 0, 2176, None).unwrap();
    let port = Port::by_name("net_ring0").unwrap();
    assert_eq!(Port::by_id(port.id()).unwrap(), port);
    assert_eq!(port.name().unwrap(), "net_ring0");
    assert!(matches!(Port::by_id(31), Err(DpdkError::NoSuchPort { port: 31, .. })));
    let info = port.info().unwrap();
    assert_eq!(info.driver, "net_ring");

    // Beyond the device's maximum: a clear error, nothing configured.
    let too_many = PortConfig { rx_queues: info.max_rx_queues + 1, ..PortConfig::default() };
    let err = port.configure(&too_many, &pool).unwrap_err();
    match &err {
        DpdkError::TooManyQueues { dir: "rx", requested, max, .. } => {
            assert_eq!((*requested, *max), (info.max_rx_queues + 1, info.max_rx_queues));
        }
        other => panic!("expected TooManyQueues, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains(&format!("at most {} rx queue", info.max_rx_queues)), "{msg}");
    let err = port
        .configure(
            &PortConfig { tx_queues: info.max_tx_queues + 1, ..PortConfig::default() },
            &pool,
        )
        .unwrap_err();
    assert!(matches!(err, DpdkError::TooManyQueues { dir: "tx", .. }), "{err}");
    let err = port
        .configure(&PortConfig { mtu: Some(u16::MAX), ..PortConfig::default() }, &pool)
        .unwrap_err();
    assert!(matches!(err, DpdkError::BadPortConfig { .. }), "{err}");

    // Two queues with RSS asked: net_ring has no RSS, so it is reported off, not faked.
    let cfg = PortConfig {
        rx_queues: 2,
        tx_queues: 2,
        rss: true,
        tx_offloads: rvs::dpdk::port::TX_OFFLOAD_IPV4_CKSUM,
        ..PortConfig::default()
    };
    let mut cp = port.configure(&cfg, &pool).unwrap();
    let report = cp.report().clone();
    assert!(matches!(report.rss, RssState::Disabled(_)), "{report:?}");
    assert_eq!(report.tx_offloads_dropped, rvs::dpdk::port::TX_OFFLOAD_IPV4_CKSUM);
    assert_eq!(report.tx_offloads, 0);
    assert!(report.rx_desc > 0 && report.tx_desc > 0);

    assert!(matches!(port.configure(&cfg, &pool), Err(DpdkError::PortInUse { .. })));

    let rx0 = cp.rx_queue(0).unwrap();
    assert!(matches!(cp.rx_queue(0), Err(DpdkError::PortInUse { .. })));
    assert!(matches!(cp.rx_queue(2), Err(DpdkError::PortInUse { .. })));
    let tx1 = cp.tx_queue(1).unwrap();
    assert_eq!((rx0.queue_id(), tx1.queue_id()), (0, 1));
    assert!(matches!(cp.stop(), Err(DpdkError::PortInUse { .. })));

    // Queues move to other threads (Send).
    let h = std::thread::spawn(move || {
        let mut rx0 = rx0;
        let mut b: rvs::dpdk::MbufBatch = rvs::dpdk::MbufBatch::new();
        rx0.rx_burst(&mut b)
    });
    assert_eq!(h.join().unwrap(), 0);
    drop(tx1);
    assert!(cp.mac().is_ok());

    // Vdevs mostly lack rte_flow: the probe says so with the driver's reason, without crashing.
    let steering = probe_steering(cp.id(), 1);
    for s in [&steering.tcp, &steering.udp] {
        match s {
            FlowSupport::Unsupported(reason) => assert!(!reason.is_empty()),
            FlowSupport::Supported => panic!("net_ring has no rte_flow"),
        }
    }
    let bogus = probe_steering(30, 0);
    assert!(!bogus.tcp.is_supported());

    cp.stop().unwrap();
    cp.start().unwrap();
    drop(cp);
    // Closed on drop: the rx queues gave their descriptors' mbufs back.
    assert_eq!(pool.in_use_count(), 0);
}
