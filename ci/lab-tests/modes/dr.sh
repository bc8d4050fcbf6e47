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

stop_check
summary
((FAIL == 0))
