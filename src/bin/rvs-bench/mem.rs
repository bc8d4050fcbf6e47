//! Memory per connection, without DPDK: one core's balancer with a table of `n` entries is
//! filled with `n` established FULLNAT connections (SYN then ACK of each flow, through
//! `Balancer::input_checked`), and the process's resident memory is read before and after.

use crate::frames::{Kind, Template, FRAME_LEN};
use crate::run::rss_bytes;
use crate::setup::{self, Mode, GW_MAC, VIP, VPORT};
use anyhow::{bail, Result};
use rvs::buf::{PacketBuf, VecBuf};
use rvs::ipvs::balancer::{FixedEgress, Verdict};
use std::net::Ipv4Addr;

/// What the memory scenario found.
#[derive(Debug, Clone)]
pub struct MemReport {
    /// Connections established.
    pub conns: u64,
    /// Bytes of the table as it accounts for itself (slab, index, wheel).
    pub table_bytes: u64,
    /// Table capacity.
    pub capacity: u64,
    /// Resident memory before the balancer was built.
    pub rss_before: u64,
    /// Resident memory with the table full.
    pub rss_after: u64,
    /// Seconds spent filling.
    pub fill_secs: f64,
    /// Packets the balancer forwarded while filling (two per connection when all went well).
    pub forwarded: u64,
}

/// Fills a table of `n` entries with `n` FULLNAT connections.
pub fn measure(n: u64) -> Result<MemReport> {
    let rss_before = rss_bytes();
    let cap = u32::try_from(n).unwrap_or(u32::MAX);
    let mut lb = setup::balancer(cap, None)?;
    let egress = FixedEgress { mtu: 1500, source: Some(Ipv4Addr::new(192, 168, 1, 1)) };
    lb.set_services(setup::services(Mode::FullNat, "rr")?, rvs::time::now(), &egress);
    if lb.config_errors() > 0 {
        bail!("the balancer refused part of the services ({} errors)", lb.config_errors());
    }
    let mac = [2, 0, 0, 0, 0, 1];
    let syn = Template::new(Kind::Syn, mac, GW_MAC, VIP, VPORT);
    let ack = Template::new(Kind::Ack, mac, GW_MAC, VIP, VPORT);
    let t = std::time::Instant::now();
    let mut ok = 0u64;
    for i in 0..n {
        for tpl in [&syn, &ack] {
            let mut b = VecBuf::with_capacity(128, 256);
            if let Ok(bytes) = b.append(FRAME_LEN) {
                tpl.write(bytes, i);
            }
            let _ = b.trim(tpl.padding());
            match crate::run::input_checked(&mut lb, b) {
                Verdict::Forward { .. } => ok += 1,
                Verdict::Drop { reason, .. } if i == 0 => {
                    eprintln!("first flow dropped: {reason:?}")
                }
                _ => {}
            }
        }
    }
    if ok / 2 < n {
        eprintln!("note: {} of {n} connections forwarded both packets", ok / 2);
    }
    Ok(MemReport {
        conns: u64::from(lb.conn_count()),
        table_bytes: lb.conn_table_bytes() as u64,
        capacity: u64::from(lb.conn_capacity()),
        rss_before,
        rss_after: rss_bytes(),
        fill_secs: t.elapsed().as_secs_f64(),
        forwarded: ok,
    })
}
