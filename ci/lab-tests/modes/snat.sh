#!/usr/bin/env bash
# Lab test of SNAT: lab `snat`, rvsd on conf/lab-snat.toml (two ports, two workers; inside hosts
# 192.168.200.0/24 leave through the WAN address 192.168.100.200).
#
# From the inside hosts rvs-in1 and rvs-in2 (default gateway 192.168.200.1, the director):
#   - ping of the gateway;
#   - HTTP requests to the outside server 192.168.100.50 ("srv"), which has no route to the inside
#     network: answered, and the server logged 192.168.100.200 only;
#   - UDP echo to the server's :9000 naming 192.168.100.200 as the peer;
#   - ping of the server (ICMP echo through SNAT, identifier translated);
#   - a BIG_MB (100) MB download from the server by sha256;
#   - `ci/lab stop`: rvsd exits 0.
#   - rvsadm -L -n -c: rows with the WAN address as local, TIME_WAIT after close; a held connection
#     ESTABLISHED then TIME_WAIT; a UDP stream intact; port/core metrics, rvs_snat_* and the match
#     service's `-L -n --stats --exact` lines exactly; ActiveConn of a held connection;
# No failure-and-change or sh checks here (the other mode labs run them): SNAT rules have no real
# servers to stop, weight, delete or re-add, and no scheduler.
# Output and life cycle as foundation.sh; run-all.sh runs it.
MODE=snat
# shellcheck source-path=SCRIPTDIR source=common.bash
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
plan 27 # the ok/not ok lines below (run-all.sh compares)

SRV=192.168.100.50
WAN=192.168.100.200

lab_start snat
check "ping the director's inside address 192.168.200.1 from rvs-in1" in_ns in1 ping -c 2 -W 2 -w 10 192.168.200.1

for host in in1 in2; do
	answers=""
	for _ in 1 2 3; do
		answers+="$(in_ns "$host" curl -sS --max-time 5 "http://$SRV/" 2>&1 | head -c 80) "
	done
	if [[ $answers == "srv srv srv " ]]; then
		ok "3 HTTP requests from rvs-$host to $SRV answered"
	else
		not_ok "3 HTTP requests from rvs-$host to $SRV answered (got: $answers)"
	fi
done
client_seen_check "the outside server saw the WAN address only" "${WAN//./\\.}" "$LOGS/srv-http80.log"

udp_check in1 "$SRV" 9000 3 "srv peer=${WAN//./\\.}:[0-9]+ hello-$MODE"
udp_check in2 "$SRV" 9000 3 "srv peer=${WAN//./\\.}:[0-9]+ hello-$MODE"

# ICMP echo through SNAT: the server has no route to the inside network, so a reply reaching
# the host proves the identifier (and address) were translated both ways.
for host in in1 in2; do
	check "ping $SRV from rvs-$host through SNAT" in_ns "$host" ping -c 3 -i 0.2 -W 2 -w 10 "$SRV"
done

sha=$(make_big srv)
download_check in1 "http://$SRV/big.bin" "$sha"
rm -f "$WWW/big.bin" "$WWW"/*/big.bin

# rvsadm in rvs-dir: connections with their local (WAN) address and states; a UDP stream of known
# content, counted exactly by the match service's `--stats` lines and by the metrics.
snat_conns() {
	rvsadm -L -n -c | tee /dev/stderr | grep -qE "^TCP .* TIME_WAIT +192\.168\.200\.12:[0-9]+ +$SRV:80 +$SRV:80 +${WAN//./\\.}:[0-9]+$"
}
check "rvsadm -L -n -c: in1's connections to $SRV:80 show the WAN address as local, TIME_WAIT after close" snat_conns
states_check in2 192.168.200.13 "$SRV" 80 TIME_WAIT
match_name=$(rvsadm -L -n | awk '$1 == "MATCH" { print $2; exit }')
SNAT_OUT=$WAN SNAT_MATCH=$match_name udp_stream_stats_check in1 "$SRV" 9000 1000 1000 1 0
# A held TCP connection counts as active on the SNAT line (the only one), then inactive once
# closed. match_conns ACTIVE MIN_INACTIVE.
match_conns() {
	rvsadm -L -n | tee /dev/stderr | awk -v w="$WAN:0" -v a="$1" -v i="$2" '
		$1 == "->" && $2 == w && $3 == "SNAT" { f = ($5 == a && $6 >= i) } END { exit !f }'
}
if hold_open mc in1 "$SRV" 80; then
	check "rvsadm -L -n: the SNAT line shows the held connection as the one active" wait_for 3 match_conns 1 0
	hold_close mc
	check "rvsadm -L -n: once closed, no active connection and at least one inactive" wait_for 3 match_conns 0 1
else
	not_ok "rvsadm -L -n: a connection held open from in1 to $SRV:80"
fi
# The exception path: rvs-dir's kernel reaches the servers on its own (what health checks use).
kernel_reach_check 192.168.100.50 srv

# Prometheus conventions (promtool) and the Grafana dashboard, over the scrape after the checks
# above (SNAT rules only: no services of its own or health checks in this mode).
promtool_check
dashboard_check "$NO_HEALTH|rvs_(service|dest)_[a-z_]+|rvs_vip_active"
stop_check
summary
((FAIL == 0))
