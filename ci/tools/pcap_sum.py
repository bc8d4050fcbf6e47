#!/usr/bin/env python3
"""pcap_sum: count the IPv4 packets of a pcap file and sum their IPv4 total lengths.

Standard library only. The lab tests capture what a client sent to (or received from) a virtual
service and compare these sums with the director's `rvsadm -L -n --stats` counters, which count
IPv4 packets and their total length.

    python3 ci/tools/pcap_sum.py capture.pcap      # prints "packets=N bytes=M"

Reads classic pcap (tcpdump -w) with Ethernet link type; frames that are not IPv4 are skipped.
"""

import struct
import sys


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: pcap_sum.py FILE", file=sys.stderr)
        return 2
    with open(argv[0], "rb") as f:
        data = f.read()
    if len(data) < 24:
        print("packets=0 bytes=0")
        return 0
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        print(f"pcap_sum: {argv[0]}: not a pcap file", file=sys.stderr)
        return 1
    rec = struct.Struct(endian + "IIII")
    off, packets, total = 24, 0, 0
    while off + rec.size <= len(data):
        _sec, _frac, incl, _orig = rec.unpack_from(data, off)
        frame = data[off + rec.size : off + rec.size + incl]
        off += rec.size + incl
        if len(frame) < 18 or frame[12:14] != b"\x08\x00" or frame[14] >> 4 != 4:
            continue
        packets += 1
        total += struct.unpack_from("!H", frame, 16)[0]
    print(f"packets={packets} bytes={total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
