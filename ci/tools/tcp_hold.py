#!/usr/bin/env python3
"""tcp_hold: open one TCP connection and hold it open, idle, until told to close.

Standard library only. Used by the lab tests to make connections whose state the director must
show (`rvsadm -L -n -c`: ESTABLISHED while held, FIN_WAIT/TIME_WAIT after) and whose count the
wlc scheduler must weigh (`ActiveConn`).

    ip netns exec rvs-client python3 ci/tools/tcp_hold.py 192.168.100.100 80 --hold 60

Once connected it sends one byte (the first of a request it never finishes), as a real client
would send data: in DR and TUN the director takes a connection for ESTABLISHED only once it has
seen more than the bare handshake ACK (docs/hardening/floods.md). Then it prints
`port=LOCAL_PORT` (flushed) and sends nothing more. SIGTERM or SIGINT, or
--hold seconds, end it: the socket is closed normally (a FIN, not a reset) and the tool waits up
to 2 s for the server's FIN so that both sides close. Exits 0 after a normal close, 1 when the
connection could not be made (the error on stderr).
"""

import argparse
import signal
import socket
import sys
import time


class Stop(Exception):
    pass


def on_signal(_sig, _frame):
    raise Stop()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--hold", type=float, default=60.0, help="close after this many seconds")
    p.add_argument("--timeout", type=float, default=5.0, help="connect timeout")
    args = p.parse_args(argv)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(args.timeout)
        s.connect((args.host, args.port))
    except (OSError, Stop) as e:
        print(f"tcp_hold: connect to {args.host}:{args.port} failed: {e}", file=sys.stderr)
        return 1
    try:
        s.sendall(b"G")
    except OSError as e:
        print(f"tcp_hold: sending the first byte to {args.host}:{args.port} failed: {e}", file=sys.stderr)
        return 1
    print(f"port={s.getsockname()[1]}", flush=True)
    try:
        deadline = time.monotonic() + args.hold
        while time.monotonic() < deadline:
            time.sleep(0.1)
    except Stop:
        pass
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        s.shutdown(socket.SHUT_WR)
        s.settimeout(2.0)
        while s.recv(4096):
            pass
    except OSError:
        pass
    s.close()
    print("closed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
