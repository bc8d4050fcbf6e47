#!/usr/bin/env bash
# Lab test of BFD_CHECK against a real BFD peer: lab `dr`, rvsd on conf/lab-dr-bfd.toml, and BIRD 2
# (Debian's bird2, from ci/deps) in rs1's namespace with a `protocol bfd` session to the director's
# kernel-side address 192.168.100.20. rvsd's session leaves from that address through the DPDK port.
#
#   - before BIRD runs, rs1 (alpha) is out of the table and rs2 in;
#   - BIRD started: the session comes Up on both sides (rvsd's metrics, `birdc show bfd sessions`),
#     rs1 joins the table and answers through the VIP;
#   - a BFD packet from rs1 with TTL 64 is counted (reason "ttl") and ignored: the session stays Up;
#   - BIRD killed (-9, it says nothing): rs1 leaves the table once the detection time passes (how
#     long it took is reported, the bound is a generous 30 s), the session's downs counter rises,
#     new requests all go to rs2;
#   - BIRD restarted: rs1 back; BIRD's BFD protocol disabled (`birdc disable`): rs1 leaves again;
#   - promtool finds nothing to fix in the scrape.
# Prints its plan, `ok - ...` / `not ok - ...` and `N passed, M failed`; the lab is torn down on every
# exit.
MODE=dr
CONFIG=${CONFIG:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/conf/lab-dr-bfd.toml}
# shellcheck source-path=SCRIPTDIR source=common.bash
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
plan 18 # the ok/not ok lines below (run-all.sh compares)

VIP=192.168.100.100
RS1=192.168.100.12
RS2=192.168.100.13
KADDR=192.168.100.20
BIRD_PID=

# bfd_metric NAME [RE]: the value of NAME for instance rs1 (labels matching RE), 0 when absent.
bfd_metric() {
	scrape >"$TMP/bfd.m" &&
		awk -v name="$1" -v re="${2:-}" 'index($0, name "{") == 1 && /instance="rs1"/ && $0 ~ re { s += $NF }
			END { print s + 0 }' "$TMP/bfd.m"
}
session_up() { [[ $(bfd_metric rvs_bfd_session_up) == 1 ]]; }
session_down() { [[ $(bfd_metric rvs_bfd_session_up) == 0 ]]; }
birdc_rs1() { birdc -s "$TMP/bird.ctl" "$@"; }
bird_conf() {
	cat <<EOF
# BIRD on real server rs1: a BFD session to the director's kernel-side address, nothing else.
router id $RS1;
log "$TMP/bird.log" all;
protocol device { scan time 2; }
protocol bfd rvs {
	interface "eth0" { min rx interval 300 ms; min tx interval 300 ms; multiplier 5; };
	neighbor $KADDR local $RS1;
}
EOF
}
start_bird() {
	bird_conf >"$TMP/bird.conf" || return 1
	ip netns exec rvs-rs1 bird -f -c "$TMP/bird.conf" -s "$TMP/bird.ctl" >>"$TMP/bird.out" 2>&1 &
	BIRD_PID=$!
	BG_PIDS+=("$BIRD_PID")
	wait_for 10 birdc_rs1 show status
}
bird_session_up() { birdc_rs1 show bfd sessions | tee "$TMP/bird.sessions" | grep -qE "^$KADDR +.* Up( |$)"; }

# send_ttl64: one BFD control packet (RFC 5880, state Up, 24 bytes) from rs1 to the director's
# session, with IP TTL 64 instead of 255.
send_ttl64() {
	in_ns rs1 python3 - "$KADDR" <<'EOF'
import socket, struct, sys
pkt = struct.pack("!BBBBIIIII", 0x20, 0xC0, 5, 24, 0x5eed, 0, 300000, 300000, 0)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 64)
s.sendto(pkt, (sys.argv[1], 3784))
EOF
}

command -v bird >/dev/null || bail_out "BIRD 2 is not installed (ci/deps installs bird2)"
lab_start dr

# --- before the peer: alpha keeps rs1 out ---------------------------------------------------------
before() { in_table "$RS2" && not_in_table "$RS1" && session_down; }
check "before BIRD runs: rs1 (alpha) out of the table, rs2 in, rvs_bfd_session_up 0" wait_for 15 before

# --- BIRD started: Up on both sides, rs1 in ----------------------------------------------------------
check "BIRD 2 starts in rs1's namespace with a BFD session to $KADDR" start_bird
waited "the session came Up: rs1 joined the table" in_table "$RS1" ||
	tail -n 20 "$TMP/bird.log" 2>/dev/null | sed 's/^/#   bird: /'
check "rvs_bfd_session_up{instance=\"rs1\"} is 1" session_up
check_v "BIRD lists the session to $KADDR as Up (birdc show bfd sessions)" wait_for 10 bird_session_up
counts_ok() { (($(bfd_metric rvs_bfd_packets_received_total) > 0 && $(bfd_metric rvs_bfd_packets_sent_total) > 0)); }
check "rvs_bfd_packets_received_total and _sent_total count the session's packets" counts_ok
# count WORD: how many of the words in $TMP/answers are WORD.
count() { tr ' ' '\n' <"$TMP/answers" | grep -cx "$1"; }
both_answer() {
	answers 6 >"$TMP/answers" && cat "$TMP/answers" && (($(count rs1) == 3 && $(count rs2) == 3))
}
check_v "6 requests through the VIP: 3 answered by rs1, 3 by rs2 (rr)" both_answer

# --- a packet with TTL 64: counted and ignored -------------------------------------------------------
ttl0=$(bfd_metric rvs_bfd_bad_packets_total 'reason="ttl"')
ttl_counted() { (($(bfd_metric rvs_bfd_bad_packets_total 'reason="ttl"') == ttl0 + 1)); }
send_ttl64
check "a BFD packet from rs1 with TTL 64: rvs_bfd_bad_packets_total{reason=\"ttl\"} rose by 1" wait_for 10 ttl_counted
check "after it the session is still Up and rs1 in the table" eval 'session_up && in_table "$RS1"'

# --- the peer dies: rs1 out after the detection time ----------------------------------------------
downs0=$(bfd_metric rvs_bfd_session_downs_total)
{ kill -9 "$BIRD_PID" && wait "$BIRD_PID"; } 2>/dev/null
waited "BIRD killed: rs1 out of the table (detection time 5 x 300 ms)" not_in_table "$RS1" ||
	table 2>&1 | sed 's/^/#   /'
check "rvs_bfd_session_downs_total rose by 1 and rvs_bfd_session_up is 0" \
	eval '(($(bfd_metric rvs_bfd_session_downs_total) == downs0 + 1)) && session_down'
only_rs2() { answers 4 >"$TMP/answers" && cat "$TMP/answers" && (($(count rs2) == 4)); }
check_v "4 requests through the VIP: all answered by rs2" only_rs2

# --- the peer back, then its BFD protocol disabled ----------------------------------------------
check "BIRD restarted in rs1's namespace" start_bird
waited "the session came Up again: rs1 back in the table" in_table "$RS1"
birdc_rs1 disable rvs >/dev/null
waited "BIRD's BFD protocol disabled (birdc disable): rs1 out of the table" not_in_table "$RS1"

promtool_check
summary
