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
#   - rvsadm in rvs-dir (RVS_SOCK = [ctrl] socket): `-L -n` shows both real servers of each service
#     as Route with the config's weight 1, and `-L -n -c` lists the connections just made;
#   - `ci/lab stop`: rvsd exits 0.
# Prints `ok - ...` / `not ok - ...` per check and ends with `N passed, M failed`. The lab is torn down
# on every exit. run-all.sh runs it after the foundation test.
MODE=dr
# shellcheck source-path=SCRIPTDIR source=common.bash
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

VIP=192.168.100.100
CLIENT=192.168.100.2

lab_start dr
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

stop_check
summary
((FAIL == 0))
