#!/usr/bin/env bash
# Lab test of the DR (direct routing) forwarding mode: lab `dr`, rvsd on conf/lab-dr.toml.
#
# From rvs-client, through the VIP 192.168.100.100:
#   - ping of the VIP (the director answers);
#   - RR_N (8) HTTP requests: answers from rs1 and rs2 only, alternating exactly on each worker (rr);
#     the answers reach the client straight from the real servers' MACs, never the director's;
#   - UDP echo on :9000: every reply from the VIP (the client's socket is connected), naming rs1 or
#     rs2 and the client's own address as the peer;
#   - a BIG_MB (100) MB download compared by sha256;
#   - the HTTP servers logged the client's own address (DR does not touch addresses);
#   - live changes with rvsadm: wrr with weights 3:1 splits 40 requests 30:10; `-p 60` keeps the
#     client on one server;
#   - rvsnet: an address added live answers ping, deleted it does not; link/route/neigh listings
#   - rvsadm in rvs-dir (RVS_SOCK = [ctrl] socket): `-L -n` shows both real servers of each service
#     as Route with the config's weight 1, and `-L -n -c` lists the connections just made;
#   - sh keeps each of 8 client addresses on one server and uses both; wlc spreads 6 held-open
#     connections 3:3 (ActiveConn) and sends new ones where fewest are open;
#   - `-L -n -c`: a held connection ESTABLISHED, FIN_WAIT once closed; `--stats` exactly what the
#     client sent (TCP, counted by tcpdump; a 1000-datagram UDP stream), the UDP stream intact,
#     metrics (forwarded, port and core counters, rvs_service_*/rvs_dest_*) moved by exactly that;
#   - failure and change (failure_change_checks in common.bash, exact here: one worker): rs2's HTTP
#     server stopped (every other request fails, SYN_RECV in -c, rs1 still answers) and started
#     again; weight 0 and then delete of the server of an open download (new requests avoid it, the
#     download finishes intact); re-add; rvsd restarted on the same config (`-S -n` as at the first
#     start, rr again);
#   - the exception path: ping and HTTP to the director's kernel address 192.168.100.20 (rvsd's kernel
#     interface in rvs-dir) while VIP requests are forwarded; the kernel reaches rs1 on its own; a UDP
#     flood to 192.168.100.20 is cut to the rate limit while the VIP still answers;
#   - `rvsadm --flush-removed` ends the held connection of a deleted real server;
#   - `ci/lab stop`: rvsd exits 0.
# Prints `ok - ...` / `not ok - ...` per check and ends with `N passed, M failed`. The lab is torn down
# on every exit. run-all.sh runs it after the foundation test.
MODE=dr
# shellcheck source-path=SCRIPTDIR source=common.bash
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
plan 47 # the ok/not ok lines below (run-all.sh compares)

VIP=192.168.100.100
CLIENT=192.168.100.2
fc_dest rs1 192.168.100.12:80 80
fc_dest rs2 192.168.100.13:80 80

lab_start dr
rvsadm -S -n >"$TMP/save0" || bail_out "rvsadm -S -n failed" # the configured table, for the restart check at the end
check "ping the VIP from rvs-client" in_ns client ping -c 2 -W 2 -w 10 "$VIP"

capture_start client "src host $VIP and tcp src port 80 and tcp[tcpflags] & tcp-push != 0"
rr_check client "http://$VIP/" "$RR_N" rs1 rs2
capture_stop
return_path_check "answers from the VIP come straight from the real servers" "$(mac_of rs1)" "$(mac_of rs2)"

udp_check client "$VIP" 9000 4 "rs[12] peer=${CLIENT//./\\.}:[0-9]+ hello-$MODE"

sha=$(make_big rs1 rs2)
download_check client "http://$VIP/big.bin" "$sha"
rm -f "$WWW/big.bin" "$WWW"/*/big.bin

client_seen_check "real servers saw the client's own address" "${CLIENT//./\\.}" \
	"$LOGS/rs1-http80.log" "$LOGS/rs2-http80.log"

# The control socket: the table as configured, and the connections the checks above made.
rvsadm_table() {
	local out
	out=$(rvsadm -L -n) || return 1
	echo "$out"
	local rs
	for rs in 192.168.100.12:80 192.168.100.13:80 192.168.100.12:9000 192.168.100.13:9000; do
		grep -qE "^  -> $rs +Route +1 +[0-9]+ +[0-9]+ *$" <<<"$out" || { echo "no line for $rs"; return 1; }
	done
	grep -qx "TCP  $VIP:80 rr" <<<"$out" && grep -qx "UDP  $VIP:9000 rr" <<<"$out"
}
rvsadm_conns() {
	local out
	out=$(rvsadm -L -n -c) || return 1
	echo "$out"
	[[ $(head -n 2 <<<"$out") == $'IPVS connection entries\npro expire state       source             virtual            destination' ]] &&
		grep -qE "^(TCP|UDP) +[0-9]{2}:[0-9]{2} +[A-Z_]+ +$CLIENT:[0-9]+ +$VIP:(80|9000) +192\.168\.100\.1[23]:(80|9000)$" <<<"$out"
}
check "rvsadm -L -n in rvs-dir: both real servers with the config's weights" rvsadm_table
check "rvsadm -L -n -c in rvs-dir: the client's connections are listed" rvsadm_conns

# Live changes through rvsadm, as the seeds' users make them: wrr 3:1 (one worker, so exact),
# then persistence keeping the client on one server.
count_answers() { # N: N requests to the VIP; prints "rs1=A rs2=B other=C"
	local a=0 b=0 o=0 r
	for _ in $(seq 1 "$1"); do
		r=$(in_ns client curl -s --max-time 5 "http://$VIP/" || true)
		case $r in rs1) a=$((a + 1)) ;; rs2) b=$((b + 1)) ;; *) o=$((o + 1)) ;; esac
	done
	echo "rs1=$a rs2=$b other=$o"
}
wrr_check() {
	rvsadm -E -t "$VIP:80" -s wrr &&
		rvsadm -e -t "$VIP:80" -r 192.168.100.12:80 -g -w 3 &&
		rvsadm -e -t "$VIP:80" -r 192.168.100.13:80 -g -w 1 || return 1
	rvsadm -L -n -t "$VIP:80"
	local got
	got=$(count_answers 40)
	echo "$got"
	[[ $got == "rs1=30 rs2=10 other=0" ]]
}
persistence_check() {
	rvsadm -E -t "$VIP:80" -s rr -p 60 || return 1
	local got
	got=$(count_answers 10)
	echo "$got"
	[[ $got == "rs1=10 rs2=0 other=0" || $got == "rs1=0 rs2=10 other=0" ]]
}
check "rvsadm -E -s wrr, -e -w 3 / -w 1: 40 requests split 30:10" wrr_check
check "rvsadm -E -p 60: 10 requests from one client all reach one server" persistence_check

# sh: each client address sticks to one server, and the addresses spread over both.
check_v "rvsadm -E -s sh: 8 client addresses, 3 requests each: every address stays on one server, both used" \
	sh_check 192.168.100 21 28

# wlc: held-open connections spread evenly (ActiveConn), and new ones go where fewest are open.
active_of() { # DEST: its ActiveConn in -L -n -t VIP:80
	rvsadm -L -n -t "$VIP:80" | awk -v d="$1" '$1 == "->" && $2 == d { print $5 }'
}
dest_of_hold() { conn_row "$CLIENT" "${HOLD_PORT[$1]}" | awk '{ print $6 }'; }
active_is() { [[ $(active_of 192.168.100.12:80) == "$1" && $(active_of 192.168.100.13:80) == "$2" ]]; }
wlc_check() {
	rvsadm -E -t "$VIP:80" -s wlc &&
		rvsadm -e -t "$VIP:80" -r 192.168.100.12:80 -g -w 1 &&
		rvsadm -e -t "$VIP:80" -r 192.168.100.13:80 -g -w 1 || return 1
	local i on1=() d
	for i in 1 2 3 4 5 6; do hold_open "w$i" client "$VIP" 80 || return 1; done
	wait_for 3 active_is 3 3 || { rvsadm -L -n; echo "want ActiveConn 3 and 3"; return 1; }
	rvsadm -L -n -t "$VIP:80"
	for i in 1 2 3 4 5 6; do
		d=$(dest_of_hold "w$i")
		[[ $d == 192.168.100.12:80 ]] && on1+=("w$i")
	done
	((${#on1[@]} == 3)) || { echo "rs1 holds ${on1[*]}"; return 1; }
	for i in "${on1[@]}"; do hold_close "$i"; done
	wait_for 3 active_is 0 3 || { rvsadm -L -n; echo "want ActiveConn 0 and 3 after closing rs1's"; return 1; }
	for i in 7 8 9; do
		hold_open "w$i" client "$VIP" 80 || return 1
		d=$(dest_of_hold "w$i")
		echo "new connection w$i -> $d"
		[[ $d == 192.168.100.12:80 ]] || return 1
	done
	wait_for 3 active_is 3 3 || { rvsadm -L -n; echo "want ActiveConn 3 and 3 again"; return 1; }
	rvsadm -L -n -t "$VIP:80"
}
check_v "rvsadm -E -s wlc: 6 held connections show ActiveConn 3 and 3; after rs1's 3 close, 3 new ones all go to rs1" wlc_check
for i in 1 2 3 4 5 6 7 8 9; do hold_close "w$i"; done

rvsadm -E -t "$VIP:80" -s rr >/dev/null || not_ok "rvsadm -E -t $VIP:80 -s rr (back to rr)"
states_check client "$CLIENT" "$VIP" 80 FIN_WAIT
tcp_stats_check client "$VIP" 80 4 0
udp_stream_stats_check client "$VIP" 9000 1000 1000 0

# --- Failure and change, as the seeds' users try it (common.bash; one worker, so rr is exact) -----
failure_change_checks -g

# rvsnet: an address added while rvsd runs answers the client's ping; deleted, it does not.
NEWIP=192.168.100.101
rvsnet_addr_check() {
	rvsnet addr add "$NEWIP/32" dev lan kind vip || return 1
	rvsnet addr show | grep -qx "    inet $NEWIP/32 vip" || { rvsnet addr show; return 1; }
	in_ns client ping -c 2 -W 2 "$NEWIP" || return 1
	rvsnet addr del "$NEWIP" || return 1
	local addrs
	addrs=$(rvsnet addr show) || return 1
	echo "$addrs"
	grep -q "192.168.100.100/32" <<<"$addrs" || { echo "rvsnet addr show lists no VIP"; return 1; }
	! grep -q "$NEWIP" <<<"$addrs" || return 1
	# ping exits 1 when no reply came (2 on an error of its own, which proves nothing).
	local rc=0
	in_ns client ping -c 2 -W 1 "$NEWIP" || rc=$?
	echo "ping $NEWIP after addr del: exit $rc (1: no reply)"
	((rc == 1))
}
rvsnet_show_check() {
	local out
	out=$(rvsnet link show -s) || return 1
	echo "$out"
	grep -qE '^0: lan: <[A-Z]+> mtu [0-9]+ driver net_af_packet ' <<<"$out" &&
		grep -qE '^core 0: busy-polls [0-9]+ ' <<<"$out" &&
		rvsnet route show | grep -qx '192.168.100.0/24 dev lan proto connected' || return 1
	# The client's entry: learned from its ARP request for an address of ours, it is STALE until
	# the director next sends to it and the client answers the director's request (REACHABLE);
	# in DR the director sends the client little (ping replies), so either state is "learned".
	out=$(rvsnet neigh show) || return 1
	echo "$out"
	grep -qE "^$CLIENT dev lan lladdr [0-9a-f:]{17} (REACHABLE|STALE) " <<<"$out"
}
check "rvsnet addr add: the new address answers ping; addr del: it no longer does" rvsnet_addr_check
check "rvsnet link show -s, route show, neigh show: the port, core counters, learned client" rvsnet_show_check

# --flush-removed: a held connection of a deleted real server keeps its entry (as IPVS keeps it
# until it expires) until rvsadm --flush-removed ends it; the server comes back with -a.
flush_removed_check() {
	hold_open fl client "$VIP" 80 || return 1
	local port=${HOLD_PORT[fl]} d out
	d=$(conn_row "$CLIENT" "$port" | awk '{ print $6 }')
	echo "held connection from port $port on $d"
	[[ -n $d ]] || return 1
	rvsadm -d -t "$VIP:80" -r "$d" || return 1
	[[ -n $(conn_row "$CLIENT" "$port") ]] || { echo "the entry went with its server"; return 1; }
	out=$(rvsadm --flush-removed) || return 1
	echo "$out"
	[[ $out =~ ^rvsd\ ended\ ([0-9]+)\ connection ]] && ((BASH_REMATCH[1] >= 1)) || return 1
	local row
	row=$(conn_row "$CLIENT" "$port") || { echo "rvsadm -L -n -c failed"; return 1; }
	[[ -z $row ]] || { echo "still listed after the flush"; return 1; }
	hold_close fl
	rvsadm -a -t "$VIP:80" -r "$d" -g -w 1
}
check_v "rvsadm -d of a held connection's server keeps its entry; rvsadm --flush-removed ends it" flush_removed_check

# Restart with the same config: the services come back as configured (the live changes above were
# not in the config), and forward.
restart_check
udp_check client "$VIP" 9000 2 "rs[12] peer=${CLIENT//./\\.}:[0-9]+ hello-$MODE"
# The exception path: the director's kernel (192.168.100.20 on rvsd's kernel interface lan-kernel in
# rvs-dir) serves HTTP and ping while the VIP is forwarded, reaches the real servers, and a flood
# to it is cut to the rate limit.
exception_check client 192.168.100.20 "$VIP" 192.168.100.12 rs1
exception_flood_check client 192.168.100.20 "$VIP" 3

# Prometheus conventions (promtool) and the Grafana dashboard, over the scrape after the checks
# above (no local addresses, SNAT rules or health checks in this mode).
promtool_check
dashboard_check "$NO_LADDR|$NO_SNAT|$NO_HEALTH"
stop_check
summary
((FAIL == 0))
