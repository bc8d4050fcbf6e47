#!/usr/bin/env python3
"""Writes the input and expected-output captures of the foundation golden test.

The director port is 02:70:63:61:70:00 (net_pcap's own MAC) and owns 192.0.2.1/24 (host) and 192.0.2.100/32 (vip);
the peer is 192.0.2.2 at 02:00:00:00:00:02. Expected replies are built here byte by byte with
their own checksum routine, independently of rvs's code, from the RFC layouts:
RFC 826 (ARP), RFC 5227 (ARP announcement), RFC 791 (IPv4), RFC 792 (ICMP echo).

Run from the repository root:  python3 tests/data/gen_foundation_pcaps.py
"""
import struct
import sys
from pathlib import Path

DIR_MAC = bytes.fromhex("027063617000")  # net_pcap's fixed MAC for its first port
PEER_MAC = bytes.fromhex("020000000002")
BCAST = b"\xff" * 6
DIR_IP = bytes([192, 0, 2, 1])
VIP = bytes([192, 0, 2, 100])
PEER_IP = bytes([192, 0, 2, 2])
OTHER_IP = bytes([192, 0, 2, 50])
STRANGER_MAC = bytes.fromhex("020000000003")
STRANGER_IP = bytes([192, 0, 2, 3])


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def eth(dst, src, ethertype, payload):
    return dst + src + struct.pack("!H", ethertype) + payload


def arp(op, sha, spa, tha, tpa):
    return struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + sha + spa + tha + tpa


def ipv4(src, dst, proto, payload, ident=0x4242, ttl=64, good_csum=True):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0, ttl, proto, 0, src, dst)
    c = csum(hdr)
    if not good_csum:
        c ^= 0x5A5A
    return hdr[:10] + struct.pack("!H", c) + hdr[12:] + payload


def icmp_echo(typ, ident, seq, data):
    msg = struct.pack("!BBHHH", typ, 0, 0, ident, seq) + data
    return msg[:2] + struct.pack("!H", csum(msg)) + msg[4:]


def pad60(frame):
    return frame + b"\0" * max(0, 60 - len(frame))


def pcap(frames):
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for i, f in enumerate(frames):
        out += struct.pack("<IIII", 1_700_000_000 + i, 0, len(f), len(f)) + f
    return out


PAYLOAD = bytes(range(32))

inputs = [
    # 1. who-has 192.0.2.1 (ours, host)
    eth(BCAST, PEER_MAC, 0x0806, arp(1, PEER_MAC, PEER_IP, b"\0" * 6, DIR_IP)),
    # 2. echo request to the host address
    eth(DIR_MAC, PEER_MAC, 0x0800, ipv4(PEER_IP, DIR_IP, 1, icmp_echo(8, 0x1234, 1, PAYLOAD), ttl=61)),
    # 3. who-has the VIP
    eth(BCAST, PEER_MAC, 0x0806, arp(1, PEER_MAC, PEER_IP, b"\0" * 6, VIP)),
    # 4. echo request to the VIP
    eth(DIR_MAC, PEER_MAC, 0x0800, ipv4(PEER_IP, VIP, 1, icmp_echo(8, 0x1234, 2, PAYLOAD), ident=0x4343)),
    # 5. a stranger asks who-has an address nobody here owns: no answer, nothing learned
    eth(BCAST, STRANGER_MAC, 0x0806, arp(1, STRANGER_MAC, STRANGER_IP, b"\0" * 6, OTHER_IP)),
    # 6. echo request with a bad IPv4 header checksum: dropped
    eth(DIR_MAC, PEER_MAC, 0x0800, ipv4(PEER_IP, DIR_IP, 1, icmp_echo(8, 1, 3, PAYLOAD), good_csum=False)),
    # 7. truncated IPv4 header (10 bytes after Ethernet): dropped
    eth(DIR_MAC, PEER_MAC, 0x0800, bytes.fromhex("45000054000000004001")),
    # 8. IHL of 4: dropped
    eth(DIR_MAC, PEER_MAC, 0x0800, b"\x44" + ipv4(PEER_IP, DIR_IP, 1, icmp_echo(8, 1, 4, PAYLOAD))[1:]),
    # 9. a frame shorter than an Ethernet header: dropped
    bytes.fromhex("0270636170000200"),
]

expected = [
    # Announcements at start (RFC 5227): ARP request, sender = target = our address, padded
    # with zeros to the 60-byte Ethernet minimum as frames the director builds itself are.
    pad60(eth(BCAST, DIR_MAC, 0x0806, arp(1, DIR_MAC, DIR_IP, b"\0" * 6, DIR_IP))),
    pad60(eth(BCAST, DIR_MAC, 0x0806, arp(1, DIR_MAC, VIP, b"\0" * 6, VIP))),
    # 1 -> ARP reply
    eth(PEER_MAC, DIR_MAC, 0x0806, arp(2, DIR_MAC, DIR_IP, PEER_MAC, PEER_IP)),
    # 2 -> echo reply: addresses swapped, TTL 64, identification kept
    eth(PEER_MAC, DIR_MAC, 0x0800, ipv4(DIR_IP, PEER_IP, 1, icmp_echo(0, 0x1234, 1, PAYLOAD), ttl=64)),
    # 3 -> ARP reply for the VIP
    eth(PEER_MAC, DIR_MAC, 0x0806, arp(2, DIR_MAC, VIP, PEER_MAC, PEER_IP)),
    # 4 -> echo reply from the VIP
    eth(PEER_MAC, DIR_MAC, 0x0800, ipv4(VIP, PEER_IP, 1, icmp_echo(0, 0x1234, 2, PAYLOAD), ident=0x4343)),
]

here = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
(here / "foundation_in.pcap").write_bytes(pcap(inputs))
(here / "foundation_expected.pcap").write_bytes(pcap(expected))
print(f"wrote {len(inputs)} input and {len(expected)} expected frames to {here}")
