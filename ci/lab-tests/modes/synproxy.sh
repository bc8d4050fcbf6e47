#!/usr/bin/env bash
# Lab test of the SYN proxy (issue 14, items 1 and 7): labs `nat` and `fullnat`, rvsd on a copy of
# conf/lab-MODE.toml with `synproxy = true` on the TCP service 192.168.100.100:80. In each lab:
#   - rvsadm -L -n shows `synproxy` on the service line and -S -n saves `--synproxy`;
#   - real Linux clients and servers (SACK and timestamps on): 8 requests answered through the
#     proxy; captured on the client, every SYN-ACK of the VIP is the director's cookie SYN-ACK
#     (SACK-permitted, timestamps whose low 6 bits carry SACK and the client's window scale, window
#     scale); captured on the real servers, every SYN carries the client's options (MSS, SACK,
#     timestamps, the client's window scale); the proxy's counters rose;
#   - a BIG_MB (100) MB download intact by sha256;
#   - a spoofed-SYN flood (synflood.py: random sources in 10/8) for as long as the client
#     downloads BIG_MB MB and makes REQ_N requests (stopped when both are over; bounded by FLOOD_N
#     SYNs and FLOOD_S seconds): the flood lasted the whole run, at least 99.9% of the requests
#     succeed, the download is intact, laddr_exhausted stays 0, the connection table
#     (rvs_conn_table_entries, sampled every 0.5 s during the flood) never grew by more than the
#     real requests, nor had after it, and the flood was answered with cookies (or
#     rate-limited), not connections;
#   - `ci/lab stop`: rvsd exits 0.
# Output and life cycle as foundation.sh; run-all.sh runs it.
MODE=synproxy
CONFIG=${CONFIG:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/conf/lab-nat.toml} # replaced per lab below
# shellcheck source-path=SCRIPTDIR source=common.bash
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
# shellcheck source-path=SCRIPTDIR source=harden.bash
source "$(dirname "${BASH_SOURCE[0]}")/harden.bash"
plan 34 # 17 per lab (run-all.sh compares)

VIP=192.168.100.100
CLIENT=192.168.100.2
FLOOD_N=${FLOOD_N:-20000000}
FLOOD_S=${FLOOD_S:-300}
REQ_N=${REQ_N:-1000}

# proxied_config MODE: conf/lab-MODE.toml with the SYN proxy on the TCP service of port 80.
proxied_config() {
	awk '{ print } $0 == "vip = \"192.168.100.100:80\"" { print "synproxy = true" }' \
		"$ROOT/conf/lab-$1.toml" >"$TMP/lab-$1-synproxy.toml"
}

metric_now() { scrape >"$TMP/m" || : >"$TMP/m"; metric_sum "$TMP/m" "$1"; }

# syn_captures_start MODE: SYN and SYN-ACK segments of port 80 on the client and both servers.
syn_captures_start() {
	local ns
	CAP_PIDS=()
	for ns in client rs1 rs2; do
		ip netns exec "rvs-$ns" timeout 120 tcpdump --immediate-mode -Z root -s 200 -U -nn -i eth0 \
			-w "$TMP/$1-$ns.pcap" 'tcp port 80 and tcp[tcpflags] & tcp-syn != 0' 2>"$TMP/$1-$ns.err" &
		BG_PIDS+=($!)
		CAP_PIDS+=($!)
	done
	wait_for 30 eval "grep -qs 'listening on' '$TMP/$1-client.err' && grep -qs 'listening on' '$TMP/$1-rs1.err' && grep -qs 'listening on' '$TMP/$1-rs2.err'" ||
		echo "# captures not listening after 30 s"
}
# syn_captures_stop: stops the captures once their files stopped growing (settled, at most 10 s).
syn_captures_stop() {
	settled 10 eval "stat -c %s $TMP/*.pcap" || echo "# captures still growing after 10 s"
	kill -TERM "${CAP_PIDS[@]}" 2>/dev/null
	wait "${CAP_PIDS[@]}" 2>/dev/null
}

# requests N: N requests from the client; prints how many were answered.
requests() {
	local i okn=0
	for ((i = 0; i < $1; i++)); do
		in_ns client curl -sf -o /dev/null --connect-timeout 5 --max-time 10 "http://$VIP/" && okn=$((okn + 1))
	done
	echo "$okn"
}

# synack_check MODE: the client saw SYN-ACKs of the VIP only as the director's cookie SYN-ACKs.
synack_check() {
	local f=$TMP/$1-client.txt bad=0 n=0 line ws tsv
	tcpdump -r "$TMP/$1-client.pcap" -nn -v 2>/dev/null | grep -A1 'proto TCP' | grep -E 'Flags \[S\.?\]' >"$f"
	cat "$f"
	ws=$(grep -E "^ *$CLIENT\.[0-9]+ > $VIP\.80: Flags \[S\]" "$f" | grep -oE 'wscale [0-9]+' | head -n 1 | awk '{ print $2 }')
	[[ -n $ws ]] || { echo "no client SYN with a window scale"; return 1; }
	while read -r line; do
		n=$((n + 1))
		tsv=$(grep -oE 'TS val [0-9]+' <<<"$line" | awk '{ print $3 }')
		if ! grep -q 'sackOK' <<<"$line" || ! grep -qE 'wscale [0-9]+' <<<"$line" || [[ -z $tsv ]] ||
			(((tsv & 63) != (16 | ws))); then
			echo "not a cookie SYN-ACK (client wscale $ws): $line"
			bad=$((bad + 1))
		fi
	done < <(grep -E "^ *$VIP\.80 > $CLIENT\.[0-9]+: Flags \[S\.\]" "$f")
	echo "$n SYN-ACKs, $bad not the cookie's"
	((n > 0 && bad == 0))
}

# server_syn_check MODE: every SYN the real servers saw carries the client's options.
server_syn_check() {
	local f=$TMP/$1-rs.txt ws n bad
	for ns in rs1 rs2; do tcpdump -r "$TMP/$1-$ns.pcap" -nn -v 2>/dev/null; done |
		grep -A1 'proto TCP' | grep -E 'Flags \[S\]' >"$f"
	cat "$f"
	ws=$(tcpdump -r "$TMP/$1-client.pcap" -nn -v 2>/dev/null | grep -A1 'proto TCP' |
		grep -E "^ *$CLIENT\.[0-9]+ > $VIP\.80: Flags \[S\]" | grep -oE 'wscale [0-9]+' | head -n 1)
	n=$(grep -c . "$f")
	bad=$(grep -vcE "options \[mss 1460,sackOK,TS val [0-9]+ ecr 0,nop,$ws\]" "$f")
	echo "$n SYNs at the servers, $bad without the client's options ($ws)"
	((n > 0 && bad == 0))
}

flood_checks() { # MODE
	local mode=$1 sha e0 e1 c0 c1 r0 r1 sent okn dl_pid fl_pid got
	sha=$(make_big rs1 rs2)
	e0=$(metric_now rvs_conn_table_entries)
	c0=$(metric_sum "$TMP/m" rvs_synproxy_cookies_sent_total)
	r0=$(metric_sum "$TMP/m" rvs_synproxy_synack_rate_limited_total)
	in_ns client curl -sS --connect-timeout 10 --max-time 300 "http://$VIP/big.bin" 2>"$TMP/fdl.err" |
		sha256sum | awk '{ print $1 }' >"$TMP/fdl.sha" &
	dl_pid=$!
	BG_PIDS+=($dl_pid)
	peak_sampler_start
	flood_until_start
	in_ns client python3 "$TOOLS/synflood.py" "$VIP" 80 --count "$FLOOD_N" --seconds "$FLOOD_S" \
		--until-file "$FLOOD_STOP" >"$TMP/flood.out" 2>&1 &
	fl_pid=$!
	BG_PIDS+=($fl_pid)
	okn=$(requests "$REQ_N")
	wait "$dl_pid"
	flood_until_stop "$fl_pid" "$TMP/flood.out"
	peak_sampler_stop
	sed 's/^/# flood: /' "$TMP/flood.out"
	sent=$(sed -n 's/^sent=\([0-9]*\).*/\1/p' "$TMP/flood.out")
	if ((okn * 1000 >= REQ_N * 999 && FLOOD_SPANNED == 1)); then
		ok "[$mode] under a spoofed SYN flood throughout the run ($(cat "$TMP/flood.out")): $okn of $REQ_N requests answered (>= 99.9%)"
	else
		not_ok "[$mode] under a spoofed SYN flood ($(cat "$TMP/flood.out")): $okn of $REQ_N requests answered (>= 99.9%)"
	fi
	got=$(cat "$TMP/fdl.sha")
	if [[ $got == "$sha" ]]; then
		ok "[$mode] $BIG_MB MB download during the flood: sha256 matches"
	else
		not_ok "[$mode] $BIG_MB MB download during the flood: sha256 $got, want $sha"
		show "$TMP/fdl.err"
	fi
	scrape_settled "$TMP/m1" '^rvs_(lb|synproxy)_'
	local lx
	lx=$(grep '^rvs_lb_drops_total{' "$TMP/m1" | grep 'reason="laddr_exhausted"' | awk '{ s += $NF } END { printf "%d\n", s }')
	if ((lx == 0)); then ok "[$mode] laddr_exhausted stayed 0"; else not_ok "[$mode] laddr_exhausted is $lx"; fi
	e1=$(metric_sum "$TMP/m1" rvs_conn_table_entries)
	echo "# table entries before $e0, peak during the flood $PEAK_ENTRIES ($PEAK_SAMPLES samples, embryonic peak $PEAK_EMBRYONIC), after $e1"
	if ((PEAK_ENTRIES - e0 <= REQ_N + 100 && PEAK_SAMPLES > 2)); then
		ok "[$mode] the connection table's peak during the flood grew by $((PEAK_ENTRIES - e0)) (at most the $REQ_N requests + 100; $PEAK_SAMPLES samples)"
	else
		not_ok "[$mode] the connection table's peak during the flood grew by $((PEAK_ENTRIES - e0)) (more than the $REQ_N requests + 100), $PEAK_SAMPLES samples"
	fi
	if ((e1 - e0 <= REQ_N + 100)); then
		ok "[$mode] the connection table grew by $((e1 - e0)) (at most the $REQ_N requests + 100; flood of ${sent:-0} SYNs)"
	else
		not_ok "[$mode] the connection table grew by $((e1 - e0)) (more than the $REQ_N requests + 100)"
	fi
	c1=$(metric_sum "$TMP/m1" rvs_synproxy_cookies_sent_total)
	r1=$(metric_sum "$TMP/m1" rvs_synproxy_synack_rate_limited_total)
	echo "# cookies sent +$((c1 - c0)), rate-limited +$((r1 - r0)), SYNs sent ${sent:-0}"
	if ((c1 - c0 + r1 - r0 >= ${sent:-1} / 2 && ${sent:-0} > 0)); then
		ok "[$mode] the flood was answered by cookies (+$((c1 - c0))) or rate-limited (+$((r1 - r0))), at least half of ${sent} SYNs"
	else
		not_ok "[$mode] the flood was answered by cookies (+$((c1 - c0))) or rate-limited (+$((r1 - r0))), at least half of ${sent:-0} SYNs"
	fi
	rm -f "$WWW/big.bin" "$WWW"/*/big.bin
}

synproxy_lab() { # MODE
	local mode=$1 sha n
	proxied_config "$mode"
	CONFIG=$TMP/lab-$mode-synproxy.toml
	export CONFIG
	CTRL_SOCK=$(ctrl_socket)
	lab_start "$mode"
	check_v "[$mode] rvsadm -L -n: TCP $VIP:80 rr ... synproxy" \
		eval "rvsadm -L -n | grep -E '^TCP  $VIP:80 rr.* synproxy\$'"
	check_v "[$mode] rvsadm -S -n: --synproxy saved on the service" \
		eval "rvsadm -S -n | grep -E -- '^-A -t $VIP:80 -s rr.* --synproxy\$'"
	check "[$mode] the client has SACK and timestamps on" \
		eval '[[ $(in_ns client sysctl -n net.ipv4.tcp_sack) == 1 && $(in_ns client sysctl -n net.ipv4.tcp_timestamps) == 1 ]]'
	syn_captures_start "$mode"
	n=$(requests 8)
	syn_captures_stop
	if ((n == 8)); then ok "[$mode] 8 requests through the SYN proxy answered"; else not_ok "[$mode] 8 requests through the SYN proxy: $n answered"; fi
	check_v "[$mode] client capture: every SYN-ACK of $VIP:80 is a cookie SYN-ACK (SACK, TS low bits = SACK | client wscale, wscale)" synack_check "$mode"
	check_v "[$mode] server captures: every SYN carries the client's options (mss 1460, sackOK, TS, the client's wscale)" server_syn_check "$mode"
	scrape >"$TMP/m0" || : >"$TMP/m0"
	check_v "[$mode] metrics: rvs_synproxy_cookies_sent_total and rvs_synproxy_conns_total at least 8" \
		eval "grep -E '^rvs_synproxy_(cookies_sent|conns|ack_valid)_total' '$TMP/m0'; (( \$(metric_sum '$TMP/m0' rvs_synproxy_cookies_sent_total) >= 8 && \$(metric_sum '$TMP/m0' rvs_synproxy_conns_total) >= 8 ))"
	sha=$(make_big rs1 rs2)
	download_check client "http://$VIP/big.bin" "$sha"
	rm -f "$WWW/big.bin" "$WWW"/*/big.bin
	flood_checks "$mode"
	stop_check
	"$LAB" down >/dev/null 2>&1 || true
}

synproxy_lab nat
synproxy_lab fullnat
summary
((FAIL == 0))
