//! Which VIPs are announced: a pure function of the table, the services' policies and the
//! drain flag, so that it is tested without a kernel or a routing daemon.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use rvs_proto::announce::VipState;
use rvs_proto::model::ServiceInfo;

use super::settings::{vip_of, AnnouncePolicy};
use crate::ipvs::spec::ServiceKey;

/// Every IPv4 VIP of `services` with its state, in address order. A VIP is announced when
/// one of its services is `always`, or `healthy` (the default) with a real server of weight
/// above 0; nothing is announced while `draining`.
pub fn decide(
    services: &[ServiceInfo],
    policies: &[(ServiceKey, AnnouncePolicy)],
    draining: bool,
) -> Vec<(Ipv4Addr, VipState)> {
    let mut vips: BTreeMap<Ipv4Addr, VipState> = BTreeMap::new();
    for s in services {
        let Some(vip) = vip_of(&s.spec.key) else { continue };
        let policy = policies
            .iter()
            .find(|(k, _)| *k == s.spec.key)
            .map_or(AnnouncePolicy::Healthy, |(_, p)| *p);
        let this = match policy {
            AnnouncePolicy::Always => VipState::Announced,
            AnnouncePolicy::Never => VipState::Never,
            AnnouncePolicy::Healthy if s.dests.iter().any(|d| d.spec.weight > 0) => {
                VipState::Announced
            }
            AnnouncePolicy::Healthy => VipState::NoHealthyServer,
        };
        let e = vips.entry(vip).or_insert(this);
        // One announcing service is enough; a health reason beats "never".
        *e = match (*e, this) {
            (VipState::Announced, _) | (_, VipState::Announced) => VipState::Announced,
            (VipState::NoHealthyServer, _) | (_, VipState::NoHealthyServer) => {
                VipState::NoHealthyServer
            }
            (x, _) => x,
        };
    }
    if draining {
        vips.values_mut().for_each(|v| *v = VipState::Draining);
    }
    vips.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::spec::{DestSpec, Protocol, ServiceSpec};
    use rvs_proto::model::DestInfo;

    fn key(vip: [u8; 4], port: u16) -> ServiceKey {
        ServiceKey { proto: Protocol::Tcp, addr: Ipv4Addr::from(vip).into(), port }
    }

    fn svc(vip: [u8; 4], port: u16, weights: &[u32]) -> ServiceInfo {
        let mut s = ServiceInfo::new(ServiceSpec::new(key(vip, port)));
        for (i, &w) in weights.iter().enumerate() {
            let d = DestSpec {
                weight: w,
                ..DestSpec::new(Ipv4Addr::new(10, 0, 1, i as u8 + 1).into(), port)
            };
            s.dests.push(DestInfo::new(d));
        }
        s
    }

    const A: [u8; 4] = [192, 168, 100, 100];
    const B: [u8; 4] = [192, 168, 100, 101];

    #[test]
    fn a_vip_is_announced_while_a_service_has_a_server_with_weight() {
        let t = [svc(A, 80, &[1, 0]), svc(B, 80, &[0, 0]), svc(B, 443, &[])];
        assert_eq!(
            decide(&t, &[], false),
            [(A.into(), VipState::Announced), (B.into(), VipState::NoHealthyServer)]
        );
        // One healthy service of the VIP is enough.
        let t = [svc(B, 80, &[0]), svc(B, 443, &[2])];
        assert_eq!(decide(&t, &[], false), [(B.into(), VipState::Announced)]);
    }

    #[test]
    fn policies_and_draining() {
        let t = [svc(A, 80, &[]), svc(B, 80, &[1])];
        let p = [(key(A, 80), AnnouncePolicy::Always), (key(B, 80), AnnouncePolicy::Never)];
        assert_eq!(
            decide(&t, &p, false),
            [(A.into(), VipState::Announced), (B.into(), VipState::Never)]
        );
        assert_eq!(
            decide(&t, &p, true),
            [(A.into(), VipState::Draining), (B.into(), VipState::Draining)]
        );
        assert!(decide(&[], &p, false).is_empty());
    }
}
