#!/usr/bin/env bash
# Live-change test: continuous transfers through the NAT lab (two workers, both directions through
# rvsd) while services and real servers are added, removed and edited around them with rvsadm.
#
#   - a BIG_MB (100) MB download, rate-limited to last about 7 s, and a stream of 3000 numbered
#     1000-byte UDP datagrams echoed back (ci/tools/udp_stream.py), both started first;
#   - meanwhile, in rounds (at most LIVE_ROUNDS, and only while a transfer runs): a service added
#     and deleted (VIP:8000, answered by rs1 and rs2 while it exists), a third real server added
#     and deleted, schedulers changed (wrr, wlc, sh, rr with -p), weights edited (0 and back), the
#     download's own real server set to weight 0, deleted and added back, each UDP real server
#     deleted and added back in turn, a -R of two rules and their -D, counters zeroed;
#   - both transfers complete intact (sha256 of the download, every datagram and the stream's
#     sha256), no rvsadm command failed, and afterwards the configured table is restored with -R
#     and answers rr again;
#   - deleting every real server of the UDP service under a running stream and adding them back
#     loses none of the stream's packets, also those landing on the worker that does not own the
#     connection (the core remembers that the service was steered).
# Output and life cycle as the mode tests.
MODE=nat
# shellcheck source-path=SCRIPTDIR source=modes/common.bash
source "$(dirname "${BASH_SOURCE[0]}")/modes/common.bash"
plan 12 # the ok/not ok lines below (run-all.sh compares)

VIP=192.168.100.100
CLIENT=192.168.100.2
RS1=192.168.200.12:80
RS2=192.168.200.13:8080
ROUNDS=${LIVE_ROUNDS:-6}

lab_start nat
rvsadm -S -n >"$TMP/lab.save" || bail_out "rvsadm -S -n failed"
sha=$(make_big rs1 rs2)

# The transfers.
(in_ns client curl -sS --limit-rate 15M --local-port 40200 --max-time 90 "http://$VIP/big.bin" |
	sha256sum | awk '{ print $1 }' >"$TMP/dl.sha") 2>"$TMP/dl.err" &
DL_PID=$!
BG_PIDS+=($!)
in_ns client python3 "$TOOLS/udp_stream.py" "$VIP" 9000 --count 3000 --size 1000 --seed 11 \
	--duration 7 --window 16 --timeout 5 >"$TMP/udp.out" 2>&1 &
UDP_PID=$!
BG_PIDS+=($!)
has_conn() { [[ -n $(conn_row "$CLIENT" 40200) ]]; }
if wait_for 30 has_conn; then
	DL_DEST=$(conn_row "$CLIENT" 40200 | awk '{ print $6 }')
	ok "the download runs (client port 40200 on $DL_DEST)"
else
	DL_DEST=$RS1
	not_ok "the download runs (no connection from client port 40200 listed)"
fi

# The changes. Every command must succeed; a failed one is reported with its output.
FAILED_CMDS=""
CMDS=0
adm() {
	CMDS=$((CMDS + 1))
	if ! rvsadm "$@" >"$TMP/adm.out" 2>&1; then
		FAILED_CMDS+="[rvsadm $* -> $(head -c 100 "$TMP/adm.out")] "
	fi
}
running() { kill -0 "$DL_PID" 2>/dev/null || kill -0 "$UDP_PID" 2>/dev/null; }
probes=""
round=0
while ((round < ROUNDS)) && running; do
	round=$((round + 1))
	adm -A -t "$VIP:8000" -s rr
	adm -a -t "$VIP:8000" -r "$RS1" -m -w 1
	adm -a -t "$VIP:8000" -r "$RS2" -m -w 1
	probes+="$(in_ns client curl -s --max-time 3 "http://$VIP:8000/" || echo ERR) "
	adm -E -t "$VIP:80" -s wrr
	adm -e -t "$VIP:80" -r "$RS1" -m -w 3
	adm -a -t "$VIP:80" -r 192.168.200.12:8080 -m -w 1
	adm -E -u "$VIP:9000" -s wlc
	adm -e -u "$VIP:9000" -r 192.168.200.12:9000 -m -w 0
	adm -e -t "$VIP:80" -r "$DL_DEST" -m -w 0
	sleep 0.3
	adm -d -t "$VIP:80" -r "$DL_DEST"
	adm -d -u "$VIP:9000" -r 192.168.200.12:9000
	sleep 0.3
	adm -a -u "$VIP:9000" -r 192.168.200.12:9000 -m -w 1
	adm -d -u "$VIP:9000" -r 192.168.200.13:9000
	sleep 0.3
	adm -a -u "$VIP:9000" -r 192.168.200.13:9000 -m -w 1
	adm -a -t "$VIP:80" -r "$DL_DEST" -m -w 1
	adm -d -t "$VIP:80" -r 192.168.200.12:8080
	adm -E -t "$VIP:80" -s sh
	adm -E -t "$VIP:80" -s rr -p 30
	adm -E -t "$VIP:80" -s rr
	adm -e -t "$VIP:80" -r "$RS1" -m -w 1
	adm -E -u "$VIP:9000" -s rr
	probes+="$(in_ns client curl -s --max-time 3 "http://$VIP:8000/" || echo ERR) "
	adm -D -t "$VIP:8000"
	printf -- '-A -u %s:9001 -s rr\n-a -u %s:9001 -r 192.168.200.13:9000 -m -w 1\n' "$VIP" "$VIP" >"$TMP/rules"
	CMDS=$((CMDS + 1))
	rvsadm -R <"$TMP/rules" >"$TMP/adm.out" 2>&1 || FAILED_CMDS+="[rvsadm -R -> $(head -c 100 "$TMP/adm.out")] "
	adm -D -u "$VIP:9001"
	adm -Z
	sleep 0.3
done
echo "# $round round(s) of changes, $CMDS rvsadm commands, while the transfers ran; VIP:8000 answered: $probes"
if [[ -z $FAILED_CMDS ]] && ((round >= 2)); then
	ok "$CMDS rvsadm changes in $round rounds during the transfers, every one accepted"
else
	not_ok "rvsadm changes during the transfers: $round round(s) (want 2 at least); failed: ${FAILED_CMDS:-none}"
fi
if [[ $probes != *ERR* && $probes == *rs1* && $probes == *rs2* ]]; then
	ok "the service added live (VIP:8000) answered from rs1 and rs2 each time it existed"
else
	not_ok "the service added live (VIP:8000) answered from rs1 and rs2 each time it existed ($probes)"
fi

# The transfers end intact.
wait_for 90 eval '! running'
wait "$DL_PID" 2>/dev/null
if [[ $(cat "$TMP/dl.sha" 2>/dev/null) == "$sha" ]]; then
	ok "$BIG_MB MB download through the changes: sha256 matches"
else
	not_ok "$BIG_MB MB download through the changes: sha256 $(cat "$TMP/dl.sha" 2>/dev/null), want $sha; $(head -c 200 "$TMP/dl.err")"
fi
wait "$UDP_PID"
rc=$?
if ((rc == 0)); then
	ok "UDP stream of 3000 datagrams through the changes: every datagram back intact, sha256 equal"
else
	not_ok "UDP stream of 3000 datagrams through the changes (exit $rc)"
	echo "# the director's losses so far, and the hosts' UDP receive errors:"
	losses | sed 's/^/#   /'
	udp_errors client rs1 rs2 | sed 's/^/#   /'
fi
sed 's/^/#   /' "$TMP/udp.out"
rm -f "$WWW/big.bin" "$WWW"/*/big.bin

# With two workers, a NAT service that has no real server left must still steer its existing
# connections' packets to the core that owns their client (each core remembers the steering of
# every service it ever ran), so the stream loses nothing while its servers are gone and back.
# The stream started once the UDP service counted a packet; the changes must all succeed, the table must
# show the service without real servers in between, and the stream's own sent count must show it
# was still running when they were back (else the check would prove nothing).
# (counters zeroed first: the rows of earlier streams are still listed)
udp_counted() { (($(stats_lines UDP "$VIP:9000" | awk 'NR == 1 { print $2 + 0 }') > 0)); }
udp_dests() { # the UDP service's real-server lines; fails when rvsadm fails
	local out
	out=$(rvsadm -L -n -u "$VIP:9000") || return 1
	grep -c -- '->' <<<"$out" || true
}
forwarded_now() { scrape | awk '/^rvs_lb_forwarded_total\{/ { s += $NF } END { print s + 0 }'; }
forwarded_rose() { (($(forwarded_now) > $1)); } # FROM
no_udp_dests() { [[ $(udp_dests) == 1 ]]; } # the header's "-> RemoteAddress" line only
all_dests_gone() {
	rvsadm -Z || return 1
	in_ns client python3 "$TOOLS/udp_stream.py" "$VIP" 9000 --count 600 --size 1000 --seed 12 \
		--duration 6 --window 16 --timeout 5 >"$TMP/udp2.out" 2>&1 &
	local p=$!
	BG_PIDS+=($!)
	wait_for 30 udp_counted || { echo "the UDP service counted no packet of the stream"; return 1; }
	rvsadm -d -u "$VIP:9000" -r 192.168.200.12:9000 && rvsadm -d -u "$VIP:9000" -r 192.168.200.13:9000 ||
		{ echo "rvsadm -d failed"; return 1; }
	no_udp_dests || { echo "the UDP service still lists real servers"; rvsadm -L -n -u "$VIP:9000"; return 1; }
	# Packets of the stream keep being forwarded with no real server (their connection is kept;
	# the stream is the only traffic).
	local f0 f1
	f0=$(forwarded_now)
	wait_for 30 forwarded_rose "$f0" ||
		{ echo "no packet forwarded while the service had no real server"; return 1; }
	f1=$(forwarded_now)
	echo "rvs_lb_forwarded_total with no real server listed: $f0 -> $f1"
	rvsadm -a -u "$VIP:9000" -r 192.168.200.12:9000 -m -w 1 && rvsadm -a -u "$VIP:9000" -r 192.168.200.13:9000 -m -w 1 ||
		{ echo "rvsadm -a failed"; return 1; }
	[[ $(udp_dests) == 3 ]] || { echo "the UDP service does not list both real servers again"; return 1; }
	kill -0 "$p" 2>/dev/null || { echo "the stream ended before the servers were back"; return 1; }
	wait "$p"
	local rc=$?
	cat "$TMP/udp2.out"
	return "$rc"
}
check_v "both real servers of the UDP service deleted (and re-added) under a running stream: every datagram back" \
	all_dests_gone

restore_lab() {
	rvsadm -C && rvsadm -R <"$TMP/lab.save" && rvsadm -S -n | diff "$TMP/lab.save" -
}
check "rvsadm -C; -R < (the lab's -S -n): the configured table is back" restore_lab
rr_check client "http://$VIP/" "$RR_N" rs1 rs2
stop_check
summary
((FAIL == 0))
