#!/usr/bin/env bash
# Lab test of the NAT (masquerading) forwarding mode: lab `nat`, rvsd on conf/lab-nat.toml (two
# ports, two workers; rs1 serves on :80, rs2 on :8080 only: VIP:80 -> rs2:8080 is port mapping).
#
# From rvs-client (outside, no route to the inside LAN), through the VIP 192.168.100.100:
#   - ping of the VIP; the real servers reach their gateway 192.168.200.1 (the director);
#   - RR_N (8) HTTP requests: rs1 and rs2 only (rs2 through the port mapping), alternating exactly per
#     worker; every answer comes from the director's MAC (the reply path crosses rvsd);
#   - UDP echo on :9000 naming the client's own address as the peer;
#   - a BIG_MB (100) MB download compared by sha256 (both directions through rvsd);
#   - the HTTP servers logged the client's own address (NAT rewrites only the destination);
#   - `ci/lab stop`: rvsd exits 0.
# Output and life cycle as foundation.sh; run-all.sh runs it.
MODE=nat
# shellcheck source-path=SCRIPTDIR source=common.bash
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

VIP=192.168.100.100
CLIENT=192.168.100.2

lab_start nat
check "ping the VIP from rvs-client" in_ns client ping -c 2 -W 2 -w 10 "$VIP"
check "ping the director's inside address 192.168.200.1 from rvs-rs1" in_ns rs1 ping -c 2 -W 2 -w 10 192.168.200.1

capture_start client "src host $VIP and tcp src port 80 and tcp[tcpflags] & tcp-push != 0"
rr_check client "http://$VIP/" "$RR_N" rs1 rs2
capture_stop
return_path_check "answers from the VIP come from the director" "$(in_ns dir cat /sys/class/net/eth0/address)"
if grep -q '"GET / ' "$LOGS/rs2-http8080.log" 2>/dev/null; then
	ok "rs2 answered on :8080 for VIP:80 (port mapping)"
else
	not_ok "rs2 answered on :8080 for VIP:80 (port mapping)"
fi

udp_check client "$VIP" 9000 4 "rs[12] peer=${CLIENT//./\\.}:[0-9]+ hello-$MODE"

sha=$(make_big rs1 rs2)
download_check client "http://$VIP/big.bin" "$sha"
rm -f "$WWW/big.bin" "$WWW"/*/big.bin

client_seen_check "real servers saw the client's own address" "${CLIENT//./\\.}" \
	"$LOGS/rs1-http80.log" "$LOGS/rs2-http8080.log"

crossing_check "NAT flows meet on the worker their client address points to"
# The exception path: rvs-dir's kernel reaches the servers on its own (what health checks use).
kernel_reach_check 192.168.200.12 rs1
kernel_reach_check 192.168.200.13:8080 rs2

stop_check
summary
((FAIL == 0))
