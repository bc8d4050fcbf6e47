#!/usr/bin/env python3
"""arpflood: a bounded flood of ARP requests from random senders, for ci/lab-tests/modes/exc.sh.

Standard library only (AF_PACKET; needs CAP_NET_RAW, root in a lab namespace). Every frame is a
broadcast ARP request for --target from a random sender address drawn from --src-net (on-link
with the director's port, so its on-link rule is what is exercised) and a random locally
administered unicast MAC. Stops at --count frames or --seconds, whichever comes first, and prints
`sent=N seconds=S pps=P`.

    ip netns exec rvs-client python3 ci/tools/arpflood.py --iface eth0 \\
        --target 192.168.100.100 --src-net 192.168.100.128/25 --count 50000 --seconds 20
"""

import argparse
import ipaddress
import random
import socket
import struct
import time


def frame(src_mac: bytes, spa: bytes, tpa: bytes) -> bytes:
    eth = b"\xff" * 6 + src_mac + b"\x08\x06"
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + src_mac + spa + b"\x00" * 6 + tpa
    return (eth + arp).ljust(60, b"\x00")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iface", default="eth0")
    p.add_argument("--target", required=True)
    p.add_argument("--src-net", required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--seconds", type=float, default=10.0)
    a = p.parse_args()
    rng = random.Random(a.seed)
    net = ipaddress.ip_network(a.src_net, strict=False)
    first, size = int(net.network_address), net.num_addresses
    tpa = ipaddress.ip_address(a.target).packed
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    start = time.monotonic()
    deadline = start + a.seconds
    sent = 0
    while sent < a.count:
        if sent % 256 == 0 and time.monotonic() >= deadline:
            break
        spa = (first + 1 + rng.randrange(max(size - 2, 1))).to_bytes(4, "big")
        mac = bytes([0x02]) + rng.randbytes(5)
        s.send(frame(mac, spa, tpa))
        sent += 1
    took = max(time.monotonic() - start, 1e-6)
    print("sent=%d seconds=%.2f pps=%d" % (sent, took, sent / took))


if __name__ == "__main__":
    main()
