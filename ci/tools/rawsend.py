#!/usr/bin/env python3
"""rawsend: put hand-made Ethernet frames on a lab interface through an AF_PACKET socket.

Used by the lab tests to feed the director malformed input and check that every frame is dropped and
counted under the right reason. Standard library only; needs CAP_NET_RAW (root in a lab namespace):

    ip netns exec rvs-client python3 ci/tools/rawsend.py --iface eth0 --dst-ip 192.168.100.11 \\
        malformed --count 10
    ip netns exec rvs-client python3 ci/tools/rawsend.py --iface eth0 --dst-mac MAC hex 'ffff...'

    ip netns exec rvs-client python3 ci/tools/rawsend.py --iface eth0 tunnel --rs 192.168.100.12 \\
        --vip 192.168.100.100 --encap gue --inner syn --port 80

Every malformed frame is addressed to the director (destination MAC given or learned by ARP, IPv4
destination --dst-ip) and carries exactly one defect; KINDS below maps each kind to the drop reason
the director is expected to count (`rvs_net_drops_total{reason=...}`).

Kernel facts this relies on (Linux 6.x, veth + bridge, checked in the lab):
- A root AF_PACKET socket cannot send a frame shorter than the 14-byte Ethernet header: send() fails
  with EINVAL. `eth_truncated` therefore cannot be produced from inside a namespace; it is attempted and
  reported as refused. Frames of 14 bytes or more leave unpadded: veth and the bridge do not pad to the
  60-byte Ethernet minimum, so a 24-byte frame arrives as 24 bytes (a real NIC would pad it).
- Bridged IPv4 frames are validated (and malformed ones dropped) by br_netfilter when
  net.bridge.bridge-nf-call-iptables=1 in the bridge's namespace; `ci/lab` turns that off.

Output: one line per kind, `kind=K reason=R sent=N bytes=L`, then `total sent=N`.

`tunnel` plays the director of the TUN forwarding mode, to test a real server's decapsulation
(ci/tools/tun_decap.py) without rvsd: it sends the real server (--rs, MAC learned by ARP) an outer
IPv4 packet from this host, carrying IPIP (protocol 4) or GUE (UDP to --gue-port, variant 0 with
proto 4, or --gue-variant 1: the bare IPv4 packet) around an inner packet from this host to the VIP:
an ICMP echo request (--inner icmp) or a TCP SYN to --port (--inner syn). The real server's kernel
answers the inner packet itself, from the VIP, straight to this host; `tunnel` waits --timeout
seconds for that answer (an echo reply with the same id, or a SYN-ACK to the SYN's port), prints
`reply from VIP ...` and exits 0, or prints `no reply ...` and exits 1. This host's kernel answers a
SYN-ACK it did not ask for with a reset, which is harmless.
"""

import argparse
import errno
import fcntl
import os
import socket
import struct
import sys
import time

ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
IPPROTO_ICMP = 1
IPPROTO_IPIP = 4
IPPROTO_TCP = 6
IPPROTO_UDP = 17
SIOCGIFADDR = 0x8915


def checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum of data (odd length padded with a zero byte)."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def mac_bytes(text: str) -> bytes:
    parts = text.split(":")
    if len(parts) != 6:
        raise ValueError(f"bad MAC address {text!r}: want six hex bytes like 02:00:00:00:00:01")
    return bytes(int(p, 16) for p in parts)


def mac_text(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def iface_mac(iface: str) -> bytes:
    with open(f"/sys/class/net/{iface}/address", encoding="ascii") as f:
        return mac_bytes(f.read().strip())


def iface_ipv4(iface: str) -> str:
    """The interface's (first) IPv4 address; error when it has none."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        req = struct.pack("256s", iface.encode()[:15])
        res = fcntl.ioctl(s.fileno(), SIOCGIFADDR, req)
    except OSError as e:
        raise SystemExit(f"rawsend: {iface} has no IPv4 address ({e}); pass --src-ip") from None
    finally:
        s.close()
    return socket.inet_ntoa(res[20:24])


def eth_header(dst: bytes, src: bytes, ethertype: int) -> bytes:
    return dst + src + struct.pack("!H", ethertype)


def ipv4_header(src: str, dst: str, payload_len: int, ihl: int = 5, total_len=None, options=b"",
                ident: int = 0x1234, proto: int = IPPROTO_ICMP) -> bytes:
    """An IPv4 header of ihl*4 bytes (options padded with zeros) with a correct checksum over it."""
    hlen = ihl * 4
    if total_len is None:
        total_len = max(hlen, 20) + payload_len
    head = struct.pack("!BBHHHBBH4s4s", (4 << 4) | ihl, 0, total_len, ident, 0x4000, 64,
                       proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
    opts = options.ljust(max(hlen - 20, 0), b"\x00")
    head += opts
    csum = checksum(head[:max(hlen, 20)])
    return head[:10] + struct.pack("!H", csum) + head[12:]


def icmp_echo(ident: int, seq: int, size: int = 32) -> bytes:
    data = bytes((i & 0xFF) for i in range(size))
    body = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + data
    csum = checksum(body)
    return body[:2] + struct.pack("!H", csum) + body[4:]


def build_kinds(dst_mac: bytes, src_mac: bytes, src_ip: str, dst_ip: str, other_ip: str):
    """(kind, expected drop reason, frame) for every malformed kind, each with exactly one defect."""
    eth = eth_header(dst_mac, src_mac, ETH_P_IP)
    icmp = icmp_echo(0x7273, 1)
    good_ip = ipv4_header(src_ip, dst_ip, len(icmp))

    # IHL 4 (16 bytes): below the 20-byte minimum; checksum correct over the 20 bytes present.
    bad_ihl = ipv4_header(src_ip, dst_ip, len(icmp), ihl=4, total_len=20 + len(icmp))
    # IHL 15 (60 bytes, all present in the frame) but total length 40: header longer than the packet.
    ihl_over_total = ipv4_header(src_ip, dst_ip, 0, ihl=15, total_len=40, options=b"\x01" * 40)
    # Header checksum off by a non-zero pattern (never the other representation of zero).
    bad_csum = bytearray(good_ip)
    bad_csum[10] ^= 0x5A
    bad_csum[11] ^= 0x5A
    # Total length 1000 while the frame carries 60 bytes of IPv4.
    long_total = ipv4_header(src_ip, dst_ip, len(icmp), total_len=1000)

    return [
        # Shorter than an Ethernet header: the kernel refuses to send it (see the module doc).
        ("eth_truncated", "eth_truncated", dst_mac + src_mac[:4]),
        # Ethernet-complete, IPv4 type, only 10 bytes of IPv4 header.
        ("ipv4_truncated", "ipv4_truncated", eth + good_ip[:10]),
        # The header is whole but claims more bytes than arrived: a bad total length.
        ("ipv4_total_len_over_frame", "ipv4_bad_length", eth + long_total + icmp),
        ("ipv4_bad_ihl", "ipv4_bad_ihl", eth + bad_ihl + icmp),
        # A total length shorter than the header it carries: a bad total length.
        ("ipv4_ihl_over_total_len", "ipv4_bad_length", eth + ihl_over_total),
        ("ipv4_bad_checksum", "ipv4_bad_checksum", eth + bytes(bad_csum) + icmp),
        # Well-formed echo request to an address the director does not own.
        ("not_for_us", "not_for_us", eth + ipv4_header(src_ip, other_ip, len(icmp)) + icmp),
    ]


def open_socket(iface: str, proto: int) -> socket.socket:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(proto))
    s.bind((iface, proto))
    return s


def arp_resolve(iface: str, src_mac: bytes, src_ip: str, dst_ip: str, tries: int = 3,
                wait: float = 1.0) -> bytes:
    """The MAC that answers an ARP request for dst_ip on iface; SystemExit when nobody does."""
    s = open_socket(iface, ETH_P_ARP)
    try:
        req = eth_header(b"\xff" * 6, src_mac, ETH_P_ARP) + struct.pack(
            "!HHBBH6s4s6s4s", 1, ETH_P_IP, 6, 4, 1, src_mac, socket.inet_aton(src_ip), b"\x00" * 6,
            socket.inet_aton(dst_ip))
        want = socket.inet_aton(dst_ip)
        for _ in range(tries):
            s.send(req)
            deadline = time.monotonic() + wait
            while (left := deadline - time.monotonic()) > 0:
                s.settimeout(left)
                try:
                    frame = s.recv(2048)
                except socket.timeout:
                    break
                arp = frame[14:42]
                if len(arp) < 28:
                    continue
                op, sha, spa = struct.unpack("!6xH6s4s", arp[:18])
                if op == 2 and spa == want:
                    return sha
    finally:
        s.close()
    raise SystemExit(f"rawsend: no ARP reply for {dst_ip} on {iface} after {tries} tries; pass --dst-mac")


def send_frames(iface: str, frames, count: int, gap: float):
    """Sends each (kind, reason, frame) count times; prints and returns per-kind results."""
    s = open_socket(iface, ETH_P_IP)
    total = 0
    try:
        for kind, reason, frame in frames:
            sent = 0
            note = ""
            for _ in range(count):
                try:
                    n = s.send(frame)
                except OSError as e:
                    note = f" refused={errno.errorcode.get(e.errno, e.errno)}"
                    break
                if n != len(frame):
                    note = f" short_write={n}"
                    break
                sent += 1
                if gap:
                    time.sleep(gap)
            total += sent
            print(f"kind={kind} reason={reason} sent={sent} bytes={len(frame)}{note}", flush=True)
    finally:
        s.close()
    print(f"total sent={total}", flush=True)
    return total


def tcp_syn(src: str, dst: str, sport: int, dport: int, seq: int) -> bytes:
    """A TCP SYN (with an MSS option) whose checksum covers the IPv4 pseudo-header."""
    head = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, (6 << 4), 0x02, 64240, 0, 0)
    head += struct.pack("!BBH", 2, 4, 1460)  # MSS 1460
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, IPPROTO_TCP, len(head))
    csum = checksum(pseudo + head)
    return head[:16] + struct.pack("!H", csum) + head[18:]


def udp_datagram(src: str, dst: str, sport: int, dport: int, payload: bytes, with_csum: bool) -> bytes:
    length = 8 + len(payload)
    head = struct.pack("!HHHH", sport, dport, length, 0)
    if not with_csum:
        return head + payload
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, IPPROTO_UDP, length)
    csum = checksum(pseudo + head + payload) or 0xFFFF
    return head[:6] + struct.pack("!H", csum) + payload


def tunnel(args) -> int:
    """Send one encapsulated packet to --rs, wait for the real server's direct answer from --vip."""
    src_mac = iface_mac(args.iface)
    me = args.src_ip or iface_ipv4(args.iface)
    rs_mac = mac_bytes(args.dst_mac) if args.dst_mac else arp_resolve(args.iface, src_mac, me, args.rs)
    ident = os.getpid() & 0xFFFF
    sport = 40000 + ident % 20000
    if args.inner == "icmp":
        body = icmp_echo(ident, 1)
        inner_proto = IPPROTO_ICMP
        listen = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_ICMP)
    else:
        body = tcp_syn(me, args.vip, sport, args.port, 0x52565300 + ident)
        inner_proto = IPPROTO_TCP
        listen = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_TCP)
    inner = ipv4_header(me, args.vip, len(body), ident=ident, proto=inner_proto) + body
    if args.encap == "ipip":
        payload, outer_proto = inner, IPPROTO_IPIP
    else:
        gue = inner if args.gue_variant == 1 else struct.pack("!BBH", 0, IPPROTO_IPIP, 0) + inner
        payload = udp_datagram(me, args.rs, sport, args.gue_port, gue, args.udp_csum)
        outer_proto = IPPROTO_UDP
    outer = ipv4_header(me, args.rs, len(payload), ident=ident ^ 0xFFFF, proto=outer_proto) + payload
    frame = eth_header(rs_mac, src_mac, ETH_P_IP) + outer
    what = (f"{args.encap}{' variant ' + str(args.gue_variant) if args.encap == 'gue' else ''} to {args.rs}: "
            f"inner {args.inner} {me} -> {args.vip}{':' + str(args.port) if args.inner == 'syn' else ''}")
    out = open_socket(args.iface, ETH_P_IP)
    try:
        out.send(frame)
        print(f"sent {what} ({len(frame)} bytes)", flush=True)
        deadline = time.monotonic() + args.timeout
        while (left := deadline - time.monotonic()) > 0:
            listen.settimeout(left)
            try:
                pkt = listen.recv(65535)
            except socket.timeout:
                break
            if len(pkt) < 20 or socket.inet_ntoa(pkt[12:16]) != args.vip:
                continue
            l4 = pkt[(pkt[0] & 0x0F) * 4:]
            if args.inner == "icmp":
                if len(l4) >= 8 and l4[0] == 0 and struct.unpack("!H", l4[4:6])[0] == ident:
                    print(f"reply from {args.vip}: icmp echo reply id {ident}", flush=True)
                    return 0
            elif len(l4) >= 14:
                rsport, rdport = struct.unpack("!HH", l4[:4])
                flags = l4[13]
                if rsport == args.port and rdport == sport and flags & 0x12 == 0x12:
                    print(f"reply from {args.vip}:{rsport}: SYN-ACK to port {sport}", flush=True)
                    return 0
    finally:
        out.close()
        listen.close()
    print(f"no reply from {args.vip} within {args.timeout}s to {what}", flush=True)
    return 1


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--iface", default="eth0", help="interface to send on (default eth0)")
    p.add_argument("--dst-mac", help="destination MAC; learned by ARP for --dst-ip when absent")
    p.add_argument("--dst-ip", default="192.168.100.11", help="IPv4 destination (default the DIP)")
    p.add_argument("--src-ip", help="IPv4 source (default the interface's address)")
    sub = p.add_subparsers(dest="mode", required=True)
    m = sub.add_parser("malformed", help="a burst of malformed frames, --count of each kind")
    m.add_argument("--count", type=int, default=10, help="frames of each kind (default 10)")
    m.add_argument("--kinds", help="comma-separated subset of kinds (default all)")
    m.add_argument("--other-ip", default="192.168.100.99",
                   help="destination of the not_for_us kind (default 192.168.100.99)")
    m.add_argument("--gap-ms", type=float, default=0.0, help="pause between frames")
    m.add_argument("--list", action="store_true", help="print the kinds and their reasons, send nothing")
    h = sub.add_parser("hex", help="send one frame given as hex (whitespace ignored) --count times")
    h.add_argument("frame", help="the whole Ethernet frame in hex, destination MAC first")
    h.add_argument("--count", type=int, default=1)
    t = sub.add_parser("tunnel", help="IPIP/GUE packet to a TUN-mode real server; wait for its answer")
    t.add_argument("--rs", required=True, help="the real server's own address (outer destination)")
    t.add_argument("--vip", default="192.168.100.100", help="inner destination (default 192.168.100.100)")
    t.add_argument("--encap", choices=["ipip", "gue"], default="ipip")
    t.add_argument("--gue-port", type=int, default=6080)
    t.add_argument("--gue-variant", type=int, choices=[0, 1], default=0)
    t.add_argument("--udp-csum", action="store_true", help="GUE: fill the outer UDP checksum (else 0)")
    t.add_argument("--inner", choices=["icmp", "syn"], default="icmp")
    t.add_argument("--port", type=int, default=80, help="inner SYN's destination port (default 80)")
    t.add_argument("--timeout", type=float, default=3.0)
    args = p.parse_args(argv)

    if args.mode == "tunnel":
        return tunnel(args)
    if args.mode == "hex":
        try:
            frame = bytes.fromhex("".join(args.frame.split()))
        except ValueError as e:
            raise SystemExit(f"rawsend: frame is not hex: {e}") from None
        send_frames(args.iface, [("hex", "-", frame)], args.count, 0.0)
        return 0

    if args.count < 0:
        raise SystemExit("rawsend: --count must be >= 0")
    known = [k for k, _, _ in build_kinds(b"\0" * 6, b"\0" * 6, "0.0.0.0", "0.0.0.0", "0.0.0.0")]
    wanted = args.kinds.split(",") if args.kinds else known
    unknown = [k for k in wanted if k not in known]
    if unknown:
        raise SystemExit(f"rawsend: unknown kinds {unknown}; known: {','.join(known)}")
    src_mac = iface_mac(args.iface) if os.path.exists(f"/sys/class/net/{args.iface}") else b"\x02" * 6
    src_ip = args.src_ip or (iface_ipv4(args.iface) if not args.list else "192.0.2.1")
    if args.list:
        dst_mac = b"\xff" * 6
    elif args.dst_mac:
        try:
            dst_mac = mac_bytes(args.dst_mac)
        except ValueError as e:
            raise SystemExit(f"rawsend: {e}") from None
    else:
        dst_mac = arp_resolve(args.iface, src_mac, src_ip, args.dst_ip)
    frames = build_kinds(dst_mac, src_mac, src_ip, args.dst_ip, args.other_ip)
    frames = [f for f in frames if f[0] in wanted]
    if args.list:
        for kind, reason, frame in frames:
            print(f"kind={kind} reason={reason} bytes={len(frame)}")
        return 0
    print(f"dst_mac={mac_text(dst_mac)} dst_ip={args.dst_ip} src_ip={src_ip} iface={args.iface}", flush=True)
    send_frames(args.iface, frames, args.count, args.gap_ms / 1000.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
