#!/bin/bash
# How capture.pcap was made (as root, once; frames.txt holds the frames the tests read): two
# namespaces of our own joined by a veth pair with checksum offload off, ping -6, a UDP datagram
# and a TCP SYN to closed ports, and an address that never answers (neighbour solicitations).
# Usage: capture.sh OUT_DIR
set -e
out=${1:?usage: capture.sh OUT_DIR}
trap 'ip netns del ipv6-a 2>/dev/null; ip netns del ipv6-b 2>/dev/null' EXIT
ip netns add ipv6-a; ip netns add ipv6-b
ip link add ipv6-va type veth peer name ipv6-vb
ip link set ipv6-va netns ipv6-a; ip link set ipv6-vb netns ipv6-b
ip -n ipv6-a addr add 2001:db8:6::1/64 dev ipv6-va nodad
ip -n ipv6-b addr add 2001:db8:6::2/64 dev ipv6-vb nodad
ip -n ipv6-a link set ipv6-va address c6:50:c0:73:47:46; ip -n ipv6-b link set ipv6-vb address 5a:d6:a8:57:5b:45
ip netns exec ipv6-a ethtool -K ipv6-va tx off rx off >/dev/null; ip netns exec ipv6-b ethtool -K ipv6-vb tx off rx off >/dev/null
ip -n ipv6-a link set ipv6-va up; ip -n ipv6-b link set ipv6-vb up
ip -n ipv6-a link set lo up; ip -n ipv6-b link set lo up
ip netns exec ipv6-a timeout 15 tcpdump -i ipv6-va -w "$out"/capture.pcap -U -c 40 ip6 >"$out"/tcpdump.log 2>&1 &
sleep 2
ip netns exec ipv6-a ping -6 -c 2 -W 2 2001:db8:6::2
ip netns exec ipv6-a ping -6 -c 1 -W 2 -s 100 2001:db8:6::2
# UDP to a closed port -> ICMPv6 port unreachable; TCP SYN to closed port -> RST
ip netns exec ipv6-a python3 -c "
import socket
s=socket.socket(socket.AF_INET6,socket.SOCK_DGRAM); s.bind(('2001:db8:6::1',60894)); s.sendto(b'hello-rvs-ipv6',('2001:db8:6::2',9999))
t=socket.socket(socket.AF_INET6,socket.SOCK_STREAM); t.settimeout(2)
try: t.connect(('2001:db8:6::2',9998))
except Exception as e: print(e)
"
sleep 1
# ping to a neighbour never resolved -> NS
ip netns exec ipv6-a ping -6 -c 1 -W 1 2001:db8:6::99 || true
sleep 3
kill %1 || true
wait || true
