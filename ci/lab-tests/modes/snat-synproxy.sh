#!/usr/bin/env bash
# Lab test of the SYN proxy in front of a SNAT rule (issue 14, item 1: "SNAT-facing services"): lab
# `snat`, rvsd on a copy of conf/lab-snat.toml whose [[snat]] rule has `synproxy = true`.
#   - rvsadm -L -n shows `synproxy` at the end of the MATCH line, -S -n saves `--synproxy`;
#   - 8 HTTP requests from rvs-in1 to the outside server answered through the proxy; the proxy's
#     counters rose (cookies sent, handshakes completed toward the server);
#   - a BIG_MB (100) MB download from the server intact by sha256;
#   - a spoofed-SYN flood from the inside (rvs-in2, synflood.py with sources drawn from
#     192.168.200.128/25, inside the rule's range, bounded by FLOOD_N SYNs and FLOOD_S seconds)
#     while rvs-in1 makes REQ_N requests: at least 99.9% answered; the WAN address's port
#     allocations grew by no more than the real requests (+20) and its ports in use stayed at
#     most the real requests (+20): the flood took no port; the flood was answered by cookies
#     (or rate-limited), at least half of the SYNs sent;
#   - `ci/lab stop`: rvsd exits 0.
# Output and life cycle as foundation.sh; run-all.sh runs it.
MODE=snat-synproxy
CONFIG=/dev/null # replaced below, once TMP exists
# shellcheck source-path=SCRIPTDIR source=common.bash
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
plan 13 # the ok/not ok lines below (run-all.sh compares)

SRV=192.168.100.50
WAN=192.168.100.200
FLOOD_N=${FLOOD_N:-1000000}
FLOOD_S=${FLOOD_S:-15}
REQ_N=${REQ_N:-1000}
POOL="snat/$WAN"

awk '{ print } $0 == "out = \"192.168.100.200\"" { print "synproxy = true" }' \
	"$ROOT/conf/lab-snat.toml" >"$TMP/lab-snat-synproxy.toml"
CONFIG=$TMP/lab-snat-synproxy.toml
export CONFIG
CTRL_SOCK=$(ctrl_socket) # common.bash read it from the placeholder config

metric_now() { scrape >"$TMP/m" || : >"$TMP/m"; metric_sum "$TMP/m" "$1"; }
# pool_metric FILE NAME: NAME of the WAN address's pool in scrape FILE.
pool_metric() { grep -E "^$2\{pool=\"$POOL\"" "$1" | awk '{ s += $NF } END { printf "%d\n", s }'; }

# requests NS N: N requests from NS to the server; prints how many were answered.
requests() {
	local i okn=0
	for ((i = 0; i < $2; i++)); do
		in_ns "$1" curl -sf -o /dev/null --connect-timeout 5 --max-time 10 "http://$SRV/" && okn=$((okn + 1))
	done
	echo "$okn"
}

lab_start snat
check_v "rvsadm -L -n: the MATCH line ends with synproxy" \
	eval "rvsadm -L -n | grep -E '^MATCH .* synproxy\$'"
check_v "rvsadm -S -n: -A -H ... --synproxy saved" \
	eval "rvsadm -S -n | grep -E -- '^-A -H .* --synproxy\$'"
n=$(requests in1 8)
if ((n == 8)); then ok "8 requests from rvs-in1 to $SRV through the SYN proxy answered"; else not_ok "8 requests from rvs-in1 to $SRV through the SYN proxy: $n answered"; fi
scrape >"$TMP/m0" || : >"$TMP/m0"
check_v "metrics: rvs_synproxy_cookies_sent_total and rvs_synproxy_conns_total at least 8" \
	eval "grep -E '^rvs_synproxy_(cookies_sent|conns|ack_valid)_total' '$TMP/m0'; (( \$(metric_sum '$TMP/m0' rvs_synproxy_cookies_sent_total) >= 8 && \$(metric_sum '$TMP/m0' rvs_synproxy_conns_total) >= 8 ))"
client_seen_check "the outside server saw the WAN address only" "${WAN//./\\.}" "$LOGS/srv-http80.log"

sha=$(make_big srv)
download_check in1 "http://$SRV/big.bin" "$sha"
rm -f "$WWW/big.bin" "$WWW"/*/big.bin

# The flood from the inside, sampled every second for the WAN pool's ports in use.
scrape >"$TMP/f0" || : >"$TMP/f0"
a0=$(pool_metric "$TMP/f0" rvs_laddr_allocations_total)
u0=$(pool_metric "$TMP/f0" rvs_laddr_ports_in_use)
c0=$(metric_sum "$TMP/f0" rvs_synproxy_cookies_sent_total)
r0=$(metric_sum "$TMP/f0" rvs_synproxy_synack_rate_limited_total)
in_ns in2 python3 "$TOOLS/synflood.py" "$SRV" 80 --src-net 192.168.200.128/25 \
	--count "$FLOOD_N" --seconds "$FLOOD_S" >"$TMP/flood.out" 2>&1 &
fl_pid=$!
BG_PIDS+=($fl_pid)
(
	for ((i = 0; i < FLOOD_S + 60; i++)); do
		scrape 2>/dev/null | grep -E "^rvs_laddr_ports_in_use\{pool=\"$POOL\"" | awk '{ s += $NF } END { printf "%d\n", s }'
		sleep 1
	done
) >"$TMP/in_use.samples" &
sampler=$!
BG_PIDS+=($sampler)
okn=$(requests in1 "$REQ_N")
wait "$fl_pid"
kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
sed 's/^/# flood: /' "$TMP/flood.out"
sent=$(sed -n 's/^sent=\([0-9]*\).*/\1/p' "$TMP/flood.out")
if ((okn * 1000 >= REQ_N * 999)); then
	ok "under a spoofed SYN flood from the inside ($(cat "$TMP/flood.out")): $okn of $REQ_N requests answered (>= 99.9%)"
else
	not_ok "under a spoofed SYN flood from the inside ($(cat "$TMP/flood.out")): $okn of $REQ_N requests answered (>= 99.9%)"
fi
scrape_settled "$TMP/f1" '^rvs_(lb|synproxy|laddr)_'
a1=$(pool_metric "$TMP/f1" rvs_laddr_allocations_total)
peak=$(sort -n "$TMP/in_use.samples" | tail -n 1)
echo "# WAN pool: allocations $a0 -> $a1, ports in use $u0 before, peak ${peak:-?} in $(grep -c . "$TMP/in_use.samples") samples"
if ((a1 - a0 <= REQ_N + 20)); then
	ok "the WAN address's port allocations grew by $((a1 - a0)) (at most the $REQ_N requests + 20; flood of ${sent:-0} SYNs)"
else
	not_ok "the WAN address's port allocations grew by $((a1 - a0)) (more than the $REQ_N requests + 20; flood of ${sent:-0} SYNs)"
fi
if [[ -n $peak ]] && ((peak <= u0 + REQ_N + 20)); then
	ok "the WAN address's ports in use peaked at $peak during the flood (at most $u0 + the $REQ_N requests + 20)"
else
	not_ok "the WAN address's ports in use peaked at ${peak:-?} during the flood (more than $u0 + $REQ_N + 20)"
fi
c1=$(metric_sum "$TMP/f1" rvs_synproxy_cookies_sent_total)
r1=$(metric_sum "$TMP/f1" rvs_synproxy_synack_rate_limited_total)
if ((${sent:-0} > 0 && c1 - c0 + r1 - r0 >= ${sent:-1} / 2)); then
	ok "the flood was answered by cookies (+$((c1 - c0))) or rate-limited (+$((r1 - r0))), at least half of ${sent} SYNs"
else
	not_ok "the flood was answered by cookies (+$((c1 - c0))) or rate-limited (+$((r1 - r0))), at least half of ${sent:-0} SYNs"
fi
stop_check
summary
((FAIL == 0))
