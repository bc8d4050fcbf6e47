#!/usr/bin/env python3
"""udp_echo: a UDP echo server for the lab's real servers, and the client that asks it.

Standard library only.

    # on a real server: echo every datagram on port 9000, prefixed with "rs1 peer=IP:PORT "
    ip netns exec rvs-rs1 python3 ci/tools/udp_echo.py serve --port 9000 --name rs1 --peer

    # from the client: one datagram, print the answer (exit 1 on timeout)
    ip netns exec rvs-client python3 ci/tools/udp_echo.py ask 192.168.100.100 9000 hello

`serve` answers from the address the datagram was sent to (IP_PKTINFO), not from whatever address
routing would pick: a DR or TUN real server receives datagrams for the VIP (on `lo` or `tun0`) and
must answer from the VIP, or the client's connected socket drops the reply. The reply is the
prefix (`NAME ` with --name, `peer=IP:PORT ` with --peer, in that order) followed by the datagram.

`ask` uses a connected socket, so a reply from any address other than the one asked is not
accepted (the kernel filters it): a successful `ask` proves the reply came from HOST:PORT. It
prints the reply and exits 0, or exits 1 after --timeout seconds with nothing. --count N asks N
times, one datagram each from a fresh socket (a new source port, hence a new connection in the
director), and prints one reply a line.
"""

import argparse
import socket
import struct
import sys

IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
# struct in_pktinfo { int ipi_ifindex; struct in_addr ipi_spec_dst; struct in_addr ipi_addr; }
PKTINFO = struct.Struct("=i4s4s")


def serve(port: int, bind: str, name: str, peer: bool) -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    s.bind((bind, port))
    print(f"udp_echo: serving on {bind}:{port} name={name or '-'}", flush=True)
    while True:
        data, anc, _flags, addr = s.recvmsg(65535, socket.CMSG_SPACE(PKTINFO.size))
        dst = None
        for level, kind, value in anc:
            if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(value) >= PKTINFO.size:
                _ifindex, _spec_dst, dst = PKTINFO.unpack(value[:PKTINFO.size])
        prefix = (f"{name} " if name else "") + (f"peer={addr[0]}:{addr[1]} " if peer else "")
        reply = prefix.encode() + data
        # Answer from the address the datagram was sent to (ifindex 0: routing picks the device).
        anc_out = [(socket.IPPROTO_IP, IP_PKTINFO, PKTINFO.pack(0, dst, b"\0" * 4))] if dst else []
        try:
            s.sendmsg([reply], anc_out, 0, addr)
        except OSError as e:
            print(f"udp_echo: reply to {addr[0]}:{addr[1]} failed: {e}", flush=True)
            continue
        dst_text = socket.inet_ntoa(dst) if dst else "?"
        print(f"udp_echo: {addr[0]}:{addr[1]} -> {dst_text}:{port} {len(data)} bytes", flush=True)


def ask(host: str, port: int, text: str, timeout: float, count: int) -> int:
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.settimeout(timeout)
            s.connect((host, port))
            s.send(text.encode())
            try:
                reply = s.recv(65535)
            except (socket.timeout, ConnectionRefusedError) as e:
                print(f"udp_echo: no reply from {host}:{port} ({e or 'timeout'})", file=sys.stderr)
                return 1
        finally:
            s.close()
        print(reply.decode(errors="replace"), flush=True)
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)
    sv = sub.add_parser("serve", help="echo datagrams")
    sv.add_argument("--port", type=int, default=9000)
    sv.add_argument("--bind", default="0.0.0.0")
    sv.add_argument("--name", default="", help="prefix every reply with NAME and a space")
    sv.add_argument("--peer", action="store_true", help="prefix every reply with peer=IP:PORT")
    ak = sub.add_parser("ask", help="send one datagram, print the reply")
    ak.add_argument("host")
    ak.add_argument("port", type=int)
    ak.add_argument("text", nargs="?", default="ping")
    ak.add_argument("--timeout", type=float, default=2.0)
    ak.add_argument("--count", type=int, default=1)
    args = p.parse_args(argv)
    if args.mode == "serve":
        return serve(args.port, args.bind, args.name, args.peer)
    return ask(args.host, args.port, args.text, args.timeout, args.count)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
