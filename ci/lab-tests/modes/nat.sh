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
#   - rvsadm: -L -n (Masq, port mapping), a service added live (-A, -a -m) answering rr, -c states
#     (ESTABLISHED, TIME_WAIT), --stats exact both ways, a UDP stream intact, metrics exact;
#   - sh: 8 client addresses, each stays on one server, both used (the same on both workers);
#   - config reload under traffic (reload.bash): SIGHUP and rvsadm --reload each in the middle of
#     a download and a UDP stream, both intact, counters continuous, the edited weight in force;
#   - failure and change (failure_change_checks in common.bash; two workers, so sets rather than
#     exact alternation): rs2's HTTP server stopped (some requests fail, each a CLOSE row in -c: its
#     reset passes the director; rs1 answers the rest, rs2 never) and started again (both answer);
#     weight 0 and then delete of the server of a rate-limited open download (new requests all go
#     to the other, the download finishes intact); re-add (both answer); rvsd restarted on the
#     same config (`-S -n` as at the first start, both answer);
# Output and life cycle as foundation.sh; run-all.sh runs it.
MODE=nat
# shellcheck source-path=SCRIPTDIR source=common.bash
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
# shellcheck source-path=SCRIPTDIR source=reload.bash
source "$(dirname "${BASH_SOURCE[0]}")/reload.bash"
plan 55 # the ok/not ok lines below (run-all.sh compares)

VIP=192.168.100.100
CLIENT=192.168.100.2
fc_dest rs1 192.168.200.12:80 80
fc_dest rs2 192.168.200.13:8080 8080

reload_prepare # rvsd runs on a copy of CONFIG, which the reload checks edit
lab_start nat
rvsadm -S -n >"$TMP/save0" || bail_out "rvsadm -S -n failed" # the configured table, for the restart check at the end
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

# rvsadm in rvs-dir: the configured table, a service made live with the seeds' commands, connection
# states, exact --stats, a UDP stream of known content, metrics.
check_v "rvsadm -L -n: TCP $VIP:80 rr -> rs1:80, rs2:8080 as Masq, weight 1" \
	listing_check "TCP  $VIP:80 rr" Masq 1 192.168.200.12:80 192.168.200.13:8080
check "rvsadm -L -n: UDP $VIP:9000 rr -> rs1, rs2 :9000 as Masq" \
	listing_check "UDP  $VIP:9000 rr" Masq 1 192.168.200.12:9000 192.168.200.13:9000
live_service() {
	rvsadm -A -t "$VIP:8000" -s rr &&
		rvsadm -a -t "$VIP:8000" -r 192.168.200.12:80 -m -w 1 &&
		rvsadm -a -t "$VIP:8000" -r 192.168.200.13:8080 -m -w 1 &&
		listing_check "TCP  $VIP:8000 rr" Masq 1 192.168.200.12:80 192.168.200.13:8080
}
check_v "rvsadm -A -t $VIP:8000 -s rr, -a -r rs1:80 -m, -a -r rs2:8080 -m: listed" live_service
rr_check client "http://$VIP:8000/" "$RR_N" rs1 rs2
states_check client "$CLIENT" "$VIP" 80 TIME_WAIT
tcp_stats_check client "$VIP" 80 4 1
udp_stream_stats_check client "$VIP" 9000 1000 1000 1
# sh: each client address stays on one server (sh hashes the client address, the same on every
# worker); then the failure-and-change sequence (common.bash) and a restart on the same config.
check_v "rvsadm -E -s sh: 8 client addresses, 3 requests each: every address stays on one server, both used" \
	sh_check 192.168.100 21 28
rvsadm -E -t "$VIP:80" -s rr >/dev/null || not_ok "rvsadm -E -t $VIP:80 -s rr (back to rr)"
failure_change_checks -m
# Config reload (SIGHUP, rvsadm --reload) under a download and a UDP stream (reload.bash).
reload_checks
restart_check
# The exception path: rvs-dir's kernel reaches the servers on its own (what health checks use).
kernel_reach_check 192.168.200.12 rs1
kernel_reach_check 192.168.200.13:8080 rs2

stop_check
summary
((FAIL == 0))
