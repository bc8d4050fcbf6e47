//! What rvsnet and `-F` may touch: the director's plumbing as the table sees it.
//!
//! Owns the checks between the service table and the director's own addresses and ports: the
//! addresses the table and the SNAT rules use (rvsnet may not delete them from under a
//! service) and the port names `-P ... -F ifname` may give. Must not touch: the plumbing itself
//! (the data plane's `Dataplane::net` changes it), the table.

use super::control::{Control, Dataplane};
use crate::proto::change::Change;
use std::net::IpAddr;

impl<D: Dataplane> Control<D> {
    /// Addresses the table and the SNAT rules use, with what uses them (rvsnet may not delete
    /// them from under a service).
    pub(super) fn addrs_in_use(&self) -> Vec<(IpAddr, String)> {
        let mut out = Vec::new();
        for s in self.table.services() {
            let k = s.spec.key;
            out.push((k.addr, format!("the VIP of {} {}:{}", k.proto.name(), k.addr, k.port)));
        }
        for l in self.table.local_addrs() {
            for a in &l.laddrs {
                let k = l.key;
                out.push((
                    a.spec.addr,
                    format!("a local address of {} {}:{}", k.proto.name(), k.addr, k.port),
                ));
            }
        }
        for r in &self.table.snat_rules() {
            out.push((r.out_addr, "the source address of a SNAT rule".to_string()));
        }
        out
    }

    /// `-F ifname` must name one of rvsd's ports (when the data plane says which they are).
    pub(super) fn check_ifnames(&self, cmds: &[Change]) -> Result<(), String> {
        let Some(ports) = self.dp.port_names() else { return Ok(()) };
        for c in cmds {
            if let Change::AddLocalAddr { laddr, .. } = c {
                if let Some(name) = &laddr.ifname {
                    if !ports.iter().any(|p| p == name) {
                        return Err(format!(
                            "-F {name}: rvsd has no port named `{name}`; its ports are: {}",
                            ports.join(", ")
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}
