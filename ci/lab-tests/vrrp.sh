#!/usr/bin/env bash
# Lab test of director HA with keepalived's VRRP (docs/keepalived.md, ci/lab-vrrp): two rvsd
# directors, each with keepalived (VRRP only, conf/keepalived-vrrp.conf) on its kernel side,
# the VIP in standby in both configs (imported by rvs-keepalived-import), in DR.
#
#   - keepalived elects dir1 (priority 150): its notify script takes the VIP in dir1's rvsd, dir2
#     holds it in standby (`rvsnet addr show`, `rvs_vip_active`); requests through the VIP are
#     answered; the client's ARP entry for the VIP is dir1's MAC;
#   - keepalived of dir1 killed with SIGKILL (no notify, no goodbye advert): dir2's keepalived
#     becomes MASTER after its master-down timer, rvsd of dir2 takes the VIP; the client's ARP
#     entry moves to dir2's MAC and requests are answered (the time is reported, the bound is
#     generous); a capture on the client, decoded by tshark, holds dir2's gratuitous ARPs;
#   - restore: keepalived of dir1 started again takes the VIP back (preemption), dir2 in
#     standby again, the client's entry back on dir1;
#   - rvsd of dir1 killed with SIGKILL: its kernel interface vanishes with it, so dir1's
#     keepalived goes to FAULT (its log says so) and sends no more adverts; dir2 takes over
#     likewise (time reported, ARP entry moved, gratuitous ARP captured);
#   - rvsd of dir1 started again: dir1's keepalived follows the new interface, becomes MASTER
#     again and takes the VIP.
# Runs as root, on its own `vrrp-` namespaces (no lab lock). RVSD (default
# target/release/rvsd) with rvsadm, rvsnet and rvs-keepalived-import beside it; keepalived and
# tshark (ci/deps). Prints TAP (`1..N`, ok / not ok) and `N passed, M failed`.
# lab-lane: own
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB=$ROOT/ci/lab-vrrp
export RVSD=${RVSD:-$ROOT/target/release/rvsd}
VIP=10.98.1.100
# Failover bound: keepalived's master-down interval is 3 adverts (3 s) plus a skew under 1 s;
# the rest is slack for a loaded machine. The measured time is reported.
BOUND=${VRRP_FAILOVER_BOUND:-15}
TMP=$(mktemp -d /tmp/rvs-vrrp.XXXXXX)
# shellcheck source-path=SCRIPTDIR source=tap.bash
source "$(dirname "${BASH_SOURCE[0]}")/tap.bash"

cleanup() {
	[[ -n ${CAP_PID:-} ]] && kill "$CAP_PID" 2>/dev/null
	"$LAB" down >/dev/null 2>&1 || true
	rm -rf "$TMP"
}
trap cleanup EXIT

in_client() { ip netns exec vrrp-client "$@"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# state DIR: "active" or "standby" as dir's rvsd lists the VIP ("" when it does not answer).
state() {
	local line
	line=$("$LAB" net "$1" addr show 2>/dev/null | grep -F "inet $VIP/32 vip") || return 0
	[[ $line == *standby ]] && echo standby || echo active
}
# mac DIR: the MAC of dir's port (rvsnet addr show's first line).
mac() { "$LAB" net "$1" addr show 2>/dev/null | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p' | head -n 1; }
# client_mac: the client's ARP entry for the VIP ("" when it has none).
client_mac() { in_client ip neigh show "$VIP" dev eth0 | sed -n 's/.* lladdr \([0-9a-f:]*\).*/\1/p'; }
# answer: one request through the VIP; prints the real server's name or FAILED.
answer() { in_client curl -s --max-time 2 "http://$VIP/" 2>/dev/null || echo FAILED; }
# wait_for SECONDS CMD...: polls CMD every 0.2 s until it succeeds; false after SECONDS.
wait_for() {
	local deadline=$1 t0
	shift
	t0=$(now)
	until "$@"; do
		awk -v a="$t0" -v b="$(now)" -v d="$deadline" 'BEGIN { exit !(b - a > d) }' && return 1
		sleep 0.2
	done
}
roles() { [[ $(state dir1) == "$1" && $(state dir2) == "$2" ]]; }
served_by() { # DIR: a request is answered, and the client's entry names DIR's MAC
	# The request first: it is what makes the client resolve the VIP when it has no entry.
	[[ $(answer) == rs[12] ]] && [[ $(client_mac) == "$(mac "$1")" ]]
}
metric() { # DIR: rvs_vip_active of the VIP on DIR
	"$LAB" exec "$1" curl -s --max-time 2 http://127.0.0.1:9100/metrics |
		sed -n "s/^rvs_vip_active{vip=\"$VIP\"} \([01]\)$/\1/p"
}
# capture NAME: ARP on the client's eth0 into TMP/NAME.pcap, in the background.
capture() {
	in_client tcpdump -i eth0 -U -n -w "$TMP/$1.pcap" arp >/dev/null 2>"$TMP/$1.cap.err" &
	CAP_PID=$!
	CAP_FILE=$TMP/$1.pcap
	local i
	for ((i = 0; i < 150; i++)); do
		grep -qs 'listening on' "$TMP/$1.cap.err" && return 0
		sleep 0.2
	done
	note "tcpdump not listening after 30 s: $(head -c 200 "$TMP/$1.cap.err")"
}
# capture_end: stops the capture once its file stopped growing (three equal sizes 0.5 s apart,
# at most 10 s), so the last gratuitous ARPs are in it.
capture_end() {
	local i same=0 prev=-1 cur
	for ((i = 0; i < 20 && same < 2; i++)); do
		cur=$(stat -c %s "$CAP_FILE" 2>/dev/null || echo 0)
		if ((cur == prev)); then same=$((same + 1)); else same=0; fi
		prev=$cur
		sleep 0.5
	done
	kill "$CAP_PID" 2>/dev/null
	wait "$CAP_PID" 2>/dev/null
	CAP_PID=
}
# garps NAME MAC: gratuitous ARPs for the VIP from MAC in the capture, as tshark decodes them.
garps() {
	tshark -r "$TMP/$1.pcap" -Y "arp.isgratuitous == 1 && arp.src.proto_ipv4 == $VIP && arp.src.hw_mac == $2" \
		-T fields -e frame.number 2>/dev/null | grep -c .
}
show_logs() {
	local d
	for d in dir1 dir2; do
		tail -n 8 "/run/rvs-vrrp/keepalived-$d.log" 2>/dev/null | sed "s/^/#   ka-$d: /"
	done
}

echo "1..13"
[[ -x $RVSD ]] || bail_out "no rvsd at $RVSD (cargo build --release)"
for tool in keepalived tshark tcpdump curl; do
	command -v "$tool" >/dev/null || bail_out "$tool is not installed (ci/deps)"
done
"$LAB" down >/dev/null 2>&1 || true
"$LAB" up >"$TMP/up" 2>&1 || {
	sed 's/^/#   /' "$TMP/up"
	bail_out "ci/lab-vrrp up failed"
}
for d in dir1 dir2; do
	"$LAB" start "$d" >"$TMP/start-$d" 2>&1 || {
		sed 's/^/#   /' "$TMP/start-$d" "/run/rvs-vrrp/rvsd-$d.log" | tail -n 20
		bail_out "rvsd in vrrp-$d did not start"
	}
done

# Before keepalived: the imported config holds the VIP in standby on both.
roles standby standby
verdict $? "the imported config (rvs-keepalived-import, standby = true) starts both directors with the VIP in standby"

"$LAB" ka-start dir1
"$LAB" ka-start dir2
t0=$(now)
wait_for 30 roles active standby
rc=$?
note "dir1 active, dir2 standby $(since "$t0") s after keepalived started"
verdict "$rc" "keepalived elects dir1 (priority 150): its notify takes the VIP in dir1's rvsd, dir2 holds it in standby"
"$LAB" net dir2 addr show | sed 's/^/#   dir2: /'
[[ $rc == 0 ]] || show_logs

[[ $(metric dir1) == 1 && $(metric dir2) == 0 ]]
verdict $? "rvs_vip_active{vip=\"$VIP\"}: 1 on dir1, 0 on dir2"

MAC1=$(mac dir1)
MAC2=$(mac dir2)
note "dir1's MAC $MAC1, dir2's $MAC2"
wait_for 10 served_by dir1
verdict $? "the master answers: requests through the VIP answered, the client's ARP entry is dir1's MAC"

# --- keepalived of the master killed -------------------------------------------------------------
capture ka
t0=$(now)
"$LAB" ka-kill dir1
wait_for "$BOUND" served_by dir2
rc=$?
t=$(since "$t0")
note "keepalived of dir1 killed: dir2 answers for the VIP after $t s (bound $BOUND s)"
[[ $(state dir2) == active ]] || rc=1
verdict "$rc" "keepalived of dir1 SIGKILLed: dir2 takes the VIP, the client's ARP entry moves to dir2's MAC, requests answered ($t s)"
[[ $rc == 0 ]] || show_logs
capture_end
n=$(garps ka "$MAC2")
note "tshark: $n gratuitous ARPs for $VIP from $MAC2"
((n >= 1))
verdict $? "a capture on the client decoded by tshark holds dir2's gratuitous ARP for the VIP ($n)"

# --- restore ------------------------------------------------------------------------------------
"$LAB" ka-start dir1
t0=$(now)
wait_for 30 roles active standby && wait_for 30 served_by dir1
rc=$?
note "dir1 master again after $(since "$t0") s"
verdict "$rc" "keepalived of dir1 back: it preempts, dir1 takes the VIP, dir2 back in standby, the client's entry back on dir1"
[[ $rc == 0 ]] || show_logs

# --- rvsd of the master killed ------------------------------------------------------------------
capture rvsd
t0=$(now)
"$LAB" kill dir1
wait_for "$BOUND" served_by dir2
rc=$?
t=$(since "$t0")
note "rvsd of dir1 killed: dir2 answers for the VIP after $t s (bound $BOUND s)"
verdict "$rc" "rvsd of dir1 SIGKILLed: dir2 takes the VIP, the client's ARP entry moves to dir2's MAC, requests answered ($t s)"
capture_end
n=$(garps rvsd "$MAC2")
((n >= 1))
verdict $? "the capture holds dir2's gratuitous ARP for the VIP again ($n)"
wait_for 10 grep -q "Entering FAULT STATE" /run/rvs-vrrp/keepalived-dir1.log
verdict $? "dir1's keepalived noticed: its interface went with rvsd, it entered FAULT (so it sends no adverts)"
grep -E "lan-kernel|FAULT" /run/rvs-vrrp/keepalived-dir1.log | tail -n 4 | sed 's/^/#   ka-dir1: /'
kill -0 "$(cat /run/rvs-vrrp/ka-main-dir1.pid 2>/dev/null)" 2>/dev/null
verdict $? "dir1's keepalived kept running through rvsd's death"

# --- rvsd of dir1 back ---------------------------------------------------------------------------
"$LAB" start dir1 >"$TMP/restart" 2>&1 || sed 's/^/#   /' "$TMP/restart"
t0=$(now)
wait_for 40 roles active standby && wait_for 30 served_by dir1
rc=$?
note "dir1 master again $(since "$t0") s after its rvsd started"
verdict "$rc" "rvsd of dir1 restarted: its keepalived follows the new interface, dir1 takes the VIP back"
[[ $rc == 0 ]] || show_logs

# Standby means standby: dir2 answers no ARP for the VIP (arping from the client: one reply, dir1's).
replies=$(in_client arping -c 2 -w 3 -I eth0 "$VIP" 2>/dev/null | grep -oiE '\[[0-9a-f:]{17}\]' | tr -d '[]' | tr 'A-F' 'a-f' | sort -u | xargs)
[[ $replies == "$MAC1" ]]
verdict $? "arping the VIP from the client: only the master answers ($replies)"

summary
((FAIL == 0))
