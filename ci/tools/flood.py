#!/usr/bin/env python3
"""flood: bounded floods of hand-made frames from a lab namespace, for ci/lab-tests/modes/floods.sh.

Standard library only (AF_PACKET; needs CAP_NET_RAW, root in a lab namespace). Every flood stops at
--count frames, --seconds, or once --until-file exists, whichever comes first, and prints
`sent=N seconds=S pps=P stopped=count|seconds|file` (why it stopped). Sources are
drawn from --src-net (default 198.18.0.0/15, the benchmarking range no lab host uses), so nothing
answers them; the destination MAC is learned once by ARP from --iface (or given with --dst-mac).

    ip netns exec rvs-client python3 ci/tools/flood.py --iface eth0 --dst-ip 192.168.100.100 \\
        syn --port 80 --count 200000 --seconds 20

Kinds:
  syn      TCP SYNs from random spoofed sources and ports to --dst-ip:--port
  synrst   a SYN then a RST from each random spoofed source (a FULLNAT port-exhaustion attempt)
  synack   a SYN then the handshake's bare ACK from each random spoofed source
  udp      UDP datagrams from random spoofed sources and ports to --dst-ip:--port
"""

import argparse
import ipaddress
import os
import random
import socket
import struct
import sys
import time


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4(src, dst, proto, payload):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0x4000, 64, proto, 0, src, dst)
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + payload


def tcp(src, dst, sport, dport, flags, seq, ack):
    t = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 0x50, flags, 0xFFFF, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(t))
    return t[:16] + struct.pack("!H", csum(pseudo + t)) + t[18:]


def udp(src, dst, sport, dport, payload):
    u = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    pseudo = src + dst + struct.pack("!BBH", 0, 17, len(u))
    c = csum(pseudo + u) or 0xFFFF
    return u[:6] + struct.pack("!H", c) + u[8:]


def mac_bytes(text):
    return bytes(int(x, 16) for x in text.split(":"))


def own_mac(iface):
    with open("/sys/class/net/%s/address" % iface) as f:
        return mac_bytes(f.read().strip())


def own_ip(iface):
    import fcntl

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    req = struct.pack("256s", iface.encode()[:15])
    return fcntl.ioctl(s.fileno(), 0x8915, req)[20:24]  # SIOCGIFADDR


def resolve(sock, iface, dst_ip, timeout=3.0):
    """The MAC of dst_ip, by one ARP request from this host's address."""
    me, my_ip = own_mac(iface), own_ip(iface)
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, me, my_ip, b"\0" * 6, dst_ip)
    sock.send(b"\xff" * 6 + me + b"\x08\x06" + arp)
    end = time.monotonic() + timeout
    sock.settimeout(0.2)
    while time.monotonic() < end:
        try:
            f = sock.recv(2048)
        except socket.timeout:
            sock.send(b"\xff" * 6 + me + b"\x08\x06" + arp)
            continue
        if f[12:14] == b"\x08\x06" and f[20:22] == b"\x00\x02" and f[28:32] == dst_ip:
            return f[22:28]
    sys.exit("flood: no ARP answer from %s" % socket.inet_ntoa(dst_ip))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iface", default="eth0")
    ap.add_argument("--dst-ip", required=True)
    ap.add_argument("--dst-mac")
    ap.add_argument("--src-net", default="198.18.0.0/15")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("kind", choices=["syn", "synrst", "synack", "udp"])
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--count", type=int, default=100000, help="most frames (a pair counts two)")
    ap.add_argument("--seconds", type=float, default=10.0, help="longest run")
    ap.add_argument("--until-file", help="stop once this file exists (checked every 256 frames)")
    a = ap.parse_args()
    if a.count <= 0 or not 0 < a.seconds <= 600:
        sys.exit("flood: give --count > 0 and --seconds in (0, 600]")
    net = ipaddress.ip_network(a.src_net)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    sock.bind((a.iface, 0))
    dst = socket.inet_aton(a.dst_ip)
    dmac = mac_bytes(a.dst_mac) if a.dst_mac else resolve(sock, a.iface, dst)
    eth = dmac + own_mac(a.iface) + b"\x08\x00"
    rng = random.Random(a.seed)
    base, span = int(net.network_address), max(net.num_addresses - 2, 1)
    sent, start = 0, time.monotonic()
    end = start + a.seconds
    stopped = "count"
    while sent < a.count:
        if (sent & 255) == 0:
            if time.monotonic() >= end:
                stopped = "seconds"
                break
            if a.until_file and os.path.exists(a.until_file):
                stopped = "file"
                break
        src = struct.pack("!I", base + 1 + rng.randrange(span))
        sport = rng.randrange(1024, 65536)
        if a.kind == "udp":
            frames = [ipv4(src, dst, 17, udp(src, dst, sport, a.port, b"flood"))]
        else:
            seq = rng.randrange(1 << 32)
            frames = [ipv4(src, dst, 6, tcp(src, dst, sport, a.port, 0x02, seq, 0))]
            if a.kind == "synrst":
                frames.append(ipv4(src, dst, 6, tcp(src, dst, sport, a.port, 0x04, seq + 1, 0)))
            elif a.kind == "synack":
                frames.append(ipv4(src, dst, 6, tcp(src, dst, sport, a.port, 0x10, seq + 1, 1)))
        for f in frames:
            try:
                sock.send(eth + f)
                sent += 1
            except BlockingIOError:
                pass
            except OSError as e:  # ENOBUFS: the interface queue is full; pace and go on
                if e.errno != 105:
                    raise
                time.sleep(0.0005)
    secs = time.monotonic() - start
    print("sent=%d seconds=%.2f pps=%d stopped=%s" % (sent, secs, sent / max(secs, 1e-6), stopped), flush=True)


if __name__ == "__main__":
    main()
