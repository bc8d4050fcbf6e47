//! The capture the black-box run replays into rvsd (perf/blackbox.sh): for `flows` TCP flows to
//! the VIP, every flow's SYN in one seeded shuffle, then every flow's ACK (6 bytes of data) in
//! another, then `passes - 1` more shuffles of ACKs. Replayed forever by `net_pcap` with
//! `infinite_rx=1`, the first SYN pass opens the connections (FULLNAT picks a local address
//! and port for each); from then on a SYN of an established flow is forwarded on its
//! connection like any other packet, so the steady state is established traffic over all the
//! flows in random order (half SYNs, half ACKs with the default one ACK pass).
//!
//! The frames are the generator's templates (see `frames`), addressed to `dst_mac`.

use crate::frames::{Kind, Template, FRAME_LEN};
use crate::order;
use anyhow::{Context, Result};
use pcap_file::pcap::{PcapPacket, PcapWriter};
use std::io::BufWriter;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

/// Writes the capture to `out`; returns the frames written.
pub fn write(
    out: &Path,
    flows: u64,
    passes: u32,
    seed: u64,
    dst_mac: [u8; 6],
    vip: Ipv4Addr,
    vport: u16,
) -> Result<u64> {
    let src_mac = crate::setup::GW_MAC;
    let syn = Template::new(Kind::Syn, dst_mac, src_mac, vip, vport);
    let ack = Template::new(Kind::Ack, dst_mac, src_mac, vip, vport);
    let f = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut w = PcapWriter::new(BufWriter::with_capacity(1 << 20, f))
        .with_context(|| format!("writing {}", out.display()))?;
    let mut frame = [0u8; FRAME_LEN];
    let mut n = 0u64;
    for pass in 0..=passes {
        let t = if pass == 0 { &syn } else { &ack };
        for i in order::shuffled(flows, seed, u64::from(pass)) {
            t.write(&mut frame, u64::from(i));
            let ts = Duration::from_nanos(n * 100);
            w.write_packet(&PcapPacket::new(ts, FRAME_LEN as u32, &frame))
                .with_context(|| format!("writing {}", out.display()))?;
            n += 1;
        }
    }
    Ok(n)
}
