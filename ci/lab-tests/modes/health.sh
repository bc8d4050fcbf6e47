#!/usr/bin/env bash
# Lab test of the health checks: lab `dr`, rvsd on conf/lab-dr-health.toml. The checks run in rvsd's
# control plane and leave from the kernel's exception-path address 192.168.100.20 (bindto), through
# the DPDK port like any other kernel traffic.
#
#   - both real servers UP in `rvsadm -L -n --health`, rvs_dest_up 1 for both;
#   - rs1's HTTP process stopped (SIGSTOP: it accepts nothing more): its check times out and it
#     leaves the table (waited for, 30 s at most; how long it took is reported, not asserted),
#     new connections all go to rs2, while a
#     connection opened to rs1 before is left alone (its request, sent after the removal, is
#     answered by rs1 once the process runs again); notify_down ran;
#   - rs1's process continued: back in the table, answers again;
#   - both real servers stopped: quorum is lost, the sorry server (a namespace added here) answers,
#     quorum_down ran; both continued: the real servers are back and the sorry server out;
#   - a MISC_CHECK with misc_dynamic sets rs1's UDP weight to exit status - 2 (7 -> 5, then 4 -> 2);
#   - the default `rvsadm -L -n` layout has no health column.
# Prints its plan, `ok - ...` / `not ok - ...` and `N passed, M failed`; the lab is torn down on every
# exit. A negative check ("not in the table") first proves rvsadm answered with the service.
MODE=dr
CONFIG=${CONFIG:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/conf/lab-dr-health.toml}
# shellcheck source-path=SCRIPTDIR source=common.bash
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
plan 28 # the ok/not ok lines below (run-all.sh compares)

VIP=192.168.100.100
SORRY=192.168.100.14
DELAY_LOOP=1
TIMEOUT=1

# The sorry server: one more DR real server on the LAN (VIP on lo, ARP hidden), serving "sorry".
add_sorry_server() {
	local ns=rvs-sorry
	ip netns add "$ns" &&
		ip -n "$ns" link set lo up &&
		ip -n rvs-lan link add sorry-eth0 type veth peer name eth0 netns "$ns" &&
		ip -n rvs-lan link set sorry-eth0 master br0 &&
		ip -n rvs-lan link set sorry-eth0 up &&
		ip netns exec "$ns" ethtool -K eth0 tx off >/dev/null &&
		ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
			net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2 &&
		ip -n "$ns" addr add "$SORRY/24" dev eth0 &&
		ip -n "$ns" addr add "$VIP/32" dev lo &&
		ip -n "$ns" link set eth0 up || return 1
	mkdir -p "$TMP/sorry" && echo sorry >"$TMP/sorry/index.html"
	ip netns exec "$ns" setsid python3 -u -m http.server --bind 0.0.0.0 --directory "$TMP/sorry" 80 \
		</dev/null >"$TMP/sorry.log" 2>&1 &
	BG_PIDS+=($!)
	wait_for 30 ip netns exec "$ns" curl -sf --max-time 1 "http://$SORRY/"
}

# http_pid RS: the pid of the lab's HTTP server on port 80 in rvs-RS (found by id, not by name).
http_pid() {
	local pid
	for pid in $(ip netns pids "rvs-$1"); do
		if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- '-m http.server .* 80 $'; then
			echo "$pid"
			return 0
		fi
	done
	return 1
}

health_says() { rvsadm -L -n --health | grep -qE "^  -> $1 .* $2( |\$)"; }
answers() { # N: N requests to the VIP from the client, the answers sorted and counted
	local i
	for ((i = 0; i < $1; i++)); do in_ns client curl -s --max-time 15 "http://$VIP/" || echo ERR; done | sort | uniq -c
}

mkdir -p "$RUN_DIR"
rm -f "$RUN_DIR/quorum.log" "$RUN_DIR/notify.log"
echo 9 >"$RUN_DIR/rs1-weight"
lab_up dr
check "a sorry-server namespace rvs-sorry at $SORRY serving 'sorry'" add_sorry_server
lab_run

both_up() { health_says 192.168.100.12:80 UP && health_says 192.168.100.13:80 UP; }
check "both real servers UP in rvsadm -L -n --health" wait_for 30 both_up
rvsadm -L -n --health | sed 's/^/#   /'
metrics_up() {
	scrape | grep -E '^rvs_dest_up\{' | tee "$TMP/up" | grep -c ' 1$' | grep -qx 4
}
check "rvs_dest_up is 1 for the four checked dests" wait_for 30 metrics_up
default_layout() {
	local out
	out=$(rvsadm -L -n) && grep -qE '^  -> 192\.168\.100\.12:80 +Route +1 +' <<<"$out" && ! grep -q Health <<<"$out"
}
check "rvsadm -L -n keeps ipvsadm's layout (no health column)" default_layout

# --- one server stopped: out within delay_loop + timeout, open connections left alone -------------
# Two idle connections to the VIP (rr: one per real server), opened before the stop; their requests
# are sent after the removal.
in_ns client python3 - "$VIP" >"$TMP/held.out" 2>&1 <<'EOF' &
import socket, sys, time
vip = sys.argv[1]
socks = [socket.create_connection((vip, 80), timeout=30) for _ in range(2)]
print("open", flush=True)
while not __import__("os").path.exists("/run/rvs-lab/send-held"):
    time.sleep(0.1)
out = []
for s in socks:
    s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
print("sent", flush=True)
for s in socks:
    data = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        data += b
    out.append(data.split(b"\r\n\r\n", 1)[-1].decode().strip())
print("answers", " ".join(sorted(out)), flush=True)
EOF
HELD=$!
BG_PIDS+=("$HELD")
rm -f "$RUN_DIR/send-held"
wait_for 30 grep -q open "$TMP/held.out" || not_ok "the held connections did not open"

RS1=$(http_pid rs1) || bail_out "rs1's HTTP server not found"
t0=$(now)
kill -STOP "$RS1"
if wait_for 30 not_in_table 192.168.100.12; then
	ok "rs1 stopped: out of the table (after $(elapsed "$t0") s; delay_loop $DELAY_LOOP s, timeout $TIMEOUT s)"
else
	not_ok "rs1 stopped: still in the table after 30 s"
	rvsadm -L -n -t "$VIP:80" 2>&1 | sed 's/^/#   /'
fi
check "rvsadm -L -n --health shows rs1 DOWN with the reason" health_says 192.168.100.12:80 'DOWN \(HTTP_GET: GET /: timed out\)'
only_rs2() { answers 10 | tee "$TMP/ans" | grep -qxE ' *10 rs2'; }
check "new connections: 10 of 10 answered by rs2" only_rs2 || show "$TMP/ans"
grep -q "down 192.168.100.12:80" "$RUN_DIR/notify.log" 2>/dev/null && ok "notify_down ran for rs1" ||
	not_ok "notify_down ran for rs1"

touch "$RUN_DIR/send-held"
# The held connections' requests are sent while rs1 is still stopped (and out of the table).
wait_for 30 grep -q '^sent' "$TMP/held.out" || echo "# the held connections did not send their requests"
kill -CONT "$RS1"
check "rs1 continued: back in the table" wait_for 30 in_table 192.168.100.12
held_ok() { wait_for 30 grep -q '^answers rs1 rs2$' "$TMP/held.out"; }
check "connections opened before the removal were left alone (answered by rs1 and rs2)" held_ok ||
	show "$TMP/held.out"
both_answer() { answers 10 | tee "$TMP/ans" | grep -qxE ' *5 rs1' && grep -qxE ' *5 rs2' "$TMP/ans"; }
check "rs1 gets traffic again (10 requests: 5 rs1, 5 rs2)" both_answer || show "$TMP/ans"
grep -q "up 192.168.100.12:80" "$RUN_DIR/notify.log" 2>/dev/null && ok "notify_up ran for rs1" ||
	not_ok "notify_up ran for rs1"

# --- all real servers down: the sorry server ----------------------------------------------------
RS2=$(http_pid rs2) || bail_out "rs2's HTTP server not found"
kill -STOP "$RS1" "$RS2"
sorry_in() { in_table "$SORRY" && not_in_table 192.168.100.12 && not_in_table 192.168.100.13; }
check "both stopped: the sorry server replaces them in the table" wait_for 30 sorry_in
only_sorry() { answers 4 | tee "$TMP/ans" | grep -qxE ' *4 sorry'; }
check "the sorry server answers every request" only_sorry || show "$TMP/ans"
check "quorum_down ran" grep -q " down TCP $VIP:80" "$RUN_DIR/quorum.log"
check "rvsadm -L -n --health shows the sorry server in use" health_says "$SORRY:80" SORRY
kill -CONT "$RS1" "$RS2"
sorry_out() { not_in_table "$SORRY" && in_table 192.168.100.12 && in_table 192.168.100.13; }
check "both continued: real servers back, the sorry server out" wait_for 30 sorry_out
check "quorum_up ran" grep -q " up TCP $VIP:80" "$RUN_DIR/quorum.log"
check "the real servers answer again" both_answer || show "$TMP/ans"

# --- a script check sets a weight ---------------------------------------------------------------
udp_weight() { rvsadm -L -n -u "$VIP:9000" | grep -qE "^  -> 192\.168\.100\.12:9000 +Route +$1 "; }
check "misc_dynamic: exit status 9 gives rs1:9000 weight 7" wait_for 30 udp_weight 7
echo 4 >"$RUN_DIR/rs1-weight"
check "misc_dynamic: exit status 4 gives rs1:9000 weight 2" wait_for 30 udp_weight 2
rvsadm -L -n -u "$VIP:9000" | sed 's/^/#   /'
check "UDP_CHECK with require_reply keeps rs2:9000 UP" health_says 192.168.100.13:9000 UP
echo 1 >"$RUN_DIR/rs1-weight"
udp_gone() {
	local out
	out=$(rvsadm -L -n -u "$VIP:9000") && grep -q "^UDP  $VIP:9000 " <<<"$out" && ! grep -q '192\.168\.100\.12:9000' <<<"$out"
}
check "exit status 1: rs1:9000 out" wait_for 30 udp_gone

scrape | grep -E '^rvs_health_check_(duration_seconds_count|failures_total)\{' | head -n 4 | sed 's/^/#   /'
# Prometheus conventions (promtool) and the Grafana dashboard, over the scrape after the checks
# above (no local addresses or SNAT rules in this mode).
promtool_check
dashboard_check "$NO_LADDR|$NO_SNAT"
check "ci/lab stop: rvsd exits 0" "$LAB" stop
rm -f "$RUN_DIR/rs1-weight" "$RUN_DIR/send-held"
summary
((FAIL == 0))
