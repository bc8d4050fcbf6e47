#!/usr/bin/env python3
"""tun_decap: the receiving end of the director's TUN forwarding mode, for a lab real server whose
kernel has no ipip (or fou/GUE) module.

Standard library only; runs as root inside the real server's namespace. It takes every tunneled
packet addressed to this host, strips the outer headers and writes the inner IPv4 packet into a TUN
device (IFF_TUN | IFF_NO_PI), where the kernel receives it as if it had arrived on that device:

  - IPIP: IPv4 protocol 4. Read from a raw IPv4 socket of protocol 4, which gets the whole outer
    packet (header included) after the kernel has validated and, if needed, reassembled it.
  - GUE: UDP to --gue-port (default 6080). Read from a UDP socket bound to that port, which gets the
    UDP payload after the kernel has checked the UDP checksum (zero means none, as IPv4 allows):
      variant 0: 4-byte header `0 0 C Hlen(5) | proto | flags(16)`, then Hlen 32-bit extension words;
                 data (C = 0) with proto 4 carries IPv4 and is decapsulated; control messages
                 (C = 1) and other protocols are counted and dropped;
      variant 1: no GUE header, the payload is the IPv4 packet itself (first nibble 4).

Why kernel sockets rather than an AF_PACKET tap of the LAN interface: the kernel would otherwise
answer every IPIP packet with an ICMP protocol-unreachable (no handler for protocol 4) and every GUE
datagram with a port-unreachable, sending the director error messages about its own tunnel; and a
packet tap also sees frames that are not for this host (a bridge floods unknown unicast) and frames
with bad checksums. An open raw socket of protocol 4 and a bound UDP socket make the kernel deliver
instead of complaining, and only packets for this host, well formed, reach the helper.

Setting the real server up (what `ci/lab up tun` does; names as in the lab):

    ip tuntap add dev tun0 mode tun              # persistent; the helper attaches to it
    ip addr add 192.168.100.100/32 dev tun0       # the VIP, on tun0 instead of lo
    ip link set tun0 up
    sysctl net.ipv4.conf.{all,eth0,tun0}.rp_filter=0     # the client's packets arrive on tun0,
                                                         # the route back to it is via eth0
    sysctl net.ipv4.conf.{all,eth0}.arp_ignore=1 net.ipv4.conf.{all,eth0}.arp_announce=2
    python3 ci/tools/tun_decap.py --tun tun0 --gue-port 6080 &

The kernel then answers the inner packet (a SYN to VIP:80, an echo request to the VIP) itself, from
the VIP, straight to the client through eth0: the director sees only the client-to-server half.

Test it without a director (the client plays the director and sends the encapsulated packet itself,
then waits for the real server's answer from the VIP; see `rawsend.py tunnel --help`):

    ip netns exec rvs-client python3 ci/tools/rawsend.py tunnel --rs 192.168.100.12 \\
        --vip 192.168.100.100 --encap ipip --inner syn --port 80

Output: one line at start, one per packet with --verbose, and a counter line on SIGTERM/SIGINT and
every --stats seconds: `tun_decap: ipip=N gue=N written=N dropped=N`.
"""

import argparse
import fcntl
import os
import select
import signal
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
IPPROTO_IPIP = 4


class Counters:
    def __init__(self):
        self.ipip = 0
        self.gue = 0
        self.written = 0
        self.dropped = 0

    def line(self) -> str:
        return f"tun_decap: ipip={self.ipip} gue={self.gue} written={self.written} dropped={self.dropped}"


def open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    ifr = struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI)
    try:
        fcntl.ioctl(fd, TUNSETIFF, ifr)
    except OSError as e:
        os.close(fd)
        raise SystemExit(f"tun_decap: cannot attach to TUN device {name}: {e}") from None
    return fd


def inner_ipv4(data: bytes):
    """data if it is plausibly a whole IPv4 packet (version 4, total length fits), else None."""
    if len(data) < 20 or data[0] >> 4 != 4:
        return None
    total = struct.unpack_from("!H", data, 2)[0]
    if total < (data[0] & 0x0F) * 4 or total > len(data):
        return None
    return data[:total]


def from_ipip(packet: bytes):
    """The inner IPv4 packet of an outer IPv4 packet of protocol 4 (as a raw socket returns it)."""
    if len(packet) < 20 or packet[0] >> 4 != 4 or packet[9] != IPPROTO_IPIP:
        return None
    return inner_ipv4(packet[(packet[0] & 0x0F) * 4:])


def from_gue(payload: bytes):
    """The inner IPv4 packet of a GUE UDP payload (variant 0 data with proto 4, or variant 1)."""
    if len(payload) < 4:
        return None
    variant = payload[0] >> 6
    if variant == 1:
        return inner_ipv4(payload)
    if variant != 0:
        return None
    control = payload[0] & 0x20
    hlen = (payload[0] & 0x1F) * 4
    if control or payload[1] != IPPROTO_IPIP or len(payload) < 4 + hlen:
        return None
    return inner_ipv4(payload[4 + hlen:])


def describe(inner: bytes) -> str:
    src, dst = socket.inet_ntoa(inner[12:16]), socket.inet_ntoa(inner[16:20])
    return f"{src} -> {dst} proto {inner[9]} {len(inner)} bytes"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tun", default="tun0", help="TUN device to write inner packets to (default tun0)")
    p.add_argument("--gue-port", type=int, default=6080, help="UDP port of GUE (default 6080; 0: off)")
    p.add_argument("--no-ipip", action="store_true", help="do not take IPIP (protocol 4)")
    p.add_argument("--verbose", action="store_true", help="one line per packet")
    p.add_argument("--stats", type=float, default=0.0, help="print the counters every N seconds")
    args = p.parse_args(argv)

    tun = open_tun(args.tun)
    socks = {}
    if not args.no_ipip:
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_IPIP)
        socks[raw.fileno()] = ("ipip", raw)
    if args.gue_port:
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        udp.bind(("0.0.0.0", args.gue_port))
        socks[udp.fileno()] = ("gue", udp)
    if not socks:
        raise SystemExit("tun_decap: neither IPIP nor GUE enabled; nothing to do")

    counters = Counters()

    def stop(_sig, _frame):
        print(counters.line(), flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    kinds = ",".join(kind for kind, _ in socks.values())
    print(f"tun_decap: {kinds} -> {args.tun} (gue port {args.gue_port or 'off'})", flush=True)

    next_stats = time.monotonic() + args.stats if args.stats else None
    while True:
        timeout = max(0.0, next_stats - time.monotonic()) if next_stats else None
        ready, _, _ = select.select(list(socks), [], [], timeout)
        if next_stats and time.monotonic() >= next_stats:
            print(counters.line(), flush=True)
            next_stats += args.stats
        for fd in ready:
            kind, sock = socks[fd]
            data = sock.recv(65535)
            if kind == "ipip":
                counters.ipip += 1
                inner = from_ipip(data)
            else:
                counters.gue += 1
                inner = from_gue(data)
            if inner is None:
                counters.dropped += 1
                if args.verbose:
                    print(f"tun_decap: {kind}: dropped {len(data)} bytes (not IPv4 inside)", flush=True)
                continue
            try:
                os.write(tun, inner)
            except OSError as e:
                counters.dropped += 1
                print(f"tun_decap: write to {args.tun} failed: {e}", flush=True)
                continue
            counters.written += 1
            if args.verbose:
                print(f"tun_decap: {kind}: {describe(inner)}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
