#!/usr/bin/env bash
# Lab test of the FULLNAT forwarding mode: lab `fullnat`, rvsd on conf/lab-fullnat.toml (two ports,
# two workers, local addresses 192.168.200.250-252, TOA on).
#
# From rvs-client, through the VIP 192.168.100.100 (the real servers have no route to the client):
#   - ping of the VIP; a real server pings a local address (the director answers);
#   - RR_N (8) HTTP requests: rs1 and rs2 only, alternating exactly per worker (replies that land
#     on the other worker's queue are handed to the owner, which sends them);
#   - TOA: captured on both real servers, the first data segment of every request carries TCP
#     option 254 with the client's address and the port curl used;
#   - the HTTP servers logged local addresses only;
#   - UDP echo on :9000 naming a local address as the peer; a BIG_MB (100) MB download by sha256;
#   - `ci/lab stop`: rvsd exits 0.
#   - rvsadm: -L -n (FullNat), a service added live (-A, -P -z, -a -b) answering rr with its own
#     local addresses in -c; -c states (ESTABLISHED, TIME_WAIT), --stats exact both ways, a UDP
#     stream intact, metrics exact;
#   - sh: 8 client addresses, each stays on one server, both used (the same on both workers);
#   - config reload under traffic (reload.bash): SIGHUP and rvsadm --reload each in the middle of
#     a download and a UDP stream, both intact, counters continuous, the edited weight in force;
#   - failure and change (failure_change_checks in common.bash; two workers, so sets rather than
#     exact alternation): rs2's HTTP server stopped (some requests fail, each a CLOSE row in -c: its
#     reset passes the director; rs1 answers the rest) and started again (both answer); weight 0 and
#     then delete of the server of a rate-limited open download (new requests all go to the other,
#     the download finishes intact); re-add (both answer); rvsd restarted on the same config
#     (`-S -n` as at the first start, both answer);
# Output and life cycle as foundation.sh; run-all.sh runs it.
MODE=fullnat
# shellcheck source-path=SCRIPTDIR source=common.bash
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
# shellcheck source-path=SCRIPTDIR source=reload.bash
source "$(dirname "${BASH_SOURCE[0]}")/reload.bash"
plan 57 # the ok/not ok lines below (run-all.sh compares)

VIP=192.168.100.100
CLIENT=192.168.100.2
fc_dest rs1 192.168.200.12:80 80
fc_dest rs2 192.168.200.13:80 80
LOCAL_RE='192\.168\.200\.25[0-2]'

reload_prepare # rvsd runs on a copy of CONFIG, which the reload checks edit
lab_start fullnat
rvsadm -S -n >"$TMP/save0" || bail_out "rvsadm -S -n failed" # the configured table, for the restart check at the end
check "ping the VIP from rvs-client" in_ns client ping -c 2 -W 2 -w 10 "$VIP"
check "ping local address 192.168.200.251 from rvs-rs1" in_ns rs1 ping -c 2 -W 2 -w 10 192.168.200.251

# TOA: capture what reaches the real servers (headers only) during the round-robin requests.
pcap_pids=()
for rs in rs1 rs2; do
	ip netns exec "rvs-$rs" timeout 120 tcpdump --immediate-mode -Z root -s 160 -U -nn -i eth0 -w "$TMP/$rs.pcap" 'tcp dst port 80' 2>"$TMP/$rs.err" &
	BG_PIDS+=($!)
	pcap_pids+=($!)
done
check "tcpdump listening on rs1 and rs2 (the TOA captures)" \
	wait_for 30 eval 'grep -qs "listening on" "$TMP/rs1.err" && grep -qs "listening on" "$TMP/rs2.err"' 
# Requests with a known client port, for the TOA check.
ports=""
for _ in 1 2 3 4; do
	p=$(in_ns client curl -s -o /dev/null --max-time 5 -w '%{local_port}' "http://$VIP/") && ports+="$p "
done
rr_check client "http://$VIP/" "$RR_N" rs1 rs2
# Every connection closed on the client, then the captures stopped growing.
wait_for 30 ns_closed client "$VIP" 80 || echo "# connections to $VIP:80 still open after 30 s"
settled 10 stat -c %s "$TMP/rs1.pcap" "$TMP/rs2.pcap" >/dev/null || echo "# captures still growing after 10 s"
kill -TERM "${pcap_pids[@]}" 2>/dev/null
wait "${pcap_pids[@]}" 2>/dev/null
for rs in rs1 rs2; do python3 "$TOOLS/pcap_toa.py" "$TMP/$rs.pcap"; done >"$TMP/toa.txt" 2>&1
missing=""
for p in $ports; do
	grep -qE " toa=${CLIENT//./\\.}:$p\$" "$TMP/toa.txt" || missing+="$p "
done
wrong=$(grep -vE " toa=(none|${CLIENT//./\\.}:[0-9]+)\$" "$TMP/toa.txt" | head -n 3)
if [[ -n $ports && -z $missing && -z $wrong ]]; then
	ok "TOA: option 254 carried $CLIENT and the client's port for client ports $ports"
else
	not_ok "TOA: option 254 carried $CLIENT and the client's port (ports: ${ports:-none}; missing: ${missing:-none}; wrong: ${wrong:-none})"
	show "$TMP/toa.txt"
fi
if grep -qE "^$LOCAL_RE:[0-9]+ > " "$TMP/toa.txt" && ! grep -vqE "^$LOCAL_RE:[0-9]+ > " "$TMP/toa.txt"; then
	ok "segments reaching the real servers come from local addresses"
else
	not_ok "segments reaching the real servers come from local addresses"
	show "$TMP/toa.txt"
fi

client_seen_check "real servers saw local addresses only" "$LOCAL_RE" \
	"$LOGS/rs1-http80.log" "$LOGS/rs2-http80.log"

udp_check client "$VIP" 9000 4 "rs[12] peer=$LOCAL_RE:[0-9]+ hello-$MODE"

sha=$(make_big rs1 rs2)
download_check client "http://$VIP/big.bin" "$sha"
rm -f "$WWW/big.bin" "$WWW"/*/big.bin

crossing_check "replies to a local port another worker owns are redirected to it"

# rvsadm in rvs-dir: the configured table, a service made live (local addresses with -P, real
# servers with -b), connection states, exact --stats, a UDP stream of known content, metrics.
check_v "rvsadm -L -n: TCP $VIP:80 rr -> rs1, rs2 :80 as FullNat, weight 1" \
	listing_check "TCP  $VIP:80 rr" FullNat 1 192.168.200.12:80 192.168.200.13:80
check "rvsadm -L -n: UDP $VIP:9000 rr -> rs1, rs2 :9000 as FullNat" \
	listing_check "UDP  $VIP:9000 rr" FullNat 1 192.168.200.12:9000 192.168.200.13:9000
live_service() {
	rvsadm -A -t "$VIP:8000" -s rr &&
		rvsadm -P -t "$VIP:8000" -z 192.168.200.253 &&
		rvsadm -P -t "$VIP:8000" -z 192.168.200.254 &&
		rvsadm -a -t "$VIP:8000" -r 192.168.200.12:80 -b -w 1 &&
		rvsadm -a -t "$VIP:8000" -r 192.168.200.13:80 -b -w 1 &&
		listing_check "TCP  $VIP:8000 rr" FullNat 1 192.168.200.12:80 192.168.200.13:80 &&
		rvsadm -G -t "$VIP:8000"
}
# Its own local addresses (.253, .254): local ports are allocated per service, so two services
# sharing a local address toward one real server can pick the same port (the SYN is then dropped
# as conn_conflict and the client retries a second later).
check_v "rvsadm -A -t $VIP:8000 -s rr, -P -z 192.168.200.253/.254, -a -r rs1:80 -b, -a -r rs2:80 -b: listed" live_service
rr_check client "http://$VIP:8000/" "$RR_N" rs1 rs2
fullnat_conns() {
	rvsadm -L -n -c | tee /dev/stderr | grep -qE "^TCP .* $CLIENT:[0-9]+ +$VIP:8000 +192\.168\.200\.1[23]:80 +192\.168\.200\.25[34]:[0-9]+$"
}
check "rvsadm -L -n -c: connections to $VIP:8000 show a local address of the service (.253/.254)" fullnat_conns
states_check client "$CLIENT" "$VIP" 80 TIME_WAIT
tcp_stats_check client "$VIP" 80 4 1
udp_stream_stats_check client "$VIP" 9000 1000 1000 1
# sh: each client address stays on one server (sh hashes the client address, the same on every
# worker); then the failure-and-change sequence (common.bash) and a restart on the same config.
check_v "rvsadm -E -s sh: 8 client addresses, 3 requests each: every address stays on one server, both used" \
	sh_check 192.168.100 21 28
rvsadm -E -t "$VIP:80" -s rr >/dev/null || not_ok "rvsadm -E -t $VIP:80 -s rr (back to rr)"
failure_change_checks -b
# Config reload (SIGHUP, rvsadm --reload) under a download and a UDP stream (reload.bash).
reload_checks
restart_check
# The exception path: rvs-dir's kernel reaches the servers on its own (what health checks use).
kernel_reach_check 192.168.200.12 rs1
kernel_reach_check 192.168.200.13 rs2

stop_check
summary
((FAIL == 0))
