#!/usr/bin/env python3
"""mock-rvsd: a stand-in for rvsd that lets the lab harness test itself before rvsd exists.

Not part of rvs. It plays the director's foundation role on the interface named in the config's
`net_af_packet` vdev, through an AF_PACKET socket, with the same CLI and observable behaviour the lab
tests expect from rvsd:

- `mock-rvsd.py --config FILE`; logs to stderr; exits 0 on SIGINT/SIGTERM; one line and a non-zero
  status when it cannot start.
- a gratuitous ARP for every [[addr]] at start; ARP replies and ICMP echo replies for those addresses;
- malformed or foreign IPv4 frames dropped and counted under the reasons rvsd uses;
- Prometheus text on [metrics] listen: rvs_net_drops_total{core,reason}, rvs_net_echo_replies_total,
  rvs_net_arp_replies_total (core "1", the lab config's only worker).

    RVSD=ci/tools/mock-rvsd.py ci/lab-tests/foundation.sh
"""

import argparse
import http.server
import re
import signal
import socket
import struct
import sys
import threading
import tomllib

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
PACKET_OUTGOING = 4
REASONS = ("eth_truncated", "ipv4_truncated", "ipv4_bad_ihl", "ipv4_bad_checksum", "not_for_us")


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class Director:
    def __init__(self, iface: str, addrs):
        self.iface = iface
        self.addrs = {socket.inet_aton(a) for a in addrs}
        with open(f"/sys/class/net/{iface}/address", encoding="ascii") as f:
            self.mac = bytes(int(p, 16) for p in f.read().strip().split(":"))
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((iface, ETH_P_ALL))
        self.sock.settimeout(0.2)
        self.drops = dict.fromkeys(REASONS, 0)
        self.echo_replies = 0
        self.arp_replies = 0

    def arp(self, op: int, dst_mac: bytes, tha: bytes, spa: bytes, tpa: bytes) -> bytes:
        return (dst_mac + self.mac + struct.pack("!H", ETH_P_ARP)
                + struct.pack("!HHBBH6s4s6s4s", 1, ETH_P_IP, 6, 4, op, self.mac, spa, tha, tpa))

    def announce(self):
        for a in sorted(self.addrs):
            self.sock.send(self.arp(1, b"\xff" * 6, b"\x00" * 6, a, a))
            print(f"mock-rvsd: gratuitous ARP for {socket.inet_ntoa(a)}", file=sys.stderr, flush=True)

    def handle(self, frame: bytes):
        if len(frame) < 14:
            self.drops["eth_truncated"] += 1
            return
        dst = frame[:6]
        if dst != self.mac and dst != b"\xff" * 6:
            return
        ethertype = struct.unpack("!H", frame[12:14])[0]
        if ethertype == ETH_P_ARP:
            self.handle_arp(frame)
        elif ethertype == ETH_P_IP:
            self.handle_ipv4(frame)

    def handle_arp(self, frame: bytes):
        if len(frame) < 42:
            return
        op, sha, spa, _tha, tpa = struct.unpack("!6xH6s4s6s4s", frame[14:42])
        if op == 1 and tpa in self.addrs and spa != tpa:
            self.sock.send(self.arp(2, sha, sha, tpa, spa))
            self.arp_replies += 1

    def handle_ipv4(self, frame: bytes):
        ip = frame[14:]
        if len(ip) < 20:
            self.drops["ipv4_truncated"] += 1
            return
        ihl = (ip[0] & 0x0F) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        if ip[0] >> 4 != 4 or ihl < 20 or ihl > total:
            self.drops["ipv4_bad_ihl"] += 1
            return
        if total > len(ip):
            self.drops["ipv4_truncated"] += 1
            return
        if checksum(ip[:ihl]) != 0:
            self.drops["ipv4_bad_checksum"] += 1
            return
        if ip[16:20] not in self.addrs:
            self.drops["not_for_us"] += 1
            return
        icmp = ip[ihl:total]
        if ip[9] != 1 or len(icmp) < 8 or icmp[0] != 8 or checksum(icmp) != 0:
            return
        reply_icmp = b"\x00\x00\x00\x00" + icmp[4:]
        reply_icmp = reply_icmp[:2] + struct.pack("!H", checksum(reply_icmp)) + reply_icmp[4:]
        head = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(reply_icmp), 0, 0x4000, 64, 1,
                                     0, ip[16:20], ip[12:16]))
        head[10:12] = struct.pack("!H", checksum(bytes(head)))
        self.sock.send(frame[6:12] + self.mac + b"\x08\x00" + bytes(head) + reply_icmp)
        self.echo_replies += 1

    def metrics(self) -> str:
        out = ["# TYPE rvs_net_drops_total counter"]
        out += [f'rvs_net_drops_total{{core="1",reason="{r}"}} {n}' for r, n in self.drops.items()]
        out += ["# TYPE rvs_net_echo_replies_total counter",
                f'rvs_net_echo_replies_total{{core="1"}} {self.echo_replies}',
                "# TYPE rvs_net_arp_replies_total counter",
                f'rvs_net_arp_replies_total{{core="1"}} {self.arp_replies}']
        return "\n".join(out) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description="lab stand-in for rvsd")
    p.add_argument("--config", required=True)
    args = p.parse_args()
    try:
        with open(args.config, "rb") as f:
            conf = tomllib.load(f)
        vdev = conf["eal"]["vdevs"][0]
        m = re.search(r"iface=([^,]+)", vdev)
        if not m:
            raise ValueError(f"vdev {vdev!r} has no iface=")
        addrs = [a["ip"].split("/")[0] for a in conf.get("addr", [])]
        host, port = conf.get("metrics", {}).get("listen", "127.0.0.1:9100").rsplit(":", 1)
        director = Director(m.group(1), addrs)
    except (OSError, KeyError, IndexError, ValueError, tomllib.TOMLDecodeError) as e:
        print(f"mock-rvsd: cannot start: {e}", file=sys.stderr)
        return 1

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = director.metrics().encode() if self.path == "/metrics" else b"not found\n"
            self.send_response(200 if self.path == "/metrics" else 404)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_):
            pass

    try:
        server = http.server.ThreadingHTTPServer((host, int(port)), Handler)
    except OSError as e:
        print(f"mock-rvsd: cannot listen on {host}:{port}: {e}", file=sys.stderr)
        return 1
    threading.Thread(target=server.serve_forever, daemon=True).start()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    director.announce()
    print(f"mock-rvsd: serving on {director.iface}, metrics on {host}:{port}", file=sys.stderr, flush=True)
    while not stop.is_set():
        try:
            frame, addr = director.sock.recvfrom(65535)
        except (socket.timeout, InterruptedError):
            continue
        if addr[2] != PACKET_OUTGOING:
            director.handle(frame)
    server.shutdown()
    print("mock-rvsd: stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
