#!/usr/bin/env python3
"""Writes the input and expected-output captures of the per-mode golden tests
(tests/dpdk_golden_{nat,dr,tun,fullnat,snat}.rs) into tests/data/modes/.

Files: <mode>_in.pcap / <mode>_expected.pcap for one-port modes (dr, tun), and
<mode>_in_<port>.pcap / <mode>_expected_<port>.pcap for two-port modes (nat, fullnat, snat; ports
`wan` and `lan`). Each test feeds the input captures to rvsd's real daemon path (EAL, net_pcap
ports, one worker, the L2/L3 stack, the balancer, the forwarding mode) and compares what the ports
send with the expected captures, frame for frame.

Every expected frame is built here from scratch, with this file's own header and checksum code
from the RFC layouts (RFC 791 IPv4, RFC 793 TCP, RFC 768 UDP, RFC 826/5227 ARP, RFC 2003 IP-in-IP,
draft-ietf-intarea-gue variant 0), and the forwarding rules of each mode as rvs documents them:
- every mode decrements the TTL (for TUN the inner one) and leaves everything else of the packet
  that the mode does not rewrite as it was: IP identification, DF, TOS, TCP sequence numbers,
  options and payload;
- in-place rewrites (NAT, DR, FULLNAT, SNAT) keep the frame's length, so a frame that arrived
  padded to the 60-byte Ethernet minimum leaves with the same zero padding; a tunnelled packet or
  one that grew by TOA drops the padding;
- the director's L2 header: destination = the next hop's MAC (static neighbours here), source =
  the port's MAC, EtherType IPv4;
- at start the director announces every address it owns with a gratuitous ARP request
  (RFC 5227: sender = target = the address), one per address in config order, padded to 60 bytes.
  These come first on each port.

Rules that are rvs's own choices, reproduced here from their documented definitions:
- rr scheduling: one worker starts at the first dest of the list, then cycles in list order.
- FULLNAT/SNAT local ports: one worker owns the whole range 1024-65535 and allocates the lowest
  free port after the last one it gave (a cursor starting at 1024); FULLNAT keeps one set of ports
  per (local address, dest), so every first connection toward a dest gets port 1024; it takes the
  service's local addresses round-robin in config order. SNAT keeps one set per WAN address shared
  by all destinations and protocols, so its connections get 1024, 1025, 1026...
- TOA (FULLNAT, TCP): option kind 254, length 8, client port then client address, appended after
  the segment's existing options; it rides on every client segment but SYN/RST until one carrying
  data has had it: here the handshake's last ACK and the first data segment.
- TUN: outer IPv4 from the director's host address on the egress port to the real server, TTL 64,
  TOS and DF copied from the inner header, identification = inner identification XOR the low 16
  bits of the flow hash below; GUE adds UDP from port 49152 | (hash & 0x3fff) to the dest's
  tun_port, checksum 0 (nocsum) or computed (csum), then the 4-byte GUE variant 0 header
  (00 04 00 00: version 0, no control flag, Hlen 0, protocol 4).
- The flow hash: as docs/tun-flow-hash.md specifies it (inputs: the inner packet as the client
  sent it; function: two 64-bit words mixed by multiplication, folded to 32 bits), implemented in
  `flow_hash` below from that page, not from rvs's code.

Ordering (two-port modes): the worker polls its rx queues in config order, each burst returning up
to 32 frames, and each port's output only carries packets that arrived on the other port, in their
arrival order. The requests' port is polled first, and every reply sits in its file at an index no
lower than that of the request it depends on (the connection-creating packet): then with any burst
size b the worker has processed requests 0..k*b-1 before replies (k-1)*b..k*b-1, so no reply is
seen before its connection exists. `check_order` asserts this for every two-port scenario.

Run from the repository root:  python3 tests/data/gen_mode_pcaps.py
"""
import struct
import sys
from dataclasses import dataclass, replace
from pathlib import Path

# --- addresses -------------------------------------------------------------------------------------

PORT_MAC = [bytes.fromhex("027063617000"), bytes.fromhex("027063617001")]  # net_pcap's fixed MACs
BCAST = b"\xff" * 6
CLIENT_MAC = bytes.fromhex("0200000000c1")
RS1_MAC = bytes.fromhex("0200000000a1")
RS2_MAC = bytes.fromhex("0200000000a2")
SERVER_MAC = bytes.fromhex("0200000000b1")


def ip(s):
    return bytes(int(x) for x in s.split("."))


WAN_HOST = ip("198.51.100.1")
VIP = ip("198.51.100.100")
CLIENT = ip("198.51.100.2")
LAN_HOST = ip("10.0.0.1")
LADDR1 = ip("10.0.0.201")
LADDR2 = ip("10.0.0.202")
SNAT_OUT = ip("198.51.100.200")
SERVER = ip("198.51.100.50")
# Real servers: on the inside LAN (nat, fullnat) or the client's LAN (dr, tun).
IN_RS1, IN_RS2 = ip("10.0.0.11"), ip("10.0.0.12")
LAN_RS1, LAN_RS2 = ip("198.51.100.11"), ip("198.51.100.12")
# SNAT inside hosts.
HOST1, HOST2 = ip("10.0.0.11"), ip("10.0.0.12")
HOST1_MAC, HOST2_MAC = RS1_MAC, RS2_MAC

TCP, UDP, IPIP = 6, 17, 4
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

# --- headers and checksums -------------------------------------------------------------------------


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def pseudo(src, dst, proto, length):
    return src + dst + struct.pack("!BBH", 0, proto, length)


def ipv4(src, dst, proto, payload, ident, ttl=64, df=True, tos=0):
    hdr = struct.pack(
        "!BBHHHBBH4s4s", 0x45, tos, 20 + len(payload), ident, 0x4000 if df else 0, ttl, proto, 0, src, dst
    )
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + payload


def udp(src, sport, dst, dport, payload, checksum=True):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    c = 0
    if checksum:
        c = csum(pseudo(src, dst, UDP, len(seg)) + seg) or 0xFFFF  # RFC 768: 0 is sent as all ones
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def eth(dst, src, ethertype, payload):
    return dst + src + struct.pack("!H", ethertype) + payload


def pad60(frame):
    return frame + b"\0" * max(0, 60 - len(frame))


def garp(port, addr):
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + PORT_MAC[port] + addr + b"\0" * 6 + addr
    return pad60(eth(BCAST, PORT_MAC[port], 0x0806, arp))


@dataclass(frozen=True)
class Pkt:
    """One IPv4 TCP or UDP packet, field by field."""

    src: bytes
    sport: int
    dst: bytes
    dport: int
    proto: int
    ident: int
    ttl: int = 64
    df: bool = True
    tos: int = 0
    seq: int = 0
    ack: int = 0
    flags: int = 0
    win: int = 64240
    opts: bytes = b""
    payload: bytes = b""

    def l4(self):
        if self.proto == UDP:
            return udp(self.src, self.sport, self.dst, self.dport, self.payload)
        assert len(self.opts) % 4 == 0
        hl = 20 + len(self.opts)
        hdr = struct.pack(
            "!HHIIBBHHH", self.sport, self.dport, self.seq, self.ack, (hl // 4) << 4, self.flags, self.win, 0, 0
        )
        seg = hdr + self.opts + self.payload
        c = csum(pseudo(self.src, self.dst, TCP, len(seg)) + seg)
        return seg[:16] + struct.pack("!H", c) + seg[18:]

    def ip(self):
        return ipv4(self.src, self.dst, self.proto, self.l4(), self.ident, self.ttl, self.df, self.tos)


def hop(p, **changes):
    """`p` as a forwarding hop leaves it: TTL - 1 and the mode's rewrites."""
    return replace(p, ttl=p.ttl - 1, **changes)


def wire(dst_mac, src_mac, p):
    """An Ethernet frame carrying `p`, padded to the 60-byte minimum as a NIC delivers it."""
    return pad60(eth(dst_mac, src_mac, 0x0800, p.ip()))


# --- TUN -------------------------------------------------------------------------------------------

def mix(word, key, mult):
    """docs/tun-flow-hash.md step 2: (word XOR key) times mult, modulo 2^64."""
    return ((word ^ key) * mult) % (1 << 64)


def flow_hash(p, fragment=False):
    """docs/tun-flow-hash.md: the TUN flow hash of packet `p` as the client sent it; a fragment
    of its datagram (first or later) hashes with ports = 0."""
    a = int.from_bytes(p.src + p.dst, "big")  # A: source then destination address
    ports = b"\0\0\0\0" if fragment else struct.pack("!HH", p.sport, p.dport)
    b = int.from_bytes(ports + bytes([p.proto]), "big")  # B: ports << 8 | proto
    h = mix(a, 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9) ^ mix(b, 0xD6E8FEB86659FD93, 0x94D049BB133111EB)
    h ^= h >> 29
    return (h ^ (h >> 32)) & 0xFFFFFFFF  # the low 32 bits of the fold


def ipip(p, director, rs):
    h = flow_hash(p)
    inner = hop(p).ip()
    return ipv4(director, rs, IPIP, inner, p.ident ^ (h & 0xFFFF), ttl=64, df=p.df, tos=p.tos)


def gue(p, director, rs, port, checksum):
    return gue_raw(hop(p).ip(), flow_hash(p), p, director, rs, port, checksum)


def gue_raw(inner, h, p, director, rs, port, checksum):
    """GUE variant 0 around the IPv4 packet `inner` (already forwarded: TTL - 1), for flow hash
    `h`; identification, DF and TOS from `p`'s header."""
    seg = udp(director, 49152 | (h & 0x3FFF), rs, port, b"\x00\x04\x00\x00" + inner, checksum=checksum)
    return ipv4(director, rs, UDP, seg, p.ident ^ (h & 0xFFFF), ttl=64, df=p.df, tos=p.tos)


def fragments(ip, chunk):
    """RFC 791: the datagram `ip` (20-byte header) cut into fragments carrying `chunk` bytes of
    payload (a multiple of 8) but the last; each with the original header but Total Length,
    More Fragments, Fragment Offset and the header checksum. DF must be clear."""
    assert ip[0] == 0x45 and chunk % 8 == 0
    assert struct.unpack("!H", ip[6:8])[0] & 0x4000 == 0, "DF set: cannot fragment"
    payload = ip[20:]
    out = []
    for off in range(0, len(payload), chunk):
        part = payload[off : off + chunk]
        more = 0x2000 if off + chunk < len(payload) else 0
        hdr = bytearray(ip[:20])
        hdr[2:4] = struct.pack("!H", 20 + len(part))
        hdr[6:8] = struct.pack("!H", more | (off // 8))
        hdr[10:12] = b"\0\0"
        hdr[10:12] = struct.pack("!H", csum(bytes(hdr)))
        out.append(bytes(hdr) + part)
    return out


# --- conversations ---------------------------------------------------------------------------------

SYN_OPTS = bytes.fromhex("020405b4") + bytes.fromhex("0402") + bytes.fromhex("080a") + struct.pack(
    "!II", 1000, 0
) + bytes.fromhex("01030307")  # MSS 1460, SACK permitted, timestamps, NOP, window scale 7
SYNACK_OPTS = bytes.fromhex("020405b4") + bytes.fromhex("0402") + bytes.fromhex("080a") + struct.pack(
    "!II", 5000, 1000
) + bytes.fromhex("01030307")


def ts_opts(val, ecr):
    return b"\x01\x01\x08\x0a" + struct.pack("!II", val, ecr)  # NOP, NOP, timestamps


@dataclass(frozen=True)
class Conv:
    """A TCP conversation: what the client sends (to the address it knows) and what the real server
    sends (to the peer it sees), with consistent sequence numbers."""

    c: dict
    s: dict


def conversation(client, cport, vaddr, vport, rs, rsport, peer, peerport, req, resp, idc, ids, ts=False):
    isc, iss = 0x10000000 + cport, 0x20000000 + rsport
    o = (lambda v, e: ts_opts(v, e)) if ts else (lambda v, e: b"")
    c = lambda i, **kw: Pkt(client, cport, vaddr, vport, TCP, idc + i, **kw)  # noqa: E731
    s = lambda i, **kw: Pkt(rs, rsport, peer, peerport, TCP, ids + i, **kw)  # noqa: E731
    a, b = len(req), len(resp)
    return Conv(
        c={
            "syn": c(0, seq=isc, flags=SYN, opts=SYN_OPTS),
            "ack": c(1, seq=isc + 1, ack=iss + 1, flags=ACK, opts=o(1001, 5000)),
            "data": c(2, seq=isc + 1, ack=iss + 1, flags=PSH | ACK, opts=o(1001, 5000), payload=req),
            "fin": c(3, seq=isc + 1 + a, ack=iss + 1 + b, flags=FIN | ACK, opts=o(1002, 5001)),
            "last": c(4, seq=isc + 2 + a, ack=iss + 2 + b, flags=ACK, opts=o(1003, 5002)),
        },
        s={
            "synack": s(0, seq=iss, ack=isc + 1, flags=SYN | ACK, opts=SYNACK_OPTS),
            "data": s(1, seq=iss + 1, ack=isc + 1 + a, flags=PSH | ACK, opts=o(5001, 1001), payload=resp),
            "fin": s(2, seq=iss + 1 + b, ack=isc + 2 + a, flags=FIN | ACK, opts=o(5002, 1002)),
        },
    )


REQ_A = b"GET /a HTTP/1.1\r\nHost: vip\r\n\r\n"
RESP_A = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nrs1"
REQ_B = b"GET /bb HTTP/1.1\r\nHost: vip\r\n\r\n"
RESP_B = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nrs2!"
QUERY = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x07example\x03com\x00\x00\x01\x00\x01"
ANSWER = QUERY[:2] + b"\x81\x80" + QUERY[4:] + b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04\xc0\x00\x02\x01"


def check_order(requests, replies):
    """Each reply's index in its file is >= the index of the request that opens its connection."""
    for j, (_, dep) in enumerate(replies):
        i = next(k for k, (p, _) in enumerate(requests) if p is dep)
        assert i <= j, f"reply {j} depends on request {i}: move the request earlier"


# --- NAT -------------------------------------------------------------------------------------------
# wan (port 0): host 198.51.100.1/24, VIP 198.51.100.100; lan (port 1): host 10.0.0.1/24.
# tcp VIP:80 rr -> RS1 10.0.0.11:8080 (port mapping), RS2 10.0.0.12:80;
# udp VIP:53 rr -> RS1:5353, RS2:5353. Real servers answer the client through the director.


def nat():
    a = conversation(CLIENT, 40001, VIP, 80, IN_RS1, 8080, CLIENT, 40001, REQ_A, RESP_A, 0x100, 0x900)
    b = conversation(CLIENT, 40002, VIP, 80, IN_RS2, 80, CLIENT, 40002, REQ_B, RESP_B, 0x200, 0xA00)
    uq = Pkt(CLIENT, 50001, VIP, 53, UDP, 0x300, df=False, payload=QUERY)
    ua = Pkt(IN_RS1, 5353, CLIENT, 50001, UDP, 0xB00, df=False, payload=ANSWER)
    # (packet, real server, its MAC, its port) as the client sends them, in arrival order.
    reqs = [
        (a.c["syn"], IN_RS1, RS1_MAC, 8080),
        (b.c["syn"], IN_RS2, RS2_MAC, 80),
        (uq, IN_RS1, RS1_MAC, 5353),
        (a.c["ack"], IN_RS1, RS1_MAC, 8080),
        (a.c["data"], IN_RS1, RS1_MAC, 8080),
        (b.c["ack"], IN_RS2, RS2_MAC, 80),
        (b.c["data"], IN_RS2, RS2_MAC, 80),
        (a.c["fin"], IN_RS1, RS1_MAC, 8080),
        (b.c["fin"], IN_RS2, RS2_MAC, 80),
        (a.c["last"], IN_RS1, RS1_MAC, 8080),
        (b.c["last"], IN_RS2, RS2_MAC, 80),
    ]
    # (packet, the request that opened its connection, sender MAC, the service port).
    reps = [
        (a.s["synack"], a.c["syn"], RS1_MAC, 80),
        (b.s["synack"], b.c["syn"], RS2_MAC, 80),
        (ua, uq, RS1_MAC, 53),
        (a.s["data"], a.c["syn"], RS1_MAC, 80),
        (a.s["fin"], a.c["syn"], RS1_MAC, 80),
        (b.s["data"], b.c["syn"], RS2_MAC, 80),
        (b.s["fin"], b.c["syn"], RS2_MAC, 80),
    ]
    check_order([(r[0], None) for r in reqs], [(r[0], r[1]) for r in reps])
    return {
        "nat_in_wan": [wire(PORT_MAC[0], CLIENT_MAC, p) for p, *_ in reqs],
        "nat_in_lan": [wire(PORT_MAC[1], mac, p) for p, _, mac, _ in reps],
        "nat_expected_wan": [garp(0, WAN_HOST), garp(0, VIP)]
        + [wire(CLIENT_MAC, PORT_MAC[0], hop(p, src=VIP, sport=vport)) for p, _, _, vport in reps],
        "nat_expected_lan": [garp(1, LAN_HOST)]
        + [wire(mac, PORT_MAC[1], hop(p, dst=rs, dport=port)) for p, rs, mac, port in reqs],
    }


# --- DR --------------------------------------------------------------------------------------------
# One port: host 198.51.100.1/24, VIP; real servers 198.51.100.11/.12 on the same LAN.
# tcp VIP:80 rr -> RS1:80, RS2:80; udp VIP:53 rr -> RS1:53, RS2:53 (all dr).


def dr():
    a = conversation(CLIENT, 40001, VIP, 80, LAN_RS1, 80, CLIENT, 40001, REQ_A, RESP_A, 0x100, 0x900)
    b = conversation(CLIENT, 40002, VIP, 80, LAN_RS2, 80, CLIENT, 40002, REQ_B, RESP_B, 0x200, 0xA00)
    uq = Pkt(CLIENT, 50001, VIP, 53, UDP, 0x300, df=False, tos=0x10, payload=QUERY)
    reqs = [
        (a.c["syn"], RS1_MAC),
        (a.c["ack"], RS1_MAC),
        (b.c["syn"], RS2_MAC),
        (a.c["data"], RS1_MAC),
        (uq, RS1_MAC),
        (b.c["ack"], RS2_MAC),
        (b.c["data"], RS2_MAC),
        (a.c["fin"], RS1_MAC),
        (b.c["fin"], RS2_MAC),
        (a.c["last"], RS1_MAC),
    ]
    return {
        "dr_in": [wire(PORT_MAC[0], CLIENT_MAC, p) for p, _ in reqs],
        "dr_expected": [garp(0, WAN_HOST), garp(0, VIP)]
        + [wire(mac, PORT_MAC[0], hop(p)) for p, mac in reqs],
    }


# --- TUN -------------------------------------------------------------------------------------------
# One port as DR. tcp VIP:80 rr -> RS1 ipip, RS2 gue (port 6080, nocsum);
# udp VIP:53 rr -> RS2 gue (port 6080, csum), RS1 ipip: the first UDP flow goes GUE with checksum.


def tun():
    a = conversation(CLIENT, 40001, VIP, 80, LAN_RS1, 80, CLIENT, 40001, REQ_A, RESP_A, 0x100, 0x900)
    b = conversation(CLIENT, 40002, VIP, 80, LAN_RS2, 80, CLIENT, 40002, REQ_B, RESP_B, 0x200, 0xA00)
    uq = Pkt(CLIENT, 50001, VIP, 53, UDP, 0x300, df=False, tos=0x10, payload=QUERY)
    uq2 = Pkt(CLIENT, 50002, VIP, 53, UDP, 0x301, df=False, payload=QUERY[:-1])
    # A datagram in three fragments: the third UDP flow, to RS2 by GUE with checksum. Each
    # fragment is encapsulated as it is (TTL - 1), all with the hash of ports = 0.
    uq3 = Pkt(CLIENT, 50003, VIP, 53, UDP, 0x302, df=False, payload=bytes(range(256)) * 4 + b"tail")
    uq3_frags = fragments(uq3.ip(), 400)

    def to_rs1(p):
        return eth(RS1_MAC, PORT_MAC[0], 0x0800, ipip(p, WAN_HOST, LAN_RS1))

    def to_rs2(p, checksum=False):
        return eth(RS2_MAC, PORT_MAC[0], 0x0800, gue(p, WAN_HOST, LAN_RS2, 6080, checksum))

    reqs = [
        (a.c["syn"], to_rs1),
        (b.c["syn"], to_rs2),
        (a.c["ack"], to_rs1),
        (a.c["data"], to_rs1),
        (b.c["ack"], to_rs2),
        (b.c["data"], to_rs2),
        (uq, lambda p: to_rs2(p, checksum=True)),
        (uq2, to_rs1),
        (a.c["fin"], to_rs1),
        (b.c["fin"], to_rs2),
        (a.c["last"], to_rs1),
        (b.c["last"], to_rs2),
    ]
    h3 = flow_hash(uq3, fragment=True)

    def frag_to_rs2(f):
        fwd = bytearray(f)
        fwd[8] -= 1  # TTL
        fwd[10:12] = b"\0\0"
        fwd[10:12] = struct.pack("!H", csum(bytes(fwd[:20])))
        return eth(RS2_MAC, PORT_MAC[0], 0x0800, gue_raw(bytes(fwd), h3, uq3, WAN_HOST, LAN_RS2, 6080, True))

    return {
        "tun_in": [wire(PORT_MAC[0], CLIENT_MAC, p) for p, _ in reqs]
        + [pad60(eth(PORT_MAC[0], CLIENT_MAC, 0x0800, f)) for f in uq3_frags],
        "tun_expected": [garp(0, WAN_HOST), garp(0, VIP)]
        + [f(p) for p, f in reqs]
        + [frag_to_rs2(f) for f in uq3_frags],
    }


# --- FULLNAT ---------------------------------------------------------------------------------------
# wan: host, VIP; lan: host 10.0.0.1/24, local addresses 10.0.0.201, 10.0.0.202.
# tcp VIP:80 rr -> RS1 10.0.0.11:8080, RS2 10.0.0.12:80, laddrs [.201, .202], toa;
# udp VIP:53 rr -> RS1:53, RS2:53, laddrs [.201, .202]. Real servers answer the local address.
# Client segments carry timestamps, so TOA is appended after existing options.


def toa(client, cport):
    return b"\xfe\x08" + struct.pack("!H", cport) + client


def fullnat():
    a = conversation(CLIENT, 40001, VIP, 80, IN_RS1, 8080, LADDR1, 1024, REQ_A, RESP_A, 0x100, 0x900, ts=True)
    b = conversation(CLIENT, 40002, VIP, 80, IN_RS2, 80, LADDR2, 1024, REQ_B, RESP_B, 0x200, 0xA00, ts=True)
    uq = Pkt(CLIENT, 50001, VIP, 53, UDP, 0x300, df=False, payload=QUERY)
    ua = Pkt(IN_RS1, 53, LADDR1, 1024, UDP, 0xB00, df=False, payload=ANSWER)
    # (packet, RS, RS MAC, RS port, local address, local port, with TOA)
    A = (IN_RS1, RS1_MAC, 8080, LADDR1, 1024)
    B = (IN_RS2, RS2_MAC, 80, LADDR2, 1024)
    reqs = [
        (a.c["syn"], *A, False),
        (b.c["syn"], *B, False),
        (uq, IN_RS1, RS1_MAC, 53, LADDR1, 1024, False),
        (a.c["ack"], *A, True),  # the handshake's last ACK
        (a.c["data"], *A, True),  # the first data segment
        (b.c["ack"], *B, True),
        (b.c["data"], *B, True),
        (a.c["fin"], *A, False),
        (b.c["fin"], *B, False),
        (a.c["last"], *A, False),
        (b.c["last"], *B, False),
    ]
    # (packet, opening request, RS MAC, the client's port, the service port)
    reps = [
        (a.s["synack"], a.c["syn"], RS1_MAC, 40001, 80),
        (b.s["synack"], b.c["syn"], RS2_MAC, 40002, 80),
        (ua, uq, RS1_MAC, 50001, 53),
        (a.s["data"], a.c["syn"], RS1_MAC, 40001, 80),
        (a.s["fin"], a.c["syn"], RS1_MAC, 40001, 80),
        (b.s["data"], b.c["syn"], RS2_MAC, 40002, 80),
        (b.s["fin"], b.c["syn"], RS2_MAC, 40002, 80),
    ]
    check_order([(r[0], None) for r in reqs], [(r[0], r[1]) for r in reps])

    def out_req(p, rs, mac, port, laddr, lport, with_toa):
        q = hop(p, src=laddr, sport=lport, dst=rs, dport=port)
        if with_toa:
            q = replace(q, opts=q.opts + toa(p.src, p.sport))
        return wire(mac, PORT_MAC[1], q)

    return {
        "fullnat_in_wan": [wire(PORT_MAC[0], CLIENT_MAC, r[0]) for r in reqs],
        "fullnat_in_lan": [wire(PORT_MAC[1], mac, p) for p, _, mac, _, _ in reps],
        "fullnat_expected_wan": [garp(0, WAN_HOST), garp(0, VIP)]
        + [
            wire(CLIENT_MAC, PORT_MAC[0], hop(p, src=VIP, sport=vport, dst=CLIENT, dport=cport))
            for p, _, _, cport, vport in reps
        ],
        "fullnat_expected_lan": [garp(1, LAN_HOST), garp(1, LADDR1), garp(1, LADDR2)]
        + [out_req(*r) for r in reqs],
    }


# --- SNAT ------------------------------------------------------------------------------------------
# wan: host 198.51.100.1/24, local 198.51.100.200 (the WAN address); lan: host 10.0.0.1/24.
# Rule: src 10.0.0.0/24, any dst, any proto, out 198.51.100.200. Inside hosts 10.0.0.11 and
# 10.0.0.12 reach the outside server 198.51.100.50 (port 80 TCP, 53 UDP). The worker polls lan
# first (the requests' port).


def snat():
    a = conversation(HOST1, 40001, SERVER, 80, SERVER, 80, SNAT_OUT, 1024, REQ_A, RESP_A, 0x100, 0x900)
    b = conversation(HOST2, 40001, SERVER, 80, SERVER, 80, SNAT_OUT, 1025, REQ_B, RESP_B, 0x200, 0xA00)
    uq = Pkt(HOST1, 50001, SERVER, 53, UDP, 0x300, df=False, payload=QUERY)
    ua = Pkt(SERVER, 53, SNAT_OUT, 1026, UDP, 0xB00, df=False, payload=ANSWER)
    reqs = [
        (a.c["syn"], HOST1_MAC, 1024),
        (b.c["syn"], HOST2_MAC, 1025),
        (uq, HOST1_MAC, 1026),
        (a.c["ack"], HOST1_MAC, 1024),
        (a.c["data"], HOST1_MAC, 1024),
        (b.c["ack"], HOST2_MAC, 1025),
        (b.c["data"], HOST2_MAC, 1025),
        (a.c["fin"], HOST1_MAC, 1024),
        (b.c["fin"], HOST2_MAC, 1025),
        (a.c["last"], HOST1_MAC, 1024),
        (b.c["last"], HOST2_MAC, 1025),
    ]
    # (packet, opening request, inside host, its MAC, its port)
    reps = [
        (a.s["synack"], a.c["syn"], HOST1, HOST1_MAC, 40001),
        (b.s["synack"], b.c["syn"], HOST2, HOST2_MAC, 40001),
        (ua, uq, HOST1, HOST1_MAC, 50001),
        (a.s["data"], a.c["syn"], HOST1, HOST1_MAC, 40001),
        (a.s["fin"], a.c["syn"], HOST1, HOST1_MAC, 40001),
        (b.s["data"], b.c["syn"], HOST2, HOST2_MAC, 40001),
        (b.s["fin"], b.c["syn"], HOST2, HOST2_MAC, 40001),
    ]
    check_order([(r[0], None) for r in reqs], [(r[0], r[1]) for r in reps])
    return {
        "snat_in_lan": [wire(PORT_MAC[1], mac, p) for p, mac, _ in reqs],
        "snat_in_wan": [wire(PORT_MAC[0], SERVER_MAC, r[0]) for r in reps],
        "snat_expected_wan": [garp(0, WAN_HOST), garp(0, SNAT_OUT)]
        + [wire(SERVER_MAC, PORT_MAC[0], hop(p, src=SNAT_OUT, sport=wport)) for p, _, wport in reqs],
        "snat_expected_lan": [garp(1, LAN_HOST)]
        + [wire(mac, PORT_MAC[1], hop(p, dst=host, dport=hport)) for p, _, host, mac, hport in reps],
    }


def pcap(frames):
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for i, f in enumerate(frames):
        out += struct.pack("<IIII", 1_700_000_000 + i, 0, len(f), len(f)) + f
    return out


def main():
    here = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "modes"
    here.mkdir(parents=True, exist_ok=True)
    for scenario in (nat, dr, tun, fullnat, snat):
        for name, frames in scenario().items():
            (here / f"{name}.pcap").write_bytes(pcap(frames))
            print(f"{name}.pcap: {len(frames)} frames")


if __name__ == "__main__":
    main()
