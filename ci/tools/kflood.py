#!/usr/bin/env python3
"""kflood: a bounded UDP flood written by the kernel itself, from an ordinary socket in the
director's namespace, for the exception path's from-kernel limits (ci/lab-tests/modes/exc.sh).

Standard library only. Sends --count datagrams of --size bytes from --src (address:port) to
--dst (address:port), at --pps datagrams per second (0: as fast as the socket takes them),
stopping at --count or --seconds, whichever comes first. A datagram the socket refuses (its buffer full: the interface's queue is
not being drained) is not counted and the sender goes on. Prints `sent=N refused=R seconds=S
pps=P`.

    ip netns exec rvs-dir python3 ci/tools/kflood.py --src 192.168.200.20:9999 \\
        --dst 192.168.200.12:9 --count 300000 --seconds 15
"""

import argparse
import errno
import socket
import time


def hostport(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", type=hostport, required=True, help="source address:port")
    ap.add_argument("--dst", type=hostport, required=True, help="destination address:port")
    ap.add_argument("--count", type=int, default=100000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--pps", type=int, default=0, help="datagrams per second (0: no pacing)")
    a = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(a.src)
    s.setblocking(False)
    payload = b"k" * a.size
    sent = refused = 0
    start = time.monotonic()
    end = start + a.seconds
    while sent < a.count:
        if (sent + refused) % 256 == 0:
            now = time.monotonic()
            if now >= end:
                break
            if a.pps > 0:
                ahead = start + sent / a.pps - now
                if ahead > 0:
                    time.sleep(ahead)
        try:
            s.sendto(payload, a.dst)
            sent += 1
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ENOBUFS):
                raise
            refused += 1
            time.sleep(0.0001)
    took = max(time.monotonic() - start, 1e-9)
    print("sent=%d refused=%d seconds=%.2f pps=%d" % (sent, refused, took, sent / took))


if __name__ == "__main__":
    main()
