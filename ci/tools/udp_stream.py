#!/usr/bin/env python3
"""udp_stream: a stream of numbered UDP datagrams of known content through an echo service,
checked datagram by datagram and by sha256.

Standard library only. The server side is ci/tools/udp_echo.py (`serve`), which answers every
datagram with a text prefix followed by the datagram itself.

    ip netns exec rvs-client python3 ci/tools/udp_stream.py 192.168.100.100 9000 --count 1000

Datagram i (0-based) is SIZE bytes: i as an 8-byte big-endian number, then bytes drawn from
random.Random(SEED * 1_000_003 + i), so both ends know every byte. All datagrams leave from one
connected socket (one connection in the director), at most --window unanswered at a time, spread
over --duration seconds when given. Every echo must end with exactly the datagram sent; the
sha256 of the echoed datagrams in sequence order must equal the sha256 of what was sent.

Prints one line of `key=value` words: sent, received, intact, bad, dup, lost, sha_sent, sha_recv,
in_bytes (IPv4 bytes sent: datagram + 28 each), out_bytes (IPv4 bytes of the echoes), servers
(the first word of each distinct echo prefix), and when some are lost, missing (the first ten
sequence numbers that never came back). Exits 0 when every datagram came back intact.
"""

import argparse
import hashlib
import random
import socket
import struct
import sys
import time

SEQ = struct.Struct("!Q")
IP_UDP = 28  # IPv4 header without options + UDP header


def datagram(seed: int, i: int, size: int) -> bytes:
    body = random.Random(seed * 1_000_003 + i).randbytes(max(0, size - SEQ.size))
    return (SEQ.pack(i) + body)[:size]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--size", type=int, default=1000, help="datagram size, at least 8")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--window", type=int, default=16, help="most datagrams in flight")
    p.add_argument("--duration", type=float, default=0.0, help="spread the sends over SECONDS")
    p.add_argument("--timeout", type=float, default=3.0, help="give up after SECONDS of silence")
    a = p.parse_args(argv)
    if a.size < SEQ.size or a.count < 1 or a.window < 1:
        print("udp_stream: --size >= 8, --count >= 1, --window >= 1", file=sys.stderr)
        return 2
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((a.host, a.port))
    sent_sha = hashlib.sha256()
    got = {}
    bad = dup = out_bytes = 0
    servers = set()
    nxt = 0
    start = time.monotonic()
    last_rx = start
    while len(got) + bad < a.count:
        # Send while the window allows and the pacing says it is time.
        while nxt < a.count and nxt - (len(got) + bad) < a.window:
            if a.duration > 0 and time.monotonic() < start + a.duration * nxt / a.count:
                break
            d = datagram(a.seed, nxt, a.size)
            sent_sha.update(d)
            s.send(d)
            nxt += 1
        s.settimeout(0.05 if nxt < a.count and a.duration > 0 else 0.2)
        try:
            r = s.recv(65535)
        except socket.timeout:
            if time.monotonic() - last_rx > a.timeout:
                break
            continue
        except ConnectionRefusedError:
            if time.monotonic() - last_rx > a.timeout:
                break
            continue
        last_rx = time.monotonic()
        out_bytes += len(r) + IP_UDP
        data = r[-a.size:]
        if len(r) < a.size:
            bad += 1
            continue
        (i,) = SEQ.unpack(data[: SEQ.size])
        if i >= nxt or data != datagram(a.seed, i, a.size):
            bad += 1
            continue
        if i in got:
            dup += 1
            continue
        got[i] = data
        prefix = r[: -a.size].split(b" ", 1)[0].decode(errors="replace")
        servers.add(prefix or "-")
    recv_sha = hashlib.sha256()
    for i in sorted(got):
        recv_sha.update(got[i])
    lost = a.count - len(got)
    missing = [i for i in range(nxt) if i not in got][:10]
    ok = lost == 0 and bad == 0 and dup == 0 and recv_sha.digest() == sent_sha.digest()
    print(
        f"sent={nxt} received={len(got) + bad + dup} intact={len(got)} bad={bad} dup={dup} "
        f"lost={lost} sha_sent={sent_sha.hexdigest()} sha_recv={recv_sha.hexdigest()} "
        f"in_bytes={nxt * (a.size + IP_UDP)} out_bytes={out_bytes} "
        f"servers={','.join(sorted(servers)) or '-'} seconds={time.monotonic() - start:.2f}"
        + (f" missing={','.join(str(i) for i in missing)}" if missing else ""),
        flush=True,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
