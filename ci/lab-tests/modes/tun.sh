#!/usr/bin/env bash
# Lab test of the TUN (IP tunnel) forwarding mode: lab `tun`, rvsd on conf/lab-tun.toml (rs1 gets
# IPIP, rs2 GUE on UDP 6080; ci/tools/tun_decap.py unwraps them on each real server).
#
# Before rvsd starts: the real servers decapsulate (rawsend.py tunnel plays the director once for
# IPIP to rs1 and GUE to rs2). Then from rvs-client, through the VIP 192.168.100.100:
#   - ping of the VIP; RR_N (8) HTTP requests: rs1 and rs2 only, alternating exactly per worker;
#     answers straight from the real servers' MACs; tunneled packets seen on each real server
#     (IPIP on rs1, GUE on rs2) with the DIP as outer source;
#   - UDP echo on :9000 from the VIP naming the client's address; a BIG_MB MB download by sha256;
#   - the HTTP servers logged the client's own address; `ci/lab stop`: rvsd exits 0.
#   - rvsadm: -L -n (Tunnel; --tun-info shows GUE), the service deleted and made again with -i,
#     answering rr; -c states (ESTABLISHED, FIN_WAIT), --stats exact (inbound only), a UDP stream
#     intact, metrics exact;
#   - sh: 8 client addresses, each stays on one server, both used;
#   - failure and change (failure_change_checks in common.bash, exact: one worker): rs2's HTTP
#     server stopped (every other request fails, SYN_RECV in -c: its reset bypasses the director)
#     and started again (alternating); weight 0 and then delete of the server of a rate-limited
#     open download (new requests all go to the other, the download finishes intact); re-add (GUE
#     kept for rs2); rvsd restarted on the same config (`-S -n` as at the first start, rr again);
# Output and life cycle as foundation.sh; run-all.sh runs it.
MODE=tun
# shellcheck source-path=SCRIPTDIR source=common.bash
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
plan 41 # the ok/not ok lines below (run-all.sh compares)

VIP=192.168.100.100
DIP=192.168.100.11
CLIENT=192.168.100.2
fc_dest rs1 192.168.100.12:80 80
fc_dest rs2 192.168.100.13:80 80 --tun-type gue --tun-port 6080

lab_up tun
check "without rvsd: rs1 answers an IPIP-wrapped SYN to the VIP directly" \
	in_ns client python3 "$TOOLS/rawsend.py" --iface eth0 tunnel --rs 192.168.100.12 --encap ipip --inner syn
check "without rvsd: rs2 answers a GUE-wrapped echo request to the VIP directly" \
	in_ns client python3 "$TOOLS/rawsend.py" --iface eth0 tunnel --rs 192.168.100.13 --encap gue --inner icmp
in_ns client ip neigh flush dev eth0 # forget what the checks above learned
lab_run
rvsadm -S -n >"$TMP/save0" || bail_out "rvsadm -S -n failed" # the configured table, for the restart check at the end
check "ping the VIP from rvs-client" in_ns client ping -c 2 -W 2 -w 10 "$VIP"

ip netns exec rvs-rs1 timeout 120 tcpdump --immediate-mode -l -nn -i eth0 "ip proto 4 and src host $DIP" >"$TMP/rs1.txt" 2>"$TMP/rs1.err" &
BG_PIDS+=($!)
ip netns exec rvs-rs2 timeout 120 tcpdump --immediate-mode -l -nn -i eth0 "udp dst port 6080 and src host $DIP" >"$TMP/rs2.txt" 2>"$TMP/rs2.err" &
BG_PIDS+=($!)
check "tcpdump listening on rs1 and rs2 (the tunneled packets' captures)" \
	wait_for 30 eval 'grep -qs "listening on" "$TMP/rs1.err" && grep -qs "listening on" "$TMP/rs2.err"'
capture_start client "src host $VIP and tcp src port 80 and tcp[tcpflags] & tcp-push != 0"
rr_check client "http://$VIP/" "$RR_N" rs1 rs2
capture_stop
return_path_check "answers from the VIP come straight from the real servers" "$(mac_of rs1)" "$(mac_of rs2)"
settled 10 wc -l "$TMP/rs1.txt" "$TMP/rs2.txt" >/dev/null
for rs in rs1 rs2; do
	n=$(grep -c . "$TMP/$rs.txt")
	if ((n > 0)); then ok "$rs received $n tunneled packets from $DIP"; else not_ok "$rs received tunneled packets from $DIP"; fi
done

udp_check client "$VIP" 9000 4 "rs[12] peer=${CLIENT//./\\.}:[0-9]+ hello-$MODE"

sha=$(make_big rs1 rs2)
download_check client "http://$VIP/big.bin" "$sha"
rm -f "$WWW/big.bin" "$WWW"/*/big.bin

client_seen_check "real servers saw the client's own address" "${CLIENT//./\\.}" \
	"$LOGS/rs1-http80.log" "$LOGS/rs2-http80.log"

# rvsadm in rvs-dir: the configured table, the service deleted and made again with the seeds'
# commands (-i, GUE for rs2), connection states, exact --stats (the director sees only what the
# client sends), a UDP stream of known content, metrics.
tun_listing() {
	listing_check "TCP  $VIP:80 rr" Tunnel 1 192.168.100.12:80 192.168.100.13:80 || return 1
	rvsadm -L -n --tun-info -t "$VIP:80" | tee /dev/stderr | grep -q "192.168.100.13:80 .* gue:6080"
}
check_v "rvsadm -L -n: TCP $VIP:80 rr -> rs1, rs2 :80 as Tunnel, weight 1; --tun-info shows rs2's GUE port" tun_listing
live_service() {
	rvsadm -D -t "$VIP:80" &&
		rvsadm -A -t "$VIP:80" -s rr &&
		rvsadm -a -t "$VIP:80" -r 192.168.100.12 -i &&
		rvsadm -a -t "$VIP:80" -r 192.168.100.13 -i --tun-type gue --tun-port 6080 &&
		tun_listing
}
check_v "rvsadm -D, then -A -t $VIP:80 -s rr, -a -r rs1 -i, -a -r rs2 -i --tun-type gue --tun-port 6080: listed" live_service
rr_check client "http://$VIP/" "$RR_N" rs1 rs2
states_check client "$CLIENT" "$VIP" 80 FIN_WAIT
tcp_stats_check client "$VIP" 80 4 0
udp_stream_stats_check client "$VIP" 9000 1000 1000 0
# sh: each client address stays on one server (sh hashes the client address, the same on every
# worker); then the failure-and-change sequence (common.bash) and a restart on the same config.
check_v "rvsadm -E -s sh: 8 client addresses, 3 requests each: every address stays on one server, both used" \
	sh_check 192.168.100 21 28
rvsadm -E -t "$VIP:80" -s rr >/dev/null || not_ok "rvsadm -E -t $VIP:80 -s rr (back to rr)"
failure_change_checks -i
restart_check
# The exception path: rvs-dir's kernel reaches the servers on its own (what health checks use).
kernel_reach_check 192.168.100.12 rs1
kernel_reach_check 192.168.100.13 rs2

stop_check
summary
((FAIL == 0))
