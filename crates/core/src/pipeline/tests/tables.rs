//! Plumbing changes (rvsnet): new addresses, routes and MTUs reach the stack and the balancer.

use super::common::*;

fn echo_request(dst: Ipv4Addr) -> Vec<u8> {
    let mut icmp = vec![8, 0, 0, 0, 0x12, 0x34, 0, 1, b'p', b'i', b'n', b'g'];
    let c = naive_checksum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    from_client(&ipv4(CLIENT, dst, 1, &icmp))
}

#[test]
fn new_address_and_route_are_used_once_the_tables_are_set() {
    let new = Ipv4Addr::new(10, 0, 0, 150);
    let mut lab = Lab::new(Arc::new(Services::empty()));
    assert!(lab.send(0, &echo_request(new)).is_empty(), "not ours yet");
    let far = Ipv4Addr::new(172, 16, 5, 5);
    let before = lab.p.stack().routes().lookup(far).unwrap();
    assert_eq!((before.port, before.next_hop), (0, GW), "default route");

    // What rvsnet `addr add 10.0.0.150/32 dev p0 kind vip` and
    // `route add 172.16.0.0/16 via 192.168.1.254` hand the workers.
    let mut ifaces: Vec<Iface> = lab.p.stack().ifaces().iter().cloned().collect();
    ifaces[0].addrs.push(IfAddr { ip: new, prefix_len: 32, kind: AddrKind::Vip });
    let ifaces = IfaceTable::new(ifaces).unwrap();
    let gw1 = Ipv4Addr::new(192, 168, 1, 254);
    let routes = RouteTable::build(
        &ifaces,
        &[
            Route { prefix: Ipv4Addr::UNSPECIFIED, prefix_len: 0, port: 0, gateway: Some(GW) },
            Route {
                prefix: Ipv4Addr::new(172, 16, 0, 0),
                prefix_len: 16,
                port: 1,
                gateway: Some(gw1),
            },
        ],
    )
    .unwrap();
    lab.p.set_net(Arc::new(ifaces), Arc::new(routes), lab.now);
    // The announcing worker tells the link: one gratuitous ARP for the new address only.
    lab.p.announce(&[new, Ipv4Addr::new(10, 9, 9, 9)], &mut lab.io);
    let sent: Vec<(u16, Vec<u8>)> =
        lab.io.tx.drain(..).map(|(p, b)| (p, b.data().to_vec())).collect();
    assert_eq!(sent.len(), 1, "10.9.9.9 is not owned: not announced");
    let (port, g) = &sent[0];
    assert_eq!(*port, 0);
    assert_eq!(&g[0..6], &[0xff; 6], "broadcast");
    assert_eq!(mac(&g[6..12]), MAC0);
    assert_eq!(&g[12..14], &[0x08, 0x06], "ARP");
    assert_eq!(&g[20..22], &[0, 1], "request");
    assert_eq!(&g[28..32], &new.octets(), "sender = the new address");
    assert_eq!(&g[38..42], &new.octets(), "target = the new address");

    let (port, f) = lab.one(0, &echo_request(new));
    assert_eq!(port, 0);
    assert_eq!((mac(&f[0..6]), mac(&f[6..12])), (CLIENT_MAC, MAC0));
    let ip = &f[14..];
    assert_eq!(naive_checksum(&ip[..20]), 0, "IPv4 header checksum");
    assert_eq!(Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]), new, "answered from the new address");
    assert_eq!(Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]), CLIENT);
    let icmp = &ip[20..];
    assert_eq!((icmp[0], icmp[1]), (0, 0), "echo reply");
    assert_eq!(naive_checksum(icmp), 0, "ICMP checksum");
    assert_eq!(&icmp[4..], &[0x12, 0x34, 0, 1, b'p', b'i', b'n', b'g']);
    let after = lab.p.stack().routes().lookup(far).unwrap();
    assert_eq!((after.port, after.next_hop), (1, gw1), "the new, longer route wins");
}

#[test]
fn new_tables_reach_the_balancer_mtu_toward_dests() {
    let mut lab = nat_lab("rr", &[1]);
    let big = udp(CLIENT, 5000, VIP, 53, &[7u8; 1000]);
    let (port, _) = lab.one(0, &from_client(&big));
    assert_eq!(port, 1, "1028-byte datagram fits port 1's MTU of 1500");
    // Port 1's MTU drops to 576 (new interface table, same routes).
    let mut ifaces: Vec<Iface> = lab.p.stack().ifaces().iter().cloned().collect();
    ifaces[1].mtu = 576;
    let ifaces = IfaceTable::new(ifaces).unwrap();
    let routes = RouteTable::build(
        &ifaces,
        &[Route { prefix: Ipv4Addr::UNSPECIFIED, prefix_len: 0, port: 0, gateway: Some(GW) }],
    )
    .unwrap();
    lab.p.set_net(Arc::new(ifaces), Arc::new(routes), lab.now);
    let out = lab.send(0, &from_client(&udp(CLIENT, 5000, VIP, 53, &[7u8; 1000])));
    assert_eq!(lab.drops(R::FragNeeded), 1, "DF set and too big for the new MTU");
    assert_eq!(out.len(), 1, "the client is told");
    let (port, f) = &out[0];
    assert_eq!(*port, 0);
    let ip = &f[14..];
    assert_eq!((ip[9], ip[20], ip[21]), (1, 3, 4), "ICMP fragmentation needed");
    assert_eq!(u16::from_be_bytes([ip[26], ip[27]]), 576, "next-hop MTU");
}
