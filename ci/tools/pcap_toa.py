#!/usr/bin/env python3
"""pcap_toa: list the TCP segments with payload in a pcap file and the TOA option each carries.

Standard library only. Reads a classic pcap file (as `tcpdump -w` writes it; Ethernet link type,
either byte order, micro- or nanosecond timestamps) and prints, for every IPv4 TCP segment that
carries payload (length taken from the IPv4 header, so a short snaplen such as `-s 160` is enough):

    SRC:SPORT > DST:DPORT len=N toa=IP:PORT      (or toa=none)

TOA is TCP option kind 254, length 8: the client's port (2 bytes) then its IPv4 address (4 bytes),
both in network order; the first such option before an end-of-list or malformed option counts, as a
real server's TOA module reads it. Exit status 0, or 2 when the file is not a pcap file.

    python3 ci/tools/pcap_toa.py /tmp/rs1.pcap
"""

import socket
import struct
import sys

TOA_KIND = 254
TOA_LEN = 8


def toa_of(options: bytes):
    """(ip, port) from the first TOA option of a TCP option list, or None."""
    i = 0
    while i < len(options):
        kind = options[i]
        if kind == 0:
            return None
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(options):
            return None
        length = options[i + 1]
        if length < 2 or i + length > len(options):
            return None
        if kind == TOA_KIND and length == TOA_LEN:
            port = struct.unpack("!H", options[i + 2:i + 4])[0]
            return socket.inet_ntoa(options[i + 4:i + 8]), port
        i += length
    return None


def segments(data: bytes):
    """Yields (src, sport, dst, dport, payload_len, toa) for every IPv4 TCP segment with payload."""
    if len(data) < 24:
        raise ValueError("shorter than a pcap header")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError("not a pcap file (pcapng is not read: capture with tcpdump -w)")
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    if linktype != 1:
        raise ValueError(f"link type {linktype}, want 1 (Ethernet)")
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(frame) < 14 + 20 or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[0] >> 4 != 4 or ip[9] != 6 or ihl < 20 or len(ip) < ihl + 20:
            continue
        total = struct.unpack("!H", ip[2:4])[0]
        tcp = ip[ihl:]
        doff = (tcp[12] >> 4) * 4
        payload = total - ihl - doff
        if payload <= 0 or doff < 20:
            continue
        sport, dport = struct.unpack("!HH", tcp[:4])
        toa = toa_of(tcp[20:doff]) if len(tcp) >= doff else None
        yield socket.inet_ntoa(ip[12:16]), sport, socket.inet_ntoa(ip[16:20]), dport, payload, toa


def main(argv) -> int:
    if len(argv) != 2:
        print(__doc__.split("\n\n")[0], file=sys.stderr)
        print("usage: pcap_toa.py FILE", file=sys.stderr)
        return 2
    with open(argv[1], "rb") as f:
        data = f.read()
    try:
        for src, sport, dst, dport, length, toa in segments(data):
            toa_text = f"{toa[0]}:{toa[1]}" if toa else "none"
            print(f"{src}:{sport} > {dst}:{dport} len={length} toa={toa_text}")
    except ValueError as e:
        print(f"pcap_toa: {argv[1]}: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
