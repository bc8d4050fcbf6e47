#!/usr/bin/env python3
"""Writes the captures of the golden tests of the packets beside the happy path
(tests/dpdk_golden_frag_{nat,fullnat}.rs) into tests/data/modes/: IPv4 fragments followed from
the first fragment, ICMP errors from a real server translated back to the client, a TCP reset
for a SYN no dest can take, and malformed or unmatched frames that are dropped with nothing
sent for them.

Files: <scenario>_in_<port>.pcap and <scenario>_expected_<port>.pcap for the ports `wan`
(clients, the VIP) and `lan` (the real servers), scenarios `naterr` and `fullnaterr`.

Every frame is built here from the RFC layouts with the helpers of gen_mode_pcaps.py (its own
header and checksum code; nothing is taken from rvs's sources) plus this file's own fragment and
ICMP builders (RFC 791 fragmentation, RFC 792 destination unreachable, RFC 1191 next-hop MTU).
The behaviour encoded is the one rvs documents:
- Fragments (src/ipvs/frag.rs, src/ipvs/xmit/mod.rs `forward_fragment`): the first fragment
  finds or creates the connection and is rewritten as a whole packet would be (its TCP/UDP
  checksum covers the whole datagram, so it comes out right for the translated datagram); later
  fragments of the same datagram (source, destination, protocol, identification) get the
  IP-level part only: TTL - 1, the rewritten addresses, the header checksum. So the expected
  fragments are the fragments of the translated whole datagram, cut at the same offsets.
  A later fragment whose first fragment never came is dropped (balancer drop
  `frag_unmatched`).
- ICMP errors (src/ipvs/xmit/icmp.rs): an error from the real-server side about a packet that
  went to the real server is translated as the connection's replies are: outer source = the
  VIP, outer destination = the client, TTL - 1; the quoted packet gets back the addresses and
  ports the client sent (its header and TCP/UDP checksums updated), the rest of the quote and
  the next-hop MTU are kept, and the ICMP checksum is computed afresh. An error from the client
  about a reply (NAT) is translated as requests are: outer destination = the real server,
  outer source kept, the quoted source back to the real server's address and port.
- Resets (src/ipvs/reset.rs): a SYN for a service whose only dest has weight 0 is answered
  by the director with a RST from the address and port the client sent to: RFC 793 (no ACK in
  the SYN: sequence 0, ACK = the SYN's sequence + 1, flags RST|ACK), no options, window 0, TTL
  64, DF set, identification 0, both checksums computed. The frame is the SYN's frame cut to
  Ethernet + 40 bytes (no padding). It is counted as a `no_dest` balancer drop.
- A frame whose IPv4 header checksum is wrong is dropped by the stack (`ipv4_bad_checksum`).
- FULLNAT local ports as in gen_mode_pcaps.py: one set per (local address, dest), each starting
  at 1024, the lowest free port after the last one given.

Ordering: the worker polls `wan` first; every scenario has fewer than 32 `wan` frames, so the
first poll of `wan` takes them all (`assert` below), and everything the `wan` frames cause
(requests on `lan`, the reset on `wan`) is sent before anything the `lan` frames cause (replies
and translated errors on `wan`). The replies on `lan` only concern connections opened on `wan`.

Run from the repository root:  python3 tests/data/gen_error_pcaps.py
"""
import struct
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from gen_mode_pcaps import (  # noqa: E402
    ACK,
    CLIENT,
    CLIENT_MAC,
    IN_RS1,
    LADDR1,
    LAN_HOST,
    PORT_MAC,
    PSH,
    REQ_A,
    RST,
    RS1_MAC,
    SYN,
    SYN_OPTS,
    TCP,
    UDP,
    VIP,
    WAN_HOST,
    Pkt,
    csum,
    eth,
    fragments,
    garp,
    hop,
    ipv4,
    pad60,
    pcap,
    pseudo,
    wire,
)

ICMP = 1
BURST = 32


def ip_frame(dst_mac, src_mac, ip):
    return pad60(eth(dst_mac, src_mac, 0x0800, ip))


def dest_unreachable(src, dst, code, quoted, ident, mtu=0, ttl=64):
    """RFC 792 type 3 (with RFC 1191's next-hop MTU for code 4), sent as Linux sends errors:
    TOS 0xc0, DF clear. `quoted` is the offending datagram from its IPv4 header on."""
    body = struct.pack("!BBHHH", 3, code, 0, 0, mtu) + quoted
    body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    return ipv4(src, dst, ICMP, body, ident, ttl=ttl, df=False, tos=0xC0)


def rst_for_syn(syn):
    """The director's reset for `syn` (a Pkt with SYN and no ACK): see the module doc."""
    seg = struct.pack("!HHIIBBHHH", syn.dport, syn.sport, 0, syn.seq + 1, 5 << 4, RST | ACK, 0, 0, 0)
    c = csum(pseudo(syn.dst, syn.src, TCP, len(seg)) + seg)
    seg = seg[:16] + struct.pack("!H", c) + seg[18:]
    return ipv4(syn.dst, syn.src, TCP, seg, 0, ttl=64, df=True)


def bad_header_checksum(ip):
    """`ip` with its header checksum off by one."""
    c = struct.unpack("!H", ip[10:12])[0]
    return ip[:10] + struct.pack("!H", c ^ 0x0001) + ip[12:]


def data_block(n, seed):
    return bytes((i * 7 + seed) & 0xFF for i in range(n))


def later_fragment_only(p, chunk):
    """The second fragment of `p`'s datagram alone (its first fragment is never sent)."""
    return fragments(p.ip(), chunk)[1]


def check_one_burst(frames):
    assert len(frames) < BURST, f"{len(frames)} wan frames: they must fit one burst (see the doc)"


# --- NAT -------------------------------------------------------------------------------------------
# wan: host 198.51.100.1/24, VIP 198.51.100.100; lan: host 10.0.0.1/24.
# tcp VIP:80 -> RS1 10.0.0.11:8080 (nat); udp VIP:53 -> RS1:5353 (nat);
# tcp VIP:81 -> RS1:81 with weight 0 (no dest can take a connection: SYNs get a reset).


def naterr():
    syn = Pkt(CLIENT, 40010, VIP, 80, TCP, 0x110, seq=0x1000, flags=SYN, opts=SYN_OPTS)
    ack = Pkt(CLIENT, 40010, VIP, 80, TCP, 0x111, seq=0x1001, ack=0x5001, flags=ACK)
    data = Pkt(CLIENT, 40010, VIP, 80, TCP, 0x112, seq=0x1001, ack=0x5001, flags=PSH | ACK, payload=REQ_A)
    synack = Pkt(IN_RS1, 8080, CLIENT, 40010, TCP, 0x910, seq=0x5000, ack=0x1001, flags=SYN | ACK)
    # A UDP datagram of 1200 bytes (UDP header included) in three fragments, the reply in two.
    big = Pkt(CLIENT, 50010, VIP, 53, UDP, 0x120, df=False, payload=data_block(1192, 3))
    big_reply = Pkt(IN_RS1, 5353, CLIENT, 50010, UDP, 0x920, df=False, payload=data_block(900, 5))
    # A query to a closed port on the real server.
    query = Pkt(CLIENT, 50011, VIP, 53, UDP, 0x121, df=False, payload=b"anybody there?")
    # A SYN for the service whose dest has weight 0.
    nodest = Pkt(CLIENT, 40011, VIP, 81, TCP, 0x130, seq=0x7000, flags=SYN, opts=SYN_OPTS)
    # A datagram whose first fragment never arrives.
    orphan = Pkt(CLIENT, 50012, VIP, 53, UDP, 0x140, df=False, payload=data_block(600, 7))
    # From the client side: port-unreachable about a datagram of the query's connection that
    # the client got from the VIP (as it got it: TTL 63). Translated like a request: to the
    # real server, quoting the datagram as the real server sent it.
    got = Pkt(VIP, 53, CLIENT, 50011, UDP, 0x940, ttl=63, df=False, payload=b"late answer")
    client_unreach = dest_unreachable(CLIENT, VIP, 3, got.ip(), 0x160)
    client_unreach_in = dest_unreachable(
        CLIENT, IN_RS1, 3, replace(got, src=IN_RS1, sport=5353).ip(), 0x160, ttl=63
    )

    to_rs = lambda p, port: hop(p, dst=IN_RS1, dport=port)  # noqa: E731
    to_client = lambda p, vport: hop(p, src=VIP, sport=vport)  # noqa: E731

    # What the real server got, as the errors quote it.
    data_at_rs = to_rs(data, 8080).ip()
    query_at_rs = to_rs(query, 5353).ip()
    frag_needed = dest_unreachable(IN_RS1, CLIENT, 4, data_at_rs, 0x930, mtu=1400)
    port_unreach = dest_unreachable(IN_RS1, CLIENT, 3, query_at_rs, 0x931)
    # Translated back: from the VIP, quoting what the client sent (TTL as quoted).
    frag_needed_out = dest_unreachable(VIP, CLIENT, 4, hop(data).ip(), 0x930, mtu=1400, ttl=63)
    port_unreach_out = dest_unreachable(VIP, CLIENT, 3, hop(query).ip(), 0x931, ttl=63)

    wan_in = (
        [wire(PORT_MAC[0], CLIENT_MAC, p) for p in (syn, ack, data)]
        + [ip_frame(PORT_MAC[0], CLIENT_MAC, f) for f in fragments(big.ip(), 400)]
        + [wire(PORT_MAC[0], CLIENT_MAC, query)]
        + [ip_frame(PORT_MAC[0], CLIENT_MAC, client_unreach)]
        + [wire(PORT_MAC[0], CLIENT_MAC, nodest)]
        + [ip_frame(PORT_MAC[0], CLIENT_MAC, later_fragment_only(orphan, 304))]
        + [ip_frame(PORT_MAC[0], CLIENT_MAC, bad_header_checksum(replace(data, ident=0x150).ip()))]
    )
    check_one_burst(wan_in)
    lan_in = (
        [wire(PORT_MAC[1], RS1_MAC, synack)]
        + [ip_frame(PORT_MAC[1], RS1_MAC, frag_needed)]
        + [ip_frame(PORT_MAC[1], RS1_MAC, f) for f in fragments(big_reply.ip(), 512)]
        + [ip_frame(PORT_MAC[1], RS1_MAC, port_unreach)]
    )
    lan_out = (
        [garp(1, LAN_HOST)]
        + [wire(RS1_MAC, PORT_MAC[1], to_rs(p, 8080)) for p in (syn, ack, data)]
        + [ip_frame(RS1_MAC, PORT_MAC[1], f) for f in fragments(to_rs(big, 5353).ip(), 400)]
        + [wire(RS1_MAC, PORT_MAC[1], to_rs(query, 5353))]
        + [ip_frame(RS1_MAC, PORT_MAC[1], client_unreach_in)]
    )
    wan_out = (
        [garp(0, WAN_HOST), garp(0, VIP)]
        + [eth(CLIENT_MAC, PORT_MAC[0], 0x0800, rst_for_syn(nodest))]
        + [wire(CLIENT_MAC, PORT_MAC[0], to_client(synack, 80))]
        + [ip_frame(CLIENT_MAC, PORT_MAC[0], frag_needed_out)]
        + [ip_frame(CLIENT_MAC, PORT_MAC[0], f) for f in fragments(to_client(big_reply, 53).ip(), 512)]
        + [ip_frame(CLIENT_MAC, PORT_MAC[0], port_unreach_out)]
    )
    return {
        "naterr_in_wan": wan_in,
        "naterr_in_lan": lan_in,
        "naterr_expected_wan": wan_out,
        "naterr_expected_lan": lan_out,
    }


# --- FULLNAT ---------------------------------------------------------------------------------------
# wan: host, VIP; lan: host 10.0.0.1/24, local address 10.0.0.201.
# tcp VIP:80 -> RS1 10.0.0.11:8080 (fullnat, no TOA); udp VIP:53 -> RS1:53 (fullnat); laddr .201.
# Connections to RS1:8080 take local ports 1024...; to RS1:53 likewise, separately.


def fullnaterr():
    syn = Pkt(CLIENT, 40020, VIP, 80, TCP, 0x210, seq=0x2000, flags=SYN, opts=SYN_OPTS)
    ack = Pkt(CLIENT, 40020, VIP, 80, TCP, 0x211, seq=0x2001, ack=0x6001, flags=ACK)
    data = Pkt(CLIENT, 40020, VIP, 80, TCP, 0x212, seq=0x2001, ack=0x6001, flags=PSH | ACK, payload=REQ_A)
    synack = Pkt(IN_RS1, 8080, LADDR1, 1024, TCP, 0xA10, seq=0x6000, ack=0x2001, flags=SYN | ACK)
    big = Pkt(CLIENT, 50020, VIP, 53, UDP, 0x220, df=False, payload=data_block(1000, 11))
    big_reply = Pkt(IN_RS1, 53, LADDR1, 1024, UDP, 0xA20, df=False, payload=data_block(700, 13))
    query = Pkt(CLIENT, 50021, VIP, 53, UDP, 0x221, df=False, payload=b"anybody there?")
    orphan = Pkt(CLIENT, 50022, VIP, 53, UDP, 0x240, df=False, payload=data_block(600, 17))

    def to_rs(p, port, lport):
        return hop(p, src=LADDR1, sport=lport, dst=IN_RS1, dport=port)

    def to_client(p, vport, cport):
        return hop(p, src=VIP, sport=vport, dst=CLIENT, dport=cport)

    data_at_rs = to_rs(data, 8080, 1024).ip()
    query_at_rs = to_rs(query, 53, 1025).ip()
    frag_needed = dest_unreachable(IN_RS1, LADDR1, 4, data_at_rs, 0xA30, mtu=1400)
    port_unreach = dest_unreachable(IN_RS1, LADDR1, 3, query_at_rs, 0xA31)
    frag_needed_out = dest_unreachable(VIP, CLIENT, 4, hop(data).ip(), 0xA30, mtu=1400, ttl=63)
    port_unreach_out = dest_unreachable(VIP, CLIENT, 3, hop(query).ip(), 0xA31, ttl=63)

    wan_in = (
        [wire(PORT_MAC[0], CLIENT_MAC, p) for p in (syn, ack, data)]
        + [ip_frame(PORT_MAC[0], CLIENT_MAC, f) for f in fragments(big.ip(), 328)]
        + [wire(PORT_MAC[0], CLIENT_MAC, query)]
        + [ip_frame(PORT_MAC[0], CLIENT_MAC, later_fragment_only(orphan, 304))]
        + [ip_frame(PORT_MAC[0], CLIENT_MAC, bad_header_checksum(replace(query, ident=0x250).ip()))]
    )
    check_one_burst(wan_in)
    lan_in = (
        [wire(PORT_MAC[1], RS1_MAC, synack)]
        + [ip_frame(PORT_MAC[1], RS1_MAC, frag_needed)]
        + [ip_frame(PORT_MAC[1], RS1_MAC, f) for f in fragments(big_reply.ip(), 200)]
        + [ip_frame(PORT_MAC[1], RS1_MAC, port_unreach)]
    )
    lan_out = (
        [garp(1, LAN_HOST), garp(1, LADDR1)]
        + [wire(RS1_MAC, PORT_MAC[1], to_rs(p, 8080, 1024)) for p in (syn, ack, data)]
        + [ip_frame(RS1_MAC, PORT_MAC[1], f) for f in fragments(to_rs(big, 53, 1024).ip(), 328)]
        + [wire(RS1_MAC, PORT_MAC[1], to_rs(query, 53, 1025))]
    )
    wan_out = (
        [garp(0, WAN_HOST), garp(0, VIP)]
        + [wire(CLIENT_MAC, PORT_MAC[0], to_client(synack, 80, 40020))]
        + [ip_frame(CLIENT_MAC, PORT_MAC[0], frag_needed_out)]
        + [ip_frame(CLIENT_MAC, PORT_MAC[0], f) for f in fragments(to_client(big_reply, 53, 50020).ip(), 200)]
        + [ip_frame(CLIENT_MAC, PORT_MAC[0], port_unreach_out)]
    )
    return {
        "fullnaterr_in_wan": wan_in,
        "fullnaterr_in_lan": lan_in,
        "fullnaterr_expected_wan": wan_out,
        "fullnaterr_expected_lan": lan_out,
    }


def main():
    here = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "modes"
    here.mkdir(parents=True, exist_ok=True)
    for scenario in (naterr, fullnaterr):
        for name, frames in scenario().items():
            (here / f"{name}.pcap").write_bytes(pcap(frames))
            print(f"{name}.pcap: {len(frames)} frames")


if __name__ == "__main__":
    main()
